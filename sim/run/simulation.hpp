// The one way to run a simulation: a validated Scenario and Options in, Results (expects
// evaluated) and a trace stream to any number of sinks out. The CLI, the tests and the benchmarks
// use it; replay, compare and sweep will.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/dispatcher/dispatcher.hpp"
#include "sim/metrics/results.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::run {

using Results = metrics::Results;

struct Options {
  std::string policy;                      // overrides the scenario's when non-empty
  std::optional<uint64_t> seed;            // overrides the scenario's
  std::optional<core::Duration> duration;  // overrides the scenario's
  // Where the scenario came from, recorded in the results' configuration: the digest of the
  // file's bytes and the command-line edits ("PATH=VALUE") already applied to it.
  std::string scenario_sha256;
  std::vector<std::string> sets;
  // Called with the simulated time and the end of the run every `progress_every` instants
  // (progress reports for long runs).
  std::function<void(core::SimTime now, core::Duration end)> progress;
  uint64_t progress_every = 4096;
  // Called after every instant with the dispatcher (tests check invariants there).
  std::function<void(const dispatcher::Dispatcher&)> step_hook;
  // Called when a thread starts an op of its program (thread index, the op, the simulated
  // time), before the op's trace events; a retried op is not started again (`xnusim explain`).
  std::function<void(int32_t thread, const model::Op& op, core::SimTime now)> op_started;
};

// The policy a run will use: the override, else the scenario's, else the default.
std::string resolve_policy_name(const scenario::Scenario& s, const std::string& override_name);
// An error line (file, pointer or option, message, note) when that policy name is unknown, else "".
std::string check_policy_name(const scenario::Scenario& s, const std::string& override_name);
// "not supported yet" lines, one per feature, or "" when the scenario can run.
std::string check_supported(const scenario::Scenario& s);

class Simulation {
 public:
  // Builds the world and wires the metric sinks. The scenario must be validated, outlive the
  // Simulation, and name a known policy (check_policy_name); otherwise throws std::logic_error.
  Simulation(const scenario::Scenario& s, Options options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // The names of the world's threads, locks, events, ... as trace events index them.
  const core::NameTable& names() const;
  const std::string& policy_name() const;
  uint64_t seed() const;
  core::Duration duration() const;

  // Adds a sink (borrowed; it must outlive run()) that sees every trace event after the metric
  // sinks, in the order added. Only before run().
  void add_sink(core::TraceSink* sink);

  // Runs to the end, once, and returns the results with every expect evaluated. Throws
  // core::InternalError when an invariant breaks; a simulated panic ends the run early
  // and is listed in results.system.panics. The simulated world (threads, queues, sync and
  // IOKit state) is freed before the results are made; names() stays valid.
  Results run();
  // Instead of simulating: feeds events recorded elsewhere (`xnusim replay`: real threads) to the
  // same sinks, in time order, ending at `end`, and returns their results with every expect
  // evaluated. Only instead of run(), once.
  Results run_recorded(const std::vector<core::TraceEvent>& events, core::SimTime end);

 private:
  struct State;
  Results collect();  // the sinks' results, named and configured (not the expects)
  std::unique_ptr<State> state_;
};

// True when every expect in the results held.
bool expects_ok(const Results& r);

// Convenience: one Simulation with no extra sinks.
Results run_scenario(const scenario::Scenario& s, const Options& options = {});

}  // namespace sim::run
