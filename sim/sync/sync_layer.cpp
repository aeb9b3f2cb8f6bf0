// Locks, events and funnels for the dispatcher's interpreter. Mutex protocol `xnu` models
// xnu-792 osfmk/kern/locks.c (lck_mtx_lock_wait, lck_mtx_lock_acquire, lck_mtx_unlock_wakeup);
// funnels model osfmk/kern/thread.c thread_funnel_set and the drop/re-take in
// sched_prim.c thread_block_reason (xnu-facts.md 5.7, 6, 7).
#include "sim/sync/sync_layer.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/model/op_table.hpp"
#include "sim/model/priorities.hpp"

namespace sim::sync {

using core::BlockReason;
using core::PriorityReason;
using core::TraceEvent;
using core::TraceKind;
using core::WakeReason;
using model::LockMode;
using model::OpKind;
using model::ThreadState;

namespace {

const char* funnel_name(int f) { return f == 1 ? "network" : "kernel"; }

}  // namespace

SyncLayer::SyncLayer(dispatcher::Dispatcher& d, SyncSetup setup) : d_(d), merged_(setup.merged_funnels) {
  for (LockConfig& c : setup.locks) {
    Lock l;
    l.config = std::move(c);
    l.config.funnel = -1;
    locks_.push_back(std::move(l));
  }
  auto add_funnel = [&](int f) {
    Lock l;
    l.config.name = fmt::format("{}_funnel", funnel_name(f));
    l.config.kind = LockKind::mutex;
    l.config.protocol = Protocol::xnu;  // a funnel wraps an ordinary kernel mutex (section 6)
    l.config.funnel = f;
    funnel_lock_[static_cast<size_t>(f)] = static_cast<int32_t>(locks_.size());
    locks_.push_back(std::move(l));
  };
  if (setup.kernel_funnel || (merged_ && setup.network_funnel)) add_funnel(0);
  if (setup.network_funnel && !merged_) add_funnel(1);
  events_.resize(setup.events);
  counts_ = std::move(setup.semaphore_counts);
  counts_.resize(setup.events, -1);
  threads_.resize(d.threads().size());
  interrupt_names_ = std::move(setup.interrupts);
}

void SyncLayer::attach() {
  for (const model::OpInfo& op : model::kOpTable)  // the ops this layer executes (op_table.hpp)
    if (op.layer == model::OpLayer::sync) d_.register_op_handler(op.kind, this);
  timeout_kind_ = d_.register_event_handler(this);
  bool spin_locks = std::any_of(locks_.begin(), locks_.end(),
                                [](const Lock& l) { return l.config.kind == LockKind::spin; });
  // sim: the hook is set only when it has work, so that runs without funnels or spin locks
  // interpret ops exactly as they would without this layer.
  if (spin_locks || funnel_lock_[0] >= 0 || funnel_lock_[1] >= 0) d_.set_block_hook(this);
  // Adaptive spins (xnu mutexes on several CPUs) end when the owner leaves its CPU (left_cpu);
  // a thread that ends holding a lock is reported (exiting). Without adaptive spins left_cpu
  // finds no spinners and changes nothing.
  if (!locks_.empty()) d_.set_switch_observer(this);
  if (spin_locks) d_.set_interrupt_locks(this);
}

std::vector<std::string> SyncLayer::lock_names() const {
  std::vector<std::string> out;
  for (const Lock& l : locks_) out.push_back(l.config.name);
  return out;
}

bool SyncLayer::go_on(const Thread& t) const {
  return t.cpu < 0 || !d_.processors()[static_cast<size_t>(t.cpu)].ast_pending;
}

std::string SyncLayer::describe(int32_t lock) const {
  const Lock& l = locks_[static_cast<size_t>(lock)];
  if (l.config.funnel >= 0) return fmt::format("the {} funnel", funnel_name(l.config.funnel));
  switch (l.config.kind) {
    case LockKind::mutex: return fmt::format("mutex \"{}\"", l.config.name);
    case LockKind::spin: return fmt::format("spin lock \"{}\"", l.config.name);
    case LockKind::rw: return fmt::format("rw lock \"{}\"", l.config.name);
  }
  return l.config.name;
}

// ---------------------------------------------------------------------------------------------
// Ops

bool SyncLayer::execute(Thread& t, const model::Op& op) {
  switch (op.kind) {
    case OpKind::lock: {
      ThreadSync& s = ts(t);
      // IOSimpleLockLockDisableInterrupt: interrupts go off before the spin, once per acquisition.
      if (op.disable_interrupts && s.handed != op.ref && !s.attempt(op.ref)) d_.disable_interrupts(t);
      bool go = lock_op(t, op.ref, op.lock_mode);
      if (op.disable_interrupts)
        for (Held& h : s.held)
          if (h.lock == op.ref) h.interrupts_off = true;
      return go;
    }
    case OpKind::unlock:
      release(t, op.ref, op.lock_mode);
      return go_on(t);
    case OpKind::wait:
      return wait_op(t, op.ref, op.timeout, op.interruptible.value_or(counts_[static_cast<size_t>(op.ref)] >= 0));
    case OpKind::clear_wait:
      clear_wait_op(t, op.thread);
      return go_on(t);
    case OpKind::signal:
      signal_op(t, op.ref, op.all, op.thread);
      return go_on(t);
    case OpKind::funnel:
      return funnel_op(t, op.funnel);
    case OpKind::try_lock:
      return try_lock_op(t, op);
    case OpKind::upgrade:
      return upgrade_op(t, op);
    case OpKind::downgrade:
      downgrade_op(t, op.ref);
      return go_on(t);
    case OpKind::funnel_switch:
      return funnel_switch_op(t, op);
    case OpKind::funnel_merge:
      return funnel_merge_op(t);
    case OpKind::terminate_thread:
      return terminate_op(t, op.thread);
    default:
      throw d_.internal_error(
          fmt::format("sync layer asked to run op \"{}\" ({})", model::to_string(op.kind), op.pointer));
  }
}

bool SyncLayer::lock_op(Thread& t, int32_t l, LockMode mode) {
  ThreadSync& s = ts(t);
  if (s.handed == l) {
    // It was handed the lock while it waited (inherit, ceiling, spin lock): the op is complete.
    s.handed = -1;
    return go_on(t);
  }
  Acquire a = Acquire::done;
  switch (locks_[static_cast<size_t>(l)].config.kind) {
    case LockKind::mutex: a = mutex_acquire(t, l); break;
    case LockKind::spin: a = spin_acquire(t, l); break;
    case LockKind::rw: a = rw_acquire(t, l, mode); break;
  }
  if (a == Acquire::done) return go_on(t);
  d_.repeat_op(t);  // it retries (or completes a hand-off) when it runs again
  return false;
}

// models xnu-792 lck_mtx_try_lock (i386_lock.s: owner free -> take it and call
// lck_mtx_lock_acquire, else return 0 at once; no wait, no promotion), lck_spin_try_lock
// (usimple_lock_try: hw_lock_try disables preemption only on success) and lck_rw_try_lock_shared /
// _exclusive (locks_i386.c: fail on want_write or want_upgrade, and for writing on readers).
// IOLockTryLock and IOSimpleLockTryLock are these. A failure is traced and runs the op's `else`.
bool SyncLayer::try_lock_op(Thread& t, const model::Op& op) {
  int32_t l = op.ref;
  Lock& L = locks_[static_cast<size_t>(l)];
  bool free = L.owner < 0 && L.irq_owner < 0;  // held by itself too: the try fails (no recursion check in xnu's try)
  if (L.config.kind == LockKind::rw)
    free = L.owner < 0 && L.want_write == 0 && L.upgrader < 0 && (op.lock_mode == LockMode::read || L.readers.empty());
  if (free) {
    if (L.config.kind == LockKind::spin) d_.disable_preemption(t);
    take(t, l, op.lock_mode);
    return go_on(t);
  }
  int32_t holder = L.owner >= 0 ? L.owner : !L.readers.empty() ? L.readers.front() : L.upgrader;
  d_.emit(TraceEvent{now(), TraceKind::lock_try_failed, 0, static_cast<int16_t>(t.cpu), t.index, l, holder, 0});
  if (!op.body.empty()) d_.push_ops(t, &op.body);
  return go_on(t);
}

void SyncLayer::drop_read_hold(Thread& t, int32_t l, const char* routine) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  auto it = std::find_if(s.held.begin(), s.held.end(),
                         [&](const Held& h) { return h.lock == l && h.mode == LockMode::read; });
  if (it == s.held.end())
    d_.panic(&t, fmt::format("{}: {} is not held for reading by this thread", routine, describe(l)));
  int64_t held_ns = (now() - it->since).ns;
  s.held.erase(it);
  L.readers.erase(std::find(L.readers.begin(), L.readers.end(), t.index));
  d_.emit(TraceEvent{now(), TraceKind::lock_released, 0, static_cast<int16_t>(t.cpu), t.index, l, held_ns, 0});
}

// models xnu-792 osfmk/i386/locks_i386.c lck_rw_lock_shared_to_exclusive: the read hold goes
// first (read_count--). If another upgrade is pending (want_upgrade) the call fails: the thread
// holds nothing, the waiters are woken if no reader is left, and the op's `else` runs. Otherwise
// it sets want_upgrade (new readers and writers stay out, even writers already waiting) and
// waits until the other readers have left, then holds the lock for writing.
bool SyncLayer::upgrade_op(Thread& t, const model::Op& op) {
  int32_t l = op.ref;
  Lock& L = locks_[static_cast<size_t>(l)];
  if (L.upgrader != t.index) {
    drop_read_hold(t, l, "lck_rw_lock_shared_to_exclusive");
    if (L.upgrader >= 0) {
      if (!L.held())
        while (!L.waiters.empty()) wake_waiter(L.waiters.pop());
      d_.emit(TraceEvent{now(), TraceKind::lock_try_failed, 1, static_cast<int16_t>(t.cpu), t.index, l, L.upgrader, 0});
      if (!op.body.empty()) d_.push_ops(t, &op.body);
      return go_on(t);
    }
    L.upgrader = t.index;
  }
  if (!L.readers.empty()) {
    // The attempt's mode is `exclusive`, not `write`: an upgrade is not counted in want_write.
    contend(t, l, LockMode::exclusive);
    wait_for(t, l);
    d_.repeat_op(t);  // woken when the last reader leaves (lck_rw_done), it looks again
    return false;
  }
  L.upgrader = -1;
  take(t, l, LockMode::write);
  d_.emit(TraceEvent{now(), TraceKind::lock_converted, 1, static_cast<int16_t>(t.cpu), t.index, l,
                     ts(t).last_waited, 0});
  return go_on(t);
}

// models xnu-792 osfmk/i386/locks_i386.c lck_rw_lock_exclusive_to_shared: the write hold becomes
// a read hold at once (read_count++, want_write cleared) and every waiter is woken to retry.
void SyncLayer::downgrade_op(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  auto it = std::find_if(s.held.begin(), s.held.end(),
                         [&](const Held& h) { return h.lock == l && h.mode == LockMode::write; });
  if (it == s.held.end())
    d_.panic(&t, fmt::format("lck_rw_lock_exclusive_to_shared: {} is not held for writing by this thread",
                             describe(l)));
  it->mode = LockMode::read;  // the hold goes on: its time counts from the original acquisition
  L.owner = -1;
  L.readers.push_back(t.index);
  int64_t woken = static_cast<int64_t>(L.waiters.size());
  d_.emit(TraceEvent{now(), TraceKind::lock_converted, 2, static_cast<int16_t>(t.cpu), t.index, l, 0, woken});
  while (!L.waiters.empty()) wake_waiter(L.waiters.pop());
}

bool SyncLayer::acquire_mutex(Thread& t, int32_t l) {
  ThreadSync& s = ts(t);
  if (s.handed == l) {
    s.handed = -1;
    return true;
  }
  return mutex_acquire(t, l) == Acquire::done;
}

void SyncLayer::release_mutex(Thread& t, int32_t l) { release(t, l, LockMode::exclusive); }

// models xnu-792 osfmk/kern/wait_queue.c wait_queue_assert_wait64_locked + thread_block: the
// waiter joins the tail of the queue (SYNC_POLICY_FIFO and SYNC_POLICY_FIXED_PRIORITY alike:
// wait_queue_init accepts only FIFO order and _wait_queue_select64_one walks from the head).
// With a timeout it is assert_wait_deadline: the thread's wait timer ends the wait with
// THREAD_TIMED_OUT unless a wakeup comes first (sched_prim.c thread_timer_expire). On a
// semaphore (sync_sema.c semaphore_wait_internal) a positive count is taken without waiting.
bool SyncLayer::wait_op(Thread& t, int32_t e, Duration timeout, bool interruptible) {
  int64_t& count = counts_[static_cast<size_t>(e)];
  if (count > 0) {
    --count;
    d_.emit(TraceEvent{now(), TraceKind::event_waited, 0, static_cast<int16_t>(t.cpu), t.index, e, 1, 0});
    return go_on(t);
  }
  events_[static_cast<size_t>(e)].push(t.index);
  ThreadSync& s = ts(t);
  s.waiting_event = e;
  ++s.wait_generation;
  s.wait_interruptible = interruptible;
  d_.emit(TraceEvent{now(), TraceKind::event_waited, 0, static_cast<int16_t>(t.cpu), t.index, e, 0, 0});
  if (timeout.ns > 0)
    d_.schedule(now() + timeout, dispatcher::kRankTimer, timeout_kind_, t.index, s.wait_generation, e);
  d_.block(t, BlockReason::event, e);
  return false;
}

void SyncLayer::on_event(const core::Event& e) {
  // A wakeup, or a later wait, came first: the timer was cancelled (thread_wakeup clears it).
  const ThreadSync& s = threads_[static_cast<size_t>(e.target)];
  if (s.waiting_event != static_cast<int32_t>(e.arg) || s.wait_generation != e.generation) return;
  events_[static_cast<size_t>(e.arg)].remove(e.target);
  end_event_wait(e.target, WakeReason::timed_out);
}

// models xnu-792 osfmk/kern/sched_prim.c clear_wait(thread, THREAD_INTERRUPTED) (what
// thread_abort does to a waiting thread): an interruptible event wait ends with
// THREAD_INTERRUPTED; an uninterruptible one (TH_UNINT) is left alone (KERN_FAILURE), and so is a
// thread not in an event wait (lock waits are THREAD_UNINT in xnu). Nothing is traced then.
void SyncLayer::clear_wait_op(Thread& /*t*/, int32_t target) {
  const ThreadSync& s = threads_[static_cast<size_t>(target)];
  if (s.waiting_event < 0 || !s.wait_interruptible) return;
  events_[static_cast<size_t>(s.waiting_event)].remove(target);
  end_event_wait(target, WakeReason::interrupted);
}

// The wait of `thread` ends with THREAD_AWAKENED (reason event), THREAD_TIMED_OUT or
// THREAD_INTERRUPTED.
void SyncLayer::end_event_wait(int32_t thread, WakeReason why) {
  ThreadSync& s = threads_[static_cast<size_t>(thread)];
  s.waiting_event = -1;
  ++s.wait_generation;  // cancels its timeout
  d_.wake(th(thread), why);
}

// models xnu-792 osfmk/kern/sched_prim.c thread_wakeup_prim (wakeup_one / wakeup_all): the first
// waiter, or all in order; with nobody waiting the wakeup is lost. `only` >= 0 is
// wait_queue_wakeup64_thread: that thread if it waits here, else nobody (KERN_NOT_WAITING). On a
// semaphore (sync_sema.c semaphore_signal_internal) a signal that wakes nobody is preposted:
// the count rises (semaphore_signal passes SEMAPHORE_SIGNAL_PREPOST; semaphore_signal_all and
// semaphore_signal_thread do not).
void SyncLayer::signal_op(Thread& t, int32_t e, bool all, int32_t only) {
  WaitQueue& q = events_[static_cast<size_t>(e)];
  std::vector<int32_t> woken;
  if (only >= 0) {
    if (q.contains(only)) woken.push_back(only);
  } else {
    size_t n = all ? q.size() : std::min<size_t>(1, q.size());
    for (size_t i = 0; i < n; ++i) woken.push_back(q.waiters()[i]);
  }
  int64_t& count = counts_[static_cast<size_t>(e)];
  if (woken.empty() && count >= 0 && only < 0 && !all) ++count;
  d_.emit(TraceEvent{now(), TraceKind::event_signaled, 0, static_cast<int16_t>(t.cpu), t.index, e,
                     static_cast<int64_t>(woken.size()), 0});
  for (int32_t w : woken) {
    q.remove(w);
    end_event_wait(w, WakeReason::event);
  }
}

// models xnu-517 osfmk/kern/thread.c thread_funnel_set
bool SyncLayer::funnel_op(Thread& t, model::FunnelName name) {
  ThreadSync& s = ts(t);
  if (name == model::FunnelName::none) {
    if (s.funnel < 0) d_.panic(&t, "thread_funnel_set: releasing a funnel the thread does not hold");
    int32_t l = funnel_lock_[static_cast<size_t>(s.funnel)];
    s.funnel = -1;
    s.funnel_held = false;
    release(t, l, LockMode::exclusive);
    return go_on(t);
  }
  int f = funnel_id(name == model::FunnelName::network ? 1 : 0);
  if (s.funnel == f) return true;  // it owns that funnel already: nothing changes
  if (s.funnel >= 0)
    d_.panic(&t, fmt::format("thread_funnel_set: asked for the {} funnel while holding the {} funnel "
                             "(both funnels are never held at once)",
                             funnel_name(f), funnel_name(s.funnel)));
  if (funnel_acquire(t, f) == Acquire::waiting) {
    d_.repeat_op(t);
    return false;
  }
  s.funnel = f;
  s.funnel_held = true;
  return go_on(t);
}

// models xnu-517 osfmk/kern/thread.c funnel_lock: lock the funnel's mutex. A thread that was
// already waiting for the network funnel's own mutex when thread_funnel_merge replaced it gets
// that old mutex first, sees it is no longer the funnel's, lets it go (waking the next waiter)
// and locks the merged funnel's mutex (funnel_lock's restart).
SyncLayer::Acquire SyncLayer::funnel_acquire(Thread& t, int f) {
  int32_t old = funnel_lock_[1];
  if (merged_at_run_ && ts(t).attempt(old)) {
    if (mutex_acquire(t, old) == Acquire::waiting) return Acquire::waiting;
    release(t, old, LockMode::exclusive);
  }
  return mutex_acquire(t, funnel_lock_[static_cast<size_t>(funnel_id(f))]);
}

// models xnu-517 bsd/kern/bsd_init.c thread_funnel_switch: with one funnel (disable_funnel) it
// returns at once; else, after its panics, thread_funnel_set(old, FALSE) then
// thread_funnel_set(new, TRUE). One call, not one atomic step: the old funnel is free before
// the new one is taken, and the thread waits for the new one holding neither.
bool SyncLayer::funnel_switch_op(Thread& t, const model::Op& op) {
  if (merged_) return go_on(t);
  ThreadSync& s = ts(t);
  if (s.switching_to < 0) {
    int from = op.funnel_from == model::FunnelName::network ? 1 : 0;
    int to = op.funnel == model::FunnelName::network ? 1 : 0;
    if (s.funnel < 0) d_.panic(&t, "thread_funnel_switch: no funnel held");
    if (s.funnel != from)
      d_.panic(&t, fmt::format("thread_funnel_switch: {} funnel not held", funnel_name(from)));
    s.funnel = -1;
    s.funnel_held = false;
    release(t, funnel_lock_[static_cast<size_t>(from)], LockMode::exclusive);
    s.switching_to = to;
  }
  if (funnel_acquire(t, s.switching_to) == Acquire::waiting) {
    d_.repeat_op(t);
    return false;
  }
  s.funnel = funnel_id(s.switching_to);
  s.funnel_held = true;
  s.switching_to = -1;
  return go_on(t);
}

// models xnu-517 osfmk/kern/thread.c thread_funnel_merge(kernel_flock, network_flock): called
// holding the kernel funnel; with one funnel already it returns KERN_FAILURE; else it locks the
// network funnel's mutex (waiting for its holder like any mutex_lock), makes the kernel
// funnel's mutex the network funnel's too, for good, and unlocks the old one.
bool SyncLayer::funnel_merge_op(Thread& t) {
  ThreadSync& s = ts(t);
  if (s.funnel < 0) d_.panic(&t, "thread_funnel_merge called with no funnels held");
  if (s.funnel != 0) d_.panic(&t, "thread_funnel_merge called from non kernel funnel");
  if (merged_) {
    d_.emit(TraceEvent{now(), TraceKind::funnel_merged, 0, static_cast<int16_t>(t.cpu), t.index, -1, 5, 0});
    return go_on(t);
  }
  int32_t old = funnel_lock_[1];
  if (mutex_acquire(t, old) == Acquire::waiting) {
    d_.repeat_op(t);
    return false;
  }
  merged_ = merged_at_run_ = true;
  // Whoever set the network funnel (and dropped it while blocked) now re-takes the kernel one.
  for (ThreadSync& other : threads_)
    if (other.funnel == 1) other.funnel = 0;
  d_.emit(TraceEvent{now(), TraceKind::funnel_merged, 0, static_cast<int16_t>(t.cpu), t.index, -1, 0, 0});
  release(t, old, LockMode::exclusive);
  return go_on(t);
}

// thread_terminate of another thread: the dispatcher marks it (act_abort); here its
// interruptible wait ends (clear_wait(THREAD_INTERRUPTED)); then the caller waits in
// thread_wait until the target is off every CPU and run queue.
bool SyncLayer::terminate_op(Thread& t, int32_t target) {
  if (d_.abort_thread(t, th(target)) != 0) return go_on(t);
  clear_wait_op(t, target);
  if (d_.wait_until_stopped(t, th(target))) return false;
  return go_on(t);
}

// ---------------------------------------------------------------------------------------------
// Funnels across voluntary blocks (xnu-facts.md 5.7, 6): dropped before the switch, re-taken
// before the thread goes on; kept across preemption (the dispatcher does not call us then).

void SyncLayer::on_voluntary_block(Thread& t) {
  ThreadSync& s = ts(t);
  if (s.funnel < 0 || !s.funnel_held) return;
  d_.emit(TraceEvent{now(), TraceKind::funnel_dropped, 0, static_cast<int16_t>(t.cpu), t.index, s.funnel, 0, 0});
  s.funnel_held = false;
  release(t, funnel_lock_[static_cast<size_t>(s.funnel)], LockMode::exclusive);
}

bool SyncLayer::before_continue(Thread& t) {
  ThreadSync& s = ts(t);
  if (s.funnel < 0 || s.funnel_held) return true;
  if (funnel_acquire(t, s.funnel) == Acquire::waiting) {
    // Blocked (block() asks again at the next run) or spinning (we ask again when the spin ends).
    t.must_continue_hook = true;
    return false;
  }
  s.funnel_held = true;
  d_.emit(TraceEvent{now(), TraceKind::funnel_taken, 0, static_cast<int16_t>(t.cpu), t.index, s.funnel,
                     s.last_waited, 0});
  return true;
}

std::string SyncLayer::preemption_disabled_by(const Thread& t) const {
  std::vector<std::string> what;
  for (const Held& h : threads_[static_cast<size_t>(t.index)].held)
    if (locks_[static_cast<size_t>(h.lock)].config.kind == LockKind::spin)
      what.push_back(fmt::format("{} held since {} s", describe(h.lock), core::format_time(h.since)));
  if (t.spinning && t.spin_lock >= 0 && locks_[static_cast<size_t>(t.spin_lock)].config.kind == LockKind::spin)
    what.push_back(fmt::format("spinning for {}", describe(t.spin_lock)));
  std::string out;
  for (const std::string& w : what) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Acquisition

// The thread starts waiting for `l` (once per acquisition, however many retries follow).
void SyncLayer::contend(Thread& t, int32_t l, LockMode mode) {
  ThreadSync& s = ts(t);
  if (s.attempt(l)) return;
  Lock& L = locks_[static_cast<size_t>(l)];
  s.attempts.push_back(Attempt{l, mode, now(), false});
  if (L.config.kind == LockKind::rw && mode == LockMode::write) ++L.want_write;
  int32_t holder = L.owner >= 0 ? L.owner : (L.readers.empty() ? -1 : L.readers.front());
  d_.emit(TraceEvent{now(), TraceKind::lock_contended, 0, static_cast<int16_t>(t.cpu), t.index, l, holder, 0});
}

// The running thread `t` blocks in the wait queue of `l`.
void SyncLayer::wait_for(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  if (L.is_mutex() && L.config.protocol == Protocol::xnu) lck_mtx_lock_wait(t, l);
  L.waiters.push(t.index);
  ts(t).waiting_on = l;
  if (L.config.funnel >= 0) d_.block(t, BlockReason::funnel, L.config.funnel);
  else d_.block(t, BlockReason::lock, l);
  if (L.is_mutex() && L.config.protocol == Protocol::inherit && L.owner >= 0) refresh(L.owner);
}

SyncLayer::Acquire SyncLayer::mutex_acquire(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  std::erase(L.spinners, t.index);  // a spin that ran out ends here
  if (L.owner == t.index)
    d_.panic(&t, fmt::format("mutex_lock: {} is already held by this thread (a recursive mutex_lock panics)",
                             describe(l)));
  if (L.owner < 0) {
    take(t, l, LockMode::exclusive);
    return Acquire::done;
  }
  contend(t, l, LockMode::exclusive);
  const Thread& owner = th(L.owner);
  Attempt& a = *s.attempt(l);
  if (L.config.protocol == Protocol::xnu && !a.spun && owner.state == ThreadState::running) {
    // PPC: spin while the owner is on a CPU, up to MutexSpin, then wait (xnu-facts.md 7); the
    // spin ends early when the owner leaves its CPU (left_cpu).
    a.spun = true;
    L.spinners.push_back(t.index);
    d_.spin(t, kMutexSpin, l);
    return Acquire::waiting;
  }
  wait_for(t, l);
  return Acquire::waiting;
}

void SyncLayer::left_cpu(Thread& t, int /*cpu*/) {
  for (const Held& h : ts(t).held) {
    Lock& L = locks_[static_cast<size_t>(h.lock)];
    if (!L.is_mutex() || L.config.protocol != Protocol::xnu || L.spinners.empty()) continue;
    // The owner is off its CPU: spinning is pointless, each spinner retries and, its spin used
    // up, waits (models the owner-running test of the PPC lck_mtx_lock spin loop).
    std::vector<int32_t> spinners;
    spinners.swap(L.spinners);
    for (int32_t sp : spinners) d_.stop_spin(th(sp));
  }
}

// models xnu thread_terminate_self (osfmk/kern/thread.c) for the locks a thread still holds:
// nothing releases them (xnu keeps no list of the mutexes or rw locks a thread holds; the lock
// keeps its owner), so they stay held and their waiters wait for ever. The terminating thread's
// last thread_block panics in thread_invoke while a simple lock keeps preemption disabled
// (xnu-facts.md 5.6). Its funnel was dropped by that same thread_block (on_voluntary_block,
// called just before). docs/locks-and-inversion.md, "A thread that ends holding a lock".
void SyncLayer::exiting(Thread& t) {
  const ThreadSync& s = ts(t);
  if (t.preemption_level > 0) {
    std::string held = preemption_disabled_by(t);
    d_.panic(&t, fmt::format("thread_invoke: exiting with preemption disabled ({})",
                             held.empty() ? "a simple lock is held" : held));
  }
  for (const Held& h : s.held) {
    const Lock& L = locks_[static_cast<size_t>(h.lock)];
    uint8_t how = L.config.kind != LockKind::rw ? 0 : h.mode == LockMode::read ? 1 : 2;
    int64_t waiting = static_cast<int64_t>(L.waiters.size() + L.spinners.size());
    d_.emit(TraceEvent{now(), TraceKind::lock_held_at_exit, how, static_cast<int16_t>(t.cpu), t.index, h.lock,
                       (now() - h.since).ns, waiting});
  }
}

// models ppc hw_lock.s hw_lock_lock (simple locks): spin with preemption disabled, panic at
// LockTimeOut.
SyncLayer::Acquire SyncLayer::spin_acquire(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  if (L.owner == t.index)
    d_.panic(&t, fmt::format("simple_lock: {} is already held by this thread", describe(l)));
  if (s.attempt(l)) {
    // The spin ended and nobody handed the lock over: it reached LockTimeOut.
    d_.panic(&t, fmt::format("simple lock timeout: spun {} for {} held by \"{}\"",
                             core::format_duration(kLockTimeOut), describe(l),
                             L.owner >= 0 ? th(L.owner).name : std::string("nobody")));
  }
  d_.disable_preemption(t);  // held from here, or spun for (xnu-facts.md 5.6, 7)
  if (L.owner < 0 && L.irq_owner < 0) {
    take(t, l, LockMode::exclusive);
    return Acquire::done;
  }
  contend(t, l, LockMode::exclusive);
  L.spinners.push_back(t.index);
  d_.spin(t, kLockTimeOut, l);
  return Acquire::waiting;
}

// models xnu-792 osfmk/i386/locks_i386.c lck_rw_lock_shared / lck_rw_lock_exclusive: a writer
// waiting keeps new readers out; waiters sleep and retry.
SyncLayer::Acquire SyncLayer::rw_acquire(Thread& t, int32_t l, LockMode mode) {
  Lock& L = locks_[static_cast<size_t>(l)];
  // A pending upgrade (want_upgrade) keeps both out.
  bool free = L.upgrader < 0 && (mode == LockMode::read ? L.owner < 0 && L.want_write == 0
                                                        : L.owner < 0 && L.readers.empty());
  if (free) {
    take(t, l, mode);
    return Acquire::done;
  }
  contend(t, l, mode);
  wait_for(t, l);
  return Acquire::waiting;
}

void SyncLayer::take(Thread& t, int32_t l, LockMode mode) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  if (L.config.kind == LockKind::rw && mode == LockMode::read) L.readers.push_back(t.index);
  else L.owner = t.index;
  s.last_waited = 0;
  if (Attempt* a = s.attempt(l)) {
    s.last_waited = (now() - a->since).ns;
    if (L.config.kind == LockKind::rw && a->mode == LockMode::write) --L.want_write;
    s.attempts.erase(s.attempts.begin() + (a - s.attempts.data()));
  }
  s.held.push_back(Held{l, now(), mode});
  d_.emit(TraceEvent{now(), TraceKind::lock_acquired, 0, static_cast<int16_t>(t.cpu), t.index, l, s.last_waited, 0});
  if (!L.is_mutex()) return;
  switch (L.config.protocol) {
    case Protocol::xnu: lck_mtx_lock_acquire(t, l); break;
    case Protocol::inherit:
    case Protocol::ceiling: refresh(t.index); break;
    case Protocol::none: break;
  }
}

// ---------------------------------------------------------------------------------------------
// Release

void SyncLayer::release(Thread& t, int32_t l, LockMode mode) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  bool rw = L.config.kind == LockKind::rw;
  auto it = std::find_if(s.held.begin(), s.held.end(),
                         [&](const Held& h) { return h.lock == l && (!rw || h.mode == mode); });
  if (it == s.held.end()) {
    std::string how = rw ? fmt::format(" for {}", mode == LockMode::read ? "reading" : "writing") : "";
    d_.panic(&t, fmt::format("unlock of {}, which this thread does not hold{}", describe(l), how));
  }
  int64_t held_ns = (now() - it->since).ns;
  bool interrupts_off = it->interrupts_off;
  s.held.erase(it);
  if (rw && mode == LockMode::read) L.readers.erase(std::find(L.readers.begin(), L.readers.end(), t.index));
  else L.owner = -1;
  d_.emit(TraceEvent{now(), TraceKind::lock_released, 0, static_cast<int16_t>(t.cpu), t.index, l, held_ns, 0});

  switch (L.config.kind) {
    case LockKind::spin:
      d_.enable_preemption(t);
      if (interrupts_off) d_.enable_interrupts(t);  // IOSimpleLockUnlockEnableInterrupt
      pass_spin_lock(l);
      return;
    case LockKind::rw:
      // models lck_rw_done: once free, every waiter is woken and retries.
      if (!L.held())
        while (!L.waiters.empty()) wake_waiter(L.waiters.pop());
      return;
    case LockKind::mutex:
      break;
  }
  switch (L.config.protocol) {
    case Protocol::xnu: {
      std::vector<int32_t> spinners;
      spinners.swap(L.spinners);
      for (int32_t sp : spinners) d_.stop_spin(th(sp));  // they see it free and retry
      if (L.pending > 0) lck_mtx_unlock_wakeup(t, l);
      return;
    }
    case Protocol::none:
      if (!L.waiters.empty()) wake_waiter(L.waiters.pop());
      return;
    case Protocol::inherit:
    case Protocol::ceiling:
      refresh(t.index);  // the boost this lock gave goes
      hand_off(l);
      return;
  }
}

// sim: the spinners race for a released spin lock; the one that started spinning first wins,
// a handler before a thread at equal times. A thread whose CPU is in an interrupt handler is not
// spinning at that moment and cannot win it.
void SyncLayer::pass_spin_lock(int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  auto thread_spinner = L.spinners.end();
  for (auto it = L.spinners.begin(); it != L.spinners.end(); ++it) {
    const Thread& c = th(*it);
    if (c.cpu < 0 || !d_.processors()[static_cast<size_t>(c.cpu)].in_interrupt) {
      thread_spinner = it;
      break;
    }
  }
  bool to_handler = !L.irq_spinners.empty();
  if (to_handler && thread_spinner != L.spinners.end()) {
    const Attempt* a = threads_[static_cast<size_t>(*thread_spinner)].attempt(l);
    to_handler = !a || L.irq_spinners.front().second <= a->since;
  }
  if (to_handler) {
    auto [cpu, since] = L.irq_spinners.front();
    L.irq_spinners.erase(L.irq_spinners.begin());
    L.irq_owner = cpu;
    L.irq_since = now();
    irq_emit(cpu, d_.processors()[static_cast<size_t>(cpu)].interrupts.front().source, l, 0, (now() - since).ns);
    d_.interrupt_lock_granted(cpu);
    return;
  }
  if (thread_spinner == L.spinners.end()) return;
  int32_t next = *thread_spinner;
  L.spinners.erase(thread_spinner);
  threads_[static_cast<size_t>(next)].handed = l;
  take(th(next), l, LockMode::exclusive);  // its preemption level now stands for holding
  d_.stop_spin(th(next));
}

void SyncLayer::irq_emit(int cpu, int32_t source, int32_t lock, uint8_t what, int64_t b) {
  d_.emit(TraceEvent{now(), TraceKind::interrupt_lock, what, static_cast<int16_t>(cpu), -1, lock, source, b});
}

// ---------------------------------------------------------------------------------------------
// Spin locks in primary interrupt handlers (IOSimpleLockLock with interrupts off). Seed 001,
// 3.1: simple locks are what to use "when one of the threads could be running in an interrupt
// context"; 6.1.4: IOSimpleLock "has an interface for enabling and disabling interrupts".

bool SyncLayer::irq_lock(int cpu, int32_t source, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  if (L.irq_owner == cpu)
    d_.panic(nullptr, fmt::format("simple_lock: {} is already held by the handler on cpu{}", describe(l), cpu));
  if (L.owner < 0 && L.irq_owner < 0) {
    L.irq_owner = cpu;
    L.irq_since = now();
    irq_emit(cpu, source, l, 0, 0);
    return true;
  }
  // models ppc hw_lock.s hw_lock_lock: spin (interrupts are off in the handler already).
  irq_emit(cpu, source, l, 2, L.owner);
  L.irq_spinners.emplace_back(cpu, now());
  return false;
}

void SyncLayer::irq_unlock(int cpu, int32_t source, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  if (L.irq_owner != cpu)
    d_.panic(nullptr, fmt::format("simple_unlock: {} is not held by the handler on cpu{}", describe(l), cpu));
  L.irq_owner = -1;
  irq_emit(cpu, source, l, 1, (now() - L.irq_since).ns);
  pass_spin_lock(l);
}

// The handler's spin reached LockTimeOut. When the holder is the thread it interrupted on its
// own CPU, that thread can never run to release it: the deadlock the seed's advice (disable
// interrupts around an IOSimpleLock shared with a handler) is about. hw_lock_lock's timeout
// turns the endless spin into a panic.
void SyncLayer::irq_spin_timed_out(int cpu, int32_t source, int32_t l) {
  const Lock& L = locks_[static_cast<size_t>(l)];
  std::string irq = static_cast<size_t>(source) < interrupt_names_.size()
                        ? fmt::format("\"{}\"", interrupt_names_[static_cast<size_t>(source)])
                        : fmt::format("#{}", source);
  SimTime began = now() - Duration{kLockTimeOut.ns};
  if (L.owner >= 0) {
    Thread& holder = th(L.owner);
    SimTime since = began;
    for (const Held& h : ts(holder).held)
      if (h.lock == l) since = h.since;
    if (holder.cpu == cpu)
      d_.panic(&holder,
               fmt::format("simple lock deadlock: the primary interrupt handler of {} on cpu{} has spun since {} s "
                           "for {}, which this thread took at {} s without disabling interrupts (IOSimpleLockLock, "
                           "not IOSimpleLockLockDisableInterrupt) and was holding when the handler interrupted it on "
                           "the same CPU; it can never run again to release it, and hw_lock_lock gives up after "
                           "LockTimeOut ({})",
                           irq, cpu, core::format_time(began), describe(l), core::format_time(since),
                           core::format_duration(kLockTimeOut)));
    d_.panic(&holder, fmt::format("simple lock timeout: the primary interrupt handler of {} on cpu{} spun {} for {} "
                                  "held by this thread since {} s",
                                  irq, cpu, core::format_duration(kLockTimeOut), describe(l), core::format_time(since)));
  }
  d_.panic(nullptr, fmt::format("simple lock timeout: the primary interrupt handler of {} on cpu{} spun {} for {} "
                                "held by the handler on cpu{}",
                                irq, cpu, core::format_duration(kLockTimeOut), describe(l), L.irq_owner));
}

// Inherit and ceiling: the lock goes straight to the highest-priority waiter (FIFO among equals).
void SyncLayer::hand_off(int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  if (L.waiters.empty()) return;
  int32_t best = -1;
  for (int32_t w : L.waiters.waiters())
    if (best < 0 || th(w).sched_pri > th(best).sched_pri) best = w;
  L.waiters.remove(best);
  ThreadSync& s = threads_[static_cast<size_t>(best)];
  s.waiting_on = -1;
  s.handed = l;
  take(th(best), l, LockMode::exclusive);
  d_.wake(th(best), WakeReason::lock);
}

void SyncLayer::wake_waiter(int32_t thread) {
  ThreadSync& s = threads_[static_cast<size_t>(thread)];
  if (Attempt* a = s.attempt(s.waiting_on)) a->spun = false;  // a fresh try: it may spin again
  s.waiting_on = -1;
  d_.wake(th(thread), WakeReason::lock);
}

// ---------------------------------------------------------------------------------------------
// Priorities

// models xnu-792 osfmk/kern/locks.c lck_mtx_lock_wait (the promotion before the waiter sleeps)
void SyncLayer::lck_mtx_lock_wait(Thread& self, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  int w = std::clamp(std::max(self.sched_pri, self.base_pri), model::MUTEX_PROMOTE_MIN, model::MUTEX_PROMOTE_MAX);
  Thread& holder = th(L.owner);
  // sim: a holder that has ended is not promoted: its priority no longer matters, and a dead
  // thread's results should not show it raised. The mutex's record still follows its waiters.
  if (holder.base_pri < model::MINPRI_KERNEL && holder.state != ThreadState::done) {
    // sim: xnu counts promotions++ for every holder but marks only those below MINPRI_KERNEL
    // promoted; counting only those keeps `promotions > 0` equal to TH_MODE_PROMOTED, which is
    // all the policies read.
    if (L.pri == 0) ++holder.promotions;
    mark_promoted(holder);
    if (L.pri < w && holder.sched_pri < w) promote(holder, w);
  }
  if (L.pri < w) L.pri = w;
  ThreadSync& s = ts(self);
  if (std::find(s.pending.begin(), s.pending.end(), l) == s.pending.end()) {
    s.pending.push_back(l);
    ++L.pending;
  }
}

// models xnu-792 osfmk/kern/locks.c lck_mtx_lock_acquire (an acquirer that still sees waiters is
// promoted to the mutex's record; with none the record clears)
void SyncLayer::lck_mtx_lock_acquire(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  ThreadSync& s = ts(t);
  if (auto it = std::find(s.pending.begin(), s.pending.end(), l); it != s.pending.end()) {
    s.pending.erase(it);
    --L.pending;
  }
  if (L.pending > 0) {
    if (t.base_pri < model::MINPRI_KERNEL) {
      ++t.promotions;
      mark_promoted(t);
      if (t.sched_pri < L.pri) promote(t, L.pri);
    }
  } else {
    L.pri = 0;
  }
}

// models xnu-792 osfmk/kern/locks.c lck_mtx_unlock_wakeup (unpromote at the last promotion, then
// wake one waiter, FIFO; it retries)
void SyncLayer::lck_mtx_unlock_wakeup(Thread& t, int32_t l) {
  Lock& L = locks_[static_cast<size_t>(l)];
  if (t.promotions > 0 && --t.promotions == 0) unpromote(t);
  if (!L.waiters.empty()) wake_waiter(L.waiters.pop());
}

// TH_MODE_PROMOTED: xnu no longer recomputes the thread's priority, so nothing lowers it below
// its present level until the promotion ends (the policies honour promoted_pri as a floor).
void SyncLayer::mark_promoted(Thread& t) {
  ThreadSync& s = ts(t);
  s.xnu_pri = std::max(s.xnu_pri, t.sched_pri);
  update_promoted(t);
}

void SyncLayer::promote(Thread& t, int pri) {
  ThreadSync& s = ts(t);
  s.xnu_pri = std::max(s.xnu_pri, pri);
  update_promoted(t);
  d_.set_sched_pri(t, pri, PriorityReason::promote);
  pass_on(t, 0);
}

void SyncLayer::unpromote(Thread& t) {
  ts(t).xnu_pri = -1;
  update_promoted(t);
  // The policy recomputes: DEPRESSPRI if depressed, else its base or timeshare priority.
  d_.set_sched_pri(t, d_.policy().compute_sched_pri(t), PriorityReason::unpromote);
  pass_on(t, 0);
}

void SyncLayer::update_promoted(Thread& t) {
  const ThreadSync& s = ts(t);
  int old = t.promoted_pri;
  t.promoted_pri = std::max(s.xnu_pri, s.boost);
  if (t.promoted_pri != old) d_.promotion_changed(t);
}

// Inherit and ceiling: the boost of `thread` is the highest ceiling of the ceiling locks it holds
// and the highest sched_pri among the waiters of the inherit locks it holds; a change passes on
// to the holder of the inherit lock it waits for, and so on down the chain.
void SyncLayer::refresh(int32_t thread, size_t depth) {
  Thread& t = th(thread);
  if (t.state == ThreadState::done) return;  // sim: an ended holder keeps its last priority
  ThreadSync& s = ts(t);
  int boost = -1;
  for (const Held& h : s.held) {
    const Lock& L = locks_[static_cast<size_t>(h.lock)];
    if (!L.is_mutex()) continue;
    if (L.config.protocol == Protocol::ceiling) boost = std::max(boost, L.config.ceiling);
    if (L.config.protocol == Protocol::inherit)
      for (int32_t w : L.waiters.waiters()) boost = std::max(boost, th(w).sched_pri);
  }
  s.boost = boost;
  update_promoted(t);
  int want = d_.policy().compute_sched_pri(t);
  if (want == t.sched_pri) return;
  d_.set_sched_pri(t, want, want > t.sched_pri ? PriorityReason::promote : PriorityReason::unpromote);
  pass_on(t, depth);
}

// The sched_pri of `t` changed: if it waits for an inherit mutex, its holder's boost follows.
void SyncLayer::pass_on(const Thread& t, size_t depth) {
  int32_t l = threads_[static_cast<size_t>(t.index)].waiting_on;
  if (l < 0 || depth >= threads_.size()) return;
  const Lock& next = locks_[static_cast<size_t>(l)];
  if (next.is_mutex() && next.config.protocol == Protocol::inherit && next.owner >= 0) refresh(next.owner, depth + 1);
}

}  // namespace sim::sync
