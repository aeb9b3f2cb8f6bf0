#include "sim/cli/run_input.hpp"

#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "sim/cli/console.hpp"

namespace sim::cli {

void add_run_input_options(CLI::App& app, std::string& file, std::string& policy, std::optional<std::string>& seed,
                           std::optional<std::string>& duration, std::vector<std::string>& sets,
                           std::optional<std::string>& cpus) {
  app.add_option("scenario", file, "Scenario file (JSON, format v1); - reads standard input")->required();
  app.add_option("--policy", policy, "Scheduling policy (see `xnusim policies`); overrides the scenario's");
  app.add_option("--seed", seed, "Random seed, 0 to 18446744073709551615; overrides the scenario's");
  app.add_option("--duration", duration, "Simulated time to run, e.g. 10s; overrides the scenario's");
  add_edit_options(app, sets, &cpus);
}

bool parse_seed_option(const std::optional<std::string>& text, run::Options& options) {
  if (!text) return true;
  uint64_t v = 0;
  const char* first = text->data();
  const char* last = first + text->size();
  auto [end, ec] = std::from_chars(first, last, v);
  if (text->empty() || ec != std::errc() || end != last) {
    eprint("xnusim: error: --seed: must be an integer from 0 to {} (got \"{}\")\n", std::numeric_limits<uint64_t>::max(),
           *text);
    return false;
  }
  options.seed = v;
  return true;
}

bool parse_duration_option(const std::optional<std::string>& text, run::Options& options) {
  if (!text) return true;
  core::ParsedDuration d = core::parse_duration(*text);
  if (!d.value || d.value->ns <= 0) {
    eprint("xnusim: error: --duration: {}\n",
           d.value ? fmt::format("must be a positive duration (got \"{}\")", *text) : d.error);
    return false;
  }
  options.duration = d.value;
  return true;
}

std::optional<ScenarioInput> load_checked_scenario(const std::string& file, const std::vector<std::string>& sets,
                                                   const std::optional<std::string>& cpus, const std::string& policy,
                                                   run::Options& options) {
  std::string edit_error;
  std::optional<std::vector<Override>> edits = parse_overrides(sets, cpus, edit_error);
  if (!edits) {
    eprint("{}\n", edit_error);
    return std::nullopt;
  }
  ScenarioInput loaded = load_scenario_input(file, *edits);
  if (!loaded.scenario) {
    eprint("{}", loaded.diagnostics.format());
    return std::nullopt;
  }
  const scenario::Scenario& s = *loaded.scenario;
  if (std::string e = run::check_policy_name(s, policy); !e.empty()) {
    eprint("{}\n", e);
    return std::nullopt;
  }
  if (std::string e = run::check_supported(s); !e.empty()) {
    eprint("{}", e);
    return std::nullopt;
  }
  options.policy = policy;
  options.scenario_sha256 = loaded.sha256;
  options.sets = loaded.sets;
  return loaded;
}

void print_time_overflow(const std::string& file, const core::TimeOverflow& e) {
  if (e.pointer().empty())
    eprint("{}: error: {}\n", file, e.what());
  else
    eprint("{}: error: {}: {}\n  note: a duration drawn at random for this op took simulated time past "
           "its limit; narrow its distribution or shorten the run\n",
           file, e.pointer(), e.what());
}

reports::PerfettoConfig perfetto_config(const ScenarioInput& loaded, std::string policy, uint64_t seed,
                                        int64_t duration_ns) {
  const scenario::Scenario& s = *loaded.scenario;
  reports::PerfettoConfig pc;
  pc.scenario = s.name;
  pc.policy = std::move(policy);
  pc.seed = seed;
  pc.xnu = s.machine.xnu == scenario::XnuRelease::r792 ? "792" : "517";
  pc.duration_ns = duration_ns;
  pc.cpus = s.machine.cpus;
  pc.scenario_sha256 = loaded.sha256;
  pc.sets = loaded.sets;
  return pc;
}

}  // namespace sim::cli
