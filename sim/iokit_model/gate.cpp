// The work-loop gate (IORecursiveLock) over a FIFO-wake, retrying mutex.
#include "sim/iokit_model/gate.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sim::iokit_model {

using core::TraceEvent;
using core::TraceKind;

bool Gate::close(Thread& t) {
  if (owner_ == t.index) {
    ++depth_;  // re-entry just counts
    return true;
  }
  return take(t, 1);
}

bool Gate::reacquire(Thread& t, int depth) {
  if (owner_ == t.index)
    throw dispatcher::InternalError(fmt::format("gate {}: \"{}\" re-locks a gate it holds", workloop_, t.name));
  return take(t, depth);
}

bool Gate::take(Thread& t, int depth) {
  auto w = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& x) { return x.thread == t.index; });
  if (owner_ < 0) {
    int64_t waited = 0;
    if (w != waiters_.end()) {
      waited = (d_->now() - w->since).ns;
      waiters_.erase(w);
    }
    owner_ = t.index;
    depth_ = depth;
    held_since_ = d_->now();
    d_->emit(TraceEvent{d_->now(), TraceKind::lock_acquired, 0, static_cast<int16_t>(t.cpu), t.index, lock_index_,
                        waited, 0});
    return true;
  }
  if (w == waiters_.end()) {
    waiters_.push_back(Waiter{t.index, d_->now()});
    d_->emit(TraceEvent{d_->now(), TraceKind::lock_contended, 0, static_cast<int16_t>(t.cpu), t.index, lock_index_,
                        owner_, 0});
  }
  queue_.push_back(t.index);  // (again at the tail after a lost retry)
  d_->block(t, core::BlockReason::gate, workloop_);
  return false;
}

void Gate::open(Thread& t) {
  if (owner_ != t.index || depth_ <= 0)
    throw dispatcher::InternalError(
        fmt::format("gate {}: \"{}\" opens a gate it does not hold at {}", workloop_, t.name, core::format_time(d_->now())));
  if (--depth_ > 0) return;
  owner_ = -1;
  d_->emit(TraceEvent{d_->now(), TraceKind::lock_released, 0, static_cast<int16_t>(t.cpu), t.index, lock_index_,
                      (d_->now() - held_since_).ns, 0});
  if (queue_.empty()) return;
  int32_t next = queue_.front();
  queue_.pop_front();
  d_->wake(d_->thread(next), core::WakeReason::lock);
}

int Gate::release_for_sleep(Thread& t) {
  int saved = depth_;
  depth_ = 1;
  open(t);
  return saved;
}

}  // namespace sim::iokit_model
