// Renders the per-thread part of Results as CSV: one header row, one row per thread.
#pragma once

#include <string>

#include "sim/metrics/results.hpp"

namespace sim::reports {

// Columns: id, task, mode, base_priority, cpu_time_ns, jobs, deadline_misses,
// response_ns.{count,min,p50,p90,p99,p999,max,mean}, latency_ns.{same}, jitter_ns, blocked_ns,
// inversion_ns, preemptions, context_switches, migrations, demotions, min_sched_pri,
// max_sched_pri. Fields are quoted as RFC 4180 requires; rows end in "\n".
std::string results_to_csv(const metrics::Results& results);

}  // namespace sim::reports
