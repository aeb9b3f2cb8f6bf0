// Scenario -> World: threads with their programs, priorities and RNG streams, and the machine.
#include "sim/scenario/builder.hpp"

#include <fmt/format.h>

#include "sim/model/priorities.hpp"

namespace sim::scenario {

namespace {

void scan_ops(const std::vector<Op>& ops, std::vector<std::string>& out) {
  using model::OpKind;
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::run:
      case OpKind::sleep:
      case OpKind::sleep_until_next_period:
      case OpKind::yield:
      case OpKind::set_priority:
      case OpKind::set_mode:
      case OpKind::swtch_pri:
        break;
      case OpKind::loop:
        scan_ops(op.body, out);
        break;
      default:
        out.push_back(fmt::format("op \"{}\" ({})", model::to_string(op.kind), op.pointer));
        break;
    }
  }
}

}  // namespace

std::vector<std::string> unsupported_features(const Scenario& s) {
  std::vector<std::string> out;
  if (!s.locks.empty()) out.push_back("locks (/locks)");
  if (!s.events.empty()) out.push_back("events (/events)");
  if (!s.workloops.empty()) out.push_back("work loops (/workloops)");
  if (!s.interrupts.empty()) out.push_back("interrupts (/interrupts)");
  if (!s.timers.empty()) out.push_back("timers (/timers)");
  if (!s.devices.empty()) out.push_back("devices (/devices)");
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
    t.program = &spec.program;
    t.start = core::SimTime{spec.start.ns};
    t.period = spec.period.value_or(Duration{});
    t.deadline = spec.deadline ? *spec.deadline : t.period;
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
  w.dispatcher = std::make_unique<dispatcher::Dispatcher>(machine_config(s.machine), std::move(threads),
                                                          policy.make, bus);
  return w;
}

}  // namespace sim::scenario
