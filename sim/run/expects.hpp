// Evaluating a scenario's `expect` assertions on the Results of a run, through the metric
// catalogue (sim/metrics/catalog.hpp).
#pragma once

#include <vector>

#include "sim/metrics/results.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::run {

// One result per spec, in order. The text names the target, the metric, the bound and the
// measured value, times with their unit: `thread "high" response_ns.max <= 3 ms: got 2.5 ms`
// (with the exact ns in parentheses when the rounded value reads like the bound it misses). A target or
// metric that the results do not have (validation should prevent it) fails with "no such metric".
std::vector<metrics::ExpectResult> evaluate_expects(const metrics::Results& results,
                                                    const std::vector<scenario::ExpectSpec>& expects);

}  // namespace sim::run
