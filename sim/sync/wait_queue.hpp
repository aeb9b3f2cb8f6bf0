// A wait queue: the threads blocked on one event or lock, in arrival order (xnu-facts.md 5.8:
// xnu's wait queues are FIFO; wakeup_one takes the first waiter whatever its priority).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace sim::sync {

class WaitQueue {
 public:
  void push(int32_t thread) { q_.push_back(thread); }
  bool empty() const { return q_.empty(); }
  size_t size() const { return q_.size(); }
  int32_t front() const { return q_.front(); }
  // Removes and returns the first waiter.
  int32_t pop() {
    int32_t t = q_.front();
    q_.pop_front();
    return t;
  }
  // Removes `thread` wherever it is (a hand-off to a waiter that is not first).
  void remove(int32_t thread) {
    auto it = std::find(q_.begin(), q_.end(), thread);
    if (it != q_.end()) q_.erase(it);
  }
  bool contains(int32_t thread) const { return std::find(q_.begin(), q_.end(), thread) != q_.end(); }
  // Waiters in arrival order (first = next to be woken by wakeup_one).
  const std::deque<int32_t>& waiters() const { return q_; }

 private:
  std::deque<int32_t> q_;
};

}  // namespace sim::sync
