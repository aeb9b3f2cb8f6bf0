// `xnusim replay`: runs a scenario on real pinned threads (sim/calibration), computes the same
// results from what they recorded, and prints them beside the simulation's. Linux only.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/trace_text.hpp"
#include "sim/calibration/replay.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/run_input.hpp"

namespace sim::cli {
namespace {

std::string ms(int64_t ns) { return fmt::format("{:.3f} ms", double(ns) / 1e6); }
std::string diff(int64_t real, int64_t sim) {
  return fmt::format("{}{:.3f} ms", real >= sim ? "+" : "-", double(real >= sim ? real - sim : sim - real) / 1e6);
}

}  // namespace

// The side-by-side table: per thread, simulated vs real response, latency, blocked and
// inversion time.
std::string replay_table(const run::Results& sim, const run::Results& real, size_t threads) {
  std::string s = fmt::format("{:<12} {:<16} {:>14} {:>14} {:>14}\n", "thread", "metric", "simulated",
                              "real", "real - sim");
  // The scenario's threads only (a simulated world may add its own, such as the tick thread).
  for (size_t i = 0; i < threads && i < sim.threads.size() && i < real.threads.size(); ++i) {
    const metrics::ThreadResult& a = sim.threads[i];
    const metrics::ThreadResult& b = real.threads[i];
    const std::pair<const char*, std::pair<int64_t, int64_t>> rows[] = {
        {"response max", {a.response_ns.max, b.response_ns.max}},
        {"response p50", {a.response_ns.p50, b.response_ns.p50}},
        {"latency p50", {a.latency_ns.p50, b.latency_ns.p50}},
        {"latency max", {a.latency_ns.max, b.latency_ns.max}},
        {"blocked", {a.blocked_ns, b.blocked_ns}},
        {"inversion", {a.inversion_ns, b.inversion_ns}},
    };
    for (const auto& [name, v] : rows)
      s += fmt::format("{:<12} {:<16} {:>14} {:>14} {:>14}\n", a.id, name, ms(v.first), ms(v.second),
                       diff(v.second, v.first));
    s += fmt::format("{:<12} {:<16} {:>14} {:>14} {:>14}\n", a.id, "jobs / misses",
                     fmt::format("{} / {}", a.jobs, a.deadline_misses),
                     fmt::format("{} / {}", b.jobs, b.deadline_misses), "");
  }
  return s;
}

Command add_replay_command(CLI::App& parent) {
  struct Args {
    std::string file, policy, json_path, html_path, trace_path, perfetto_path;
    std::optional<std::string> seed, duration, cpus;
    std::vector<std::string> sets;
    bool all_cpus = false;
  };
  auto a = std::make_shared<Args>();
  Command c;
  c.app = parent.add_subcommand(
      "replay",
      "Run a scenario's threads as real pinned threads on this machine (SCHED_FIFO for fixed and "
      "realtime threads, SCHED_OTHER for timeshare ones; docs/calibration.md) and print the "
      "simulation and reality side by side. Linux only.");
  c.app->add_option("scenario", a->file, "Scenario file (JSON, format v1)")->required();
  c.app->add_option("--policy", a->policy, "Policy of the simulated side (default: the scenario's)");
  c.app->add_option("--seed", a->seed, "Random seed (random durations draw the same values on both sides)");
  c.app->add_option("--duration", a->duration, "How long to run, e.g. 2s; overrides the scenario's");
  c.app->add_option("--set", a->sets, "Edit the scenario before the run: PATH=VALUE (repeatable)");
  c.app->add_option("--cpus", a->cpus,
                    "Real CPUs for the simulated CPUs 0, 1, ..., e.g. 1 or 0,1 (default: the last "
                    "ones; one CPU is always left to SCHED_OTHER unless --all-cpus)");
  c.app->add_flag("--all-cpus", a->all_cpus, "Allow --cpus to take every CPU");
  c.app->add_option("--json", a->json_path, "Write the replay's results as JSON to FILE (- for stdout)");
  c.app->add_option("--html", a->html_path, "Write the replay's HTML report to FILE");
  c.app->add_option("--trace", a->trace_path, "Write the replay's trace, one event a line, to FILE");
  c.app->add_option("--perfetto", a->perfetto_path,
                    "Write the replay's Chrome JSON trace for ui.perfetto.dev or chrome://tracing to FILE");
  c.run = [a] {
    // Ctrl-C before or after the real run removes the outputs' temporaries; during it, the
    // replay's own handler stops the threads and the results cover what ran.
    install_signal_handlers();
    run::Options options;
    if (!parse_seed_option(a->seed, options) || !parse_duration_option(a->duration, options))
      return kExitBadInput;
    std::optional<ScenarioInput> loaded =
        load_checked_scenario(a->file, a->sets, std::nullopt, a->policy, options);
    if (!loaded) return kExitBadInput;
    const scenario::Scenario& s = *loaded->scenario;
    std::vector<std::string> refused = calibration::replay_refusals(s);
    if (!refused.empty()) {
      eprint("{}: error: this scenario cannot be replayed on real threads:\n", s.file);
      for (const std::string& r : refused) eprint("  {}\n", r);
      eprint("  note: replay runs run, sleep, periods, loop, lock/unlock (mutexes), wait/signal, "
             "yield and set_priority; docs/calibration.md lists what it maps\n");
      return kExitBadInput;
    }
    calibration::CpuChoice choice;
    if (std::string e = calibration::choose_cpus(a->cpus, a->all_cpus,
                                                 static_cast<size_t>(s.machine.cpus), choice);
        !e.empty()) {
      eprint("xnusim: error: --cpus: {}\n  note: list real CPUs as 0,1 or 0-1; see `nproc`\n", e);
      return kExitBadInput;
    }
    if (choice.cpus.size() < static_cast<size_t>(s.machine.cpus)) {
      eprint("xnusim: error: --cpus: the scenario has {} CPUs but only {} real CPU(s) are given "
             "({})\n  note: give one real CPU per simulated CPU (with --all-cpus to use every "
             "CPU), or lower machine.cpus with --set machine.cpus=N\n",
             s.machine.cpus, choice.cpus.size(), fmt::join(choice.cpus, ","));
      return kExitBadInput;
    }
    choice.cpus.resize(static_cast<size_t>(s.machine.cpus));
    if (std::string e = check_distinct_outputs(
            {{"--json", a->json_path}, {"--html", a->html_path}, {"--trace", a->trace_path},
             {"--perfetto", a->perfetto_path}});
        !e.empty()) {
      eprint("{}\n", e);
      return kExitBadInput;
    }
    OutputFile json, html, trace, perfetto;
    for (auto [out, path] : {std::pair{&json, &a->json_path}, {&html, &a->html_path}, {&trace, &a->trace_path},
                             {&perfetto, &a->perfetto_path}}) {
      if (path->empty()) continue;
      if (std::string e = out->open(*path); !e.empty()) {
        eprint("{}\n", e);
        return kExitBadInput;
      }
    }
    // The simulated side first (deterministic, quick), then the real one.
    run::Simulation simulated(s, options);
    run::Results sim_results = simulated.run();

    calibration::ReplayOptions ro;
    ro.duration = simulated.duration();
    ro.cpus = choice.cpus;
    ro.spare = choice.spare;
    calibration::ReplayRun real = calibration::replay(s, ro);
    run::Simulation recorded(s, options);
    std::optional<reports::TextTraceWriter> trace_writer;
    if (trace.is_open()) {
      trace_writer.emplace(trace.file(), recorded.names());
      recorded.add_sink(&*trace_writer);
    }
    std::optional<reports::PerfettoWriter> perfetto_writer;
    if (perfetto.is_open()) {
      perfetto_writer.emplace(perfetto.file(), recorded.names(),
                              perfetto_config(*loaded, "replay (real threads)", simulated.seed(), real.end_ns));
      recorded.add_sink(&*perfetto_writer);
    }
    std::unique_ptr<reports::Timeline> timeline;
    if (html.is_open()) {
      timeline = make_timeline(recorded, s, reports::TimeWindow{0, real.end_ns});
      recorded.add_sink(timeline.get());
    }
    run::Results real_results = recorded.run_recorded(real.events, core::SimTime{real.end_ns});
    trace_writer.reset();
    perfetto_writer.reset();
    for (const std::string& w : real.warnings) eprint("xnusim: warning: {}\n", w);
    if (real.interrupted)
      eprint("xnusim: warning: the replay was {} after {:.3f} s; the results cover what ran\n",
             real.watchdog ? "ended by the watchdog" : "interrupted", double(real.end_ns) / 1e9);
    if (json.is_open()) {
      // The results as a simulation's, plus how the real run went (docs/results-format.md).
      nlohmann::ordered_json doc = reports::results_to_json(real_results);
      nlohmann::ordered_json how = nlohmann::ordered_json::object();
      how["real_cpus"] = choice.cpus;
      how["scheduling"] = real.sched_fifo ? "SCHED_FIFO" : "SCHED_OTHER";
      how["interrupted"] = real.interrupted;
      how["watchdog"] = real.watchdog;
      how["lost_records"] = real.dropped;
      how["warnings"] = real.warnings;
      doc["replay"] = std::move(how);
      json.write(reports::json_text(doc));
    }
    if (html.is_open()) {
      reports::HtmlOptions ho;
      ho.title = s.name + " (replayed on real threads)";
      ho.description = s.description;
      ho.command = "xnusim replay " + a->file;
      html.write(reports::render_html({reports::HtmlPanel{"simulated (" + sim_results.policy + ")", &sim_results, nullptr},
                                       reports::HtmlPanel{"real", &real_results, timeline.get()}},
                                      ho));
    }
    for (OutputFile* o : {&json, &html, &trace, &perfetto}) {
      if (std::string e = o->commit(); !e.empty()) {
        eprint("{}\n", e);
        return kExitBadInput;
      }
    }
    if (!(json.is_open() && writes_to_stdout(a->json_path))) {
      oprint("replay of {} on real CPU(s) {} ({}), {:.3f} s; simulated with policy {}\n", s.name,
             fmt::join(choice.cpus, ","), real.sched_fifo ? "SCHED_FIFO" : "SCHED_OTHER fallback",
             double(real.end_ns) / 1e9, sim_results.policy);
      oprint("{}", replay_table(sim_results, real_results, s.threads.size()));
    }
    return kExitOk;
  };
  return c;
}

}  // namespace sim::cli
