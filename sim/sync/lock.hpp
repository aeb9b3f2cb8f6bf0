// The state of one lock (mutex, spin lock, rw lock or funnel mutex) as the sync layer keeps it.
// Plain data; SyncLayer changes it. Lock indices are those of the trace (NameTable::locks): the
// scenario's locks in declaration order, then the funnels the scenario uses.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/time.hpp"

#include "sim/sync/wait_queue.hpp"

namespace sim::sync {

using core::SimTime;

enum class LockKind : uint8_t { mutex, spin, rw };

// How a mutex treats the priority of its holder (scenario `protocol`).
enum class Protocol : uint8_t {
  xnu,      // the promotion rules of xnu-792 lck_mtx_* (xnu-facts.md 7); FIFO wake one, retry
  none,     // no priority change; FIFO wake one, retry
  inherit,  // full transitive priority inheritance; hand-off to the highest waiter
  ceiling,  // immediate priority ceiling; hand-off to the highest waiter
};

struct LockConfig {
  std::string name;
  LockKind kind = LockKind::mutex;
  Protocol protocol = Protocol::xnu;
  int ceiling = 0;   // protocol ceiling only
  int funnel = -1;   // 0 kernel, 1 network when this lock is a funnel's mutex
};

struct Lock {
  LockConfig config;
  int32_t owner = -1;               // exclusive holder (mutex, spin, rw writer), -1 when none
  std::vector<int32_t> readers;     // rw: threads holding it for reading, in acquisition order
  WaitQueue waiters;                // blocked threads, FIFO
  std::vector<int32_t> spinners;    // threads spinning for it (spin locks; PPC adaptive mutex spin)
  // xnu-792 lck_mtx_t fields (protocol xnu): lck_mtx_pri, the highest waiter value seen while
  // contended, and lck_mtx_waiters, the threads between lck_mtx_lock_wait and acquisition
  // (woken but not yet running included).
  int pri = 0;
  int pending = 0;
  int want_write = 0;  // rw: writers waiting (they keep new readers out)
  // rw: the reader whose upgrade (lck_rw_lock_shared_to_exclusive) waits for the other readers
  // to leave, -1 none: xnu's want_upgrade. It keeps new readers and writers out, and a second
  // upgrade fails.
  int32_t upgrader = -1;
  // Spin locks and primary interrupt handlers: the CPU whose handler holds it (-1 none), and the
  // CPUs whose handlers spin for it with when each began, in order.
  int irq_owner = -1;
  std::vector<std::pair<int, SimTime>> irq_spinners;
  SimTime irq_since;  // when the handler took it

  bool held() const { return owner >= 0 || !readers.empty() || irq_owner >= 0; }
  bool is_mutex() const { return config.kind == LockKind::mutex; }
};

}  // namespace sim::sync
