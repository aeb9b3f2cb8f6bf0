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
  created,           // thread: its start time came; a = 1 if kernel thread
  released,          // thread: job `a` released; b = absolute deadline ns, or -1
  woke,              // thread: runnable again after blocking; reason = WakeReason
  switched,          // cpu: `thread` (prev, -1 idle) -> `other` (next, -1 idle); reason = SwitchReason
                     //      of prev; a = switch cost ns charged to the CPU; b = next's sched_pri
  blocked,           // thread on cpu: reason = BlockReason; other = object index or -1
  completed,         // thread: job `a` done; b = response time ns
  deadline_missed,   // thread: job `a` finished (or was still pending) past its deadline; b = lateness
  exited,            // thread: no more work
  priority_changed,  // thread: sched_pri a -> b; reason = PriorityReason
  quantum_expired,   // cpu, thread: the quantum ended while it ran
  preempt_deferred,  // cpu, thread: a preemption waits until the kernel-mode thread blocks
  demoted,           // thread: fail-safe tripped; a = metered ns, b = release tick
  undemoted,         // thread: fail-safe released, mode restored
  mode_changed,      // thread: set_mode succeeded; a = new mode, b = new base
  set_mode_failed,   // thread: thread_policy_set refused; a = kern_return_t (4)
  sched_tick,        // a = tick number, b = pri_shift (792) or sched_load (517)
  depressed,         // thread: swtch_pri depression begins; a = until ns
  undepressed,       // thread: depression ended
};

enum class SwitchReason : uint8_t { none, block, preempt, quantum, yield, exit, idle_wake };
enum class BlockReason : uint8_t { sleep, period, event, lock, funnel, gate, io, exit };
enum class WakeReason : uint8_t { timer, release, event, lock, io, start };
enum class PriorityReason : uint8_t { set_priority, decay, quantum, tick, wake, failsafe, promote,
                                      unpromote, depress, mode };

std::string_view to_string(TraceKind k);
std::string_view to_string(SwitchReason r);
std::string_view to_string(BlockReason r);
std::string_view to_string(WakeReason r);
std::string_view to_string(PriorityReason r);

struct TraceEvent {
  SimTime time;
  TraceKind kind = TraceKind::created;
  uint8_t reason = 0;
  int16_t cpu = -1;
  int32_t thread = -1;
  int32_t other = -1;
  int64_t a = 0;
  int64_t b = 0;
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

// Names used to print events: thread names by index, and names of other objects.
struct NameTable {
  std::vector<std::string> threads;
  std::vector<std::string> objects;  // locks, events, ... by the index that `other` carries
  std::string_view thread(int32_t i) const {
    if (i < 0) return "idle";
    return i < static_cast<int32_t>(threads.size()) ? std::string_view(threads[i]) : "?";
  }
};

}  // namespace sim::core
