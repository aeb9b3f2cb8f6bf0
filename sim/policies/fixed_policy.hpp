// `fixed`: strict fixed priority over the 128 levels, round robin among equals, no decay.
#pragma once

#include <memory>

#include "sim/policies/policy.hpp"
#include "sim/policies/standard_queues.hpp"

namespace sim::policies {

class FixedPolicy final : public StandardQueuePolicy {
 public:
  explicit FixedPolicy(const PolicyContext& ctx) : StandardQueuePolicy(ctx, true) {}
  std::string_view name() const override { return "fixed"; }
  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread& t) const override;

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);
};

}  // namespace sim::policies
