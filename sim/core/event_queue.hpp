// The event queue: events ordered by (time, class rank, sequence), with lazy cancellation.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "sim/core/time.hpp"

namespace sim::core {

// One pending event. `kind` and `rank` are chosen by the layer that schedules it; `target` and
// `arg` are its operands. `generation` implements lazy cancellation: the owner of `target` keeps a
// counter, bumps it to cancel, and ignores popped events whose generation no longer matches.
struct Event {
  SimTime time;
  uint32_t rank = 0;      // class rank: lower runs first within one instant
  uint64_t seq = 0;       // insertion order, the final tie-break
  uint16_t kind = 0;
  int32_t target = -1;
  uint32_t generation = 0;
  int64_t arg = 0;
};

// Events are kept in buckets: a bucket holds events of one (time, rank) in insertion order, and a
// 4-ary heap orders the buckets by (time, rank, sequence of the bucket's first event). Many
// threads with a few periods have their next releases at a few instants, so 10,000 pending
// releases sit in a handful of buckets read front to back, instead of a 10,000-node heap whose
// every pop walks seven levels (issue 13: events per second must not fall with thread count).
//
// The order is exactly (time, rank, seq): a push goes to the open bucket of its (time, rank) if
// the small cache of open buckets names one, else to a new bucket. A bucket leaves the cache only
// to be closed for good, so the events of an older bucket of a (time, rank) all precede those of
// a newer one, whose first sequence number is therefore larger; within a bucket events are in
// push order, which is sequence order.
class EventQueue {
 public:
  void push(SimTime time, uint32_t rank, uint16_t kind, int32_t target, uint32_t generation = 0,
            int64_t arg = 0) {
    if (rank >= kMaxRank || next_seq_ >= kMaxSeq) throw std::length_error("EventQueue: rank or sequence out of range");
    const uint64_t seq = next_seq_++;
    Slot& slot = cache_[slot_of(time.ns, rank)];
    uint32_t b = slot.bucket;
    if (b == kNone || slot.generation != buckets_[b].generation || buckets_[b].time != time.ns ||
        buckets_[b].rank != rank) {
      b = open_bucket(time.ns, rank, seq);
      slot.bucket = b;
      slot.generation = buckets_[b].generation;
    }
    buckets_[b].items.push_back(Item{kind, target, generation, arg, seq});
    ++size_;
  }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // The earliest event (valid until the next push or pop).
  Event top() const {
    const Bucket& b = buckets_[heap_.front().bucket];
    return to_event(b, b.items[b.read]);
  }
  SimTime top_time() const { return SimTime{heap_.front().time}; }

  Event pop() {
    const uint32_t id = heap_.front().bucket;
    Bucket& b = buckets_[id];
    Event e = to_event(b, b.items[b.read]);
    --size_;
    if (++b.read == b.items.size()) {
      // Emptied: it leaves the heap and the cache (its generation moves on) and is reused.
      b.items.clear();
      b.read = 0;
      ++b.generation;
      free_.push_back(id);
      heap_.front() = heap_.back();
      heap_.pop_back();
      if (!heap_.empty()) sift_down(0);
    }
    return e;
  }

  uint64_t pushed() const { return next_seq_; }

 private:
  static constexpr int kSeqBits = 56;
  static constexpr uint64_t kMaxSeq = uint64_t{1} << kSeqBits;  // 7.2e16 events
  static constexpr uint32_t kMaxRank = 256;
  static constexpr size_t kArity = 4;
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kCacheSlots = 256;  // open buckets found by (time, rank)

  struct Item {
    uint16_t kind;
    int32_t target;
    uint32_t generation;
    int64_t arg;
    uint64_t seq;
  };
  struct Bucket {
    int64_t time = 0;
    uint32_t rank = 0;
    uint32_t generation = 0;  // bumped when emptied: cache entries naming it go stale
    size_t read = 0;          // items before this one were popped
    std::vector<Item> items;
  };
  struct Node {
    int64_t time;
    uint64_t key;  // rank in the top 8 bits, then the sequence of the bucket's first event
    uint32_t bucket;
  };
  struct Slot {
    uint32_t bucket = kNone;
    uint32_t generation = 0;
  };

  static size_t slot_of(int64_t time, uint32_t rank) {
    uint64_t h = (static_cast<uint64_t>(time) ^ (uint64_t{rank} << 59)) * 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>(h >> 56) & (kCacheSlots - 1);
  }
  static Event to_event(const Bucket& b, const Item& it) {
    return Event{SimTime{b.time}, b.rank, it.seq, it.kind, it.target, it.generation, it.arg};
  }
  uint32_t open_bucket(int64_t time, uint32_t rank, uint64_t seq) {
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<uint32_t>(buckets_.size());
      buckets_.emplace_back();
    }
    Bucket& b = buckets_[id];
    b.time = time;
    b.rank = rank;
    heap_.push_back(Node{time, (uint64_t{rank} << kSeqBits) | seq, id});
    sift_up(heap_.size() - 1);
    return id;
  }
  static bool before(const Node& a, const Node& b) {
    return a.time < b.time || (a.time == b.time && a.key < b.key);
  }
  void sift_up(size_t i) {
    Node e = heap_[i];
    while (i > 0) {
      size_t p = (i - 1) / kArity;
      if (!before(e, heap_[p])) break;
      heap_[i] = heap_[p];
      i = p;
    }
    heap_[i] = e;
  }
  void sift_down(size_t i) {
    Node e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      const size_t first = kArity * i + 1;
      if (first >= n) break;
      size_t c = first;
      const size_t last = first + kArity < n ? first + kArity : n;
      for (size_t k = first + 1; k < last; ++k)
        if (before(heap_[k], heap_[c])) c = k;
      if (!before(heap_[c], e)) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = e;
  }

  std::vector<Node> heap_;       // buckets with pending events
  std::vector<Bucket> buckets_;  // by id; emptied ones are on free_
  std::vector<uint32_t> free_;
  Slot cache_[kCacheSlots];
  size_t size_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace sim::core
