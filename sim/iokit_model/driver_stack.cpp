// Driver stacks: I/O requests queued on a device's work loop, serviced there with the gate held,
// completed through the hardware's interrupt, or (the direct path) programmed by the client
// itself in a runAction and completed from primary interrupt context; and IOService::terminate's three phases, which
// complete outstanding requests with kIOReturnOffline (xnu-facts.md 10, the talk's "synchronous
// device tear down").
#include "sim/iokit_model/iokit.hpp"

#include <fmt/format.h>

namespace sim::iokit_model {

using core::TraceKind;

// An I/O request from a client thread: it enters the kernel, queues the request on the device's
// work loop and sleeps (BlockReason::io) until the request completes, then returns to user mode.
// A device already terminating (phase 1 done) completes the request with kIOReturnOffline at once.
bool IoKit::io(Thread& t, const Op& op) {
  Caller& c = caller(t);
  if (devices_[static_cast<size_t>(op.ref)].config.path == IoPath::direct) return io_direct(t, op);
  if (c.step == Caller::Step::io) {  // completed and running again
    c.step = Caller::Step::none;
    d_->exit_kernel(t);
    return go_on(t);
  }
  Device& dev = devices_[static_cast<size_t>(op.ref)];
  d_->enter_kernel(t);
  int64_t id = next_request_++;
  emit(TraceKind::io_issued, &t, t.cpu, op.ref, id, 0);
  if (dev.inactive) {
    emit(TraceKind::io_completed, &t, t.cpu, op.ref, id, kIOReturnOffline);
    d_->exit_kernel(t);
    return go_on(t);
  }
  Duration service = draw_duration(op.duration, t.rng);
  requests_.emplace(id, make_request(op, t, service, false));
  WorkLoop& loop = wl(dev.workloop);
  loop.commands.push_back(id);
  signal_work_available(dev.workloop, loop.command_source, &t, t.cpu);
  c.step = Caller::Step::io;
  d_->block(t, core::BlockReason::io, op.ref);
  return stop(t);
}

// The work thread finished computing a request's service (gate held): the hardware takes over
// and interrupts when done.
void IoKit::finish_service(int32_t w) {
  WorkLoop& loop = wl(w);
  int64_t id = loop.servicing;
  loop.servicing = -1;
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  start_hardware(id, it->second);
}

// A sized io (read/write) on a device with a platform disk: the disk's transfer replaces the
// services along the chain (none is drawn); otherwise those services, drawn now.
IoKit::Request IoKit::make_request(const Op& op, const Thread& t, Duration service, bool direct) {
  Request r{op.ref, t.index, service, Duration{}, direct, false, op.bytes, op.write,
            op.kind == model::OpKind::send ? op.host : -1};
  if (op.bytes == 0) r.hardware = draw_hardware(op.ref);
  return r;
}

void IoKit::start_hardware(int64_t id, const Request& r) {
  const Device& dev = devices_[static_cast<size_t>(r.device)];
  if (r.bytes > 0 && r.to >= 0) {  // send: the NIC puts the message on its link to the peer
    if (!hardware_) throw d_->internal_error(fmt::format("I/O request {}: a send without a platform", id));
    hardware_->start_send(-1, r.to, r.bytes, kinds_[kHardwareDone], dev.owner, id);
    return;
  }
  if (r.bytes > 0) {
    if (!hardware_ || dev.config.disk < 0)
      throw d_->internal_error(fmt::format("I/O request {}: a transfer on a device without a platform disk", id));
    hardware_->start_disk(dev.config.disk, r.write, r.bytes, kinds_[kHardwareDone], dev.owner, id);
    return;
  }
  d_->schedule(now() + r.hardware, dispatcher::kRankTimer, kinds_[kHardwareDone], dev.owner, 0, id);
}

Duration IoKit::draw_hardware(int32_t dev) {
  Duration sum;
  for (int32_t cur = dev; cur >= 0; cur = devices_[static_cast<size_t>(cur)].config.provider) {
    Device& d = devices_[static_cast<size_t>(cur)];
    sum += draw_duration(d.config.service, d.durations);
  }
  return sum;
}

// The direct path, the talk's low-latency design ("Command gates allow you to run code
// synchronously w.r.t. the work loop without a thread switch. A client thread can schedule I/O
// requests directly to hardware"; "Call commandSleep to block"): on the client's thread,
//  1. enter the kernel and issue the request (offline at once if the device is terminating);
//  2. runAction: closeGate on the device's work loop (models xnu-792 IOCommandGate::runAction);
//  3. in the gate, compute the service `for` (the driver programming the transfer) and start
//     the hardware;
//  4. commandSleep: the gate is released fully and the client sleeps (models
//     IOCommandGate::commandSleep -> IORecursiveLockSleep);
//  5. the hardware's completion interrupt wakes it from primary context
//     (complete_direct_in_primary: commandWakeup -> IORecursiveLockWakeup is a plain
//     thread_wakeup_prim, which primary context may call);
//  6. commandSleep returns with the gate re-taken at its depth, runAction opens it, and the
//     client returns to user mode.
// No work-loop thread is on the path; the gate still serialises the client with every other
// user of the work loop.
bool IoKit::io_direct(Thread& t, const Op& op) {
  Caller& c = caller(t);
  Device& dev = devices_[static_cast<size_t>(op.ref)];
  Gate& gate = wl(dev.workloop).gate;
  switch (c.step) {
    case Caller::Step::none: {
      d_->enter_kernel(t);
      c.request = next_request_++;
      emit(TraceKind::io_issued, &t, t.cpu, op.ref, c.request, 0);
      if (dev.inactive) {
        emit(TraceKind::io_completed, &t, t.cpu, op.ref, c.request, kIOReturnOffline);
        d_->exit_kernel(t);
        return go_on(t);
      }
      Duration service = draw_duration(op.duration, t.rng);
      requests_.emplace(c.request, make_request(op, t, service, true));
      c.step = Caller::Step::io_gate;
      [[fallthrough]];
    }
    case Caller::Step::io_gate: {
      if (!gate.close(t)) return stop(t);
      // Terminated while the client waited for the gate: phase 2 completed it offline already.
      if (!requests_.contains(c.request)) break;
      c.step = Caller::Step::io_service;
      if (Duration service = requests_.at(c.request).service; service.ns > 0) {
        d_->compute(t, service);
        return stop(t);  // this op runs again when the computation ends
      }
      [[fallthrough]];
    }
    case Caller::Step::io_service: {
      // Still in the gate, so terminate (which needs it) cannot have completed the request.
      Request& r = requests_.at(c.request);
      start_hardware(c.request, r);
      r.asleep = true;
      c.saved_depth = gate.release_for_sleep(t);
      c.step = Caller::Step::io_sleep;
      d_->block(t, core::BlockReason::command, dev.workloop);
      return stop(t);
    }
    case Caller::Step::io_sleep:
      c.step = Caller::Step::io_reacquire;
      [[fallthrough]];
    case Caller::Step::io_reacquire:
      if (!gate.reacquire(t, c.saved_depth)) return stop(t);
      break;
    default:
      throw d_->internal_error(fmt::format("\"{}\": io in an unexpected state", t.name));
  }
  c.step = Caller::Step::none;
  c.request = -1;
  gate.open(t);
  d_->exit_kernel(t);
  return go_on(t);
}

bool IoKit::complete_direct_in_primary(int32_t owner, int cpu) {
  Device& dev = devices_[static_cast<size_t>(owner)];
  bool any = false;
  for (auto it = dev.hardware_done.begin(); it != dev.hardware_done.end();) {
    auto r = requests_.find(*it);
    if (r == requests_.end() || !r->second.direct) {
      ++it;
      continue;
    }
    int64_t id = *it;
    it = dev.hardware_done.erase(it);
    complete(id, kIOReturnSuccess, nullptr, cpu);
    any = true;
  }
  return any && dev.hardware_done.empty();
}

// The hardware finished a request: it raises its completion interrupt (a handler of no time of
// its own; the machine's interrupt costs apply). A request already completed offline (its
// device was terminated meanwhile) raises nothing: the hardware is gone.
void IoKit::hardware_done(int32_t owner, int64_t request) {
  if (!requests_.contains(request)) return;
  Device& dev = devices_[static_cast<size_t>(owner)];
  dev.hardware_done.push_back(request);
  d_->raise_interrupt(0, dev.irq, Duration{}, this);
}

// The completion source's action: every request the hardware reports done completes.
void IoKit::complete_hardware_done(int32_t owner) {
  Device& dev = devices_[static_cast<size_t>(owner)];
  while (!dev.hardware_done.empty()) {
    int64_t id = dev.hardware_done.front();
    dev.hardware_done.pop_front();
    if (requests_.contains(id)) complete(id, kIOReturnSuccess, &th(wl(dev.workloop).thread));
  }
}

// Completes an outstanding request exactly once and wakes its caller (on the direct path, only
// once it sleeps in commandSleep: before that it waits for the gate and finds the request gone).
void IoKit::complete(int64_t request, int64_t status, const Thread* by, int cpu) {
  auto it = requests_.find(request);
  if (it == requests_.end())
    throw d_->internal_error(fmt::format("I/O request {} completed twice", request));
  Request r = it->second;
  requests_.erase(it);
  emit(TraceKind::io_completed, by, by ? by->cpu : cpu, r.device, request, status);
  if (!r.direct || r.asleep) d_->wake(th(r.thread), core::WakeReason::io);
}

// models xnu-792 iokit/Kernel/IOService.cpp terminate -> terminatePhase1 on the caller: the
// device and, breadth first, every client whose only provider is terminating become inactive
// (new requests to them now fail with kIOReturnOffline); then the terminate thread is woken for
// phases 2 and 3 (the asynchronous schedule).
bool IoKit::terminate(Thread& t, const Op& op) {
  Device& victim = devices_[static_cast<size_t>(op.ref)];
  if (victim.inactive) return go_on(t);  // already terminating: nothing new to schedule
  Termination term;
  term.victims.push_back(op.ref);
  victim.inactive = true;
  for (size_t i = 0; i < term.victims.size(); ++i) {
    int32_t v = term.victims[i];
    emit(TraceKind::terminated, &t, t.cpu, v, 1, 0);
    for (int32_t client : devices_[static_cast<size_t>(v)].clients) {
      Device& cd = devices_[static_cast<size_t>(client)];
      if (cd.inactive) continue;
      cd.inactive = true;  // requestTerminate: the victim is its only provider
      term.victims.push_back(client);
    }
  }
  terminations_.push_back(std::move(term));
  if (terminate_sleeping_) {
    terminate_sleeping_ = false;
    d_->wake(th(terminate_thread_), core::WakeReason::event);
  }
  return go_on(t);
}

// The terminate thread: models xnu-792 IOService::terminateWorker for each scheduled victim set.
//  phase 2, victims in order: under the victim's work-loop gate, willTerminate: every outstanding
//           request of the victim completes with kIOReturnOffline (the talk: intermediate drivers
//           complete all outstanding I/O with an error);
//           then leaves first, under the victim's gate, didTerminate: no more calls go to the
//           provider (traced: phase 2 done);
//  phase 3, leaves first, under the provider's gate: stop, close, detach: the object is gone.
// Taking each gate is what makes it safe: a request being serviced (gate held by the work
// thread) finishes before willTerminate, and no service starts after it.
bool IoKit::terminate_thread(Thread& t) {
  for (;;) {
    if (terminations_.empty()) {
      terminate_sleeping_ = true;
      d_->block(t, core::BlockReason::event, -1);
      return stop(t);
    }
    Termination& term = terminations_.front();
    size_t n = term.victims.size();
    if (term.i == n) {
      term.i = 0;
      if (++term.phase == 5) {
        terminations_.pop_front();
        continue;
      }
    }
    // phase 2: willTerminate (victims in order); 3: didTerminate and 4: stop (leaves first).
    int32_t v = term.phase == 2 ? term.victims[term.i] : term.victims[n - 1 - term.i];
    const Device& dev = devices_[static_cast<size_t>(v)];
    int32_t w = dev.workloop;
    if (term.phase == 4 && dev.config.provider >= 0)
      w = devices_[static_cast<size_t>(dev.config.provider)].workloop;
    if (term.holding < 0) {
      if (!wl(w).gate.close(t)) return stop(t);
      term.holding = w;
    }
    switch (term.phase) {
      case 2: {
        std::vector<int64_t> outstanding;
        for (const auto& [id, r] : requests_)
          if (r.device == v) outstanding.push_back(id);
        for (int64_t id : outstanding) complete(id, kIOReturnOffline, &t);
        break;
      }
      case 3: emit(TraceKind::terminated, &t, t.cpu, v, 2, 0); break;
      case 4: emit(TraceKind::terminated, &t, t.cpu, v, 3, 0); break;
    }
    term.holding = -1;
    ++term.i;
    wl(w).gate.open(t);
    if (!go_on(t)) return stop(t);
  }
}

}  // namespace sim::iokit_model
