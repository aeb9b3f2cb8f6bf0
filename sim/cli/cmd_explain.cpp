// `xnusim explain FILE`: run a scenario and tell what happened in plain sentences (docs/explain.md).
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/explain.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/explain_run.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/cli/run_input.hpp"
#include "sim/core/time.hpp"
#include "sim/iokit_model/config.hpp"
#include "sim/run/simulation.hpp"

namespace sim::cli {

namespace {

struct ExplainArgs {
  std::string file;
  std::string policy;
  std::vector<std::string> sets;
  std::optional<std::string> cpus;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::string> duration;
  std::optional<std::string> seed;
};

// --since / --until: a duration from the start of the run ("0ms" or more).
std::optional<core::SimTime> parse_instant(const std::string& option, const std::string& text, std::string& error) {
  core::ParsedDuration d = core::parse_duration(text);
  if (!d.value) {
    error = fmt::format("xnusim: error: {}: {}", option, d.error);
    return std::nullopt;
  }
  if (d.value->ns < 0) {
    error = fmt::format("xnusim: error: {}: must be a time from the start of the run, 0s or more (got \"{}\")",
                        option, text);
    return std::nullopt;
  }
  return core::SimTime{d.value->ns};
}

std::string_view protocol_name(scenario::LockProtocol p) {
  switch (p) {
    case scenario::LockProtocol::xnu: return "xnu";
    case scenario::LockProtocol::none: return "none";
    case scenario::LockProtocol::inherit: return "inherit";
    case scenario::LockProtocol::ceiling: return "ceiling";
  }
  return "xnu";
}

int explain_command(const ExplainArgs& a) {
  reports::ExplainSetup setup;
  std::string error;
  if (a.since) {
    std::optional<core::SimTime> t = parse_instant("--since", *a.since, error);
    if (!t) {
      eprint("{}\n", error);
      return kExitBadInput;
    }
    setup.since = *t;
  }
  if (a.until) {
    std::optional<core::SimTime> t = parse_instant("--until", *a.until, error);
    if (!t) {
      eprint("{}\n", error);
      return kExitBadInput;
    }
    setup.until = *t;
  }
  if (setup.until <= setup.since) {
    eprint("xnusim: error: --until: must be later than --since (got {} and {})\n", a.until.value_or("?"),
           a.since.value_or("0s"));
    return kExitBadInput;
  }
  run::Options options;
  if (!parse_seed_option(a.seed, options) || !parse_duration_option(a.duration, options)) return kExitBadInput;
  std::optional<ScenarioInput> loaded = load_checked_scenario(a.file, a.sets, a.cpus, a.policy, options);
  if (!loaded) return kExitBadInput;
  const scenario::Scenario& s = *loaded->scenario;
  std::optional<ExplainRun> ran;
  try {
    ran.emplace(explain_scenario(s, options, setup.since, setup.until));
  } catch (const core::TimeOverflow& e) {
    print_time_overflow(s.file, e);
    return kExitBadInput;
  }
  write_text(stdout, ran->text);
  return ran->results.system.panics.empty() ? kExitOk : kExitPanic;
}

}  // namespace

ExplainRun explain_scenario(const scenario::Scenario& s, run::Options options, core::SimTime since,
                            core::SimTime until) {
  reports::ExplainSetup setup;
  setup.since = since;
  setup.until = until;
  setup.scenario = s.name;
  setup.description = s.description;
  setup.policy = run::resolve_policy_name(s, options.policy);
  setup.xnu = s.machine.xnu == scenario::XnuRelease::r792 ? "792" : "517";
  setup.cpus = s.machine.cpus;
  setup.duration_ns = options.duration.value_or(s.duration).ns;
  setup.seed = options.seed.value_or(s.seed);
  for (const scenario::LockSpec& l : s.locks) {
    setup.lock_protocols.emplace_back(protocol_name(l.protocol));
    setup.lock_ceilings.push_back(l.ceiling.value_or(0));
  }
  for (const scenario::WorkloopSpec& w : s.workloops) {
    std::vector<std::string> ids;
    for (const scenario::EventSourceSpec& src : w.sources) ids.push_back(src.id);
    setup.workloop_sources.push_back(std::move(ids));
  }
  setup.offline_status = iokit_model::kIOReturnOffline;

  // The narrator needs the world's names, which exist once the Simulation is built; the op
  // callback reaches it through this pointer, set before the run starts.
  reports::Narrator* narrator_ptr = nullptr;
  options.op_started = [&narrator_ptr](int32_t thread, const model::Op& op, core::SimTime now) {
    if (!op.note.empty() && narrator_ptr) narrator_ptr->note(now, thread, op.note, op.pointer);
  };
  run::Simulation sim(s, options);
  reports::Narrator narrator(setup, sim.names());
  narrator_ptr = &narrator;
  sim.add_sink(&narrator);
  ExplainRun out;
  out.results = sim.run();
  out.text = narrator.text(out.results);
  return out;
}

Command add_explain_command(CLI::App& parent) {
  auto a = std::make_shared<ExplainArgs>();
  Command c;
  c.app = parent.add_subcommand("explain", "Run a scenario and tell what happened, in plain sentences (for teaching).");
  add_run_input_options(*c.app, a->file, a->policy, a->seed, a->duration, a->sets, a->cpus);
  c.app->add_option("--since", a->since, "Narrate only from this time on, e.g. 1.5s (the summary covers the whole run)");
  c.app->add_option("--until", a->until, "Narrate only before this time, e.g. 2s");
  c.run = [a] { return explain_command(*a); };
  return c;
}

}  // namespace sim::cli
