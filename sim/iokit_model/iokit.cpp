// The IOKit layer's wiring: planning objects and internal threads, names, the op/event
// dispatch, and primary interrupts (arrivals, filters, producer counts, signalWorkAvailable).
#include "sim/iokit_model/iokit.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/model/op_table.hpp"
#include "sim/model/priorities.hpp"

namespace sim::iokit_model {

using core::TraceEvent;
using core::TraceKind;
using model::OpKind;

namespace {

// Callout threads kept at most (xnu keeps up to 4 idle ones, xnu-facts.md 8).
constexpr size_t kMaxCalloutThreads = 4;

Op internal_op(OpKind k, int32_t ref) {
  Op op;
  op.kind = k;
  op.ref = ref;
  op.pointer = "(internal)";
  return op;
}

// A program that runs one internal op forever (the op repeats itself; the loop is a guard).
std::vector<Op> forever(OpKind k, int32_t ref) {
  Op loop;
  loop.kind = OpKind::loop;
  loop.forever = true;
  loop.body = {internal_op(k, ref)};
  loop.pointer = "(internal)";
  return {loop};
}

}  // namespace

IoKit::IoKit(Config config) : config_(std::move(config)) {
  for (const WorkloopConfig& wc : config_.workloops) {
    WorkLoop w;
    w.id = wc.id;
    w.priority = wc.priority;
    for (const SourceConfig& sc : wc.sources) {
      EventSource s;
      s.id = sc.id;
      s.kind = sc.kind == SourceKind::filter_interrupt ? EventSource::Kind::filter_interrupt
                                                       : EventSource::Kind::interrupt;
      s.action = sc.action;
      s.filter = sc.filter;
      s.accept = sc.accept;
      s.wakeup = sc.wakeup;
      s.rng = core::Rng(config_.seed, core::stream_id("filter:" + wc.id + "." + sc.id));
      s.durations = core::Rng(config_.seed, core::stream_id("durations:source:" + wc.id + "." + sc.id));
      w.sources.push_back(std::move(s));
    }
    workloops_.push_back(std::move(w));
  }
  // Random durations draw from streams of their own, named after their object, so a scenario
  // that uses none draws exactly what it drew before they existed.
  for (const InterruptConfig& ic : config_.interrupts)
    interrupts_.push_back(Interrupt{ic, core::Rng(config_.seed, core::stream_id("interrupt:" + ic.id)), 0,
                                    core::Rng(config_.seed, core::stream_id("durations:interrupt:" + ic.id))});
  for (const TimerConfig& tc : config_.timers)
    timers_.push_back(Timer{tc, 0, SimTime{}, -1, core::Rng(config_.seed, core::stream_id("durations:timer:" + tc.id))});

  // Driver stacks: a device uses the work loop (and the hardware interrupt) of the first device
  // on its provider chain that has its own, itself included; its requests take the hardware
  // time of every device on the chain.
  for (const DeviceConfig& dc : config_.devices) {
    Device d;
    d.config = dc;
    d.durations = core::Rng(config_.seed, core::stream_id("durations:device:" + dc.id));
    devices_.push_back(std::move(d));
  }
  for (size_t i = 0; i < devices_.size(); ++i) {
    Device& d = devices_[i];
    for (int32_t cur = static_cast<int32_t>(i); cur >= 0; cur = devices_[static_cast<size_t>(cur)].config.provider) {
      const Device& c = devices_[static_cast<size_t>(cur)];
      if (d.owner < 0 && c.config.workloop >= 0) d.owner = cur;
    }
    if (d.owner < 0)  // the loader rejects such a stack
      throw core::InternalError(core::SimTime{}, 0, fmt::format("device \"{}\" reaches no work loop", d.config.id));
    d.workloop = devices_[static_cast<size_t>(d.owner)].config.workloop;
    if (d.config.provider >= 0) devices_[static_cast<size_t>(d.config.provider)].clients.push_back(static_cast<int32_t>(i));
  }
  for (const Device& d : devices_) {
    WorkLoop& w = wl(d.workloop);
    if (w.command_source >= 0) continue;
    EventSource s;
    s.id = "io";
    s.kind = EventSource::Kind::command_queue;
    w.command_source = static_cast<int32_t>(w.sources.size());
    w.sources.push_back(std::move(s));
  }
  for (size_t i = 0; i < devices_.size(); ++i) {
    Device& d = devices_[i];
    if (d.owner != static_cast<int32_t>(i)) continue;
    WorkLoop& w = wl(d.workloop);
    EventSource s;
    s.id = d.config.id + ".irq";
    s.kind = EventSource::Kind::completion;
    s.device = static_cast<int32_t>(i);
    d.completion_source = static_cast<int32_t>(w.sources.size());
    w.sources.push_back(std::move(s));
    InterruptConfig ic;
    ic.id = d.config.id + ".irq";
    ic.workloop = d.workloop;
    ic.source = d.completion_source;
    d.irq = static_cast<int32_t>(interrupts_.size());
    interrupts_.push_back(Interrupt{ic, core::Rng(), 0, core::Rng()});
  }
  for (size_t w = 0; w < workloops_.size(); ++w)
    action_done_.push_back({internal_op(OpKind::internal_action_done, static_cast<int32_t>(w))});
}

std::vector<model::Thread> IoKit::make_threads(int32_t first) {
  std::vector<model::Thread> out;
  auto add = [&](std::string name, int pri, std::vector<Op> program, bool boot) -> int32_t {
    programs_.push_back(std::move(program));
    model::Thread t;
    t.index = first + static_cast<int32_t>(out.size());
    t.name = std::move(name);
    t.task = "kernel_task";
    t.kernel = true;
    t.program = &programs_.back();
    t.mode = t.declared_mode = model::ThreadMode::fixed;
    t.base_pri = t.declared_base_pri = t.sched_pri = pri;
    t.start = boot ? SimTime{} : SimTime::never();
    t.rng = core::Rng(config_.seed, static_cast<uint64_t>(t.index));
    out.push_back(std::move(t));
    return out.back().index;
  };
  for (size_t w = 0; w < workloops_.size(); ++w)
    workloops_[w].thread = add("workloop:" + workloops_[w].id, workloops_[w].priority,
                               forever(OpKind::internal_workloop, static_cast<int32_t>(w)), true);
  if (!timers_.empty()) {
    // One callout thread is made at boot; the activator makes the others when needed.
    size_t n = std::min(kMaxCalloutThreads, timers_.size() + 1);
    for (size_t k = 0; k < n; ++k)
      callout_threads_.push_back(add(fmt::format("callout:{}", k), model::THREAD_CALL_PRI,
                                     forever(OpKind::internal_callout, static_cast<int32_t>(k)), k == 0));
    activator_ = add("callout:activator", model::THREAD_CALL_ACTIVATOR_PRI, forever(OpKind::internal_activator, 0), true);
  }
  if (config_.terminate_thread)
    terminate_thread_ = add("terminate", model::BASEPRI_KERNEL, forever(OpKind::internal_terminate, 0), true);
  return out;
}

void IoKit::attach(dispatcher::Dispatcher& d, sync::SyncLayer& sync, int32_t first_gate_lock, int32_t first_event) {
  d_ = &d;
  release_ = d.machine().release;
  first_event_ = first_event;
  for (size_t w = 0; w < workloops_.size(); ++w) {
    workloops_[w].gate = Gate(static_cast<int32_t>(w), first_gate_lock + static_cast<int32_t>(w));
    workloops_[w].gate.attach(d_, &sync);
  }
  for (uint16_t& k : kinds_) k = d.register_event_handler(this);
  for (const model::OpInfo& op : model::kOpTable)  // the ops this layer executes (op_table.hpp)
    if (op.layer == model::OpLayer::iokit) d.register_op_handler(op.kind, this);
  callers_.assign(d.threads().size(), Caller{});
  calls_.init(d_, kinds_[kCallDeadline], kCallDeadline, timers_.size(), callout_threads_, activator_);
  callouts_.assign(callout_threads_.size(), Callout{});
  for (size_t i = 0; i < config_.interrupts.size(); ++i) schedule_arrival(static_cast<int32_t>(i));
}

// --- names ----------------------------------------------------------------------------------

std::vector<std::string> IoKit::interrupt_names() const {
  std::vector<std::string> out;
  for (const Interrupt& i : interrupts_) out.push_back(i.config.id);
  return out;
}

std::vector<std::string> IoKit::workloop_names() const {
  std::vector<std::string> out;
  for (const WorkLoop& w : workloops_) out.push_back(w.id);
  return out;
}

std::vector<std::string> IoKit::timer_names() const {
  std::vector<std::string> out;
  for (const Timer& t : timers_) out.push_back(t.config.id);
  return out;
}

std::vector<std::string> IoKit::device_names() const {
  std::vector<std::string> out;
  for (const Device& d : devices_) out.push_back(d.config.id);
  return out;
}

std::vector<std::string> IoKit::event_names() const {
  std::vector<std::string> out;
  for (const WorkLoop& w : workloops_) out.push_back(w.id + ".workToDo");
  return out;
}

std::vector<std::string> IoKit::source_names(int32_t w) const {
  std::vector<std::string> out;
  for (const EventSource& s : workloops_[static_cast<size_t>(w)].sources) out.push_back(s.id);
  return out;
}

std::vector<std::vector<std::string>> IoKit::all_source_names() const {
  std::vector<std::vector<std::string>> out;
  for (size_t w = 0; w < workloops_.size(); ++w) out.push_back(source_names(static_cast<int32_t>(w)));
  return out;
}

bool IoKit::is_interrupt_source(int32_t w, int32_t s) const {
  return workloops_[static_cast<size_t>(w)].sources[static_cast<size_t>(s)].kind != EventSource::Kind::command_queue;
}

// --- dispatch -------------------------------------------------------------------------------

bool IoKit::execute(Thread& t, const Op& op) {
  switch (op.kind) {
    case OpKind::run_action: return run_action(t, op);
    case OpKind::command_sleep: return command_sleep(t, op);
    case OpKind::command_wakeup: return command_wakeup(t, op);
    case OpKind::io: return io(t, op);
    case OpKind::send: return io(t, op);  // the same driver path; the hardware is the NIC's link
    case OpKind::timer_arm: return timer_arm(t, op);
    case OpKind::timer_cancel: return timer_cancel(t, op);
    case OpKind::terminate: return terminate(t, op);
    case OpKind::internal_workloop: return workloop_thread(t, op.ref);
    case OpKind::internal_callout: return callout_thread(t);
    case OpKind::internal_activator: return activator_thread(t);
    case OpKind::internal_terminate: return terminate_thread(t);
    case OpKind::internal_action_done: return action_done(t, op.ref);
    case OpKind::internal_gate_close: return gate_close(t, op.ref);
    case OpKind::internal_gate_open: return gate_open(t, op.ref);
    default:
      throw d_->internal_error(fmt::format("IOKit asked to run op \"{}\"", model::to_string(op.kind)));
  }
}

void IoKit::on_event(const core::Event& e) {
  if (e.kind == kinds_[kArrival]) on_arrival(e.target);
  else if (e.kind == kinds_[kPacketSent]) packet_sent(e.target);
  else if (e.kind == kinds_[kCallDeadline]) calls_.on_deadline(e.target, e.generation);
  else hardware_done(e.target, e.arg);
}

Duration IoKit::draw_duration(const DurationSpec& d, core::Rng& rng) {
  switch (d.kind) {
    case DurationSpec::Kind::fixed: return d.a;
    case DurationSpec::Kind::uniform: return Duration{rng.uniform_int(d.a.ns, d.b.ns)};
    case DurationSpec::Kind::exponential: return rng.exponential(d.a);
    case DurationSpec::Kind::normal: return rng.normal(d.a, d.b);
  }
  return d.a;
}

bool IoKit::go_on(const Thread& t) const {
  if (t.cpu < 0) return false;
  return !d_->processors()[static_cast<size_t>(t.cpu)].ast_pending;
}

bool IoKit::stop(Thread& t) {
  d_->repeat_op(t);
  return false;
}

void IoKit::emit(TraceKind k, const Thread* t, int cpu, int32_t other, int64_t a, int64_t b, int64_t c) {
  d_->emit(TraceEvent{now(), k, 0, static_cast<int16_t>(cpu), t ? t->index : -1, other, a, b, c});
}

// --- primary interrupts ---------------------------------------------------------------------

void IoKit::schedule_arrival(int32_t i) {
  Interrupt& irq = interrupts_[static_cast<size_t>(i)];
  const ArrivalConfig& a = irq.config.arrival;
  SimTime at;
  switch (a.kind) {
    case ArrivalConfig::Kind::periodic:
      // Nominal times k * period from k = 1 (no drift), each delayed by its own jitter draw.
      ++irq.next;
      at = SimTime{(a.period * irq.next).ns};
      if (a.jitter.ns > 0) at += core::Duration{irq.rng.uniform_int(0, a.jitter.ns)};
      break;
    case ArrivalConfig::Kind::poisson:
      at = (irq.next++ == 0 ? SimTime{} : now()) + irq.rng.exponential(a.mean);
      break;
    case ArrivalConfig::Kind::at:
      if (static_cast<size_t>(irq.next) >= a.times.size()) return;
      at = SimTime{a.times[static_cast<size_t>(irq.next++)].ns};
      break;
    case ArrivalConfig::Kind::packets:
      // The peer sends at k * period (k >= 1); the interrupt comes when the packet has arrived.
      if (a.count >= 0 && irq.next >= a.count) return;
      ++irq.next;
      d_->schedule(SimTime{(a.period * irq.next).ns}, dispatcher::kRankTimer, kinds_[kPacketSent], i);
      return;
  }
  d_->schedule(at, dispatcher::kRankTimer, kinds_[kArrival], i);
}

// A packet of interrupt `i`'s traffic leaves its peer host now: SimGrid carries it over the
// platform's links to the machine, and its arrival is the interrupt (kArrival).
void IoKit::packet_sent(int32_t i) {
  const ArrivalConfig& a = interrupts_[static_cast<size_t>(i)].config.arrival;
  if (!hardware_) throw d_->internal_error("network traffic without a platform");
  hardware_->start_send(a.peer, -1, a.bytes, kinds_[kArrival], i, 0);
  schedule_arrival(i);
}

void IoKit::on_arrival(int32_t i) {
  Interrupt& irq = interrupts_[static_cast<size_t>(i)];
  const InterruptConfig& c = irq.config;
  Duration handler = draw_duration(c.handler, irq.durations);
  dispatcher::InterruptClient* client = nullptr;
  if (c.workloop >= 0) {
    client = this;
    // An IOFilterInterruptEventSource's filter runs in primary context, in the handler's time
    // (a handler program has it as its last op already; the loader keeps that filter fixed).
    EventSource& src = wl(c.workloop).sources[static_cast<size_t>(c.source)];
    if (c.handler_program.empty()) handler += draw_duration(src.filter, src.durations);
  }
  d_->raise_interrupt(c.cpu, i, handler, client, c.handler_program.empty() ? nullptr : &c.handler_program);
  if (c.arrival.kind != ArrivalConfig::Kind::packets) schedule_arrival(i);  // packets: at each send
}

// models xnu-792 iokit/Kernel/IOInterruptEventSource.cpp normalInterruptOccurred and
// IOFilterInterruptEventSource.cpp normalInterruptOccurred (primary context)
void IoKit::handler_started(int32_t /*source*/, int cpu, Duration latency) {
  if (cpu_arrival_.size() <= static_cast<size_t>(cpu)) cpu_arrival_.resize(static_cast<size_t>(cpu) + 1);
  cpu_arrival_[static_cast<size_t>(cpu)] = now() - latency;
}

void IoKit::handler_done(int32_t source, int cpu) {
  const InterruptConfig& c = interrupts_[static_cast<size_t>(source)].config;
  if (c.workloop < 0) return;
  EventSource& s = wl(c.workloop).sources[static_cast<size_t>(c.source)];
  if (s.kind == EventSource::Kind::completion && complete_direct_in_primary(s.device, cpu)) return;
  // The filter says whether the interrupt is this driver's (false: a shared line's spurious one).
  if (s.kind == EventSource::Kind::filter_interrupt && !s.rng.bernoulli(s.accept)) {
    emit(TraceKind::filter_refused, nullptr, cpu, source, c.workloop, c.source);
    return;
  }
  // sim: the arrival of the oldest interrupt not yet handed to the action, for its latency.
  if (s.producer == s.consumer && static_cast<size_t>(cpu) < cpu_arrival_.size())
    s.oldest = cpu_arrival_[static_cast<size_t>(cpu)];
  ++s.producer;
  signal_work_available(c.workloop, c.source, nullptr, cpu);
}

// models xnu-792 iokit/Kernel/IOWorkLoop.cpp signalWorkAvailable: set workToDo under the
// spin lock and wake the work thread if it waits on &workToDo. Traced as event_signaled on
// "<workloop>.workToDo" with b = the source that has work.
void IoKit::signal_work_available(int32_t w, int32_t source, const Thread* from, int cpu) {
  WorkLoop& loop = wl(w);
  loop.work_to_do = true;
  bool wake = loop.sleeping;
  emit(TraceKind::event_signaled, from, cpu, work_event(w), wake ? 1 : 0, source);
  if (!wake) return;
  loop.sleeping = false;
  d_->wake(th(loop.thread), from ? core::WakeReason::event : core::WakeReason::interrupt);
}

}  // namespace sim::iokit_model
