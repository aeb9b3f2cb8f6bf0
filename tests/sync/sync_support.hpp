// Helpers for the sync tests: lock, event and funnel ops, lock declarations, and a run whose
// world stays inspectable (threads can be adjusted before it starts).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/metrics/inversion_detector.hpp"
#include "sim/metrics/lock_metrics.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/builder.hpp"
#include "tests/support.hpp"

namespace testing {

using model::LockMode;

inline model::Op lock_op(int32_t lock, LockMode mode = LockMode::exclusive) {
  model::Op op;
  op.kind = model::OpKind::lock;
  op.ref = lock;
  op.lock_mode = mode;
  return op;
}
inline model::Op unlock_op(int32_t lock, LockMode mode = LockMode::exclusive) {
  model::Op op = lock_op(lock, mode);
  op.kind = model::OpKind::unlock;
  return op;
}
inline model::Op wait_op(int32_t event) {
  model::Op op;
  op.kind = model::OpKind::wait;
  op.ref = event;
  return op;
}
inline model::Op signal_op(int32_t event, bool all = false) {
  model::Op op;
  op.kind = model::OpKind::signal;
  op.ref = event;
  op.all = all;
  return op;
}
inline model::Op funnel_op(model::FunnelName f) {
  model::Op op;
  op.kind = model::OpKind::funnel;
  op.funnel = f;
  return op;
}

inline scenario::LockSpec mutex(std::string id, scenario::LockProtocol p = scenario::LockProtocol::xnu,
                                std::optional<int> ceiling = std::nullopt) {
  scenario::LockSpec l;
  l.id = std::move(id);
  l.kind = scenario::LockKind::mutex;
  l.protocol = p;
  l.ceiling = ceiling;
  return l;
}
inline scenario::LockSpec lock_of(std::string id, scenario::LockKind kind) {
  scenario::LockSpec l;
  l.id = std::move(id);
  l.kind = kind;
  return l;
}
inline scenario::EventSpec event(std::string id) {
  scenario::EventSpec e;
  e.id = std::move(id);
  return e;
}

// Gives every op the JSON Pointer the loader would (for panic reports).
inline void name_ops(std::vector<model::Op>& ops, const std::string& at) {
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i].pointer = at + "/" + std::to_string(i);
    name_ops(ops[i].body, ops[i].pointer + "/body");
  }
}
inline void name_ops(scenario::Scenario& s) {
  for (size_t i = 0; i < s.threads.size(); ++i) name_ops(s.threads[i].program, "/threads/" + std::to_string(i) + "/program");
}

// A world built from a scenario and run by hand, with the same sinks as `xnusim run` plus a
// recording sink; `before` may adjust the threads (e.g. a decayed sched_pri) before the start,
// `step` is called after every instant (invariant checks).
struct SyncRun {
  core::TraceBus bus;
  scenario::World world;
  std::optional<metrics::InversionDetector> inversions;
  std::optional<metrics::LockMetrics> locks;
  RecordingSink trace;
  std::string panic;

  SyncRun(const scenario::Scenario& s, const std::string& policy = "fixed",
          const std::function<void(dispatcher::Dispatcher&)>& before = {},
          const std::function<void(const SyncRun&)>& step = {}) {
    world = scenario::build_world(s, *policies::find_policy(policy), &bus, s.seed);
    inversions.emplace(&bus, world.dispatcher->threads().size(), s.machine.cpus);
    bus.add(&*inversions);
    locks.emplace(world.dispatcher->threads().size(), world.names.locks, world.names.threads);
    bus.add(&*locks);
    bus.add(&trace);
    if (before) before(*world.dispatcher);
    if (step) world.dispatcher->set_step_hook([this, step] { step(*this); });
    world.dispatcher->run(core::SimTime{s.duration.ns});
    panic = world.dispatcher->panic_report();
  }
  const dispatcher::Dispatcher& d() const { return *world.dispatcher; }
  const sync::SyncLayer& sync() const { return *world.sync; }
  int32_t thread_index(const std::string& name) const {
    for (const auto& t : d().threads())
      if (t.name == name) return t.index;
    throw std::runtime_error("no thread " + name);
  }
  // sched_pri changes of one thread as "time_us:old->new".
  std::vector<std::string> priorities(const std::string& name) const {
    std::vector<std::string> out;
    int32_t i = thread_index(name);
    for (const auto& e : trace.of(core::TraceKind::priority_changed))
      if (e.thread == i) out.push_back(std::to_string(e.time.ns / 1000) + "us:" + std::to_string(e.a) + "->" +
                                       std::to_string(e.b));
    return out;
  }
  // Events of one kind for one thread.
  std::vector<core::TraceEvent> of(core::TraceKind k, const std::string& name) const {
    std::vector<core::TraceEvent> out;
    int32_t i = thread_index(name);
    for (const auto& e : trace.of(k))
      if (e.thread == i) out.push_back(e);
    return out;
  }
};

}  // namespace testing
