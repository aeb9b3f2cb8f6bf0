// Names of program ops and thread modes, as spelled in scenarios.
#include "sim/model/program.hpp"

#include "sim/model/op_table.hpp"

namespace sim::model {

std::string_view to_string(OpKind k) {
  return static_cast<size_t>(k) < kOpCount ? op_info(k).name : "?";
}

std::string_view to_string(ThreadMode m) {
  switch (m) {
    case ThreadMode::timeshare: return "timeshare";
    case ThreadMode::fixed: return "fixed";
    case ThreadMode::realtime: return "realtime";
  }
  return "?";
}

std::string_view to_string(TaskRole r) {
  switch (r) {
    case TaskRole::reniced: return "reniced";
    case TaskRole::unspecified: return "unspecified";
    case TaskRole::foreground: return "foreground";
    case TaskRole::background: return "background";
    case TaskRole::control: return "control";
    case TaskRole::graphics_server: return "graphics_server";
  }
  return "?";
}

}  // namespace sim::model
