// xnusim-scale-bench: how the simulator's cost grows with the size of the workload (issue 13,
// "Cost that does not grow with the workload's size"). Each case runs in its own process so that
// its peak RSS is its own; figures are printed, never asserted.
//
// The workload is the Bench-10 task set's shape scaled to N threads: thread i has the period of
// Bench-10 task (i % 10) (5, 10, 20, 25, 40, 50, 80, 100, 125, 200 ms), a rate-monotonic fixed
// priority (60 for 5 ms down to 51 for 200 ms), and a run time chosen so that the total
// utilisation is 0.7 per CPU, whatever N is.
//
//   start-N      scenario text of N threads on 8 CPUs -> load -> run 1 ms: wall time and the
//                memory per thread (peak RSS minus the 10-thread case's, divided by N)
//   rate-N-cC    N threads on C CPUs for a fixed number of simulated jobs: events per second
//   time-S       bench-10 itself for S simulated seconds: peak RSS against simulated time (loaded
//                with bench::bundled, as xnusim-bench loads it)
//   big          64 CPUs, 100,000 threads, 1 simulated second
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/bundled.hpp"
#include "bench/isolated.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

using namespace sim;

namespace {

constexpr int64_t kPeriodsMs[10] = {5, 10, 20, 25, 40, 50, 80, 100, 125, 200};

// The scaled Bench-10 workload as scenario text (so that loading is part of what is measured).
std::string scaled_bench10(int threads, int cpus, const std::string& duration) {
  std::string s = fmt::format(
      R"({{"format": "xnusim-scenario", "version": 1, "name": "scaled-bench-10-{}", "duration": "{}", )"
      R"("machine": {{"cpus": {}}}, "threads": [)",
      threads, duration, cpus);
  s.reserve(s.size() + static_cast<size_t>(threads) * 110);
  for (int i = 0; i < threads; ++i) {
    int k = i % 10;
    int64_t period_ns = kPeriodsMs[k] * 1'000'000;
    // Utilisation 0.7 per CPU shared equally: C = T * 0.7 * cpus / N, at least 1 us.
    int64_t run_ns = std::max<int64_t>(1000, period_ns * 7 * cpus / (10 * static_cast<int64_t>(threads)));
    if (i > 0) s += ",\n";
    s += fmt::format(R"({{"id": "t{}", "mode": "fixed", "priority": {}, "period": "{}ms", )"
                     R"("program": [{{"op": "run", "for": "{}ns"}}]}})",
                     i, 60 - k, kPeriodsMs[k], run_ns);
  }
  s += "]}";
  return s;
}

struct Figures {
  uint64_t events = 0;
  double load_s = 0;  // text -> validated scenario
  double run_s = 0;   // simulation set-up and run
  double sim_s = 0;
  long peak_rss_kb = 0;
  long loaded_kb = 0;  // resident after loading (the document freed)
  long built_kb = 0;   // resident once the simulation is built, before it runs
  int threads = 0;
};

long resident_kb() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Case {
  std::string name;
  std::string what;
  int threads;
  int cpus;
  std::string duration;  // of the scaled set
  int64_t bench10_seconds;  // > 0: the bundled bench-10 scenario for this long instead
};

// Runs in the benchmark's child process. A scaled case's text is made here, not in the parent,
// and freed once loaded, as `xnusim run` frees a file's bytes once it has loaded them: the peak
// RSS is then the simulator's, not the benchmark's input held across the run.
Figures measure(const Case& c, const std::string& policy) {
  Figures f;
  std::string text = c.bench10_seconds > 0 ? std::string() : scaled_bench10(c.threads, c.cpus, c.duration);
  auto t0 = std::chrono::steady_clock::now();
  std::optional<scenario::Scenario> loaded;
  if (c.bench10_seconds > 0) {
    loaded = bench::bundled("scenarios/basics/bench-10.json", core::Duration::seconds(c.bench10_seconds));
  } else {
    scenario::LoadResult r = scenario::load_scenario_text(text, "scale");
    if (!r.scenario) {
      fmt::print(stderr, "{}", r.diagnostics.format());
      std::exit(2);
    }
    loaded = std::move(r.scenario);
  }
  std::string().swap(text);
  auto t1 = std::chrono::steady_clock::now();
  const scenario::Scenario& s = *loaded;
  f.loaded_kb = resident_kb();
  run::Options o;
  o.policy = policy;
  run::Simulation simulation(s, o);
  f.built_kb = resident_kb();
  run::Results results = simulation.run();
  auto t2 = std::chrono::steady_clock::now();
  f.events = static_cast<uint64_t>(results.system.events);
  f.load_s = std::chrono::duration<double>(t1 - t0).count();
  f.run_s = std::chrono::duration<double>(t2 - t1).count();
  f.sim_s = static_cast<double>(s.duration.ns) / 1e9;
  f.threads = static_cast<int>(s.threads.size());
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  f.peak_rss_kb = ru.ru_maxrss;
  return f;
}

std::vector<Case> cases() {
  std::vector<Case> list;
  for (int n : {10, 1000, 10000, 100000})
    list.push_back({fmt::format("start-{}", n), fmt::format("load + 1 ms run of {} threads, 8 CPUs", n), n, 8,
                    "1ms", 0});
  // The same number of jobs at every size: 10 threads for 100 s, 1,000 for 10 s, 10,000 for 1 s: every thread runs at least 5 jobs.
  for (int c : {1, 16, 64})
    for (auto [n, d] : {std::pair{10, "100s"}, std::pair{1000, "10s"}, std::pair{10000, "1s"}})
      list.push_back({fmt::format("rate-{}-c{}", n, c), fmt::format("{} threads, {} CPUs, {}", n, c, d), n, c, d, 0});
  for (int64_t seconds : {10, 1000, 100000})
    list.push_back({fmt::format("time-{}s", seconds), fmt::format("bench-10, 1 CPU, {} s", seconds), 10, 1, "",
                    seconds});
  list.push_back({"big", "64 CPUs, 100,000 threads, 1 s", 100000, 64, "1s", 0});
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xnusim-scale-bench: simulator cost against workload size (see bench/README.md, \"Scaling\")."};
  std::vector<std::string> only;
  std::string policy = "fixed";
  int repeat = 1;
  app.add_option("--case", only, "Cases to run (default: all; e.g. start-100000, rate-10000-c16, time-100000s, big)");
  app.add_option("--policy", policy, "Policy (default: fixed)");
  app.add_option("--repeat", repeat, "Runs per case; the median run (by load + run time) is reported")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  fmt::print("{:<16} {:>8} {:>11} {:>8} {:>8} {:>12} {:>10} {:>10} {:>9} {:>9}  {}\n", "case", "threads", "events",
             "load s", "run s", "events/s", "peak RSS", "KB/thread", "loaded", "built", "what");
  for (const Case& c : cases()) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    std::vector<Figures> runs;
    for (int i = 0; i < repeat; ++i) {
      Figures f;
      if (!bench::run_isolated([&] { return measure(c, policy); }, f)) {
        fmt::print(stderr, "xnusim-scale-bench: case {} failed\n", c.name);
        return 3;
      }
      runs.push_back(f);
    }
    // The median run by total time (the upper middle one for an even count): one noisy run on a
    // shared machine moves neither way.
    std::sort(runs.begin(), runs.end(),
              [](const Figures& a, const Figures& b) { return a.load_s + a.run_s < b.load_s + b.run_s; });
    const Figures& best = runs[runs.size() / 2];
    fmt::print("{:<16} {:>8} {:>11} {:>8.3f} {:>8.3f} {:>12.0f} {:>7} MB {:>10.2f} {:>6} MB {:>6} MB  {}\n", c.name,
               best.threads, best.events, best.load_s, best.run_s, static_cast<double>(best.events) / best.run_s,
               best.peak_rss_kb / 1024, static_cast<double>(best.peak_rss_kb) / best.threads, best.loaded_kb / 1024,
               best.built_kb / 1024, c.what);
    std::fflush(stdout);
  }
  return 0;
}
