// xnusim-bench: runs the benchmark cases and prints, per case, events, wall seconds, events per
// second, simulated seconds per wall second and peak RSS. Each case runs in its own process so
// that its peak RSS is its own. Not a test: nothing here is asserted.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/bundled.hpp"
#include "bench/isolated.hpp"
#include "sim/platform/session.hpp"
#include "sim/run/simulation.hpp"
#include "sim/policies/registry.hpp"

using namespace sim;
using core::Duration;

namespace {

struct Case {
  std::string name;
  std::string what;
  scenario::Scenario (*make)();
};

model::Op run_uniform(Duration lo, Duration hi) {
  model::Op op;
  op.kind = model::OpKind::run;
  op.duration.kind = model::DurationSpec::Kind::uniform;
  op.duration.a = lo;
  op.duration.b = hi;
  return op;
}

model::Op sleep_uniform(Duration lo, Duration hi) {
  model::Op op = run_uniform(lo, hi);
  op.kind = model::OpKind::sleep;
  return op;
}

// N threads looping {run uniform 0.1-2 ms; sleep uniform 0.1-5 ms} at 16 + 8*(i % 8).
scenario::Scenario mixed(int cpus, int threads, Duration duration) {
  scenario::Scenario s;
  s.file = "bench";
  s.name = fmt::format("mixed-{}cpu-{}threads", cpus, threads);
  s.duration = duration;
  s.machine.cpus = cpus;
  for (int i = 0; i < threads; ++i) {
    scenario::ThreadSpec t;
    t.id = fmt::format("t{}", i);
    t.priority = 16 + 8 * (i % 8);
    model::Op loop;
    loop.kind = model::OpKind::loop;
    loop.forever = true;
    loop.body = {run_uniform(Duration::microseconds(100), Duration::milliseconds(2)),
                 sleep_uniform(Duration::microseconds(100), Duration::milliseconds(5))};
    t.program = {loop};
    s.threads.push_back(t);
  }
  return s;
}

// The same with machine.platform (docs/platforms.md): the energy meter listens to every event
// and SimGrid replays its load table once at the end (bench/README.md, "Platform").
scenario::Scenario with_platform(scenario::Scenario s) {
  scenario::PlatformSpec p;
  p.pstates = {scenario::PstateSpec{2e9, 60, 70, 130}};
  s.machine.platform = p;
  s.name += "-platform";
  return s;
}

// `clients` threads on 2 CPUs, each looping {io of 64 KiB on a SimGrid disk (driver time 50 us);
// run uniform 0.1-1 ms}: a transfer in flight most of the time, so the platform session talks
// to SimGrid at nearly every instant (bench/README.md, "Platform").
scenario::Scenario disk_loop(int clients, Duration duration, bool sized) {
  scenario::Scenario s;
  s.file = "bench";
  s.name = fmt::format("disk-loop-{}", sized ? "simgrid" : "service");
  s.duration = duration;
  s.machine.cpus = 2;
  scenario::PlatformSpec p;
  p.pstates = {scenario::PstateSpec{2e9, 60, 70, 130}};
  if (sized) p.disks = {scenario::DiskSpec{"d0", 1e8, 4e7}};
  s.machine.platform = p;
  scenario::WorkloopSpec w;
  w.id = "wl";
  s.workloops.push_back(w);
  scenario::DeviceSpec d;
  d.id = "disk";
  d.workloop = 0;
  d.disk = sized ? 0 : -1;
  // Without SimGrid: the time one 64 KiB read takes alone (65536 / 1e8 s).
  d.service.a = sized ? Duration{} : Duration{655'360};
  s.devices.push_back(d);
  for (int i = 0; i < clients; ++i) {
    scenario::ThreadSpec t;
    t.id = fmt::format("c{}", i);
    model::Op io;
    io.kind = model::OpKind::io;
    io.ref = 0;
    io.duration.a = Duration::microseconds(50);
    io.bytes = sized ? 65536 : 0;
    model::Op loop;
    loop.kind = model::OpKind::loop;
    loop.forever = true;
    loop.body = {io, run_uniform(Duration::microseconds(100), Duration::milliseconds(1))};
    t.program = {loop};
    s.threads.push_back(t);
  }
  return s;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> list = {
      {"bench-10", "Bench-10 task set, 1 CPU, 100 s",
       [] { return bench::bundled("scenarios/basics/bench-10.json", Duration::seconds(100)); }},
      {"mixed-50", "2 CPUs, 50 looping threads, 100 s", [] { return mixed(2, 50, Duration::seconds(100)); }},
      {"mixed-50-platform", "mixed-50 with a platform (energy)",
       [] { return with_platform(mixed(2, 50, Duration::seconds(100))); }},
      {"mixed-50-1000s", "mixed-50 for 1000 s", [] { return mixed(2, 50, Duration::seconds(1000)); }},
      {"mixed-50-1000s-platform", "mixed-50 for 1000 s with a platform (energy)",
       [] { return with_platform(mixed(2, 50, Duration::seconds(1000))); }},
      {"disk-contention", "scenarios/platform/disk-contention.json (SimGrid disk), 100 s",
       [] { return bench::bundled("scenarios/platform/disk-contention.json", Duration::seconds(100)); }},
      {"disk-loop", "4 clients looping 64 KiB reads on a SimGrid disk, 10 s",
       [] { return disk_loop(4, Duration::seconds(10), true); }},
      {"disk-loop-service", "disk-loop with a fixed service instead of SimGrid, 10 s",
       [] { return disk_loop(4, Duration::seconds(10), false); }},
      {"mixed-1000", "16 CPUs, 1000 looping threads, 10 s", [] { return mixed(16, 1000, Duration::seconds(10)); }},
      {"idle-desktop", "about 150 mostly sleeping threads, 1 simulated hour",
       [] { return bench::bundled("scenarios/basics/idle-desktop.json", Duration::seconds(3600)); }},
  };
  return list;
}

struct Figures {
  uint64_t events = 0;
  double wall_s = 0;
  double sim_s = 0;
  long peak_rss_kb = 0;
  int64_t round_trips = 0;  // to the SimGrid platform child (disks)
};

Figures run_case(const Case& c, const std::string& policy) {
  scenario::Scenario s = c.make();
  run::Options o;
  o.policy = policy;
  auto t0 = std::chrono::steady_clock::now();
  run::Results results = run::run_scenario(s, o);
  auto t1 = std::chrono::steady_clock::now();
  Figures f;
  f.events = static_cast<uint64_t>(results.system.events);
  f.wall_s = std::chrono::duration<double>(t1 - t0).count();
  f.sim_s = static_cast<double>(s.duration.ns) / 1e9;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  f.peak_rss_kb = ru.ru_maxrss;
  f.round_trips = platform::session_round_trips_total();
  return f;
}

// Runs the case in a child process and reads its figures back through a pipe.
bool run_isolated(const Case& c, const std::string& policy, Figures& f) {
  return bench::run_isolated([&c, &policy] { return run_case(c, policy); }, f);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xnusim-bench: simulator throughput on fixed benchmark cases (see bench/README.md)."};
  std::vector<std::string> policies;
  std::vector<std::string> only;
  int repeat = 1;
  app.add_option("--policy", policies, "Policies to measure (default: every registered policy)");
  app.add_option("--case", only, "Cases to run (default: all)");
  app.add_option("--repeat", repeat, "Runs per case; the fastest is reported")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (policies.empty())
    for (const policies::PolicyInfo& p : policies::registry()) policies.emplace_back(p.name);

  fmt::print("{:<12} {:<7} {:>11} {:>9} {:>12} {:>12} {:>10} {:>11}  {}\n", "case", "policy", "events", "wall s",
             "events/s", "sim s/wall s", "peak RSS", "round trips", "what");
  std::fflush(stdout);  // before any fork: a child that flushes must not print it again
  for (const std::string& policy : policies) {
    if (!policies::find_policy(policy)) {
      fmt::print(stderr, "xnusim-bench: unknown policy \"{}\"; valid: {}\n", policy, policies::policy_names_joined());
      return 2;
    }
    for (const Case& c : cases()) {
      if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
      Figures best;
      for (int i = 0; i < repeat; ++i) {
        Figures f;
        if (!run_isolated(c, policy, f)) {
          fmt::print(stderr, "xnusim-bench: case {} failed\n", c.name);
          return 3;
        }
        if (i == 0 || f.wall_s < best.wall_s) best = f;
      }
      fmt::print("{:<12} {:<7} {:>11} {:>9.3f} {:>12.0f} {:>12.1f} {:>7} MB {:>11}  {}\n", c.name, policy, best.events,
                 best.wall_s, static_cast<double>(best.events) / best.wall_s, best.sim_s / best.wall_s,
                 best.peak_rss_kb / 1024, best.round_trips, c.what);
      std::fflush(stdout);
    }
  }
  return 0;
}
