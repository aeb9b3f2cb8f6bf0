// The defaults of the Policy interface that every policy shares unless it says otherwise.
#include "sim/policies/policy.hpp"

#include <algorithm>

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

// The task of a kernel thread is kernel_task (priority BASEPRI_KERNEL 81, max MAXPRI_KERNEL 95),
// of a user thread a user task (BASEPRI_DEFAULT 31, max MAXPRI_USER 63) whose priority renice
// moves to clamp(31 - nice, 0, 63) (task_importance; xnu-792 osfmk/kern/task.c task_create_internal
// and task_policy.c task_priority). sim: a thread the scenario declares above its task's maximum
// (which xnu could not create) keeps its declared priority as its max_priority, as niced_base does.
TaskLimits task_limits(const model::Thread& t) {
  if (t.kernel) return {model::BASEPRI_KERNEL, std::max(model::MAXPRI_KERNEL, t.declared_base_pri)};
  return {std::clamp(model::BASEPRI_DEFAULT - t.nice, model::MINPRI, model::MAXPRI_USER),
          std::max(model::MAXPRI_USER, t.declared_base_pri)};
}

// models xnu-792 osfmk/kern/thread_policy.c thread_recompute_priority (the non-real-time branch)
int recompute_base(const model::Thread& t, int importance) {
  TaskLimits lim = task_limits(t);
  int pri = std::clamp(importance, -model::MAXPRI, model::MAXPRI) + lim.task_priority;
  return std::clamp(pri, model::MINPRI, lim.max_priority);
}

// models xnu-792 osfmk/kern/thread_policy.c thread_policy_set: THREAD_EXTENDED_POLICY (and
// STANDARD, the same flavour number with no data: timeshare), THREAD_TIME_CONSTRAINT_POLICY and
// THREAD_PRECEDENCE_POLICY, each ending in thread_recompute_priority
void Policy::thread_policy(Thread& t, const model::Op& op) {
  if (op.flavor == model::PolicyFlavor::time_constraint) {
    set_mode(t, op);  // the same admission test, refusal and fail-safe handling as set_mode
    return;
  }
  PolicyHost& host = *ctx_.host;
  if (!t.has_importance) {
    t.importance = t.declared_base_pri - task_limits(t).task_priority;
    t.has_importance = true;
  }
  if (op.flavor == model::PolicyFlavor::precedence) {
    t.importance = op.importance;  // recomputed even while demoted (the thread is timeshare then)
  } else if (t.failsafe) {
    // A demoted thread only records the mode (safe_mode) for the release; its priority stays.
    t.saved_mode = op.mode;
    host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, static_cast<uint8_t>(op.mode),
                               static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(op.mode), t.base_pri});
    return;
  } else {
    t.mode = op.mode;
  }
  t.base_pri = t.is_realtime() ? model::BASEPRI_RTQUEUES : recompute_base(t, t.importance);
  host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, static_cast<uint8_t>(t.mode),
                             static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(t.mode), t.base_pri});
  host.set_sched_pri(t, compute_sched_pri(t), core::PriorityReason::mode);
}

}  // namespace sim::policies
