// The work-loop gate (IORecursiveLock) over a sim/sync xnu mutex.
#include "sim/iokit_model/gate.hpp"

#include <fmt/format.h>

namespace sim::iokit_model {

bool Gate::close(Thread& t) {
  if (owner_ == t.index) {
    ++depth_;  // re-entry just counts
    return true;
  }
  return take(t, 1);
}

bool Gate::reacquire(Thread& t, int depth) {
  if (owner_ == t.index)
    throw d_->internal_error(fmt::format("gate {}: \"{}\" re-locks a gate it holds", workloop_, t.name));
  return take(t, depth);
}

bool Gate::take(Thread& t, int depth) {
  if (!sync_->acquire_mutex(t, lock_index_)) return false;
  owner_ = t.index;
  depth_ = depth;
  return true;
}

void Gate::open(Thread& t) {
  if (owner_ != t.index || depth_ <= 0)
    throw d_->internal_error(
        fmt::format("gate {}: \"{}\" opens a gate it does not hold at {}", workloop_, t.name, core::format_time(d_->now())));
  if (--depth_ > 0) return;
  owner_ = -1;
  sync_->release_mutex(t, lock_index_);
}

int Gate::release_for_sleep(Thread& t) {
  int saved = depth_;
  depth_ = 1;
  open(t);
  return saved;
}

}  // namespace sim::iokit_model
