// Fidelity of the `fixed` policy as textbook global fixed priority: the reference simulation on
// random task sets with distinct priorities (exact worst responses, misses and completions),
// rate and deadline monotonic results of policy-facts.md 3.3, and the difference from `xnu`'s
// own placement that docs/policies/fixed.md shows.
#include <catch2/catch.hpp>

#include "tests/policies/textbook_scenario.hpp"

using namespace testing;
using textbook::Rule;
using textbook::Task;

namespace {

Task task(int64_t c, int64_t d, int64_t t, int priority, int cpu = -1, int64_t offset = 0) {
  Task k;
  k.c = c;
  k.d = d;
  k.t = t;
  k.priority = priority;
  k.cpu = cpu;
  k.offset = offset;
  return k;
}

Observed fixed(const std::vector<Task>& s, int cpus, int64_t horizon) {
  return run_task_set(task_set_json(s, cpus, horizon), "fixed", s.size());
}

}  // namespace

TEST_CASE("fixed: random task sets on 1-4 CPUs give exactly the textbook reference's schedule",
          "[policies][fidelity]") {
  // policy-facts.md 3.1: global FP runs the m highest-priority ready jobs; partitioned FP is
  // uniprocessor FP per CPU. Distinct priorities in a random (not only rate-monotonic) order.
  RandomSetsChecked checked = check_random_sets_against_reference(1973, Rule::fixed_priority, "fixed");
  CHECK(checked.sets == 240);
  CHECK(checked.tasks_with_misses > 20);
}

TEST_CASE("fixed: random task sets on 8-16 CPUs give exactly the textbook reference's schedule",
          "[policies][fidelity]") {
  // policy-facts.md 3.1, as above, on machines large enough for the dispatcher's free-CPU set and
  // the policy's array of current priorities to be searched the fast way (its lowest priority
  // first, from Policy::kLowestFirstFrom CPUs; issue 13): more tasks than CPUs, so wakeups queue,
  // preempt the lowest-priority CPU (lowest index on ties) or find every CPU higher.
  RandomSetsChecked checked =
      check_random_sets_against_reference(2026, Rule::fixed_priority, "fixed", {8, 12, 16}, 20, true);
  CHECK(checked.sets == 60);
  CHECK(checked.tasks_with_misses > 20);
}

TEST_CASE("fixed: Dhall's effect under global rate monotonic on two CPUs", "[policies][fidelity]") {
  // Dhall and Liu 1978; policy-facts.md 3.3 check 1: t1, t2 = (2, 10, 10) above t3 = (10, 11, 11).
  // t3's jobs complete at 14, 26, 38, ... and all miss (the hand derivation is in
  // tests/policies/edf_reference_test.cpp; policy-facts.md gives 24 for the second, a slip).
  Observed o = fixed({task(2, 10, 10, 60), task(2, 10, 10, 55), task(10, 11, 11, 50)}, 2, 110);
  REQUIRE(o.tasks[2].completions.size() >= 3);
  CHECK(o.tasks[2].completions[0] == 14);
  CHECK(o.tasks[2].completions[1] == 26);
  CHECK(o.tasks[2].completions[2] == 38);
  CHECK(o.tasks[2].misses == 10);
  CHECK(o.tasks[0].worst_response == 2);
  CHECK(o.tasks[1].worst_response == 2);
}

TEST_CASE("fixed: rate and deadline monotonic results of policy-facts.md 3.3", "[policies][fidelity]") {
  SECTION("RM misses (2,5,5), (4,7,7) at U = 0.971: t2 completes at 8 (Liu and Layland 1973)") {
    Observed o = fixed({task(2, 5, 5, 50), task(4, 7, 7, 40)}, 1, 35);
    CHECK(o.tasks[1].completions.front() == 8);
    CHECK(o.tasks[1].misses > 0);
  }
  SECTION("check 4: deadline monotonic misses where EDF does not, t3 completes at 14 > 12") {
    Observed o = fixed({task(2, 4, 8, 60), task(3, 5, 10, 55), task(4, 12, 12, 50)}, 1, 120);
    CHECK(o.tasks[2].completions.front() == 14);
    CHECK(o.tasks[2].misses > 0);
  }
  SECTION("check 5: global RM on two CPUs, t3 completes at 6") {
    Observed o = fixed({task(1, 2, 2, 60), task(1, 2, 2, 55), task(3, 4, 4, 50)}, 2, 40);
    CHECK(o.tasks[2].completions.front() == 6);
    CHECK(o.tasks[2].misses > 0);
    CHECK(o.tasks[0].misses == 0);
  }
}

TEST_CASE("fixed: a woken thread displaces the lowest running thread, not the one on its last CPU",
          "[policies][fidelity]") {
  // docs/policies/fixed.md: textbook global FP (policy-facts.md 3.1) preempts low at 3 ms; xnu
  // preempts mid (tests/policies/edf_fidelity_test.cpp has xnu's numbers).
  RunOutput f = run_policy(placement_json(), "fixed");
  CHECK(f.thread("mid").response_ns.max == ms(6).ns);
  CHECK(f.thread("low").response_ns.max == ms(23).ns);
  CHECK(f.thread("high").response_ns.max == ms(6).ns);
}
