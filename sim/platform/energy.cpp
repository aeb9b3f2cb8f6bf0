// EnergyMeter: how long the host spends at each (pstate, active cores); see energy.hpp.
#include "sim/platform/energy.hpp"

#include <stdexcept>

namespace sim::platform {

using core::TraceKind;

EnergyMeter::EnergyMeter(const HostSpec& host, dispatcher::Dispatcher& d)
    : host_(host), d_(&d), pstate_(host.pstate) {
  if (host_.pstates.empty()) throw std::logic_error("EnergyMeter: a host with no pstate");
  table_.cores = host_.cores;
  table_.ns.assign(host_.pstates.size(), std::vector<int64_t>(static_cast<size_t>(host_.cores) + 1, 0));
  running_.assign(static_cast<size_t>(host_.cores), 0);
  interrupt_.assign(static_cast<size_t>(host_.cores), 0);
  d.register_op_handler(model::OpKind::set_pstate, this);
}

// Charges the time since the last change to the current (pstate, active cores).
void EnergyMeter::advance(int64_t now) {
  if (now > since_) table_.ns[static_cast<size_t>(pstate_)][static_cast<size_t>(active_)] += now - since_;
  if (now > since_) since_ = now;
}

void EnergyMeter::recount(int64_t now) {
  advance(now);
  int n = 0;
  for (size_t c = 0; c < running_.size(); ++c) n += (running_[c] || interrupt_[c]) ? 1 : 0;
  active_ = n;
}

// A CPU is active from the switch to a thread (its switch cost included) until the switch to
// idle, and while in interrupt context: the time the metrics count as busy_ns + interrupt_ns.
void EnergyMeter::on_event(const core::TraceEvent& e) {
  if (e.cpu < 0 || e.cpu >= host_.cores) return;
  size_t c = static_cast<size_t>(e.cpu);
  switch (e.kind) {
    case TraceKind::switched:
      running_[c] = e.other >= 0 ? 1 : 0;
      interrupt_[c] = 0;
      recount(e.time.ns);
      break;
    case TraceKind::interrupt_began:
      interrupt_[c] = 1;
      recount(e.time.ns);
      break;
    case TraceKind::interrupt_ended:
      if (e.b == 1) {
        interrupt_[c] = 0;
        recount(e.time.ns);
      }
      break;
    default:
      break;
  }
}

bool EnergyMeter::execute(dispatcher::Thread&, const model::Op& op) {
  if (op.pstate != pstate_) {
    advance(d_->now().ns);
    pstate_ = op.pstate;
    ++changes_;
  }
  return true;
}

void EnergyMeter::finish(core::SimTime end) {
  advance(end.ns);
  finished_ = true;
}

EnergyReport EnergyMeter::report() const {
  if (!finished_) throw std::logic_error("EnergyMeter::report before the end of the run");
  EnergyReport r = energy_from_simgrid(host_, table_);
  r.ns_by_pstate.clear();
  for (const std::vector<int64_t>& row : table_.ns) {
    int64_t sum = 0;
    for (int64_t v : row) sum += v;
    r.ns_by_pstate.push_back(sum);
  }
  r.pstate_changes = changes_;
  return r;
}

}  // namespace sim::platform
