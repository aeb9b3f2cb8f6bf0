// InversionDetector: finds priority inversions in the event stream and marks them in it.
//
// A thread B waiting for a lock (lock_contended .. lock_acquired) is inverted while a thread R
// of lower sched_pri than B, not B and not in B's holder chain, runs on some CPU and a holder H
// at the end of the chain (a holder that is not itself waiting for a lock) is runnable but not
// running. The chain follows holders that wait for locks in turn: B waits for L1 held by H1,
// H1 waits for L2 held by H2, ... Each such interval is traced as inversion_began (thread B,
// other H, a R, on R's CPU) and inversion_ended (a = its length); a change of H or R ends one
// interval and begins the next. inversion_ns sums them per thread.
//
// State is judged after each instant has settled (all of its events applied), so transient
// states within one instant never count. The detector must be the FIRST sink of its bus: when
// the first event of a later instant arrives it emits the previous instant's inversion events
// through the bus (TraceBus::emit only iterates its sink list, so a nested emit is safe as long
// as no sink is added meanwhile), and they reach every other sink before that event does.
#pragma once

#include <vector>

#include "sim/core/trace.hpp"

namespace sim::metrics {

class InversionDetector final : public core::TraceSink {
 public:
  // Borrows `bus` (the bus it is added to, first).
  InversionDetector(core::TraceBus* bus, size_t threads, int cpus);

  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

  int64_t inversion_ns(int32_t thread) const { return threads_[static_cast<size_t>(thread)].inversion_ns; }

 private:
  enum class State : uint8_t { absent, runnable, running, blocked };
  struct Interval {
    bool open = false;
    int32_t holder = -1;
    int32_t ran = -1;
    int cpu = -1;
    int64_t since = 0;
  };
  struct PerThread {
    State state = State::absent;
    int pri = 0;
    // Locks it waits for, innermost last: a thread woken to retry a lock may first wait for
    // its funnel. The innermost wait is the one its chain follows.
    std::vector<int32_t> waits;
    int32_t waiting_on() const { return waits.empty() ? -1 : waits.back(); }
    Interval inversion;
    int64_t inversion_ns = 0;
  };

  void apply(const core::TraceEvent& e);
  void flush();  // judges the state after instant_
  void judge(int32_t b);
  void close(int32_t b, int64_t at);
  void emit(const core::TraceEvent& e);
  std::vector<int32_t>& holders(int32_t lock);

  core::TraceBus* bus_;
  std::vector<PerThread> threads_;
  std::vector<int32_t> running_;               // by CPU, -1 idle
  std::vector<std::vector<int32_t>> holders_;  // by lock: threads holding it (rw: several)
  std::vector<int32_t> chain_;                 // scratch
  int64_t instant_ = -1;
  bool dirty_ = false;
  bool emitting_ = false;
  int waiting_ = 0;  // threads waiting for a lock
  int open_ = 0;     // open intervals
};

}  // namespace sim::metrics
