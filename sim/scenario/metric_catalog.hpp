// The metric paths that `expect` may name, per target kind, as in the results format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace sim::scenario {

// True when `path` (dotted, e.g. "response_ns.p99") names a numeric value of that target's
// results object.
bool is_known_metric(ExpectTarget target, std::string_view path);
// Every valid path for a target, for "did you mean" notes and help.
std::vector<std::string> known_metrics(ExpectTarget target);
// True when the metric is a time in ns (so a duration string is accepted as its value).
bool is_duration_metric(std::string_view path);

}  // namespace sim::scenario
