// Unit tests for metrics::Distribution: nearest-rank percentiles, mean rounding, and the switch
// to a bounded histogram past a million samples.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/metrics/distribution.hpp"

using sim::metrics::Distribution;
using sim::metrics::Summary;

namespace {

// Deterministic pseudo-random values (64-bit LCG, high bits) spread over many magnitudes.
std::vector<int64_t> spread_values(size_t n) {
  std::vector<int64_t> v;
  v.reserve(n);
  uint64_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int shift = static_cast<int>((x >> 58) % 40);  // magnitude up to ~2^40
    v.push_back(static_cast<int64_t>((x >> 20) & ((uint64_t{1} << 40) - 1)) >> shift);
  }
  return v;
}

int64_t nearest_rank(std::vector<int64_t> sorted, int64_t num, int64_t den) {
  const auto n = static_cast<int64_t>(sorted.size());
  const int64_t rank = (num * n + den - 1) / den;  // ceil(num/den * n)
  return sorted[static_cast<size_t>(rank - 1)];
}

}  // namespace

TEST_CASE("distribution: 1..100 gives nearest-rank percentiles 50, 90, 99 and 100",
          "[metrics][unit]") {
  Distribution d;
  // Insertion order must not matter.
  for (int64_t i = 100; i >= 1; i -= 2) d.add(i);
  for (int64_t i = 1; i <= 99; i += 2) d.add(i);
  const Summary s = d.summary();
  CHECK(s.count == 100);
  CHECK(s.min == 1);
  CHECK(s.p50 == 50);
  CHECK(s.p90 == 90);
  CHECK(s.p99 == 99);
  CHECK(s.p999 == 100);
  CHECK(s.max == 100);
  CHECK(s.mean == 51);  // 50.5 rounds up
}

TEST_CASE("distribution: ten samples put p99 and p99.9 at the largest", "[metrics][unit]") {
  Distribution d;
  for (int64_t v : {70, 10, 100, 40, 20, 90, 30, 60, 50, 80}) d.add(v);
  const Summary s = d.summary();
  CHECK(s.p50 == 50);
  CHECK(s.p90 == 90);
  CHECK(s.p99 == 100);
  CHECK(s.p999 == 100);
  CHECK(s.mean == 55);
}

TEST_CASE("distribution: 1..1000 puts p99.9 at 999", "[metrics][unit]") {
  Distribution d;
  for (int64_t i = 1; i <= 1000; ++i) d.add(i);
  const Summary s = d.summary();
  CHECK(s.p50 == 500);
  CHECK(s.p90 == 900);
  CHECK(s.p99 == 990);
  CHECK(s.p999 == 999);
  CHECK(s.max == 1000);
}

TEST_CASE("distribution: a single sample is every statistic", "[metrics][unit]") {
  Distribution d;
  d.add(7);
  const Summary s = d.summary();
  CHECK(s.count == 1);
  CHECK(s.min == 7);
  CHECK(s.p50 == 7);
  CHECK(s.p90 == 7);
  CHECK(s.p99 == 7);
  CHECK(s.p999 == 7);
  CHECK(s.max == 7);
  CHECK(s.mean == 7);
}

TEST_CASE("distribution: an empty distribution summarises to all zeros", "[metrics][unit]") {
  Distribution d;
  const Summary s = d.summary();
  CHECK(d.count() == 0);
  CHECK(s.count == 0);
  CHECK(s.min == 0);
  CHECK(s.p50 == 0);
  CHECK(s.p999 == 0);
  CHECK(s.max == 0);
  CHECK(s.mean == 0);
}

TEST_CASE("distribution: the mean is rounded to the nearest, halves up", "[metrics][unit]") {
  auto mean_of = [](std::vector<int64_t> values) {
    Distribution d;
    for (int64_t v : values) d.add(v);
    return d.summary().mean;
  };
  CHECK(mean_of({1, 2}) == 2);     // 1.5
  CHECK(mean_of({1, 1, 2}) == 1);  // 1.33
  CHECK(mean_of({1, 2, 2}) == 2);  // 1.67
  CHECK(mean_of({0, 0, 0, 1}) == 0);
  CHECK(mean_of({0, 0, 0, 0}) == 0);
}

TEST_CASE("distribution: the mean of huge samples does not overflow", "[metrics][unit]") {
  Distribution d;
  const int64_t big = std::numeric_limits<int64_t>::max();
  d.add(big);
  d.add(big);
  d.add(big - 2);
  CHECK(d.summary().mean == big - 1);
}

TEST_CASE("distribution: summary is repeatable and does not disturb later adds",
          "[metrics][unit]") {
  Distribution d;
  for (int64_t v : {5, 3, 9, 1}) d.add(v);
  const Summary first = d.summary();
  const Summary again = d.summary();
  CHECK(first.p50 == 3);
  CHECK(again.p50 == first.p50);
  CHECK(again.p99 == first.p99);
  d.add(0);
  d.add(2);
  const Summary later = d.summary();
  CHECK(later.count == 6);
  CHECK(later.min == 0);
  CHECK(later.p50 == 2);
  CHECK(later.p90 == 9);
  CHECK(later.max == 9);
  CHECK(later.mean == 3);  // 20 / 6 = 3.33
}

TEST_CASE("distribution: exactly a million samples are still exact", "[metrics][unit]") {
  Distribution d;
  for (int64_t i = 1; i <= Distribution::kExactLimit; ++i) d.add(i * 3);
  CHECK_FALSE(d.approximate());
  const Summary s = d.summary();
  CHECK(s.p50 == 500'000 * 3);
  CHECK(s.p90 == 900'000 * 3);
  CHECK(s.p99 == 990'000 * 3);
  CHECK(s.p999 == 999'000 * 3);
}

TEST_CASE("distribution: past a million samples min, max and mean stay exact and percentiles "
          "stay within 1%",
          "[metrics][unit]") {
  const std::vector<int64_t> values = spread_values(2'000'000);
  Distribution d;
  __extension__ using Sum = __int128;
  Sum sum = 0;
  for (int64_t v : values) {
    d.add(v);
    sum += v;
  }
  CHECK(d.approximate());
  std::vector<int64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const Summary s = d.summary();
  const auto n = static_cast<int64_t>(values.size());
  CHECK(s.count == n);
  CHECK(s.min == sorted.front());
  CHECK(s.max == sorted.back());
  CHECK(s.mean == static_cast<int64_t>((sum + n / 2) / n));

  auto within_one_percent = [](int64_t got, int64_t exact) {
    // The histogram reports a bucket's upper bound: never below the exact value, and above it
    // by less than 1%.
    return got >= exact && (got - exact) * 100 <= exact;
  };
  CHECK(within_one_percent(s.p50, nearest_rank(sorted, 50, 100)));
  CHECK(within_one_percent(s.p90, nearest_rank(sorted, 90, 100)));
  CHECK(within_one_percent(s.p99, nearest_rank(sorted, 99, 100)));
  CHECK(within_one_percent(s.p999, nearest_rank(sorted, 999, 1000)));
}

TEST_CASE("distribution: histogram percentiles of small values are exact and clamped to max",
          "[metrics][unit]") {
  // A budget of 100 samples forces the histogram (200 distinct values would otherwise stay exact).
  sim::metrics::SampleBudget budget{100};
  Distribution d(&budget);
  // Values below 256 get one bucket each, so percentiles stay exact.
  for (int64_t i = 0; i <= Distribution::kExactLimit; ++i) d.add(i % 200);
  REQUIRE(d.approximate());
  Summary s = d.summary();
  CHECK(s.min == 0);
  CHECK(s.max == 199);
  CHECK(s.p50 == 99);
  CHECK(s.p999 == 199);

  // A single huge value lands in a wide bucket; the reported p99.9 must not exceed max.
  sim::metrics::SampleBudget small{100};
  Distribution big(&small);
  const int64_t top = (int64_t{1} << 40) + 1;
  for (int64_t i = 0; i <= Distribution::kExactLimit; ++i) big.add(top);
  s = big.summary();
  CHECK(s.p50 == top);
  CHECK(s.p999 == top);
  CHECK(s.max == top);
}

TEST_CASE("metrics: distributions sharing a sample budget fold into histograms when it runs out",
          "[metrics][unit]") {
  // The shared pool bounds a sink's memory however long the run: the distribution that finds
  // the pool empty folds (percentiles within 1%, min/max/mean still exact) and returns its
  // samples, so the others stay exact.
  sim::metrics::SampleBudget budget{10};
  sim::metrics::Distribution a, b;
  a.set_budget(&budget);
  b.set_budget(&budget);
  // The pool pays for capacity: a's first reservation (16, cut to the 10 left) takes it all.
  for (int64_t v = 1; v <= 8; ++v) a.add(v * 1000);
  CHECK(budget.remaining == 0);
  for (int64_t v = 1; v <= 3; ++v) b.add(v * 1000);  // the first finds the pool empty
  CHECK(b.approximate());
  CHECK_FALSE(a.approximate());
  CHECK(budget.remaining == 0);
  auto s = b.summary();
  CHECK(s.count == 3);
  CHECK(s.min == 1000);
  CHECK(s.max == 3000);
  CHECK(s.mean == 2000);
  a.add(9000);
  a.add(10000);
  CHECK_FALSE(a.approximate());
  CHECK(a.summary().p50 == 5000);
  CHECK(budget.remaining == 0);
}

// Issue 13, section 3: memory flat in simulated time. A deterministic workload repeats a few
// response times; kept as value/count runs they stay exact however many there are.
TEST_CASE("distribution: ten million samples of few distinct values stay exact in little memory",
          "[metrics][unit]") {
  sim::metrics::SampleBudget budget;
  Distribution d(&budget);
  // Values 1000 + 7 * (i % 13): 13 distinct, each i % 13 equally often (10^7 = 13 * 769230 + 10).
  const int64_t n = 10'000'000;
  for (int64_t i = 0; i < n; ++i) d.add(1000 + 7 * (i % 13));
  CHECK_FALSE(d.approximate());
  // The buffer (at most kMergeAt samples) and 13 runs: 33 KB, not 80 MB.
  CHECK(d.memory_bytes() <= Distribution::kMergeAt * 8 + 13 * 16);
  const Summary s = d.summary();
  CHECK(s.count == n);
  CHECK(s.min == 1000);
  CHECK(s.max == 1084);
  // Counts: residues 0..9 occur 769,231 times, 10..12 769,230 times. Cumulative at residue k
  // (k <= 9): 769,231 (k+1). p50 rank 5,000,000: residue 6 (5,384,617 >= 5,000,000 > 4,615,386).
  CHECK(s.p50 == 1000 + 7 * 6);
  // p90 rank 9,000,000: residue 11 (cum 10: 8,461,540; cum 11: 9,230,770).
  CHECK(s.p90 == 1000 + 7 * 11);
  CHECK(s.p99 == 1084);
  CHECK(s.p999 == 1084);
  REQUIRE(s.histogram.size() == 13);
  CHECK(s.histogram[0].count == 769'231);
  CHECK(s.histogram[12].count == 769'230);
}

TEST_CASE("distribution: merging the buffer into runs gives the same summary as sorting every sample",
          "[metrics][unit]") {
  // Sizes on both sides of each merge point; values with many repeats and some distinct.
  for (int64_t n : {int64_t{1}, int64_t{4095}, int64_t{4096}, int64_t{4097}, int64_t{12'289}, int64_t{70'000}}) {
    Distribution d;
    std::vector<int64_t> values;
    uint64_t x = 12345 + static_cast<uint64_t>(n);
    for (int64_t i = 0; i < n; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const int64_t v = (x >> 60) < 12 ? static_cast<int64_t>((x >> 33) % 50) * 100 : static_cast<int64_t>(x >> 40);
      values.push_back(v);
      d.add(v);
    }
    std::vector<int64_t> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const Summary s = d.summary();
    INFO("n = " << n);
    CHECK_FALSE(d.approximate());
    CHECK(s.p50 == nearest_rank(sorted, 50, 100));
    CHECK(s.p90 == nearest_rank(sorted, 90, 100));
    CHECK(s.p99 == nearest_rank(sorted, 99, 100));
    CHECK(s.p999 == nearest_rank(sorted, 999, 1000));
    int64_t total = 0;
    for (const auto& b : s.histogram) total += b.count;
    CHECK(total == n);
    const auto distinct = std::unique(sorted.begin(), sorted.end()) - sorted.begin();
    sorted = values;
    std::sort(sorted.begin(), sorted.end());
    if (distinct <= Distribution::kExactHistogramValues) {
      CHECK(static_cast<int64_t>(s.histogram.size()) == distinct);
      // Exact histogram: one bucket per distinct value with its true count.
      for (const auto& b : s.histogram) {
        CHECK(b.lo == b.hi);
        CHECK(b.count == std::count(sorted.begin(), sorted.end(), b.lo));
      }
    }
  }
}

// Issue 13: the buffer stores a repeat of the previous sample as a count. Runs of repeats of
// every length, across merges (a small budget forces them), must give the same exact percentiles
// as the sorted samples: nearest rank n - floor(n / k) for p50, p90, p99, p99.9.
TEST_CASE("distribution: repeated samples kept as counts give the exact nearest-rank percentiles",
          "[metrics][unit]") {
  sim::metrics::SampleBudget budget;
  budget.remaining = 5000;  // a full buffer (4,096) and the runs: the buffer is merged 7 times
  Distribution d(&budget);
  std::vector<int64_t> all;
  uint64_t x = 424242;
  for (int run = 0; run < 3000; ++run) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const int64_t v = static_cast<int64_t>(x % 50) * 100;  // 50 distinct values
    const int len = 1 + static_cast<int>((x >> 20) % 20);
    for (int i = 0; i < len; ++i) {
      d.add(v);
      all.push_back(v);
    }
  }
  std::sort(all.begin(), all.end());
  const int64_t n = static_cast<int64_t>(all.size());
  auto at_rank = [&](int64_t k) { return all[static_cast<size_t>(n - n / k - 1)]; };
  REQUIRE_FALSE(d.approximate());
  const Summary s = d.summary();
  CHECK(s.count == n);
  CHECK(s.min == all.front());
  CHECK(s.max == all.back());
  CHECK(s.p50 == at_rank(2));
  CHECK(s.p90 == at_rank(10));
  CHECK(s.p99 == at_rank(100));
  CHECK(s.p999 == at_rank(1000));
  // One value 100,000 times: the buffer holds one entry and one repeat count in its first
  // allocation (16 entries), and merges leave one run (16 bytes): 144 bytes, where a sample per
  // entry took the whole 4,096-entry buffer (32 KB).
  Distribution one;
  for (int i = 0; i < 100000; ++i) one.add(777);
  CHECK(one.memory_bytes() == 16 * 8 + 16);
  CHECK(one.summary().p999 == 777);
}

// Issue 13: a repeat of the last sample is counted in place while the buffer has room paid for
// (Distribution::add's fast path); the repeat that needs more room must still go the slow way,
// at exactly the same sample as before. Budget 10: the first sample reserves 10 entries of room
// (16 cut to the 10 left); samples 2-10 fill it; the 11th finds no room, no budget to grow or
// to merge into runs, and folds into the histogram.
TEST_CASE("distribution: repeats counted in place fold at the same sample as one at a time",
          "[metrics][unit]") {
  sim::metrics::SampleBudget budget{10};
  Distribution d(&budget);
  for (int i = 1; i <= 10; ++i) d.add(777);
  CHECK_FALSE(d.approximate());
  CHECK(budget.remaining == 0);
  CHECK(d.summary().count == 10);
  CHECK(d.summary().histogram.size() == 1);
  CHECK(d.summary().histogram[0].count == 10);
  d.add(777);
  CHECK(d.approximate());
  CHECK(budget.remaining == 10);  // the fold gave the buffer's room back
  const Summary s = d.summary();
  CHECK(s.count == 11);
  CHECK(s.min == 777);
  CHECK(s.max == 777);
  CHECK(s.p50 == 777);  // a histogram bucket clamped to the maximum
  REQUIRE(s.histogram.size() == 1);
  CHECK(s.histogram[0].count == 11);

  // With room, a different value after repeats goes the slow way and keeps both exact.
  sim::metrics::SampleBudget roomy;
  Distribution e(&roomy);
  for (int i = 0; i < 5; ++i) e.add(100);
  e.add(50);
  for (int i = 0; i < 3; ++i) e.add(50);
  e.add(100);
  const Summary t = e.summary();
  CHECK(t.count == 10);
  CHECK(t.min == 50);
  CHECK(t.p50 == 100);  // rank 5 of 50 x4, 100 x6
  REQUIRE(t.histogram.size() == 2);
  CHECK(t.histogram[0].count == 4);
  CHECK(t.histogram[1].count == 6);
}
