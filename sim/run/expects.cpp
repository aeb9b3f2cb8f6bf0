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

#include "sim/core/time.hpp"
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

// A time with its unit, exact to the ns ("3 ms", "2.999999 ms", "1.341091824 s"): a bound is
// shown as precisely as it was written.
std::string exact_duration(int64_t ns) {
  const int64_t a = ns < 0 ? -ns : ns;
  auto with = [&](int64_t unit, int digits, const char* name) {
    std::string frac = fmt::format("{:0{}}", a % unit, digits);
    frac.erase(frac.find_last_not_of('0') + 1);
    return fmt::format("{}{}.{} {}", ns < 0 ? "-" : "", a / unit, frac, name);
  };
  if (a >= 1'000'000 && a < 1'000'000'000 && a % 1'000 != 0) return with(1'000'000, 6, "ms");
  if (a >= 1'000'000'000 && a % 1'000'000 != 0) return with(1'000'000'000, 9, "s");
  return core::format_duration_brief(ns);
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
    // Times read with their unit ("<= 3 ms: got 1.341 s"); counts stay plain numbers.
    const bool duration = scenario::is_duration_metric(e.metric);
    const std::string bound = duration ? exact_duration(e.value) : std::to_string(e.value);
    std::string text = fmt::format("{} {} {} {}", target_text(e), e.metric, op_text(e.op), bound);
    int64_t index = e.target == ExpectTarget::cpu ? cpu_index(e) : -1;
    std::optional<int64_t> value =
        metrics::metric_value(results, scenario::target_kind(e.target), e.target_id, index, e.metric);
    metrics::ExpectResult r;
    if (!value) {
      r.text = text + ": no such metric";
      r.ok = false;
    } else {
      std::string got = duration ? core::format_duration_brief(*value) : std::to_string(*value);
      // Rounded to the microsecond or millisecond, a value may read like a bound it misses.
      if (duration && got == bound && *value != e.value) got += fmt::format(" ({} ns)", *value);
      r.text = fmt::format("{}: got {}", text, got);
      r.ok = satisfies(*value, e.op, e.value);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sim::run
