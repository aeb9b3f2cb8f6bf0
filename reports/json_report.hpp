// Renders Results as the public results JSON (scenario-v1.md, "Results"), keys in fixed order.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sim/metrics/results.hpp"

namespace sim::reports {

// The results document. Thread objects carry the documented keys first, then the compatible
// extension keys "task", "mode", "base_priority", "band" and "kernel".
nlohmann::ordered_json results_to_json(const metrics::Results& results);
// The "configuration" object alone (what produced the results).
nlohmann::ordered_json configuration_to_json(const metrics::Configuration& configuration);
// The same, indented by two, with a final newline (what `run --json` writes).
std::string results_to_json_text(const metrics::Results& results);
// Any document holding results objects (compare's), indented by two with each histogram bucket
// on one line, with a final newline; invalid UTF-8 is replaced.
std::string json_text(const nlohmann::ordered_json& document);

}  // namespace sim::reports
