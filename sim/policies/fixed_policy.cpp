// `fixed`: textbook global fixed priority (see fixed_policy.hpp and docs/policies/fixed.md).
#include "sim/policies/fixed_policy.hpp"

#include <algorithm>

namespace sim::policies {

using core::SwitchReason;

int FixedPolicy::compute_sched_pri(const Thread& t) const {
  int pri = t.depressed ? model::DEPRESSPRI : t.base_pri;
  // A promotion (promoted_pri, -1 when none) holds sched_pri up, a depressed thread's too
  // (xnu-facts.md 3.4); it falls back to this value when the promotion ends.
  return std::max(pri, t.promoted_pri);
}

// Every thread, real-time ones included, round robins with its equals by the machine quantum.
Duration FixedPolicy::quantum_for(const Thread&) const { return ctx_.machine.quantum; }

bool FixedPolicy::queue_beats(int cpu, const Thread& h) const { return queues_.view(cpu).highq() > h.sched_pri; }

// A queued thread strictly above the running one preempts it at once; at the end of its
// quantum the running thread gives way to an equal one too (round robin).
Preemption FixedPolicy::should_preempt(const Processor& p, const Thread& running) const {
  int highq = queues_.view(p.index).highq();
  if (highq > running.sched_pri) return {true, true};
  if (!p.first_timeslice() && highq >= running.sched_pri) return {true, true};
  return {};
}

// The CPU running the lowest priority below `t` among those `t` may use (lowest index on ties).
// A CPU whose thread holds a simple lock (preemption disabled) is passed over: it reschedules
// when the lock is released.
int FixedPolicy::preempt_target(const Thread& t) const {
  auto pinned = [](const Processor& p) {
    return p.active && p.active->state == model::ThreadState::running && p.active->preemption_level > 0;
  };
  if (t.bound_cpu >= 0) {
    const Processor& p = cpu(t.bound_cpu);
    return t.sched_pri > current_pri(t.bound_cpu) && !pinned(p) ? t.bound_cpu : -1;
  }
  // Often every CPU runs something at least as high (a burst of equal wakeups): on a large
  // machine one pass over the contiguous priorities says so.
  if (cpu_count() >= kLowestFirstFrom && lowest_current_pri() >= t.sched_pri) return -1;
  // The lowest current priority below t's (lowest index on ties), skipping pinned CPUs.
  int target = -1;
  int target_pri = t.sched_pri;
  for (int i = 0; i < cpu_count(); ++i) {
    const int pri = current_pri(i);
    if (pri < target_pri && !pinned(cpu(i))) {
      target = i;
      target_pri = pri;
    }
  }
  return target;
}

// A preempted thread goes back to the head of its level with the rest of its quantum; one whose
// quantum ended, or that yielded, to the tail with a fresh one. Either way it is checked against
// every CPU at once, so it displaces a lower thread running elsewhere (the textbook rule that
// xnu's thread_dispatch does not follow).
Requeue FixedPolicy::requeue(Thread& t, const Processor& p, SwitchReason why) {
  SimTime now = ctx_.host->now();
  bool keeps = why == SwitchReason::preempt && p.quantum_end > now;
  t.current_quantum = keeps ? p.quantum_end - now : Duration{};
  t.quantum_expired_flag = !keeps && why == SwitchReason::quantum;
  return Requeue{keeps, true};
}

std::unique_ptr<Policy> FixedPolicy::make(const PolicyContext& ctx) { return std::make_unique<FixedPolicy>(ctx); }

}  // namespace sim::policies
