// Timeline: a TraceSink that keeps what the HTML report draws. Inside a time window it records
// intervals (what each CPU ran, each thread's state, lock holds, inversions) and marks (priority
// changes, job releases and misses, interrupt -> work-loop links); over the whole run it keeps
// only bounded summaries (sched_pri change points, thinned when there are many; the deadline
// misses, up to a cap; the worst moments). Memory depends on the window, never on the run's length.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"

namespace sim::reports {

// What a thread is doing during an interval of its lane.
enum class ThreadState : uint8_t {
  running,   // on CPU `cpu`
  spinning,  // on CPU `cpu`, spinning for lock `object`
  ready,     // runnable, waiting for a CPU
  lock,      // blocked on lock `object` (a work loop's gate is a lock too)
  funnel,    // blocked for funnel `object` (0 kernel, 1 network)
  sleeping,  // blocked in sleep
  period,    // waiting for its next periodic release
  event,     // waiting on event `object`
  io,        // waiting for an I/O
  command,   // commandSleep in a command gate, on event `object`
  other,     // blocked for a reason the trace did not give
};
std::string_view to_string(ThreadState s);

struct ThreadSpan {
  int64_t from = 0, to = 0;
  int32_t thread = -1;
  ThreadState state = ThreadState::ready;
  int32_t object = -1;  // lock / event / funnel index, by state
  int16_t cpu = -1;     // running, spinning
  int16_t pri = 0;      // sched_pri when the span began
};

// What a CPU ran: a thread (thread >= 0, at priority `pri`) or an interrupt handler
// (source >= 0; -1 = between handlers of one interrupt context). Idle is the gaps.
struct CpuSpan {
  int64_t from = 0, to = 0;
  int16_t cpu = 0;
  int32_t thread = -1;
  int32_t source = -1;
  int16_t pri = 0;
};

struct LockHold {
  int64_t from = 0, to = 0;
  int32_t lock = -1;
  int32_t thread = -1;
};

// `thread` was blocked while `ran` (lower, not holding the lock) ran and `holder` was runnable.
struct InversionSpan {
  int64_t from = 0, to = 0;
  int32_t thread = -1;
  int32_t ran = -1;
  int32_t holder = -1;
};

enum class MarkKind : uint8_t {
  priority,    // a = old sched_pri, b = new; reason = PriorityReason
  demoted,     // fail-safe tripped
  undemoted,   // fail-safe released
  depressed,   // swtch_pri depression began
  undepressed, // it ended
  released,    // job a released; b = absolute deadline or -1
  completed,   // job a done; b = response ns
  missed,      // job a missed its deadline; b = lateness
};
std::string_view to_string(MarkKind k);

struct Mark {
  int64_t time = 0;
  int32_t thread = -1;
  MarkKind kind = MarkKind::priority;
  uint8_t reason = 0;
  int64_t a = 0, b = 0;
};

// An interrupt handler on `cpu` at `from` signalled work that work loop `workloop`'s thread
// `thread` took at `to` (source `source`, `count` interrupts coalesced into the action).
struct Link {
  int64_t from = 0, to = 0;
  int16_t cpu = -1;
  int32_t thread = -1;
  int32_t workloop = -1;
  int32_t source = -1;
  int64_t count = 0;
};

// sched_pri of one thread over the whole run: exact change points while they are few, else
// per-bucket minimum and maximum over a fixed grid of the run.
struct PriorityPoint {
  int64_t time = 0;
  int16_t lo = 0, hi = 0;  // equal for an exact point
};
struct PrioritySeries {
  bool thinned = false;  // the series starts at the thread's first event that shows its priority
  std::vector<PriorityPoint> points;
};

// A deadline miss anywhere in the run (up to Timeline::kMaxMisses are listed).
struct MissRecord {
  int64_t time = 0;
  int32_t thread = -1;
  int64_t job = 0;
  int64_t lateness = 0;
};

// The worst moment of a thread's run, kept over the whole run: the time and value of its
// largest response (at the completion) and its largest wakeup latency (at the switch-in).
struct Worst {
  int64_t response = -1, response_at = -1, response_job = -1;
  int64_t latency = -1, latency_at = -1;
};

struct TimeWindow {
  int64_t from = 0;
  int64_t to = INT64_MAX;
};

class Timeline : public core::TraceSink {
 public:
  static constexpr size_t kMaxRecords = 60'000;  // spans + marks + links kept in the window
  static constexpr size_t kMaxMisses = 500;
  static constexpr size_t kExactPriorityPoints = 3'000;  // per thread, before thinning
  static constexpr int64_t kPriorityBuckets = 1'500;

  // `names` are the run's (copied); `cpus` is the machine's; `run_end` the
  // run's planned end (for the thinning grid).
  // `max_records` caps what the window keeps (tests give small ones).
  Timeline(core::NameTable names, int cpus, int64_t run_end, TimeWindow window, size_t max_records = kMaxRecords);

  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

  const core::NameTable& names() const { return names_; }
  int cpus() const { return static_cast<int>(cpu_.size()); }
  TimeWindow window() const { return window_; }
  int64_t end() const { return end_; }
  // True when the window held more than max_records records: the recording stopped at
  // truncated_at, every state open then being closed there, so the lanes have no gap before it.
  bool truncated() const { return truncated_; }
  int64_t truncated_at() const { return truncated_at_; }

  const std::vector<ThreadSpan>& thread_spans() const { return thread_spans_; }
  const std::vector<CpuSpan>& cpu_spans() const { return cpu_spans_; }
  const std::vector<LockHold>& lock_holds() const { return holds_; }
  const std::vector<InversionSpan>& inversions() const { return inversions_; }
  const std::vector<Mark>& marks() const { return marks_; }
  const std::vector<Link>& links() const { return links_; }
  const std::vector<PrioritySeries>& priorities() const { return priorities_; }
  const std::vector<MissRecord>& misses() const { return misses_; }
  int64_t miss_count() const { return miss_count_; }
  const std::vector<Worst>& worst() const { return worst_; }

 private:
  struct ThreadNow {
    ThreadState state = ThreadState::ready;
    bool live = false;  // a state is open
    int64_t since = 0;
    int32_t object = -1;
    int16_t cpu = -1;
    int16_t pri = 0;
    bool pri_known = false;
    int64_t woke_at = -1;
    bool has_inversion = false;
    InversionSpan inversion;
  };
  struct CpuNow {
    bool open = false;
    CpuSpan span;
    int32_t thread = -1;  // running thread, -1 idle
    bool in_interrupt = false;
  };
  struct Pending {  // an interrupt's signal not yet taken by an action
    int64_t at = -1;
    int16_t cpu = -1;
  };

  bool overlaps(int64_t from, int64_t to) const;
  bool room() const { return !truncated_; }
  void truncate(int64_t now);
  void set_state(int32_t t, int64_t now, ThreadState s, int32_t object, int16_t cpu);
  void close_thread(int32_t t, int64_t now);
  void open_cpu(int16_t cpu, int64_t now, int32_t thread, int32_t source);
  void close_cpu(int16_t cpu, int64_t now);
  void mark(const core::TraceEvent& e, MarkKind k);
  void add_priority_point(int32_t t, int64_t now, int pri);
  void learn_priority(int32_t t, int64_t now, int pri);

  core::NameTable names_;
  TimeWindow window_;
  int64_t run_end_;
  int64_t end_ = 0;
  size_t max_records_;
  bool truncated_ = false;
  int64_t truncated_at_ = -1;
  std::vector<ThreadNow> thread_;
  std::vector<CpuNow> cpu_;
  std::vector<std::vector<LockHold>> open_holds_;  // by lock: holders now (rw locks: several)
  std::vector<int32_t> workloop_of_event_;        // event index -> work loop whose work event it is
  std::vector<std::vector<Pending>> pending_;     // by work loop, by source
  std::vector<ThreadSpan> thread_spans_;
  std::vector<CpuSpan> cpu_spans_;
  std::vector<LockHold> holds_;
  std::vector<InversionSpan> inversions_;
  std::vector<Mark> marks_;
  std::vector<Link> links_;
  std::vector<PrioritySeries> priorities_;
  std::vector<MissRecord> misses_;
  int64_t miss_count_ = 0;
  std::vector<Worst> worst_;
};

}  // namespace sim::reports
