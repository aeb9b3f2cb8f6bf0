// IOTimerEventSource over thread_call (xnu-facts.md 8, 9.3): arming and cancelling on the
// driver's thread, the action on a callout thread at 94 with the work loop's gate held, and the
// difference between 517 (a dequeued callout fires after cancel) and 792 (calloutGeneration).
#include "sim/iokit_model/iokit.hpp"

#include <fmt/format.h>

namespace sim::iokit_model {

using core::TraceKind;

// models xnu-792 iokit/Kernel/IOTimerEventSource.cpp setTimeout -> wakeAtTime: the call is
// (re)entered for now + after; 792 bumps calloutGeneration and passes it to the call.
bool IoKit::timer_arm(Thread& t, const Op& op) {
  Timer& tm = timers_[static_cast<size_t>(op.ref)];
  if (release_ == model::Release::xnu792) ++tm.generation;
  tm.abstime = now() + draw_duration(op.duration, t.rng);
  tm.armed_by = t.index;
  calls_.enter_delayed(op.ref, tm.generation, tm.abstime);
  if (caller(t).chain == tm.config.workloop) return end_gated(t, tm.config.workloop, 0);
  return go_on(t);
}

// models xnu-792 iokit/Kernel/IOTimerEventSource.cpp cancelTimeout: (792: bump the generation,)
// thread_call_cancel, which removes only a queued call and never waits for a running one, and
// clear abstime.
bool IoKit::timer_cancel(Thread& t, const Op& op) {
  Timer& tm = timers_[static_cast<size_t>(op.ref)];
  if (release_ == model::Release::xnu792) ++tm.generation;
  calls_.cancel(op.ref);
  tm.abstime = SimTime{};
  tm.armed_by = -1;
  if (caller(t).chain == tm.config.workloop) return end_gated(t, tm.config.workloop, 0);
  return go_on(t);
}

// A callout thread: models xnu-792 osfmk/kern/thread_call.c _call_thread_continue running
// IOTimerEventSource::timeout for each pending call, FIFO.
//  517 timeout: `enabled` is tested before the gate (always true here), then closeGate and the
//      action runs unconditionally: a callout already dequeued when the driver cancelled fires
//      once the driver opens the gate (the race, xnu-facts.md check 12).
//  792 timeout: closeGate, then the action runs only if the call's generation is still the
//      timer's; a cancel made with the gate held thus guarantees no later action.
bool IoKit::callout_thread(Thread& t) {
  int slot = calls_.slot_of(t.index);
  Callout& co = callouts_[static_cast<size_t>(slot)];
  for (;;) {
    switch (co.step) {
      case Callout::Step::none: {
        std::optional<ThreadCallQueue::Invocation> inv = calls_.next(slot, t);
        if (!inv) return stop(t);  // idle: blocked until a call is pending
        co.call = *inv;
        co.step = Callout::Step::gate;
        break;
      }
      case Callout::Step::gate: {
        Timer& tm = timers_[static_cast<size_t>(co.call.call)];
        WorkLoop& loop = wl(tm.config.workloop);
        if (co.blocked) {
          co.blocked = false;
          calls_.resumed_in_call(slot);
        }
        if (!loop.gate.close(t)) {
          co.blocked = true;
          calls_.blocked_in_call(slot);
          return stop(t);
        }
        bool run = release_ == model::Release::xnu517 || co.call.param == static_cast<int64_t>(tm.generation);
        emit(TraceKind::timer_fired, &t, t.cpu, co.call.call, run ? 1 : 0, co.call.param);
        if (run && tm.armed_by >= 0) {
          // The chapter (Kernel Thread APIs): "If you fail to deactivate a timer, a kernel panic
          // will occur when the timer expires" after thread_terminate of the thread it was
          // against: here, the thread that armed it, ended by terminate_thread (docs/threads.md).
          const Thread& armer = d_->thread(tm.armed_by);
          if (armer.state == model::ThreadState::done && armer.terminator >= 0)
            d_->panic(&t, fmt::format("timer \"{}\" expired after thread \"{}\", which armed it, was terminated "
                                      "by \"{}\" without cancelling it",
                                      tm.config.id, armer.name, d_->thread(armer.terminator).name));
        }
        co.step = Callout::Step::release;
        if (run) {
          Duration action = draw_duration(tm.config.action, tm.durations);
          if (action.ns > 0) {
            d_->compute(t, action);
            return stop(t);
          }
        }
        break;
      }
      case Callout::Step::release: {
        Timer& tm = timers_[static_cast<size_t>(co.call.call)];
        co.step = Callout::Step::none;
        wl(tm.config.workloop).gate.open(t);
        if (!go_on(t)) return stop(t);
        break;
      }
    }
  }
}

bool IoKit::activator_thread(Thread& t) {
  calls_.activator_run(t);  // always ends blocked
  return stop(t);
}

}  // namespace sim::iokit_model
