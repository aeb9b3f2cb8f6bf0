// --html support shared by the run, report and compare commands (html_output.hpp).
#include "sim/cli/html_output.hpp"

#include <fmt/format.h>

#include "sim/core/time.hpp"

namespace sim::cli {

std::optional<reports::TimeWindow> parse_window_option(const std::optional<std::string>& text, std::string& error) {
  if (!text) return std::nullopt;
  reports::TimeWindow w;
  if (std::string e = reports::parse_window(*text, w); !e.empty()) {
    error = fmt::format("xnusim: error: --window {}: {}", *text, e);
    return std::nullopt;
  }
  return w;
}

std::string check_window(const std::optional<reports::TimeWindow>& given, int64_t end) {
  if (!given || given->from < end) return "";
  return fmt::format("xnusim: error: --window: it starts at {}, but the run ends at {}; give a window inside the "
                     "run (e.g. 0..{})",
                     core::format_duration_human(given->from), core::format_duration_human(end),
                     core::format_duration(core::Duration{end}));
}

reports::TimeWindow choose_window(const scenario::Scenario& s, const run::Options& options,
                                  const std::optional<reports::TimeWindow>& given) {
  if (given) return *given;
  int64_t end = options.duration.value_or(s.duration).ns;
  if (end <= reports::kWholeRunWindowNs) return reports::TimeWindow{0, end};
  run::Options first = options;
  first.progress = nullptr;
  first.step_hook = nullptr;
  run::Simulation sim(s, first);
  // An empty window: only the whole-run records (misses, worst moments) are kept.
  reports::Timeline whole(sim.names(), s.machine.cpus, end, reports::TimeWindow{-1, -1});
  sim.add_sink(&whole);
  try {
    run::Results r = sim.run();
    return reports::default_window(whole, r.duration_ns);
  } catch (const core::TimeOverflow&) {
    // The run itself will stop the same way and report it; any window will do meanwhile.
    return reports::TimeWindow{0, end};
  }
}

std::unique_ptr<reports::Timeline> make_timeline(const run::Simulation& sim, const scenario::Scenario& s,
                                                 reports::TimeWindow window) {
  return std::make_unique<reports::Timeline>(sim.names(), s.machine.cpus, sim.duration().ns, window);
}

}  // namespace sim::cli
