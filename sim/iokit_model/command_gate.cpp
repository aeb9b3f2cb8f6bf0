// IOCommandGate on the caller's thread: runAction, commandSleep, commandWakeup (xnu-facts.md
// 9.4), and direct closeGate/openGate for tests.
//
// A scenario op list cannot nest, so an action's body is written as the ops right after its
// run_action: command_sleep and command_wakeup on the same work loop, and timer_arm and
// timer_cancel of a timer on it, run inside the action with the gate still held; the gate opens
// before the first op that is not one of those (docs/iokit.md).
#include "sim/iokit_model/iokit.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sim::iokit_model {

using core::TraceKind;
using model::OpKind;

// models xnu-792 iokit/Kernel/IOCommandGate.cpp runAction: closeGate, the action (here a
// computation of `for`), openGate; the caller is in the kernel throughout.
// sim: command gates are always enabled, so the disabled paths (792 sleep on &enabled, 517
// kIOReturnNotPermitted) are not reached.
bool IoKit::run_action(Thread& t, const Op& op) {
  Caller& c = caller(t);
  if (c.step == Caller::Step::none) {
    d_->enter_kernel(t);
    c.step = Caller::Step::gate;
  }
  if (!wl(op.ref).gate.close(t)) return stop(t);
  c.step = Caller::Step::none;
  d_->push_ops(t, &action_done_[static_cast<size_t>(op.ref)]);
  Duration action = draw_duration(op.duration, t.rng);
  if (action.ns > 0) {
    d_->compute(t, action);
    return false;  // the epilogue runs when the computation ends
  }
  return true;
}

bool IoKit::action_done(Thread& t, int32_t w) {
  // The epilogue sits in its own frame on top of the caller's.
  return end_gated(t, w, 1);
}

bool IoKit::continues_action(const Op& op, int32_t w) const {
  switch (op.kind) {
    case OpKind::command_sleep:
    case OpKind::command_wakeup: return op.ref == w;
    case OpKind::timer_arm:
    case OpKind::timer_cancel: return timers_[static_cast<size_t>(op.ref)].config.workloop == w;
    default: return false;
  }
}

bool IoKit::end_gated(Thread& t, int32_t w, size_t below) {
  Caller& c = caller(t);
  const Op* next = nullptr;
  if (t.frames.size() > below) {
    const model::Frame& f = t.frames[t.frames.size() - 1 - below];
    if (f.pc < f.ops->size()) next = &(*f.ops)[f.pc];
  }
  if (next && continues_action(*next, w)) {
    c.chain = w;
    return go_on(t);
  }
  c.chain = -1;
  wl(w).gate.open(t);
  d_->exit_kernel(t);
  return go_on(t);
}

// models xnu-792 iokit/Kernel/IOCommandGate.cpp commandSleep -> IOWorkLoop::sleepGate ->
// IORecursiveLockSleep: the gate must be held (else kIOReturnNotPermitted at once); it is
// released fully, the thread sleeps on the event, and on wakeup re-takes the gate at the depth
// it held it (possibly waiting for it again).
bool IoKit::command_sleep(Thread& t, const Op& op) {
  Caller& c = caller(t);
  WorkLoop& loop = wl(op.ref);
  switch (c.step) {
    case Caller::Step::none:
      if (!loop.gate.held_by(t)) {
        emit(TraceKind::command_refused, &t, t.cpu, op.ref, kIOReturnNotPermitted, op.event);
        return go_on(t);
      }
      c.saved_depth = loop.gate.release_for_sleep(t);
      sleepers_[op.event].push_back(t.index);
      emit(TraceKind::event_waited, &t, t.cpu, op.event, 0, 0);
      c.step = Caller::Step::sleeping;
      d_->block(t, core::BlockReason::command, op.ref);
      return stop(t);
    case Caller::Step::sleeping:
      c.step = Caller::Step::reacquire;
      [[fallthrough]];
    case Caller::Step::reacquire:
      if (!loop.gate.reacquire(t, c.saved_depth)) return stop(t);
      c.step = Caller::Step::none;
      if (c.chain == op.ref) return end_gated(t, op.ref, 0);
      return go_on(t);
    default:
      throw d_->internal_error(fmt::format("\"{}\": command_sleep in an unexpected state", t.name));
  }
}

// models xnu-792 iokit/Kernel/IOCommandGate.cpp commandWakeup: a plain wakeup of the first
// sleeper on the event (FIFO) or of all; the gate is not required. Sleepers then compete for it.
bool IoKit::command_wakeup(Thread& t, const Op& op) {
  wake_sleepers(t, op.event, op.all);
  if (caller(t).chain == op.ref) return end_gated(t, op.ref, 0);
  return go_on(t);
}

void IoKit::wake_sleepers(const Thread& by, int32_t event, bool all) {
  std::deque<int32_t>& q = sleepers_[event];
  size_t n = all ? q.size() : std::min<size_t>(1, q.size());
  emit(TraceKind::event_signaled, &by, by.cpu, event, static_cast<int64_t>(n), 0);
  for (size_t i = 0; i < n; ++i) {
    int32_t s = q.front();
    q.pop_front();
    d_->wake(th(s), core::WakeReason::event);
  }
}

// IOWorkLoop::closeGate / openGate as ops (tests; the loader never produces them).
bool IoKit::gate_close(Thread& t, int32_t w) {
  Caller& c = caller(t);
  if (c.step == Caller::Step::none) {
    d_->enter_kernel(t);
    c.step = Caller::Step::gate;
  }
  if (!wl(w).gate.close(t)) return stop(t);
  c.step = Caller::Step::none;
  return go_on(t);
}

bool IoKit::gate_open(Thread& t, int32_t w) {
  wl(w).gate.open(t);
  d_->exit_kernel(t);
  return go_on(t);
}

}  // namespace sim::iokit_model
