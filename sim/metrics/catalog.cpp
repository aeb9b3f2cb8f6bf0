// The metric catalogue: fields of every results object with their accessors (see catalog.hpp).
#include "sim/metrics/catalog.hpp"

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

#include "sim/metrics/names.hpp"
#include "sim/model/priorities.hpp"

namespace sim::metrics {

namespace {

template <typename T>
Field<T> number(std::string path, std::function<int64_t(const T&)> get, bool metric = true) {
  Field<T> f;
  f.path = std::move(path);
  f.type = FieldType::number;
  f.metric = metric;
  f.number = std::move(get);
  return f;
}

template <typename T>
Field<T> text(std::string path, std::function<std::string(const T&)> get) {
  Field<T> f;
  f.path = std::move(path);
  f.type = FieldType::text;
  f.metric = false;
  f.text = std::move(get);
  return f;
}

template <typename T>
Field<T> flag(std::string path, std::function<bool(const T&)> get) {
  Field<T> f;
  f.path = std::move(path);
  f.type = FieldType::flag;
  f.metric = false;
  f.flag = std::move(get);
  return f;
}

template <typename T>
Field<T> texts(std::string path, std::function<std::vector<std::string>(const T&)> get) {
  Field<T> f;
  f.path = std::move(path);
  f.type = FieldType::texts;
  f.metric = false;
  f.texts = std::move(get);
  return f;
}

// The eight keys of a Summary under `name`, read through `summary`.
template <typename T>
void add_summary(std::vector<Field<T>>& out, const std::string& name, const Summary T::*summary) {
  using Key = int64_t Summary::*;
  static constexpr std::array<std::pair<const char*, Key>, 8> keys = {{
      {"count", &Summary::count}, {"min", &Summary::min}, {"p50", &Summary::p50}, {"p90", &Summary::p90},
      {"p99", &Summary::p99}, {"p999", &Summary::p999}, {"max", &Summary::max}, {"mean", &Summary::mean},
  }};
  for (const auto& [key, member] : keys)
    out.push_back(number<T>(name + "." + key, [summary, m = member](const T& t) { return (t.*summary).*m; }));
  // Where the maximum happened, and the histogram: for plots and links, not for expects.
  out.push_back(number<T>(name + ".max_at_ns", [summary](const T& t) { return (t.*summary).max_at_ns; }, false));
  out.push_back(number<T>(name + ".max_job", [summary](const T& t) { return (t.*summary).max_job; }, false));
  Field<T> h;
  h.path = name + ".histogram";
  h.type = FieldType::histogram;
  h.metric = false;
  h.histogram = [summary](const T& t) -> const std::vector<HistogramBucket>& { return (t.*summary).histogram; };
  out.push_back(std::move(h));
}

template <typename T, typename M>
Field<T> member(const std::string& path, M T::*m, bool metric = true) {
  return number<T>(path, [m](const T& t) { return static_cast<int64_t>(t.*m); }, metric);
}

// A field of T that T inherits from its base C (ThreadResult's ThreadCounters).
template <typename T, typename C, typename M>
Field<T> inherited(const std::string& path, M C::*m) {
  static_assert(std::is_base_of_v<C, T>);
  return number<T>(path, [m](const T& t) { return static_cast<int64_t>(t.*m); }, true);
}

template <typename T>
const T* find_by_id(const std::vector<T>& v, std::string_view id) {
  for (const T& x : v)
    if (x.id == id) return &x;
  return nullptr;
}

template <typename T>
std::optional<int64_t> value_of(const std::vector<Field<T>>& fields, const T* object, std::string_view path) {
  if (!object) return std::nullopt;
  for (const Field<T>& f : fields)
    if (f.metric && f.path == path) {
      if (f.shown && !f.shown(*object)) return std::nullopt;
      return f.number(*object);
    }
  return std::nullopt;
}

template <typename T>
void append_metric_paths(const std::vector<Field<T>>& fields, std::vector<std::string>& out) {
  for (const Field<T>& f : fields)
    if (f.metric) out.push_back(f.path);
}

}  // namespace

const std::vector<std::string>& summary_keys() {
  static const std::vector<std::string> keys = {"count", "min", "p50", "p90", "p99", "p999", "max", "mean"};
  return keys;
}

const std::vector<Field<ThreadResult>>& thread_fields() {
  static const std::vector<Field<ThreadResult>> fields = [] {
    using T = ThreadResult;
    std::vector<Field<T>> f;
    f.push_back(inherited<T>("cpu_time_ns", &ThreadCounters::cpu_time_ns));
    f.push_back(inherited<T>("jobs", &ThreadCounters::jobs));
    f.push_back(inherited<T>("deadline_misses", &ThreadCounters::deadline_misses));
    add_summary(f, "response_ns", &T::response_ns);
    add_summary(f, "latency_ns", &T::latency_ns);
    f.push_back(member("jitter_ns", &T::jitter_ns));
    f.push_back(member("blocked_ns", &T::blocked_ns));
    f.push_back(member("inversion_ns", &T::inversion_ns));
    f.push_back(inherited<T>("preemptions", &ThreadCounters::preemptions));
    f.push_back(inherited<T>("context_switches", &ThreadCounters::context_switches));
    f.push_back(inherited<T>("migrations", &ThreadCounters::migrations));
    f.push_back(inherited<T>("demotions", &ThreadCounters::demotions));
    f.push_back(inherited<T>("min_sched_pri", &ThreadCounters::min_sched_pri));
    f.push_back(inherited<T>("max_sched_pri", &ThreadCounters::max_sched_pri));
    // Extension keys, after the documented ones so readers of v1 are unaffected. The task, mode,
    // priority and band describe the thread; they are not metrics.
    f.push_back(text<T>("task", [](const T& t) { return t.task; }));
    f.push_back(text<T>("mode", [](const T& t) { return t.mode; }));
    f.push_back(member("base_priority", &T::base_priority, false));
    f.push_back(text<T>("band", [](const T& t) {
      return std::string(band_name(t.base_priority));
    }));
    f.push_back(flag<T>("kernel", [](const T& t) { return t.kernel; }));
    f.push_back(member("spin_ns", &T::spin_ns));
    f.push_back(inherited<T>("created_ns", &ThreadCounters::created_ns));
    f.push_back(inherited<T>("ended_ns", &ThreadCounters::ended_ns));
    return f;
  }();
  return fields;
}

const std::vector<Field<CpuResult>>& cpu_fields() {
  static const std::vector<Field<CpuResult>> fields = [] {
    using T = CpuResult;
    std::vector<Field<T>> f;
    f.push_back(member("busy_ns", &T::busy_ns));
    f.push_back(member("interrupt_ns", &T::interrupt_ns));
    f.push_back(member("idle_ns", &T::idle_ns));
    for (int b = 0; b < model::kBandCount; ++b) {
      auto band = static_cast<size_t>(b);
      f.push_back(number<T>("by_band_ns." + std::string(model::to_string(static_cast<model::Band>(b))),
                            [band](const T& c) { return c.by_band_ns[band]; }));
    }
    f.push_back(member("overhead_ns", &T::overhead_ns));
    return f;
  }();
  return fields;
}

const std::vector<Field<LockResult>>& lock_fields() {
  static const std::vector<Field<LockResult>> fields = [] {
    using T = LockResult;
    std::vector<Field<T>> f;
    f.push_back(member("acquisitions", &T::acquisitions));
    f.push_back(member("contended", &T::contended));
    add_summary(f, "wait_ns", &T::wait_ns);
    add_summary(f, "hold_ns", &T::hold_ns);
    // Extension keys (sim/sync): threads that ended holding the lock, threads still waiting.
    f.push_back(member("held_at_exit", &T::held_at_exit));
    f.push_back(member("waiting_at_end", &T::waiting_at_end));
    f.push_back(member("try_failed", &T::try_failed));
    f.push_back(member("upgrades_failed", &T::upgrades_failed));
    return f;
  }();
  return fields;
}

const std::vector<Field<InterruptResult>>& interrupt_fields() {
  static const std::vector<Field<InterruptResult>> fields = [] {
    using T = InterruptResult;
    std::vector<Field<T>> f;
    f.push_back(member("count", &T::count));
    add_summary(f, "latency_ns", &T::latency_ns);
    return f;
  }();
  return fields;
}

const std::vector<Field<WorkloopResult>>& workloop_fields() {
  static const std::vector<Field<WorkloopResult>> fields = [] {
    using T = WorkloopResult;
    std::vector<Field<T>> f;
    f.push_back(member("actions", &T::actions));
    f.push_back(member("interrupts_delivered", &T::interrupts_delivered));
    add_summary(f, "action_latency_ns", &T::action_latency_ns);
    add_summary(f, "gate_wait_ns", &T::gate_wait_ns);
    return f;
  }();
  return fields;
}

const std::vector<Field<DeviceResult>>& device_fields() {
  static const std::vector<Field<DeviceResult>> fields = [] {
    using T = DeviceResult;
    std::vector<Field<T>> f;
    f.push_back(member("ios", &T::ios));
    f.push_back(member("completed", &T::completed));
    f.push_back(member("offline", &T::offline));
    add_summary(f, "io_ns", &T::io_ns);
    return f;
  }();
  return fields;
}

const std::vector<Field<SystemResult>>& system_fields() {
  static const std::vector<Field<SystemResult>> fields = [] {
    using T = SystemResult;
    std::vector<Field<T>> f;
    f.push_back(member("context_switches", &T::context_switches));
    f.push_back(member("events", &T::events));
    f.push_back(texts<T>("panics", [](const T& s) { return s.panics; }));
    // Extension keys, after v1's.
    f.push_back(member("locks_held_at_exit", &T::locks_held_at_exit));  // sim/sync
    // The run's energy in millijoules (sim/platform), only with machine.platform.
    Field<T> energy = member("energy_mj", &T::energy_mj);
    energy.shown = [](const T& s) { return s.energy_mj >= 0; };
    f.push_back(std::move(energy));
    return f;
  }();
  return fields;
}

std::vector<std::string> metric_paths(TargetKind kind) {
  std::vector<std::string> out;
  switch (kind) {
    case TargetKind::system: append_metric_paths(system_fields(), out); break;
    case TargetKind::thread: append_metric_paths(thread_fields(), out); break;
    case TargetKind::lock: append_metric_paths(lock_fields(), out); break;
    case TargetKind::cpu: append_metric_paths(cpu_fields(), out); break;
    case TargetKind::workloop: append_metric_paths(workloop_fields(), out); break;
    case TargetKind::interrupt: append_metric_paths(interrupt_fields(), out); break;
    case TargetKind::device: append_metric_paths(device_fields(), out); break;
  }
  return out;
}

bool is_metric(TargetKind kind, std::string_view path) {
  std::vector<std::string> paths = metric_paths(kind);
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

bool is_duration_metric(std::string_view path) {
  size_t dot = path.find('.');
  std::string_view head = path.substr(0, dot);
  if (head.size() < 3 || head.substr(head.size() - 3) != "_ns") return false;
  return dot == std::string_view::npos || path.substr(dot + 1) != "count";
}

std::optional<int64_t> metric_value(const Results& r, TargetKind kind, std::string_view id, int64_t index,
                                    std::string_view path) {
  switch (kind) {
    case TargetKind::system: return value_of(system_fields(), &r.system, path);
    case TargetKind::thread: return value_of(thread_fields(), find_by_id(r.threads, id), path);
    case TargetKind::lock: return value_of(lock_fields(), find_by_id(r.locks, id), path);
    case TargetKind::workloop: return value_of(workloop_fields(), find_by_id(r.workloops, id), path);
    case TargetKind::interrupt: return value_of(interrupt_fields(), find_by_id(r.interrupts, id), path);
    case TargetKind::device: return value_of(device_fields(), find_by_id(r.devices, id), path);
    case TargetKind::cpu: {
      if (index < 0 || static_cast<uint64_t>(index) >= r.cpus.size()) return std::nullopt;
      return value_of(cpu_fields(), &r.cpus[static_cast<size_t>(index)], path);
    }
  }
  return std::nullopt;
}

}  // namespace sim::metrics
