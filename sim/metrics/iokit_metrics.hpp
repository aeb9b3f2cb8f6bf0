// IoKitMetrics: per interrupt source, per work loop and per device results (results.interrupts,
// .workloops, .devices) from the trace events of the IOKit layer and the dispatcher's interrupt
// entry. Streams: its memory is bounded by the objects and the requests in flight.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/metrics/distribution.hpp"
#include "sim/metrics/results.hpp"

namespace sim::metrics {

// Where the IOKit objects sit in the trace's index spaces (filled from the IOKit layer).
struct IoKitLayout {
  struct Workloop {
    std::string id;
    int32_t work_event = -1;  // its "<id>.workToDo" event: signals carry b = source index
    int32_t gate_lock = -1;   // its gate, traced as a lock
    std::vector<bool> interrupt_source;  // per source: fed by interrupts (not the I/O queue)
  };
  std::vector<std::string> interrupts;  // by interrupt index (the scenario's, then devices')
  std::vector<Workloop> workloops;
  std::vector<std::string> devices;
  int64_t offline_status = 0;     // kIOReturnOffline
};

class IoKitMetrics final : public core::TraceSink {
 public:
  explicit IoKitMetrics(IoKitLayout layout);

  void on_event(const core::TraceEvent& e) override;

  // count = arrivals; latency_ns = arrival -> handler start (interrupt_began).
  std::vector<InterruptResult> interrupts() const;
  // actions = checkForWork calls that ran an action (interrupt sources and the I/O queue);
  // interrupts_delivered = the counts handed to interrupt sources' actions; action_latency_ns,
  // one sample per interrupt action = arrival of the oldest interrupt it covers -> its start;
  // gate_wait_ns = every acquisition of the gate (0 when free).
  std::vector<WorkloopResult> workloops() const;
  // ios = issued; completed = completions of any status; offline = those with kIOReturnOffline;
  // io_ns = issue -> completion.
  std::vector<DeviceResult> devices() const;

 private:
  struct PerInterrupt {
    InterruptResult r;
    Distribution latency;
  };
  struct Pending {
    int64_t count = 0;   // interrupts accepted since the source's last action
    int64_t oldest = 0;  // arrival of the first of them
  };
  struct PerWorkloop {
    WorkloopResult r;
    Distribution action_latency;
    Distribution gate_wait;
    std::vector<Pending> pending;  // by source
  };
  struct PerDevice {
    DeviceResult r;
    Distribution io;
  };

  IoKitLayout layout_;
  SampleBudget budget_;  // shared by every distribution here: memory stays bounded
  std::vector<PerInterrupt> interrupts_;
  std::vector<PerWorkloop> workloops_;
  std::vector<PerDevice> devices_;
  std::vector<int32_t> workloop_of_event_;  // event index -> work loop, -1
  std::vector<int32_t> workloop_of_gate_;   // lock index -> work loop, -1
  std::vector<int64_t> cpu_arrival_;        // per CPU: arrival of the interrupt in its handler
  std::map<int64_t, int64_t> issued_;       // request id -> issue time, requests in flight
};

}  // namespace sim::metrics
