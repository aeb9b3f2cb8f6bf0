// The IOWorkLoop work thread and its event sources' checkForWork (xnu-facts.md 9.1, 9.2).
#include "sim/iokit_model/iokit.hpp"

namespace sim::iokit_model {

using core::TraceKind;

// models xnu-792 iokit/Kernel/IOWorkLoop.cpp threadMain: close the gate; passes over the event
// chain until no source reports more work (workToDo cleared at the start of each); open the
// gate; if workToDo is still clear, wait on &workToDo (the continuation restarts at the top).
// The thread only runs checkForWork passes: runAction and command gates run on their callers.
bool IoKit::workloop_thread(Thread& t, int32_t w) {
  WorkLoop& loop = wl(w);
  for (;;) {
    switch (loop.step) {
      case WorkLoop::Step::close:
        if (!loop.gate.close(t)) return stop(t);  // retried when it runs again
        loop.step = WorkLoop::Step::pass;
        loop.cursor = 0;
        loop.more = false;
        loop.work_to_do = false;
        break;
      case WorkLoop::Step::pass: {
        if (loop.servicing >= 0) finish_service(w);  // the service computation just ended
        if (loop.wake_after >= 0) {
          // The action that just ended calls commandWakeup, still in the gate (the talk's
          // data-collection device: "use your interrupt's Action to wakeup your client").
          wake_sleepers(t, loop.wake_after, true);
          loop.wake_after = -1;
        }
        while (loop.cursor < loop.sources.size()) {
          size_t s = loop.cursor++;
          if (check_for_work(t, w, s)) return stop(t);  // it computes the action
        }
        if (loop.more) {
          loop.cursor = 0;
          loop.more = false;
          loop.work_to_do = false;
          break;
        }
        loop.step = WorkLoop::Step::close;
        loop.gate.open(t);
        if (!loop.work_to_do) {
          loop.sleeping = true;
          d_->block(t, core::BlockReason::event, work_event(w));
          return stop(t);
        }
        if (!go_on(t)) return stop(t);  // the gate went to a thread that preempts this one
        break;
      }
    }
  }
}

bool IoKit::check_for_work(Thread& t, int32_t w, size_t s) {
  WorkLoop& loop = wl(w);
  EventSource& src = loop.sources[s];
  if (src.kind == EventSource::Kind::command_queue) {
    // The I/O command queue: one request per call, reporting more while others wait.
    while (!loop.commands.empty() && !requests_.contains(loop.commands.front())) loop.commands.pop_front();
    if (loop.commands.empty()) return false;
    int64_t id = loop.commands.front();
    loop.commands.pop_front();
    loop.more = loop.more || !loop.commands.empty();
    loop.servicing = id;
    emit(TraceKind::workloop_action, &t, t.cpu, w, static_cast<int64_t>(s), 1, -1);
    Duration service = requests_.at(id).service;
    if (service.ns > 0) {
      d_->compute(t, service);
      return true;
    }
    finish_service(w);
    return false;
  }
  // models xnu-792 iokit/Kernel/IOInterruptEventSource.cpp checkForWork: the interrupts
  // produced since the last call are handed to ONE action call with their count (coalescing);
  // it never reports more work.
  uint64_t n = src.producer - src.consumer;
  if (n == 0) return false;
  src.consumer = src.producer;
  emit(TraceKind::workloop_action, &t, t.cpu, w, static_cast<int64_t>(s), static_cast<int64_t>(n),
       (now() - src.oldest).ns);
  if (src.kind == EventSource::Kind::completion) complete_hardware_done(src.device);
  Duration action = draw_duration(src.action, src.durations);
  if (action.ns > 0) {
    loop.wake_after = src.wakeup;
    d_->compute(t, action);
    return true;
  }
  if (src.wakeup >= 0) wake_sleepers(t, src.wakeup, true);
  return false;
}

}  // namespace sim::iokit_model
