// Interrupt, work-loop and device metrics from trace events (see iokit_metrics.hpp).
#include "sim/metrics/iokit_metrics.hpp"

#include <stdexcept>

namespace sim::metrics {

using core::TraceKind;

namespace {

template <typename T>
T& at(std::vector<T>& v, int64_t i) {
  if (i < 0) throw std::out_of_range("negative index");
  if (static_cast<size_t>(i) >= v.size()) v.resize(static_cast<size_t>(i) + 1);
  return v[static_cast<size_t>(i)];
}

}  // namespace

IoKitMetrics::IoKitMetrics(IoKitLayout layout) : layout_(std::move(layout)) {
  interrupts_.resize(layout_.interrupts.size());
  for (size_t i = 0; i < interrupts_.size(); ++i) {
    interrupts_[i].r.id = layout_.interrupts[i];
    interrupts_[i].latency.set_budget(&budget_);
  }
  workloops_.resize(layout_.workloops.size());
  for (size_t w = 0; w < workloops_.size(); ++w) {
    const IoKitLayout::Workloop& l = layout_.workloops[w];
    workloops_[w].r.id = l.id;
    workloops_[w].action_latency.set_budget(&budget_);
    workloops_[w].gate_wait.set_budget(&budget_);
    workloops_[w].pending.resize(l.interrupt_source.size());
    if (l.work_event >= 0) {
      if (workloop_of_event_.size() <= static_cast<size_t>(l.work_event)) workloop_of_event_.resize(static_cast<size_t>(l.work_event) + 1, -1);
      workloop_of_event_[static_cast<size_t>(l.work_event)] = static_cast<int32_t>(w);
    }
    if (l.gate_lock >= 0) {
      if (workloop_of_gate_.size() <= static_cast<size_t>(l.gate_lock)) workloop_of_gate_.resize(static_cast<size_t>(l.gate_lock) + 1, -1);
      workloop_of_gate_[static_cast<size_t>(l.gate_lock)] = static_cast<int32_t>(w);
    }
  }
  devices_.resize(layout_.devices.size());
  for (size_t d = 0; d < devices_.size(); ++d) {
    devices_[d].r.id = layout_.devices[d];
    devices_[d].io.set_budget(&budget_);
  }
}

void IoKitMetrics::on_event(const core::TraceEvent& e) {
  int64_t now = e.time.ns;
  switch (e.kind) {
    case TraceKind::interrupt_arrived:
      if (static_cast<size_t>(e.other) < interrupts_.size()) ++interrupts_[static_cast<size_t>(e.other)].r.count;
      break;
    case TraceKind::interrupt_began:
      if (static_cast<size_t>(e.other) < interrupts_.size()) interrupts_[static_cast<size_t>(e.other)].latency.add(e.a, now + e.b);
      // The handler starts after the entry cost (b); a is arrival -> handler start.
      at(cpu_arrival_, e.cpu) = now + e.b - e.a;
      break;
    case TraceKind::event_signaled: {
      // signalWorkAvailable: b = the source with work; from interrupt context (no thread) the
      // interrupt being handled on that CPU arrived at cpu_arrival_.
      if (e.other < 0 || static_cast<size_t>(e.other) >= workloop_of_event_.size()) break;
      int32_t w = workloop_of_event_[static_cast<size_t>(e.other)];
      if (w < 0) break;
      PerWorkloop& pw = workloops_[static_cast<size_t>(w)];
      const IoKitLayout::Workloop& l = layout_.workloops[static_cast<size_t>(w)];
      if (e.b < 0 || static_cast<size_t>(e.b) >= l.interrupt_source.size() || !l.interrupt_source[static_cast<size_t>(e.b)])
        break;
      Pending& p = pw.pending[static_cast<size_t>(e.b)];
      if (p.count++ == 0) p.oldest = e.thread < 0 ? at(cpu_arrival_, e.cpu) : now;
      break;
    }
    case TraceKind::workloop_action: {
      if (static_cast<size_t>(e.other) >= workloops_.size()) break;
      PerWorkloop& pw = workloops_[static_cast<size_t>(e.other)];
      const IoKitLayout::Workloop& l = layout_.workloops[static_cast<size_t>(e.other)];
      ++pw.r.actions;
      if (e.a < 0 || static_cast<size_t>(e.a) >= l.interrupt_source.size() || !l.interrupt_source[static_cast<size_t>(e.a)])
        break;
      pw.r.interrupts_delivered += e.b;
      // checkForWork hands every interrupt produced so far to this one action.
      Pending& p = pw.pending[static_cast<size_t>(e.a)];
      if (p.count > 0) pw.action_latency.add(now - p.oldest, now);
      p.count = 0;
      break;
    }
    case TraceKind::lock_acquired:
      if (e.other >= 0 && static_cast<size_t>(e.other) < workloop_of_gate_.size()) {
        int32_t w = workloop_of_gate_[static_cast<size_t>(e.other)];
        if (w >= 0) workloops_[static_cast<size_t>(w)].gate_wait.add(e.a, now);
      }
      break;
    case TraceKind::io_issued:
      if (static_cast<size_t>(e.other) >= devices_.size()) break;
      ++devices_[static_cast<size_t>(e.other)].r.ios;
      issued_[e.a] = now;
      break;
    case TraceKind::io_completed: {
      if (static_cast<size_t>(e.other) >= devices_.size()) break;
      PerDevice& d = devices_[static_cast<size_t>(e.other)];
      ++d.r.completed;
      if (e.b == layout_.offline_status) ++d.r.offline;
      if (auto it = issued_.find(e.a); it != issued_.end()) {
        d.io.add(now - it->second, now);
        issued_.erase(it);
      }
      break;
    }
    default:
      break;
  }
}

std::vector<InterruptResult> IoKitMetrics::interrupts() const {
  std::vector<InterruptResult> out;
  for (size_t i = 0; i < interrupts_.size(); ++i) {
    InterruptResult r = interrupts_[i].r;
    r.latency_ns = interrupts_[i].latency.summary();
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<WorkloopResult> IoKitMetrics::workloops() const {
  std::vector<WorkloopResult> out;
  for (const PerWorkloop& w : workloops_) {
    WorkloopResult r = w.r;
    r.action_latency_ns = w.action_latency.summary();
    r.gate_wait_ns = w.gate_wait.summary();
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<DeviceResult> IoKitMetrics::devices() const {
  std::vector<DeviceResult> out;
  for (const PerDevice& d : devices_) {
    DeviceResult r = d.r;
    r.io_ns = d.io.summary();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sim::metrics
