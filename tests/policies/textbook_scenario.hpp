// Runs a textbook task set (tests/policies/textbook_reference.hpp, times in ms) as an xnusim
// scenario and reads back what the reference computes: per task the worst response, the deadline
// misses and every job's completion. Shared by the fidelity tests of `fixed` and `edf`.
#pragma once

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/policies/textbook_reference.hpp"
#include "tests/support.hpp"

namespace testing {

// Which tasks get a `deadline` key (without one it is the period, or a realtime constraint).
enum class DeadlineKey { always, unless_implicit, never };

// The scenario of a task set: one periodic thread per task ("t0", "t1", ...), mode `mode`, its
// `priority` (realtime: computation 1 ms, constraint D), a `run` op of C, `deadline` D, `start` the
// offset, `cpu` when bound; zero machine costs; the run lasts horizon ms and 1 ns, so that
// completions at the horizon count and releases at it change nothing (the reference's [0, H]).
inline std::string task_set_json(const std::vector<textbook::Task>& tasks, int cpus, int64_t horizon_ms,
                                 const std::string& mode = "fixed",
                                 DeadlineKey key = DeadlineKey::always) {
  std::ostringstream o;
  o << R"({"format": "xnusim-scenario", "version": 1, "name": "task-set", "duration": ")" << horizon_ms * 1'000'000 + 1
    << R"(ns", "machine": {"cpus": )" << cpus << R"(, "xnu": "792"}, "threads": [)";
  for (size_t i = 0; i < tasks.size(); ++i) {
    const textbook::Task& k = tasks[i];
    if (i) o << ", ";
    o << R"({"id": "t)" << i << R"(", "mode": ")" << mode << '"';
    if (mode == "realtime")
      o << R"(, "realtime": {"period": ")" << k.t << R"(ms", "computation": "1ms", "constraint": ")" << k.d << R"(ms"})";
    else
      o << R"(, "priority": )" << k.priority;
    o << R"(, "period": ")" << k.t << R"(ms")";
    if (key == DeadlineKey::always || (key == DeadlineKey::unless_implicit && k.d != k.t)) o << R"(, "deadline": ")" << k.d << R"(ms")";
    if (k.offset) o << R"(, "start": ")" << k.offset << R"(ms")";
    if (k.cpu >= 0) o << R"(, "cpu": )" << k.cpu;
    o << R"(, "program": [{"op": "run", "for": ")" << k.c << R"(ms"}]})";
  }
  o << "]}";
  return o.str();
}

struct Observed {
  std::vector<textbook::TaskResult> tasks;  // times in ms, like the reference's
  bool whole_ms = true;                     // every completion fell on a whole millisecond
};

inline Observed run_task_set(const std::string& json, const std::string& policy, size_t ntasks) {
  scenario::Scenario s = load_text(json);
  RecordingSink sink;
  sim::run::Options o;
  o.policy = policy;
  RunOutput out = testing::run_scenario(s, o, {&sink});
  Observed r;
  r.tasks.resize(ntasks);
  for (const core::TraceEvent& e : sink.of(core::TraceKind::completed)) {
    if (e.time.ns % 1'000'000 != 0) r.whole_ms = false;
    r.tasks[static_cast<size_t>(e.thread)].completions.push_back(e.time.ns / 1'000'000);
  }
  for (size_t i = 0; i < ntasks; ++i) {
    const metrics::ThreadResult& t = out.thread("t" + std::to_string(i));
    if (t.response_ns.max % 1'000'000 != 0) r.whole_ms = false;
    r.tasks[i].worst_response = t.response_ns.max / 1'000'000;
    r.tasks[i].misses = t.deadline_misses;
  }
  return r;
}

// A random task set: 2-8 tasks, integer ms, periods dividing 120, C in [1, T], D in [C, T]
// (sometimes up to 2T), offsets sometimes; total utilisation at most `cpus`; distinct priorities
// in a random order; every task bound to a random CPU when `partitioned`.
// 2-8 tasks unless told (`tasks_from`-`tasks_to`); distinct priorities 20, 24, ... (20, 21, ...
// past 8 tasks), in random order.
inline std::vector<textbook::Task> random_task_set(std::mt19937_64& rng, int cpus, bool partitioned,
                                                   int64_t tasks_from = 2, int64_t tasks_to = 8) {
  auto in = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  static const int64_t periods[] = {2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 30, 40, 60};
  for (;;) {
    size_t n = static_cast<size_t>(in(tasks_from, tasks_to));
    std::vector<textbook::Task> s(n);
    int64_t u_num = 0;  // utilisation * 120
    for (textbook::Task& k : s) {
      k.t = periods[in(0, 13)];
      k.c = in(1, std::max<int64_t>(1, k.t * 3 / 4));
      k.d = in(0, 3) == 0 ? in(k.c, 2 * k.t) : in(k.c, k.t);
      k.offset = in(0, 2) == 0 ? in(0, k.t - 1) : 0;
      k.cpu = partitioned ? static_cast<int>(in(0, cpus - 1)) : -1;
      u_num += k.c * (120 / k.t);
    }
    if (u_num > 120 * cpus) continue;
    std::vector<int> pri(n);
    for (size_t i = 0; i < n; ++i) pri[i] = 20 + (n <= 8 ? 4 : 1) * static_cast<int>(i);
    std::shuffle(pri.begin(), pri.end(), rng);
    for (size_t i = 0; i < n; ++i) s[i].priority = pri[i];
    return s;
  }
}

// docs/policies/fixed.md's example of xnu's placement against textbook global FP: two CPUs,
// high (60) runs 1 ms, sleeps 2 ms, runs 3 ms; low (10) runs 20 ms; mid (50) starts at 1.5 ms
// and runs 6 ms.
inline std::string placement_json() {
  return R"({"format": "xnusim-scenario", "version": 1, "name": "placement", "duration": "30ms",
    "machine": {"cpus": 2, "xnu": "792"}, "threads": [
      {"id": "high", "mode": "fixed", "priority": 60, "program": [{"op": "run", "for": "1ms"},
        {"op": "sleep", "for": "2ms"}, {"op": "run", "for": "3ms"}]},
      {"id": "low", "mode": "fixed", "priority": 10, "program": [{"op": "run", "for": "20ms"}]},
      {"id": "mid", "mode": "fixed", "priority": 50, "start": "1500us", "program": [{"op": "run", "for": "6ms"}]}]})";
}

inline RunOutput run_policy(const std::string& json, const std::string& policy) {
  sim::run::Options o;
  o.policy = policy;
  return testing::run_scenario(load_text(json), o);
}

inline std::string describe(const std::vector<textbook::Task>& s) {
  std::ostringstream o;
  for (const textbook::Task& k : s)
    o << "(C " << k.c << ", D " << k.d << ", T " << k.t << ", O " << k.offset << ", cpu " << k.cpu << ", pri "
      << k.priority << ") ";
  return o.str();
}

struct RandomSetsChecked {
  int sets = 0;
  int tasks_with_misses = 0;  // in the reference's schedule
};

// Draws `per_cpus` random task sets for each CPU count in `cpu_counts` (default: 60 for each of
// 1-4 CPUs) from `seed` (every fourth one partitioned on 2 or more CPUs), runs each for two
// hyperperiods under xnusim's `policy` and checks that every task's worst response, misses and
// completions equal the reference's under `rule`. `more_tasks`: cpus + 1 to 2 * cpus + 4 tasks
// (else 2-8), so that a machine of many CPUs has queued threads and preemptions.
inline RandomSetsChecked check_random_sets_against_reference(uint64_t seed, textbook::Rule rule,
                                                             const std::string& policy,
                                                             std::vector<int> cpu_counts = {1, 2, 3, 4},
                                                             int per_cpus = 60, bool more_tasks = false) {
  std::mt19937_64 rng(seed);
  RandomSetsChecked checked;
  for (int cpus : cpu_counts) {
    for (int n = 0; n < per_cpus; ++n) {
      bool partitioned = cpus > 1 && n % 4 == 3;
      std::vector<textbook::Task> s = more_tasks ? random_task_set(rng, cpus, partitioned, cpus + 1, 2 * cpus + 4)
                                                 : random_task_set(rng, cpus, partitioned);
      int64_t horizon = 2 * textbook::hyperperiod(s);
      auto want = textbook::simulate(s, cpus, rule, horizon);
      Observed got = run_task_set(task_set_json(s, cpus, horizon), policy, s.size());
      INFO("cpus " << cpus << " set " << n << ": " << describe(s));
      REQUIRE(got.whole_ms);
      for (size_t i = 0; i < s.size(); ++i) {
        INFO("task t" << i);
        CHECK(got.tasks[i].worst_response == want[i].worst_response);
        CHECK(got.tasks[i].misses == want[i].misses);
        CHECK(got.tasks[i].completions == want[i].completions);
        if (want[i].misses) ++checked.tasks_with_misses;
      }
      ++checked.sets;
    }
  }
  return checked;
}

}  // namespace testing
