// Running a loaded scenario end to end (world, sinks, run, results, expects): shared by
// `xnusim run`, the tests and the benchmarks.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/core/trace.hpp"
#include "sim/dispatcher/dispatcher.hpp"
#include "sim/metrics/results.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::cli {

struct RunOptions {
  std::string policy;                       // overrides the scenario's when non-empty
  std::optional<uint64_t> seed;             // overrides the scenario's
  std::optional<core::Duration> duration;   // overrides the scenario's
  std::FILE* trace = nullptr;               // text trace destination, or none
  core::TraceSink* extra_sink = nullptr;    // e.g. an invariant checker (tests)
  bool progress = false;                    // report progress on stderr during long runs
  // Called after every instant with the dispatcher (tests check invariants).
  std::function<void(const dispatcher::Dispatcher&)> step_hook;
};

struct RunOutput {
  metrics::Results results;
  nlohmann::ordered_json json;
  bool expects_ok = true;
};

// The policy the run will use: the override, else the scenario's, else the default.
std::string resolve_policy_name(const scenario::Scenario& s, const std::string& override_name);
// An error line (file, pointer, message, note) when the policy name is unknown, else "".
std::string check_policy_name(const scenario::Scenario& s, const std::string& override_name);
// "not supported yet" lines, one per feature, or "" when the scenario can run.
std::string check_supported(const scenario::Scenario& s);

// Runs a validated scenario whose policy name was checked. Throws dispatcher::InternalError.
RunOutput run_scenario(const scenario::Scenario& s, const RunOptions& options);

}  // namespace sim::cli
