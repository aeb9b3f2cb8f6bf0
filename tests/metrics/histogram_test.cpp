// Tests of a distribution's histogram and the time and job of its maximum (issue 10, 3): exact
// buckets reproduce the nearest-rank percentiles exactly; log-linear buckets hold them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "reports/json_report.hpp"
#include "sim/metrics/distribution.hpp"
#include "tests/support.hpp"

using sim::metrics::Distribution;
using sim::metrics::HistogramBucket;
using sim::metrics::Summary;

namespace {

// Nearest rank of percentile 100 * (k-1) / k of n samples (k = 2, 10, 100, 1000).
int64_t rank_of(int64_t k, int64_t n) { return n - n / k; }

// The bucket holding the sample of rank `rank` (1-based) when counts are summed in order.
const HistogramBucket& bucket_of_rank(const std::vector<HistogramBucket>& h, int64_t rank) {
  int64_t seen = 0;
  for (const HistogramBucket& b : h) {
    seen += b.count;
    if (seen >= rank) return b;
  }
  FAIL("rank " << rank << " is past the histogram's " << seen << " samples");
  return h.back();
}

// Ascending, non-overlapping, non-empty buckets whose counts sum to the count, inside [min, max].
void check_shape(const Summary& s) {
  REQUIRE_FALSE(s.histogram.empty());
  int64_t total = 0;
  for (size_t i = 0; i < s.histogram.size(); ++i) {
    const HistogramBucket& b = s.histogram[i];
    INFO("bucket " << i << " [" << b.lo << ", " << b.hi << "] x" << b.count);
    CHECK(b.lo <= b.hi);
    CHECK(b.count > 0);
    if (i > 0) CHECK(b.lo > s.histogram[i - 1].hi);
    total += b.count;
  }
  CHECK(total == s.count);
  CHECK(s.histogram.front().lo == s.min);
  CHECK(s.histogram.back().hi == s.max);
}

// Each percentile lies in the bucket that holds its rank; `exact` also asks that the bucket be
// the single value itself.
void check_percentiles(const Summary& s, bool exact) {
  const std::vector<std::pair<int64_t, int64_t>> pct = {{2, s.p50}, {10, s.p90}, {100, s.p99}, {1000, s.p999}};
  for (auto [k, value] : pct) {
    const HistogramBucket& b = bucket_of_rank(s.histogram, rank_of(k, s.count));
    INFO("k " << k << " value " << value << " bucket [" << b.lo << ", " << b.hi << "]");
    CHECK(b.lo <= value);
    CHECK(value <= b.hi);
    if (exact) CHECK(b.lo == b.hi);
  }
}

std::vector<int64_t> lcg_values(size_t n, uint64_t seed, int64_t modulo) {
  std::vector<int64_t> v;
  uint64_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v.push_back(static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(modulo)));
  }
  return v;
}

}  // namespace

TEST_CASE("histogram: empty distribution has no buckets and no maximum instant", "[metrics][unit]") {
  Summary s = Distribution().summary();
  CHECK(s.count == 0);
  CHECK(s.histogram.empty());
  CHECK(s.max_at_ns == -1);
  CHECK(s.max_job == -1);
}

TEST_CASE("histogram: exact buckets, one per distinct value, give the percentiles exactly", "[metrics][unit]") {
  Distribution d;
  for (int64_t v : {30, 10, 20, 10, 30, 30, 5}) d.add(v);
  Summary s = d.summary();
  CHECK(s.histogram == std::vector<HistogramBucket>{{5, 5, 1}, {10, 10, 2}, {20, 20, 1}, {30, 30, 3}});
  CHECK(s.p50 == 20);
  check_percentiles(s, true);

  // 1,500 distinct values among 20,000 samples: still exact.
  Distribution many;
  std::vector<int64_t> values = lcg_values(20'000, 7, 1'500);
  for (size_t i = 0; i < values.size(); ++i) many.add(values[i] * 1'000 + 17, static_cast<int64_t>(i));
  Summary m = many.summary();
  CHECK(m.histogram.size() == 1'500);
  check_shape(m);
  check_percentiles(m, true);
  // Recounted from the samples, bucket by bucket.
  std::sort(values.begin(), values.end());
  for (const HistogramBucket& b : m.histogram) {
    const int64_t v = (b.lo - 17) / 1'000;
    CHECK(b.count == std::upper_bound(values.begin(), values.end(), v) -
                         std::lower_bound(values.begin(), values.end(), v));
  }
}

TEST_CASE("histogram: exact up to kExactHistogramValues distinct values, log-linear beyond", "[metrics][unit]") {
  Distribution at_limit;
  for (int64_t v = 0; v < Distribution::kExactHistogramValues; ++v) at_limit.add(v * 3 + 1'000'000);
  CHECK(static_cast<int64_t>(at_limit.summary().histogram.size()) == Distribution::kExactHistogramValues);

  Distribution over;
  for (int64_t v = 0; v <= Distribution::kExactHistogramValues; ++v) over.add(v * 3 + 1'000'000);
  Summary s = over.summary();
  check_shape(s);
  check_percentiles(s, false);
  // 1,000,000 .. 1,006,144 at 1/128 of 2^19 (4,096 ns wide buckets): two buckets of
  // [999424, 1003519] and [1003520, 1007615], the first starting at min and the last ending at max.
  CHECK(s.histogram == std::vector<HistogramBucket>{{1'000'000, 1'003'519, 1'174}, {1'003'520, 1'006'144, 875}});
  // The percentiles themselves stay exact (the samples are kept).
  CHECK(s.p50 == 1'000'000 + 1'024 * 3);
}

TEST_CASE("histogram: spread values are coarsened to at most kMaxHistogramBuckets, percentiles inside",
          "[metrics][unit]") {
  Distribution d;
  uint64_t x = 99;
  for (int i = 0; i < 200'000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int shift = static_cast<int>((x >> 58) % 34);
    d.add(static_cast<int64_t>((x >> 20) & ((uint64_t{1} << 40) - 1)) >> shift);
  }
  Summary s = d.summary();
  CHECK_FALSE(d.approximate());
  check_shape(s);
  check_percentiles(s, false);
  CHECK(static_cast<int64_t>(s.histogram.size()) <= Distribution::kMaxHistogramBuckets);
  CHECK(s.histogram.size() > 100);
  // Values over 40 powers of two: 8 buckets per power of two (320 at most) is the finest
  // resolution that fits, so a bucket of a large value is 1/8 of its power of two wide.
  for (const HistogramBucket& b : s.histogram) {
    if (b.lo < 1'024 || b.hi == s.max) continue;
    const int64_t power = int64_t{1} << (std::bit_width(static_cast<uint64_t>(b.lo)) - 1);
    CHECK(b.hi - b.lo + 1 == power / 8);
  }
}

TEST_CASE("histogram: approximate distributions (budget spent) keep percentiles in their buckets",
          "[metrics][unit]") {
  sim::metrics::SampleBudget budget;
  budget.remaining = 10;
  Distribution d(&budget);
  std::vector<int64_t> values = lcg_values(50'000, 3, 5'000'000);
  for (int64_t v : values) d.add(v + 2'000);
  REQUIRE(d.approximate());
  Summary s = d.summary();
  check_shape(s);
  check_percentiles(s, false);
  CHECK(static_cast<int64_t>(s.histogram.size()) <= Distribution::kMaxHistogramBuckets);
  // The true nearest-rank values are in the same buckets as the reported ones.
  std::sort(values.begin(), values.end());
  for (int64_t k : {2, 10, 100, 1000}) {
    const int64_t rank = rank_of(k, s.count);
    const HistogramBucket& b = bucket_of_rank(s.histogram, rank);
    const int64_t truth = values[static_cast<size_t>(rank - 1)] + 2'000;
    CHECK(b.lo <= truth);
    CHECK(truth <= b.hi);
  }
}

TEST_CASE("histogram: the maximum keeps the time and job of its first sample", "[metrics][unit]") {
  Distribution d;
  d.add(5, 100, 1);
  d.add(9, 200, 2);
  d.add(9, 300, 3);  // equal, not larger: the first stays
  d.add(4, 400, 4);
  Summary s = d.summary();
  CHECK(s.max == 9);
  CHECK(s.max_at_ns == 200);
  CHECK(s.max_job == 2);

  Distribution no_job;
  no_job.add(0, 50);
  CHECK(no_job.summary().max_at_ns == 50);
  CHECK(no_job.summary().max_job == -1);
}

TEST_CASE("histogram: a real run's maxima carry the instant and job of the worst sample", "[metrics][unit]") {
  using namespace testing;
  scenario::LoadResult loaded =
      scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/realtime/audio.json");
  REQUIRE(loaded.scenario);
  RecordingSink rec;
  sim::run::Options o;
  o.duration = core::Duration::milliseconds(300);
  RunOutput out = run_scenario(*loaded.scenario, o, {&rec});
  const metrics::ThreadResult& audio = out.thread("audio");
  REQUIRE(audio.response_ns.count > 10);
  // The first completion with the largest response, from the trace.
  const core::TraceEvent* worst = nullptr;
  for (const core::TraceEvent& e : rec.of(core::TraceKind::completed))
    if (out.results.threads[static_cast<size_t>(e.thread)].id == "audio" && (!worst || e.b > worst->b)) worst = &e;
  REQUIRE(worst);
  CHECK(audio.response_ns.max == worst->b);
  CHECK(audio.response_ns.max_at_ns == worst->time.ns);
  CHECK(audio.response_ns.max_job == worst->a);
  // Wakeup latency belongs to the job that was in progress, so a periodic thread has one.
  CHECK(audio.latency_ns.max_at_ns > 0);
  CHECK(audio.latency_ns.max_job >= 0);
  // And the JSON carries the same, with the histogram.
  const auto& j = out.json["threads"]["audio"]["response_ns"];
  CHECK(j["max_at_ns"] == worst->time.ns);
  CHECK(j["max_job"] == worst->a);
  CHECK(j["histogram"].size() == audio.response_ns.histogram.size());
}

TEST_CASE("histogram: the JSON text puts one bucket on a line and parses back to the same buckets",
          "[metrics][unit]") {
  using namespace testing;
  scenario::LoadResult loaded =
      scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/inversion/three-threads-none.json");
  REQUIRE(loaded.scenario);
  RunOutput out = run_scenario(*loaded.scenario);
  const std::string text = reports::results_to_json_text(out.results);
  CHECK(nlohmann::ordered_json::parse(text) == out.json);
  const metrics::ThreadResult& high = out.thread("high");
  REQUIRE(high.response_ns.count > 0);
  const HistogramBucket& b = high.response_ns.histogram.front();
  const std::string line = "{\"lo\": " + std::to_string(b.lo) + ", \"hi\": " + std::to_string(b.hi) +
                           ", \"count\": " + std::to_string(b.count) + "}";
  CHECK(text.find(line) != std::string::npos);
  CHECK(text.find("\"lo\": " + std::to_string(b.lo) + ",\n") == std::string::npos);
}
