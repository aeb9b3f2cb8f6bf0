// What `run` and `explain` share before and after a simulation: the --seed and --duration
// options, the scenario loaded with its --set edits and checked (policy name, supported
// features), and the message for a simulated time past its limit. Each function prints its own
// error (with the option or the file it comes from) and says whether to go on; a false or an
// empty result means exit 2.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reports/perfetto.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/core/time.hpp"
#include "sim/run/simulation.hpp"

namespace sim::cli {

// Registers what both commands take: the scenario argument, --policy, --seed, --duration, --set and
// --cpus.
void add_run_input_options(CLI::App& app, std::string& file, std::string& policy, std::optional<std::string>& seed,
                           std::optional<std::string>& duration, std::vector<std::string>& sets,
                           std::optional<std::string>& cpus);

// --seed: a decimal integer in [0, 2^64-1] (never clamped); --duration: a positive duration.
// Sets options.seed / options.duration when given.
bool parse_seed_option(const std::optional<std::string>& text, run::Options& options);
bool parse_duration_option(const std::optional<std::string>& text, run::Options& options);

// Applies the --set / --cpus edits to the scenario file (or standard input for "-"), validates
// it, and checks that `policy` (or the scenario's own) exists and that the scenario can run.
// Records the file's digest and the edits in `options`.
std::optional<ScenarioInput> load_checked_scenario(const std::string& file, const std::vector<std::string>& sets,
                                                   const std::optional<std::string>& cpus, const std::string& policy,
                                                   run::Options& options);

// The metadata of a Perfetto trace of `loaded` (its scenario, digest and edits) run under `policy`.
reports::PerfettoConfig perfetto_config(const ScenarioInput& loaded, std::string policy, uint64_t seed,
                                        int64_t duration_ns);

// The bad-input message for a random duration that took simulated time past its limit.
void print_time_overflow(const std::string& file, const core::TimeOverflow& e);

}  // namespace sim::cli
