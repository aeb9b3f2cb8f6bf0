// The metric paths that `expect` may name, mirroring the results format (scenario-v1 "Results").
#include "sim/scenario/metric_catalog.hpp"

#include <algorithm>
#include <array>

namespace sim::scenario {
namespace {

// Keys of every distribution summary (metrics::Summary).
constexpr std::array<std::string_view, 8> kSummaryKeys = {"count", "min",  "p50", "p90",
                                                          "p99",   "p999", "max", "mean"};

// Bands of sched_pri in CpuResult::by_band_ns, in band order (model::Band; "default" is the
// results-format name of Band::normal).
constexpr std::array<std::string_view, 8> kBands = {"aged",     "lowered", "default", "raised",
                                                    "elevated", "system",  "kernel",  "realtime"};

// A leaf is a plain number, a summary expands to its keys, a band table to the band names.
enum class Shape : uint8_t { leaf, summary, bands };

struct Field {
  std::string_view name;
  Shape shape;
};

constexpr Field kThread[] = {
    {"cpu_time_ns", Shape::leaf},     {"jobs", Shape::leaf},
    {"deadline_misses", Shape::leaf}, {"response_ns", Shape::summary},
    {"latency_ns", Shape::summary},   {"jitter_ns", Shape::leaf},
    {"blocked_ns", Shape::leaf},      {"inversion_ns", Shape::leaf},
    {"preemptions", Shape::leaf},     {"context_switches", Shape::leaf},
    {"migrations", Shape::leaf},      {"demotions", Shape::leaf},
    {"min_sched_pri", Shape::leaf},   {"max_sched_pri", Shape::leaf},
    {"spin_ns", Shape::leaf},
};
constexpr Field kCpu[] = {
    {"busy_ns", Shape::leaf},     {"interrupt_ns", Shape::leaf}, {"idle_ns", Shape::leaf},
    {"overhead_ns", Shape::leaf}, {"by_band_ns", Shape::bands},
};
constexpr Field kLock[] = {
    {"acquisitions", Shape::leaf},
    {"contended", Shape::leaf},
    {"wait_ns", Shape::summary},
    {"hold_ns", Shape::summary},
    {"held_at_exit", Shape::leaf},
    {"waiting_at_end", Shape::leaf},
};
constexpr Field kInterrupt[] = {
    {"count", Shape::leaf},
    {"latency_ns", Shape::summary},
};
constexpr Field kWorkloop[] = {
    {"actions", Shape::leaf},
    {"interrupts_delivered", Shape::leaf},
    {"action_latency_ns", Shape::summary},
    {"gate_wait_ns", Shape::summary},
};
constexpr Field kDevice[] = {
    {"ios", Shape::leaf},
    {"completed", Shape::leaf},
    {"offline", Shape::leaf},
    {"io_ns", Shape::summary},
};
constexpr Field kSystem[] = {
    {"context_switches", Shape::leaf},
    {"events", Shape::leaf},
    {"locks_held_at_exit", Shape::leaf},
};

struct FieldList {
  const Field* begin;
  const Field* end;
};

template <size_t N>
constexpr FieldList list(const Field (&a)[N]) {
  return FieldList{a, a + N};
}

FieldList fields_of(ExpectTarget target) {
  switch (target) {
    case ExpectTarget::system: return list(kSystem);
    case ExpectTarget::thread: return list(kThread);
    case ExpectTarget::lock: return list(kLock);
    case ExpectTarget::cpu: return list(kCpu);
    case ExpectTarget::workloop: return list(kWorkloop);
    case ExpectTarget::interrupt: return list(kInterrupt);
    case ExpectTarget::device: return list(kDevice);
  }
  return FieldList{nullptr, nullptr};
}

}  // namespace

bool is_known_metric(ExpectTarget target, std::string_view path) {
  size_t dot = path.find('.');
  std::string_view head = path.substr(0, dot);
  std::string_view tail = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  FieldList fl = fields_of(target);
  for (const Field* f = fl.begin; f != fl.end; ++f) {
    if (f->name != head) continue;
    switch (f->shape) {
      case Shape::leaf: return dot == std::string_view::npos;
      case Shape::summary:
        return dot != std::string_view::npos &&
               std::find(kSummaryKeys.begin(), kSummaryKeys.end(), tail) != kSummaryKeys.end();
      case Shape::bands:
        return dot != std::string_view::npos &&
               std::find(kBands.begin(), kBands.end(), tail) != kBands.end();
    }
  }
  return false;
}

std::vector<std::string> known_metrics(ExpectTarget target) {
  std::vector<std::string> out;
  FieldList fl = fields_of(target);
  for (const Field* f = fl.begin; f != fl.end; ++f) {
    std::string name(f->name);
    switch (f->shape) {
      case Shape::leaf: out.push_back(name); break;
      case Shape::summary:
        for (std::string_view k : kSummaryKeys) out.push_back(name + "." + std::string(k));
        break;
      case Shape::bands:
        for (std::string_view b : kBands) out.push_back(name + "." + std::string(b));
        break;
    }
  }
  return out;
}

bool is_duration_metric(std::string_view path) {
  size_t dot = path.find('.');
  std::string_view head = path.substr(0, dot);
  if (head.size() < 3 || head.substr(head.size() - 3) != "_ns") return false;
  // The sample count of a time summary is a plain number.
  return dot == std::string_view::npos || path.substr(dot + 1) != "count";
}

}  // namespace sim::scenario
