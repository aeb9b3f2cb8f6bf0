// `fixed`: textbook global fixed-priority scheduling (issue 9; policy-facts.md 3.1). On m CPUs
// the m highest-priority ready threads run at every instant: a thread that becomes ready (woken,
// released, preempted, its priority raised) and outranks the lowest-priority thread running on
// any CPU it may use displaces it at once; equal priorities round robin by the quantum and are
// FIFO otherwise. Bound threads use only their CPU (partitioned FP when all are bound). No
// decay, no fail-safe, no real-time deadline order, and kernel-mode code is preempted at once
// (a fully preemptive kernel); only a held simple lock (preemption level) defers a switch.
#pragma once

#include <memory>

#include "sim/policies/policy.hpp"
#include "sim/policies/standard_queues.hpp"

namespace sim::policies {

class FixedPolicy final : public StandardQueuePolicy {
 public:
  explicit FixedPolicy(const PolicyContext& ctx) : StandardQueuePolicy(ctx, /*rt_by_deadline=*/false) {}
  std::string_view name() const override { return "fixed"; }

  bool queue_beats(int cpu, const Thread& handed) const override;
  Preemption should_preempt(const Processor& p, const Thread& running) const override;
  int preempt_target(const Thread& t) const override;
  bool push_overtaken() const override { return true; }
  Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) override;
  bool is_urgent(const Thread&) const override { return true; }
  void on_wakeup(Thread&) override {}

  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread& t) const override;

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);
};

}  // namespace sim::policies
