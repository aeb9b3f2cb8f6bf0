// The metric paths that `expect` may name: forwarders to the one catalogue in sim/metrics.
#include "sim/scenario/metric_catalog.hpp"

#include "sim/metrics/catalog.hpp"

namespace sim::scenario {

metrics::TargetKind target_kind(ExpectTarget target) {
  switch (target) {
    case ExpectTarget::system: return metrics::TargetKind::system;
    case ExpectTarget::thread: return metrics::TargetKind::thread;
    case ExpectTarget::lock: return metrics::TargetKind::lock;
    case ExpectTarget::cpu: return metrics::TargetKind::cpu;
    case ExpectTarget::workloop: return metrics::TargetKind::workloop;
    case ExpectTarget::interrupt: return metrics::TargetKind::interrupt;
    case ExpectTarget::device: return metrics::TargetKind::device;
  }
  return metrics::TargetKind::system;
}

bool is_known_metric(ExpectTarget target, std::string_view path) {
  return metrics::is_metric(target_kind(target), path);
}

std::vector<std::string> known_metrics(ExpectTarget target) { return metrics::metric_paths(target_kind(target)); }

bool is_duration_metric(std::string_view path) { return metrics::is_duration_metric(path); }

}  // namespace sim::scenario
