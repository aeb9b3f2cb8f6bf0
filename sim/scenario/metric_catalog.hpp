// The metric paths that `expect` may name, per target kind: thin forwarders to the one metric
// catalogue (sim/metrics/catalog.hpp), which the JSON writer and the expect evaluation also use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/metrics/catalog.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::scenario {

// The catalogue's kind for an expect target.
metrics::TargetKind target_kind(ExpectTarget target);
// True when `path` (dotted, e.g. "response_ns.p99") names a numeric value of that target's
// results object.
bool is_known_metric(ExpectTarget target, std::string_view path);
// Every valid path for a target, for "did you mean" notes and help.
std::vector<std::string> known_metrics(ExpectTarget target);
// True when the metric is a time in ns (so a duration string is accepted as its value).
bool is_duration_metric(std::string_view path);

}  // namespace sim::scenario
