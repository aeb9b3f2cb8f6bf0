// Results of one run: plain data filled by the metrics sinks, rendered by reports/.
// Field names follow the results format (docs/results-format.md); all times are integer ns.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/model/priorities.hpp"

namespace sim::metrics {

// One bucket of a distribution's histogram: `count` samples v with lo <= v <= hi.
struct HistogramBucket {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t count = 0;
  bool operator==(const HistogramBucket&) const = default;
};

// Distribution summary; percentiles are nearest-rank (the smallest sample with at least p% of
// samples at or below it). All zero (and the histogram empty, max_at_ns/max_job -1) when count
// is 0.
struct Summary {
  int64_t count = 0;
  int64_t min = 0;
  int64_t p50 = 0;
  int64_t p90 = 0;
  int64_t p99 = 0;
  int64_t p999 = 0;
  int64_t max = 0;
  int64_t mean = 0;  // rounded to the nearest ns
  // Extension keys, after the eight above.
  int64_t max_at_ns = -1;  // simulated time at which the (first) maximum sample was recorded, -1 if none
  int64_t max_job = -1;    // job number of that sample when it belongs to a job, else -1
  // Ascending, non-overlapping buckets, only non-empty ones; their counts sum to count. One
  // bucket per distinct value (lo == hi) while the distribution is exact and has at most
  // Distribution::kExactHistogramValues distinct values; log-linear buckets otherwise
  // (docs/results-format.md, "Histograms").
  std::vector<HistogramBucket> histogram{};
};

// The counters of a thread that the metrics sink keeps during a run: one struct, so that the
// sink's per-thread state and the results share it (no field-by-field copy at the end). Their
// order in the JSON is the catalogue's (catalog.cpp), not this one.
struct ThreadCounters {
  int64_t cpu_time_ns = 0;
  int64_t jobs = 0;
  int64_t deadline_misses = 0;
  int64_t preemptions = 0;
  int64_t context_switches = 0;
  int64_t migrations = 0;
  int64_t demotions = 0;
  int min_sched_pri = 0;
  int max_sched_pri = 0;
  // When the thread was created (its start, or a create_thread op) and when it ended (program
  // end, exit_thread, terminate_thread); -1 when that did not happen in the run.
  int64_t created_ns = -1;
  int64_t ended_ns = -1;
};

// A thread's results: its counters (the ThreadCounters base, read as tr.jobs etc.) plus what
// is known only at the end of the run.
struct ThreadResult : ThreadCounters {
  std::string id;
  std::string task;
  std::string mode;   // timeshare, fixed, realtime (as declared)
  int base_priority = 0;
  bool kernel = false;
  Summary response_ns;
  Summary latency_ns;
  int64_t jitter_ns = 0;
  int64_t blocked_ns = 0;
  int64_t inversion_ns = 0;
  int64_t spin_ns = 0;  // CPU time spent spinning for locks (extension key, after the v1 keys)
};

struct CpuResult {
  int64_t busy_ns = 0;       // threads' CPU time plus switch and wakeup costs
  int64_t interrupt_ns = 0;  // primary interrupt context
  int64_t idle_ns = 0;
  int64_t overhead_ns = 0;   // the part of busy_ns spent on machine costs
  std::array<int64_t, model::kBandCount> by_band_ns{};  // threads' time by band of sched_pri
};

struct LockResult {
  std::string id;
  int64_t acquisitions = 0;
  int64_t contended = 0;
  Summary wait_ns;
  Summary hold_ns;
  // Extension keys, after the v1 keys: threads that ended holding it (it then stays held for
  // ever: docs/locks-and-inversion.md), and threads still waiting for it when the run ended.
  int64_t held_at_exit = 0;
  int64_t waiting_at_end = 0;
  // Attempts that failed without waiting (traced lock_try_failed): try_lock, and upgrades
  // (lck_rw_lock_shared_to_exclusive) refused because another upgrade was pending.
  int64_t try_failed = 0;
  int64_t upgrades_failed = 0;
  // Not in the JSON, for the text summary's warning: the ids of the threads that ended holding
  // it, in the order they ended, and what it is ("mutex" or "rw lock").
  std::vector<std::string> exited_holders{};
  std::string kind{};
};

struct InterruptResult {
  std::string id;
  int64_t count = 0;
  Summary latency_ns;
};

struct WorkloopResult {
  std::string id;
  int64_t actions = 0;
  int64_t interrupts_delivered = 0;
  Summary action_latency_ns;
  Summary gate_wait_ns;
};

struct DeviceResult {
  std::string id;
  int64_t ios = 0;
  int64_t completed = 0;
  int64_t offline = 0;
  Summary io_ns;
};

struct SystemResult {
  int64_t context_switches = 0;
  int64_t events = 0;
  std::vector<std::string> panics;
  int64_t locks_held_at_exit = 0;  // the sum of the locks' held_at_exit (extension key)
  int64_t energy_mj = -1;  // the run's energy (machine.platform), -1 and absent without one
};

// The energy of the run (results-format.md, "energy"): only with machine.platform.
struct EnergyResult {
  bool present = false;       // false: no platform, no "energy" key
  std::string host;
  double joules = 0;          // SimGrid's host energy plugin, rounded to the millijoule
  double watts = 0;           // joules / duration, rounded to the milliwatt
  int64_t pstate_changes = 0;
  std::vector<int64_t> ns_by_pstate;  // time spent in each pstate of the platform
};

struct ExpectResult {
  std::string text;  // e.g. "thread \"high\" response_ns.max <= 3 ms: got 2.5 ms"
  bool ok = false;
};

// What produced the results: the effective machine, policy, seed and duration after every
// override, and where the scenario came from (the "configuration" object of the results JSON).
struct Configuration {
  std::string policy;
  std::string xnu = "517";
  int cpus = 1;
  int64_t quantum_ns = 0;
  int64_t context_switch_ns = 0;
  int64_t interrupt_entry_ns = 0;
  int64_t interrupt_exit_ns = 0;
  int64_t thread_wakeup_ns = 0;
  std::string funnels = "split";
  std::string calibration;  // the machine's calibration file, "" when none
  uint64_t seed = 1;
  int64_t duration_ns = 0;
  std::string scenario;  // its name
  std::string file;      // as named on the command line ("<stdin>" for standard input)
  std::string sha256;    // of the file's bytes before any edit; "" when not known
  std::vector<std::string> sets;  // every command-line edit, "PATH=VALUE", in the order applied
};

struct Results {
  std::string scenario;
  std::string policy;
  uint64_t seed = 1;
  std::string xnu = "517";
  int64_t duration_ns = 0;
  std::vector<ThreadResult> threads;  // scenario order
  std::vector<CpuResult> cpus;
  std::vector<LockResult> locks;
  std::vector<InterruptResult> interrupts;
  std::vector<WorkloopResult> workloops;
  std::vector<DeviceResult> devices;
  SystemResult system;
  EnergyResult energy;
  std::vector<ExpectResult> expect;
  Configuration configuration;
};

}  // namespace sim::metrics
