// What `run`, `report` and `compare` share for --html: the window option, the window chosen by
// default (a first, silent run finds the worst moment of a long run), and the timeline sink.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "reports/html_report.hpp"
#include "reports/timeline.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::cli {

// --window A..B: parsed, or an error line naming the option ("" and nullopt when not given).
std::optional<reports::TimeWindow> parse_window_option(const std::optional<std::string>& text, std::string& error);

// An error line when a --window given for a run ending at `end` ns starts at or after its end.
std::string check_window(const std::optional<reports::TimeWindow>& given, int64_t end);

// The timeline's window: `given`, else reports::default_window over a first run of the same
// configuration (only for runs longer than reports::kWholeRunWindowNs; shorter ones are shown
// whole). Deterministic: the first run is the same simulation. A time overflow in it is left for
// the real run to report.
reports::TimeWindow choose_window(const scenario::Scenario& s, const run::Options& options,
                                  const std::optional<reports::TimeWindow>& given);

// A timeline sink for `sim` over `window`; add it with sim.add_sink before run().
std::unique_ptr<reports::Timeline> make_timeline(const run::Simulation& sim, const scenario::Scenario& s,
                                                 reports::TimeWindow window);

}  // namespace sim::cli
