// The one metric catalogue: for each kind of results object (thread, cpu, lock, ...) its fields in
// results-format order, each with its dotted path and an accessor over Results. The JSON writer
// writes exactly these fields; `expect` may name exactly the numeric metrics among them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/metrics/results.hpp"

namespace sim::metrics {

// The kinds of object in Results that an expect can be about.
enum class TargetKind : uint8_t { system, thread, lock, cpu, workloop, interrupt, device };

// What a field holds.
enum class FieldType : uint8_t {
  number,  // an integer (a time in ns when the last path segment before any summary key ends in _ns)
  text,    // a string attribute (e.g. a thread's task)
  flag,    // a boolean attribute
  texts,   // a list of strings (system.panics)
  histogram,  // a distribution's histogram buckets (e.g. "response_ns.histogram")
};

// One field of a results object of type T.
template <typename T>
struct Field {
  std::string path;  // dotted path in the object, e.g. "response_ns.p99"
  FieldType type = FieldType::number;
  // A metric an expect may name (every number except descriptive attributes such as
  // base_priority).
  bool metric = true;
  std::function<int64_t(const T&)> number;      // when type == number
  std::function<std::string(const T&)> text;    // when type == text
  std::function<bool(const T&)> flag;           // when type == flag
  std::function<std::vector<std::string>(const T&)> texts;  // when type == texts
  std::function<const std::vector<HistogramBucket>&(const T&)> histogram;  // when type == histogram
  // When set and false for an object, the field is absent from it: not in its JSON, no value
  // for an expect (system.energy_mj without machine.platform).
  std::function<bool(const T&)> shown;
};

// The fields of each object, in the order the results JSON writes them.
const std::vector<Field<ThreadResult>>& thread_fields();
const std::vector<Field<CpuResult>>& cpu_fields();
const std::vector<Field<LockResult>>& lock_fields();
const std::vector<Field<InterruptResult>>& interrupt_fields();
const std::vector<Field<WorkloopResult>>& workloop_fields();
const std::vector<Field<DeviceResult>>& device_fields();
// The fields of "system" ("panics", a list of strings, is not a metric).
const std::vector<Field<SystemResult>>& system_fields();

// The eight metric keys of a distribution summary, in order (its extension keys max_at_ns,
// max_job and histogram follow them in the JSON, and are not metrics).
const std::vector<std::string>& summary_keys();

// Every metric path an expect may name for a target kind, in results order.
std::vector<std::string> metric_paths(TargetKind kind);
// True when `path` names a metric of that kind.
bool is_metric(TargetKind kind, std::string_view path);
// True when the metric is a time in ns (so a duration string is accepted as its value); the
// sample count of a time summary is a plain number.
bool is_duration_metric(std::string_view path);

// The value of metric `path` of one object in `r`: the thread, lock, work loop, interrupt or
// device with id `id`, cpu number `index`, or the system. nullopt when the object or the metric
// does not exist.
std::optional<int64_t> metric_value(const Results& r, TargetKind kind, std::string_view id, int64_t index,
                                    std::string_view path);

}  // namespace sim::metrics
