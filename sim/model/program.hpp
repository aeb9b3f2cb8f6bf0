// Program ops: what a simulated thread does, as plain data parsed from the scenario.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/time.hpp"

namespace sim::model {

using core::Duration;

// A duration that may be drawn at random each time it is used.
struct DurationSpec {
  enum class Kind : uint8_t { fixed, uniform, exponential, normal };
  Kind kind = Kind::fixed;
  Duration a;  // fixed value, uniform low, exponential mean, normal mean
  Duration b;  // uniform high, normal stddev
};

enum class ThreadMode : uint8_t { timeshare, fixed, realtime };

// THREAD_TIME_CONSTRAINT_POLICY parameters.
struct RealtimeParams {
  Duration period;
  Duration computation;
  Duration constraint;
  bool preemptible = true;
};

// thread_policy_set flavours (xnu-792 osfmk/mach/thread_policy.h). THREAD_STANDARD_POLICY is
// flavour 1 with no data, which the kernel reads as THREAD_EXTENDED_POLICY with timeshare TRUE.
enum class PolicyFlavor : uint8_t { standard, extended, time_constraint, precedence };

// task_policy_set TASK_CATEGORY_POLICY roles (xnu-792 osfmk/mach/task_policy.h, same values:
// TASK_RENICED -1 is what task_importance leaves, never asked for by a scenario).
enum class TaskRole : int8_t { reniced = -1, unspecified = 0, foreground, background, control, graphics_server };

// pthread_setschedparam policies (Libc-391 pthread.c; the values are Mach's POLICY_* ones).
enum class SchedPolicy : uint8_t { other = 1, rr = 2, fifo = 4 };

enum class OpKind : uint8_t {
  run, sleep, sleep_until_next_period, loop, lock, unlock, wait, signal, funnel, yield, swtch_pri,
  set_priority, set_mode, run_action, command_sleep, command_wakeup, io, timer_arm, timer_cancel,
  terminate, clear_wait, thread_policy, task_policy, setpriority, pthread_setschedparam, try_lock, upgrade,
  downgrade,
  // Threads created and ended at run time (docs/threads.md), funnels at run time (xnu-517).
  create_thread, exit_thread, terminate_thread, funnel_switch, funnel_merge,
  // The host's performance state (machine.platform; docs/platforms.md).
  set_pstate,
  // A message to a peer host through a NIC over the platform's links (docs/platforms.md).
  send,
  // Internal ops, never produced by the loader: the programs of the IOKit layer's own threads
  // (`ref` = work loop or callout slot), the end of a run_action's computation, and direct
  // IOWorkLoop::closeGate/openGate (`ref` = work loop) for tests.
  internal_workloop, internal_callout, internal_activator, internal_terminate, internal_action_done,
  internal_gate_close, internal_gate_open,
  // The scheduler tick thread of a policy whose tick is a thread (xnu's sched_tick_thread): the
  // tick's work, then a wait for the next period (Policy::tick_in_thread).
  internal_sched_tick
};

enum class LockMode : uint8_t { exclusive, read, write };
enum class FunnelName : uint8_t { none, kernel, network };

struct Op {
  OpKind kind = OpKind::run;
  DurationSpec duration;    // run/sleep/run_action/io `for`, timer_arm `after`
  int32_t ref = -1;         // lock, event, workloop, device or timer index
  int32_t event = -1;       // command_sleep/command_wakeup event index
  int64_t times = 1;        // loop
  bool forever = false;     // loop
  bool all = false;         // signal, command_wakeup
  Duration timeout;         // wait: THREAD_TIMED_OUT after this long; zero = no timeout
  int32_t thread = -1;      // signal: wake only this thread (thread_wakeup_thread), -1 any;
                            // clear_wait: the thread whose wait to interrupt;
                            // create_thread / terminate_thread: the thread created or ended
  // wait: THREAD_INTERRUPTIBLE (true) or THREAD_UNINT (false); unset: interruptible on a
  // semaphore (semaphore_wait waits THREAD_ABORTSAFE), uninterruptible on a plain event
  std::optional<bool> interruptible;
  int priority = 0;         // set_priority, set_mode
  LockMode lock_mode = LockMode::exclusive;
  // lock of a spin lock: IOSimpleLockLockDisableInterrupt (the CPU's interrupts are off from
  // before the spin until the matching unlock, IOSimpleLockUnlockEnableInterrupt)
  bool disable_interrupts = false;
  FunnelName funnel = FunnelName::none;  // funnel; funnel_switch: the funnel taken (`to`)
  FunnelName funnel_from = FunnelName::none;  // funnel_switch: the funnel released (`from`)
  // set_mode
  ThreadMode mode = ThreadMode::timeshare;
  bool has_priority = false;
  RealtimeParams realtime;
  // thread_policy (mode and realtime above carry the extended and time-constraint data)
  PolicyFlavor flavor = PolicyFlavor::standard;
  int importance = 0;       // precedence
  // task_policy: the role asked for and the target task (empty: the caller's own task)
  TaskRole role = TaskRole::unspecified;
  std::string task;
  int pstate = 0;           // set_pstate: the platform host's pstate index
  int64_t bytes = 0;        // io: bytes read or written on the device's platform disk (0: none);
                            // send: the message's size
  bool write = false;       // io: the transfer is a write
  int32_t host = -1;        // send: the peer host (index of machine.platform's link to it)
  int nice = 0;             // setpriority: the value asked for (donice clamps it to -20..20)
  SchedPolicy sched_policy = SchedPolicy::other;  // pthread_setschedparam (priority above)
  std::vector<Op> body;     // loop; try_lock and upgrade: the `else` ops, run when it fails
  std::string note;
  std::string pointer;      // JSON Pointer of this op in the scenario, for messages
};

std::string_view to_string(OpKind k);
std::string_view to_string(ThreadMode m);
std::string_view to_string(TaskRole r);

}  // namespace sim::model
