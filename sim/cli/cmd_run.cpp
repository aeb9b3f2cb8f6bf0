// `xnusim run FILE`: simulate a scenario and report (text summary, JSON, CSV, trace, --check).
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>
#include <memory>

#include <fmt/format.h>

#include "reports/csv_report.hpp"
#include "reports/json_report.hpp"
#include "reports/text_report.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/run_support.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace {

struct RunArgs {
  std::string file;
  std::string policy;
  std::optional<uint64_t> seed;
  std::string duration;
  std::string json_path;
  std::string csv_path;
  std::string trace_path;
  bool check = false;
  bool quiet = false;
};

// Opens an output: "-" is stdout. Returns nullptr and prints an error when it cannot.
std::FILE* open_output(const std::string& path) {
  if (path == "-") return stdout;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fmt::print(stderr, "xnusim: error: cannot write \"{}\": {}\n", path, std::strerror(errno));
  return f;
}

// An output file opened before the run, so that a path that cannot be written is reported
// before any simulation time is spent; closed (and flushed) when it goes out of scope.
class Output {
 public:
  bool open(const std::string& path) {
    if (path.empty()) return true;
    file_ = open_output(path);
    return file_ != nullptr;
  }
  std::FILE* file() const { return file_; }
  void write(const std::string& text) {
    if (!file_) return;
    std::fwrite(text.data(), 1, text.size(), file_);
    std::fflush(file_);
  }
  ~Output() {
    if (file_ && file_ != stdout) std::fclose(file_);
  }

 private:
  std::FILE* file_ = nullptr;
};

int run(const RunArgs& a) {
  scenario::LoadResult loaded = scenario::load_scenario_file(a.file);
  if (!loaded.scenario) {
    fmt::print(stderr, "{}", loaded.diagnostics.format());
    return kExitBadInput;
  }
  const scenario::Scenario& s = *loaded.scenario;
  if (std::string e = check_policy_name(s, a.policy); !e.empty()) {
    fmt::print(stderr, "{}\n", e);
    return kExitBadInput;
  }
  if (std::string e = check_supported(s); !e.empty()) {
    fmt::print(stderr, "{}", e);
    return kExitBadInput;
  }
  RunOptions options;
  options.progress = !a.quiet && isatty(fileno(stderr));
  options.policy = a.policy;
  options.seed = a.seed;
  if (!a.duration.empty()) {
    core::ParsedDuration d = core::parse_duration(a.duration);
    if (!d.value || d.value->ns <= 0) {
      fmt::print(stderr, "xnusim: error: --duration: {}\n",
                 d.value ? fmt::format("must be a positive duration (got \"{}\")", a.duration) : d.error);
      return kExitBadInput;
    }
    options.duration = d.value;
  }
  // Outputs that go to stdout replace the text summary there.
  bool stdout_taken = a.json_path == "-" || a.csv_path == "-" || a.trace_path == "-";
  Output trace, json, csv;
  if (!trace.open(a.trace_path) || !json.open(a.json_path) || !csv.open(a.csv_path)) return kExitBadInput;
  options.trace = trace.file();
  RunOutput out = run_scenario(s, options);
  json.write(out.json.dump(2) + "\n");
  csv.write(reports::results_to_csv(out.results));
  if (!a.quiet) {
    std::string summary = reports::text_summary(out.results);
    if (stdout_taken) {
      // Keep stdout machine-readable; the expects still reach the user.
      for (const metrics::ExpectResult& e : out.results.expect)
        fmt::print(stderr, "{} {}\n", e.ok ? "PASS" : "FAIL", e.text);
    } else {
      fmt::print("{}", summary);
    }
  }
  if (!out.results.system.panics.empty()) {
    for (const std::string& p : out.results.system.panics) fmt::print(stderr, "xnusim: {}\n", p);
    return kExitPanic;
  }
  if (a.check && !out.expects_ok) {
    size_t failed = 0;
    for (const metrics::ExpectResult& e : out.results.expect) failed += e.ok ? 0 : 1;
    fmt::print(stderr, "xnusim: {} of {} expect{} failed\n", failed, out.results.expect.size(),
               out.results.expect.size() == 1 ? "" : "s");
    return kExitExpectFailed;
  }
  return kExitOk;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto a = std::make_shared<RunArgs>();
  Command c;
  c.app = parent.add_subcommand("run", "Simulate a scenario and report latency, deadlines and CPU use.");
  c.app->add_option("scenario", a->file, "Scenario file (JSON, format v1)")->required();
  c.app->add_option("--policy", a->policy, "Scheduling policy (see `xnusim policies`); overrides the scenario's");
  c.app->add_option("--seed", a->seed, "Random seed; overrides the scenario's");
  c.app->add_option("--duration", a->duration, "Simulated time to run, e.g. 10s; overrides the scenario's");
  c.app->add_option("--json", a->json_path, "Write results as JSON to FILE (- for stdout)");
  c.app->add_option("--csv", a->csv_path, "Write per-thread results as CSV to FILE (- for stdout)");
  c.app->add_option("--trace", a->trace_path, "Write the event trace, one line per event, to FILE (- for stdout)");
  c.app->add_flag("--check", a->check, "Exit 1 if an expect in the scenario fails");
  c.app->add_flag("--quiet,-q", a->quiet, "Do not print the summary");
  c.run = [a] { return run(*a); };
  return c;
}

}  // namespace sim::cli
