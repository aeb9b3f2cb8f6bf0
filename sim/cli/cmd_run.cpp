// `xnusim run FILE`: simulate a scenario and report (text summary, JSON, CSV, trace, --check).
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "reports/csv_report.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/perfetto.hpp"
#include "reports/text_report.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/cli/csv_directory.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/cli/run_input.hpp"
#include "reports/trace_text.hpp"
#include "sim/core/time.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace {

struct RunArgs {
  std::string file;
  std::string policy;
  std::optional<std::string> seed;
  std::optional<std::string> duration;
  std::string json_path;
  std::string csv_path;
  std::string trace_path;
  std::string perfetto_path;
  std::string html_path;
  std::optional<std::string> window;
  std::vector<std::string> sets;
  std::optional<std::string> cpus;
  bool check = false;
  bool quiet = false;
  bool wide = false;
};


// Progress on stderr: looked at every 4096 instants; printed at most twice a second once the run
// has taken a second of wall time, on one line that is cleared at the end.
class Progress {
 public:
  void report(core::SimTime now, core::Duration end) {
    Clock::time_point t = Clock::now();
    if (t - started_ < std::chrono::seconds(1) || t - last_ < std::chrono::milliseconds(500)) return;
    last_ = t;
    printed_ = true;
    eprint("\rxnusim: simulated {} of {} ({:.0f}%)  ", core::format_duration_human(now.ns),
           core::format_duration_human(end.ns), 100.0 * static_cast<double>(now.ns) / static_cast<double>(end.ns));
  }
  void clear() {
    if (printed_) eprint("\r\033[K");
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point started_ = Clock::now(), last_ = started_;
  bool printed_ = false;
};

// The command that reproduces a run, for the HTML report's header.
std::string run_command_line(const RunArgs& a, const run::Results& r) {
  std::string out = fmt::format("xnusim run {} --policy {} --seed {} --duration {}", a.file, r.policy, r.seed,
                                core::format_duration(core::Duration{r.duration_ns}));
  for (const std::string& set : r.configuration.sets) out += " --set " + set;
  if (a.window) out += " --window " + *a.window;
  return out;
}

int run_command(const RunArgs& a) {
  // Options first: a bad option costs no loading and no simulation.
  run::Options options;
  if (!parse_seed_option(a.seed, options) || !parse_duration_option(a.duration, options)) return kExitBadInput;
  std::string window_error;
  std::optional<reports::TimeWindow> window = parse_window_option(a.window, window_error);
  if (!window_error.empty()) {
    eprint("{}\n", window_error);
    return kExitBadInput;
  }
  if (window && a.html_path.empty()) {
    eprint("xnusim: error: --window: only with --html FILE (it chooses what the HTML timeline shows)\n");
    return kExitBadInput;
  }
  // --csv DIR (a final '/' or an existing directory) writes the tables; --csv FILE one table.
  const bool csv_dir = csv_is_directory(a.csv_path);
  std::vector<std::pair<std::string, std::string>> distinct = {
      {"--json", a.json_path}, {"--trace", a.trace_path}, {"--perfetto", a.perfetto_path}, {"--html", a.html_path}};
  if (csv_dir) {
    for (const std::string& p : CsvDirectory::paths(a.csv_path)) distinct.emplace_back("--csv", p);
  } else {
    distinct.emplace_back("--csv", a.csv_path);
  }
  if (std::string e = check_distinct_outputs(distinct); !e.empty()) {
    eprint("{}\n", e);
    return kExitBadInput;
  }

  std::optional<ScenarioInput> loaded = load_checked_scenario(a.file, a.sets, a.cpus, a.policy, options);
  if (!loaded) return kExitBadInput;
  const scenario::Scenario& s = *loaded->scenario;
  if (std::string e = check_window(window, options.duration.value_or(s.duration).ns); !e.empty()) {
    eprint("{}\n", e);
    return kExitBadInput;
  }
  Progress progress;
  if (!a.quiet && isatty(fileno(stderr)))
    options.progress = [&progress](core::SimTime now, core::Duration end) { progress.report(now, end); };

  // Every output is opened before the run (an unwritable path costs no simulation); files are
  // written beside their targets and renamed at the end, so a signal or an error during the run
  // leaves earlier results untouched.
  install_signal_handlers();
  // Outputs that go to stdout ("-" or /dev/stdout) replace the text summary there.
  bool stdout_taken = writes_to_stdout(a.json_path) || writes_to_stdout(a.csv_path) || writes_to_stdout(a.trace_path) ||
                      writes_to_stdout(a.perfetto_path) || writes_to_stdout(a.html_path);
  OutputFile trace, json, csv, perfetto, html;
  CsvDirectory tables;
  const std::string no_file;
  for (auto [out, path, option] :
       {std::tuple{&trace, &a.trace_path, "--trace"}, {&json, &a.json_path, "--json"},
        {&csv, csv_dir ? &no_file : &a.csv_path, "--csv"}, {&perfetto, &a.perfetto_path, "--perfetto"},
        {&html, &a.html_path, "--html"}}) {
    if (std::string e = out->open(*path); !e.empty()) {
      eprint("{} (given to {}; choose a writable path)\n", e, option);
      return kExitBadInput;
    }
  }
  if (csv_dir) {
    if (std::string e = tables.open(a.csv_path); !e.empty()) {
      eprint("{}\n", e);
      return kExitBadInput;
    }
  }
  // --html: the timeline's window (a long run without --window is run once more first, to find
  // its worst moment), chosen before the run it records.
  reports::TimeWindow shown;
  if (html.is_open()) shown = choose_window(s, options, window);
  run::Simulation sim(s, options);
  std::optional<reports::TextTraceWriter> trace_writer;
  if (trace.is_open()) {
    trace_writer.emplace(trace.file(), sim.names());
    sim.add_sink(&*trace_writer);
  }
  std::optional<reports::PerfettoWriter> perfetto_writer;
  if (perfetto.is_open()) {
    perfetto_writer.emplace(perfetto.file(), sim.names(),
                            perfetto_config(*loaded, std::string(sim.policy_name()), sim.seed(), sim.duration().ns));
    sim.add_sink(&*perfetto_writer);
  }
  std::unique_ptr<reports::Timeline> timeline;
  if (html.is_open()) {
    timeline = make_timeline(sim, s, shown);
    sim.add_sink(timeline.get());
  }
  std::optional<reports::JobsCsvWriter> jobs_writer;
  if (tables.is_open()) {
    jobs_writer.emplace(tables.jobs(), sim.names());
    sim.add_sink(&*jobs_writer);
  }
  // A time past int64 nanoseconds is bad input (exit 2), not an internal error: the loader caps
  // every duration literal, so only a random draw (an exponential or normal tail) gets here, and
  // the dispatcher names the op that drew it. The destructors remove the temporaries.
  std::optional<run::Results> ran;
  try {
    ran.emplace(sim.run());
  } catch (const core::TimeOverflow& e) {
    progress.clear();
    print_time_overflow(s.file, e);
    return kExitBadInput;
  }
  const run::Results& results = *ran;
  progress.clear();
  trace_writer.reset();  // flushes; the stream is closed below
  perfetto_writer.reset();
  jobs_writer.reset();
  json.write(reports::results_to_json_text(results));
  csv.write(reports::results_to_csv(results));
  if (html.is_open()) {
    reports::HtmlOptions ho;
    ho.title = s.name;
    ho.description = s.description;
    ho.command = run_command_line(a, results);
    html.write(reports::render_html({reports::HtmlPanel{results.policy, &results, timeline.get()}}, ho));
  }
  if (tables.is_open()) tables.write_tables(results);
  // Every output is complete and closed before any is renamed: a failed write leaves all the
  // earlier files as they were (the destructors remove the temporaries).
  const std::pair<OutputFile*, const char*> outputs[] = {
      {&trace, "--trace"}, {&json, "--json"}, {&csv, "--csv"}, {&perfetto, "--perfetto"}, {&html, "--html"}};
  for (auto [o, option] : outputs) {
    if (std::string e = o->finish(); !e.empty()) {
      eprint("{} (given to {})\n", e, option);
      return kExitBadInput;
    }
  }
  if (std::string e = tables.finish(); !e.empty()) {
    eprint("{}\n", e);
    return kExitBadInput;
  }
  {
    SignalBlock block;  // a signal now waits until every output is in place
    for (auto [o, option] : outputs) {
      if (std::string e = o->commit(); !e.empty()) {
        eprint("{} (given to {})\n", e, option);
        return kExitBadInput;
      }
    }
    if (std::string e = tables.commit(); !e.empty()) {
      eprint("{}\n", e);
      return kExitBadInput;
    }
  }
  if (!a.quiet) {
    if (stdout_taken) {
      // Keep stdout machine-readable; the warnings and the expects still reach the user.
      eprint("{}", reports::warnings(results));
      for (const metrics::ExpectResult& e : results.expect) eprint("{} {}\n", e.ok ? "PASS" : "FAIL", e.text);
    } else {
      write_text(stdout, reports::text_summary(results, {.wide = a.wide}));
    }
  }
  if (!results.system.panics.empty()) {
    for (const std::string& p : results.system.panics) eprint("xnusim: {}\n", p);
    return kExitPanic;
  }
  if (a.check && !run::expects_ok(results)) {
    size_t failed = 0;
    for (const metrics::ExpectResult& e : results.expect) {
      failed += e.ok ? 0 : 1;
      if (!e.ok && a.quiet) eprint("FAIL {}\n", e.text);  // otherwise the summary showed it
    }
    eprint("xnusim: {} of {} expect{} failed\n", failed, results.expect.size(),
           results.expect.size() == 1 ? "" : "s");
    return kExitExpectFailed;
  }
  return kExitOk;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto a = std::make_shared<RunArgs>();
  Command c;
  c.app = parent.add_subcommand("run", "Simulate a scenario and report latency, deadlines and CPU use.");
  add_run_input_options(*c.app, a->file, a->policy, a->seed, a->duration, a->sets, a->cpus);
  c.app->add_option("--json", a->json_path, "Write results as JSON to FILE (- for stdout)");
  c.app->add_option("--csv", a->csv_path, "Write per-thread results as CSV to FILE (- for stdout); a DIR (ending in / or existing) gets the tables threads.csv, jobs.csv, ...");
  c.app->add_option("--trace", a->trace_path, "Write the event trace, one line per event, to FILE (- for stdout)");
  c.app->add_option("--perfetto", a->perfetto_path,
                    "Write a Chrome JSON trace for ui.perfetto.dev or chrome://tracing to FILE (- for stdout)");
  c.app->add_option("--html", a->html_path,
                    "Write a self-contained HTML report (timeline, priorities, latency plots, tables) to FILE");
  c.app->add_option("--window", a->window,
                    "With --html: the time the timeline shows, START..END (e.g. 4.2s..4.3s); default: the whole "
                    "run up to 250 ms, else around its first deadline miss or worst latency");
  c.app->add_flag("--check", a->check, "Exit 1 if an expect in the scenario fails");
  c.app->add_flag("--quiet,-q", a->quiet, "Do not print the summary (--check still prints the expects that failed)");
  c.app->add_flag("--wide", a->wide, "Show every column of the summary at full precision (default: fit 100 columns)");
  c.run = [a] { return run_command(*a); };
  return c;
}

}  // namespace sim::cli
