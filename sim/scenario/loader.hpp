// Reads a scenario file (format v1), checks every key, type, unit, reference and range, and
// returns plain structs or diagnostics (up to 20 errors, file:line:col or file + JSON Pointer).
#pragma once

#include <optional>
#include <string>

#include "sim/core/diag.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::scenario {

struct LoadResult {
  std::optional<Scenario> scenario;  // set only when there are no errors
  core::Diagnostics diagnostics;
};

// Reads and validates a file; a missing or unreadable file is a diagnostic, not an exception.
LoadResult load_scenario_file(const std::string& path);
// Reads a file's bytes into `text`; false (with one diagnostic naming the file) when it is missing,
// a directory or unreadable. load_scenario_file is this, then load_scenario_text.
bool read_scenario_file(const std::string& path, std::string& text, core::Diagnostics& diag);
// Validates text as if read from `file` (used by tests and the fuzzer).
LoadResult load_scenario_text(const std::string& text, const std::string& file);

}  // namespace sim::scenario
