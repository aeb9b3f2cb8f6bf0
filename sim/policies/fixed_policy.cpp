// `fixed`: priorities never decay; sched_pri is the base priority (or a promotion/depression
// applied by the dispatcher).
#include "sim/policies/fixed_policy.hpp"

namespace sim::policies {

int FixedPolicy::compute_sched_pri(const Thread& t) const {
  if (t.depressed) return model::DEPRESSPRI;
  return t.base_pri;
}

Duration FixedPolicy::quantum_for(const Thread& t) const {
  if (t.is_realtime()) return t.realtime.computation;
  return ctx_.machine.quantum;
}

std::unique_ptr<Policy> FixedPolicy::make(const PolicyContext& ctx) {
  return std::make_unique<FixedPolicy>(ctx);
}

}  // namespace sim::policies
