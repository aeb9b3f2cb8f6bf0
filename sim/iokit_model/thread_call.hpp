// thread_call (xnu-facts.md 8): delayed calls on a timer queue that move to a FIFO pending queue
// at their deadline, callout threads at 94 that run pending calls, and the activator at 93
// that creates another callout thread when none is active but calls are pending.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "sim/dispatcher/dispatcher.hpp"

namespace sim::iokit_model {

using dispatcher::Thread;

class ThreadCallQueue {
 public:
  // One call to run: the call and the parameter it was entered with (thread_call_enter1).
  struct Invocation {
    int32_t call = -1;
    int64_t param = 0;
  };

  // `calls` calls; the callout threads (the first is started at boot, the others dormant until
  // the activator creates them) and the activator. Deadline events are scheduled with
  // `event_kind` and `arg` = `event_tag` and come back through on_deadline.
  void init(dispatcher::Dispatcher* d, uint16_t event_kind, int64_t event_tag, size_t calls,
            std::vector<int32_t> callout_threads, int32_t activator);

  // models xnu-792 osfmk/kern/thread_call.c thread_call_enter1_delayed: (re)queues the call on
  // the delayed queue, leaving the pending queue if it was there.
  void enter_delayed(int32_t call, int64_t param, core::SimTime deadline);
  // models thread_call_cancel: removes a queued call (true); a running one is not waited for.
  bool cancel(int32_t call);
  // models _delayed_call_timer: the call's deadline came; it moves to the pending queue.
  void on_deadline(int32_t call, uint32_t generation);

  // models _call_thread_continue: callout thread `slot` takes the head of the pending queue,
  // or, with none, goes idle (it is blocked and nullopt returned).
  std::optional<Invocation> next(int slot, Thread& t);
  // models call_thread_block / call_thread_unblock: the callout's call blocked (another
  // thread is woken or created if calls are pending), or runs again.
  void blocked_in_call(int slot);
  void resumed_in_call(int slot);
  // models _activate_thread_continue: create callout threads while none is active and calls
  // are pending, then wait.
  void activator_run(Thread& t);

  int slot_of(int32_t thread) const;
  bool queued(int32_t call) const { return calls_[static_cast<size_t>(call)].state != CallState::idle; }
  int active() const { return active_num_; }

 private:
  enum class CallState : uint8_t { idle, delayed, pending };
  struct Call {
    CallState state = CallState::idle;
    int64_t param = 0;
    uint32_t generation = 0;  // bumped to cancel the pending deadline event
  };
  enum class CalloutState : uint8_t { dormant, idle, running };
  struct Callout {
    int32_t thread = -1;
    CalloutState state = CalloutState::dormant;
    bool counted = false;  // counted in active_num_
  };

  void remove_pending(int32_t call);
  // models _call_thread_wake: wake an idle callout thread, else the activator.
  void call_thread_wake();

  dispatcher::Dispatcher* d_ = nullptr;
  uint16_t kind_ = 0;
  int64_t tag_ = 0;
  std::vector<Call> calls_;
  std::deque<int32_t> pending_;
  std::vector<Callout> callouts_;
  int32_t activator_ = -1;
  bool activator_awake_ = false;
  int active_num_ = 0;
};

}  // namespace sim::iokit_model
