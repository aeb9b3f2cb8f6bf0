// `fixed`: priorities never decay; sched_pri is the base priority (or a promotion/depression
// applied by the dispatcher).
#include "sim/policies/fixed_policy.hpp"

#include <algorithm>

namespace sim::policies {

int FixedPolicy::compute_sched_pri(const Thread& t) const {
  int pri = t.depressed ? model::DEPRESSPRI : t.base_pri;
  // A promotion (promoted_pri, -1 when none) holds sched_pri up, a depressed thread's too
  // (xnu-facts.md 3.4); it falls back to this value when the promotion ends.
  return std::max(pri, t.promoted_pri);
}

Duration FixedPolicy::quantum_for(const Thread& t) const {
  if (t.is_realtime()) return t.realtime.computation;
  return ctx_.machine.quantum;
}

std::unique_ptr<Policy> FixedPolicy::make(const PolicyContext& ctx) {
  return std::make_unique<FixedPolicy>(ctx);
}

}  // namespace sim::policies
