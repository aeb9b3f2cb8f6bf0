// Expect checking on Results: find the target, read the metric through the catalogue, compare
// with the bound exactly (integers only).
#include "sim/run/expects.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "sim/scenario/metric_catalog.hpp"

namespace sim::run {

namespace {

using scenario::ExpectOp;
using scenario::ExpectSpec;
using scenario::ExpectTarget;

std::string target_text(const ExpectSpec& e) {
  switch (e.target) {
    case ExpectTarget::system: return "system";
    case ExpectTarget::cpu:
      return e.target_index >= 0 ? fmt::format("cpu {}", e.target_index) : fmt::format("cpu {}", e.target_id);
    case ExpectTarget::thread: return fmt::format("thread \"{}\"", e.target_id);
    case ExpectTarget::lock: return fmt::format("lock \"{}\"", e.target_id);
    case ExpectTarget::workloop: return fmt::format("workloop \"{}\"", e.target_id);
    case ExpectTarget::interrupt: return fmt::format("interrupt \"{}\"", e.target_id);
    case ExpectTarget::device: return fmt::format("device \"{}\"", e.target_id);
  }
  return "?";
}

std::string_view op_text(ExpectOp op) {
  switch (op) {
    case ExpectOp::min: return ">=";
    case ExpectOp::max: return "<=";
    case ExpectOp::eq: return "==";
  }
  return "?";
}

// The cpu number of a cpu expect: its index, or its id when that is a number.
int64_t cpu_index(const ExpectSpec& e) {
  if (e.target_index >= 0) return e.target_index;
  int64_t index = -1;
  const char* first = e.target_id.data();
  const char* last = first + e.target_id.size();
  auto [end, ec] = std::from_chars(first, last, index);
  return ec == std::errc() && end == last ? index : -1;
}

bool satisfies(int64_t value, ExpectOp op, int64_t bound) {
  switch (op) {
    case ExpectOp::min: return value >= bound;
    case ExpectOp::max: return value <= bound;
    case ExpectOp::eq: return value == bound;
  }
  return false;
}

}  // namespace

std::vector<metrics::ExpectResult> evaluate_expects(const metrics::Results& results,
                                                    const std::vector<ExpectSpec>& expects) {
  std::vector<metrics::ExpectResult> out;
  out.reserve(expects.size());
  for (const ExpectSpec& e : expects) {
    std::string text = fmt::format("{} {} {} {}", target_text(e), e.metric, op_text(e.op), e.value);
    // Show the bound as written when that differs from the plain number ("3ms").
    if (!e.value_text.empty() && e.value_text != std::to_string(e.value)) text += fmt::format(" ({})", e.value_text);
    int64_t index = e.target == ExpectTarget::cpu ? cpu_index(e) : -1;
    std::optional<int64_t> value =
        metrics::metric_value(results, scenario::target_kind(e.target), e.target_id, index, e.metric);
    metrics::ExpectResult r;
    if (!value) {
      r.text = text + ": no such metric";
      r.ok = false;
    } else {
      r.text = fmt::format("{}: got {}", text, *value);
      r.ok = satisfies(*value, e.op, e.value);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sim::run
