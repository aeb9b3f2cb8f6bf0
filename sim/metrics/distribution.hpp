// Distribution of non-negative samples (ns or counts) summarised as count/min/percentiles/max/mean:
// exact (samples kept as sorted value/count runs, so repeated values cost nothing more) up to
// kExactLimit distinct values, then a log-linear histogram so memory stays bounded.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "sim/metrics/results.hpp"

namespace sim::metrics {

// A pool of exact samples shared by the distributions of one sink, so that memory is bounded
// however long a run lasts: when the pool is used up, a distribution that needs to keep another
// sample folds into its histogram instead (its percentiles are then within 1%) and gives its
// samples back to the pool. The pool pays for the capacity a distribution reserves, not just the
// samples it holds (issue 8, 1.10: vectors doubling past the budget, and a 57 KB histogram per
// folded distribution, grew a 1,000-thread run from 19 to 138 MB over 100 simulated seconds).
struct SampleBudget {
  static constexpr int64_t kDefault = 4'000'000;  // 32 MB of samples per sink
  int64_t remaining = kDefault;
};

// Aligned to a cache line, whose first 64 bytes are all that add() touches for a repeat of the
// last sample (issue 13: with 10,000 threads a thread's distributions are rarely in cache).
class alignas(64) Distribution {
 public:
  // Without a budget only the per-distribution limit applies.
  explicit Distribution(SampleBudget* budget = nullptr) : budget_(budget) {}

  // Exact nearest-rank percentiles while at most this many distinct values were seen (recent
  // samples wait in a buffer and are merged into sorted value/count runs; a deterministic
  // workload whose responses repeat a few values stays exact, in flat memory, however long it
  // runs).
  static constexpr int64_t kExactLimit = 1'000'000;
  // The buffer of recent samples is merged into the runs when it holds this many, or as many as
  // there are runs if that is more (so merging costs O(1) amortised per sample).
  static constexpr int64_t kMergeAt = 4096;
  // Histogram resolution: sub-buckets per power of two, so a bucket is at most 1/128 (< 1%) of
  // its lower bound wide.
  static constexpr int kSubBucketBits = 7;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;

  // Draws exact samples from `budget` (borrowed); call before the first add.
  void set_budget(SampleBudget* budget) { budget_ = budget; }
  // Histogram of the summary: one bucket per distinct value while exact with at most this many
  // distinct values; otherwise log-linear buckets, coarsened (1/128, 1/64, ... of a power of
  // two) until at most kMaxHistogramBuckets remain.
  static constexpr int64_t kExactHistogramValues = 2048;
  static constexpr int64_t kMaxHistogramBuckets = 512;

  // Records one sample; v must be >= 0 (negative values are clamped to 0). `at_ns` is the
  // simulated time it was measured and `job` the job it belongs to (-1 when none): kept for the
  // first sample equal to the maximum. O(1).
  void add(int64_t v, int64_t at_ns = -1, int64_t job = -1) {
    if (v < 0) v = 0;
    if (v == last_value_ && fast_repeats_ > 0) {
      // A repeat of the last sample that the buffer has room for: counted in place (it is not
      // above the maximum, nor below the minimum).
      --fast_repeats_;
      ++pending_;
      ++count_;
      sum_ += static_cast<uint64_t>(v);
      return;
    }
    add_slow(v, at_ns, job);
  }
  int64_t count() const { return count_; }
  // All zero when empty. Const and repeatable: later add() calls are unaffected.
  Summary summary() const;

  // True once percentiles come from the histogram: more than kExactLimit distinct values were
  // added, or the shared budget ran out.
  bool approximate() const { return !rows_.empty(); }
  // Bytes held for samples and histogram (not the object itself): at most the samples and runs
  // the budget paid for plus kRowBytes per histogram row in use (a row covers one power of two).
  int64_t memory_bytes() const;
  static constexpr int64_t kRowBytes = kSubBuckets * static_cast<int64_t>(sizeof(int64_t));

 private:
  static int bucket_of(uint64_t v);
  static int64_t bucket_upper(int bucket);
  static int64_t bucket_lower(int bucket);
  // Fine (1/128) buckets in ascending order -> the summary's histogram, coarsened to fit.
  std::vector<HistogramBucket> log_linear(std::vector<HistogramBucket> fine) const;
  struct Run {
    int64_t value;
    int64_t count;
  };
  void fold_into_histogram();
  bool grow_samples();  // reserves more buffer, paid from the budget; false when none
  bool merge_samples(); // buffer -> runs, paid from the budget; false when it cannot pay
  bool make_room();     // room for one more exact sample, or false: fold
  void count_in_histogram(int64_t v, int64_t n = 1);
  // runs_ merged with the sorted buffer; `exact_capacity`: no spare capacity (what a merge keeps
  // is paid from the budget by its capacity).
  std::vector<Run> sorted_runs(bool exact_capacity) const;

  __extension__ using Sum = unsigned __int128;  // cannot overflow: < 2^63 samples, each < 2^63

  void add_slow(int64_t v, int64_t at_ns, int64_t job);
  void flush_pending();  // pending_ -> the buffer

  // The 64 bytes add() reads for a repeat (kept first: the object is aligned to a cache line).
  Sum sum_ = 0;
  int64_t count_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = 0;
  int64_t last_value_ = 0;  // the last sample buffered, while buffered_ + pending_ > 0
  // Repeats of last_value_ counted by add() but not yet in the buffer (they are written there,
  // and into buffered_, before anything else reads the buffer), and how many more it may count
  // so: as many as make_room() would accept without merging, growing or folding.
  int64_t pending_ = 0;
  int64_t fast_repeats_ = 0;

  SampleBudget* budget_ = nullptr;  // borrowed
  int64_t max_at_ = -1;
  int64_t max_job_ = -1;
  // Exact mode only; capacities are paid from the budget (a run costs two samples).
  // Recent samples, unsorted, in arrival order, with repeats of the previous value compressed:
  // an entry v >= 0 is a sample, an entry -k says the sample before it came k more times. A
  // deterministic workload repeats a thread's response time job after job, so 10,000 threads'
  // buffers stay a few entries each instead of touching fresh memory per sample (issue 13). The
  // budget still pays for buffered_ samples against the capacity buffer_cap_, exactly as if each
  // were stored, so when a distribution merges or folds is unchanged.
  std::vector<int64_t> samples_;
  int64_t buffered_ = 0;    // samples in the buffer (repeats counted), pending_ aside
  int64_t buffer_cap_ = 0;  // samples the budget paid buffer room for
  void buffer_sample(int64_t v);
  void reserve_entry();
  void buffer_repeats(int64_t n);
  std::vector<Run> runs_;         // older samples: ascending distinct values with their counts
  // Empty until the switch; then one row per power of two, each allocated (kSubBuckets counts)
  // only when a sample falls in it.
  std::vector<std::vector<int64_t>> rows_;
};

}  // namespace sim::metrics
