// Helpers for IOKit tests: scenario pieces (work loops, interrupts, timers, devices) and the
// IOKit ops, built in code; and a world run by hand for looking at the layer's state.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sim/policies/registry.hpp"
#include "sim/scenario/builder.hpp"
#include "tests/support.hpp"

namespace testing {

inline model::Op gate_op(model::OpKind k, int32_t wl, Duration d = {}) {
  model::Op op;
  op.kind = k;
  op.ref = wl;
  op.duration.a = d;
  return op;
}
inline model::Op run_action_op(int32_t wl, Duration d) { return gate_op(model::OpKind::run_action, wl, d); }
inline model::Op close_gate_op(int32_t wl) { return gate_op(model::OpKind::internal_gate_close, wl); }
inline model::Op open_gate_op(int32_t wl) { return gate_op(model::OpKind::internal_gate_open, wl); }
inline model::Op command_sleep_op(int32_t wl, int32_t event) {
  model::Op op = gate_op(model::OpKind::command_sleep, wl);
  op.event = event;
  return op;
}
inline model::Op command_wakeup_op(int32_t wl, int32_t event, bool all = false) {
  model::Op op = gate_op(model::OpKind::command_wakeup, wl);
  op.event = event;
  op.all = all;
  return op;
}
inline model::Op timer_arm_op(int32_t timer, Duration after) { return gate_op(model::OpKind::timer_arm, timer, after); }
inline model::Op timer_cancel_op(int32_t timer) { return gate_op(model::OpKind::timer_cancel, timer); }
inline model::Op io_op(int32_t device, Duration service) { return gate_op(model::OpKind::io, device, service); }
inline model::Op terminate_op(int32_t device) { return gate_op(model::OpKind::terminate, device); }

inline scenario::EventSourceSpec interrupt_source(std::string id, Duration action) {
  scenario::EventSourceSpec s;
  s.id = std::move(id);
  s.action.a = action;
  return s;
}
inline scenario::EventSourceSpec filter_source(std::string id, Duration action, Duration filter, double accept) {
  scenario::EventSourceSpec s = interrupt_source(std::move(id), action);
  s.kind = scenario::EventSourceKind::filter_interrupt;
  s.filter.a = filter;
  s.accept = accept;
  return s;
}
inline scenario::WorkloopSpec workloop(std::string id, std::vector<scenario::EventSourceSpec> sources = {},
                                       int priority = 81) {
  scenario::WorkloopSpec w;
  w.id = std::move(id);
  w.priority = priority;
  w.sources = std::move(sources);
  return w;
}
// Interrupts at the given times (an "at" arrival).
inline scenario::InterruptSpec interrupt_at(std::string id, std::vector<Duration> times, Duration handler,
                                            int32_t wl = -1, int32_t source = -1, int cpu = 0) {
  scenario::InterruptSpec i;
  i.id = std::move(id);
  i.cpu = cpu;
  i.arrival.kind = scenario::ArrivalSpec::Kind::at;
  i.arrival.times = std::move(times);
  i.handler.a = handler;
  i.workloop = wl;
  i.source = source;
  return i;
}
inline scenario::TimerSpec timer(std::string id, int32_t wl, Duration action) {
  scenario::TimerSpec t;
  t.id = std::move(id);
  t.workloop = wl;
  t.action.a = action;
  return t;
}
inline scenario::DeviceSpec device(std::string id, int32_t provider, int32_t wl, Duration service) {
  scenario::DeviceSpec d;
  d.id = std::move(id);
  d.provider = provider;
  d.workloop = wl;
  d.service.a = service;
  return d;
}
inline scenario::ThreadSpec kernel_thread(std::string id, int priority, std::vector<model::Op> program) {
  scenario::ThreadSpec t = thread(std::move(id), priority, std::move(program));
  t.kernel = true;
  return t;
}
inline scenario::ThreadSpec user_thread(std::string id, std::vector<model::Op> program) {
  return thread(std::move(id), 31, std::move(program), model::ThreadMode::timeshare);
}
inline scenario::Scenario iokit_scenario(std::vector<scenario::ThreadSpec> threads, Duration duration,
                                         scenario::XnuRelease xnu = scenario::XnuRelease::r792, int cpus = 1) {
  scenario::Scenario s = scenario_of(std::move(threads), duration, cpus);
  s.machine.xnu = xnu;
  for (int i = 0; i < 4; ++i) s.events.push_back(scenario::EventSpec{"ev" + std::to_string(i), ""});
  return s;
}

// Trace events of one kind and object.
inline std::vector<core::TraceEvent> events_of(const Run& r, core::TraceKind k, int32_t other = -2) {
  std::vector<core::TraceEvent> out;
  for (const core::TraceEvent& e : r.trace.events)
    if (e.kind == k && (other == -2 || e.other == other)) out.push_back(e);
  return out;
}
inline const metrics::WorkloopResult& workloop_result(const Run& r, const std::string& id) {
  for (const auto& w : r.out.results.workloops)
    if (w.id == id) return w;
  throw std::runtime_error("no work loop " + id);
}
inline const metrics::DeviceResult& device_result(const Run& r, const std::string& id) {
  for (const auto& d : r.out.results.devices)
    if (d.id == id) return d;
  throw std::runtime_error("no device " + id);
}
inline const metrics::InterruptResult& interrupt_result(const Run& r, const std::string& id) {
  for (const auto& i : r.out.results.interrupts)
    if (i.id == id) return i;
  throw std::runtime_error("no interrupt " + id);
}
inline int32_t thread_index(const Run& r, const std::string& id) {
  for (size_t i = 0; i < r.out.results.threads.size(); ++i)
    if (r.out.results.threads[i].id == id) return static_cast<int32_t>(i);
  throw std::runtime_error("no thread " + id);
}

// A world run by hand: the IOKit layer's state can be read after every instant.
struct IoWorld {
  core::TraceBus bus;
  RecordingSink trace;
  scenario::World world;
  explicit IoWorld(const scenario::Scenario& s, const std::string& policy = "xnu") {
    bus.add(&trace);
    world = scenario::build_world(s, *policies::find_policy(policy), &bus, s.seed);
  }
  void run(const scenario::Scenario& s, std::function<void()> each_instant = {}) {
    if (each_instant) world.dispatcher->set_step_hook(std::move(each_instant));
    world.dispatcher->run(core::SimTime{s.duration.ns});
  }
  const iokit_model::IoKit& iokit() const { return *world.iokit; }
};

}  // namespace testing
