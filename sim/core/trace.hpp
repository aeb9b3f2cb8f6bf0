// TraceEvent: every state change of a run, emitted once, in order, to every TraceSink.
// Metrics, trace writers and invariant checkers are all sinks; none of them changes the state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/time.hpp"

namespace sim::core {

enum class TraceKind : uint8_t {
  created,           // thread: its start time came; a = 1 if kernel thread; b = sched_pri;
                     // other = the thread whose create_thread made it, -1 otherwise
  released,          // thread: job `a` released; b = absolute deadline ns, or -1
  woke,              // thread: runnable again after blocking; reason = WakeReason
  switched,          // cpu: `thread` (prev, -1 idle) -> `other` (next, -1 idle); reason = SwitchReason
                     //      of prev; a = switch cost ns charged to the CPU; b = next's sched_pri
  blocked,           // thread on cpu: reason = BlockReason; other = object index or -1
  completed,         // thread: job `a` done; b = response time ns
  deadline_missed,   // thread: job `a` finished (or was still pending) past its deadline; b = lateness
  exited,            // thread: no more work; a = how: 0 its program ended, 1 exit_thread,
                     // 2 terminated by thread `other` (terminate_thread)
  priority_changed,  // thread: sched_pri a -> b; reason = PriorityReason
  quantum_expired,   // cpu, thread: the quantum ended while it ran
  preempt_deferred,  // cpu, thread: a preemption waits until the kernel-mode thread blocks
  demoted,           // thread: fail-safe tripped; a = metered ns, b = release tick
  undemoted,         // thread: fail-safe released, mode restored
  mode_changed,      // thread: set_mode succeeded; a = new mode, b = new base; reason =
                     // PolicyCall; c = the task's role (task_policy_set, setpriority)
  set_mode_failed,   // thread: thread_policy_set refused; a = kern_return_t (4), or for
                     // setpriority an errno (13 EACCES), 0 = accepted but ignored; reason =
                     // PolicyCall; c = the role asked for (task_policy_set)
  sched_tick,        // a = tick number, b = pri_shift (792) or sched_load (517)
  depressed,         // thread: swtch_pri depression begins; a = until ns
  undepressed,       // thread: depression ended
  panicked,          // the simulated system panicked; thread = culprit or -1
  // Synchronisation (sim/sync). `other` is the object's index in its own kind's name table.
  lock_acquired,     // thread took lock `other`; a = ns it waited (0 if uncontended)
  lock_contended,    // thread must wait for lock `other`; a = holder thread index or -1
  lock_released,     // thread released lock `other`; a = ns it held it
  spin_began,        // thread spins on CPU for lock `other`
  spin_ended,        // thread stopped spinning; a = ns spun
  inversion_began,   // thread (blocked) waits while `a` (lower, not a holder) runs and holder
                     // `other` is runnable but not running
  inversion_ended,   // thread: the inversion interval that began earlier ended; a = its ns
  funnel_dropped,    // thread dropped funnel `other` (0 kernel, 1 network) on a voluntary block
  funnel_taken,      // thread holds funnel `other`; a = ns it waited
  event_waited,      // thread waits on event `other`
  event_signaled,    // thread signalled event `other`; a = threads woken
  lock_held_at_exit, // thread ended holding lock `other`, which stays held for ever (xnu releases
                     // nothing at thread termination); reason = 0 mutex, 1 rw lock for reading,
                     // 2 rw lock for writing; a = ns held so far; b = threads waiting for it now
  // Interrupts and IOKit (sim/dispatcher interrupt entry, sim/iokit_model).
  interrupt_arrived, // cpu: source `other` asserted
  interrupt_began,   // cpu: entry for source `other` begins (handler after b = entry cost);
                     // thread = interrupted thread; a = latency arrival -> handler start
  interrupt_ended,   // cpu: handler of source `other` returned; a = ns in interrupt context
                     // for it, b = 1 when the CPU returns to thread context
  workloop_action,   // thread runs an action of work loop `other`; a = source index, b = count;
                     // c = action latency ns (oldest interrupt handed over -> now), -1 when the
                     // action serves no interrupt (the I/O command queue)
  timer_fired,       // timer `other` action runs on thread; a = 1 if it ran, 0 if skipped
  io_issued,         // thread issued an I/O to device `other`; a = request id
  io_completed,      // I/O request `a` on device `other` completed; b = IOReturn status
  terminated,        // device `other` terminate phase a (1, 2, 3) done
  command_refused,   // thread: IOCommandGate::commandSleep on work loop `other` returned IOReturn a
                     // (kIOReturnNotPermitted: the gate was not held) without sleeping; b = event
  filter_refused,    // cpu: the filter of IOFilterInterruptEventSource `b` of work loop `a` said
                     // the interrupt of source `other` is not its own (a shared line): no work
  // Lock attempts that do not wait (sim/sync).
  lock_try_failed,   // thread: an attempt on lock `other` failed without waiting; reason 0 try_lock
                     // (a = holder thread or -1), 1 upgrade (lck_rw_lock_shared_to_exclusive
                     // returned TRUE: another upgrade was pending, the read hold is gone; a = the
                     // thread whose upgrade was pending)
  lock_converted,    // thread: its hold of rw lock `other` changed mode; reason 1 read -> write
                     // (upgrade; a = ns waited for the other readers), 2 write -> read
                     // (downgrade; b = waiters woken)
  interrupt_lock,    // cpu: the primary interrupt handler of source `a` and spin lock `other`:
                     // reason 0 acquired (b = ns spun for it), 1 released (b = ns held),
                     // 2 spins for it (b = holder thread, or -1 a handler on another CPU)
  // Threads and funnels at run time (docs/threads.md).
  terminate_asked,   // thread called thread_terminate on `other`; a = kern_return_t (0 success,
                     // 4 not created yet, 5 KERN_FAILURE: a kernel thread, 37 KERN_TERMINATED)
  funnel_merged,     // thread called thread_funnel_merge; a = kern_return_t (0 merged, 5
                     // KERN_FAILURE: the funnels were merged already)
};

enum class SwitchReason : uint8_t { none, block, preempt, quantum, yield, exit, handoff };
enum class BlockReason : uint8_t { sleep, period, event, lock, funnel, io, exit, command, thread_wait };
// timed_out: a wait with a timeout ended by it (THREAD_TIMED_OUT); interrupted: by clear_wait
// (THREAD_INTERRUPTED); event: THREAD_AWAKENED.
enum class WakeReason : uint8_t { timer, release, event, lock, io, start, interrupt, timed_out,
                                  interrupted };
// The call a mode_changed or set_mode_failed event reports (its `reason`): thread_policy_set
// (the set_mode and thread_policy ops), task_policy_set (task_policy), setpriority,
// pthread_setschedparam.
enum class PolicyCall : uint8_t { thread_policy_set, task_policy_set, setpriority, pthread_setschedparam };
enum class PriorityReason : uint8_t { set_priority, decay, quantum, tick, wake, failsafe, promote,
                                      unpromote, depress, mode };

std::string_view to_string(TraceKind k);
std::string_view to_string(SwitchReason r);
std::string_view to_string(BlockReason r);
std::string_view to_string(WakeReason r);
std::string_view to_string(PriorityReason r);
std::string_view to_string(PolicyCall c);

struct TraceEvent {
  SimTime time;
  TraceKind kind = TraceKind::created;
  uint8_t reason = 0;
  int16_t cpu = -1;
  int32_t thread = -1;
  int32_t other = -1;
  int64_t a = 0;
  int64_t b = 0;
  int64_t c = 0;  // a third value, for the few kinds that need one (workloop_action)
};

// Receives every event of a run, in order. `finish` is called once, at the end time.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void on_event(const TraceEvent& e) = 0;
  virtual void finish(SimTime /*end*/) {}
};

// Fans one event out to several sinks (borrowed, not owned).
class TraceBus {
 public:
  void add(TraceSink* sink) { sinks_.push_back(sink); }
  void emit(const TraceEvent& e) {
    for (TraceSink* s : sinks_) s->on_event(e);
  }
  void finish(SimTime end) {
    for (TraceSink* s : sinks_) s->finish(end);
  }
  bool empty() const { return sinks_.empty(); }

 private:
  std::vector<TraceSink*> sinks_;
};

// Names used to print events: thread names by index, and the names of other objects by kind,
// each indexed as TraceEvent::other carries it.
struct NameTable {
  std::vector<std::string> threads;
  std::vector<std::string> locks;
  std::vector<std::string> events;
  std::vector<std::string> workloops;
  std::vector<std::string> interrupts;
  std::vector<std::string> timers;
  std::vector<std::string> devices;
  std::vector<std::vector<std::string>> sources;  // by work loop, then source index (its checkForWork order)
  std::string_view thread(int32_t i) const { return i < 0 ? std::string_view("idle") : at(threads, i); }
  static std::string_view at(const std::vector<std::string>& v, int32_t i) {
    return i >= 0 && i < static_cast<int32_t>(v.size()) ? std::string_view(v[static_cast<size_t>(i)]) : "?";
  }
};

}  // namespace sim::core
