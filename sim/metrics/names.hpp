// Display names of the model's enums, for the report layer (reports/ may include sim/metrics
// but not sim/model: scripts/layers.py).
#pragma once

#include <string_view>

namespace sim::metrics {

// The band of a priority level ("default", "realtime", ...; xnu-facts.md 1).
std::string_view band_name(int priority);
// A thread mode as the scenario spells it ("timeshare", "fixed", "realtime"); `mode` is the
// value of model::ThreadMode carried in a trace event.
std::string_view mode_name(int mode);
// A task role as the scenario spells it ("foreground", ..., "reniced"); `role` is the value of
// model::TaskRole carried in a trace event.
std::string_view role_name(int role);

}  // namespace sim::metrics
