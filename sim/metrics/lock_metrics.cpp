// Per-lock and per-thread lock metrics computed from trace events.
#include "sim/metrics/lock_metrics.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace sim::metrics {

using core::TraceKind;

LockMetrics::LockMetrics(size_t threads, std::vector<std::string> locks, std::vector<std::string> thread_names)
    : threads_(threads), thread_names_(std::move(thread_names)) {
  locks_.resize(locks.size());
  for (size_t i = 0; i < locks.size(); ++i) {
    locks_[i].r.id = std::move(locks[i]);
    locks_[i].wait.set_budget(&budget_);
    locks_[i].hold.set_budget(&budget_);
  }
}

void LockMetrics::on_event(const core::TraceEvent& e) {
  switch (e.kind) {
    case TraceKind::lock_contended: {
      ++locks_[static_cast<size_t>(e.other)].r.contended;
      PerThread& t = threads_[static_cast<size_t>(e.thread)];
      if (t.waiting.empty()) t.waiting_since = e.time.ns;
      t.waiting.push_back(e.other);
      break;
    }
    case TraceKind::lock_acquired: {
      PerLock& l = locks_[static_cast<size_t>(e.other)];
      ++l.r.acquisitions;
      l.wait.add(e.a, e.time.ns);
      PerThread& t = threads_[static_cast<size_t>(e.thread)];
      auto it = std::find(t.waiting.begin(), t.waiting.end(), e.other);
      if (it == t.waiting.end()) break;
      t.waiting.erase(it);
      if (t.waiting.empty()) t.blocked_ns += e.time.ns - t.waiting_since;
      break;
    }
    case TraceKind::lock_released:
      locks_[static_cast<size_t>(e.other)].hold.add(e.a, e.time.ns);
      break;
    case TraceKind::lock_try_failed: {
      LockResult& r = locks_[static_cast<size_t>(e.other)].r;
      ++(e.reason == 1 ? r.upgrades_failed : r.try_failed);
      break;
    }
    case TraceKind::interrupt_lock: {
      // A primary interrupt handler's spin lock: acquisitions, spins and holds count as a
      // thread's would (no thread, so no blocked_ns).
      PerLock& l = locks_[static_cast<size_t>(e.other)];
      if (e.reason == 0) {
        ++l.r.acquisitions;
        l.wait.add(e.b, e.time.ns);
      } else if (e.reason == 1) {
        l.hold.add(e.b, e.time.ns);
      } else {
        ++l.r.contended;
      }
      break;
    }
    case TraceKind::spin_ended:
      threads_[static_cast<size_t>(e.thread)].spin_ns += e.a;
      break;
    case TraceKind::lock_held_at_exit: {
      // No hold_ns sample: the lock is never released.
      LockResult& r = locks_[static_cast<size_t>(e.other)].r;
      ++r.held_at_exit;
      ++held_at_exit_;
      r.kind = e.reason == 0 ? "mutex" : "rw lock";
      size_t t = static_cast<size_t>(e.thread);
      r.exited_holders.push_back(t < thread_names_.size() ? thread_names_[t] : "#" + std::to_string(t));
      break;
    }
    default:
      break;
  }
}

void LockMetrics::finish(core::SimTime end) {
  for (PerThread& t : threads_) {
    if (t.waiting.empty()) continue;
    for (int32_t l : t.waiting) ++locks_[static_cast<size_t>(l)].r.waiting_at_end;
    t.blocked_ns += end.ns - t.waiting_since;
    t.waiting.clear();
  }
}

std::vector<LockResult> LockMetrics::locks() const {
  std::vector<LockResult> out;
  for (const PerLock& l : locks_) {
    LockResult r = l.r;
    r.wait_ns = l.wait.summary();
    r.hold_ns = l.hold.summary();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sim::metrics
