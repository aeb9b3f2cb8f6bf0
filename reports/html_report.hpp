// The self-contained HTML report (docs/report.md): one file with inline CSS and SVG and a small
// inline script (zoom and jumps only); no network access. One or more runs ("panels") share one
// time axis: `run --html` has one, `compare --html` one per configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reports/timeline.hpp"
#include "sim/metrics/results.hpp"

namespace sim::reports {

struct HtmlPanel {
  std::string label;                          // e.g. the policy, or "policy ceiling"
  const metrics::Results* results = nullptr;  // borrowed
  const Timeline* timeline = nullptr;         // borrowed; recorded over the report's window
};

struct HtmlOptions {
  std::string title;        // the page's heading (the scenario's name)
  std::string description;  // the scenario's description, may be empty
  std::string command;      // the command line that made it, shown in the header
};

// The whole page. Panels must be non-empty; every timeline must have finished.
std::string render_html(const std::vector<HtmlPanel>& panels, const HtmlOptions& options);

// The window a report shows by default for a run that a Timeline with no window watched:
// the whole run when it is short, else the neighbourhood of its first deadline miss, or of the
// worst wakeup latency, or of the worst response.
TimeWindow default_window(const Timeline& whole_run, int64_t end);
// Runs up to this long are shown whole by default.
inline constexpr int64_t kWholeRunWindowNs = 250'000'000;

// Parses "--window A..B" (durations: "4.2s..4.3s", "0..50ms"); A < B. Returns "" or an error
// message without the option name.
std::string parse_window(const std::string& text, TimeWindow& out);

}  // namespace sim::reports
