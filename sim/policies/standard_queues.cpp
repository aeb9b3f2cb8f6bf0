// xnu's scheduling decisions over the standard queue set (xnu-facts.md section 5). They were
// the dispatcher's until issue 9; the dispatcher now asks for them through the Policy hooks.
#include "sim/policies/standard_queues.hpp"

namespace sim::policies {

using core::SwitchReason;

namespace {

// What the preemption tests compare a candidate against on CPU `p`: the priority of the thread
// running, handed or claiming there (p.current_pri: -1 when none) and its real-time deadline.
SimTime current_deadline(const Processor& p) {
  return p.current && p.current->is_realtime() ? p.current->rt_deadline : SimTime::never();
}

}  // namespace

// models xnu-792 osfmk/kern/sched_prim.c thread_invoke's order: choose_thread picks the next
// thread *before* thread_dispatch re-queues the outgoing one (xnu-facts.md 5.2, 5.3), so a thread
// that is not strictly above the queues cannot be chosen again ahead of an equal one; one that
// is strictly above every queued thread is re-queued first and chosen again (5.2).
Thread* StandardQueuePolicy::choose_over(int cpu, const Thread& outgoing) {
  return queues_.view(cpu).highq() >= outgoing.sched_pri ? queues_.choose(cpu) : nullptr;
}

// models xnu-792 osfmk/kern/sched_prim.c idle_thread: a DISPATCHING CPU's next_thread is beaten
// by a higher queued thread, or an earlier-deadline RT thread at its level.
bool StandardQueuePolicy::queue_beats(int cpu, const Thread& h) const {
  QueueView v = queues_.view(cpu);
  return v.highq() > h.sched_pri ||
         (h.is_realtime() && v.highq() == h.sched_pri && v.rt_head_deadline < h.rt_deadline);
}

// models xnu-792 osfmk/kern/sched_prim.c csw_check
Preemption StandardQueuePolicy::should_preempt(const Processor& p, const Thread& cur) const {
  QueueView v = queues_.view(p.index);
  int pri = cur.sched_pri;
  if (p.first_timeslice()) {
    if (cur.is_realtime()) {
      // A running RT thread in its first timeslice keeps the CPU unless something higher or an
      // earlier-deadline RT thread is queued (xnu-facts.md 4.2).
      if (v.highq() > pri) return {true, true};
      if (v.highq() == pri && v.rt_head_deadline < cur.rt_deadline) return {true, true};
      return {};
    }
    if (v.shared_highq >= model::BASEPRI_RTQUEUES) return {true, true};
    if (v.shared_highq > pri) return {true, v.shared_urgency > 0};
    if (v.bound_highq > pri) return {true, v.bound_urgency > 0};
    return {};
  }
  if (v.shared_highq >= pri) return {true, v.shared_urgency > 0};
  if (v.bound_highq >= pri) return {true, v.bound_urgency > 0};
  return {};
}

// models xnu-792 osfmk/kern/sched_prim.c thread_setrun's preemption choice: its last CPU when
// that one runs something lower (or, for RT, a later deadline at equal priority), else the CPU
// running the lowest priority (lowest index on ties).
// sim: xnu first tries the CPU doing the wakeup; a simulated wakeup has no such CPU.
int StandardQueuePolicy::preempt_target(const Thread& t) const {
  auto beats = [&](const Processor& p) {
    const int pri = current_pri(p.index);
    if (t.sched_pri > pri) return true;
    return t.is_realtime() && t.sched_pri == pri && t.rt_deadline < current_deadline(p);
  };
  if (t.bound_cpu >= 0) return beats(cpu(t.bound_cpu)) ? t.bound_cpu : -1;
  if (t.last_cpu >= 0 && beats(cpu(t.last_cpu))) return t.last_cpu;
  // Every CPU runs something higher: on a large machine one pass over the priorities says so.
  if (cpu_count() >= kLowestFirstFrom && lowest_current_pri() > t.sched_pri) return -1;
  int target = -1;
  int target_pri = 0;
  for (int i = 0; i < cpu_count(); ++i) {
    const Processor& p = cpu(i);
    const int pri = current_pri(i);
    if (pri > t.sched_pri || (target >= 0 && pri >= target_pri) || !beats(p)) continue;
    target = i;
    target_pri = pri;
  }
  return target;
}

// models xnu-792 osfmk/kern/sched_prim.c thread_dispatch (remainder and re-queue)
Requeue StandardQueuePolicy::requeue(Thread& t, const Processor& p, SwitchReason why) {
  SimTime now = ctx_.host->now();
  t.quantum_expired_flag = false;
  if (p.first_timeslice() && p.quantum_end > now) t.current_quantum = p.quantum_end - now;
  else t.current_quantum = Duration{};
  if (t.is_realtime()) {
    if (t.current_quantum.ns == 0) {
      t.quantum_expired_flag = true;
      t.rt_deadline = SimTime::never();
    }
  } else if (t.current_quantum < ctx_.machine.min_quantum) {
    t.quantum_expired_flag = true;
    t.current_quantum += ctx_.machine.quantum;
  }
  // PREEMPT alone goes back to the head with its remainder, QUANTUM to the tail, both without a
  // preemption check (an idle CPU still takes it); a yield goes to the tail with one.
  return Requeue{why == SwitchReason::preempt && !t.quantum_expired_flag, why == SwitchReason::yield};
}

// models xnu-792 osfmk/kern/sched_prim.c timeshare_quanta (xnu-facts.md 5.3) for timeshare
// threads; every other thread has a timeslice of one quantum.
// sim: xnu recomputes this from the processor set's counts as they change; we evaluate the
// same formula at each dispatch from the shared queue's count.
int StandardQueuePolicy::timeslice(const Thread& t) const {
  if (!t.is_timeshare()) return 1;
  int cpus = ctx_.machine.cpus;
  int queued = queues_.shared_count();
  if (queued >= cpus) return 1;
  if (queued <= 1) return cpus;
  return (cpus + queued / 2) / queued;
}

// models xnu-792 osfmk/kern/sched_prim.c set_sched_pri's TH_MODE_PREEMPT rule (xnu-facts 5.5)
// sim: the task-priority clause (task priority in [46, 80)) is not modelled: tasks have none.
bool StandardQueuePolicy::is_urgent(const Thread& t) const {
  return !t.is_timeshare() && t.sched_pri >= model::BASEPRI_PREEMPT;
}

// models xnu-792 osfmk/kern/sched_prim.c thread_unblock: a real-time thread's deadline is its
// wakeup time plus its constraint (xnu-facts.md 4.2).
void StandardQueuePolicy::on_wakeup(Thread& t) {
  if (t.is_realtime()) t.rt_deadline = ctx_.host->now() + t.realtime.constraint;
}

}  // namespace sim::policies
