// The Policy interface: a policy owns order (its run queues, the choice of the next thread,
// timeshare priority, quantum length); the dispatcher owns mechanism and calls these hooks.
#pragma once

#include <string_view>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/machine.hpp"
#include "sim/model/thread.hpp"

namespace sim::policies {

using core::Duration;
using core::SimTime;
using model::Thread;

// What a policy may ask of the dispatcher. Implemented by dispatcher::Dispatcher.
class PolicyHost {
 public:
  virtual ~PolicyHost() = default;
  virtual SimTime now() const = 0;
  // Sets a thread's sched_pri, re-queueing it at the tail if queued and posting an AST if that
  // changes what should run; emits priority_changed. Safe to call for any thread state.
  virtual void set_sched_pri(Thread& t, int pri, core::PriorityReason why) = 0;
  virtual void emit(const core::TraceEvent& e) = 0;
};

struct PolicyContext {
  model::MachineConfig machine;
  std::vector<Thread>* threads = nullptr;  // stable for the whole run
  PolicyHost* host = nullptr;
};

// The heads of the queues a CPU may take threads from, for csw_check and thread_select.
struct QueueView {
  int shared_highq = -1;
  int shared_urgency = 0;
  int bound_highq = -1;
  int bound_urgency = 0;
  SimTime rt_head_deadline = SimTime::never();  // earliest deadline among queued RT threads
  int highq() const { return shared_highq > bound_highq ? shared_highq : bound_highq; }
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;

  // --- run queues -------------------------------------------------------------------------
  // Called by thread_setrun and thread_select with `t` runnable and not queued; `head` for a
  // preempted thread that keeps its remainder. Bound threads go to their CPU's queue.
  virtual void enqueue(Thread& t, bool head) = 0;
  // Called with `t` queued (priority change, hand-off to an idle CPU).
  virtual void remove(Thread& t) = 0;
  // Called by thread_select: removes and returns the next thread for `cpu`, nullptr = idle.
  virtual Thread* choose(int cpu) = 0;
  virtual QueueView view(int cpu) const = 0;
  // Runnable threads waiting in the shared queue (for timeshare_quanta).
  virtual int shared_count() const = 0;

  // --- priorities and quanta --------------------------------------------------------------
  // The sched_pri a thread should have now from its base, mode and usage (no side effects).
  virtual int compute_sched_pri(const Thread& t) const = 0;
  // Length of a fresh quantum for `t`.
  virtual Duration quantum_for(const Thread& t) const = 0;
  // xnu update_priority: called by thread_setrun (wake, `why` = wake) and thread_select (the
  // running thread, `why` = decay) so that a thread whose stamp is stale catches up; may call
  // host->set_sched_pri with `why`.
  virtual void update_priority(Thread& /*t*/, core::PriorityReason /*why*/) {}
  // Called by the dispatcher whenever `t` has run on a CPU over [from, to) (switch-out,
  // quantum expiry, run completion); the policy accumulates that time itself if it needs it.
  virtual void charge(Thread& /*t*/, SimTime /*from*/, SimTime /*to*/) {}
  // thread_quantum_expire: called at a quantum expiry of the running thread, after charge().
  virtual void quantum_expire(Thread& /*t*/) {}
  // Scheduler tick: period (zero = none) and the work done at each one.
  virtual Duration tick_period() const { return Duration{}; }
  virtual void tick() {}
};

}  // namespace sim::policies
