// A simulated CPU: what runs there, its quantum, pending AST, and its pending CPU event.
#pragma once

#include <bit>
#include <cstdint>
#include <deque>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/model/thread.hpp"

namespace sim::model {

using core::SimTime;

// A primary interrupt waiting for (or in) its handler on a CPU.
struct PendingInterrupt {
  int32_t source = -1;
  SimTime arrived;
  core::Duration handler;
  // A handler with a program (run, lock and unlock of spin locks) instead of one duration;
  // owned by the caller, stable for the run. nullptr: `handler` is the whole handler.
  const std::vector<Op>* program = nullptr;
};

// A set of CPUs as a bitmask (any number of CPUs): the dispatcher keeps the CPUs that may be
// handed a thread in one (Processor::free), so that a wakeup finds an idle CPU without
// visiting every CPU (issue 13).
class CpuSet {
 public:
  void resize(int cpus) { words_.assign(static_cast<size_t>((cpus + 63) / 64), 0); }
  void assign(int cpu, bool in) {
    uint64_t& w = words_[static_cast<size_t>(cpu) >> 6];
    const uint64_t bit = uint64_t{1} << (cpu & 63);
    w = in ? (w | bit) : (w & ~bit);
  }
  bool contains(int cpu) const { return (words_[static_cast<size_t>(cpu) >> 6] >> (cpu & 63)) & 1; }
  // The lowest member other than `exclude` (-1: exclude none); -1 when there is none.
  int first_except(int exclude) const {
    for (size_t k = 0; k < words_.size(); ++k) {
      uint64_t w = words_[k];
      if (exclude >= 0 && static_cast<size_t>(exclude) >> 6 == k) w &= ~(uint64_t{1} << (exclude & 63));
      if (w != 0) return static_cast<int>(k * 64) + std::countr_zero(w);
    }
    return -1;
  }

 private:
  std::vector<uint64_t> words_;
};

struct Processor {
  int index = 0;
  Thread* active = nullptr;    // running thread, nullptr = idle thread
  Thread* handed = nullptr;    // thread handed to this idle CPU, not yet switched to
  // The thread the policy's preemption tests compare against: the one running or handed here,
  // or the one whose preemption check claimed this CPU in this instant; nullptr while the CPU is
  // idle or about to choose.
  // The dispatcher writes it (Dispatcher::set_current) with the CPU's entry in its array of
  // current priorities (PolicyContext::current_pri).
  const Thread* current = nullptr;

  // Quantum (xnu processor->quantum_end, timeslice).
  SimTime quantum_end = SimTime::never();
  int timeslice = 0;

  // Execution of the active thread resumes at `progress_from` (after a switch cost).
  SimTime progress_from;

  // Pending AST: look again at what should run here.
  bool ast_pending = false;
  int32_t claimed_by = -1;       // thread whose preemption check sent the pending AST
  core::SwitchReason ast_reason = core::SwitchReason::preempt;
  bool deferred_traced = false;  // a preempt_deferred event was emitted for this thread
  bool advance = false;          // the active thread must interpret its next ops
  bool yield_pending = false;    // the active thread asked to yield
  int32_t handoff_to = -1;       // ... directly to this thread (thread_switch hand-off)

  // Primary interrupt context: handlers run one at a time, above every thread.
  bool in_interrupt = false;
  std::deque<PendingInterrupt> interrupts;  // front = the one in its handler
  SimTime interrupt_began;
  core::Duration saved_cost;     // switch cost still owed when the interrupt came
  size_t handler_pc = 0;         // next op of the running handler's program
  uint32_t handler_spin = 0;     // bumps when a handler spin ends (its LockTimeOut is stale)
  // Interrupts disabled by the thread running here (IOSimpleLockLockDisableInterrupt): arrivals
  // wait in `interrupts` until they are enabled again.
  int interrupts_disabled = 0;

  uint32_t generation = 0;       // bumps cancel the pending CPU event

  bool idle() const { return active == nullptr && handed == nullptr; }
  bool first_timeslice() const { return timeslice > 0; }
  // Idle (or its thread has just stopped running) and not handed a thread yet: thread_setrun
  // may hand it a thread directly. `exclude` is the CPU that is choosing right now.
  bool can_take(int exclude) const { return index != exclude && free(); }
  // can_take() without the exclusion: what the dispatcher's CpuSet of free CPUs holds.
  bool free() const { return handed == nullptr && (active == nullptr || active->state != ThreadState::running); }
};

}  // namespace sim::model
