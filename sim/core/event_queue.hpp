// The event queue: a 4-ary heap ordered by (time, class rank, sequence), with lazy cancellation.
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

// A 4-ary heap: half the levels of a binary heap, and the four children of a node share a cache
// line or two, so a pop at 10,000 pending events (one release per periodic thread) costs about
// half as much. The order is the total order (time, rank, seq), so the heap's shape cannot
// change which event comes first: runs are identical whatever the heap's arity.
class EventQueue {
 public:
  void push(SimTime time, uint32_t rank, uint16_t kind, int32_t target, uint32_t generation = 0,
            int64_t arg = 0) {
    if (rank >= kMaxRank || next_seq_ >= kMaxSeq) throw std::length_error("EventQueue: rank or sequence out of range");
    heap_.push_back(Node{time.ns, (uint64_t{rank} << kSeqBits) | next_seq_++, kind, target, generation, arg});
    sift_up(heap_.size() - 1);
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The earliest event (valid until the next push or pop).
  Event top() const { return to_event(heap_.front()); }
  SimTime top_time() const { return SimTime{heap_.front().time}; }

  Event pop() {
    Event e = to_event(heap_.front());
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    return e;
  }

  uint64_t pushed() const { return next_seq_; }

 private:
  static constexpr int kSeqBits = 56;
  static constexpr uint64_t kMaxSeq = uint64_t{1} << kSeqBits;  // 7.2e16 events
  static constexpr uint32_t kMaxRank = 256;
  static constexpr size_t kArity = 4;

  struct Node {
    int64_t time;
    uint64_t key;  // rank in the top 8 bits, then the insertion sequence
    uint16_t kind;
    int32_t target;
    uint32_t generation;
    int64_t arg;
  };
  static Event to_event(const Node& n) {
    return Event{SimTime{n.time}, static_cast<uint32_t>(n.key >> kSeqBits), n.key & (kMaxSeq - 1), n.kind,
                 n.target, n.generation, n.arg};
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

  std::vector<Node> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace sim::core
