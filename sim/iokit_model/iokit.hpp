// The IOKit layer: interrupt sources, IOWorkLoop (gate + work thread + event sources),
// IOInterruptEventSource / IOFilterInterruptEventSource, IOTimerEventSource over thread_call,
// IOCommandGate (runAction, commandSleep, commandWakeup), driver stacks with I/O requests, and
// IOService::terminate (xnu-facts.md 8, 9, 10; see docs/iokit.md).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/dispatcher/dispatcher.hpp"
#include "sim/iokit_model/config.hpp"
#include "sim/iokit_model/gate.hpp"
#include "sim/iokit_model/thread_call.hpp"

namespace sim::iokit_model {

using core::SimTime;
using model::Op;

class IoKit final : public dispatcher::OpHandler, public dispatcher::EventHandler, public dispatcher::InterruptClient {
 public:
  // Plans the layer: the event sources of each work loop (the scenario's, then the I/O command
  // queue if a device uses the loop, then one completion source per device owning the loop),
  // the device completion interrupts, and the internal threads.
  explicit IoKit(Config config);
  IoKit(const IoKit&) = delete;
  IoKit& operator=(const IoKit&) = delete;

  // The layer's kernel threads, to be appended to the scenario's, the first at index `first`:
  // "workloop:<id>" per work loop, then (with timers) "callout:<n>" and "callout:activator",
  // then (with terminate ops) "terminate". Their programs are owned here. Call once, before
  // the Dispatcher is built.
  std::vector<model::Thread> make_threads(int32_t first);

  // Registers the op, event and interrupt handlers and schedules the first interrupt arrivals.
  // Gates are traced as locks from `first_gate_lock` on, the work loops' workToDo events as
  // events from `first_event` on.
  void attach(dispatcher::Dispatcher& d, sync::SyncLayer& sync, int32_t first_gate_lock, int32_t first_event);
  // The model that times sized transfers on platform disks (sim/platform); needed only when a
  // program has an io with read/write.
  void set_hardware(dispatcher::HardwareModel* hw) { hardware_ = hw; }

  // --- names by trace index ------------------------------------------------------------------
  std::vector<std::string> interrupt_names() const;  // the scenario's, then "<device>.irq"
  std::vector<std::string> workloop_names() const;
  std::vector<std::string> timer_names() const;
  std::vector<std::string> device_names() const;
  std::vector<std::string> event_names() const;  // "<workloop>.workToDo", one per work loop

  // --- layout, for metrics and tests --------------------------------------------------------
  size_t workloop_count() const { return workloops_.size(); }
  // Source ids of a work loop, in checkForWork order ("io" = the I/O command queue).
  std::vector<std::string> source_names(int32_t wl) const;
  std::vector<std::vector<std::string>> all_source_names() const;  // by work loop
  // Whether source `s` of work loop `wl` is fed by interrupts (not the I/O command queue).
  bool is_interrupt_source(int32_t wl, int32_t s) const;
  int32_t gate_lock(int32_t wl) const { return workloops_[static_cast<size_t>(wl)].gate.lock_index(); }
  int32_t work_event(int32_t wl) const { return first_event_ + wl; }
  int32_t workloop_thread(int32_t wl) const { return workloops_[static_cast<size_t>(wl)].thread; }
  const Gate& gate(int32_t wl) const { return workloops_[static_cast<size_t>(wl)].gate; }
  // Interrupts accepted by source `s` of work loop `wl` and not yet handed to its action.
  uint64_t undelivered(int32_t wl, int32_t s) const {
    const EventSource& src = workloops_[static_cast<size_t>(wl)].sources[static_cast<size_t>(s)];
    return src.producer - src.consumer;
  }
  // Requests issued and not yet completed.
  size_t outstanding_requests() const { return requests_.size(); }
  // The effective work loop of a device (its own, else its provider's, recursively).
  int32_t device_workloop(int32_t dev) const { return devices_[static_cast<size_t>(dev)].workloop; }
  const ThreadCallQueue& thread_calls() const { return calls_; }

  // --- OpHandler, EventHandler, InterruptClient ----------------------------------------------
  bool execute(Thread& t, const Op& op) override;
  void on_event(const core::Event& e) override;
  void handler_started(int32_t source, int cpu, Duration latency) override;
  void handler_done(int32_t source, int cpu) override;

 private:
  // --- objects ---------------------------------------------------------------------------
  struct EventSource {
    enum class Kind : uint8_t { interrupt, filter_interrupt, command_queue, completion };
    std::string id;
    Kind kind = Kind::interrupt;
    DurationSpec action;
    DurationSpec filter;       // filter_interrupt: the filter routine, in primary context
    double accept = 1.0;
    core::Rng rng;             // the filter's decisions
    core::Rng durations;       // random action and filter times (drawn only when random)
    uint64_t producer = 0;     // producerCount: interrupts accepted in primary context
    uint64_t consumer = 0;     // consumerCount: interrupts handed to the action
    SimTime oldest;            // arrival of the oldest interrupt produced and not yet consumed
    int32_t device = -1;       // completion: the device whose hardware completes requests
    int32_t wakeup = -1;       // the action ends with commandWakeup(wakeup, all)
  };
  struct WorkLoop {
    std::string id;
    int priority = 81;
    int32_t thread = -1;
    Gate gate{-1, -1};
    std::vector<EventSource> sources;
    int32_t command_source = -1;  // the I/O command queue, -1 when no device uses this loop
    std::deque<int64_t> commands;  // queued request ids (completed ones are skipped)
    bool work_to_do = false;      // workToDo
    int32_t wake_after = -1;      // event the running action wakes when its computation ends
    bool sleeping = false;        // its thread waits on &workToDo
    // The work thread's place in IOWorkLoop::threadMain.
    enum class Step : uint8_t { close, pass };
    Step step = Step::close;
    size_t cursor = 0;            // next source of this pass
    bool more = false;            // a source reported more work in this pass
    int64_t servicing = -1;       // request whose service the thread is computing
  };
  struct Interrupt {
    InterruptConfig config;
    core::Rng rng;                // arrival jitter / interarrival draws
    int64_t next = 0;             // periodic: k of the next arrival; at: index of the next time
    core::Rng durations;          // a random handler time (drawn only when random)
  };
  struct Timer {
    TimerConfig config;
    uint32_t generation = 0;      // calloutGeneration (792)
    SimTime abstime;              // the armed time, zero after cancelTimeout
    int32_t armed_by = -1;        // thread of the last setTimeout, -1 after cancelTimeout
    core::Rng durations;          // a random action time (drawn only when random)
  };
  struct Device {
    DeviceConfig config;
    int32_t workloop = -1;        // effective
    int32_t owner = -1;           // device on the path whose work loop and interrupt serve it
    core::Rng durations;          // a random service time (drawn only when random)
    std::vector<int32_t> clients;
    int32_t irq = -1;             // owner: its completion interrupt
    int32_t completion_source = -1;
    std::deque<int64_t> hardware_done;  // owner: requests the hardware finished, FIFO
    bool inactive = false;        // terminate phase 1 done
  };
  struct Request {
    int32_t device = -1;
    int32_t thread = -1;
    Duration service;             // the driver's CPU time for it (io `for`, drawn at issue)
    Duration hardware;            // the services along the provider chain, drawn at issue
    bool direct = false;          // the client programs the hardware itself (IoPath::direct)
    bool asleep = false;          // direct: its client sleeps in commandSleep
    int64_t bytes = 0;            // a sized transfer on the device's platform disk (io read/write):
    bool write = false;           // the hardware time is the HardwareModel's, not `hardware`
    int32_t to = -1;              // send: the peer host the NIC sends `bytes` to
  };
  // What a thread calling into IOKit is in the middle of.
  struct Caller {
    // io_*: an `io` on the direct path: waiting for the gate, computing the service in it,
    // in commandSleep until the completion, re-taking the gate after it.
    enum class Step : uint8_t { none, gate, sleeping, reacquire, io, io_gate, io_service, io_sleep, io_reacquire };
    Step step = Step::none;
    int32_t chain = -1;  // work loop whose gate a run_action keeps through the ops after it
    int saved_depth = 0; // commandSleep
    int64_t request = -1; // io on the direct path: its request id
  };
  // A callout thread's place in IOTimerEventSource::timeout.
  struct Callout {
    enum class Step : uint8_t { none, gate, release };
    Step step = Step::none;
    ThreadCallQueue::Invocation call;
    bool blocked = false;
  };
  struct Termination {
    std::vector<int32_t> victims;  // breadth first from the terminated device
    int phase = 2;
    size_t i = 0;
    int32_t holding = -1;          // work loop whose gate the terminate thread holds
  };
  enum EventTag : int64_t { kArrival = 0, kCallDeadline = 1, kHardwareDone = 2, kPacketSent = 3 };

  // --- helpers ---------------------------------------------------------------------------
  // One value of `d`: a fixed duration without touching `rng` (so a scenario without random
  // forms draws nothing new), else one draw, with the same mappings as the dispatcher's `run`.
  static Duration draw_duration(const DurationSpec& d, core::Rng& rng);
  Thread& th(int32_t i) { return d_->thread(i); }
  SimTime now() const { return d_->now(); }
  WorkLoop& wl(int32_t i) { return workloops_[static_cast<size_t>(i)]; }
  Caller& caller(const Thread& t) { return callers_[static_cast<size_t>(t.index)]; }
  // False when an AST is pending on t's CPU: the interpreter stops so that thread_select decides.
  bool go_on(const Thread& t) const;
  // An internal thread stops here and runs this op again when it continues.
  bool stop(Thread& t);
  void emit(core::TraceKind k, const Thread* t, int cpu, int32_t other, int64_t a, int64_t b, int64_t c = 0);

  // --- interrupts (iokit.cpp) --------------------------------------------------------------
  void schedule_arrival(int32_t irq);
  void on_arrival(int32_t irq);
  void packet_sent(int32_t irq);
  // models IOWorkLoop::signalWorkAvailable: from primary interrupt context (`from` null) or
  // from a thread.
  void signal_work_available(int32_t w, int32_t source, const Thread* from, int cpu);

  // --- work loops (work_loop.cpp) ----------------------------------------------------------
  bool workloop_thread(Thread& t, int32_t w);
  // One source's checkForWork; true when the work thread now computes its action.
  bool check_for_work(Thread& t, int32_t w, size_t s);
  void finish_service(int32_t w);
  // A request's hardware starts now: its fixed services, or its transfer on the platform disk.
  void start_hardware(int64_t id, const Request& r);
  Request make_request(const Op& op, const Thread& t, Duration service, bool direct);

  // --- command gates (command_gate.cpp) ----------------------------------------------------
  bool run_action(Thread& t, const Op& op);
  bool action_done(Thread& t, int32_t w);
  bool command_sleep(Thread& t, const Op& op);
  bool command_wakeup(Thread& t, const Op& op);
  // commandWakeup(event, oneThread = !all) by `by` (a client, or a work thread's action).
  void wake_sleepers(const Thread& by, int32_t event, bool all);
  bool gate_close(Thread& t, int32_t w);
  bool gate_open(Thread& t, int32_t w);
  // The end of a gated op: keeps the gate if the next op (in the frame `below` the top one)
  // continues the action on the same work loop, else opens it and returns to the caller.
  bool end_gated(Thread& t, int32_t w, size_t below);
  bool continues_action(const Op& op, int32_t w) const;

  // --- timers and thread_call (timer_event_source.cpp) ------------------------------------
  bool timer_arm(Thread& t, const Op& op);
  bool timer_cancel(Thread& t, const Op& op);
  bool callout_thread(Thread& t);
  bool activator_thread(Thread& t);

  // --- driver stacks (driver_stack.cpp) ----------------------------------------------------
  bool io(Thread& t, const Op& op);
  bool io_direct(Thread& t, const Op& op);
  // A request's hardware time: one draw of each `service` along the device's provider chain.
  Duration draw_hardware(int32_t dev);
  // Primary interrupt context of `owner`'s completion interrupt: the direct-path requests the
  // hardware finished complete here; true when some did and nothing is left for the work loop.
  bool complete_direct_in_primary(int32_t owner, int cpu);
  bool terminate(Thread& t, const Op& op);
  bool terminate_thread(Thread& t);
  void hardware_done(int32_t owner, int64_t request);
  void complete_hardware_done(int32_t owner);
  // `cpu` defaults to by's CPU; a completion from primary interrupt context has no `by`.
  void complete(int64_t request, int64_t status, const Thread* by, int cpu = -1);

  Config config_;
  dispatcher::Dispatcher* d_ = nullptr;
  dispatcher::HardwareModel* hardware_ = nullptr;
  model::Release release_ = model::Release::xnu517;
  uint16_t kinds_[4] = {0, 0, 0, 0};
  int32_t first_event_ = 0;

  std::vector<Interrupt> interrupts_;
  std::vector<SimTime> cpu_arrival_;  // per CPU: arrival of the interrupt whose handler runs there
  std::vector<WorkLoop> workloops_;
  std::vector<Timer> timers_;
  std::vector<Device> devices_;
  std::map<int64_t, Request> requests_;  // outstanding, by id (ordered: deterministic scans)
  int64_t next_request_ = 0;
  std::vector<Caller> callers_;
  std::map<int32_t, std::deque<int32_t>> sleepers_;  // commandSleep waiters by event, FIFO

  ThreadCallQueue calls_;
  std::vector<int32_t> callout_threads_;
  std::vector<Callout> callouts_;
  int32_t activator_ = -1;

  int32_t terminate_thread_ = -1;
  bool terminate_sleeping_ = false;
  std::deque<Termination> terminations_;

  // Programs of the internal threads and the run_action epilogues (stable addresses).
  std::deque<std::vector<Op>> programs_;
  std::vector<std::vector<Op>> action_done_;
};

}  // namespace sim::iokit_model
