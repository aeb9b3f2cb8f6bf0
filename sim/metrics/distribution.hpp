// Distribution of non-negative samples (ns or counts) summarised as count/min/percentiles/max/mean:
// exact up to kExactLimit samples, then a fixed-size log-linear histogram so memory stays bounded.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "sim/metrics/results.hpp"

namespace sim::metrics {

class Distribution {
 public:
  // Samples kept verbatim (exact nearest-rank percentiles) up to this many.
  static constexpr int64_t kExactLimit = 1'000'000;
  // Histogram resolution: sub-buckets per power of two, so a bucket is at most 1/128 (< 1%) of
  // its lower bound wide.
  static constexpr int kSubBucketBits = 7;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;

  // Records one sample; v must be >= 0 (negative values are clamped to 0). O(1).
  void add(int64_t v);
  int64_t count() const { return count_; }
  // All zero when empty. Const and repeatable: later add() calls are unaffected.
  Summary summary() const;

  // True once more than kExactLimit samples were added and percentiles come from the histogram.
  bool approximate() const { return !histogram_.empty(); }

 private:
  static int bucket_of(uint64_t v);
  static int64_t bucket_upper(int bucket);
  void fold_into_histogram();

  __extension__ using Sum = unsigned __int128;  // cannot overflow: < 2^63 samples, each < 2^63

  int64_t count_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = 0;
  Sum sum_ = 0;
  std::vector<int64_t> samples_;    // exact mode only
  std::vector<int64_t> histogram_;  // empty until the switch; then counts per bucket
};

}  // namespace sim::metrics
