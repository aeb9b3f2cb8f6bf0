// `edf`: the textbook rule (policy-facts.md 3.1) on the Policy hooks. Every runnable thread has a
// key (EdfPolicy::Key); a queued thread's key is stored when it is queued, a running thread's is
// computed when asked. The dispatcher's checks (a wakeup's or a requeue's preempt_target, the
// AST's should_preempt) then keep the m smallest keys on the m CPUs.
#include "sim/policies/edf_policy.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

namespace sim::policies {

namespace {
constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
}

EdfPolicy::EdfPolicy(const PolicyContext& ctx) : Policy(ctx) {
  entries_.resize(ctx.threads->size());
  heap_pos_.assign(ctx.threads->size(), -1);
  heaps_.assign(static_cast<size_t>(ctx.machine.cpus) + 1, Heap(&heap_pos_));
}

std::unique_ptr<Policy> EdfPolicy::make(const PolicyContext& ctx) { return std::make_unique<EdfPolicy>(ctx); }

Duration EdfPolicy::relative_deadline(const Thread& t) const {
  if (t.deadline_declared) return t.deadline;
  if (t.is_realtime()) return t.realtime.constraint;
  return t.deadline;  // the period of a periodic thread, zero otherwise
}

EdfPolicy::Key EdfPolicy::key_of(const Thread& t) const {
  Key k;
  Duration d = relative_deadline(t);
  bool has_deadline = d.ns > 0;
  if (has_deadline) {
    // The current job is the first one not completed; an aperiodic realtime thread without a
    // declared deadline is a sporadic job released at each wakeup (as xnu's RT deadline).
    SimTime release = t.period.ns > 0 || t.deadline_declared || !t.is_realtime()
                          ? t.release_time(t.jobs_completed)
                          : entry(t.index).woke;
    k.release = release.ns;
    k.deadline = (release + d).ns;
  } else {
    k.deadline = kNone;
  }
  if (t.promoted_pri >= 0) {
    k.cls = kPromoted;
    k.neg_pri = -t.sched_pri;
  } else if (has_deadline) {
    k.cls = kDeadline;
    k.tie = t.index;
  } else {
    k.cls = kPlain;
    k.neg_pri = -t.sched_pri;
    k.deadline = 0;
  }
  return k;
}

bool EdfPolicy::beats_running(const Key& q, const Key& r, bool expired) {
  auto qa = std::tie(q.cls, q.neg_pri, q.deadline, q.release);
  auto ra = std::tie(r.cls, r.neg_pri, r.deadline, r.release);
  if (qa != ra) return qa < ra;
  // Equal deadline and release: the thread declared first. Deadline jobs never round robin.
  if (q.cls == kDeadline) return q.tie < r.tie;
  return expired;
}

// --- run queues ----------------------------------------------------------------------------

void EdfPolicy::enqueue(Thread& t, bool head) {
  Entry& e = entry(t.index);
  e.key = key_of(t);
  if (e.key.cls != kDeadline) e.key.tie = head ? --head_seq_ : ++tail_seq_;
  e.queue = t.bound_cpu >= 0 ? 1 + t.bound_cpu : 0;
  t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
  heap_of(e.queue).push(t.index, e.key);
}

void EdfPolicy::take(Thread& t) {
  Entry& e = entry(t.index);
  heap_of(e.queue).erase(t.index);
  e.queue = -1;
  t.queued = model::QueueKind::none;
}

void EdfPolicy::remove(Thread& t) { take(t); }

int32_t EdfPolicy::best_for(int cpu) const {
  const Heap& shared = heaps_[0];
  const Heap& local = heaps_[static_cast<size_t>(cpu) + 1];
  if (local.empty()) return shared.empty() ? -1 : shared.top().thread;
  if (shared.empty()) return local.top().thread;
  return before(local.top().key, shared.top().key) ? local.top().thread : shared.top().thread;
}

Thread* EdfPolicy::choose(int cpu) {
  int32_t i = best_for(cpu);
  if (i < 0) return nullptr;
  Thread& t = th(i);
  take(t);
  return &t;
}

Thread* EdfPolicy::choose_over(int cpu, const Thread& outgoing) {
  int32_t i = best_for(cpu);
  // The outgoing thread is re-queued first (and may be chosen again) only when it is strictly
  // above every queued thread; an equal queued thread goes first (round robin, yield).
  if (i < 0 || !beats_running(entry(i).key, key_of(outgoing), true)) return nullptr;
  Thread& t = th(i);
  take(t);
  return &t;
}

bool EdfPolicy::queue_beats(int cpu, const Thread& handed) const {
  int32_t i = best_for(cpu);
  return i >= 0 && beats_running(entry(i).key, key_of(handed), false);
}

bool EdfPolicy::has_queued(int cpu) const { return best_for(cpu) >= 0; }

// --- decisions -------------------------------------------------------------------------------

Preemption EdfPolicy::should_preempt(const Processor& p, const Thread& running) const {
  int32_t i = best_for(p.index);
  if (i < 0) return {};
  // Fully preemptive, as the textbook assumes: every preemption is urgent (kernel code too).
  if (beats_running(entry(i).key, key_of(running), !p.first_timeslice())) return {true, true};
  return {};
}

// The CPU whose current thread ranks last among those `t` outranks (the latest deadline), lowest
// index on ties; a CPU without a current thread is about to choose from the queues itself.
int EdfPolicy::preempt_target(const Thread& t) const {
  const std::vector<Processor>& cpus = *ctx_.cpus;
  Key k = key_of(t);
  if (t.bound_cpu >= 0) {
    const Processor& p = cpus[static_cast<size_t>(t.bound_cpu)];
    if (!p.current || !beats_running(k, key_of(*p.current), false)) return -1;
    return p.index;
  }
  int target = -1;
  Key worst;
  for (const Processor& p : cpus) {
    if (!p.current) continue;
    Key c = key_of(*p.current);
    if (!beats_running(k, c, false)) continue;
    if (target < 0 || before(worst, c)) {
      target = p.index;
      worst = c;
    }
  }
  return target;
}

Requeue EdfPolicy::requeue(Thread& t, const Processor& p, core::SwitchReason why) {
  SimTime now = ctx_.host->now();
  // A deadline job has no quantum; a thread without a deadline keeps the rest of its quantum
  // when preempted (and its place at the head of its level), a fresh one after an expiry.
  bool keeps = key_of(t).cls != kDeadline && p.first_timeslice() && p.quantum_end > now &&
               p.quantum_end != SimTime::never() && why == core::SwitchReason::preempt;
  t.current_quantum = keeps ? p.quantum_end - now : Duration{};
  // Always with a check: a preempted job may displace a later-deadline job on another CPU.
  return Requeue{keeps, true};
}

void EdfPolicy::on_wakeup(Thread& t) { entry(t.index).woke = ctx_.host->now(); }

void EdfPolicy::job_started(Thread& t) {
  // The next job of a running thread started at once (it was released during the last one):
  // its deadline is later, so its CPU looks again at what should run.
  if (t.state == model::ThreadState::running && t.cpu >= 0) ctx_.host->resched(t.cpu);
}

void EdfPolicy::promotion_changed(Thread& t) {
  // A promotion moves a thread between classes without necessarily changing its sched_pri:
  // a queued one is re-keyed (and may now displace a running thread), a running or handed one's
  // CPU looks again (it may now rank below a queued thread).
  if (t.queued != model::QueueKind::none) {
    Entry& e = entry(t.index);
    int32_t queue = e.queue;
    int64_t tie = e.key.tie;
    bool was_deadline = e.key.cls == kDeadline;
    heap_of(queue).erase(t.index);
    e.key = key_of(t);
    if (e.key.cls != kDeadline) e.key.tie = was_deadline ? ++tail_seq_ : tie;
    heap_of(queue).push(t.index, e.key);
    if (int cpu = preempt_target(t); cpu >= 0) ctx_.host->resched(cpu);
  } else if (t.cpu >= 0 && (t.state == model::ThreadState::running || t.state == model::ThreadState::runnable)) {
    ctx_.host->resched(t.cpu);
  }
}

void EdfPolicy::set_mode(Thread& t, const model::Op& op) {
  Policy::set_mode(t, op);
  // The mode decides the deadline (a realtime constraint) as well as sched_pri.
  if (t.cpu >= 0 && t.state == model::ThreadState::running) ctx_.host->resched(t.cpu);
}

void EdfPolicy::thread_policy(Thread& t, const model::Op& op) {
  Policy::thread_policy(t, op);
  if (t.cpu >= 0 && t.state == model::ThreadState::running) ctx_.host->resched(t.cpu);
}

void EdfPolicy::setpriority(Thread& t, const model::Op& op) {
  Policy::setpriority(t, op);
  if (t.cpu >= 0 && t.state == model::ThreadState::running) ctx_.host->resched(t.cpu);
}

void EdfPolicy::pthread_setschedparam(Thread& t, const model::Op& op) {
  Policy::pthread_setschedparam(t, op);
  if (t.cpu >= 0 && t.state == model::ThreadState::running) ctx_.host->resched(t.cpu);
}

// --- priorities and quanta ---------------------------------------------------------------------

int EdfPolicy::compute_sched_pri(const Thread& t) const {
  int pri = t.depressed ? model::DEPRESSPRI : t.base_pri;
  return std::max(pri, t.promoted_pri);
}

Duration EdfPolicy::quantum_for(const Thread& t) const {
  if (relative_deadline(t).ns > 0) return kNoQuantum;
  return ctx_.machine.quantum;
}

}  // namespace sim::policies
