// Simulation: build the world, wire the metric sinks once, run, collect Results and expects.
#include "sim/run/simulation.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim/core/diag.hpp"
#include "sim/core/errors.hpp"
#include "sim/metrics/inversion_detector.hpp"
#include "sim/metrics/iokit_metrics.hpp"
#include "sim/metrics/lock_metrics.hpp"
#include "sim/metrics/metrics_sink.hpp"
#include "sim/platform/energy.hpp"
#include "sim/platform/session.hpp"
#include "sim/policies/registry.hpp"
#include "sim/run/expects.hpp"
#include "sim/scenario/builder.hpp"

namespace sim::run {

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

// The platform's host as the adapter takes it: its cores are the scenario's CPUs.
platform::HostSpec host_of(const scenario::Scenario& s) {
  const scenario::PlatformSpec& p = *s.machine.platform;
  platform::HostSpec h;
  h.name = p.host;
  h.file = p.file_path;
  h.cores = s.machine.cpus;
  h.off_w = p.off_w;
  h.pstate = p.pstate;
  for (const scenario::PstateSpec& ps : p.pstates)
    h.pstates.push_back(platform::Pstate{ps.speed, ps.idle_w, ps.epsilon_w, ps.all_cores_w});
  for (const scenario::DiskSpec& d : p.disks) h.disks.push_back(platform::DiskSpec{d.id, d.read_bw, d.write_bw});
  for (const scenario::LinkSpec& l : p.links)
    h.links.push_back(platform::LinkSpec{l.id, l.peer, l.bandwidth, static_cast<double>(l.latency.ns) / 1e9});
  return h;
}

const policies::PolicyInfo& checked_policy(const std::string& name) {
  const policies::PolicyInfo* p = policies::find_policy(name);
  if (!p) throw std::logic_error("Simulation built with an unchecked policy name \"" + name + "\"");
  return *p;
}

// The effective configuration of a run (results-format.md, "configuration").
metrics::Configuration configuration_of(const scenario::Scenario& s, const Results& r, const Options& o) {
  metrics::Configuration c;
  c.policy = r.policy;
  c.xnu = r.xnu;
  c.cpus = s.machine.cpus;
  c.quantum_ns = s.machine.quantum.ns;
  c.context_switch_ns = s.machine.costs.context_switch.ns;
  c.interrupt_entry_ns = s.machine.costs.interrupt_entry.ns;
  c.interrupt_exit_ns = s.machine.costs.interrupt_exit.ns;
  c.thread_wakeup_ns = s.machine.costs.thread_wakeup.ns;
  c.funnels = s.machine.funnels == scenario::FunnelSetup::merged ? "merged" : "split";
  c.calibration = s.machine.calibration;
  c.seed = r.seed;
  c.duration_ns = r.duration_ns;
  c.scenario = s.name;
  c.file = s.file;
  c.sha256 = o.scenario_sha256;
  c.sets = o.sets;
  return c;
}

}  // namespace

// Everything one run owns. Members are declared in the order they must be built: the bus
// before the world that emits on it, the world before the sinks that size themselves from it.
struct Simulation::State {
  State(const scenario::Scenario& s, Options o)
      : spec(s),
        options(std::move(o)),
        policy_name(resolve_policy_name(s, options.policy)),
        seed(options.seed.value_or(s.seed)),
        duration(options.duration.value_or(s.duration)),
        world(scenario::build_world(s, checked_policy(policy_name), &bus, seed)),
        has_locks(!world.names.locks.empty()),
        inversions(&bus, has_locks ? world.dispatcher->threads().size() : 0, s.machine.cpus),
        metrics(world.dispatcher->threads(), s.machine.cpus),
        locks(has_locks ? world.dispatcher->threads().size() : 0, world.names.locks,
              has_locks ? world.names.threads : std::vector<std::string>{}) {
    // Lock sinks only listen when there are locks (funnels and gates included): without them
    // their results are zeros, and every event they would see costs a call (and they keep no
    // per-thread state: collect() reads zeros for them).
    // First on the bus: it emits each instant's inversion events before later events go out.
    if (has_locks) bus.add(&inversions);
    bus.add(&metrics);
    if (has_locks) bus.add(&locks);
    if (world.iokit) {
      iokit.emplace(iokit_layout(*world.iokit));
      bus.add(&*iokit);
    }
    // With a platform only: without one nothing below sim/platform is reached (no SimGrid).
    if (s.machine.platform) {
      energy.emplace(host_of(s), *world.dispatcher);
      bus.add(&*energy);
      // Disks and links: a live SimGrid session times the sized transfers and the packets (its
      // child starts at the first).
      if ((!s.machine.platform->disks.empty() || !s.machine.platform->links.empty()) && world.iokit) {
        session.emplace(host_of(s), *world.dispatcher);
        world.iokit->set_hardware(&*session);
      }
    }
  }

  const scenario::Scenario& spec;
  Options options;
  std::string policy_name;
  uint64_t seed;
  core::Duration duration;
  core::TraceBus bus;
  scenario::World world;
  bool has_locks;
  metrics::InversionDetector inversions;
  metrics::MetricsSink metrics;
  metrics::LockMetrics locks;
  std::optional<metrics::IoKitMetrics> iokit;
  std::optional<platform::EnergyMeter> energy;
  std::optional<platform::PlatformSession> session;
  bool ran = false;
};

Simulation::Simulation(const scenario::Scenario& s, Options options)
    : state_(std::make_unique<State>(s, std::move(options))) {}

Simulation::~Simulation() = default;

const core::NameTable& Simulation::names() const { return state_->world.names; }
const std::string& Simulation::policy_name() const { return state_->policy_name; }
uint64_t Simulation::seed() const { return state_->seed; }
core::Duration Simulation::duration() const { return state_->duration; }

void Simulation::add_sink(core::TraceSink* sink) {
  if (state_->ran) throw std::logic_error("Simulation::add_sink called after run()");
  state_->bus.add(sink);
}

Results Simulation::run() {
  State& st = *state_;
  if (st.ran) throw std::logic_error("Simulation::run called twice");
  st.ran = true;
  dispatcher::Dispatcher& d = *st.world.dispatcher;
  if (st.options.step_hook) {
    const dispatcher::Dispatcher* dp = &d;
    d.set_step_hook([dp, hook = st.options.step_hook] { hook(*dp); });
  }
  if (st.options.op_started) {
    d.set_op_started([hook = st.options.op_started, dp = &d](const model::Thread& t, const model::Op& op) {
      hook(t.index, op, dp->now());
    });
  }
  if (st.options.progress) {
    d.set_progress([report = st.options.progress, end = st.duration](core::SimTime now) { report(now, end); },
                   st.options.progress_every);
  }
  d.run(core::SimTime{st.duration.ns});
  const auto events = static_cast<int64_t>(d.events_handled());
  std::string panic = d.panic_report();
  // The run is over and happens once: nothing reads the simulated world again (names() is the
  // NameTable, kept; the sinks keep their own state). Free it before the results are made, so
  // that they do not add to its memory at the peak (issue 13, memory per thread). Same order as
  // the World's destructor: IOKit and the sync layer before the dispatcher they borrow. The
  // energy meter and the platform session borrow it too, but use it only during the run (not
  // in report() nor in their destructors).
  st.metrics.keep_thread_identities();
  st.world.iokit.reset();
  st.world.sync.reset();
  st.world.dispatcher.reset();
  Results r = collect();
  r.system.events = events;
  if (!panic.empty()) r.system.panics.push_back(std::move(panic));
  r.expect = evaluate_expects(r, st.spec.expects);
  return r;
}

Results Simulation::run_recorded(const std::vector<core::TraceEvent>& events, core::SimTime end) {
  State& st = *state_;
  if (st.ran) throw std::logic_error("Simulation::run_recorded called after a run");
  st.ran = true;
  for (const core::TraceEvent& e : events) st.bus.emit(e);
  st.bus.finish(end);
  Results r = collect();
  r.system.events = static_cast<int64_t>(events.size());
  r.expect = evaluate_expects(r, st.spec.expects);
  return r;
}

Results Simulation::collect() {
  State& st = *state_;
  Results r = st.metrics.results();
  r.locks = st.locks.locks();
  r.system.locks_held_at_exit = st.locks.held_at_exit();
  // Without locks the lock sinks did not listen and keep no per-thread state: zeros.
  for (size_t i = 0; st.has_locks && i < r.threads.size(); ++i) {
    metrics::ThreadResult& t = r.threads[i];
    t.blocked_ns = st.locks.blocked_ns(static_cast<int32_t>(i));
    t.spin_ns = st.locks.spin_ns(static_cast<int32_t>(i));
    t.inversion_ns = st.inversions.inversion_ns(static_cast<int32_t>(i));
  }
  if (st.iokit) {
    r.interrupts = st.iokit->interrupts();
    r.workloops = st.iokit->workloops();
    r.devices = st.iokit->devices();
  }
  if (st.energy) {
    platform::EnergyReport e = st.energy->report();
    if (!e.error.empty()) throw core::InternalError(core::SimTime{r.duration_ns}, 0, fmt::format("energy of the run: {}", e.error));
    r.energy.present = true;
    r.energy.host = st.spec.machine.platform->host;
    r.energy.joules = std::round(e.joules * 1000.0) / 1000.0;
    double seconds = static_cast<double>(r.duration_ns) / 1e9;
    r.energy.watts = seconds > 0 ? std::round(e.joules / seconds * 1000.0) / 1000.0 : 0.0;
    r.energy.pstate_changes = e.pstate_changes;
    r.energy.ns_by_pstate = e.ns_by_pstate;
    r.system.energy_mj = static_cast<int64_t>(std::llround(e.joules * 1000.0));
  }
  r.scenario = st.spec.name;
  r.policy = st.policy_name;
  r.seed = st.seed;
  r.xnu = st.spec.machine.xnu == scenario::XnuRelease::r792 ? "792" : "517";
  r.configuration = configuration_of(st.spec, r, st.options);
  return r;
}

bool expects_ok(const Results& r) {
  for (const metrics::ExpectResult& e : r.expect)
    if (!e.ok) return false;
  return true;
}

Results run_scenario(const scenario::Scenario& s, const Options& options) {
  Simulation sim(s, options);
  return sim.run();
}

}  // namespace sim::run
