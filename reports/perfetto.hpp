// The Perfetto trace (`--perfetto FILE`): the run as Chrome JSON trace events, which
// ui.perfetto.dev (legacy JSON importer) and chrome://tracing both open. docs/perfetto.md
// describes the tracks.
//
// Layout: one process per CPU ("cpu0", ...) with a "running" lane (which thread runs) and an
// "interrupts" lane, and one "threads" process with a lane per thread (running, ready, spinning,
// blocked/sleeping slices; deadline misses and demotions as instants; a sched_pri counter each)
// and a "ready threads" counter. Flow arrows join a wakeup to the run it allowed, an unlock to the
// waiter's next run and an interrupt to the work-loop action it caused.
//
// Streamed: slices are written when they end (complete "X" events); memory holds only the open
// slice of each lane, so it does not grow with the run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"

namespace sim::reports {

// What the trace records about the run (written as "otherData" at the end, and in the names).
struct PerfettoConfig {
  std::string scenario;
  std::string policy;
  uint64_t seed = 0;
  std::string xnu;
  int64_t duration_ns = 0;
  int cpus = 1;
  std::string scenario_sha256;
  std::vector<std::string> sets;
};

// Formats a time in ns as microseconds with three decimals ("5000.125"): exact to the ns.
std::string perfetto_us(int64_t ns);

class PerfettoWriter final : public core::TraceSink {
 public:
  // `out` and `names` are borrowed. Writes the opening and the metadata at once.
  PerfettoWriter(std::FILE* out, const core::NameTable& names, PerfettoConfig config);
  ~PerfettoWriter() override;
  PerfettoWriter(const PerfettoWriter&) = delete;
  PerfettoWriter& operator=(const PerfettoWriter&) = delete;

  void on_event(const core::TraceEvent& e) override;
  // Closes every open slice at `end` and ends the JSON document.
  void finish(core::SimTime end) override;
  // Ends the document at the last event's time when finish() was never called (a run cut short).
  void close();

 private:
  // A deferred event that belongs inside the lane's open slice (a flow end, an instant):
  // written just after that slice so each lane's events stay in time order in the file.
  struct Attached {
    char ph = 's';     // 's', 'f' or 'i'
    int64_t at = 0;    // wanted time, ns
    uint64_t id = 0;   // flow id
    std::string name;  // flow or instant name
    std::string args;  // instant args, JSON object text (without braces) or ""
  };
  struct Lane {
    int pid = 0;
    int tid = 0;
    bool open = false;
    bool keep = false;  // write the slice even when empty (an arrow starts from it)
    int64_t start = 0;
    std::string name;
    std::string cat;
    std::string args;  // JSON object members, without braces
    std::vector<Attached> attached;
  };
  enum class ThreadState : uint8_t { none, ready, running, spinning, blocked };
  struct ThreadInfo {
    ThreadState state = ThreadState::none;
    int cpu = -1;
    int64_t sched_pri = -1;
    // A wakeup caused by another lane, drawn as an arrow when the thread next runs.
    bool wake_pending = false;
    int wake_pid = 0, wake_tid = 0;
    int64_t wake_ts = 0;
    const char* wake_name = "";
  };
  struct Irq {  // a recent interrupt of a source, for interrupt -> action flows
    int cpu = -1;
    int64_t began = 0;
    int64_t ended = -1;  // -1 while its handler runs
  };
  struct InterruptInfo {
    std::vector<Irq> recent;  // not yet handled by an action, the last kInterruptsRemembered
  };
  struct Waker {  // who caused the wakeups of the current instant
    int64_t at = -1;
    Lane* lane = nullptr;
    const char* flow_name = "";
  };

  void open_slice(Lane& lane, int64_t t, std::string name, std::string cat, std::string args);
  void close_slice(Lane& lane, int64_t t);
  void attach(Lane& lane, Attached a);
  void thread_state(int32_t thread, int64_t t, ThreadState s, std::string name, std::string cat, std::string args);
  void counter(int pid, const std::string& name, const char* series, int64_t t, int64_t value);
  void instant(int32_t thread, int64_t t, const char* name, std::string args);
  void sched_pri(int32_t thread, int64_t t, int64_t pri);
  void ready_count(int64_t t, int delta);
  Lane* thread_lane(int32_t thread);
  Lane* cpu_lane(int cpu, bool interrupts);
  ThreadInfo* info(int32_t thread);
  std::string thread_json(int32_t thread) const;
  void emit(const std::string& text);
  void flow_start(int pid, int tid, int64_t ts, const char* name, uint64_t id);
  void flush_buffer();

  std::FILE* out_;
  const core::NameTable& names_;
  PerfettoConfig config_;
  std::vector<std::string> quoted_threads_;  // JSON string literals of the thread names
  std::vector<Lane> cpu_running_, cpu_interrupts_, thread_lanes_;
  std::vector<ThreadInfo> threads_;
  std::vector<int32_t> running_;  // per CPU: the thread of its open running slice
  std::vector<InterruptInfo> interrupts_;
  Waker waker_;
  int threads_pid_ = 0;
  int ready_ = 0;
  int64_t last_time_ = 0;
  uint64_t next_flow_ = 1;
  bool first_ = true;
  bool closed_ = false;
  std::string buffer_;
};

}  // namespace sim::reports
