// The Policy interface: a policy owns every scheduling decision (its run queues, the choice of
// the next thread, when a running thread gives way, where a woken or preempted thread goes, the
// quantum and timeslice of a dispatch, priorities and their decay); the dispatcher owns the
// mechanism (events, CPUs, ASTs, switches and their costs, interrupts, kernel-preemption levels,
// block and wake) and calls these hooks. It knows no priority constant and makes no
// policy-specific test. Modelled on Linux's struct sched_class (enqueue_task, pick_next_task,
// wakeup_preempt, select_task_rq, task_tick, put_prev_task); each hook says who calls it and when.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/machine.hpp"
#include "sim/model/processor.hpp"
#include "sim/model/program.hpp"
#include "sim/model/thread.hpp"

namespace sim::policies {

using core::Duration;
using core::SimTime;
using model::Processor;
using model::Thread;

// What a policy may ask of the dispatcher. Implemented by dispatcher::Dispatcher.
class PolicyHost {
 public:
  virtual ~PolicyHost() = default;
  virtual SimTime now() const = 0;
  // Sets a thread's sched_pri, re-queueing it at the tail if queued and posting an AST if that
  // changes what should run; emits priority_changed. Safe to call for any thread state. With
  // `check` false a queued thread is re-queued with thread_setrun(SCHED_TAILQ) and no preemption
  // check (thread_update_scan's update_priority), even when it rose.
  virtual void set_sched_pri(Thread& t, int pri, core::PriorityReason why, bool check = true) = 0;
  virtual void emit(const core::TraceEvent& e) = 0;
  // Posts an AST on `cpu` (need_resched): the CPU asks should_preempt() in this instant's
  // dispatch pass, or at its return from interrupt.
  virtual void resched(int cpu) = 0;
};

struct PolicyContext {
  model::MachineConfig machine;
  std::vector<Thread>* threads = nullptr;           // stable for the whole run
  const std::vector<Processor>* cpus = nullptr;     // stable for the whole run; read only
  // Set with `cpus` and kept by the dispatcher as the CPUs change, so that a wakeup's searches
  // need not visit every Processor (issue 13): the CPUs p with p.free(); and by CPU, the
  // sched_pri of p.current (-1 when nullptr), one contiguous array.
  const model::CpuSet* free_cpus = nullptr;
  const int16_t* current_pri = nullptr;  // priorities are 0-127: 16 bits search fastest
  PolicyHost* host = nullptr;
};

// should_preempt's answer: give way, and whether kernel-mode code must yield at once (an urgent
// AST, xnu's AST_URGENT) or only at its return to user mode.
struct Preemption {
  bool preempt = false;
  bool urgent = false;
};

// Where a thread that leaves its CPU still runnable goes back (requeue's answer).
struct Requeue {
  bool head = false;   // head of its level (keeps its place), else the tail
  bool check = false;  // make a preemption check for it (preempt_target) as for a wakeup
};

// A quantum_for() value meaning "no quantum": the dispatch never expires on its own (the
// policy ends slices itself from its tick, through PolicyHost::resched).
inline constexpr Duration kNoQuantum = Duration::infinite();

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;

  // --- run queues (sched_class enqueue_task / dequeue_task / pick_next_task) ----------------
  // Called by thread_setrun (wakeup, re-queue after a switch-out, a handed thread released) and
  // by set_sched_pri (a queued thread's priority changed: remove, then enqueue at the tail), with
  // `t` runnable and not queued. `head` as requeue() decided, or for a released hand-off.
  virtual void enqueue(Thread& t, bool head) = 0;
  // Called with `t` queued: its priority changes, or a thread_switch hand-off takes it directly.
  virtual void remove(Thread& t) = 0;
  // Called by thread_select: removes and returns the next thread for `cpu`; nullptr = idle.
  virtual Thread* choose(int cpu) = 0;
  // Called by thread_select when `outgoing` (running, still runnable, about to give way or
  // yield) leaves `cpu`, before requeue(): removes and returns the queued thread that should run
  // instead of it when one is at least its equal; nullptr when `outgoing` is above every queued
  // thread, so it is re-queued first and may be chosen again (xnu's thread_invoke order).
  virtual Thread* choose_over(int cpu, const Thread& outgoing) = 0;
  // Called by thread_select for a thread handed to an idle `cpu` that has not started yet: true
  // when a thread queued for `cpu` should run before it (it is then released to the queues).
  virtual bool queue_beats(int cpu, const Thread& handed) const = 0;
  // Called by swtch_pri: whether any thread is queued that `cpu` could run.
  virtual bool has_queued(int cpu) const = 0;

  // --- decisions ------------------------------------------------------------------------------
  // csw_check (sched_class wakeup_preempt / check_preempt_tick): called by thread_select for the
  // thread running on `p` when an AST is taken (a wakeup's preemption check, a quantum expiry,
  // a priority change, the policy's resched): should it give way to a queued thread now?
  // p.timeslice > 0 while the dispatch is in its first timeslice.
  virtual Preemption should_preempt(const Processor& p, const Thread& running) const = 0;
  // select_task_rq for an idle CPU: called by thread_setrun for a runnable `t` before it is
  // queued: the CPU to hand `t` to directly, or -1 to queue it. Only CPUs for which
  // Processor::can_take(exclude) holds may be returned (`exclude` is the CPU choosing now).
  // The default is xnu's search: idle_cpu_near(t, t.last_cpu, exclude).
  virtual int select_idle_cpu(const Thread& t, int exclude) const { return idle_cpu_near(t, t.last_cpu, exclude); }
  // The preemption check (sched_class wakeup_preempt's CPU choice): called by thread_setrun for
  // a thread just queued with a check (a wakeup, or requeue().check) and by set_sched_pri when a
  // queued thread's priority rises: the CPU whose current thread `t` should displace, or -1.
  // Processor::current is the thread each CPU compares against (running, handed or claimed by
  // an earlier check in this instant; nullptr while the CPU is idle or about to choose).
  virtual int preempt_target(const Thread& t) const = 0;
  // Called when a queued thread's preemption check is overtaken (the CPU it claimed chose
  // another thread, or a later check in the same instant took that CPU) and when a thread handed
  // to an idle CPU is put back because queue_beats() found a better one. True: it gets a new
  // preemption check at once (Linux's push_rt_task); false: it waits until some CPU reschedules
  // (xnu, xnu-facts.md 5.3).
  virtual bool push_overtaken() const { return false; }
  // thread_dispatch / put_prev_task: called by thread_select when the running `t` leaves `p`
  // still runnable (`why`: preempt, quantum, yield or a hand-off's yield), before it is queued.
  // Sets t.current_quantum (the remainder it keeps, zero = a fresh one at its next dispatch)
  // and says where it goes back.
  virtual Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) = 0;
  // Called at every dispatch (switch-in or resume): the number of quanta in the timeslice
  // during which only a strictly better thread preempts (xnu's timeshare_quanta), at least 1.
  virtual int timeslice(const Thread& /*t*/) const { return 1; }
  // Called whenever a thread's priority or mode changes: whether a preemption in favour of `t`
  // interrupts kernel-mode code at once (xnu's TH_MODE_PREEMPT, xnu-facts.md 5.5) or waits for
  // the return to user mode (5.6).
  virtual bool is_urgent(const Thread& t) const = 0;
  // thread_unblock: called by wake() as a blocked thread becomes runnable, before
  // update_priority and thread_setrun (a fresh quantum is already set).
  virtual void on_wakeup(Thread& /*t*/) {}
  // Called by the dispatcher as a job of `t` starts: at its release (`t` blocked, about to be
  // woken), or at once when `t` completes a job and the next one was already released (`t`
  // running on t.cpu). t.jobs_completed is the index of the job starting.
  virtual void job_started(Thread& /*t*/) {}
  // Called by the sync layer (through the dispatcher) whenever t.promoted_pri changes, in any
  // state of `t`, before any set_sched_pri that goes with it (which may not come: a promotion
  // to the thread's own level changes no sched_pri).
  virtual void promotion_changed(Thread& /*t*/) {}
  // thread_policy_set: called by the interpreter for a `set_mode` op of the running `t`; the
  // policy changes mode, base and sched_pri (through the host) and emits mode_changed or
  // set_mode_failed. The default is xnu's (xnu-facts.md 4.1).
  virtual void set_mode(Thread& t, const model::Op& op);
  // thread_policy_set by flavour: called for a `thread_policy` op of the running `t`, with the
  // same duties as set_mode. The default is xnu-792's, importance and limits included
  // (docs/scenario-format.md, thread_policy).
  virtual void thread_policy(Thread& t, const model::Op& op);
  // task_policy_set TASK_CATEGORY_POLICY: called for a `task_policy` op of the running `caller`;
  // may change the priority of every thread of the target task (task_priority()). The default is
  // xnu-792's (docs/policies/task-roles.md).
  virtual void task_policy(Thread& caller, const model::Op& op);
  // setpriority(PRIO_PROCESS, 0, nice): called for a `setpriority` op of the running `t`; sets
  // the nice of t's task and renices it as donice -> resetpriority -> task_importance do.
  virtual void setpriority(Thread& t, const model::Op& op);
  // pthread_setschedparam(pthread_self(), ...): called for a `pthread_setschedparam` op of the
  // running `t`; Mac OS X 10.4's Libc calls Mach's thread_policy (thread_policy_common).
  virtual void pthread_setschedparam(Thread& t, const model::Op& op);

  // --- priorities and quanta --------------------------------------------------------------
  // The sched_pri a thread should have now from its base, mode and usage (no side effects).
  // Called at construction for every thread, and by the dispatcher after a base priority
  // change, a depression and its end.
  virtual int compute_sched_pri(const Thread& t) const = 0;
  // Length of a fresh quantum for `t` (kNoQuantum: none); called at a dispatch of a thread with
  // no remainder and at each quantum expiry.
  virtual Duration quantum_for(const Thread& t) const = 0;
  // xnu update_priority: called by wake (`why` = wake) and thread_select (the running thread,
  // `why` = decay) so that a thread whose stamp is stale catches up; may call
  // host->set_sched_pri with `why`.
  virtual void update_priority(Thread& /*t*/, core::PriorityReason /*why*/) {}
  // Called by the dispatcher whenever `t` has run on a CPU over [from, to) (switch-out,
  // quantum expiry, run completion, an interrupt, an AST); the policy accumulates it if needed.
  virtual void charge(Thread& /*t*/, SimTime /*from*/, SimTime /*to*/) {}
  // thread_quantum_expire: called at a quantum expiry of the running thread, after charge().
  virtual void quantum_expire(Thread& /*t*/) {}
  // Scheduler tick (sched_class task_tick and the periodic work): period (zero = none), and
  // the work done at each one. As a callout (the default) the dispatcher's tick event calls
  // tick() before timers and releases of the same instant and after CPU progress.
  virtual Duration tick_period() const { return Duration{}; }
  virtual void tick() {}
  // True when the tick runs in a kernel thread the policy made in its constructor with
  // add_kernel_thread (xnu's sched_tick_thread, xnu-facts.md 2.1): that thread's
  // internal_sched_tick op calls tick() whenever the thread gets a CPU, then waits for the next
  // period as clock_deadline_for_periodic_event computes it (missed periods are dropped); the
  // dispatcher schedules no tick event.
  virtual bool tick_in_thread() const { return false; }

 protected:
  explicit Policy(const PolicyContext& ctx) : ctx_(ctx) {}
  // For a policy's own kernel threads: appends a fixed-priority thread of kernel_task that runs
  // `program` (borrowed; it must outlive the run) from `start` to *ctx.threads, after the
  // scenario's (and IOKit's) threads. Call it before anything is sized or pointed at by thread
  // (in the base-class initializer: the standard queues keep a pointer to the threads).
  static Thread& add_kernel_thread(const PolicyContext& ctx, std::string name, int priority,
                                   const std::vector<model::Op>* program, SimTime start);
  // task_priority() of xnu's task_policy.c: sets the priority, max_priority and role of the task
  // of `member` and recomputes the base priority of each of its threads (`call` is traced).
  void task_priority(Thread& member, int priority, int max_priority, model::TaskRole role, core::PolicyCall call);
  const Processor& cpu(int i) const { return (*ctx_.cpus)[static_cast<size_t>(i)]; }
  int cpu_count() const { return ctx_.machine.cpus; }
  // The sched_pri of cpu(i).current, -1 when none.
  int current_pri(int i) const { return ctx_.current_pri[i]; }
  // The lowest current_pri() of all CPUs (a wakeup below it preempts none). Worth asking first
  // from about this many CPUs; on fewer the search itself is as cheap.
  static constexpr int kLowestFirstFrom = 8;
  int lowest_current_pri() const {
    const int n = cpu_count();
    const int16_t* pri = ctx_.current_pri;
    int16_t lowest = std::numeric_limits<int16_t>::max();
    for (int i = 0; i < n; ++i) lowest = std::min(lowest, pri[i]);  // vectorised: 8 CPUs per instruction
    return lowest;
  }
  // An idle CPU for `t` (models xnu-792 thread_setrun's idle-processor search): a bound thread
  // only its own; otherwise `preferred` if it is idle, else the idle CPU of lowest index; -1
  // when none may take it.
  int idle_cpu_near(const Thread& t, int preferred, int exclude) const {
    if (t.bound_cpu >= 0) return cpu(t.bound_cpu).can_take(exclude) ? t.bound_cpu : -1;
    if (preferred >= 0 && cpu(preferred).can_take(exclude)) return preferred;
    return ctx_.free_cpus->first_except(exclude);
  }
  PolicyContext ctx_;
};

// thread_policy_set limits for THREAD_TIME_CONSTRAINT_POLICY (xnu-facts.md 4.1), used by the
// default set_mode.
inline constexpr Duration kMinRtQuantum = Duration::microseconds(50);
inline constexpr Duration kMaxRtQuantum = Duration::milliseconds(50);
inline constexpr int64_t kKernInvalidArgument = 4;
inline constexpr int64_t kEacces = 13;  // errno EACCES (bsd/sys/errno.h)
// donice's clamp: PRIO_MIN and PRIO_MAX (bsd/sys/resource.h).
inline constexpr int kPrioMin = -20;
inline constexpr int kPrioMax = 20;
bool rt_params_admissible(const model::RealtimeParams& rt);
// thread_recompute_priority's inputs: the task's priority and the thread's max_priority.
struct TaskLimits {
  int task_priority;
  int max_priority;
};
TaskLimits task_limits(const model::Thread& t);
// The role of t's task: what task_policy_set and setpriority last left, TASK_RENICED for a task
// the scenario renices at load time, else TASK_UNSPECIFIED.
model::TaskRole task_role(const model::Thread& t);
// The base priority thread_recompute_priority gives `t` with importance `importance`.
int recompute_base(const model::Thread& t, int importance);

}  // namespace sim::policies
