// Names of trace event kinds and reasons, as printed in text traces and reports.
#include "sim/core/trace.hpp"

namespace sim::core {

std::string_view to_string(TraceKind k) {
  switch (k) {
    case TraceKind::created: return "created";
    case TraceKind::released: return "released";
    case TraceKind::woke: return "woke";
    case TraceKind::switched: return "switched";
    case TraceKind::blocked: return "blocked";
    case TraceKind::completed: return "completed";
    case TraceKind::deadline_missed: return "deadline_missed";
    case TraceKind::exited: return "exited";
    case TraceKind::priority_changed: return "priority_changed";
    case TraceKind::quantum_expired: return "quantum_expired";
    case TraceKind::preempt_deferred: return "preempt_deferred";
    case TraceKind::demoted: return "demoted";
    case TraceKind::undemoted: return "undemoted";
    case TraceKind::mode_changed: return "mode_changed";
    case TraceKind::set_mode_failed: return "set_mode_failed";
    case TraceKind::sched_tick: return "sched_tick";
    case TraceKind::depressed: return "depressed";
    case TraceKind::undepressed: return "undepressed";
    case TraceKind::panicked: return "panicked";
    case TraceKind::lock_acquired: return "lock_acquired";
    case TraceKind::lock_contended: return "lock_contended";
    case TraceKind::lock_released: return "lock_released";
    case TraceKind::spin_began: return "spin_began";
    case TraceKind::spin_ended: return "spin_ended";
    case TraceKind::inversion_began: return "inversion_began";
    case TraceKind::inversion_ended: return "inversion_ended";
    case TraceKind::funnel_dropped: return "funnel_dropped";
    case TraceKind::funnel_taken: return "funnel_taken";
    case TraceKind::event_waited: return "event_waited";
    case TraceKind::event_signaled: return "event_signaled";
    case TraceKind::lock_held_at_exit: return "lock_held_at_exit";
    case TraceKind::interrupt_arrived: return "interrupt_arrived";
    case TraceKind::interrupt_began: return "interrupt_began";
    case TraceKind::interrupt_ended: return "interrupt_ended";
    case TraceKind::workloop_action: return "workloop_action";
    case TraceKind::timer_fired: return "timer_fired";
    case TraceKind::io_issued: return "io_issued";
    case TraceKind::io_completed: return "io_completed";
    case TraceKind::terminated: return "terminated";
    case TraceKind::command_refused: return "command_refused";
    case TraceKind::filter_refused: return "filter_refused";
    case TraceKind::lock_try_failed: return "lock_try_failed";
    case TraceKind::lock_converted: return "lock_converted";
    case TraceKind::interrupt_lock: return "interrupt_lock";
    case TraceKind::terminate_asked: return "terminate_asked";
    case TraceKind::funnel_merged: return "funnel_merged";
  }
  return "?";
}

std::string_view to_string(SwitchReason r) {
  switch (r) {
    case SwitchReason::none: return "none";
    case SwitchReason::block: return "block";
    case SwitchReason::preempt: return "preempt";
    case SwitchReason::quantum: return "quantum";
    case SwitchReason::yield: return "yield";
    case SwitchReason::exit: return "exit";
    case SwitchReason::handoff: return "handoff";
  }
  return "?";
}

std::string_view to_string(BlockReason r) {
  switch (r) {
    case BlockReason::sleep: return "sleep";
    case BlockReason::period: return "period";
    case BlockReason::event: return "event";
    case BlockReason::lock: return "lock";
    case BlockReason::funnel: return "funnel";
    case BlockReason::io: return "io";
    case BlockReason::exit: return "exit";
    case BlockReason::command: return "command";
    case BlockReason::thread_wait: return "thread_wait";
  }
  return "?";
}

std::string_view to_string(WakeReason r) {
  switch (r) {
    case WakeReason::timer: return "timer";
    case WakeReason::release: return "release";
    case WakeReason::event: return "event";
    case WakeReason::lock: return "lock";
    case WakeReason::io: return "io";
    case WakeReason::start: return "start";
    case WakeReason::interrupt: return "interrupt";
    case WakeReason::timed_out: return "timed_out";
    case WakeReason::interrupted: return "interrupted";
  }
  return "?";
}

std::string_view to_string(PriorityReason r) {
  switch (r) {
    case PriorityReason::set_priority: return "set_priority";
    case PriorityReason::decay: return "decay";
    case PriorityReason::quantum: return "quantum";
    case PriorityReason::tick: return "tick";
    case PriorityReason::wake: return "wake";
    case PriorityReason::failsafe: return "failsafe";
    case PriorityReason::promote: return "promote";
    case PriorityReason::unpromote: return "unpromote";
    case PriorityReason::depress: return "depress";
    case PriorityReason::mode: return "mode";
  }
  return "?";
}

std::string_view to_string(PolicyCall c) {
  switch (c) {
    case PolicyCall::thread_policy_set: return "thread_policy_set";
    case PolicyCall::task_policy_set: return "task_policy_set";
    case PolicyCall::setpriority: return "setpriority";
    case PolicyCall::pthread_setschedparam: return "pthread_setschedparam";
  }
  return "?";
}

}  // namespace sim::core
