// Evaluates a scenario's `expect` assertions against the results JSON of a run.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "sim/metrics/results.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::cli {

// One result per spec, in order. Text names the target, the metric, the bound and the measured
// value: `thread "high" response_ns.max <= 3000000 (3ms): got 3000000`. A target or metric that
// is absent from the results (validation should prevent it) fails with "no such metric".
std::vector<metrics::ExpectResult> evaluate_expects(
    const nlohmann::ordered_json& results, const std::vector<scenario::ExpectSpec>& expects);

}  // namespace sim::cli
