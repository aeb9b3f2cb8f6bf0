// What the IOKit layer is built from: plain copies of the scenario's interrupts, work loops,
// timers and devices (sim/scenario translates its specs into these; this layer cannot include it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/model/machine.hpp"
#include "sim/model/program.hpp"

namespace sim::iokit_model {

using core::Duration;
using model::DurationSpec;

// IOReturn codes (xnu-facts.md 11).
inline constexpr int64_t kIOReturnSuccess = 0;
inline constexpr int64_t kIOReturnOffline = 0xE00002D7;
inline constexpr int64_t kIOReturnNotPermitted = 0xE00002E2;

struct ArrivalConfig {
  // packets: a peer host sends `bytes` to the machine every `period` (from `period` on, at most
  // `count` times, -1 unbounded) over the platform's links; each arrival raises the interrupt.
  enum class Kind : uint8_t { periodic, poisson, at, packets };
  Kind kind = Kind::periodic;
  Duration period;              // periodic: arrivals at k * period (k >= 1) plus a jitter draw
  Duration jitter;              // periodic: uniform in [0, jitter]
  Duration mean;                // poisson: mean interarrival time
  std::vector<Duration> times;  // at
  int32_t peer = -1;            // packets: the sending host (index of the platform's link to it)
  int64_t bytes = 0;            // packets
  int64_t count = -1;           // packets
};

struct InterruptConfig {
  std::string id;
  int cpu = 0;
  ArrivalConfig arrival;
  DurationSpec handler;  // drawn per arrival
  std::vector<model::Op> handler_program;  // ops instead of `handler` when not empty
  int32_t workloop = -1;  // the event source it delivers to, or -1: the handler only uses CPU
  int32_t source = -1;
};

enum class SourceKind : uint8_t { interrupt, filter_interrupt };

struct SourceConfig {
  std::string id;
  SourceKind kind = SourceKind::interrupt;
  DurationSpec action;  // drawn per action call
  DurationSpec filter;  // drawn per interrupt
  double accept = 1.0;
  int32_t wakeup = -1;  // the action ends with commandWakeup(event, all) on this event
};

struct WorkloopConfig {
  std::string id;
  int priority = 81;
  std::vector<SourceConfig> sources;
};

struct TimerConfig {
  std::string id;
  int32_t workloop = -1;
  DurationSpec action;  // drawn per action call
};

// How an `io` to a device reaches the hardware (docs/iokit.md).
//  workloop: queued on the work loop; its thread services it and its completion source's action
//            wakes the client (the interrupt-driven design);
//  direct:   the client itself, in a runAction, programs the hardware and commandSleeps; the
//            completion interrupt's primary handler wakes it (the talk's low-latency design: no
//            work-loop thread on the path).
enum class IoPath : uint8_t { workloop, direct };

struct DeviceConfig {
  std::string id;
  int32_t provider = -1;
  int32_t workloop = -1;  // its own work loop, or -1: its provider's
  DurationSpec service;   // hardware time of a request, drawn per request, added up along the chain
  IoPath path = IoPath::workloop;
  int32_t disk = -1;      // the platform disk its sized transfers use (io read/write), or -1
  int32_t link = -1;      // a NIC: the platform link it sends on (send), or -1
};

struct Config {
  uint64_t seed = 1;
  std::vector<InterruptConfig> interrupts;
  std::vector<WorkloopConfig> workloops;
  std::vector<TimerConfig> timers;
  std::vector<DeviceConfig> devices;
  bool terminate_thread = false;  // some program terminates a device
  // Trace indices of the layer's own objects: gates follow the scenario's locks, the work
  // loops' workToDo events follow the scenario's events.
  int32_t first_gate_lock = 0;
  int32_t first_internal_event = 0;
};

}  // namespace sim::iokit_model
