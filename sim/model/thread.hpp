// A simulated thread: identity, scheduling state (xnu's thread fields we model) and the
// position of its program interpreter. Plain data; the dispatcher and policies change it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/priorities.hpp"
#include "sim/model/program.hpp"

namespace sim::model {

using core::SimTime;

enum class ThreadState : uint8_t {
  unstarted,  // before its start time
  runnable,   // queued, or handed to an idle CPU
  running,    // current thread of a CPU
  blocked,    // waiting (timer, release, event, lock, ...)
  done,       // exited
};

// Where a runnable thread sits.
enum class QueueKind : uint8_t { none, shared, bound };

// One level of the program interpreter: a list of ops and the position in it.
struct Frame {
  const std::vector<Op>* ops = nullptr;
  uint32_t pc = 0;
  int64_t repeats_left = 0;  // further iterations after this one (loops)
  bool forever = false;
};

// Fields are grouped by owner: each block says which layer writes it; every other layer only
// reads it. (Blocks rather than nested structs keep the field names that every layer uses.)
// The blocks read at nearly every event of the thread come first and the rarely used ones
// (names, declared values, real-time parameters, fail-safe, promotion) last, so that the fields an
// event touches share a few cache lines (issue 13: with 10,000 threads most events touch a
// thread that is not in cache). The order of the fields has no other meaning.
struct Thread {
  // --- Identity, the part read at run time: written by the scenario builder, constant during
  // the run ------------------------------------------------------------------------------------
  int32_t index = 0;
  int bound_cpu = -1;
  bool kernel = false;  // kernel thread: always in kernel mode
  const std::vector<Op>* program = nullptr;
  Duration period;        // zero: a single job
  Duration deadline;      // relative; zero: none
  SimTime start;          // (the dispatcher sets it once for threads started on demand)

  // --- Scheduling state shared by mechanism and policy (names as in xnu's struct thread):
  // written by the dispatcher (set_sched_pri, thread_policy_set, depress) and by the policy
  // through PolicyHost and its fail-safe (its rarely used part is further down) ---------------
  ThreadMode mode = ThreadMode::timeshare;     // current sched_mode
  bool urgent = false;                         // TH_MODE_PREEMPT
  int base_pri = BASEPRI_DEFAULT;              // thread->priority
  int sched_pri = BASEPRI_DEFAULT;
  // (Dispatcher; here where it fills padding:) CPUs whose Processor::current is this thread, so
  // that a change of sched_pri refreshes their entries of PolicyContext::current_pri.
  int current_of = 0;
  SimTime rt_deadline = SimTime::never();      // realtime.deadline

  // --- Dispatcher: run state, placement, quantum ------------------------------------------
  ThreadState state = ThreadState::unstarted;
  core::BlockReason block_reason = core::BlockReason::sleep;
  bool wakeup_cost_pending = false;  // charge machine.costs.thread_wakeup at the next dispatch
  bool quantum_expired_flag = false;  // the last switch-out counted as AST_QUANTUM
  int32_t block_object = -1;
  int cpu = -1;        // CPU it runs on (or is handed to), -1 otherwise
  int last_cpu = -1;   // last_processor
  Duration current_quantum;  // remainder carried to the next dispatch; zero = fresh quantum
  // Queued without a preemption that will take effect: re-queued after a preemption or quantum
  // expiry (xnu makes no preemption check then, xnu-facts 5.3), or its AST went to a CPU in
  // kernel mode that defers it (5.6). It may wait behind a lower thread on another CPU until
  // some CPU reschedules.
  bool waiting_for_reschedule = false;
  // Depression (swtch_pri, section 3.4).
  bool depressed = false;
  bool undepress_on_resume = false;  // swtch_pri: abort the depression when the thread goes on
  int kernel_depth = 0;     // > 0 while a user thread runs kernel code (IOKit call)
  int preemption_level = 0; // simple locks held or being spun for (sync layer via the dispatcher API)
  uint32_t depress_generation = 0;

  // --- Policy's run queues (sim/policies RunQueue / StandardQueues): intrusive links ---------
  QueueKind queued = QueueKind::none;
  int16_t rq_level = -1;
  int32_t rq_next = -1;  // thread indices
  int32_t rq_prev = -1;

  // (A policy's private per-thread state lives in the policy: the xnu policy's timeshare decay
  // state is XnuPolicy::DecayState, indexed by thread.)

  // --- Jobs (dispatcher) --------------------------------------------------------------------
  bool job_active = false;  // a job is executing (not waiting for its release)
  int64_t jobs_released = 0;
  int64_t jobs_completed = 0;

  // --- Program interpreter (dispatcher; IOKit and sync push ops and ask for compute/spin
  // through the dispatcher API) -------------------------------------------------------------
  std::vector<Frame> frames;
  Duration run_remaining;   // CPU time left in the current `run` op (or spin)
  bool in_run = false;
  bool spinning = false;    // the CPU time is spent spinning for a lock
  bool must_continue_hook = false;  // BlockHook::before_continue is owed before the next op
  int32_t spin_lock = -1;
  Duration spin_limit;
  int32_t op_frame = -1;    // frame of the op an OpHandler is executing (for repeat_op)
  uint32_t timer_generation = 0;
  SimTime ops_instant = SimTime::never();  // the instant ops_at_instant counts ops of
  int64_t ops_at_instant = 0;              // ops executed at ops_instant (zero-time loop guard)
  core::Rng rng;            // seeded by the builder; drawn by the interpreter and IOKit

  // --- Fail-safe (section 4.3): metering written by the dispatcher (switch-out, wakeup), the
  // trip and release by the xnu policy ------------------------------------------------------
  int64_t computation_metered_ns = 0;
  bool failsafe = false;
  ThreadMode saved_mode = ThreadMode::timeshare;
  uint32_t safe_release = 0;    // tick at which a demoted thread is restored

  // --- Life cycle at run time (dispatcher; docs/threads.md) ---------------------------------
  // thread_terminate marked it (act_abort: TH_ABORT and AST_APC): it ends at its next safe point.
  bool abort_pending = false;
  // The next op is a retry (repeat_op) of an op still inside the kernel (a lock acquisition, a
  // funnel re-take): not a safe point, the AST waits until it completes.
  bool retrying = false;
  int32_t terminator = -1;  // the thread whose terminate_thread marked it

  // --- Sync layer (sim/sync): mutex promotion ----------------------------------------------
  int promotions = 0;
  int promoted_pri = -1;

  // --- Scheduling state, the rarely used part (same owners as above) -------------------------
  RealtimeParams realtime;
  // thread->importance: set by THREAD_PRECEDENCE_POLICY; until then it is what
  // thread_create_internal leaves (declared base - task priority), derived on first use.
  bool has_importance = false;
  int importance = 0;
  // thread->task_priority and thread->max_priority, the copies of its task's that task_priority()
  // (task_policy.c) writes into every thread of the task: set by the `task_policy` and
  // `setpriority` ops; until then they follow from the task's load-time nice
  // (policies::task_limits). task_role is the task's role, copied the same way.
  bool has_task_limits = false;
  TaskRole task_role = TaskRole::unspecified;
  int task_priority = BASEPRI_DEFAULT;
  int max_priority = MAXPRI_USER;

  // --- Identity, the part read when starting, reporting and renicing (scenario builder) -----
  std::string name;
  std::string task;
  bool deadline_declared = false;  // the scenario gave `deadline` (else it is the period)
  ThreadMode declared_mode = ThreadMode::timeshare;
  bool root = false;  // its task runs as root (sec_token uid 0): may lower nice, take privileged roles
  bool spawned = false;  // "start": "spawned": created by another thread's create_thread op
  int declared_base_pri = BASEPRI_DEFAULT;     // as the scenario gave it
  int nice = 0;  // p_nice of its task, -20..19 (docs/policies/nice.md; 0 for kernel threads);
                 // a `setpriority` op changes it for every thread of the task (-20..20)

  bool kernel_mode() const { return kernel || kernel_depth > 0; }
  bool is_realtime() const { return mode == ThreadMode::realtime; }
  bool is_timeshare() const { return mode == ThreadMode::timeshare; }
  SimTime release_time(int64_t job) const { return start + period * job; }
};

}  // namespace sim::model
