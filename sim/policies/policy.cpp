// The defaults of the Policy interface that every policy shares unless it says otherwise.
#include "sim/policies/policy.hpp"

#include <algorithm>

namespace sim::policies {

// The `reason` of the mode_changed and set_mode_failed events of set_mode and thread_policy.
constexpr auto kThreadPolicySet = static_cast<uint8_t>(core::PolicyCall::thread_policy_set);

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
  host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, kThreadPolicySet,
                             static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(op.mode), base});
  host.set_sched_pri(t, compute_sched_pri(t), core::PriorityReason::mode);
}

// The task of a kernel thread is kernel_task (priority BASEPRI_KERNEL 81, max MAXPRI_KERNEL 95),
// of a user thread a user task (BASEPRI_DEFAULT 31, max MAXPRI_USER 63) whose priority renice
// moves to clamp(31 - nice, 0, 63) (task_importance; xnu-792 osfmk/kern/task.c task_create_internal
// and task_policy.c task_priority). sim: a thread the scenario declares above its task's maximum
// (which xnu could not create) keeps its declared priority as its max_priority, as niced_base does.
// Once a task_policy or setpriority op has run, the thread carries its task's values
// (task_priority() copies them into every thread of the task).
TaskLimits task_limits(const model::Thread& t) {
  if (t.kernel) return {model::BASEPRI_KERNEL, std::max(model::MAXPRI_KERNEL, t.declared_base_pri)};
  if (t.has_task_limits) return {t.task_priority, std::max(t.max_priority, t.declared_base_pri)};
  return {std::clamp(model::BASEPRI_DEFAULT - t.nice, model::MINPRI, model::MAXPRI_USER),
          std::max(model::MAXPRI_USER, t.declared_base_pri)};
}

model::TaskRole task_role(const model::Thread& t) {
  if (!t.has_task_limits && t.nice != 0) return model::TaskRole::reniced;  // donice before the run
  return t.task_role;
}

// models xnu-792 osfmk/kern/thread_policy.c thread_recompute_priority (the non-real-time branch)
int recompute_base(const model::Thread& t, int importance) {
  TaskLimits lim = task_limits(t);
  int pri = std::clamp(importance, -model::MAXPRI, model::MAXPRI) + lim.task_priority;
  return std::clamp(pri, model::MINPRI, lim.max_priority);
}

namespace {

// thread->importance as thread_create_internal left it (declared priority - task priority),
// fixed on first use: it must be taken before the task's priority changes.
void ensure_importance(Thread& t) {
  if (t.has_importance) return;
  t.importance = t.declared_base_pri - task_limits(t).task_priority;
  t.has_importance = true;
}

core::TraceEvent policy_event(core::TraceKind kind, core::PolicyCall call, const Thread& t, SimTime now, int64_t a,
                              int64_t b, int64_t c) {
  core::TraceEvent e{now, kind, static_cast<uint8_t>(call), static_cast<int16_t>(t.cpu), t.index, -1, a, b};
  e.c = c;
  return e;
}

// The task's own max_priority (without the sim's allowance for a thread declared above it).
int task_max_priority(const Thread& t) {
  if (t.kernel) return model::MAXPRI_KERNEL;
  return t.has_task_limits ? t.max_priority : model::MAXPRI_USER;
}

}  // namespace

// models xnu-792 osfmk/kern/task_policy.c task_priority: the task's priority clamped to
// [MINPRI, max_priority], then thread_task_priority -> thread_recompute_priority for every
// active thread of the task. sim: threads not started yet count as active (they exist from the
// start of the run, with the priority their declaration gives); exited ones do not.
void Policy::task_priority(Thread& member, int priority, int max_priority, model::TaskRole role,
                           core::PolicyCall call) {
  PolicyHost& host = *ctx_.host;
  priority = std::clamp(priority, model::MINPRI, max_priority);
  for (Thread& u : *ctx_.threads) {
    if (u.kernel || u.task != member.task) continue;
    ensure_importance(u);
    u.has_task_limits = true;
    u.task_priority = priority;
    u.max_priority = max_priority;
    u.task_role = role;
    if (u.state == model::ThreadState::done) continue;
    u.base_pri = u.is_realtime() ? model::BASEPRI_RTQUEUES : recompute_base(u, u.importance);
    host.emit(policy_event(core::TraceKind::mode_changed, call, u, host.now(), static_cast<int64_t>(u.mode),
                           u.base_pri, static_cast<int64_t>(role)));
    host.set_sched_pri(u, compute_sched_pri(u), core::PriorityReason::mode);
  }
}

// models xnu-792 osfmk/kern/task_policy.c task_policy_set, TASK_CATEGORY_POLICY (the same code
// in xnu-517 but for the graphics server's limit, MAXPRI_SYSTEM there, also 79)
void Policy::task_policy(Thread& caller, const model::Op& op) {
  PolicyHost& host = *ctx_.host;
  const int64_t role_asked = static_cast<int64_t>(op.role);
  auto answer = [&](int64_t kern_return) {
    host.emit(policy_event(core::TraceKind::set_mode_failed, core::PolicyCall::task_policy_set, caller, host.now(),
                           kern_return, 0, role_asked));
  };
  // The target: the caller's own task, or the task named (the loader checked it has a user
  // thread, or is kernel_task).
  Thread* target = nullptr;
  if (op.task.empty()) {
    if (!caller.kernel) target = &caller;
  } else {
    for (Thread& u : *ctx_.threads)
      if (!u.kernel && u.task == op.task) {
        target = &u;
        break;
      }
  }
  if (target == nullptr) return answer(kKernInvalidArgument);  // kernel_task
  const bool own_task = !caller.kernel && caller.task == target->task;
  const int max_priority = task_max_priority(*target);
  switch (op.role) {
    case model::TaskRole::foreground:
    case model::TaskRole::background:
      switch (task_role(*target)) {
        case model::TaskRole::foreground:
        case model::TaskRole::background:
        case model::TaskRole::unspecified:
          task_priority(*target,
                        op.role == model::TaskRole::foreground ? model::BASEPRI_FOREGROUND
                                                               : model::BASEPRI_BACKGROUND,
                        max_priority, op.role, core::PolicyCall::task_policy_set);
          return;
        case model::TaskRole::control:
        case model::TaskRole::reniced:
          return answer(0);  // "fail silently": KERN_SUCCESS, nothing changes
        case model::TaskRole::graphics_server:
          return answer(kKernInvalidArgument);
      }
      return;
    case model::TaskRole::control:
    case model::TaskRole::graphics_server:
      // Only a task asking for itself, and only as root (sec_token uid 0).
      if (!own_task || !target->root) return answer(kKernInvalidArgument);
      if (op.role == model::TaskRole::control)
        task_priority(*target, model::BASEPRI_CONTROL, max_priority, op.role, core::PolicyCall::task_policy_set);
      else
        task_priority(*target, model::MAXPRI_RESERVED - 3, model::MAXPRI_RESERVED, op.role,
                      core::PolicyCall::task_policy_set);
      return;
    case model::TaskRole::unspecified:
    case model::TaskRole::reniced:
      return answer(kKernInvalidArgument);  // no branch of task_policy_set takes it
  }
}

// models xnu-792 bsd/kern/kern_resource.c donice (setpriority PRIO_PROCESS on the caller's own
// process), then kern_synch.c resetpriority -> task_policy.c task_importance
void Policy::setpriority(Thread& t, const model::Op& op) {
  PolicyHost& host = *ctx_.host;
  int n = std::clamp(op.nice, kPrioMin, kPrioMax);
  auto refuse = [&](int64_t code) {
    host.emit(policy_event(core::TraceKind::set_mode_failed, core::PolicyCall::setpriority, t, host.now(), code, n,
                           static_cast<int64_t>(task_role(t))));
  };
  // A kernel thread's process is kernproc, whose task is kernel_task: donice sets p_nice but
  // task_importance refuses kernel_task, and resetpriority ignores the refusal.
  if (t.kernel) return refuse(kKernInvalidArgument);
  if (n < t.nice && !t.root) return refuse(kEacces);  // only the superuser lowers nice
  const model::TaskRole role = task_role(t);
  for (Thread& u : *ctx_.threads)
    if (!u.kernel && u.task == t.task) {
      ensure_importance(u);  // before the task's nice (and so its derived priority) moves
      u.nice = n;
    }
  // task_importance refuses a control application or graphics server: p_nice is set, the
  // priorities stay.
  if (role == model::TaskRole::control || role == model::TaskRole::graphics_server)
    return refuse(kKernInvalidArgument);
  task_priority(t, model::BASEPRI_DEFAULT - n, task_max_priority(t), model::TaskRole::reniced,
                core::PolicyCall::setpriority);
}

// models Libc-391 pthreads/pthread.c pthread_setschedparam -> xnu-792 osfmk/kern/mk_sp.c
// thread_policy (set_limit TRUE) -> thread_set_policy -> thread_policy_common (the same code in
// xnu-517 but for the name MINPRI_SYSTEM)
void Policy::pthread_setschedparam(Thread& t, const model::Op& op) {
  PolicyHost& host = *ctx_.host;
  auto answer = [&](int64_t kern_return) {
    host.emit(policy_event(core::TraceKind::set_mode_failed, core::PolicyCall::pthread_setschedparam, t, host.now(),
                           kern_return, op.priority, static_cast<int64_t>(op.sched_policy)));
  };
  // thread_set_policy: invalid_pri(base) is KERN_INVALID_ARGUMENT (pthread returns EINVAL).
  if (op.priority < model::MINPRI || op.priority > model::MAXPRI) return answer(kKernInvalidArgument);
  // thread_policy_common leaves a real-time thread (or one demoted from real time) alone and
  // still returns KERN_SUCCESS.
  if (t.is_realtime() || (t.failsafe && t.saved_mode == model::ThreadMode::realtime)) return answer(0);
  const model::ThreadMode mode =
      op.sched_policy == model::SchedPolicy::other ? model::ThreadMode::timeshare : model::ThreadMode::fixed;
  if (t.failsafe)
    t.saved_mode = mode;  // safe_mode: restored at the release
  else
    t.mode = mode;
  // The priority asked for is read in the band it falls in, as an offset from the band's base,
  // and applied to the task's priority.
  const TaskLimits lim = task_limits(t);
  int pri = op.priority;
  if (pri >= lim.max_priority)
    pri = lim.max_priority - lim.task_priority;
  else if (pri >= model::MINPRI_KERNEL)
    pri -= model::MINPRI_KERNEL;
  else if (pri >= model::MINPRI_RESERVED)
    pri -= model::MINPRI_RESERVED;
  else
    pri -= model::BASEPRI_DEFAULT;
  pri = std::clamp(pri + lim.task_priority, model::MINPRI, lim.max_priority);
  ensure_importance(t);
  t.importance = pri - lim.task_priority;
  t.base_pri = pri;  // set_priority
  host.emit(policy_event(core::TraceKind::mode_changed, core::PolicyCall::pthread_setschedparam, t, host.now(),
                         static_cast<int64_t>(t.mode), t.base_pri, static_cast<int64_t>(op.sched_policy)));
  host.set_sched_pri(t, compute_sched_pri(t), core::PriorityReason::mode);
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
  ensure_importance(t);
  if (op.flavor == model::PolicyFlavor::precedence) {
    t.importance = op.importance;  // recomputed even while demoted (the thread is timeshare then)
  } else if (t.failsafe) {
    // A demoted thread only records the mode (safe_mode) for the release; its priority stays.
    t.saved_mode = op.mode;
    host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, kThreadPolicySet,
                               static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(op.mode), t.base_pri});
    return;
  } else {
    t.mode = op.mode;
  }
  t.base_pri = t.is_realtime() ? model::BASEPRI_RTQUEUES : recompute_base(t, t.importance);
  host.emit(core::TraceEvent{host.now(), core::TraceKind::mode_changed, kThreadPolicySet,
                             static_cast<int16_t>(t.cpu), t.index, -1, static_cast<int64_t>(t.mode), t.base_pri});
  host.set_sched_pri(t, compute_sched_pri(t), core::PriorityReason::mode);
}

}  // namespace sim::policies
