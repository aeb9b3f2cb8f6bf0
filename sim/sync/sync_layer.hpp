// The synchronisation layer: events (wait queues), mutexes with their protocols, spin locks,
// rw locks and the BSD funnels, executed for the dispatcher's interpreter (xnu-facts.md 5.7,
// 5.8, 6 and 7). It owns the state of every lock and event; the dispatcher owns the threads.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/dispatcher/dispatcher.hpp"
#include "sim/sync/lock.hpp"
#include "sim/sync/wait_queue.hpp"

namespace sim::sync {

using core::Duration;
using core::SimTime;
using core::WakeReason;
using model::Thread;

// What the builder tells the layer about the scenario.
struct SyncSetup {
  std::vector<LockConfig> locks;  // the scenario's locks, in declaration order
  size_t events = 0;
  // Per event: its semaphore count at the start, or -1 for a plain event (missing = plain).
  std::vector<int64_t> semaphore_counts;
  bool merged_funnels = false;    // machine.funnels "merged", or xnu 792 (one funnel)
  bool kernel_funnel = false;     // some op names the kernel funnel
  bool network_funnel = false;    // some op names the network funnel
  std::vector<std::string> interrupts;  // interrupt source names, for panic reports
};

// A lock a thread holds, and since when (for lock_released's hold time).
struct Held {
  int32_t lock = -1;
  SimTime since;
  model::LockMode mode = model::LockMode::exclusive;
  bool interrupts_off = false;  // taken by IOSimpleLockLockDisableInterrupt: unlock enables them
};

// A contended acquisition, from lock_contended to lock_acquired (however many retries).
struct Attempt {
  int32_t lock = -1;
  model::LockMode mode = model::LockMode::exclusive;
  SimTime since;
  bool spun = false;  // its adaptive mutex spin is used up until the next wakeup
};

// What the layer knows about one thread.
struct ThreadSync {
  // Contended acquisitions: one, or two when a thread woken to retry a lock must first win back
  // its funnel (xnu keeps a pending_promoter stack for this).
  std::vector<Attempt> attempts;
  int64_t last_waited = 0;          // ns waited by its latest acquisition
  int32_t waiting_on = -1;          // lock whose wait queue holds it
  int32_t handed = -1;              // lock handed to it while it waited: its op is complete
  std::vector<int32_t> pending;     // xnu mutexes whose lck_mtx_waiters count it (at most
                                    // two: a mutex and the funnel it re-takes first)
  int32_t waiting_event = -1;       // event whose wait queue holds it
  uint32_t wait_generation = 0;     // counts its event waits: a stale timeout finds it changed
  bool wait_interruptible = false;  // its event wait is THREAD_INTERRUPTIBLE (clear_wait ends it)
  int xnu_pri = -1;                 // while xnu-promoted (TH_MODE_PROMOTED): its floor, the
                                    // level it had when marked or was raised to; -1 otherwise
  int boost = -1;                   // inherit/ceiling boost, -1 none
  std::vector<Held> held;           // in acquisition order
  const Attempt* attempt(int32_t lock) const {
    auto it = std::find_if(attempts.begin(), attempts.end(), [&](const Attempt& a) { return a.lock == lock; });
    return it == attempts.end() ? nullptr : &*it;
  }
  Attempt* attempt(int32_t lock) {
    auto it = std::find_if(attempts.begin(), attempts.end(), [&](const Attempt& a) { return a.lock == lock; });
    return it == attempts.end() ? nullptr : &*it;
  }
  int funnel = -1;                  // funnel it set (0 kernel, 1 network), -1 none
  bool funnel_held = false;         // the funnel's mutex is held now (not between a voluntary
                                    // block and the re-take)
  int switching_to = -1;            // funnel_switch released its old funnel and waits for this one
};

class SyncLayer final : public dispatcher::OpHandler,
                        public dispatcher::BlockHook,
                        public dispatcher::SwitchObserver,
                        public dispatcher::EventHandler,
                        public dispatcher::InterruptLocks {
 public:
  // PPC adaptive mutex spin (MutexSpin) and the simple-lock timeout (LockTimeOut), xnu-facts.md 7.
  static constexpr Duration kMutexSpin = Duration::microseconds(10);
  static constexpr Duration kLockTimeOut = Duration::milliseconds(250);

  // Borrows the dispatcher, which must outlive the layer. Funnel mutexes are appended to the
  // scenario's locks: "kernel_funnel", then "network_funnel" (split funnels only), when used.
  SyncLayer(dispatcher::Dispatcher& d, SyncSetup setup);

  // Registers the op handlers (lock, unlock, wait, signal, funnel, funnel_switch, funnel_merge,
  // clear_wait, terminate_thread) and, when the scenario has
  // funnels or spin locks, the block hook (funnel drop and re-take, spin-lock panic reports).
  void attach();

  // Lock names by trace index (for NameTable::locks and results).
  std::vector<std::string> lock_names() const;

  // --- for the IOKit layer: a work loop's gate is an IORecursiveLock over one of these mutexes
  // (xnu-facts.md 7), so it spins, promotes and wakes exactly like any xnu mutex. The gate
  // itself counts re-entries; these see only the outermost acquisition and release.
  // True when the running thread `t` now holds mutex `l`; false when it spins or blocked, and
  // must call again when it runs (the xnu retry).
  bool acquire_mutex(Thread& t, int32_t l);
  void release_mutex(Thread& t, int32_t l);

  // --- read access (tests, invariant checks) ---------------------------------------------
  const std::vector<Lock>& locks() const { return locks_; }
  const ThreadSync& thread_state(int32_t thread) const { return threads_[static_cast<size_t>(thread)]; }
  const WaitQueue& event_waiters(int32_t event) const { return events_[static_cast<size_t>(event)]; }
  // A semaphore's preposted count (signals nobody has consumed yet); -1 for a plain event.
  int64_t semaphore_count(int32_t event) const { return counts_[static_cast<size_t>(event)]; }
  // The lock index of funnel 0 (kernel) or 1 (network), -1 when it does not exist; with merged
  // funnels both name the kernel funnel.
  int32_t funnel_lock(int funnel) const { return funnel_lock_[static_cast<size_t>(funnel_id(funnel))]; }

  // --- OpHandler, BlockHook --------------------------------------------------------------
  bool execute(Thread& t, const model::Op& op) override;
  void on_voluntary_block(Thread& t) override;
  bool before_continue(Thread& t) override;
  std::string preemption_disabled_by(const Thread& t) const override;
  // SwitchObserver: a mutex owner that leaves its CPU ends the adaptive spins for its mutexes.
  void left_cpu(Thread& t, int cpu) override;
  // SwitchObserver: a thread that ends holding a mutex or rw lock leaves it held for ever
  // (traced as lock_held_at_exit, one per lock); holding a spin lock is a simulated panic.
  void exiting(Thread& t) override;
  // EventHandler: a timed wait's deadline (assert_wait_deadline's timer).
  void on_event(const core::Event& e) override;
  // InterruptLocks: spin locks in primary interrupt handlers.
  bool irq_lock(int cpu, int32_t source, int32_t lock) override;
  void irq_unlock(int cpu, int32_t source, int32_t lock) override;
  [[noreturn]] void irq_spin_timed_out(int cpu, int32_t source, int32_t lock) override;

 private:
  enum class Acquire : uint8_t { done, waiting };

  ThreadSync& ts(const Thread& t) { return threads_[static_cast<size_t>(t.index)]; }
  Thread& th(int32_t i) { return d_.thread(i); }
  SimTime now() const { return d_.now(); }
  int funnel_id(int f) const { return merged_ ? 0 : f; }
  // False when an AST is pending on t's CPU: the interpreter stops so thread_select decides.
  bool go_on(const Thread& t) const;
  std::string describe(int32_t lock) const;

  // Ops.
  bool lock_op(Thread& t, int32_t l, model::LockMode mode);
  bool try_lock_op(Thread& t, const model::Op& op);
  bool upgrade_op(Thread& t, const model::Op& op);
  void downgrade_op(Thread& t, int32_t l);
  // Drops t's read hold of rw lock `l` (traced lock_released) without waking anybody.
  void drop_read_hold(Thread& t, int32_t l, const char* routine);
  bool wait_op(Thread& t, int32_t e, Duration timeout, bool interruptible);
  void clear_wait_op(Thread& t, int32_t target);
  void signal_op(Thread& t, int32_t e, bool all, int32_t only);
  void end_event_wait(int32_t thread, WakeReason why);
  bool funnel_op(Thread& t, model::FunnelName name);
  bool funnel_switch_op(Thread& t, const model::Op& op);
  bool funnel_merge_op(Thread& t);
  bool terminate_op(Thread& t, int32_t target);
  Acquire funnel_acquire(Thread& t, int f);

  // Acquisition and release, by kind.
  Acquire mutex_acquire(Thread& t, int32_t l);
  Acquire spin_acquire(Thread& t, int32_t l);
  Acquire rw_acquire(Thread& t, int32_t l, model::LockMode mode);
  void contend(Thread& t, int32_t l, model::LockMode mode);
  void wait_for(Thread& t, int32_t l);
  void take(Thread& t, int32_t l, model::LockMode mode);
  void release(Thread& t, int32_t l, model::LockMode mode);
  void hand_off(int32_t l);
  // A released spin lock goes to the handler or thread that has spun longest (sim: handlers
  // first at equal times).
  void pass_spin_lock(int32_t l);
  void irq_emit(int cpu, int32_t source, int32_t lock, uint8_t what, int64_t b);
  void wake_waiter(int32_t thread);

  // Priorities.
  void lck_mtx_lock_wait(Thread& self, int32_t l);
  void lck_mtx_lock_acquire(Thread& t, int32_t l);
  void lck_mtx_unlock_wakeup(Thread& t, int32_t l);
  void mark_promoted(Thread& t);
  void promote(Thread& t, int pri);
  void unpromote(Thread& t);
  void refresh(int32_t thread, size_t depth = 0);
  void pass_on(const Thread& t, size_t depth);
  void update_promoted(Thread& t);

  dispatcher::Dispatcher& d_;
  std::vector<Lock> locks_;
  std::vector<WaitQueue> events_;
  std::vector<int64_t> counts_;     // per event: semaphore count, -1 plain event
  uint16_t timeout_kind_ = 0;       // event kind of wait timeouts (registered in attach)
  std::vector<ThreadSync> threads_;
  std::array<int32_t, 2> funnel_lock_{-1, -1};
  std::vector<std::string> interrupt_names_;
  bool merged_ = false;             // one funnel: at boot, or since a funnel_merge
  bool merged_at_run_ = false;      // by funnel_merge: the network funnel's old mutex still exists
};

}  // namespace sim::sync
