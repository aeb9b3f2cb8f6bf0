// The defaults of the Policy interface that every policy shares unless it says otherwise.
#include "sim/policies/policy.hpp"

namespace sim::policies {

bool rt_params_admissible(const model::RealtimeParams& rt) {
  // models xnu-792 osfmk/kern/thread_policy.c thread_policy_set, THREAD_TIME_CONSTRAINT_POLICY
  return rt.constraint >= rt.computation && rt.computation <= kMaxRtQuantum && rt.computation >= kMinRtQuantum;
}

Thread& Policy::add_kernel_thread(const PolicyContext& ctx, std::string name, int priority,
                                  const std::vector<model::Op>* program, SimTime start) {
  std::vector<Thread>& threads = *ctx.threads;
  Thread t;
  t.index = static_cast<int32_t>(threads.size());
  t.name = std::move(name);
  t.task = "kernel_task";
  t.kernel = true;
  t.program = program;
  t.mode = t.declared_mode = model::ThreadMode::fixed;
  t.base_pri = t.declared_base_pri = t.sched_pri = priority;
  t.start = start;
  threads.push_back(std::move(t));
  return threads.back();
}

// models xnu-792 osfmk/kern/thread_policy.c thread_policy_set (the `set_mode` op)
void Policy::set_mode(Thread& t, const model::Op& op) {
  PolicyHost& host = *ctx_.host;
  if (op.mode == model::ThreadMode::realtime && !rt_params_admissible(op.realtime)) {
    host.emit(core::TraceEvent{host.now(), core::TraceKind::set_mode_failed, 0, static_cast<int16_t>(t.cpu), t.index,
                               -1, kKernInvalidArgument, 0});
    return;  // KERN_INVALID_ARGUMENT: the thread is unchanged
  }
  int base = op.mode == model::ThreadMode::realtime ? model::BASEPRI_RTQUEUES
             : op.has_priority                      ? op.priority
             : t.mode == model::ThreadMode::realtime ? t.declared_base_pri
                                                     : t.base_pri;
  if (op.mode == model::ThreadMode::realtime) t.realtime = op.realtime;
  if (t.failsafe) {
    // A demoted thread records the new policy; it takes effect at the fail-safe release.
    t.saved_mode = op.mode;
    if (op.mode != model::ThreadMode::realtime) t.base_pri = base;
  } else {
    t.mode = op.mode;
    t.base_pri = base;
  }
  host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, static_cast<uint8_t>(op.mode),
                             static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(op.mode), base});
  host.set_sched_pri(t, compute_sched_pri(t), core::PriorityReason::mode);
}

}  // namespace sim::policies
