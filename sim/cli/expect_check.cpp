// expect checking: locate the target object in the results JSON, follow the dotted metric path,
// compare with the bound exactly (integers, no floating point on the way).
#include "sim/cli/expect_check.hpp"

#include <charconv>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sim::cli {

namespace {

using nlohmann::ordered_json;
using scenario::ExpectOp;
using scenario::ExpectSpec;
using scenario::ExpectTarget;

std::string_view collection_of(ExpectTarget t) {
  switch (t) {
    case ExpectTarget::system: return "system";
    case ExpectTarget::thread: return "threads";
    case ExpectTarget::lock: return "locks";
    case ExpectTarget::cpu: return "cpus";
    case ExpectTarget::workloop: return "workloops";
    case ExpectTarget::interrupt: return "interrupts";
    case ExpectTarget::device: return "devices";
  }
  return "";
}

std::string target_text(const ExpectSpec& e) {
  switch (e.target) {
    case ExpectTarget::system: return "system";
    case ExpectTarget::cpu:
      return e.target_index >= 0 ? fmt::format("cpu {}", e.target_index)
                                 : fmt::format("cpu {}", e.target_id);
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

// The results object an expect is about, or nullptr.
const ordered_json* find_target(const ordered_json& results, const ExpectSpec& e) {
  auto coll = results.find(std::string(collection_of(e.target)));
  if (coll == results.end()) return nullptr;
  if (e.target == ExpectTarget::system) return coll->is_object() ? &*coll : nullptr;
  if (e.target == ExpectTarget::cpu) {
    int64_t index = e.target_index;
    if (index < 0) {
      const char* first = e.target_id.data();
      const char* last = first + e.target_id.size();
      auto [end, ec] = std::from_chars(first, last, index);
      if (ec != std::errc() || end != last) return nullptr;
    }
    if (!coll->is_array() || index < 0 || static_cast<uint64_t>(index) >= coll->size()) {
      return nullptr;
    }
    return &(*coll)[static_cast<size_t>(index)];
  }
  if (!coll->is_object()) return nullptr;
  auto it = coll->find(e.target_id);
  return it == coll->end() ? nullptr : &*it;
}

// Follows "a.b.c" through nested objects; nullptr when a step is missing.
const ordered_json* follow(const ordered_json* node, std::string_view path) {
  while (node != nullptr) {
    const size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return node;
}

// Exact comparison of a JSON number with an int64 bound (unordered for non-numbers and NaN).
std::partial_ordering compare(const ordered_json& v, int64_t bound) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (bound < 0 || u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::partial_ordering::greater;
    }
    return static_cast<int64_t>(u) <=> bound;
  }
  if (v.is_number_integer()) return v.get<int64_t>() <=> bound;
  if (v.is_number_float()) return v.get<double>() <=> static_cast<double>(bound);
  return std::partial_ordering::unordered;
}

bool satisfies(std::partial_ordering c, ExpectOp op) {
  switch (op) {
    case ExpectOp::min: return c >= 0;
    case ExpectOp::max: return c <= 0;
    case ExpectOp::eq: return c == 0;
  }
  return false;
}

}  // namespace

std::vector<metrics::ExpectResult> evaluate_expects(const ordered_json& results,
                                                    const std::vector<ExpectSpec>& expects) {
  std::vector<metrics::ExpectResult> out;
  out.reserve(expects.size());
  for (const auto& e : expects) {
    std::string text =
        fmt::format("{} {} {} {}", target_text(e), e.metric, op_text(e.op), e.value);
    // Show the bound as written when that differs from the plain number ("3ms").
    if (!e.value_text.empty() && e.value_text != std::to_string(e.value)) {
      text += fmt::format(" ({})", e.value_text);
    }
    const ordered_json* value = follow(find_target(results, e), e.metric);
    metrics::ExpectResult r;
    if (value == nullptr || !value->is_number() || e.metric.empty()) {
      r.text = text + ": no such metric";
      r.ok = false;
    } else {
      r.text = fmt::format("{}: got {}", text, value->dump());
      r.ok = satisfies(compare(*value, e.value), e.op);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sim::cli
