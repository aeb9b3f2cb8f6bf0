// Renders Results as a fixed-width summary for a terminal: header, thread and CPU tables, the
// other tables when non-empty, the system line and the expect results.
#pragma once

#include <string>

#include "sim/metrics/results.hpp"

namespace sim::reports {

// Deterministic; columns sized to their content; no trailing spaces; ends with a newline.
std::string text_summary(const metrics::Results& results);

// The summary's warning lines alone (locks left held by threads that ended), for when stdout
// carries another output and the summary is not printed; "" when there is nothing to say.
std::string warnings(const metrics::Results& results);

}  // namespace sim::reports
