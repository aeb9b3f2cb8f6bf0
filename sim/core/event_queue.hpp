// The event queue: a binary heap ordered by (time, class rank, sequence), with lazy cancellation.
#pragma once

#include <cstdint>
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

class EventQueue {
 public:
  void push(SimTime time, uint32_t rank, uint16_t kind, int32_t target, uint32_t generation = 0,
            int64_t arg = 0) {
    heap_.push_back(Event{time, rank, next_seq_++, kind, target, generation, arg});
    sift_up(heap_.size() - 1);
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const Event& top() const { return heap_.front(); }

  Event pop() {
    Event e = heap_.front();
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    return e;
  }

  uint64_t pushed() const { return next_seq_; }

 private:
  static bool before(const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.seq < b.seq;
  }
  void sift_up(size_t i) {
    Event e = heap_[i];
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!before(e, heap_[p])) break;
      heap_[i] = heap_[p];
      i = p;
    }
    heap_[i] = e;
  }
  void sift_down(size_t i) {
    Event e = heap_[i];
    size_t n = heap_.size();
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(heap_[c + 1], heap_[c])) ++c;
      if (!before(heap_[c], e)) break;
      heap_[i] = heap_[c];
      i = c;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace sim::core
