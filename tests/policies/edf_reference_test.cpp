// The textbook reference simulation (tests/policies/textbook_reference.hpp) against the
// scheduling results it must reproduce before it may judge `fixed` and `edf`: Liu and Layland
// 1973, Dhall and Liu 1978, and the worked checks of policy-facts.md 3.3.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "tests/policies/textbook_reference.hpp"

using textbook::Rule;
using textbook::Task;
using textbook::TaskResult;

namespace {

Task task(int64_t c, int64_t d, int64_t t, int priority = 0, int cpu = -1, int64_t offset = 0) {
  Task k;
  k.c = c;
  k.d = d;
  k.t = t;
  k.priority = priority;
  k.cpu = cpu;
  k.offset = offset;
  return k;
}

int64_t total_misses(const std::vector<TaskResult>& r) {
  int64_t m = 0;
  for (const TaskResult& x : r) m += x.misses;
  return m;
}

}  // namespace

TEST_CASE("reference: Liu and Layland, EDF on one CPU with implicit deadlines misses nothing up to U = 1",
          "[policies][fidelity]") {
  // Liu and Layland 1973, theorem 7: EDF schedules a set of implicit-deadline periodic tasks on
  // one CPU iff U <= 1 (policy-facts.md 3.2).
  std::vector<std::vector<Task>> sets = {
      {task(1, 4, 4), task(2, 6, 6), task(3, 8, 8)},                  // U = 0.958
      {task(1, 2, 2), task(1, 4, 4), task(1, 4, 4)},                  // U = 1
      {task(3, 5, 5), task(2, 10, 10), task(2, 10, 10)},              // U = 1
      {task(2, 5, 5), task(4, 7, 7)},                                 // U = 0.971
      {task(1, 3, 3), task(1, 3, 3), task(1, 3, 3)},                  // U = 1
      {task(2, 6, 6), task(3, 9, 9), task(3, 12, 12), task(1, 36, 36)},  // U = 0.944
  };
  for (const auto& s : sets) {
    int64_t h = textbook::hyperperiod(s);
    auto r = textbook::simulate(s, 1, Rule::edf, 3 * h);
    CHECK(total_misses(r) == 0);
    for (size_t i = 0; i < s.size(); ++i) CHECK(r[i].worst_response <= s[i].d);
  }
  // Above U = 1 some job must miss.
  auto over = textbook::simulate({task(3, 5, 5), task(3, 7, 7)}, 1, Rule::edf, 35);
  CHECK(total_misses(over) > 0);
}

TEST_CASE("reference: EDF beats rate monotonic on a set with U = 0.971", "[policies][fidelity]") {
  // (2,5,5), (4,7,7): EDF schedules it (Liu and Layland 1973); RM misses t2's first deadline:
  // t1 runs [0,2), t2 [2,5), t1 [5,7), t2 [7,8): completes at 8 > 7.
  std::vector<Task> s = {task(2, 5, 5, 2), task(4, 7, 7, 1)};
  auto rm = textbook::simulate(s, 1, Rule::fixed_priority, 35);
  CHECK(rm[1].completions.front() == 8);
  CHECK(rm[1].misses > 0);
  CHECK(total_misses(textbook::simulate(s, 1, Rule::edf, 35)) == 0);
}

TEST_CASE("reference: random implicit-deadline sets on one CPU follow Liu and Layland's bounds",
          "[policies][property]") {
  // Liu and Layland 1973: EDF iff U <= 1; RM when U <= n(2^(1/n) - 1) (sufficient).
  std::mt19937_64 rng(19730101);
  auto in = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  const int64_t periods[] = {2, 3, 4, 5, 6, 8, 10, 12, 15, 20};
  int edf_sets = 0, rm_sets = 0;
  for (int n = 0; n < 400; ++n) {
    size_t k = static_cast<size_t>(in(2, 5));
    std::vector<Task> s;
    double u = 0;
    for (size_t i = 0; i < k; ++i) {
      int64_t t = periods[in(0, 9)];
      int64_t c = in(1, t);
      s.push_back(task(c, t, t, static_cast<int>(100 - t * 4 - static_cast<int64_t>(i))));  // RM order
      u += static_cast<double>(c) / static_cast<double>(t);
    }
    int64_t h = textbook::hyperperiod(s);
    auto edf = textbook::simulate(s, 1, Rule::edf, 2 * h);
    INFO("set " << n << " U = " << u);
    if (u <= 1.0 + 1e-12) {
      ++edf_sets;
      CHECK(total_misses(edf) == 0);
    } else {
      CHECK(total_misses(edf) > 0);
    }
    double bound = static_cast<double>(k) * (std::pow(2.0, 1.0 / static_cast<double>(k)) - 1.0);
    if (u <= bound) {
      ++rm_sets;
      CHECK(total_misses(textbook::simulate(s, 1, Rule::fixed_priority, 2 * h)) == 0);
    }
  }
  CHECK(edf_sets > 50);
  CHECK(rm_sets > 10);
}

TEST_CASE("reference: Dhall's effect on two CPUs, global EDF and RM miss, partitioned EDF does not",
          "[policies][fidelity]") {
  // Dhall and Liu 1978; policy-facts.md 3.3 check 1: t1, t2 = (2, 10, 10), t3 = (10, 11, 11),
  // U = 1.309 on m = 2.
  std::vector<Task> s = {task(2, 10, 10, 3), task(2, 10, 10, 2), task(10, 11, 11, 1)};
  auto edf = textbook::simulate(s, 2, Rule::edf, 110);
  REQUIRE(!edf[2].completions.empty());
  CHECK(edf[2].completions.front() == 12);  // t1, t2 run [0,2), t3 [2,12): misses 11
  CHECK(edf[2].misses > 0);
  CHECK(edf[0].misses == 0);
  CHECK(edf[1].misses == 0);
  // Global RM (t1, t2 above t3): t3's jobs complete at 14, 26, 38, ... and every one misses.
  // Hand derivation: [0,2) t1 t2; [2,10) t3 (8 of 10); [10,12) t1 t2; [12,14) t3 -> 14.
  // Job 1 (released 11): [14,20) 6, [20,22) t1 t2, [22,26) 4 -> 26 (policy-facts.md writes 24).
  auto rm = textbook::simulate(s, 2, Rule::fixed_priority, 110);
  REQUIRE(rm[2].completions.size() >= 3);
  CHECK(rm[2].completions[0] == 14);
  CHECK(rm[2].completions[1] == 26);
  CHECK(rm[2].completions[2] == 38);
  CHECK(rm[2].misses == 10);  // all ten jobs with deadlines up to 110
  // Partitioned EDF: {t1, t2} on CPU 0, {t3} on CPU 1: worst responses 2, 4, 10, no miss.
  std::vector<Task> p = {task(2, 10, 10, 0, 0), task(2, 10, 10, 0, 0), task(10, 11, 11, 0, 1)};
  auto part = textbook::simulate(p, 2, Rule::edf, 110);
  CHECK(part[0].worst_response == 2);
  CHECK(part[1].worst_response == 4);
  CHECK(part[2].worst_response == 10);
  CHECK(total_misses(part) == 0);
}

TEST_CASE("reference: policy-facts.md 3.3 checks 2 to 5", "[policies][fidelity]") {
  SECTION("check 2: constrained deadlines, EDF worst responses 1, 4, 7") {
    // (1,2,4), (2,5,6), (3,10,12): U = 0.833, the demand bound function holds (Baruah, Rosier
    // and Howell 1990).
    std::vector<Task> s = {task(1, 2, 4), task(2, 5, 6), task(3, 10, 12)};
    auto r = textbook::simulate(s, 1, Rule::edf, 120);
    CHECK(r[0].worst_response == 1);
    CHECK(r[1].worst_response == 4);
    CHECK(r[2].worst_response == 7);
    CHECK(total_misses(r) == 0);
  }
  SECTION("check 3: U = 0.667 but dbf(3) = 4 > 3, EDF misses") {
    auto r = textbook::simulate({task(2, 3, 6), task(2, 3, 6)}, 1, Rule::edf, 6);
    CHECK(r[1].completions.front() == 4);
    CHECK(r[1].misses == 1);
    CHECK(r[0].misses == 0);
  }
  SECTION("check 4: EDF meets every deadline where deadline monotonic misses") {
    // (2,4,8), (3,5,10), (4,12,12): EDF worst responses 3, 5, 10; DM (t1 > t2 > t3): t3 at 14.
    std::vector<Task> s = {task(2, 4, 8, 3), task(3, 5, 10, 2), task(4, 12, 12, 1)};
    auto edf = textbook::simulate(s, 1, Rule::edf, 120);
    CHECK(edf[0].worst_response == 3);
    CHECK(edf[1].worst_response == 5);
    CHECK(edf[2].worst_response == 10);
    CHECK(total_misses(edf) == 0);
    auto dm = textbook::simulate(s, 1, Rule::fixed_priority, 120);
    CHECK(dm[2].completions.front() == 14);
    CHECK(dm[2].misses > 0);
  }
  SECTION("check 5: on two CPUs the earlier-release tie-break saves t3") {
    // (1,2,2) x 2 + (3,4,4), U = 1.75: at 2 t3 (deadline 4, released 0) ties with the new jobs
    // of t1, t2 (deadline 4, released 2) and wins by its earlier release: no miss, t3 worst
    // response 4. Global RM: t3 completes at 6.
    std::vector<Task> s = {task(1, 2, 2, 3), task(1, 2, 2, 2), task(3, 4, 4, 1)};
    auto edf = textbook::simulate(s, 2, Rule::edf, 40);
    CHECK(total_misses(edf) == 0);
    CHECK(edf[2].worst_response == 4);
    auto rm = textbook::simulate(s, 2, Rule::fixed_priority, 40);
    CHECK(rm[2].completions.front() == 6);
    CHECK(rm[2].misses > 0);
  }
}

TEST_CASE("reference: the horizon counts completions at the horizon and deadlines up to it", "[policies][unit]") {
  // One task (3, 3, 5) over [0, 3]: completes at 3, on time. Over [0, 8]: the second job
  // (released 5, due 8) completes at 8. Over [0, 7]: it is unfinished and not yet due.
  auto a = textbook::simulate({task(3, 3, 5)}, 1, Rule::edf, 3);
  CHECK(a[0].completions == std::vector<int64_t>{3});
  auto b = textbook::simulate({task(3, 3, 5)}, 1, Rule::edf, 8);
  CHECK(b[0].completions == std::vector<int64_t>{3, 8});
  CHECK(b[0].misses == 0);
  auto c = textbook::simulate({task(3, 3, 5)}, 1, Rule::edf, 7);
  CHECK(c[0].misses == 0);
  // Two tasks on one CPU, the second offset: (2, 2, 4) and (2, 3, 4) at offset 1: the second
  // waits for the first ([0,2)), runs [2,4), and is due at 4: on time.
  auto d = textbook::simulate({task(2, 2, 4), task(2, 3, 4, 0, -1, 1)}, 1, Rule::edf, 4);
  CHECK(d[1].completions == std::vector<int64_t>{4});
  CHECK(d[1].worst_response == 3);
  // A job unfinished at the horizon whose deadline is the horizon is a miss.
  auto e = textbook::simulate({task(2, 2, 4), task(2, 2, 4)}, 1, Rule::edf, 2);
  CHECK(e[1].misses == 1);
  // Mixed global and bound tasks are refused.
  CHECK_THROWS_AS(textbook::simulate({task(1, 2, 2, 0, 0), task(1, 2, 2)}, 2, Rule::edf, 4), std::invalid_argument);
}
