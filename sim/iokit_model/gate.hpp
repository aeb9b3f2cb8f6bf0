// A work loop's gate: an IORecursiveLock {mutex, owner, count} (xnu-facts.md 7, 9.1), traced as
// a lock so that waits and holds show up like any other lock's.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "sim/dispatcher/dispatcher.hpp"

namespace sim::iokit_model {

using dispatcher::Thread;

// sim: sim/sync did not exist when this was written, so the mutex under the gate is modelled
// here: FIFO wake of one waiter on release, and the woken thread retries (no hand-off, so a
// running thread may barge in first, as with xnu's mutex). Not modelled: the adaptive spin
// while the owner runs, and mutex promotion (no effect on kernel-thread holders, base >= 80).
class Gate {
 public:
  Gate(int32_t workloop, int32_t lock_index) : workloop_(workloop), lock_index_(lock_index) {}
  void attach(dispatcher::Dispatcher* d) { d_ = d; }

  // models xnu-792 iokit/Kernel/IOLocks.cpp IORecursiveLockLock: true when `t` (running) now
  // holds the gate, re-entry only counting; false when it blocked (BlockReason::gate) and must
  // call close again when it runs (the retry after the FIFO wakeup).
  bool close(Thread& t);
  // The re-lock after a sleep (IORecursiveLockSleep): as close, but the gate is taken `depth`
  // deep at once. `t` must not hold it.
  bool reacquire(Thread& t, int depth);
  // models IORecursiveLockUnlock: one level; at 0 the gate is free and the first waiter woken.
  void open(Thread& t);
  // The first half of IORecursiveLockSleep: releases the gate fully and returns the depth the
  // thread held it at, to be restored by reacquire.
  int release_for_sleep(Thread& t);

  bool held_by(const Thread& t) const { return owner_ == t.index; }
  int32_t owner() const { return owner_; }
  int depth() const { return depth_; }
  int32_t lock_index() const { return lock_index_; }
  size_t waiting() const { return queue_.size(); }

 private:
  bool take(Thread& t, int depth);

  struct Waiter {
    int32_t thread;
    core::SimTime since;  // first failed attempt of the current acquisition
  };

  dispatcher::Dispatcher* d_ = nullptr;
  int32_t workloop_;
  int32_t lock_index_;
  int32_t owner_ = -1;
  int depth_ = 0;
  core::SimTime held_since_;
  std::deque<int32_t> queue_;    // blocked threads, FIFO
  std::vector<Waiter> waiters_;  // threads trying to acquire (blocked or woken to retry)
};

}  // namespace sim::iokit_model
