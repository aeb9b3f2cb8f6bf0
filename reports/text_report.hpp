// Renders Results as a fixed-width summary for a terminal: header, thread and CPU tables, the
// other tables when non-empty, the system line and the expect results.
#pragma once

#include <cstddef>
#include <string>

#include "sim/metrics/results.hpp"

namespace sim::reports {

struct TextOptions {
  // false: at most 100 columns (the main columns, times to three significant digits, long names
  // shortened); true: every column at full precision, however wide.
  bool wide = false;
};

// Deterministic; columns sized to their content; no trailing spaces; ends with a newline. The
// columns depend on the scenario only (the same for every run of it), never on the values.
std::string text_summary(const metrics::Results& results, const TextOptions& options = {});

// The width the default summary keeps to.
inline constexpr size_t kSummaryColumns = 100;

// The summary's warning lines alone (locks left held by threads that ended), for when stdout
// carries another output and the summary is not printed; "" when there is nothing to say.
std::string warnings(const metrics::Results& results);

}  // namespace sim::reports
