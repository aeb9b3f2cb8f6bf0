// The dispatcher: the mechanism half of the Mach scheduler. It owns the event loop, the CPUs,
// thread state changes (thread_setrun, thread_select, block and wake), quanta and ASTs, and the
// program interpreter. The Policy it is given owns every decision: run-queue order, which CPU,
// when to preempt, quanta and timeslices, priorities (sim/policies/policy.hpp). It knows no
// priority constant.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/core/event_queue.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/machine.hpp"
#include "sim/model/processor.hpp"
#include "sim/model/thread.hpp"
#include "sim/policies/policy.hpp"

namespace sim::dispatcher {

using core::Duration;
using core::SimTime;
using model::Processor;
using model::Thread;

// Event kinds handled by the dispatcher; other layers use kinds from kFirstExtensionKind on.
enum EventKind : uint16_t {
  kEvStart = 1,    // a thread's start time
  kEvRelease,      // a periodic job release
  kEvTimer,        // a sleeping thread's timer
  kEvCpu,          // run-op completion or quantum end on a CPU
  kEvTick,         // the policy's scheduler tick
  kEvDepressEnd,   // end of a swtch_pri depression
  kEvInterrupt,    // a step of a primary interrupt on a CPU (arg = step)
  kFirstExtensionKind = 100,
};

// Class ranks: within one instant, CPU progress is applied before the tick, the tick before
// timers, timers before job releases.
enum EventRank : uint32_t { kRankCpu = 0, kRankTick = 1, kRankTimer = 2, kRankRelease = 3, kRankStart = 4 };

// Any one simulated instant may take at most this many steps (events handled plus dispatch
// passes' rounds) before the run is declared stuck: an instant that makes no progress ends with
// an InternalError naming the instant and the threads involved, never a hang (issue 8, 1.1).
// Legitimate instants take a few steps per thread; this is generous by orders of magnitude.
inline constexpr uint64_t kMaxStepsPerInstant = 10'000'000;
// A thread may execute at most this many ops at one simulated instant; one more is a simulated
// panic naming the thread, the instant and the op (issue 8, 1.2: a zero-time loop). The loader
// bounds such loops statically where it can; this is the run-time backstop.
inline constexpr int64_t kMaxOpsPerInstant = 1'000'000;


// --- Extension points for the layers above (sim/sync, sim/iokit_model) ---------------------

// Executes program ops the dispatcher does not know (lock, wait, run_action, io, ...).
class OpHandler {
 public:
  virtual ~OpHandler() = default;
  // Called by the interpreter with `t` the running thread (its CPU is t.cpu) and its program
  // counter already past `op`. Return true to go on with the next op in the same instant;
  // false when the handler stopped the interpreter: it blocked the thread (Dispatcher::block),
  // made it compute (compute) or spin (spin), or posted a switch. The thread then continues
  // at the next op, or at this op again after repeat_op, when it runs again.
  virtual bool execute(Thread& t, const model::Op& op) = 0;
};

// Receives the events a layer scheduled with a kind from register_event_handler.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void on_event(const core::Event& e) = 0;
};

// Told of voluntary blocks, for funnels (xnu-facts.md 5.7: thread_block_reason drops the
// funnel unless the reason includes AST_PREEMPT and re-takes it before returning).
class BlockHook {
 public:
  virtual ~BlockHook() = default;
  // `t` (running) is about to block, yield or exit voluntarily.
  virtual void on_voluntary_block(Thread& t) = 0;
  // `t` is about to continue its program after a voluntary block or yield. Return false if
  // it had to block again (the hook blocked it); it is asked again when it next runs.
  virtual bool before_continue(Thread& t) = 0;
  // What keeps preemption disabled for `t` (the simple lock it holds or spins for), named in the
  // panic report when it blocks anyway; empty when unknown.
  virtual std::string preemption_disabled_by(const Thread& /*t*/) const { return {}; }
};

// Told when a thread leaves its CPU (blocks, is preempted, yields or exits), e.g. so that the
// threads spinning for a mutex it holds stop (PPC spins only while the owner runs).
class SwitchObserver {
 public:
  virtual ~SwitchObserver() = default;
  // `t` has just left CPU `cpu`; called from thread_select, before the next thread starts.
  virtual void left_cpu(Thread& t, int cpu) = 0;
  // `t` (running) ends: its program is done. Called from exit_thread after
  // BlockHook::on_voluntary_block and before the `exited` event (sim/sync: locks held at exit).
  virtual void exiting(Thread& /*t*/) {}
};

// The code run in primary interrupt context for one interrupt source (e.g. IOKit's
// IOInterruptEventSource or a filter). Called by the dispatcher on the interrupted CPU.
class InterruptClient {
 public:
  virtual ~InterruptClient() = default;
  // The handler starts (after the entry cost); `latency` = arrival -> now.
  virtual void handler_started(int32_t /*source*/, int /*cpu*/, Duration /*latency*/) {}
  // The handler's work is done (before the exit cost): wakeups made here are dispatched
  // when the interrupt returns, by the kernel-preemption rules (xnu-facts.md 5.6).
  virtual void handler_done(int32_t source, int cpu) = 0;
};

// Spin locks taken by interrupt handlers' programs (sim/sync): IOSimpleLockLock in a primary
// interrupt handler, whose interrupts are off.
class InterruptLocks {
 public:
  virtual ~InterruptLocks() = default;
  // The handler of `source` on `cpu` takes spin `lock`: true when it holds it now; false when
  // it spins, until Dispatcher::interrupt_lock_granted(cpu) or its LockTimeOut.
  virtual bool irq_lock(int cpu, int32_t source, int32_t lock) = 0;
  virtual void irq_unlock(int cpu, int32_t source, int32_t lock) = 0;
  // The spin of the handler on `cpu` reached LockTimeOut (0.25 s): a simulated panic.
  [[noreturn]] virtual void irq_spin_timed_out(int cpu, int32_t source, int32_t lock) = 0;
};

// A model of the world outside the kernel whose clock follows the dispatcher's lazily (the
// SimGrid platform, sim/platform): before each instant the dispatcher calls sync with that
// instant (or the end of the run when nothing is queued); the model may then schedule events at
// times in (now, next] (the completions of its activities) and they are handled in time order
// with the rest. A model with nothing pending returns at once.
class ExternalClock {
 public:
  virtual ~ExternalClock() = default;
  virtual void sync(SimTime next) = 0;
};

// Hardware whose transfer times a model outside the kernel decides (SimGrid disks and links,
// sim/platform).
class HardwareModel {
 public:
  virtual ~HardwareModel() = default;
  // A transfer of `bytes` (> 0) starts now on disk `disk` (an index into the platform's disks),
  // a write when `write`. When the model says it is done, the model schedules the event
  // (kind, target, arg) at that instant (kRankTimer), through the dispatcher's ExternalClock.
  virtual void start_disk(int32_t disk, bool write, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) = 0;
  // A message of `bytes` (> 0) leaves host `from` for host `to` now, over the platform's links
  // (-1 is the simulated machine, k >= 0 the peer host of link k); the event is scheduled when
  // it has fully arrived, as above.
  virtual void start_send(int32_t from, int32_t to, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) = 0;
};

class Dispatcher final : public policies::PolicyHost {
 public:
  using PolicyFactory = std::unique_ptr<policies::Policy> (*)(const policies::PolicyContext&);

  // Takes the threads (indices must equal positions) and builds the policy over them.
  Dispatcher(const model::MachineConfig& machine, std::vector<Thread> threads,
             PolicyFactory make_policy, core::TraceBus* bus);

  // Runs until simulated time `end` (events at `end` itself are not processed), then emits
  // the closing events (pending deadline misses) and calls finish on every sink.
  void run(SimTime end);

  // Called after every instant's dispatch pass (tests check invariants from it).
  void set_step_hook(std::function<void()> hook) { step_hook_ = std::move(hook); }
  // Overrides kMaxStepsPerInstant (tests provoke the no-progress guard quickly with it).
  void set_max_steps_per_instant(uint64_t steps) { max_steps_per_instant_ = steps; }
  // An InternalError stamped with the current simulated time and event sequence number.
  core::InternalError internal_error(const std::string& what) const;
  // Called with the simulated time every `every` instants (progress reports for long runs).
  void set_progress(std::function<void(SimTime)> report, uint64_t every) {
    progress_ = std::move(report);
    progress_every_ = every;
  }
  // Called when the interpreter starts an op of a thread's program, before the op's own trace
  // events (`xnusim explain` prints the op's note there). An op run again after repeat_op (a
  // retried lock) is not started again. Unset, it costs one test per op.
  void set_op_started(std::function<void(const Thread&, const model::Op&)> hook) {
    op_started_ = std::move(hook);
    op_retried_.assign(threads_.size(), 0);
  }

  // --- PolicyHost ---------------------------------------------------------------------------
  SimTime now() const override { return now_; }
  void set_sched_pri(Thread& t, int pri, core::PriorityReason why, bool check = true) override;
  void emit(const core::TraceEvent& e) override { bus_->emit(e); }
  void resched(int cpu) override { post_ast(cpus_[static_cast<size_t>(cpu)]); }

  // --- extension API (sim/sync, sim/iokit_model) ------------------------------------------
  // The sync layer changed t.promoted_pri (a lock promotion began, changed or ended).
  void promotion_changed(Thread& t) { policy_->promotion_changed(t); }
  void register_op_handler(model::OpKind kind, OpHandler* handler);
  // Whether a layer registered a handler for `kind` (tests check the op table against this).
  bool has_op_handler(model::OpKind kind) const {
    return static_cast<size_t>(kind) < op_handlers_.size() && op_handlers_[static_cast<size_t>(kind)];
  }
  // Returns the event kind to schedule for `handler` (one per handler).
  uint16_t register_event_handler(EventHandler* handler);
  void set_block_hook(BlockHook* hook) { block_hook_ = hook; }
  // The external model synchronised before each instant (none: nothing is called).
  void set_external_clock(ExternalClock* clock) { clock_ = clock; }
  void set_switch_observer(SwitchObserver* observer) { switch_observer_ = observer; }
  void schedule(SimTime at, uint32_t rank, uint16_t kind, int32_t target, uint32_t generation = 0, int64_t arg = 0) {
    queue_.push(at, rank, kind, target, generation, arg);
  }
  Thread& thread(int32_t index) { return threads_[static_cast<size_t>(index)]; }
  // The running thread `t` stops and waits (`why`, `object` for the trace) until wake().
  // Blocking with preemption disabled (a spin lock held) panics, as xnu's thread_invoke does.
  void block(Thread& t, core::BlockReason why, int32_t object);
  // A blocked thread becomes runnable (thread_unblock + thread_setrun). No effect otherwise.
  void wake(Thread& t, core::WakeReason why);
  // Creates a thread declared with start = SimTime::never() now, as kernel_thread_start does
  // for threads made on demand (thread_call's activator, a create_thread op of thread
  // `creator`, traced as the creator); no effect on one already started.
  void start_thread(Thread& t, int32_t creator = -1);
  // models xnu-792 osfmk/kern/thread_act.c thread_terminate (another thread) with
  // thread_terminate_internal and act_abort: marks `target` (TH_ABORT, AST_APC) so that it ends
  // at its next safe point, and returns the kern_return_t: 0, or KERN_FAILURE (5) for a kernel
  // thread (thread_terminate refuses kernel_task threads other than the caller), KERN_TERMINATED
  // (37) for one already ended or marked, 4 for one not created yet (no thread to name). Traced
  // as terminate_asked. Interrupting the target's interruptible wait (clear_wait) is the
  // caller's part (sim/sync owns waits); so is the caller's thread_wait (wait_until_stopped).
  int abort_thread(Thread& caller, Thread& target);
  // models xnu-792 osfmk/kern/thread.c thread_wait: the running thread `caller` blocks until
  // `target` is neither running nor runnable (blocked or ended). Returns false, without
  // blocking, when it is so already.
  bool wait_until_stopped(Thread& caller, Thread& target);
  // The op just executed for `t` runs again when `t` next continues (a retry).
  void repeat_op(Thread& t);
  // `ops` (owned by the caller, stable for the run) run next, before the rest of the program.
  void push_ops(Thread& t, const std::vector<model::Op>* ops);
  // The running thread `t` computes for `d` before its program continues.
  void compute(Thread& t, Duration d);
  // The running thread `t` spins on its CPU (CPU time) for at most `limit` for lock `lock`
  // (traced); it continues when the limit is reached or stop_spin is called.
  void spin(Thread& t, Duration limit, int32_t lock);
  void stop_spin(Thread& t);
  // A primary interrupt from `source` arrives on `cpu` now; its handler takes `handler` of CPU
  // time in interrupt context (plus machine costs interrupt_entry/exit), not preemptible and
  // not nested: later arrivals wait for the current handler.
  // With `program`, the handler runs those ops instead (run, and lock/unlock of spin locks
  // through the InterruptLocks); `handler` is then unused.
  void raise_interrupt(int cpu, int32_t source, Duration handler, InterruptClient* client,
                       const std::vector<model::Op>* program = nullptr);
  void set_interrupt_locks(InterruptLocks* locks) { interrupt_locks_ = locks; }
  // The handler spinning on `cpu` now holds its lock: its program goes on (at this instant).
  void interrupt_lock_granted(int cpu);
  // Interrupts off / on on the CPU of the running thread `t` (IOSimpleLockLockDisableInterrupt
  // and IOSimpleLockUnlockEnableInterrupt); arrivals meanwhile wait and are taken on enable.
  void disable_interrupts(Thread& t);
  void enable_interrupts(Thread& t);
  // Kernel code on behalf of a user thread (an IOKit call, a syscall): while inside, the
  // thread is in kernel mode and non-urgent preemption waits (xnu-facts.md 5.6); leaving
  // honours a pending AST, as the return to user mode does.
  void enter_kernel(Thread& t) { ++t.kernel_depth; }
  void exit_kernel(Thread& t);
  // Preemption level (simple locks): while above 0 the thread keeps its CPU whatever is
  // queued, and blocking panics.
  void disable_preemption(Thread& t) { ++t.preemption_level; }
  void enable_preemption(Thread& t);
  // Stops the run with a simulated panic (exit 4): traced, then SimulatedPanic is thrown.
  [[noreturn]] void panic(const Thread* culprit, const std::string& what);
  // The panic report, empty when the run did not panic.
  const std::string& panic_report() const { return panic_report_; }

  // --- read access ----------------------------------------------------------------------------
  const std::vector<Thread>& threads() const { return threads_; }
  const std::vector<Processor>& processors() const { return cpus_; }
  const policies::Policy& policy() const { return *policy_; }
  // The policy itself, for tests that set a policy's private state (e.g. xnu usage) directly.
  policies::Policy& policy_for_tests() { return *policy_; }
  const model::MachineConfig& machine() const { return machine_; }
  uint64_t events_handled() const { return events_handled_; }

 private:
  void handle(const core::Event& e);
  // Counts one step of the current instant; past the limit, throws the no-progress error.
  void step_instant(const char* what) {
    if (++instant_steps_ > max_steps_per_instant_) no_progress(what);
  }
  [[noreturn]] void no_progress(const char* what) const;
  void on_start(Thread& t, int32_t creator);
  void on_release(Thread& t);
  void on_cpu_event(Processor& p);
  void dispatch_pass();

  // models xnu-792 osfmk/kern/sched_prim.c thread_setrun (placement and preemption choice)
  void thread_setrun(Thread& t, bool head, bool preempt, int exclude);
  // models xnu-792 osfmk/kern/sched_prim.c thread_select + thread_invoke/thread_dispatch
  void thread_select(Processor& p);
  void choose_and_switch(Processor& p);
  // models xnu-792 osfmk/kern/priority.c thread_quantum_expire (mechanism part)
  void thread_quantum_expire(Processor& p);
  void preempt_check(Thread& t);
  void hand_to(Processor& p, Thread& t);
  void release_handed(Processor& p, Thread& h);
  void requeue_preempted(Processor& p, Thread& t, core::SwitchReason why);
  // `timeslice`: the quanta of the dispatch when counted earlier (choose_and_switch), -1: now.
  void switch_to(Processor& p, Thread* prev, Thread* next, core::SwitchReason why, int timeslice = -1);
  void resume_same(Processor& p, Thread& t);
  void account(Processor& p);
  void schedule_cpu_event(Processor& p);
  void post_ast(Processor& p) { p.ast_pending = true; }
  // The only writers of Processor::current (with its current_pri and the thread's current_of)
  // and of the free-CPU set: `note_free` re-reads p.free() after p.active, p.handed or the
  // active thread's state changed.
  void set_current(Processor& p, const Thread* t) {
    if (p.current != t) {
      if (p.current) --threads_[static_cast<size_t>(p.current->index)].current_of;
      if (t) ++threads_[static_cast<size_t>(t->index)].current_of;
      p.current = t;
    }
    current_pri_[static_cast<size_t>(p.index)] = static_cast<int16_t>(t ? t->sched_pri : -1);
  }
  void note_free(Processor& p) { free_cpus_.assign(p.index, p.free()); }
  // Builds with assertions (the sanitizer build) check the free set and every current_pri and
  // current_of against the processors before each policy search that reads them.
#ifndef NDEBUG
  void check_cpu_caches() const;
#else
  void check_cpu_caches() const {}
#endif

  // Thread life cycle. `how`: 0 the program ended, 1 exit_thread, 2 terminated by `by`.
  void exit_thread(Thread& t, int how = 0, int32_t by = -1);
  // A thread marked by abort_thread is at a safe point now: not inside kernel code (an IOKit
  // call, a simple lock, a lock spin or a retried acquisition).
  bool at_safe_point(const Thread& t) const {
    return t.abort_pending && t.kernel_depth == 0 && t.preemption_level == 0 && !t.spinning && !t.retrying;
  }
  // The marked running thread `t` runs its special handler: thread_terminate_self.
  void terminate_self(Thread& t);
  // `t` stopped running (blocked or ended): the threads in thread_wait for it go on.
  void stopped(Thread& t);
  void start_job(Thread& t);
  bool job_done(Thread& t);  // true when the next job starts at once
  void set_base_pri(Thread& t, int pri);
  void depress(Thread& t, Duration how_long);
  void undepress(Thread& t);
  void refresh_urgency(Thread& t);
  void end_spin(Thread& t);
  void begin_interrupt(Processor& p);
  void on_interrupt_step(Processor& p, int64_t step);
  void run_handler_program(Processor& p);

  // Program interpreter: runs zero-time ops until the thread computes, blocks or yields.
  void advance(Processor& p);
  Duration draw(Thread& t, const model::DurationSpec& d);

  model::MachineConfig machine_;
  std::vector<Thread> threads_;
  std::vector<Processor> cpus_;
  model::CpuSet free_cpus_;        // CPUs p with p.free(): idle and not handed a thread
  std::vector<int16_t> current_pri_;  // by CPU: cpus_[i].current's sched_pri, -1 when none
  std::unique_ptr<policies::Policy> policy_;
  core::TraceBus* bus_;
  core::EventQueue queue_;
  SimTime now_;
  SimTime end_;
  SimTime tick_deadline_ = SimTime::never();  // the tick thread's next period (tick_in_thread)
  uint64_t events_handled_ = 0;
  uint64_t instants_ = 0;
  uint64_t event_seq_ = 0;       // sequence number of the event being (or last) handled
  uint64_t instant_steps_ = 0;   // steps taken at now_
  uint64_t max_steps_per_instant_ = kMaxStepsPerInstant;
  std::function<void()> step_hook_;
  std::function<void(SimTime)> progress_;
  uint64_t progress_every_ = 0;
  std::function<void(const Thread&, const model::Op&)> op_started_;
  std::vector<uint8_t> op_retried_;  // by thread, only while op_started_ is set
  std::vector<OpHandler*> op_handlers_;        // by OpKind
  std::vector<EventHandler*> event_handlers_;  // kind - kFirstExtensionKind
  BlockHook* block_hook_ = nullptr;
  ExternalClock* clock_ = nullptr;
  SwitchObserver* switch_observer_ = nullptr;
  std::string panic_report_;
  std::vector<InterruptClient*> interrupt_clients_;  // by interrupt source index
  InterruptLocks* interrupt_locks_ = nullptr;
  std::vector<std::vector<int32_t>> stop_waiters_;   // by thread: callers in thread_wait for it
  std::vector<SimTime> ended_at_;                    // by thread: when it ended, never if alive
};

}  // namespace sim::dispatcher
