// The summary page of `xnusim sweep` (docs/sweep.md): one self-contained HTML file (inline CSS
// and SVG, no script, no network) with the totals, the failures grouped by message, one plot per
// chosen metric and varied parameter (mean and 95% confidence interval per configuration) and the
// summary table. The caller computes every number; this file only lays them out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sim::reports {

struct SweepEstimate {
  double mean = 0;
  double half = 0;  // half-width of the 95% confidence interval (0 for one sample)
  int n = 0;
};

// One line of a plot: a policy (and the values of the other varied parameters), one estimate
// per x value (nullopt where no point of that configuration succeeded).
struct SweepSeries {
  std::string label;
  std::vector<std::optional<SweepEstimate>> y;
};

struct SweepPlot {
  std::string title;                  // the metric
  std::string x_label;                // the varied parameter (or "policy")
  std::vector<std::string> x_values;  // in the order given
  std::string y_unit;                 // "ms" for times (values already divided), else ""
  std::vector<SweepSeries> series;
};

struct SweepFailure {
  int exit = 0;
  std::string message;  // first line
  size_t count = 0;
  std::string example;  // the first point it happened at
};

struct SweepPage {
  std::string title;
  std::string description;
  std::string command;
  std::string totals;  // "120 points: 118 ok, 2 failed"
  std::vector<SweepFailure> failures;
  std::vector<SweepPlot> plots;
  std::vector<std::string> table_head;
  std::vector<std::vector<std::string>> table_rows;
};

std::string render_sweep_html(const SweepPage& page);

}  // namespace sim::reports
