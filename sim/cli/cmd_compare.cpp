// `xnusim compare FILE --policies a,b [--vary PATH=V1,V2] [--seeds 1..5]`: every configuration
// (policy x each combination of --vary values x seed) of one scenario, run in parallel, then one
// table per metric with the configurations side by side (docs/compare.md).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/csv_report.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/compare_table.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/grid_args.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/core/diag.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/time.hpp"
#include "sim/policies/registry.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace {

struct CompareArgs {
  std::string file;
  GridArgs grid;
  std::optional<std::string> jobs;
  std::string json_path;
  std::string csv_path;
  std::string html_path;
  std::optional<std::string> window;
  bool quiet = false;
};

// One run of the job list.
struct Job {
  size_t column = 0;
  size_t variant = 0;  // index of the --vary combination (its scenario)
  std::string policy;
  std::optional<uint64_t> seed;
  bool html = false;  // recorded for the HTML report (the first seed of each column)
};

struct Outcome {
  std::optional<run::Results> results;
  std::string error;  // an internal error (exit 3) or a time overflow (exit 2)
  int error_code = 0;
  std::unique_ptr<reports::Timeline> timeline;  // --html
};

// Progress on stderr, on a terminal, once the work has taken a second: "N of M runs done".
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void report(size_t done, size_t total) {
    if (!enabled_) return;
    if (Clock::now() - started_ < std::chrono::seconds(1)) return;
    printed_ = true;
    eprint("\rxnusim: compare: {} of {} runs done  ", done, total);
  }
  void clear() {
    if (printed_) eprint("\r\033[K");
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  Clock::time_point started_ = Clock::now();
  bool printed_ = false;
};

int compare_command(const CompareArgs& a) {
  // Every argument is checked before the scenario is read, and the scenario (every variant)
  // before anything runs.
  std::string error;
  auto fail = [&](const std::string& e) {
    eprint("{}\n", e);
    return kExitBadInput;
  };
  std::optional<Grid> parsed = parse_grid(a.grid, error);
  if (!parsed) return fail(error);
  const Grid& grid = *parsed;
  const std::vector<Vary>& varies = grid.varies;
  const std::optional<core::Duration>& duration = grid.duration;
  std::vector<std::optional<uint64_t>> seeds = {std::nullopt};  // the scenario's own
  if (grid.seeds) seeds.assign(grid.seeds->begin(), grid.seeds->end());
  size_t jobs_wanted = std::max(1U, std::thread::hardware_concurrency());
  if (a.jobs) {
    std::optional<uint64_t> j = parse_u64(*a.jobs);
    if (!j || *j == 0 || *j > 1024)
      return fail(fmt::format("xnusim: error: -j {}: must be an integer from 1 to 1024", *a.jobs));
    jobs_wanted = static_cast<size_t>(*j);
  }
  std::optional<reports::TimeWindow> window = parse_window_option(a.window, error);
  if (!error.empty()) return fail(error);
  if (window && a.html_path.empty())
    return fail("xnusim: error: --window: only with --html FILE (it chooses what the HTML timelines show)");
  if (std::string e = check_distinct_outputs({{"--json", a.json_path}, {"--csv", a.csv_path}, {"--html", a.html_path}});
      !e.empty())
    return fail(e);

  std::vector<std::vector<size_t>> combos = vary_combinations(varies);  // the first --vary outermost
  size_t total_runs = combos.size() * grid.policies.size() * seeds.size();
  if (total_runs > kMaxRuns)
    return fail(fmt::format("xnusim: error: compare: {} runs asked for (policies x --vary values x seeds); "
                            "the limit is {}", total_runs, kMaxRuns));

  // The scenario, read once, then edited and validated once per combination.
  std::string text;
  std::string file = a.file == "-" ? "<stdin>" : a.file;
  if (a.file == "-") {
    char buf[65536];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
  } else {
    core::Diagnostics diag;
    if (!scenario::read_scenario_file(a.file, text, diag)) {
      eprint("{}", diag.format());
      return kExitBadInput;
    }
  }
  std::vector<ScenarioInput> variants;
  for (const auto& combo : combos) {
    std::vector<Override> all = grid.edits;
    for (size_t v = 0; v < varies.size(); ++v) {
      Override o;
      o.path = varies[v].path;
      o.value = varies[v].values[combo[v]];
      o.text = o.path + "=" + o.value;
      o.label = "--vary " + o.text;
      all.push_back(std::move(o));
    }
    ScenarioInput in = load_scenario_input_text(text, file, all);
    if (!in.scenario) {
      eprint("{}", in.diagnostics.format());
      return kExitBadInput;
    }
    if (std::string e = run::check_supported(*in.scenario); !e.empty()) {
      eprint("{}", e);
      return kExitBadInput;
    }
    variants.push_back(std::move(in));
  }

  // Columns: combination outer, policy inner, so that the policies sit side by side.
  std::vector<CompareColumn> columns;
  std::vector<Job> job_list;
  for (size_t vi = 0; vi < combos.size(); ++vi)
    for (const std::string& p : grid.policies) {
      CompareColumn c;
      c.policy = p;
      for (size_t v = 0; v < varies.size(); ++v) c.vary_values.push_back(varies[v].values[combos[vi][v]]);
      for (const std::optional<uint64_t>& s : seeds)
        job_list.push_back({columns.size(), vi, p, s, !a.html_path.empty() && s == seeds.front()});
      columns.push_back(std::move(c));
    }

  OutputFile json, csv, html;
  install_signal_handlers();
  for (auto [out, path] : {std::pair{&json, &a.json_path}, {&csv, &a.csv_path}, {&html, &a.html_path}})
    if (std::string e = out->open(*path); !e.empty()) return fail(e);
  bool stdout_taken = writes_to_stdout(a.json_path) || writes_to_stdout(a.csv_path) || writes_to_stdout(a.html_path);

  // --html: one window for every timeline (one time axis), chosen on the first configuration.
  if (std::string e = check_window(window, duration.value_or(variants.front().scenario->duration).ns); !e.empty())
    return fail(e);
  reports::TimeWindow shown;
  if (html.is_open()) {
    run::Options o;
    o.policy = job_list.front().policy;
    o.seed = job_list.front().seed;
    o.duration = duration;
    shown = choose_window(*variants.front().scenario, o, window);
  }

  // The workers take jobs in order; each result lands at its job's index, so the output does not
  // depend on the number of workers or their timing.
  std::vector<Outcome> outcomes(job_list.size());
  std::atomic<size_t> next{0};
  std::mutex m;
  std::condition_variable cv;
  size_t done = 0;
  auto worker = [&] {
    for (size_t i = next++; i < job_list.size(); i = next++) {
      const Job& job = job_list[i];
      const ScenarioInput& in = variants[job.variant];
      run::Options o;
      o.policy = job.policy;
      o.seed = job.seed;
      o.duration = duration;
      o.scenario_sha256 = in.sha256;
      o.sets = in.sets;
      Outcome& out = outcomes[i];
      try {
        if (job.html) {
          run::Simulation sim(*in.scenario, o);
          out.timeline = make_timeline(sim, *in.scenario, shown);
          sim.add_sink(out.timeline.get());
          out.results.emplace(sim.run());
        } else {
          out.results.emplace(run::run_scenario(*in.scenario, o));
        }
      } catch (const core::TimeOverflow& e) {
        out.error = e.pointer().empty() ? fmt::format("{}: error: {}", file, e.what())
                                        : fmt::format("{}: error: {}: {}", file, e.pointer(), e.what());
        out.error_code = kExitBadInput;
      } catch (const core::InternalError& e) {
        out.error = e.what();
        out.error_code = kExitInternal;
      } catch (const std::exception& e) {
        out.error = fmt::format("internal error: {}", e.what());
        out.error_code = kExitInternal;
      }
      {
        std::lock_guard<std::mutex> lock(m);
        ++done;
      }
      cv.notify_one();
    }
  };
  size_t workers = std::min(jobs_wanted, job_list.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(worker);
  Progress progress(!a.quiet && isatty(fileno(stderr)));
  {
    std::unique_lock<std::mutex> lock(m);
    while (done < job_list.size()) {
      cv.wait_for(lock, std::chrono::milliseconds(500));
      progress.report(done, job_list.size());
    }
  }
  for (std::thread& t : threads) t.join();
  progress.clear();

  int code = kExitOk;
  for (size_t i = 0; i < job_list.size(); ++i) {
    const Job& job = job_list[i];
    const Outcome& out = outcomes[i];
    CompareColumn& c = columns[job.column];
    std::string seed_label = job.seed ? fmt::format("seed {}", *job.seed) : "";
    auto prefix = [&] { return seed_label.empty() ? std::string() : seed_label + ": "; };
    if (!out.results) {
      c.failures.push_back(prefix() + out.error);
      code = std::max(code, out.error_code == kExitInternal ? kExitInternal : kExitBadInput);
      continue;
    }
    c.runs.push_back(&*out.results);
    for (const std::string& p : out.results->system.panics) {
      c.failures.push_back(prefix() + p);
      if (code == kExitOk) code = kExitPanic;
    }
  }

  // --json: every run's configuration and full results, in job order.
  if (json.is_open()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["format"] = "xnusim-compare";
    j["version"] = 1;
    j["scenario"] = variants.front().scenario->name;
    j["file"] = file;
    j["sha256"] = variants.front().sha256;
    j["policies"] = grid.policies;
    nlohmann::ordered_json vj = nlohmann::ordered_json::array();
    for (const Vary& v : varies) vj.push_back({{"path", v.path}, {"values", v.values}});
    j["vary"] = std::move(vj);
    nlohmann::ordered_json sj = nlohmann::ordered_json::array();
    for (const auto& s : seeds)
      if (s) sj.push_back(*s);
    j["seeds"] = std::move(sj);
    std::vector<std::string> set_texts;
    for (const Override& o : grid.edits) set_texts.push_back(o.text);
    j["sets"] = set_texts;
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (size_t i = 0; i < job_list.size(); ++i) {
      const Job& job = job_list[i];
      nlohmann::ordered_json r = nlohmann::ordered_json::object();
      r["column"] = job.column;
      r["policy"] = job.policy;
      nlohmann::ordered_json vv = nlohmann::ordered_json::object();
      for (size_t v = 0; v < varies.size(); ++v) vv[varies[v].path] = columns[job.column].vary_values[v];
      r["vary"] = std::move(vv);
      if (outcomes[i].results) {
        r["configuration"] = reports::configuration_to_json(outcomes[i].results->configuration);
        r["results"] = reports::results_to_json(*outcomes[i].results);
      } else {
        r["error"] = outcomes[i].error;
      }
      runs.push_back(std::move(r));
    }
    j["runs"] = std::move(runs);
    json.write(reports::json_text(j));  // as run --json: a histogram bucket per line
  }
  // --csv: one row per run and thread: the run's columns, then the thread's as `run --csv` has them.
  if (csv.is_open()) {
    std::string out;
    bool header = false;
    for (size_t i = 0; i < job_list.size(); ++i) {
      if (!outcomes[i].results) continue;
      const Job& job = job_list[i];
      std::string body = reports::results_to_csv(*outcomes[i].results);
      size_t nl = body.find('\n');
      if (!header) {
        out += "policy";
        for (const Vary& v : varies) out += "," + v.path;  // paths hold no comma or quote in practice
        out += ",seed," + body.substr(0, nl + 1);
        header = true;
      }
      std::string lead = job.policy;
      for (size_t v = 0; v < varies.size(); ++v) {
        const std::string& value = columns[job.column].vary_values[v];
        if (value.find_first_of(",\"\r\n") == std::string::npos) {
          lead += "," + value;
        } else {
          std::string q = "\"";
          for (char ch : value) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
          lead += "," + q + "\"";
        }
      }
      lead += fmt::format(",{},", outcomes[i].results->seed);
      for (size_t start = nl + 1; start < body.size();) {
        size_t end = body.find('\n', start);
        out += lead + body.substr(start, end - start + 1);
        start = end + 1;
      }
    }
    csv.write(out);
  }
  // --html: the configurations side by side, first seed of each, on one time axis.
  if (html.is_open()) {
    std::vector<reports::HtmlPanel> panels;
    for (size_t i = 0; i < job_list.size(); ++i) {
      if (!job_list[i].html || !outcomes[i].results || !outcomes[i].timeline) continue;
      std::string label = job_list[i].policy;
      for (size_t v = 0; v < varies.size(); ++v)
        label += ", " + vary_label(varies[v].path, columns[job_list[i].column].vary_values[v]);
      if (seeds.size() > 1) label += fmt::format(" (seed {})", outcomes[i].results->seed);
      panels.push_back(reports::HtmlPanel{label, &*outcomes[i].results, outcomes[i].timeline.get()});
    }
    if (!panels.empty()) {
      reports::HtmlOptions ho;
      ho.title = variants.front().scenario->name;
      ho.description = variants.front().scenario->description;
      ho.command = fmt::format("xnusim compare {} --policies {}", file, fmt::join(grid.policies, ","));
      for (const Override& e : grid.edits) ho.command += " --set " + e.text;
      for (const Vary& v : varies) ho.command += fmt::format(" --vary {}={}", v.path, fmt::join(v.values, ","));
      if (a.window) ho.command += " --window " + *a.window;
      html.write(reports::render_html(panels, ho));
    }
  }
  for (OutputFile* o : {&json, &csv, &html})
    if (std::string e = o->finish(); !e.empty()) return fail(e);
  {
    SignalBlock block;
    for (OutputFile* o : {&json, &csv, &html})
      if (std::string e = o->commit(); !e.empty()) return fail(e);
  }

  if (!a.quiet) {
    const scenario::Scenario& s0 = *variants.front().scenario;
    std::string head = fmt::format(
        "xnusim compare: {} ({}), {} configuration{} x {} seed{} = {} run{}, {} simulated each\n"
        "lower is better except CPU share; * the best of a row, ! worse than the best by more than 10% and "
        "0.1 ms (1 miss){}\n",
        s0.name, file, columns.size(), columns.size() == 1 ? "" : "s", seeds.size(), seeds.size() == 1 ? "" : "s",
        job_list.size(), job_list.size() == 1 ? "" : "s",
        core::format_duration(duration.value_or(s0.duration)),
        seeds.size() > 1 ? "\nacross seeds: mean ±half-width of the 95% confidence interval (Student t)" : "");
    CompareTable table;
    for (const Vary& v : varies) table.vary_paths.push_back(v.path);
    table.columns = columns;
    std::string body = head + render_compare_tables(table);
    write_text(stdout_taken ? stderr : stdout, body);
  }
  // The tables list every failure under "failed runs"; without them, stderr does.
  size_t failed = 0;
  for (const CompareColumn& c : columns)
    for (const std::string& f : c.failures) {
      ++failed;
      if (!a.quiet) continue;
      std::string label = c.policy;
      for (size_t v = 0; v < varies.size(); ++v) label += fmt::format(" {}={}", varies[v].path, c.vary_values[v]);
      eprint("xnusim: {}: {}\n", label, f);
    }
  if (failed > 0 && !a.quiet)
    eprint("xnusim: compare: {} of {} runs failed (see \"failed runs\"); the other results are complete\n", failed,
           job_list.size());
  return code;
}

}  // namespace

Command add_compare_command(CLI::App& parent) {
  auto a = std::make_shared<CompareArgs>();
  Command c;
  c.app = parent.add_subcommand("compare",
                                "Run one scenario under several policies, --vary values and seeds, and compare them "
                                "side by side.");
  c.app->add_option("scenario", a->file, "Scenario file (JSON, format v1); - reads standard input")->required();
  add_grid_options(*c.app, a->grid, "compare");
  c.app->add_option("-j,--jobs", a->jobs, "Runs at a time (default: the number of cores)");
  c.app->add_option("--json", a->json_path, "Write every run's configuration and results as JSON to FILE (- for stdout)");
  c.app->add_option("--csv", a->csv_path, "Write one row per run and thread as CSV to FILE (- for stdout)");
  c.app->add_option("--html", a->html_path,
                    "Write an HTML report with the configurations side by side on one time axis to FILE");
  c.app->add_option("--window", a->window,
                    "With --html: the time the timelines show, START..END (e.g. 0..80ms); default as for run");
  c.app->add_flag("--quiet,-q", a->quiet, "Do not print the tables");
  c.run = [a] { return compare_command(*a); };
  return c;
}

}  // namespace sim::cli
