// Builds a runnable world (dispatcher, threads, names) from a validated Scenario.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/dispatcher/dispatcher.hpp"
#include "sim/iokit_model/iokit.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/sync/sync_layer.hpp"

namespace sim::scenario {

// Features of the scenario that this build cannot run yet, as "<feature> (<json pointer>)"
// strings; running such a scenario is refused with exit 2 rather than silently ignored.
std::vector<std::string> unsupported_features(const Scenario& s);

struct World {
  std::unique_ptr<dispatcher::Dispatcher> dispatcher;
  std::unique_ptr<sync::SyncLayer> sync;  // locks, events, funnels; borrows the dispatcher
  std::unique_ptr<iokit_model::IoKit> iokit;  // IOKit, when the scenario uses it; borrows the dispatcher
  core::NameTable names;
};

// The scenario must outlive the world (threads borrow their programs). `seed` overrides the
// scenario's seed (the caller passes scenario.seed when there is no override).
World build_world(const Scenario& s, const policies::PolicyInfo& policy, core::TraceBus* bus, uint64_t seed);

model::MachineConfig machine_config(const MachineSpec& m);

}  // namespace sim::scenario
