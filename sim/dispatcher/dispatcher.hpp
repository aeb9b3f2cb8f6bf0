// The dispatcher: the mechanism half of the Mach scheduler. It owns the event loop, the CPUs,
// thread state changes (thread_setrun, thread_select, block and wake), quanta and ASTs, and the
// program interpreter; the Policy it is given owns run-queue order and timeshare priority.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/event_queue.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/machine.hpp"
#include "sim/model/processor.hpp"
#include "sim/model/thread.hpp"
#include "sim/policies/policy.hpp"

namespace sim::dispatcher {

using core::Duration;
using core::SimTime;
using model::Processor;
using model::Thread;

// Event kinds handled by the dispatcher; other layers use kinds from kFirstExtensionKind on.
enum EventKind : uint16_t {
  kEvStart = 1,    // a thread's start time
  kEvRelease,      // a periodic job release
  kEvTimer,        // a sleeping thread's timer
  kEvCpu,          // run-op completion or quantum end on a CPU
  kEvTick,         // the policy's scheduler tick
  kEvDepressEnd,   // end of a swtch_pri depression
  kFirstExtensionKind = 100,
};

// Class ranks: within one instant, CPU progress is applied before the tick, the tick before
// timers, timers before job releases.
enum EventRank : uint32_t { kRankCpu = 0, kRankTick = 1, kRankTimer = 2, kRankRelease = 3, kRankStart = 4 };

// thread_policy_set limits (xnu-facts.md 4.1).
inline constexpr Duration kMinRtQuantum = Duration::microseconds(50);
inline constexpr Duration kMaxRtQuantum = Duration::milliseconds(50);
inline constexpr int64_t kKernInvalidArgument = 4;
bool rt_params_admissible(const model::RealtimeParams& rt);

// Raised when the simulated world breaks one of our own invariants (exit code 3).
struct InternalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Result of csw_check: should the running thread give way, and must kernel code yield at once.
struct CswResult {
  bool preempt = false;
  bool urgent = false;
};

class Dispatcher final : public policies::PolicyHost {
 public:
  using PolicyFactory = std::unique_ptr<policies::Policy> (*)(const policies::PolicyContext&);

  // Takes the threads (indices must equal positions) and builds the policy over them.
  Dispatcher(const model::MachineConfig& machine, std::vector<Thread> threads,
             PolicyFactory make_policy, core::TraceBus* bus);

  // Runs until simulated time `end` (events at `end` itself are not processed), then emits
  // the closing events (pending deadline misses) and calls finish on every sink.
  void run(SimTime end);

  // Called after every instant's dispatch pass (tests check invariants from it).
  void set_step_hook(std::function<void()> hook) { step_hook_ = std::move(hook); }

  // --- PolicyHost ---------------------------------------------------------------------------
  SimTime now() const override { return now_; }
  void set_sched_pri(Thread& t, int pri, core::PriorityReason why) override;
  void emit(const core::TraceEvent& e) override { bus_->emit(e); }

  // --- read access ----------------------------------------------------------------------------
  const std::vector<Thread>& threads() const { return threads_; }
  const std::vector<Processor>& processors() const { return cpus_; }
  const policies::Policy& policy() const { return *policy_; }
  const model::MachineConfig& machine() const { return machine_; }
  uint64_t events_handled() const { return events_handled_; }
  CswResult csw_check(const Processor& p, const Thread& cur) const;

 private:
  void handle(const core::Event& e);
  void on_start(Thread& t);
  void on_release(Thread& t);
  void on_cpu_event(Processor& p);
  void dispatch_pass();

  // models xnu-792 osfmk/kern/sched_prim.c thread_setrun (placement and preemption choice)
  void thread_setrun(Thread& t, bool head, bool preempt, int exclude);
  // models xnu-792 osfmk/kern/sched_prim.c thread_select + thread_invoke/thread_dispatch
  void thread_select(Processor& p);
  // models xnu-792 osfmk/kern/priority.c thread_quantum_expire (mechanism part)
  void thread_quantum_expire(Processor& p);
  void preempt_check(Thread& t);
  void hand_to(Processor& p, Thread& t);
  void requeue_preempted(Processor& p, Thread& t, core::SwitchReason why);
  void switch_to(Processor& p, Thread* prev, Thread* next, core::SwitchReason why);
  void resume_same(Processor& p, Thread& t);
  void account(Processor& p);
  void schedule_cpu_event(Processor& p);
  void post_ast(Processor& p) { p.ast_pending = true; }
  int timeshare_quanta() const;

  // Thread life cycle.
  void block(Thread& t, core::BlockReason why, int32_t object);
  void wake(Thread& t, core::WakeReason why);
  void exit_thread(Thread& t);
  void start_job(Thread& t);
  bool job_done(Thread& t);  // true when the next job starts at once
  void set_base_pri(Thread& t, int pri);
  void thread_policy_set(Thread& t, const model::Op& op);
  void depress(Thread& t, Duration how_long);
  void undepress(Thread& t);
  void refresh_urgency(Thread& t);

  // Program interpreter: runs zero-time ops until the thread computes, blocks or yields.
  void advance(Processor& p);
  Duration draw(Thread& t, const model::DurationSpec& d);

  model::MachineConfig machine_;
  std::vector<Thread> threads_;
  std::vector<Processor> cpus_;
  std::unique_ptr<policies::Policy> policy_;
  core::TraceBus* bus_;
  core::EventQueue queue_;
  SimTime now_;
  SimTime end_;
  uint64_t events_handled_ = 0;
  std::function<void()> step_hook_;
};

}  // namespace sim::dispatcher
