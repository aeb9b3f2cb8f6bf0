// Names of program ops and thread modes, as spelled in scenarios.
#include "sim/model/program.hpp"

namespace sim::model {

std::string_view to_string(OpKind k) {
  switch (k) {
    case OpKind::run: return "run";
    case OpKind::sleep: return "sleep";
    case OpKind::sleep_until_next_period: return "sleep_until_next_period";
    case OpKind::loop: return "loop";
    case OpKind::lock: return "lock";
    case OpKind::unlock: return "unlock";
    case OpKind::wait: return "wait";
    case OpKind::signal: return "signal";
    case OpKind::funnel: return "funnel";
    case OpKind::yield: return "yield";
    case OpKind::swtch_pri: return "swtch_pri";
    case OpKind::set_priority: return "set_priority";
    case OpKind::set_mode: return "set_mode";
    case OpKind::run_action: return "run_action";
    case OpKind::command_sleep: return "command_sleep";
    case OpKind::command_wakeup: return "command_wakeup";
    case OpKind::io: return "io";
    case OpKind::timer_arm: return "timer_arm";
    case OpKind::timer_cancel: return "timer_cancel";
    case OpKind::terminate: return "terminate";
    case OpKind::internal_workloop: return "internal_workloop";
    case OpKind::internal_callout: return "internal_callout";
    case OpKind::internal_activator: return "internal_activator";
    case OpKind::internal_terminate: return "internal_terminate";
    case OpKind::internal_action_done: return "internal_action_done";
    case OpKind::internal_gate_close: return "internal_gate_close";
    case OpKind::internal_gate_open: return "internal_gate_open";
  }
  return "?";
}

std::string_view to_string(ThreadMode m) {
  switch (m) {
    case ThreadMode::timeshare: return "timeshare";
    case ThreadMode::fixed: return "fixed";
    case ThreadMode::realtime: return "realtime";
  }
  return "?";
}

}  // namespace sim::model
