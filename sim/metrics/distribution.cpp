// Distribution: exact nearest-rank percentiles over kept samples, log-linear histogram beyond.
#include "sim/metrics/distribution.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <utility>

namespace sim::metrics {

namespace {

// Values 0..2^63-1: buckets 0..127 hold one value each; then each power of two 2^e (e >= 7) is
// split into kSubBuckets buckets of width 2^(e-7).
constexpr int kBucketCount = (64 - Distribution::kSubBucketBits) * Distribution::kSubBuckets;

// Nearest rank (1-based) of the p-th percentile of n samples: ceil(n * (k-1) / k) for p =
// 100 * (k-1) / k, written as n - floor(n / k) so it cannot overflow.
struct Rank {
  int64_t divisor;  // k: 2 -> p50, 10 -> p90, 100 -> p99, 1000 -> p99.9
};
constexpr std::array<Rank, 4> kRanks{{{2}, {10}, {100}, {1000}}};

constexpr int64_t rank_of(Rank r, int64_t n) { return n - n / r.divisor; }

static_assert(rank_of({2}, 100) == 50 && rank_of({10}, 100) == 90);
static_assert(rank_of({100}, 100) == 99 && rank_of({1000}, 100) == 100);
static_assert(rank_of({2}, 1) == 1 && rank_of({1000}, 1) == 1 && rank_of({2}, 3) == 2);

}  // namespace

int Distribution::bucket_of(uint64_t v) {
  if (v < static_cast<uint64_t>(kSubBuckets)) return static_cast<int>(v);
  const int e = static_cast<int>(std::bit_width(v)) - 1;  // >= kSubBucketBits
  const int shift = e - kSubBucketBits;
  return (e - kSubBucketBits + 1) * kSubBuckets + static_cast<int>(v >> shift) - kSubBuckets;
}

int64_t Distribution::bucket_upper(int bucket) {
  if (bucket < kSubBuckets) return bucket;
  const int e = bucket / kSubBuckets + kSubBucketBits - 1;
  const int shift = e - kSubBucketBits;
  const uint64_t lower = static_cast<uint64_t>(kSubBuckets + bucket % kSubBuckets) << shift;
  return static_cast<int64_t>(lower + ((uint64_t{1} << shift) - 1));
}

int64_t Distribution::bucket_lower(int bucket) {
  if (bucket < kSubBuckets) return bucket;
  const int e = bucket / kSubBuckets + kSubBucketBits - 1;
  const int shift = e - kSubBucketBits;
  return static_cast<int64_t>(static_cast<uint64_t>(kSubBuckets + bucket % kSubBuckets) << shift);
}

void Distribution::add_slow(int64_t v, int64_t at_ns, int64_t job) {
  flush_pending();
  fast_repeats_ = 0;
  if (count_ == 0 || v > max_) {
    max_ = v;
    max_at_ = at_ns;
    max_job_ = job;
  }
  ++count_;
  min_ = std::min(min_, v);
  sum_ += static_cast<uint64_t>(v);
  if (rows_.empty()) {
    if (make_room()) {
      buffer_sample(v);
      // The k-th repeat from here finds buffered_ + k - 1 samples in the buffer: make_room()
      // accepts it as it is while that is below the room paid for and, with the runs, below the
      // exact limit.
      const int64_t held = static_cast<int64_t>(runs_.size()) + buffered_;
      fast_repeats_ = std::max<int64_t>(0, std::min(buffer_cap_ - buffered_, kExactLimit - held));
      return;
    }
    fold_into_histogram();
  }
  count_in_histogram(v);
}

// Room for one more buffer entry, allocated in steps up to the room paid for, no further.
void Distribution::reserve_entry() {
  if (samples_.size() == samples_.capacity())
    samples_.reserve(static_cast<size_t>(
        std::min<int64_t>(buffer_cap_, std::max<int64_t>(16, 2 * static_cast<int64_t>(samples_.capacity())))));
}

void Distribution::flush_pending() {
  if (pending_ == 0) return;
  buffer_repeats(pending_);
  pending_ = 0;
}

// `n` more of the last buffered sample: the count of a trailing -k entry grows, or one is
// appended (the room was paid for: the samples stay within buffer_cap_).
void Distribution::buffer_repeats(int64_t n) {
  if (samples_.back() < 0) {
    samples_.back() -= n;
  } else {
    reserve_entry();
    samples_.push_back(-n);
  }
  buffered_ += n;
}

// Called once make_room said yes: buffered_ < buffer_cap_, so the entries (never more than the
// samples) fit in the room paid for; they are allocated in steps up to that room, no further.
void Distribution::buffer_sample(int64_t v) {
  if (buffered_ > 0 && v == last_value_) return buffer_repeats(1);
  reserve_entry();
  samples_.push_back(v);
  last_value_ = v;
  ++buffered_;
}

bool Distribution::make_room() {
  const auto held = [this] { return static_cast<int64_t>(runs_.size()) + buffered_; };
  if (buffered_ == buffer_cap_) {
    const bool full = buffered_ >= std::max(kMergeAt, static_cast<int64_t>(runs_.size()));
    if (full || !grow_samples()) {
      if (!merge_samples()) return false;
      if (buffer_cap_ == 0 && !grow_samples()) return false;
    }
  }
  if (held() < kExactLimit) return true;
  // One more distinct value might pass the limit: merge to count the distinct values so far.
  return merge_samples() && held() < kExactLimit;
}

bool Distribution::grow_samples() {
  const int64_t cap = buffer_cap_;
  const int64_t limit = std::max(kMergeAt, static_cast<int64_t>(runs_.size()));
  if (cap >= limit) return false;
  int64_t extra = std::min(limit, std::max<int64_t>(16, cap * 2)) - cap;
  if (budget_) {
    extra = std::min(extra, budget_->remaining);
    if (extra <= 0) return false;
    budget_->remaining -= extra;
  }
  buffer_cap_ = cap + extra;  // the entries themselves are allocated as they come (at most this many)
  return true;
}

bool Distribution::merge_samples() {
  if (buffered_ == 0) return true;
  std::vector<Run> merged = sorted_runs(true);
  const int64_t grown = 2 * (static_cast<int64_t>(merged.capacity()) - static_cast<int64_t>(runs_.capacity()));
  if (budget_ && grown > 0) {
    if (grown > budget_->remaining) return false;
    budget_->remaining -= grown;
  } else if (budget_) {
    budget_->remaining -= grown;  // gives back what the old runs held
  }
  runs_ = std::move(merged);
  samples_.clear();  // the buffer keeps its capacity (and its share of the budget)
  buffered_ = 0;
  return true;
}

std::vector<Distribution::Run> Distribution::sorted_runs(bool exact_capacity) const {
  // The buffer as (value, count) pairs, sorted by value (equal values stay separate pairs).
  std::vector<Run> recent;
  recent.reserve(samples_.size());
  for (int64_t e : samples_) {
    if (e < 0) recent.back().count -= e;
    else recent.push_back({e, 1});
  }
  if (pending_ > 0) recent.back().count += pending_;  // repeats of the last sample not yet written
  std::sort(recent.begin(), recent.end(), [](const Run& a, const Run& b) { return a.value < b.value; });
  if (runs_.empty()) {
    // Nothing to merge with (the common case at the end of a short run): equal neighbours are
    // joined in place.
    size_t out = 0;
    for (size_t i = 0; i < recent.size(); ++i) {
      if (out > 0 && recent[out - 1].value == recent[i].value) recent[out - 1].count += recent[i].count;
      else recent[out++] = recent[i];
    }
    recent.resize(out);
    if (exact_capacity) recent.shrink_to_fit();
    return recent;
  }
  std::vector<Run> merged;
  size_t distinct = 0;
  for (size_t i = 0; i < recent.size(); ++i)
    distinct += (i == 0 || recent[i].value != recent[i - 1].value) ? 1 : 0;
  merged.reserve(runs_.size() + distinct);
  auto push = [&merged](int64_t value, int64_t n) {
    if (!merged.empty() && merged.back().value == value) {
      merged.back().count += n;
    } else {
      merged.push_back({value, n});
    }
  };
  size_t r = 0;
  for (const Run& s : recent) {
    while (r < runs_.size() && runs_[r].value < s.value) push(runs_[r].value, runs_[r].count), ++r;
    push(s.value, s.count);
  }
  for (; r < runs_.size(); ++r) push(runs_[r].value, runs_[r].count);
  if (exact_capacity) merged.shrink_to_fit();
  return merged;
}

void Distribution::count_in_histogram(int64_t v, int64_t n) {
  const int b = bucket_of(static_cast<uint64_t>(v));
  std::vector<int64_t>& row = rows_[static_cast<size_t>(b / kSubBuckets)];
  if (row.empty()) row.assign(kSubBuckets, 0);
  row[static_cast<size_t>(b % kSubBuckets)] += n;
}

void Distribution::fold_into_histogram() {
  rows_.resize(kBucketCount / kSubBuckets);
  for (const Run& r : runs_) count_in_histogram(r.value, r.count);
  int64_t last = 0;
  for (int64_t e : samples_) {
    if (e < 0) {
      count_in_histogram(last, -e);
    } else {
      count_in_histogram(e);
      last = e;
    }
  }
  if (budget_) budget_->remaining += buffer_cap_ + 2 * static_cast<int64_t>(runs_.capacity());
  std::vector<int64_t>().swap(samples_);  // release the memory, not just the size
  buffered_ = buffer_cap_ = 0;
  std::vector<Run>().swap(runs_);
}

int64_t Distribution::memory_bytes() const {
  int64_t bytes = static_cast<int64_t>(samples_.capacity() * sizeof(int64_t) + runs_.capacity() * sizeof(Run)) +
                  static_cast<int64_t>(rows_.capacity() * sizeof(std::vector<int64_t>));
  for (const auto& row : rows_) bytes += static_cast<int64_t>(row.capacity() * sizeof(int64_t));
  return bytes;
}

namespace {

// The bucket of v when each power of two from 2^bits up is split into 2^bits buckets (values
// below 2^bits have one each): [lo, hi]. Buckets of fewer bits contain whole buckets of more.
std::pair<uint64_t, uint64_t> coarse_bucket(uint64_t v, int bits) {
  if (v < (uint64_t{1} << bits)) return {v, v};
  const int shift = static_cast<int>(std::bit_width(v)) - 1 - bits;
  const uint64_t lo = (v >> shift) << shift;
  return {lo, lo + ((uint64_t{1} << shift) - 1)};
}

}  // namespace

std::vector<HistogramBucket> Distribution::log_linear(std::vector<HistogramBucket> fine) const {
  // Halve the resolution until the non-empty buckets fit (at 0 bits a bucket is a power of two,
  // at most 64 of them, so this ends).
  for (int bits = kSubBucketBits; static_cast<int64_t>(fine.size()) > kMaxHistogramBuckets && bits > 0;) {
    --bits;
    std::vector<HistogramBucket> coarse;
    for (const HistogramBucket& b : fine) {
      auto [lo, hi] = coarse_bucket(static_cast<uint64_t>(b.lo), bits);
      if (!coarse.empty() && coarse.back().lo == static_cast<int64_t>(lo)) {
        coarse.back().count += b.count;
      } else {
        coarse.push_back({static_cast<int64_t>(lo), static_cast<int64_t>(hi), b.count});
      }
    }
    fine = std::move(coarse);
  }
  // No bucket reaches past the samples: the first starts at min, the last ends at max.
  if (!fine.empty()) {
    fine.front().lo = std::max(fine.front().lo, min_);
    fine.back().hi = std::min(fine.back().hi, max_);
  }
  return fine;
}

Summary Distribution::summary() const {
  Summary s;
  if (count_ == 0) return s;
  s.count = count_;
  s.min = min_;
  s.max = max_;
  s.max_at_ns = max_at_;
  s.max_job = max_job_;
  const Sum n = static_cast<Sum>(count_);
  s.mean = static_cast<int64_t>((sum_ + n / 2) / n);  // round half up; values are >= 0

  std::array<int64_t, kRanks.size()> value{};
  if (rows_.empty()) {
    // The runs, merged with the buffer, are the sorted samples: percentiles are read at their
    // ranks and the runs are the exact histogram.
    const std::vector<Run> runs = sorted_runs(false);
    int64_t seen = 0;
    size_t next = 0;
    for (const Run& r : runs) {
      seen += r.count;
      while (next < kRanks.size() && seen >= rank_of(kRanks[next], count_)) value[next++] = r.value;
    }
    std::vector<HistogramBucket> exact;
    exact.reserve(runs.size());
    for (const Run& r : runs) exact.push_back({r.value, r.value, r.count});
    if (static_cast<int64_t>(exact.size()) <= kExactHistogramValues) {
      s.histogram = std::move(exact);
    } else {
      std::vector<HistogramBucket> fine;
      for (const HistogramBucket& b : exact) {
        const int k = bucket_of(static_cast<uint64_t>(b.lo));
        if (!fine.empty() && fine.back().lo == bucket_lower(k)) {
          fine.back().count += b.count;
        } else {
          fine.push_back({bucket_lower(k), bucket_upper(k), b.count});
        }
      }
      s.histogram = log_linear(std::move(fine));
    }
  } else {
    std::vector<HistogramBucket> fine;
    for (int b = 0; b < kBucketCount; ++b) {
      const std::vector<int64_t>& row = rows_[static_cast<size_t>(b / kSubBuckets)];
      if (row.empty()) {
        b += kSubBuckets - 1 - b % kSubBuckets;
        continue;
      }
      if (int64_t c = row[static_cast<size_t>(b % kSubBuckets)]; c > 0) fine.push_back({bucket_lower(b), bucket_upper(b), c});
    }
    s.histogram = log_linear(std::move(fine));

    int64_t seen = 0;
    size_t next = 0;
    for (int b = 0; b < kBucketCount && next < kRanks.size(); ++b) {
      const std::vector<int64_t>& row = rows_[static_cast<size_t>(b / kSubBuckets)];
      if (row.empty()) {
        b += kSubBuckets - 1 - b % kSubBuckets;  // an unused power of two: skip its row
        continue;
      }
      seen += row[static_cast<size_t>(b % kSubBuckets)];
      while (next < kRanks.size() && seen >= rank_of(kRanks[next], count_)) {
        value[next++] = std::min(bucket_upper(b), max_);
      }
    }
  }
  s.p50 = value[0];
  s.p90 = value[1];
  s.p99 = value[2];
  s.p999 = value[3];
  return s;
}

}  // namespace sim::metrics
