// A 128-level run queue: one FIFO list per priority, a bitmap of non-empty levels, count and
// urgency (queued TH_MODE_PREEMPT threads), as xnu's struct run_queue (xnu-facts.md 5.1).
// Links are intrusive (Thread::rq_next/rq_prev), so queue operations never allocate.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include "sim/model/priorities.hpp"
#include "sim/model/thread.hpp"

namespace sim::policies {

using model::Thread;

class RunQueue {
 public:
  // `threads` is the world's thread array (stable for the whole run); borrowed.
  explicit RunQueue(Thread* threads = nullptr) : threads_(threads) {
    heads_.fill(-1);
    tails_.fill(-1);
  }
  void attach(Thread* threads) { threads_ = threads; }

  // Highest non-empty level, or -1 when empty (xnu reports 0: level 0's bit is always set; we
  // keep -1 so that an idle-priority thread is not "equal" to an empty queue).
  int highq() const {
    if (bits_[1]) return 64 + 63 - std::countl_zero(bits_[1]);
    if (bits_[0]) return 63 - std::countl_zero(bits_[0]);
    return -1;
  }
  int count() const { return count_; }
  int urgency() const { return urgency_; }
  bool empty() const { return count_ == 0; }
  Thread* head(int level) const { return at(heads_[level]); }
  Thread* next(const Thread& t) const { return at(t.rq_next); }

  // Appends at the tail (or head) of the thread's sched_pri level.
  void enqueue(Thread& t, bool at_head) {
    int level = t.sched_pri;
    t.rq_level = static_cast<int16_t>(level);
    if (heads_[level] < 0) {
      t.rq_prev = t.rq_next = -1;
      heads_[level] = tails_[level] = t.index;
      set_bit(level);
    } else if (at_head) {
      t.rq_prev = -1;
      t.rq_next = heads_[level];
      threads_[heads_[level]].rq_prev = t.index;
      heads_[level] = t.index;
    } else {
      t.rq_next = -1;
      t.rq_prev = tails_[level];
      threads_[tails_[level]].rq_next = t.index;
      tails_[level] = t.index;
    }
    added(t);
  }

  // Inserts keeping the level sorted by rt_deadline; equal deadlines go after existing ones
  // (models xnu-792 osfmk/kern/sched_prim.c realtime_schedule_insert's queue walk).
  void enqueue_by_deadline(Thread& t) {
    int level = t.sched_pri;
    int32_t after = -1;
    for (int32_t i = tails_[level]; i >= 0; i = threads_[i].rq_prev) {
      if (threads_[i].rt_deadline <= t.rt_deadline) {
        after = i;
        break;
      }
    }
    t.rq_level = static_cast<int16_t>(level);
    if (heads_[level] < 0) {
      t.rq_prev = t.rq_next = -1;
      heads_[level] = tails_[level] = t.index;
      set_bit(level);
    } else if (after < 0) {
      t.rq_prev = -1;
      t.rq_next = heads_[level];
      threads_[heads_[level]].rq_prev = t.index;
      heads_[level] = t.index;
    } else {
      t.rq_prev = after;
      t.rq_next = threads_[after].rq_next;
      if (t.rq_next >= 0) threads_[t.rq_next].rq_prev = t.index;
      else tails_[level] = t.index;
      threads_[after].rq_next = t.index;
    }
    added(t);
  }

  void remove(Thread& t) {
    int level = t.rq_level;
    if (t.rq_prev >= 0) threads_[t.rq_prev].rq_next = t.rq_next;
    else heads_[level] = t.rq_next;
    if (t.rq_next >= 0) threads_[t.rq_next].rq_prev = t.rq_prev;
    else tails_[level] = t.rq_prev;
    if (heads_[level] < 0) clear_bit(level);
    t.rq_prev = t.rq_next = -1;
    t.rq_level = -1;
    --count_;
    if (t.urgent) --urgency_;
  }

  // Calls fn(thread) for every queued thread, highest level first, FIFO within a level (the
  // order of xnu's runq_scan). fn must not change the queue.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (int level = highq(); level >= 0; --level)
      for (int32_t i = heads_[level]; i >= 0; i = threads_[i].rq_next) fn(threads_[i]);
  }

  // Removes and returns the head of the highest level, or nullptr.
  Thread* dequeue_highest() {
    int level = highq();
    if (level < 0) return nullptr;
    Thread* t = &threads_[heads_[level]];
    remove(*t);
    return t;
  }

 private:
  Thread* at(int32_t i) const { return i < 0 ? nullptr : &threads_[i]; }
  void added(Thread& t) {
    ++count_;
    if (t.urgent) ++urgency_;
  }
  void set_bit(int level) { bits_[level >> 6] |= uint64_t{1} << (level & 63); }
  void clear_bit(int level) { bits_[level >> 6] &= ~(uint64_t{1} << (level & 63)); }

  Thread* threads_;
  std::array<int32_t, model::NRQS> heads_;
  std::array<int32_t, model::NRQS> tails_;
  std::array<uint64_t, 2> bits_{};
  int count_ = 0;
  int urgency_ = 0;
};

}  // namespace sim::policies
