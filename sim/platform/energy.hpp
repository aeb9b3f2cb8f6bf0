// The simulated machine as a SimGrid host, and the energy its CPUs use in a run.
//
// The kernel never runs on SimGrid: the native dispatcher decides every instant. This meter
// listens to the trace (a CPU is active while it runs a thread, pays a switch cost or runs an
// interrupt handler; idle otherwise) and to the set_pstate op, and keeps, for each pstate and
// each number of active CPUs, how long the host spent there. SimGrid's host energy model is a
// function of the pstate and of the host's load only, so that table (bounded: pstates x
// (cpus + 1) durations, whatever the run's length) determines the energy exactly; at the end of
// the run the adapter replays it on a SimGrid host built from the platform (one exec per active
// core for each duration, a sleep when none is active) and reads the joules from SimGrid's host
// energy plugin (sg_host_get_consumed_energy). This header does not include SimGrid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/dispatcher/dispatcher.hpp"

namespace sim::platform {

// One performance state of the host, as SimGrid's energy plugin reads it (the host property
// wattage_per_state "idle:epsilon:all_cores" for each pstate).
struct Pstate {
  double speed = 1e9;     // flop/s of one core
  double idle_w = 0;      // nothing runs on the host
  double epsilon_w = 0;   // the host is in use but its load is (close to) zero
  double all_cores_w = 0; // every core at 100%
};

struct HostSpec {
  std::string name = "mac";
  int cores = 1;
  std::vector<Pstate> pstates;
  double off_w = 0;  // wattage_off (the host is never switched off in a run; kept for the file)
  int pstate = 0;    // the pstate at the start of the run
};

// Time (ns) the host spent in each pstate with each number of active cores.
struct LoadTable {
  int cores = 1;
  std::vector<std::vector<int64_t>> ns;  // [pstate][active cores 0..cores]
};

struct EnergyReport {
  double joules = 0;                       // for the whole run, from SimGrid's plugin
  std::vector<int64_t> ns_by_pstate;       // time spent in each pstate
  int64_t pstate_changes = 0;              // set_pstate ops that changed it
  std::string error;                       // non-empty when SimGrid could not be run
};

// Replays `table` on a SimGrid host built from `host` and returns the joules its energy plugin
// reports. Runs SimGrid in a child process (Debian's SimGrid 3.32 allows one Engine per
// process, and a process may run many simulations: compare, sweep, tests), so the caller's
// process never creates an Engine.
EnergyReport energy_from_simgrid(const HostSpec& host, const LoadTable& table);

// The platform XML that describes `host` the way SimGrid 3.32 reads it (docs/platforms.md).
std::string platform_xml(const HostSpec& host);

class EnergyMeter final : public core::TraceSink, public dispatcher::OpHandler {
 public:
  // Registers the set_pstate op with the dispatcher. `host.cores` must be the scenario's CPUs.
  EnergyMeter(const HostSpec& host, dispatcher::Dispatcher& d);
  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;
  bool execute(dispatcher::Thread& t, const model::Op& op) override;

  const LoadTable& table() const { return table_; }
  // Available after finish(): runs SimGrid once.
  EnergyReport report() const;

 private:
  void advance(int64_t now);
  void recount(int64_t now);

  HostSpec host_;
  dispatcher::Dispatcher* d_;
  LoadTable table_;
  std::vector<uint8_t> running_;    // by CPU: a thread (or its switch cost) is on it
  std::vector<uint8_t> interrupt_;  // by CPU: in interrupt context
  int active_ = 0;
  int pstate_ = 0;
  int64_t since_ = 0;
  int64_t changes_ = 0;
  bool finished_ = false;
};

}  // namespace sim::platform
