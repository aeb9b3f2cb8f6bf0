// `edf`: preemptive earliest deadline first, global on m CPUs (the m ready jobs with the earliest
// absolute deadlines run), partitioned for bound threads; threads without a deadline run below
// every deadline job in fixed-priority order (docs/policies/edf.md).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/policies/indexed_heap.hpp"
#include "sim/policies/policy.hpp"

namespace sim::policies {

class EdfPolicy final : public Policy {
 public:
  explicit EdfPolicy(const PolicyContext& ctx);
  std::string_view name() const override { return "edf"; }
  static std::unique_ptr<Policy> make(const PolicyContext& ctx);

  // The order of everything runnable, smallest first: threads holding a lock promotion (by
  // sched_pri, then as below), then deadline jobs (absolute deadline, release, thread index),
  // then threads without a deadline (sched_pri, FIFO). `tie` is the thread index for deadline
  // jobs and the FIFO sequence otherwise; a running thread has none (it keeps its place).
  enum Class : int8_t { kPromoted = 0, kDeadline = 1, kPlain = 2 };
  struct Key {
    int8_t cls = kPlain;
    int32_t neg_pri = 0;      // -sched_pri (promoted and plain); 0 for deadline jobs
    int64_t deadline = 0;     // absolute deadline, ns (INT64_MAX: none)
    int64_t release = 0;      // release of the job, ns
    int64_t tie = 0;
  };
  // The key of `t` as it stands (its current job, promotion and priority).
  Key key_of(const Thread& t) const;
  // Whether the runnable `waiting` should run rather than `running` (equal keys keep the
  // running one); the property tests check that no queued thread outranks a running one.
  bool outranks(const Thread& waiting, const Thread& running) const {
    return beats_running(key_of(waiting), key_of(running), false);
  }
  // The relative deadline EDF schedules `t` by (zero: none): `deadline` as declared, else a
  // realtime thread's constraint, else the period.
  Duration relative_deadline(const Thread& t) const;

  // --- Policy ---------------------------------------------------------------------------------
  void enqueue(Thread& t, bool head) override;
  void remove(Thread& t) override;
  Thread* choose(int cpu) override;
  Thread* choose_over(int cpu, const Thread& outgoing) override;
  bool queue_beats(int cpu, const Thread& handed) const override;
  bool has_queued(int cpu) const override;
  Preemption should_preempt(const Processor& p, const Thread& running) const override;
  int preempt_target(const Thread& t) const override;
  Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) override;
  bool is_urgent(const Thread& /*t*/) const override { return true; }
  // Global EDF: a thread overtaken before it ran (a claim taken over, a hand-off beaten by the
  // queue) looks for another CPU at once.
  bool push_overtaken() const override { return true; }
  void on_wakeup(Thread& t) override;
  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread& t) const override;
  void job_started(Thread& t) override;
  void promotion_changed(Thread& t) override;
  void set_mode(Thread& t, const model::Op& op) override;
  void thread_policy(Thread& t, const model::Op& op) override;
  void setpriority(Thread& t, const model::Op& op) override;
  void pthread_setschedparam(Thread& t, const model::Op& op) override;

 private:
  struct Entry {
    Key key;               // stored at enqueue
    int32_t queue = -1;    // 0 shared, 1 + cpu bound, -1 not queued
    SimTime woke;          // last wakeup (deadline base of an aperiodic realtime thread)
  };

  // Strict order with `tie`.
  static bool before(const Key& a, const Key& b) {
    if (a.cls != b.cls) return a.cls < b.cls;
    if (a.neg_pri != b.neg_pri) return a.neg_pri < b.neg_pri;
    if (a.deadline != b.deadline) return a.deadline < b.deadline;
    if (a.release != b.release) return a.release < b.release;
    return a.tie < b.tie;
  }
  // Whether `queued` should run rather than `running` (which keeps its CPU on equal keys,
  // unless `expired`: its quantum ended, and an equal non-deadline thread takes its turn).
  static bool beats_running(const Key& queued, const Key& running, bool expired);
  // The best queued thread `cpu` may run (shared or bound to it), or -1.
  int32_t best_for(int cpu) const;
  struct KeyLess {
    bool operator()(const Key& a, const Key& b) const { return before(a, b); }
  };
  using Heap = IndexedHeap<Key, KeyLess>;
  Heap& heap_of(int32_t queue) { return heaps_[static_cast<size_t>(queue)]; }
  Thread& th(int32_t i) const { return (*ctx_.threads)[static_cast<size_t>(i)]; }
  Entry& entry(int32_t i) { return entries_[static_cast<size_t>(i)]; }
  const Entry& entry(int32_t i) const { return entries_[static_cast<size_t>(i)]; }
  void take(Thread& t);

  std::vector<Entry> entries_;    // by thread index
  std::vector<int32_t> heap_pos_; // by thread index: its place in its heap
  std::vector<Heap> heaps_;       // 0 shared, 1 + cpu bound
  int64_t tail_seq_ = 0;
  int64_t head_seq_ = 0;
};

}  // namespace sim::policies
