// Results -> CSV, one row per thread in scenario order.
#include "reports/csv_report.hpp"

#include <array>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

namespace sim::reports {

namespace {

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, with quotes doubled.
void append_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

constexpr std::array<std::string_view, 8> kSummaryKeys{"count", "min", "p50", "p90",
                                                       "p99",   "p999", "max", "mean"};

void append_summary(std::string& out, const metrics::Summary& s) {
  fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},{},{}", s.count, s.min, s.p50,
                 s.p90, s.p99, s.p999, s.max, s.mean);
}

}  // namespace

std::string results_to_csv(const metrics::Results& results) {
  std::string out = "id,task,mode,base_priority,cpu_time_ns,jobs,deadline_misses";
  for (std::string_view prefix : {"response_ns", "latency_ns"}) {
    for (std::string_view key : kSummaryKeys) {
      fmt::format_to(std::back_inserter(out), ",{}.{}", prefix, key);
    }
  }
  out += ",jitter_ns,blocked_ns,inversion_ns,preemptions,context_switches,migrations,demotions,"
         "min_sched_pri,max_sched_pri\n";

  for (const auto& t : results.threads) {
    append_field(out, t.id);
    out += ',';
    append_field(out, t.task);
    out += ',';
    append_field(out, t.mode);
    fmt::format_to(std::back_inserter(out), ",{},{},{},{}", t.base_priority, t.cpu_time_ns, t.jobs,
                   t.deadline_misses);
    append_summary(out, t.response_ns);
    append_summary(out, t.latency_ns);
    fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},{},{},{}\n", t.jitter_ns,
                   t.blocked_ns, t.inversion_ns, t.preemptions, t.context_switches, t.migrations,
                   t.demotions, t.min_sched_pri, t.max_sched_pri);
  }
  return out;
}

}  // namespace sim::reports
