// `bsd44`: the 4.4BSD-Lite2 scheduler (policy-facts.md section 1; McKusick et al., "The Design
// and Implementation of the 4.4BSD Operating System", ch. 4): p_estcpu charged by the statclock,
// schedcpu's load-average decay once a second, updatepri for sleepers, p_usrpri = PUSER +
// estcpu/4 + 2*nice, a 100 ms round robin, 32 run queues of 4 priorities, no kernel preemption.
// Timeshare threads are BSD processes; fixed and real-time threads rank above all of them by
// their Mach priority (docs/policies/bsd44.md).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sim/policies/policy.hpp"

namespace sim::policies {

// 4.4BSD-Lite2's constants and arithmetic, in its own integer types (u_int, fixpt_t), so that
// the unsigned wrap-arounds of the original happen here too.
namespace bsd44 {

// sys/param.h 8.3: priorities 0..MAXPRI, lower is better.
inline constexpr int PSWP = 0;
inline constexpr int PVM = 4;
inline constexpr int PINOD = 8;
inline constexpr int PRIBIO = 16;
inline constexpr int PZERO = 22;
inline constexpr int PWAIT = 32;
inline constexpr int PLOCK = 36;
inline constexpr int PPAUSE = 40;
inline constexpr int PUSER = 50;
inline constexpr int MAXPRI = 127;
// sys/proc.h 8.15: NQS run queues of PPQ priorities each.
inline constexpr int NQS = 32;
inline constexpr int PPQ = 128 / NQS;
// fixed point of the load average (sys/param.h).
inline constexpr int FSHIFT = 11;
inline constexpr uint32_t FSCALE = 1u << FSHIFT;
// vm_meter.c cexp[0] = exp(-1/12) * FSCALE, truncated by the fixpt_t cast.
inline constexpr uint32_t kCexp = 1884;
inline constexpr uint32_t kUcharMax = 255;
// hz = stathz = 100: a statclock every 10 ms; roundrobin every hz/10 ticks; schedcpu every hz
// ticks; loadav in vmmeter every 5 s.
inline constexpr int kHz = 100;
inline constexpr Duration kTick = Duration::milliseconds(1000 / kHz);
inline constexpr int kRoundRobinTicks = kHz / 10;
inline constexpr int kSchedCpuTicks = kHz;
inline constexpr int kLoadavSeconds = 5;

// kern_synch.c: loadfactor and decay_cpu (u_int arithmetic).
constexpr uint32_t loadfactor(uint32_t ldavg) { return 2 * ldavg; }
constexpr uint32_t decay_cpu(uint32_t lf, uint32_t cpu) { return (lf * cpu) / (lf + FSCALE); }

// schedcpu: newcpu = (u_int)decay_cpu(lf, estcpu) + p_nice; estcpu = min(newcpu, UCHAR_MAX).
// The sum is unsigned: a negative nice larger than the decayed value wraps around, and the
// min() then gives 255 (Lite2's behaviour; FreeBSD later clamped it).
constexpr uint32_t schedcpu_estcpu(uint32_t lf, uint32_t estcpu, int nice) {
  uint32_t newcpu = decay_cpu(lf, estcpu) + static_cast<uint32_t>(nice);
  return std::min(newcpu, kUcharMax);
}

// updatepri, for a process that slept `slptime` whole seconds (> 1): S - 2 decays (the first
// second's was done by schedcpu, and the loop's pre-decrement drops one more), no nice; zero
// when slptime > 5 * loadfactor.
constexpr uint32_t updatepri_estcpu(uint32_t lf, uint32_t estcpu, uint32_t slptime) {
  if (slptime > 5 * lf) return 0;
  uint32_t newcpu = estcpu;
  --slptime;
  while (newcpu && --slptime) newcpu = decay_cpu(lf, newcpu);
  return std::min(newcpu, kUcharMax);
}

// resetpriority: p_usrpri = min(PUSER + estcpu/4 + 2*nice, MAXPRI), in u_int.
constexpr int usrpri(uint32_t estcpu, int nice) {
  uint32_t p = static_cast<uint32_t>(PUSER) + estcpu / 4 + static_cast<uint32_t>(2 * nice);
  return static_cast<int>(std::min(p, static_cast<uint32_t>(MAXPRI)));
}

// statclock: if (++p_estcpu == 0) p_estcpu--; (saturates, not capped at 255 between seconds)
constexpr uint32_t statclock_estcpu(uint32_t estcpu) { return estcpu == UINT32_MAX ? estcpu : estcpu + 1; }

// vm_meter.c loadav, the 1-minute average: (cexp*ldavg + nrun*FSCALE*(FSCALE-cexp)) >> FSHIFT.
constexpr uint32_t loadav(uint32_t ldavg, uint32_t nrun) {
  return (kCexp * ldavg + nrun * FSCALE * (FSCALE - kCexp)) >> FSHIFT;
}

// The Mach-style sched_pri shown for a BSD priority (higher is better): PUSER shows as
// MAXPRI_USER 63 and each BSD step as one level, clamped to the user band [0, 63]; so
// p_usrpri 50..113 show as 63..0 and every sleep priority (< PUSER) as 63.
constexpr int shown_pri(int p_priority) { return std::clamp(113 - p_priority, 0, 63); }

// The sleep priority a thread blocked for `why` wakes with (tsleep's priority argument): PRIBIO
// for disk-like waits (I/O, locks, funnels), PWAIT for every other sleep.
constexpr int sleep_priority(core::BlockReason why) {
  switch (why) {
    case core::BlockReason::io:
    case core::BlockReason::lock:
    case core::BlockReason::funnel: return PRIBIO;
    default: return PWAIT;
  }
}

static_assert(decay_cpu(4096, 100) == 66 && decay_cpu(4096, 166) == 110);
static_assert(usrpri(66, 0) == 66 && usrpri(0, -20) == 10 && usrpri(500, 19) == MAXPRI);
static_assert(loadav(0, 1) == 164 && loadav(164, 1) == 314);
static_assert(shown_pri(PUSER) == 63 && shown_pri(MAXPRI) == 0 && shown_pri(PWAIT) == 63);

}  // namespace bsd44

class Bsd44Policy final : public Policy {
 public:
  struct Options {
    // Tests only: hold the load average at this fixpt value (2048 = 1.0) instead of computing
    // it every 5 s from boot at 0 (policy-facts.md 1.10 checks 1, 2 and 4 hold it).
    std::optional<uint32_t> held_ldavg;
  };
  explicit Bsd44Policy(const PolicyContext& ctx, Options options = {});
  std::string_view name() const override { return "bsd44"; }

  void enqueue(Thread& t, bool head) override;
  void remove(Thread& t) override;
  Thread* choose(int cpu) override;
  Thread* choose_over(int cpu, const Thread& outgoing) override;
  bool queue_beats(int cpu, const Thread& handed) const override;
  bool has_queued(int cpu) const override;

  Preemption should_preempt(const Processor& p, const Thread& running) const override;
  // select_idle_cpu is the default (its last CPU if idle, else the lowest idle one): which idle
  // CPU takes a thread is arbitrary in BSD's uniprocessor model.
  int preempt_target(const Thread& t) const override;
  Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) override;
  bool is_urgent(const Thread&) const override { return false; }  // need_resched is an AST
  void on_wakeup(Thread& t) override;

  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread&) const override { return kNoQuantum; }
  void update_priority(Thread& t, core::PriorityReason why) override;
  Duration tick_period() const override { return bsd44::kTick; }
  void tick() override;

  // A thread's struct proc fields (policy-facts.md 1.1).
  struct Proc {
    uint32_t estcpu = 0;              // p_estcpu
    int cpticks = 0;                  // p_cpticks (ticks charged this second)
    uint32_t slptime = 0;             // p_slptime (whole seconds asleep)
    int usrpri = bsd44::PUSER;        // p_usrpri
    int priority = bsd44::PUSER;      // p_priority: p_usrpri, or a sleep priority after a wakeup
    bool started = false;
    bool userret = false;             // woken at a sleep priority, not yet back in user mode
    int64_t seq = 0;                  // queue order among equal levels of the shared and bound queues
  };
  const Proc& proc(int32_t thread) const { return procs_[static_cast<size_t>(thread)]; }
  uint32_t ldavg() const { return ldavg_; }
  int64_t ticks() const { return ticks_; }

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);

 private:
  // Queue levels, higher is better: 0..31 for timeshare threads (31 - p_priority / PPQ), then
  // 32 + Mach sched_pri for fixed, real-time and promoted threads.
  static constexpr int kLevels = bsd44::NQS + model::NRQS;
  class Queues {
   public:
    void init(Thread* threads) { threads_ = threads; heads_.fill(-1); tails_.fill(-1); }
    int highest() const;
    Thread* head(int level) const { return heads_[static_cast<size_t>(level)] < 0 ? nullptr : &threads_[heads_[static_cast<size_t>(level)]]; }
    void push(Thread& t, int level, bool at_head, int32_t after);  // after >= 0: insert after it
    void erase(Thread& t);
    int count() const { return count_; }
   private:
    Thread* threads_ = nullptr;
    std::array<int32_t, kLevels> heads_{};
    std::array<int32_t, kLevels> tails_{};
    std::array<uint64_t, (kLevels + 63) / 64> bits_{};
    int count_ = 0;
  };

  Proc& proc(Thread& t) { return procs_[static_cast<size_t>(t.index)]; }
  const Proc& proc(const Thread& t) const { return procs_[static_cast<size_t>(t.index)]; }
  Queues& queues_for(const Thread& t) { return t.bound_cpu >= 0 ? bound_[static_cast<size_t>(t.bound_cpu)] : shared_; }
  // The level of `t` if its sched_pri were `pri` (inline: the preemption tests call it per CPU).
  int level_for(const Thread& t, int pri) const {
    // Fixed and real-time threads, and a timeshare thread while a mutex promotion holds it up,
    // rank above every BSD priority, by their Mach priority.
    if (!t.is_timeshare() || (t.promotions > 0 && t.promoted_pri >= 0)) return bsd44::NQS + pri;
    if (t.depressed) return 0;  // swtch_pri / thread_switch: below every BSD priority
    const Proc& pr = proc(t);
    // A thread in user mode whose wakeup priority was not yet given up ranks by p_usrpri (userret).
    int p = pr.userret && t.state == model::ThreadState::running && !t.kernel_mode() ? pr.usrpri : pr.priority;
    return bsd44::NQS - 1 - p / bsd44::PPQ;
  }
  int level(const Thread& t) const { return level_for(t, t.sched_pri); }
  // The best queued thread `cpu` may take (shared or its bound queue), or nullptr.
  Thread* best_for(int cpu) const;
  Thread* take(int cpu, Thread* t);
  void resetpriority(Proc& pr, const Thread& t) const { pr.usrpri = bsd44::usrpri(pr.estcpu, t.nice); }
  // Shows a changed priority through the host (the dispatcher re-queues a queued thread; one
  // whose level did not change keeps its place, as schedcpu leaves it).
  void refresh(Thread& t, core::PriorityReason why);
  void need_resched(int cpu) const;
  void statclock();
  void schedcpu();

  Options options_;
  std::vector<Proc> procs_;
  Queues shared_;
  std::vector<Queues> bound_;
  mutable std::vector<uint8_t> want_resched_;  // per CPU: need_resched() was called
  uint32_t ldavg_ = 0;                         // averunnable.ldavg[0], fixpt
  int64_t ticks_ = 0;
  int64_t seq_ = 0;       // tail insertions count up
  int64_t head_seq_ = 0;  // head insertions count down
  int32_t keep_ = -1;     // thread whose re-queue keeps its place (refresh)
  int32_t keep_after_ = -1;
  int64_t keep_seq_ = 0;
};

}  // namespace sim::policies
