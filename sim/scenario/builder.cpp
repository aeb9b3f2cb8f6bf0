// Scenario -> World: threads with their programs, priorities and RNG streams, and the machine.
#include "sim/scenario/builder.hpp"

#include <fmt/format.h>

#include "sim/model/op_table.hpp"
#include "sim/model/priorities.hpp"

namespace sim::scenario {

namespace {

// Internal ops have no scenario spelling; one in a scenario's program is a bug in whoever made it.
void scan_ops(const std::vector<Op>& ops, std::vector<std::string>& out) {
  for (const Op& op : ops) {
    scan_ops(op.body, out);  // a loop's body, a try_lock's or upgrade's `else`
    if (model::op_info(op.kind).internal)
      out.push_back(fmt::format("op \"{}\" ({})", model::to_string(op.kind), op.pointer));
  }
}

// Which funnels the ops name (thread_funnel_set with "kernel" or "network").
void scan_funnels(const std::vector<Op>& ops, sync::SyncSetup& setup) {
  for (const Op& op : ops) {
    scan_funnels(op.body, setup);  // a loop's body, a try_lock's or upgrade's `else`
    if (op.kind == model::OpKind::funnel_switch || op.kind == model::OpKind::funnel_merge) {
      setup.kernel_funnel = setup.network_funnel = true;  // both funnels are named
      continue;
    }
    if (op.kind != model::OpKind::funnel) continue;
    if (op.funnel == model::FunnelName::kernel) setup.kernel_funnel = true;
    if (op.funnel == model::FunnelName::network) setup.network_funnel = true;
  }
}

sync::SyncSetup sync_setup(const Scenario& s, const model::MachineConfig& machine) {
  sync::SyncSetup setup;
  for (const LockSpec& l : s.locks) {
    sync::LockConfig c;
    c.name = l.id;
    c.kind = l.kind == LockKind::spin ? sync::LockKind::spin
             : l.kind == LockKind::rw ? sync::LockKind::rw
                                      : sync::LockKind::mutex;
    switch (l.protocol) {
      case LockProtocol::xnu: c.protocol = sync::Protocol::xnu; break;
      case LockProtocol::none: c.protocol = sync::Protocol::none; break;
      case LockProtocol::inherit: c.protocol = sync::Protocol::inherit; break;
      case LockProtocol::ceiling: c.protocol = sync::Protocol::ceiling; break;
    }
    c.ceiling = l.ceiling.value_or(0);
    setup.locks.push_back(std::move(c));
  }
  // Each work loop's gate is an xnu mutex under its IORecursiveLock, after the scenario's locks.
  for (const WorkloopSpec& wl : s.workloops) {
    sync::LockConfig c;
    c.name = wl.id + ".gate";
    setup.locks.push_back(std::move(c));
  }
  setup.events = s.events.size();
  for (const EventSpec& e : s.events) setup.semaphore_counts.push_back(e.count);
  setup.merged_funnels = machine.merged_funnels;
  for (const ThreadSpec& t : s.threads) scan_funnels(t.program, setup);
  for (const InterruptSpec& i : s.interrupts) setup.interrupts.push_back(i.id);
  return setup;
}

bool terminates(const std::vector<Op>& ops) {
  for (const Op& op : ops)
    if (op.kind == model::OpKind::terminate || terminates(op.body)) return true;
  return false;
}

// The IOKit layer's view of the scenario (it cannot include this folder's types).
iokit_model::Config iokit_config(const Scenario& s, uint64_t seed) {
  iokit_model::Config c;
  c.seed = seed;
  for (const InterruptSpec& i : s.interrupts) {
    iokit_model::InterruptConfig ic;
    ic.id = i.id;
    ic.cpu = i.cpu;
    ic.arrival.kind = i.arrival.kind == ArrivalSpec::Kind::periodic ? iokit_model::ArrivalConfig::Kind::periodic
                      : i.arrival.kind == ArrivalSpec::Kind::poisson ? iokit_model::ArrivalConfig::Kind::poisson
                      : i.arrival.kind == ArrivalSpec::Kind::packets ? iokit_model::ArrivalConfig::Kind::packets
                                                                     : iokit_model::ArrivalConfig::Kind::at;
    if (i.arrival.kind == ArrivalSpec::Kind::packets) {
      ic.arrival.peer = s.devices[static_cast<size_t>(i.arrival.nic)].nic;  // a link's index is its peer's
      ic.arrival.bytes = i.arrival.bytes;
      ic.arrival.count = i.arrival.count;
    }
    ic.arrival.period = i.arrival.period;
    ic.arrival.jitter = i.arrival.jitter;
    ic.arrival.mean = i.arrival.mean;
    ic.arrival.times = i.arrival.times;
    ic.handler = i.handler;
    ic.handler_program = i.handler_program;
    if (!ic.handler_program.empty() && i.workloop >= 0) {
      // A filter event source's filter runs in primary context too: after the handler's ops.
      const EventSourceSpec& src = s.workloops[static_cast<size_t>(i.workloop)].sources[static_cast<size_t>(i.source)];
      if (src.kind == EventSourceKind::filter_interrupt && src.filter.a.ns > 0) {
        Op filter;
        filter.kind = model::OpKind::run;
        filter.duration = src.filter;  // fixed: the loader refuses a random one here
        filter.pointer = i.pointer + "/handler";
        ic.handler_program.push_back(std::move(filter));
      }
    }
    ic.workloop = i.workloop;
    ic.source = i.source;
    c.interrupts.push_back(std::move(ic));
  }
  for (const WorkloopSpec& w : s.workloops) {
    iokit_model::WorkloopConfig wc;
    wc.id = w.id;
    wc.priority = w.priority;
    for (const EventSourceSpec& e : w.sources)
      wc.sources.push_back(iokit_model::SourceConfig{
          e.id,
          e.kind == EventSourceKind::filter_interrupt ? iokit_model::SourceKind::filter_interrupt
                                                      : iokit_model::SourceKind::interrupt,
          e.action, e.filter, e.accept, e.wakeup});
    c.workloops.push_back(std::move(wc));
  }
  for (const TimerSpec& t : s.timers) c.timers.push_back(iokit_model::TimerConfig{t.id, t.workloop, t.action});
  for (const DeviceSpec& d : s.devices)
    c.devices.push_back(iokit_model::DeviceConfig{
        d.id, d.provider, d.workloop, d.service,
        d.direct ? iokit_model::IoPath::direct : iokit_model::IoPath::workloop, d.disk, d.nic});
  for (const ThreadSpec& t : s.threads) c.terminate_thread = c.terminate_thread || terminates(t.program);
  return c;
}

}  // namespace

std::vector<std::string> unsupported_features(const Scenario& s) {
  std::vector<std::string> out;
  for (const ThreadSpec& t : s.threads) scan_ops(t.program, out);
  return out;
}

model::MachineConfig machine_config(const MachineSpec& m) {
  model::MachineConfig c;
  c.cpus = m.cpus;
  c.release = m.xnu == XnuRelease::r792 ? model::Release::xnu792 : model::Release::xnu517;
  c.quantum = m.quantum;
  c.context_switch = m.costs.context_switch;
  c.thread_wakeup = m.costs.thread_wakeup;
  c.interrupt_entry = m.costs.interrupt_entry;
  c.interrupt_exit = m.costs.interrupt_exit;
  c.merged_funnels = m.funnels == FunnelSetup::merged || m.xnu == XnuRelease::r792;
  return c;
}

World build_world(const Scenario& s, const policies::PolicyInfo& policy, core::TraceBus* bus, uint64_t seed) {
  World w;
  std::vector<model::Thread> threads(s.threads.size());
  for (size_t i = 0; i < s.threads.size(); ++i) {
    const ThreadSpec& spec = s.threads[i];
    model::Thread& t = threads[i];
    t.index = static_cast<int32_t>(i);
    t.name = spec.id;
    t.task = spec.task;
    t.kernel = spec.kernel;
    t.nice = spec.nice.value_or(0);
    t.root = spec.root;
    t.program = &spec.program;
    t.spawned = spec.spawned;
    // A spawned thread starts when another thread's create_thread op creates it.
    t.start = spec.spawned ? core::SimTime::never() : core::SimTime{spec.start.ns};
    t.period = spec.period.value_or(Duration{});
    t.deadline = spec.deadline ? *spec.deadline : t.period;
    t.deadline_declared = spec.deadline_given || (spec.deadline && spec.deadline != spec.period);
    t.bound_cpu = spec.cpu.value_or(-1);
    t.mode = t.declared_mode = spec.mode;
    if (spec.mode == model::ThreadMode::realtime) {
      t.realtime = *spec.realtime;
      t.base_pri = model::BASEPRI_RTQUEUES;
    } else {
      t.base_pri = spec.priority;
    }
    t.declared_base_pri = spec.mode == model::ThreadMode::realtime ? model::BASEPRI_DEFAULT : spec.priority;
    t.sched_pri = t.base_pri;
    t.rng = core::Rng(seed, i);
    w.names.threads.push_back(spec.id);
  }
  // IOKit's own kernel threads (work loops, thread_call, terminate) follow the scenario's.
  std::unique_ptr<iokit_model::IoKit> iokit;
  if (!s.interrupts.empty() || !s.workloops.empty() || !s.timers.empty() || !s.devices.empty()) {
    iokit = std::make_unique<iokit_model::IoKit>(iokit_config(s, seed));
    for (model::Thread& t : iokit->make_threads(static_cast<int32_t>(threads.size()))) {
      w.names.threads.push_back(t.name);
      threads.push_back(std::move(t));
    }
  }
  model::MachineConfig machine = machine_config(s.machine);
  w.dispatcher = std::make_unique<dispatcher::Dispatcher>(machine, std::move(threads), policy.make, bus);
  // The policy's own kernel threads (xnu's scheduler tick thread) come last.
  for (size_t i = w.names.threads.size(); i < w.dispatcher->threads().size(); ++i)
    w.names.threads.push_back(w.dispatcher->threads()[i].name);
  w.sync = std::make_unique<sync::SyncLayer>(*w.dispatcher, sync_setup(s, machine));
  w.sync->attach();
  w.names.locks = w.sync->lock_names();
  for (const EventSpec& e : s.events) w.names.events.push_back(e.id);
  if (iokit) {
    // The gates' mutexes follow the scenario's locks; workToDo events follow the scenario's.
    iokit->attach(*w.dispatcher, *w.sync, static_cast<int32_t>(s.locks.size()),
                  static_cast<int32_t>(w.names.events.size()));
    for (std::string& n : iokit->event_names()) w.names.events.push_back(std::move(n));
    w.names.interrupts = iokit->interrupt_names();
    w.names.workloops = iokit->workloop_names();
    w.names.timers = iokit->timer_names();
    w.names.devices = iokit->device_names();
    w.names.sources = iokit->all_source_names();
    w.iokit = std::move(iokit);
  }
  return w;
}

}  // namespace sim::scenario
