// `xnusim calibrate`: measures this machine's costs with pinned threads (SCHED_FIFO where
// allowed) and writes them as an `xnusim-calibration` v1 file (docs/calibration.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/calibration/realtime.hpp"

namespace sim::calibration {

// min, p50, p99, p99.9 and max of a set of samples (ns), with their count.
struct Stats {
  int64_t count = 0;
  int64_t min = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
  double mean = 0;
};
// Nearest-rank percentiles of the samples (sorted in place).
Stats stats_of(std::vector<int64_t>& samples);

struct Measurement {
  std::string key;          // "context_switch", ...
  std::string what;         // one line for people
  bool measured = false;
  std::string skipped;      // why not, when not measured
  Stats stats;
};

struct TimerHistogram {
  int64_t bucket_ns = 1000;
  std::vector<int64_t> counts;  // counts[i]: latencies in [i, i+1) buckets
  int64_t overflow = 0;         // past the last bucket
};

struct CalibrateOptions {
  int64_t duration_ns = 10'000'000'000;
  std::optional<std::string> cpus;
  bool all_cpus = false;
  int64_t timer_period_ns = 1'000'000;
  bool vs_cyclictest = false;
};

struct CyclictestResult {
  bool ran = false;
  std::string error;     // why it did not run, or failed
  std::string command;
  Stats stats;           // from its histogram (1 us buckets), in ns
  int64_t overflow = 0;
};

struct CalibrationResult {
  MachineIdentity machine;
  std::vector<int> cpus;
  bool sched_fifo = false;
  bool interrupted = false;  // Ctrl-C or the watchdog ended it early
  int64_t duration_ns = 0;   // wall time it took
  double ns_per_iteration = 0;
  std::vector<Measurement> measurements;
  TimerHistogram timer_histogram;
  // Costs derived for the simulation (docs/calibration.md, "From measurements to costs").
  int64_t context_switch_ns = 0, thread_wakeup_ns = 0, interrupt_entry_ns = 0,
          interrupt_exit_ns = 0;
  CyclictestResult cyclictest;
  std::vector<std::string> warnings;
};

// Runs every measurement on the chosen CPUs. Returns an error message for bad options (exit 2).
std::string calibrate(const CalibrateOptions& o, CalibrationResult& out);
// The calibration file's JSON text.
std::string calibration_json(const CalibrationResult& r);
// The human summary (table, histogram, costs, cyclictest side by side).
std::string calibration_text(const CalibrationResult& r);
// The derivation of costs from the measurements (public for tests).
void derive_costs(CalibrationResult& r);
// Where cyclictest is, or "" when it is not installed.
std::string find_cyclictest();

}  // namespace sim::calibration
