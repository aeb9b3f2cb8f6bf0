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
// energy plugin (sg_host_get_consumed_energy). Nothing here includes or links SimGrid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/dispatcher/dispatcher.hpp"
#include "sim/platform/host.hpp"

namespace sim::platform {

// Replays `table` on a SimGrid host built from `host` and returns the joules its energy plugin
// reports. SimGrid runs in a child process that loads the SimGrid module (libxnusim-simgrid.so,
// the only code linked with SimGrid) with dlopen: Debian's SimGrid 3.32 allows one Engine per
// process and a process may run many simulations (compare, sweep, tests), and a run without a
// platform must not load SimGrid at all (its libraries alone add about 0.1 s to a start).
EnergyReport energy_from_simgrid(const HostSpec& host, const LoadTable& table);

// Loads a platform file in SimGrid (in a child process, as above) and says what it declares
// for `host`. `error` is non-empty when that could not be done at all (no module, a crash of
// SimGrid on a malformed file).
struct FileHostRead {
  FileHost host;
  std::string error;
};
FileHostRead inspect_platform_file(const std::string& path, const std::string& host);

// The route the file declares between `host` and `peer`, as SimGrid computes it (in a child
// process whose error output is discarded: a SimGrid that dies on the question is an `error`).
struct FileRouteRead {
  FileRoute route;
  std::string error;
  bool crashed = false;  // SimGrid died on the question (3.32's route_to does with no route)
};
FileRouteRead inspect_platform_route(const std::string& path, const std::string& host, const std::string& peer);

// The SimGrid module's path: $XNUSIM_SIMGRID_MODULE when set, else where the build put it.
const char* simgrid_module_path();
// Writes platform_xml(host) to a new temporary file and returns its path ("" and `error` set
// when it cannot); the caller removes it.
std::string write_platform_file(const HostSpec& host, std::string& error);

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
