// A bundled scenario (a path under the source tree) loaded as the CLI loads it, then run for
// another duration with its expects dropped (the tests check them, the benchmarks do not). The
// one way xnusim-bench and xnusim-scale-bench change a bundled scenario: on the loaded Scenario,
// never on its text.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "sim/core/time.hpp"
#include "sim/scenario/loader.hpp"

namespace bench {

inline sim::scenario::Scenario bundled(const char* file, sim::core::Duration duration) {
  sim::scenario::LoadResult r = sim::scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR "/") + file);
  if (!r.scenario) {
    fmt::print(stderr, "{}", r.diagnostics.format());
    std::exit(2);
  }
  r.scenario->duration = duration;
  r.scenario->expects.clear();
  return std::move(*r.scenario);
}

}  // namespace bench
