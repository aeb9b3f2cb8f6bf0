// Fidelity of the `edf` policy: the textbook reference simulation on random task sets (exact
// worst responses, misses and completions), Liu and Layland 1973, Dhall's effect and the worked
// checks of policy-facts.md 3.3, all through xnusim scenarios.
#include <catch2/catch.hpp>

#include "tests/policies/textbook_scenario.hpp"

using namespace testing;
using textbook::Rule;
using textbook::Task;

namespace {

Task task(int64_t c, int64_t d, int64_t t, int priority = 31, int cpu = -1, int64_t offset = 0) {
  Task k;
  k.c = c;
  k.d = d;
  k.t = t;
  k.priority = priority;
  k.cpu = cpu;
  k.offset = offset;
  return k;
}

// xnusim under `edf` over [0, horizon] ms.
Observed edf(const std::vector<Task>& s, int cpus, int64_t horizon, DeadlineKey key = DeadlineKey::always) {
  return run_task_set(task_set_json(s, cpus, horizon, "fixed", key), "edf", s.size());
}

int64_t misses(const Observed& o) {
  int64_t m = 0;
  for (const auto& t : o.tasks) m += t.misses;
  return m;
}

}  // namespace

TEST_CASE("edf: random task sets on 1-4 CPUs give exactly the textbook reference's schedule",
          "[policies][fidelity]") {
  // policy-facts.md 3.1: global EDF runs the m ready jobs with the earliest absolute deadlines
  // (ties: earlier release, then the task declared first); partitioned EDF is uniprocessor EDF
  // per CPU. The reference (tests/policies/textbook_reference.cpp) computes it independently.
  std::mt19937_64 rng(9001);
  int sets = 0, with_misses = 0;
  for (int cpus = 1; cpus <= 4; ++cpus) {
    for (int n = 0; n < 60; ++n) {
      bool partitioned = cpus > 1 && n % 4 == 3;
      std::vector<Task> s = random_task_set(rng, cpus, partitioned);
      int64_t horizon = 2 * textbook::hyperperiod(s);
      auto want = textbook::simulate(s, cpus, Rule::edf, horizon);
      Observed got = edf(s, cpus, horizon);
      INFO("cpus " << cpus << " set " << n << ": " << describe(s));
      REQUIRE(got.whole_ms);
      for (size_t i = 0; i < s.size(); ++i) {
        INFO("task t" << i);
        CHECK(got.tasks[i].worst_response == want[i].worst_response);
        CHECK(got.tasks[i].misses == want[i].misses);
        CHECK(got.tasks[i].completions == want[i].completions);
        if (want[i].misses) ++with_misses;
      }
      ++sets;
    }
  }
  CHECK(sets == 240);
  CHECK(with_misses > 20);  // the sets reach overload, where the tie rules matter
}

TEST_CASE("edf: Liu and Layland, one CPU and implicit deadlines, no miss up to U = 1", "[policies][fidelity]") {
  // Liu and Layland 1973, theorem 7 (policy-facts.md 3.2). `deadline` is omitted: it defaults
  // to the period.
  std::vector<std::vector<Task>> sets = {
      {task(1, 4, 4), task(2, 6, 6), task(3, 8, 8)},          // U = 0.958
      {task(1, 2, 2), task(1, 4, 4), task(1, 4, 4)},          // U = 1
      {task(3, 5, 5), task(2, 10, 10), task(2, 10, 10)},      // U = 1
      {task(2, 5, 5, 50), task(4, 7, 7, 40)},                 // U = 0.971: RM misses it
  };
  for (const auto& s : sets) {
    Observed o = edf(s, 1, 2 * textbook::hyperperiod(s), DeadlineKey::unless_implicit);
    CHECK(misses(o) == 0);
    for (size_t i = 0; i < s.size(); ++i) CHECK(o.tasks[i].worst_response <= s[i].d);
  }
}

TEST_CASE("edf: Dhall's effect, global EDF misses on two CPUs at U = 1.31, partitioned EDF does not",
          "[policies][fidelity]") {
  // Dhall and Liu 1978; policy-facts.md 3.3 check 1.
  std::vector<Task> s = {task(2, 10, 10), task(2, 10, 10), task(10, 11, 11)};
  Observed g = edf(s, 2, 110);
  REQUIRE(!g.tasks[2].completions.empty());
  CHECK(g.tasks[2].completions.front() == 12);  // t1, t2 run [0,2), t3 [2,12): due 11
  CHECK(g.tasks[2].misses > 0);
  CHECK(g.tasks[0].misses == 0);
  CHECK(g.tasks[1].misses == 0);
  std::vector<Task> p = {task(2, 10, 10, 31, 0), task(2, 10, 10, 31, 0), task(10, 11, 11, 31, 1)};
  Observed q = edf(p, 2, 110);
  CHECK(q.tasks[0].worst_response == 2);
  CHECK(q.tasks[1].worst_response == 4);
  CHECK(q.tasks[2].worst_response == 10);
  CHECK(misses(q) == 0);
}

TEST_CASE("edf: policy-facts.md 3.3 checks 2 to 5", "[policies][fidelity]") {
  SECTION("check 2: constrained deadlines on one CPU, worst responses 1, 4, 7") {
    Observed o = edf({task(1, 2, 4), task(2, 5, 6), task(3, 10, 12)}, 1, 120);
    CHECK(o.tasks[0].worst_response == 1);
    CHECK(o.tasks[1].worst_response == 4);
    CHECK(o.tasks[2].worst_response == 7);
    CHECK(misses(o) == 0);
  }
  SECTION("check 3: U = 0.667 but infeasible, the second task completes at 4, due 3") {
    Observed o = edf({task(2, 3, 6), task(2, 3, 6)}, 1, 6);
    CHECK(o.tasks[1].completions == std::vector<int64_t>{4});
    CHECK(o.tasks[1].misses == 1);
  }
  SECTION("check 4: EDF meets every deadline, worst responses 3, 5, 10") {
    Observed o = edf({task(2, 4, 8), task(3, 5, 10), task(4, 12, 12)}, 1, 120);
    CHECK(o.tasks[0].worst_response == 3);
    CHECK(o.tasks[1].worst_response == 5);
    CHECK(o.tasks[2].worst_response == 10);
    CHECK(misses(o) == 0);
  }
  SECTION("check 5: two CPUs, the earlier release wins the deadline tie, no miss") {
    Observed o = edf({task(1, 2, 2), task(1, 2, 2), task(3, 4, 4)}, 2, 40);
    CHECK(misses(o) == 0);
    CHECK(o.tasks[2].worst_response == 4);
  }
}

TEST_CASE("edf: the next job of an overrunning thread gives way to an earlier deadline at once",
          "[policies][unit]") {
  // a = (C 5, D 4, T 4) overruns: job 0 runs [0,5) (b's deadline 7 is later), completes at 5,
  // late. Job 1 (released 4, due 8) starts at once, but b (released 1, due 7) now comes first:
  // b runs [5,6), then a's job 1 [6,11). The reference agrees.
  std::vector<Task> s = {task(5, 4, 4), task(1, 6, 100, 31, -1, 1)};
  Observed o = edf(s, 1, 11);
  CHECK(o.tasks[1].completions == std::vector<int64_t>{6});
  CHECK(o.tasks[0].completions == std::vector<int64_t>{5, 11});
  auto want = textbook::simulate(s, 1, Rule::edf, 11);
  CHECK(want[1].completions == o.tasks[1].completions);
  CHECK(want[0].completions == o.tasks[0].completions);
}

TEST_CASE("edf: a realtime thread without a deadline is scheduled by its constraint", "[policies][unit]") {
  // Two realtime threads, one CPU, both released at 0 with period 10 ms: r0 (C 3, constraint 8)
  // and r1 (C 3, constraint 4). Without `deadline` EDF uses the constraint: r1 (due 4) runs
  // first, [0,3), then r0 [3,6). Misses are counted against `deadline` (the period, 10): none.
  std::vector<Task> s = {task(3, 8, 10), task(3, 4, 10)};
  Observed o = run_task_set(task_set_json(s, 1, 20, "realtime", DeadlineKey::never), "edf", 2);
  CHECK(o.tasks[1].completions == std::vector<int64_t>{3, 13});
  CHECK(o.tasks[0].completions == std::vector<int64_t>{6, 16});
  CHECK(misses(o) == 0);
}

TEST_CASE("edf: threads without a deadline run below every deadline job, in fixed-priority order",
          "[policies][unit]") {
  // One CPU: `job` (fixed 10, period 10 ms, C 4) and two aperiodic threads without deadline,
  // `hi` (fixed 80, 3 ms) and `lo` (fixed 40, 3 ms), all from 0. Textbook EDF with background
  // threads: job [0,4), hi [4,7), lo [7,10).
  std::string json = R"({"format": "xnusim-scenario", "version": 1, "duration": "20ms",
    "machine": {"cpus": 1}, "threads": [
      {"id": "lo", "mode": "fixed", "priority": 40, "program": [{"op": "run", "for": "3ms"}]},
      {"id": "hi", "mode": "fixed", "priority": 80, "program": [{"op": "run", "for": "3ms"}]},
      {"id": "job", "mode": "fixed", "priority": 10, "period": "10ms", "program": [{"op": "run", "for": "4ms"}]}]})";
  scenario::Scenario s = load_text(json);
  sim::run::Options o;
  o.policy = "edf";
  RunOutput out = testing::run_scenario(s, o);
  CHECK(out.thread("job").response_ns.max == ms(4).ns);
  CHECK(out.thread("hi").response_ns.max == ms(7).ns);
  CHECK(out.thread("lo").response_ns.max == ms(10).ns);
}
