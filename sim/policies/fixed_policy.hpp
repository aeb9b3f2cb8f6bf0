// `fixed`: strict fixed priority over the 128 levels, round robin among equals, no decay.
#pragma once

#include <memory>

#include "sim/policies/policy.hpp"
#include "sim/policies/standard_queues.hpp"

namespace sim::policies {

class FixedPolicy final : public Policy {
 public:
  explicit FixedPolicy(const PolicyContext& ctx);
  std::string_view name() const override { return "fixed"; }
  void enqueue(Thread& t, bool head) override { queues_.enqueue(t, head); }
  void remove(Thread& t) override { queues_.remove(t); }
  Thread* choose(int cpu) override { return queues_.choose(cpu); }
  QueueView view(int cpu) const override { return queues_.view(cpu); }
  int shared_count() const override { return queues_.shared_count(); }
  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread& t) const override;

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);

 private:
  PolicyContext ctx_;
  StandardQueues queues_;
};

}  // namespace sim::policies
