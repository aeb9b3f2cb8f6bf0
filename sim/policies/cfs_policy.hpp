// `cfs`: Linux 6.5's Completely Fair Scheduler (kernel/sched/fair.c before EEVDF), with
// realtime and fixed-priority threads as SCHED_FIFO above it (policy-facts.md section 2;
// docs/policies/cfs.md). One CPU is exact; several CPUs use per-CPU queues with a simplified
// placement and balancing (policy-facts.md 2.6).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sim/policies/cfs_math.hpp"
#include "sim/policies/indexed_heap.hpp"
#include "sim/policies/policy.hpp"

namespace sim::policies {

class CfsPolicy final : public Policy {
 public:
  static constexpr int kDefaultHz = 1000;  // CONFIG_HZ: a parameter of the policy
  static constexpr Duration kBalanceInterval = Duration::milliseconds(4);

  explicit CfsPolicy(const PolicyContext& ctx, int hz = kDefaultHz);
  std::string_view name() const override { return "cfs"; }

  void enqueue(Thread& t, bool head) override;
  void remove(Thread& t) override;
  Thread* choose(int cpu) override;
  Thread* choose_over(int cpu, const Thread& outgoing) override;
  bool queue_beats(int cpu, const Thread& handed) const override;
  bool has_queued(int cpu) const override;

  Preemption should_preempt(const Processor& p, const Thread& running) const override;
  int select_idle_cpu(const Thread& t, int exclude) const override;
  int preempt_target(const Thread& t) const override;
  Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) override;
  bool is_urgent(const Thread&) const override { return true; }
  void on_wakeup(Thread& t) override;

  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread&) const override { return kNoQuantum; }
  void charge(Thread& t, SimTime from, SimTime to) override;
  Duration tick_period() const override { return tick_; }
  void tick() override;

  // SCHED_FIFO (the RT class): realtime and fixed threads, and a timeshare thread while a
  // mutex promotes it above the fair level (rt_mutex boosting).
  static bool is_rt_class(const Thread& t) { return !t.is_timeshare() || t.promoted_pri > kFairPri; }
  // Its FIFO priority: the Mach priority (base, or the promotion when higher).
  static int rt_prio(const Thread& t) {
    int base = t.is_timeshare() ? kFairPri : t.base_pri;
    return base > t.promoted_pri ? base : t.promoted_pri;
  }
  // The sched_pri every fair thread reports: their order is vruntime's, below every RT thread.
  static constexpr int kFairPri = 0;
  // The thread's nice value (-20..19), fixed for the run.
  static int nice_of(const Thread& t);

  // Read access for tests.
  uint64_t vruntime(int32_t thread) const { return ent(thread).vruntime; }
  uint64_t sum_exec(int32_t thread) const { return ent(thread).sum_exec; }
  uint64_t min_vruntime(int cpu) const { return rq_[static_cast<size_t>(cpu)].min_vruntime; }
  unsigned nr_running(int cpu) const;
  const cfs::Tunables& tunables() const { return tun_; }
  // The policy's own consistency (queues, curr, loads, Thread::queued): empty when it holds,
  // else what is wrong. For tests, after a dispatch pass.
  std::string check_invariants() const;
  int hz() const { return hz_; }

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);

 private:
  struct TreeKey {
    uint64_t v;
    uint64_t seq;
  };
  // Ordered by vruntime (s64 difference, wrap-safe as the kernel's entity_before), then by
  // insertion: an entry equal to existing ones goes to their right.
  struct TreeLess {
    bool operator()(const TreeKey& a, const TreeKey& b) const {
      int64_t d = static_cast<int64_t>(a.v - b.v);
      if (d != 0) return d < 0;
      return a.seq < b.seq;
    }
  };
  struct RtKey {
    int prio;
    int64_t seq;
    int32_t idx;
  };
  // Highest priority first, FIFO within a priority (a preempted thread goes to the head).
  struct RtLess {
    bool operator()(const RtKey& a, const RtKey& b) const {
      if (a.prio != b.prio) return a.prio > b.prio;
      return a.seq < b.seq;
    }
  };
  enum class Where : uint8_t { none, tree, rt };

  // struct sched_entity, plus where the simulator keeps it.
  struct Ent {
    uint64_t vruntime = 0;
    uint64_t sum_exec = 0;
    uint64_t prev_sum_exec = 0;
    uint64_t pending = 0;          // run time charged and not yet folded in by update_curr
    SimTime folded_until;          // run time before this is in `pending` or folded
    SimTime exec_start;            // last update_curr or pick (the long-sleeper test)
    cfs::LoadWeight lw;
    int rq = -1;                   // the cfs_rq its vruntime refers to
    int curr_of = -1;              // the cfs_rq it is `curr` of
    bool relative = false;         // vruntime is relative (left the fair class while runnable)
    bool started = false;          // placed once (the first start is a fork: START_DEBIT)
    bool waking = false;           // to be placed as a wakeup when it next joins a cfs_rq
    Where where = Where::none;
    TreeKey key{};
    RtKey rtkey{};
  };
  // The rbtree of a cfs_rq as a heap: every use of the tree is its leftmost entity, the one after
  // it (the skip buddy), insertion and removal, and an unordered scan (load balancing).
  using Tree = IndexedHeap<TreeKey, TreeLess>;
  // struct cfs_rq.
  struct Rq {
    explicit Rq(std::vector<int32_t>* positions) : tree(positions) {}
    Tree tree;
    uint64_t tree_load = 0;
    uint64_t min_vruntime = 0;
    int32_t curr = -1;
    int32_t pending = -1;  // picked by choose_over, becomes curr when the outgoing one is put back
    int32_t leaving = -1;  // the outgoing thread between requeue() and its enqueue()
  };
  // The buddies and need_resched of a CPU (set by the wakeup-preemption test, a const hook).
  struct Flags {
    int32_t next = -1;
    int32_t skip = -1;
    int32_t last = -1;
    bool resched = false;
  };

  Ent& ent(int32_t i) { return ents_[static_cast<size_t>(i)]; }
  const Ent& ent(int32_t i) const { return ents_[static_cast<size_t>(i)]; }
  Thread& th(int32_t i) { return (*ctx_.threads)[static_cast<size_t>(i)]; }
  const Thread& th(int32_t i) const { return (*ctx_.threads)[static_cast<size_t>(i)]; }
  Rq& rq(int c) { return rq_[static_cast<size_t>(c)]; }
  const Rq& rq(int c) const { return rq_[static_cast<size_t>(c)]; }
  Flags& flags(int c) const { return flags_[static_cast<size_t>(c)]; }
  int ncpus() const { return static_cast<int>(rq_.size()); }
  static bool eligible(const Thread& t, int c) { return t.bound_cpu < 0 || t.bound_cpu == c; }

  uint64_t rq_load(int c) const;
  void sync_cpu(int c);
  void adopt(int c, int32_t idx);
  void drop_curr(int c, bool to_rt);
  void update_curr(int c);
  void update_min_vruntime(int c);
  void attach(int c, int32_t idx);
  uint64_t attached_vruntime(const Ent& e, int c) const;
  void tree_insert(int c, int32_t idx);
  void tree_erase(int32_t idx);
  void clear_buddies(int c, int32_t idx);
  bool buddy_valid(int c, int32_t b, int32_t curr) const;
  int32_t pick_next_entity(int c, int32_t curr) const;
  int wakeup_preempt_entity(uint64_t curr_v, const Ent& se) const;
  uint64_t compare_vruntime(const Thread& cur, int c) const;
  bool wakeup_check(int c, const Thread& t) const;
  bool check_preempt_tick(int c);
  Thread* pick_rt(int c, int min_prio);
  const RtKey* first_rt(int c) const;
  int fair_cpu_for(const Thread& t, const Ent& e) const;
  void migrate(int32_t idx, int to);
  int32_t movable_in(int c) const;
  unsigned busy_count(int c) const;
  void idle_pull(int c);
  void periodic_balance();

  int hz_;
  Duration tick_;
  cfs::Tunables tun_;
  std::vector<Ent> ents_;
  std::vector<int32_t> tree_pos_;  // by thread index: its place in its cfs_rq's tree
  std::vector<Rq> rq_;
  mutable std::vector<Flags> flags_;
  std::set<RtKey, RtLess> rt_;
  uint64_t seq_ = 0;
  int64_t rt_head_seq_ = 0;
  int64_t rt_tail_seq_ = 0;
  SimTime next_balance_;
};

}  // namespace sim::policies
