// `xnusim replay`: runs a scenario's threads as real pinned threads on this machine (Linux) and
// turns what they record into the simulator's own trace stream, so that the same metrics and
// reports apply (docs/calibration.md, "Replay").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/calibration/realtime.hpp"
#include "sim/core/trace.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::calibration {

// One line per construct that has no real counterpart ("/threads/2/program/0: op \"funnel\" ...");
// empty when the scenario can be replayed.
std::vector<std::string> replay_refusals(const scenario::Scenario& s);

// The real scheduling of one scenario thread (the mapping table in docs/calibration.md).
struct RealPolicy {
  bool fifo = false;  // SCHED_FIFO; else SCHED_OTHER
  int priority = 0;   // SCHED_FIFO priority (10..89)
  int nice = 0;       // SCHED_OTHER nice
};
// Fixed and kernel threads and realtime threads map to SCHED_FIFO by the rank of their priority
// (realtime threads above every fixed one), timeshare threads to SCHED_OTHER with nice =
// clamp(31 - base + nice, -20, 19).
std::vector<RealPolicy> map_priorities(const scenario::Scenario& s);
// The SCHED_FIFO priority a lock ceiling (a simulated priority) maps to.
int map_ceiling(const scenario::Scenario& s, int sim_priority);

struct ReplayOptions {
  core::Duration duration;  // how long to run (the scenario's, or --duration)
  std::vector<int> cpus;    // real CPU of each simulated CPU
  std::vector<int> spare;   // CPUs for the watchdog and the main thread
};

struct ReplayRun {
  std::vector<core::TraceEvent> events;  // merged, in time order, ready for the sinks
  int64_t end_ns = 0;                    // the end of the run (relative to its start)
  bool sched_fifo = true;                // every SCHED_FIFO thread got it
  bool interrupted = false;              // Ctrl-C or the watchdog ended it
  bool watchdog = false;
  int64_t dropped = 0;                   // records lost to full per-thread buffers
  std::vector<std::string> warnings;
};

// Runs the replay. The scenario must be replayable (replay_refusals empty) and
// s.machine.cpus <= o.cpus.size(). Every thread it starts has ended when it returns.
ReplayRun replay(const scenario::Scenario& s, const ReplayOptions& o);

// Turns per-thread records into a consistent trace stream (public for tests): see replay.cpp.
struct Record {
  int64_t t = 0;
  int32_t thread = -1;
  int16_t cpu = 0;
  core::TraceKind kind = core::TraceKind::created;
  uint8_t reason = 0;
  int32_t other = -1;
  int64_t a = 0, b = 0;
  bool runs = true;  // the thread was on its CPU at t (false for woke/released at an intended time)
};
std::vector<core::TraceEvent> reconstruct(std::vector<Record> records, const scenario::Scenario& s,
                                          int64_t end_ns);

}  // namespace sim::calibration
