// End-to-end run of a scenario: build, attach sinks, run, collect results and expects.
#include "sim/cli/run_support.hpp"

#include <chrono>

#include <fmt/format.h>

#include "reports/json_report.hpp"
#include "sim/core/diag.hpp"
#include "reports/trace_text.hpp"
#include "sim/cli/expect_check.hpp"
#include "sim/metrics/inversion_detector.hpp"
#include "sim/metrics/iokit_metrics.hpp"
#include "sim/metrics/lock_metrics.hpp"
#include "sim/metrics/metrics_sink.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/builder.hpp"

namespace sim::cli {

std::string resolve_policy_name(const scenario::Scenario& s, const std::string& override_name) {
  if (!override_name.empty()) return override_name;
  if (s.policy) return *s.policy;
  return std::string(policies::default_policy_name());
}

std::string check_policy_name(const scenario::Scenario& s, const std::string& override_name) {
  std::string name = resolve_policy_name(s, override_name);
  if (policies::find_policy(name)) return "";
  std::vector<std::string> names;
  for (const policies::PolicyInfo& p : policies::registry()) names.emplace_back(p.name);
  std::string hint = core::closest_match(name, names);
  std::string note = hint.empty() ? "" : fmt::format("\n  note: did you mean \"{}\"?", hint);
  if (!override_name.empty())
    return fmt::format("xnusim: error: --policy: unknown policy \"{}\"; valid: {}{}", name,
                       policies::policy_names_joined(), note);
  return fmt::format("{}: error: /policy: unknown policy \"{}\"; valid: {}{}", s.file, name,
                     policies::policy_names_joined(), note);
}

std::string check_supported(const scenario::Scenario& s) {
  std::string out;
  for (const std::string& f : scenario::unsupported_features(s))
    out += fmt::format("{}: error: not supported yet: {}\n", s.file, f);
  return out;
}

namespace {

// Where the IOKit layer's objects sit in the trace, for its metrics sink.
metrics::IoKitLayout iokit_layout(const iokit_model::IoKit& k) {
  metrics::IoKitLayout l;
  l.interrupts = k.interrupt_names();
  l.devices = k.device_names();
  l.offline_status = iokit_model::kIOReturnOffline;
  std::vector<std::string> ids = k.workloop_names();
  for (size_t w = 0; w < ids.size(); ++w) {
    int32_t wi = static_cast<int32_t>(w);
    metrics::IoKitLayout::Workloop lw;
    lw.id = ids[w];
    lw.work_event = k.work_event(wi);
    lw.gate_lock = k.gate_lock(wi);
    for (size_t s = 0; s < k.source_names(wi).size(); ++s)
      lw.interrupt_source.push_back(k.is_interrupt_source(wi, static_cast<int32_t>(s)));
    l.workloops.push_back(std::move(lw));
  }
  return l;
}

}  // namespace

RunOutput run_scenario(const scenario::Scenario& s, const RunOptions& options) {
  std::string policy_name = resolve_policy_name(s, options.policy);
  const policies::PolicyInfo* policy = policies::find_policy(policy_name);
  if (!policy) throw core::InternalError(core::SimTime{}, 0, "run_scenario called with an unchecked policy name");
  uint64_t seed = options.seed.value_or(s.seed);
  core::Duration duration = options.duration.value_or(s.duration);

  core::TraceBus bus;
  scenario::World world = scenario::build_world(s, *policy, &bus, seed);
  // Lock sinks only listen when there are locks (funnels and gates included): without them their
  // results are zeros, and every event they would see costs a call.
  bool has_locks = !world.names.locks.empty();
  // First on the bus: it emits each instant's inversion events before later events go out.
  metrics::InversionDetector inversions(&bus, world.dispatcher->threads().size(), s.machine.cpus);
  if (has_locks) bus.add(&inversions);
  metrics::MetricsSink metrics(world.dispatcher->threads(), s.machine.cpus);
  bus.add(&metrics);
  metrics::LockMetrics locks(world.dispatcher->threads().size(), world.names.locks);
  if (has_locks) bus.add(&locks);
  std::optional<metrics::IoKitMetrics> iokit;
  if (world.iokit) {
    iokit.emplace(iokit_layout(*world.iokit));
    bus.add(&*iokit);
  }
  std::optional<reports::TextTraceWriter> trace;
  if (options.trace) {
    trace.emplace(options.trace, world.names);
    bus.add(&*trace);
  }
  if (options.extra_sink) bus.add(options.extra_sink);
  if (options.step_hook) {
    const dispatcher::Dispatcher* d = world.dispatcher.get();
    world.dispatcher->set_step_hook([d, hook = options.step_hook] { hook(*d); });
  }

  // Progress: looked at every 4096 instants; printed at most twice a second once the run has
  // taken a second of wall time, on one line that is cleared at the end.
  using Clock = std::chrono::steady_clock;
  Clock::time_point started = Clock::now(), last = started;
  bool printed = false;
  if (options.progress) {
    world.dispatcher->set_progress(
        [&](core::SimTime now) {
          Clock::time_point t = Clock::now();
          if (t - started < std::chrono::seconds(1) || t - last < std::chrono::milliseconds(500)) return;
          last = t;
          printed = true;
          fmt::print(stderr, "\rxnusim: simulated {} of {} ({:.0f}%)  ", core::format_duration_human(now.ns),
                     core::format_duration_human(duration.ns),
                     100.0 * static_cast<double>(now.ns) / static_cast<double>(duration.ns));
        },
        4096);
  }
  world.dispatcher->run(core::SimTime{duration.ns});
  if (printed) fmt::print(stderr, "\r\033[K");

  RunOutput out;
  out.results = metrics.results();
  out.results.locks = locks.locks();
  for (size_t i = 0; i < out.results.threads.size(); ++i) {
    metrics::ThreadResult& t = out.results.threads[i];
    t.blocked_ns = locks.blocked_ns(static_cast<int32_t>(i));
    t.spin_ns = locks.spin_ns(static_cast<int32_t>(i));
    t.inversion_ns = inversions.inversion_ns(static_cast<int32_t>(i));
  }
  if (iokit) {
    out.results.interrupts = iokit->interrupts();
    out.results.workloops = iokit->workloops();
    out.results.devices = iokit->devices();
  }
  out.results.scenario = s.name;
  out.results.policy = policy_name;
  out.results.seed = seed;
  out.results.xnu = s.machine.xnu == scenario::XnuRelease::r792 ? "792" : "517";
  out.results.system.events = static_cast<int64_t>(world.dispatcher->events_handled());
  if (!world.dispatcher->panic_report().empty()) out.results.system.panics.push_back(world.dispatcher->panic_report());
  out.json = reports::results_to_json(out.results);
  out.results.expect = evaluate_expects(out.json, s.expects);
  for (const metrics::ExpectResult& e : out.results.expect) out.expects_ok &= e.ok;
  out.json = reports::results_to_json(out.results);
  return out;
}

}  // namespace sim::cli
