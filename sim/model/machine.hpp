// Machine configuration seen by the dispatcher and policies (built from the scenario).
#pragma once

#include "sim/core/time.hpp"

namespace sim::model {

using core::Duration;

enum class Release : uint8_t { xnu517, xnu792 };

struct MachineConfig {
  int cpus = 1;
  Release release = Release::xnu517;
  Duration quantum = Duration::milliseconds(10);        // std_quantum
  Duration min_quantum = Duration::microseconds(250);   // min_std_quantum
  Duration context_switch;
  Duration thread_wakeup;
  Duration interrupt_entry;
  Duration interrupt_exit;
  bool merged_funnels = false;
};

}  // namespace sim::model
