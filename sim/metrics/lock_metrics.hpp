// LockMetrics: per-lock results (acquisitions, contention, wait and hold distributions, holders
// that ended holding it and threads still waiting at the end) and the per-thread time blocked on
// locks and funnels and spent spinning, from the trace events.
#pragma once

#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/metrics/distribution.hpp"
#include "sim/metrics/results.hpp"

namespace sim::metrics {

class LockMetrics final : public core::TraceSink {
 public:
  // `locks` are the lock names by trace index (NameTable::locks: the scenario's locks, then
  // the funnels used); `thread_names` (NameTable::threads) name the threads that end holding a
  // lock in LockResult::exited_holders ("#index" when not given).
  LockMetrics(size_t threads, std::vector<std::string> locks, std::vector<std::string> thread_names = {});

  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

  std::vector<LockResult> locks() const;
  // lock_contended -> lock_acquired; a wait still open at the end counts up to it. A thread
  // woken to retry a lock may first wait for its funnel: overlapping waits count once.
  int64_t blocked_ns(int32_t thread) const { return threads_[static_cast<size_t>(thread)].blocked_ns; }
  // Completed spins (spin_ended), summed.
  int64_t spin_ns(int32_t thread) const { return threads_[static_cast<size_t>(thread)].spin_ns; }
  // lock_held_at_exit events: locks left held by threads that ended (SystemResult::locks_held_at_exit).
  int64_t held_at_exit() const { return held_at_exit_; }

 private:
  struct PerLock {
    LockResult r;
    Distribution wait;
    Distribution hold;
  };
  struct PerThread {
    int64_t blocked_ns = 0;
    int64_t spin_ns = 0;
    std::vector<int32_t> waiting;  // locks it waits for (at most two, see blocked_ns)
    int64_t waiting_since = 0;     // ns, since `waiting` became non-empty
  };
  SampleBudget budget_;  // shared by every distribution here: memory stays bounded
  std::vector<PerLock> locks_;
  std::vector<PerThread> threads_;
  std::vector<std::string> thread_names_;
  int64_t held_at_exit_ = 0;
};

}  // namespace sim::metrics
