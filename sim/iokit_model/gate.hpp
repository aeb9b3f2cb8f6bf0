// A work loop's gate: an IORecursiveLock {mutex, owner, count} (xnu-facts.md 7, 9.1).
#pragma once

#include <cstdint>

#include "sim/dispatcher/dispatcher.hpp"
#include "sim/sync/sync_layer.hpp"

namespace sim::iokit_model {

using dispatcher::Thread;

// The mutex under the gate is a sim/sync xnu mutex (adaptive spin, promotion, FIFO wake of one
// waiter, retry), so gate waits and holds are traced and measured like any lock's.
class Gate {
 public:
  Gate(int32_t workloop, int32_t lock_index) : workloop_(workloop), lock_index_(lock_index) {}
  void attach(dispatcher::Dispatcher* d, sync::SyncLayer* sync) {
    d_ = d;
    sync_ = sync;
  }

  // models xnu-792 iokit/Kernel/IOLocks.cpp IORecursiveLockLock: true when `t` (running) now
  // holds the gate, re-entry only counting; false when it spins or blocked on the mutex and must
  // call close again when it runs (the retry after the FIFO wakeup).
  bool close(Thread& t);
  // The re-lock after a sleep (IORecursiveLockSleep): as close, but the gate is taken `depth`
  // deep at once. `t` must not hold it.
  bool reacquire(Thread& t, int depth);
  // models IORecursiveLockUnlock: one level; at 0 the mutex is released (and a waiter woken).
  void open(Thread& t);
  // The first half of IORecursiveLockSleep: releases the gate fully and returns the depth the
  // thread held it at, to be restored by reacquire.
  int release_for_sleep(Thread& t);

  bool held_by(const Thread& t) const { return owner_ == t.index; }
  int32_t owner() const { return owner_; }
  int depth() const { return depth_; }
  int32_t lock_index() const { return lock_index_; }

 private:
  bool take(Thread& t, int depth);

  dispatcher::Dispatcher* d_ = nullptr;
  sync::SyncLayer* sync_ = nullptr;
  int32_t workloop_;
  int32_t lock_index_;
  int32_t owner_ = -1;
  int depth_ = 0;
};

}  // namespace sim::iokit_model
