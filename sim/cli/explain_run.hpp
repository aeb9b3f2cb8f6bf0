// The run behind `xnusim explain`, callable from tests: a scenario narrated by reports::Narrator.
#pragma once

#include <string>

#include "sim/core/time.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::cli {

struct ExplainRun {
  std::string text;  // what `xnusim explain` prints
  run::Results results;
};

// Runs `s` (validated, with a known policy: run::check_policy_name) with `options` and narrates
// the events in [since, until). Throws core::TimeOverflow as Simulation::run does.
ExplainRun explain_scenario(const scenario::Scenario& s, run::Options options,
                            core::SimTime since = core::SimTime::zero(),
                            core::SimTime until = core::SimTime::never());

}  // namespace sim::cli
