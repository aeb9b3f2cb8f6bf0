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
  RandomSetsChecked checked = check_random_sets_against_reference(9001, Rule::edf, "edf");
  CHECK(checked.sets == 240);
  CHECK(checked.tasks_with_misses > 20);  // the sets reach overload, where the tie rules matter
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

namespace {

// Three periodic deadline jobs on one CPU, all at priority 31 (their priority plays no part under
// EDF): `low` (due 100 ms) takes mutex m at 0 for 10 ms; `high` (released at 2 ms, due 22 ms)
// needs m for 1 ms; `mid` (released at 3 ms, due 53 ms) computes 20 ms without m.
std::string lock_jobs(const std::string& protocol) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "100ms", "machine": {"cpus": 1},
    "locks": [{"id": "m", "kind": "mutex", "protocol": ")" +
         protocol + R"("}], "threads": [
      {"id": "low", "mode": "fixed", "priority": 31, "period": "100ms", "program": [
        {"op": "lock", "lock": "m"}, {"op": "run", "for": "10ms"}, {"op": "unlock", "lock": "m"}]},
      {"id": "high", "mode": "fixed", "priority": 31, "period": "100ms", "deadline": "20ms", "start": "2ms",
       "program": [{"op": "lock", "lock": "m"}, {"op": "run", "for": "1ms"}, {"op": "unlock", "lock": "m"}]},
      {"id": "mid", "mode": "fixed", "priority": 31, "period": "100ms", "deadline": "50ms", "start": "3ms",
       "program": [{"op": "run", "for": "20ms"}]}]})";
}

RunOutput run_edf(const scenario::Scenario& s) {
  sim::run::Options o;
  o.policy = "edf";
  return testing::run_scenario(s, o);
}

}  // namespace

TEST_CASE("edf: a thread holding a lock promotion runs ahead of every deadline job", "[policies][fidelity]") {
  // docs/policies/edf.md: a promoted holder (promoted_pri >= 0) ranks above every deadline job,
  // like a non-preemptive critical section, so a job blocked on its lock waits at most for the
  // rest of that critical section (Baker 1991's bound for stack-based sharing; Sha, Rajkumar and
  // Lehoczky 1990 for inheritance). With "inherit" and "xnu" (the holder's promotion to its own
  // level changes no sched_pri: the policy hears of it through promotion_changed): low runs
  // [0,10) unpromoted then promoted from 2, high [10,11) (response 9), mid [11,31) (28).
  for (const char* protocol : {"inherit", "xnu"}) {
    INFO(protocol);
    RunOutput out = run_edf(load_text(lock_jobs(protocol)));
    CHECK(out.thread("high").response_ns.max == ms(9).ns);
    CHECK(out.thread("high").blocked_ns == ms(8).ns);
    CHECK(out.thread("high").deadline_misses == 0);
    CHECK(out.thread("mid").response_ns.max == ms(28).ns);
    // low's unlock at 10 hands m to high, which preempts it before its job ends (its promotion
    // is gone and its deadline is the latest): its job completes after mid's, at 31.
    CHECK(out.thread("low").response_ns.max == ms(31).ns);
  }
  // Without a protocol mid (due 53) outranks low (due 100): mid [3,23), low [23,30), high
  // [30,31): response 29 > 20, a miss; blocked 28 ms.
  RunOutput none = run_edf(load_text(lock_jobs("none")));
  CHECK(none.thread("high").response_ns.max == ms(29).ns);
  CHECK(none.thread("high").deadline_misses == 1);
  CHECK(none.thread("mid").response_ns.max == ms(20).ns);
}

TEST_CASE("edf: the bundled inversion scenarios", "[policies][fidelity]") {
  // three-threads-*: no thread has a deadline, so EDF runs them in fixed-priority order as
  // `fixed` would: without a protocol high is blocked 65 ms (48 of them inverted, behind
  // medium); with inheritance or xnu's promotion the holder runs ahead and high waits exactly the
  // 17 ms left of low's critical section (Sha, Rajkumar and Lehoczky 1990).
  auto load = [](const char* f) {
    scenario::LoadResult r = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + f);
    REQUIRE(r.scenario);
    return *r.scenario;
  };
  RunOutput none = run_edf(load("scenarios/inversion/three-threads-none.json"));
  CHECK(none.thread("high").blocked_ns == ms(65).ns);
  CHECK(none.thread("high").inversion_ns == ms(48).ns);
  for (const char* f : {"scenarios/inversion/three-threads-inherit.json", "scenarios/inversion/three-threads-xnu.json"}) {
    INFO(f);
    RunOutput out = run_edf(load(f));
    CHECK(out.thread("high").blocked_ns == ms(17).ns);
    CHECK(out.thread("high").inversion_ns == 0);
    CHECK(out.thread("high").response_ns.max == ms(23).ns);
  }
  // strategies/0-inverted: `render` has no deadline, so under EDF it runs below the audio and
  // decoder jobs and never preempts the decoder inside its critical section: no inversion and no
  // miss even with a plain mutex (under xnu and fixed: 100 misses).
  RunOutput inv = run_edf(load("scenarios/inversion/strategies/0-inverted.json"));
  CHECK(inv.thread("audio").deadline_misses == 0);
  CHECK(inv.thread("audio").inversion_ns == 0);
  CHECK(inv.thread("audio").response_ns.max == ms(2).ns);
}

TEST_CASE("edf: BW-C and Bench-10 give the reference's EDF worst responses", "[policies][fidelity]") {
  // The two fixed-priority reference sets of scenarios/basics, scheduled by deadline instead
  // (implicit deadlines, U <= 1: no miss, Liu and Layland 1973); the exact responses come from
  // the textbook reference.
  struct Set {
    const char* file;
    std::vector<Task> tasks;
    int64_t horizon;
  };
  std::vector<Set> sets = {
      {"scenarios/basics/bw-c.json", {task(3, 7, 7), task(3, 12, 12), task(5, 20, 20)}, 840},
      {"scenarios/basics/bench-10.json",
       {task(1, 5, 5), task(1, 10, 10), task(2, 20, 20), task(2, 25, 25), task(3, 40, 40), task(4, 50, 50),
        task(6, 80, 80), task(8, 100, 100), task(10, 125, 125), task(16, 200, 200)},
       2000},
  };
  for (const Set& set : sets) {
    INFO(set.file);
    scenario::LoadResult r = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + set.file);
    REQUIRE(r.scenario);
    sim::run::Options o;
    o.policy = "edf";
    o.duration = Duration{set.horizon * 1'000'000 + 1};
    RunOutput out = testing::run_scenario(*r.scenario, o);
    auto want = textbook::simulate(set.tasks, 1, Rule::edf, set.horizon);
    REQUIRE(out.results.threads.size() == set.tasks.size());
    for (size_t i = 0; i < set.tasks.size(); ++i) {
      INFO(out.results.threads[i].id);
      CHECK(out.results.threads[i].response_ns.max == want[i].worst_response * 1'000'000);
      CHECK(out.results.threads[i].deadline_misses == 0);
      CHECK(want[i].misses == 0);
    }
  }
}

TEST_CASE("edf: threads without deadlines follow textbook global FP where xnu's placement does not",
          "[policies][fidelity]") {
  // docs/policies/fixed.md: at 3 ms high wakes; xnu preempts mid on high's last CPU and mid waits
  // [3,6) behind low (xnu-facts.md 5.3: no check for a preempted thread); textbook global FP
  // (policy-facts.md 3.1), which edf applies to threads without a deadline, preempts low.
  RunOutput x = run_policy(placement_json(), "xnu");
  CHECK(x.thread("mid").response_ns.max == us(9000).ns);
  CHECK(x.thread("low").response_ns.max == ms(20).ns);
  CHECK(x.thread("high").response_ns.max == ms(6).ns);
  RunOutput e = run_policy(placement_json(), "edf");
  CHECK(e.thread("mid").response_ns.max == ms(6).ns);
  CHECK(e.thread("low").response_ns.max == ms(23).ns);
  CHECK(e.thread("high").response_ns.max == ms(6).ns);
}
