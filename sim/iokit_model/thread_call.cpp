// thread_call queues and callout-thread bookkeeping (xnu-facts.md 8).
#include "sim/iokit_model/thread_call.hpp"

#include <algorithm>

namespace sim::iokit_model {

void ThreadCallQueue::init(dispatcher::Dispatcher* d, uint16_t event_kind, int64_t event_tag, size_t calls,
                           std::vector<int32_t> callout_threads, int32_t activator) {
  d_ = d;
  kind_ = event_kind;
  tag_ = event_tag;
  calls_.assign(calls, Call{});
  callouts_.clear();
  for (int32_t t : callout_threads) callouts_.push_back(Callout{t, CalloutState::dormant, false});
  if (!callouts_.empty()) {
    callouts_[0].state = CalloutState::running;  // created at boot; it goes idle at once
    callouts_[0].counted = true;
    active_num_ = 1;
  }
  activator_ = activator;
  activator_awake_ = activator >= 0;  // it runs once at boot, then waits
}

int ThreadCallQueue::slot_of(int32_t thread) const {
  for (size_t i = 0; i < callouts_.size(); ++i)
    if (callouts_[i].thread == thread) return static_cast<int>(i);
  return -1;
}

void ThreadCallQueue::remove_pending(int32_t call) {
  auto it = std::find(pending_.begin(), pending_.end(), call);
  if (it != pending_.end()) pending_.erase(it);
}

void ThreadCallQueue::enter_delayed(int32_t call, int64_t param, core::SimTime deadline) {
  Call& c = calls_[static_cast<size_t>(call)];
  if (c.state == CallState::pending) remove_pending(call);
  c.state = CallState::delayed;
  c.param = param;
  ++c.generation;
  d_->schedule(deadline, dispatcher::kRankTimer, kind_, call, c.generation, tag_);
}

bool ThreadCallQueue::cancel(int32_t call) {
  Call& c = calls_[static_cast<size_t>(call)];
  switch (c.state) {
    case CallState::idle: return false;
    case CallState::delayed: break;
    case CallState::pending: remove_pending(call); break;
  }
  c.state = CallState::idle;
  ++c.generation;
  return true;
}

void ThreadCallQueue::on_deadline(int32_t call, uint32_t generation) {
  Call& c = calls_[static_cast<size_t>(call)];
  if (c.state != CallState::delayed || c.generation != generation) return;
  c.state = CallState::pending;
  pending_.push_back(call);
  if (active_num_ <= 0) call_thread_wake();
}

void ThreadCallQueue::call_thread_wake() {
  for (Callout& co : callouts_) {
    if (co.state != CalloutState::idle) continue;
    co.state = CalloutState::running;
    co.counted = true;
    ++active_num_;
    d_->wake(d_->thread(co.thread), core::WakeReason::event);
    return;
  }
  if (activator_ >= 0 && !activator_awake_) {
    activator_awake_ = true;
    d_->wake(d_->thread(activator_), core::WakeReason::event);
  }
}

std::optional<ThreadCallQueue::Invocation> ThreadCallQueue::next(int slot, Thread& t) {
  Callout& co = callouts_[static_cast<size_t>(slot)];
  if (!pending_.empty()) {
    int32_t call = pending_.front();
    pending_.pop_front();
    Call& c = calls_[static_cast<size_t>(call)];
    c.state = CallState::idle;  // dequeued: it may be entered again while it runs
    co.state = CalloutState::running;
    if (!co.counted) {
      co.counted = true;
      ++active_num_;
    }
    return Invocation{call, c.param};
  }
  // sim: xnu keeps up to thread_call_thread_min (4) idle threads and lets extra ones exit; we
  // never have more than 4, so all of them stay.
  if (co.counted) --active_num_;
  co.counted = false;
  co.state = CalloutState::idle;
  d_->block(t, core::BlockReason::event, -1);
  return std::nullopt;
}

void ThreadCallQueue::blocked_in_call(int slot) {
  Callout& co = callouts_[static_cast<size_t>(slot)];
  if (co.counted) --active_num_;
  co.counted = false;
  if (!pending_.empty() && active_num_ <= 0) call_thread_wake();
}

void ThreadCallQueue::resumed_in_call(int slot) {
  Callout& co = callouts_[static_cast<size_t>(slot)];
  if (co.counted) return;
  co.counted = true;
  ++active_num_;
}

void ThreadCallQueue::activator_run(Thread& t) {
  while (active_num_ <= 0 && !pending_.empty()) {
    auto dormant = std::find_if(callouts_.begin(), callouts_.end(),
                                [](const Callout& c) { return c.state == CalloutState::dormant; });
    if (dormant == callouts_.end()) break;  // sim: at most 4 callout threads exist
    dormant->state = CalloutState::running;
    dormant->counted = true;
    ++active_num_;
    d_->start_thread(d_->thread(dormant->thread));
  }
  activator_awake_ = false;
  d_->block(t, core::BlockReason::event, -1);
}

}  // namespace sim::iokit_model
