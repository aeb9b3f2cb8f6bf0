// xnusim-loader-bench: times the scenario loader (JSON text -> validated Scenario, as `xnusim
// validate` does) on large inputs generated in memory, and prints wall seconds and peak RSS per
// case. Each case runs in its own process so that its peak RSS is its own. Not a test: nothing
// here is asserted (see tests/scenario/loader_scale_test.cpp for the checked counterpart).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/isolated.hpp"
#include "sim/scenario/loader.hpp"

namespace {

struct Case {
  std::string name;
  std::string what;
  std::string (*make)();
  bool valid;  // whether the input is a valid scenario (otherwise it is all errors)
};

constexpr const char* kHeader = R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms", )";

// One thread whose program is `n` ops alternating run and sleep.
std::string long_program(int n) {
  std::string s = kHeader;
  s += R"("threads": [{"id": "t", "program": [)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ",\n";
    s += i % 2 == 0 ? R"({"op": "run", "for": "1us"})" : R"({"op": "sleep", "for": "2us"})";
  }
  s += "]}]}";
  return s;
}

// `n` threads, each with a priority and a forever loop {run; sleep}.
std::string many_threads(int n) {
  std::string s = kHeader;
  s += R"("machine": {"cpus": 8}, "threads": [)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ",\n";
    s += fmt::format(R"({{"id": "t{}", "priority": {}, "program": [{{"op": "loop", "forever": true, )"
                     R"("body": [{{"op": "run", "for": "1ms"}}, {{"op": "sleep", "for": "5ms"}}]}}]}})",
                     i, 16 + 8 * (i % 8));
  }
  s += "]}";
  return s;
}

// `n` mutexes and one thread that locks and unlocks each by name: 2n references to resolve.
std::string many_locks(int n) {
  std::string s = kHeader;
  s += R"("locks": [)";
  for (int i = 0; i < n; ++i) s += fmt::format(R"({}{{"id": "m{}", "kind": "mutex"}})", i > 0 ? ",\n" : "", i);
  s += R"(], "threads": [{"id": "t", "program": [)";
  for (int i = 0; i < n; ++i)
    s += fmt::format(R"({}{{"op": "lock", "lock": "m{}"}}, {{"op": "unlock", "lock": "m{}"}})", i > 0 ? ",\n" : "", i,
                     i);
  s += "]}]}";
  return s;
}

// `n` devices in one provider chain; only the last has a work loop.
std::string device_chain(int n) {
  std::string s = kHeader;
  s += R"("workloops": [{"id": "wl"}], "devices": [)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ",\n";
    if (i + 1 < n)
      s += fmt::format(R"({{"id": "d{}", "provider": "d{}", "service": "1us"}})", i, i + 1);
    else
      s += fmt::format(R"({{"id": "d{}", "workloop": "wl", "service": "1us"}})", i);
  }
  s += R"(], "threads": [{"id": "t", "program": [{"op": "io", "device": "d0", "for": "1ms"}]}]})";
  return s;
}

// 10,000 declared locks and `n` ops naming undeclared ones: every reference is an error whose
// did-you-mean note must not cost a scan of every declared name once the report is full.
std::string many_errors(int n) {
  std::string s = kHeader;
  s += R"("locks": [)";
  for (int i = 0; i < 10000; ++i) s += fmt::format(R"({}{{"id": "m{}", "kind": "mutex"}})", i > 0 ? ",\n" : "", i);
  s += R"(], "threads": [{"id": "t", "program": [)";
  for (int i = 0; i < n; ++i) s += fmt::format(R"({}{{"op": "lock", "lock": "x{}"}})", i > 0 ? ",\n" : "", i);
  s += "]}]}";
  return s;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> list = {
      {"ops-300k", "one thread, 300,000 ops", [] { return long_program(300'000); }, true},
      {"threads-16k", "16,000 threads, each a loop of run and sleep", [] { return many_threads(16'000); }, true},
      {"threads-100k", "100,000 threads, each a loop of run and sleep", [] { return many_threads(100'000); }, true},
      {"locks-100k", "100,000 mutexes, 200,000 lock/unlock ops naming them", [] { return many_locks(100'000); },
       true},
      {"devices-20k", "20,000 devices in one provider chain", [] { return device_chain(20'000); }, true},
      {"errors-100k", "100,000 ops naming undeclared locks among 10,000", [] { return many_errors(100'000); },
       false},
  };
  return list;
}

struct Figures {
  double wall_s = 0;
  double cpu_s = 0;  // user + system: the figure to compare on a loaded machine
  long peak_rss_kb = 0;
  size_t bytes = 0;
  size_t errors = 0;
  bool as_expected = false;
};

Figures run_case(const Case& c) {
  std::string text = c.make();
  Figures f;
  f.bytes = text.size();
  struct rusage r0 {};
  getrusage(RUSAGE_SELF, &r0);
  auto t0 = std::chrono::steady_clock::now();
  sim::scenario::LoadResult r = sim::scenario::load_scenario_text(text, "bench.json");
  auto t1 = std::chrono::steady_clock::now();
  struct rusage r1 {};
  getrusage(RUSAGE_SELF, &r1);
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  f.wall_s = std::chrono::duration<double>(t1 - t0).count();
  f.cpu_s = seconds(r1.ru_utime) + seconds(r1.ru_stime) - seconds(r0.ru_utime) - seconds(r0.ru_stime);
  f.errors = r.diagnostics.count();
  f.as_expected = r.scenario.has_value() == c.valid;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  f.peak_rss_kb = ru.ru_maxrss;
  return f;
}

// Runs the case in a child process and reads its figures back through a pipe.
bool run_isolated(const Case& c, Figures& f) {
  return bench::run_isolated([&c] { return run_case(c); }, f);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xnusim-loader-bench: scenario loading time on large generated inputs (see bench/README.md)."};
  std::vector<std::string> only;
  int repeat = 1;
  app.add_option("--case", only, "Cases to run (default: all)");
  app.add_option("--repeat", repeat, "Runs per case; the fastest is reported")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  fmt::print("{:<13} {:>8} {:>8} {:>8} {:>10} {:>7}  {}\n", "case", "MB text", "cpu s", "wall s", "peak RSS",
             "errors", "what");
  for (const Case& c : cases()) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    Figures best;
    for (int i = 0; i < repeat; ++i) {
      Figures f;
      if (!run_isolated(c, f)) {
        fmt::print(stderr, "xnusim-loader-bench: case {} failed\n", c.name);
        return 3;
      }
      if (!f.as_expected) {
        fmt::print(stderr, "xnusim-loader-bench: case {} was {} by the loader\n", c.name,
                   c.valid ? "refused" : "accepted");
        return 3;
      }
      if (i == 0 || f.cpu_s < best.cpu_s) best = f;
    }
    fmt::print("{:<13} {:>8.1f} {:>8.3f} {:>8.3f} {:>7} MB {:>7}  {}\n", c.name, static_cast<double>(best.bytes) / 1e6,
               best.cpu_s, best.wall_s, best.peak_rss_kb / 1024, best.errors, c.what);
    std::fflush(stdout);
  }
  return 0;
}
