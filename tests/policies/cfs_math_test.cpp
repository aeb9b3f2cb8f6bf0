// The integer arithmetic of Linux 6.5 CFS (sim/policies/cfs_math) against the figures of
// policy-facts.md 2.1-2.3 and 2.7 check 1, which a model of the same kernel code computed.
#include <catch2/catch.hpp>

#include "sim/policies/cfs_math.hpp"

using namespace sim::policies::cfs;

namespace {

// The slice of one of `n` queued nice-0 spinners on 1 CPU (sched_slice with the entity queued).
uint64_t nice0_slice(unsigned n) {
  return sched_slice(tunables_for(1), n, n * kNice0Load, nice_load(0));
}

}  // namespace

TEST_CASE("cfs: the weight tables are Linux's, nice 0 weighs 1024 and wmult is 2^32 / weight",
          "[policies][unit]") {
  // policy-facts.md 2.2: weight[nice 0] = 1024, nice 5 = 335; wmult = 2^32 / weight.
  CHECK(kPrioToWeight[20] == 1024);
  CHECK(kPrioToWeight[25] == 335);
  CHECK(kPrioToWeight[0] == 88761);
  CHECK(kPrioToWeight[39] == 15);
  CHECK(kPrioToWmult[20] == 4194304);
  CHECK(kPrioToWmult[25] == 12820798);
  for (size_t i = 0; i < 40; ++i) {
    double exact = 4294967296.0 / kPrioToWeight[i];
    CHECK(std::abs(static_cast<double>(kPrioToWmult[i]) - exact) <= 1.0);
  }
  CHECK(nice_load(0).weight == kNice0Load);
  CHECK(nice_load(5).weight == 335u << 10);
  CHECK(nice_load(-30).weight == nice_load(-20).weight);  // clamped
}

TEST_CASE("cfs: __calc_delta truncates as the kernel does (6 ms x 1024/2048 = 2,999,998 ns)",
          "[policies][unit]") {
  // policy-facts.md 2.2.
  CHECK(calc_delta(6'000'000, kNice0Load, LoadWeight{2 * kNice0Load, 0}) == 2'999'998);
  // calc_delta_fair: unchanged for nice 0; nice 5: 1 ms -> 3,056,716 ns; nice -5: 328,099 ns.
  CHECK(calc_delta_fair(1'000'000, nice_load(0)) == 1'000'000);
  CHECK(calc_delta_fair(1'000'000, nice_load(5)) == 3'056'716);
  CHECK(calc_delta_fair(1'000'000, nice_load(-5)) == 328'099);
  CHECK(scale_load_down(0) == 0);
  CHECK(scale_load_down(1) == 2);
  CHECK(scale_load_down(kNice0Load) == 1024);
}

TEST_CASE("cfs: tunables scale by 1 + ilog2(min(ncpus, 8))", "[policies][unit]") {
  // policy-facts.md 2.1: 1 CPU x1, 2-3 x2, 4-7 x3, >= 8 x4.
  CHECK(tunable_factor(1) == 1);
  CHECK(tunable_factor(2) == 2);
  CHECK(tunable_factor(3) == 2);
  CHECK(tunable_factor(4) == 3);
  CHECK(tunable_factor(7) == 3);
  CHECK(tunable_factor(8) == 4);
  CHECK(tunable_factor(64) == 4);
  Tunables t2 = tunables_for(2);
  CHECK(t2.latency == 12'000'000);
  CHECK(t2.min_granularity == 1'500'000);
  CHECK(t2.wakeup_granularity == 2'000'000);
  Tunables t8 = tunables_for(16);
  CHECK(t8.latency == 24'000'000);
  CHECK(t8.min_granularity == 3'000'000);
  CHECK(t8.wakeup_granularity == 4'000'000);
}

TEST_CASE("cfs: check 1, the slices of N nice-0 spinners on 1 CPU are exact", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 1: N=1 5,999,998; 2 2,999,998; 3 1,999,999; 4 1,499,998;
  // 5 1,199,998; N >= 8: 750,000 (period N x 0.75 ms from N = 9, BASE_SLICE floor).
  CHECK(nice0_slice(1) == 5'999'998);
  CHECK(nice0_slice(2) == 2'999'998);
  CHECK(nice0_slice(3) == 1'999'999);
  CHECK(nice0_slice(4) == 1'499'998);
  CHECK(nice0_slice(5) == 1'199'998);
  for (unsigned n = 8; n <= 40; ++n) CHECK(nice0_slice(n) == 750'000);
  CHECK(sched_period(tunables_for(1), 8) == 6'000'000);
  CHECK(sched_period(tunables_for(1), 9) == 6'750'000);
}

TEST_CASE("cfs: check 2, nice 0 and nice 5 slices are 4,520,971 and 1,479,028 ns", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 2: weights 1024 : 335 on one queue.
  uint64_t load = nice_load(0).weight + nice_load(5).weight;
  CHECK(sched_slice(tunables_for(1), 2, load, nice_load(0)) == 4'520'971);
  CHECK(sched_slice(tunables_for(1), 2, load, nice_load(5)) == 1'479'028);
}
