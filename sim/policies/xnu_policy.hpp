// `xnu`: the Mach timeshare scheduler of xnu-517 (10.3) and xnu-792 (10.4): usage-based decay
// recomputed at the 125 ms scheduler tick, the fail-safe for non-timeshare threads, and
// real-time threads kept by deadline (xnu-facts.md sections 2, 3, 4).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "sim/policies/policy.hpp"
#include "sim/policies/standard_queues.hpp"

namespace sim::policies {

// Constants of xnu-517/792 osfmk/kern/sched_prim.c and priority.c.
inline constexpr Duration kSchedTick = Duration::milliseconds(125);  // SCHED_TICK_SHIFT 3: 8/s
inline constexpr int kSchedDecayTicks = 32;                           // SCHED_DECAY_TICKS (792)
inline constexpr int kMaxUnsafeQuanta = 800;                          // MAX_UNSAFE_QUANTA
inline constexpr int kSchedSafeTicks = (2 * kMaxUnsafeQuanta / 100) * 8;  // sched_safe_duration
inline constexpr int kNoShift = 127;                                  // INT8_MAX: "no contention"
inline constexpr int kThreadUpdateSize = 128;                         // THREAD_UPDATE_SIZE
inline constexpr int k517UsageShift = 20;
inline constexpr Duration kStatTick = Duration::milliseconds(10);     // 517's 100 Hz clock
inline constexpr int64_t kStatChargeUs = 10'000;
static_assert(kSchedSafeTicks == 128);

// (5/8)^n as a pair of shifts: u = (u >> s1) +/- (u >> |s2|). The values are xnu's table.
struct DecayShift {
  int s1;
  int s2;
};
extern const std::array<DecayShift, kSchedDecayTicks> kDecayShifts;
uint64_t decay_usage(uint64_t usage, uint32_t ticks);

// The fixed shift for a tick of `tick_abs` absolute-time units: the number of right shifts that
// bring tick * 5/3 (the steady usage of a thread running every tick) to 31 or less.
int fixed_pri_shift(int64_t tick_abs);
// sched_load_shifts: floor(log2(load)) for load >= 1.
int load_shift(int load);

class XnuPolicy final : public StandardQueuePolicy {
 public:
  explicit XnuPolicy(const PolicyContext& ctx);
  std::string_view name() const override { return "xnu"; }

  int compute_sched_pri(const Thread& t) const override;
  Duration quantum_for(const Thread& t) const override;
  void update_priority(Thread& t, core::PriorityReason why) override;
  void charge(Thread& t, SimTime from, SimTime to) override;
  void quantum_expire(Thread& t) override;
  Duration tick_period() const override { return kSchedTick; }
  bool tick_in_thread() const override { return true; }
  void tick() override;
  // The scheduler tick thread (sched_tick_thread, xnu-facts.md 2): fixed at MAXPRI_KERNEL 95
  // (517: MAXPRI_STANDARD, the same 95), the last thread of the world.
  static constexpr std::string_view kTickThreadName = "kernel:sched_tick";
  int32_t tick_thread() const { return tick_thread_; }

  // The xnu policy's private per-thread state (xnu-facts.md 3.1, 3.2): timeshare usage and its
  // unsampled CPU time, the thread's copy of pri_shift and its tick stamp. Indexed by thread.
  struct DecayState {
    uint64_t sched_usage = 0;
    int64_t cpu_delta_ns = 0;   // CPU time not yet sampled into usage (792)
    int64_t stat_delta_us = 0;  // statistical-timer charges not yet sampled (517)
    int pri_shift = kNoShift;
    uint32_t sched_stamp = 0;
  };
  DecayState& decay(int32_t thread) { return decay_[static_cast<size_t>(thread)]; }
  const DecayState& decay(int32_t thread) const { return decay_[static_cast<size_t>(thread)]; }

  uint32_t sched_tick() const { return sched_tick_; }
  int pset_pri_shift() const { return pset_pri_shift_; }
  uint32_t sched_load() const { return sched_load_; }

  static std::unique_ptr<Policy> make(const PolicyContext& ctx);

 private:
  bool r517() const { return ctx_.machine.release == model::Release::xnu517; }
  // thread_timer_delta: CPU time since the last sample, in usage units (792: ns; 517: us of
  // statistical ticks times sched_load); the sample point moves even if the time is not used.
  uint64_t sample_delta(Thread& t);
  void failsafe_trip(Thread& t);
  void failsafe_release(Thread& t);

  // The priority shift of 792's do_priority_computation as the hardware executes it.
  static uint64_t shift_usage(uint64_t usage, int shift);

  static const PolicyContext& with_tick_thread(const PolicyContext& ctx);

  int32_t tick_thread_ = -1;
  uint32_t sched_tick_ = 0;
  int sched_pri_shift_ = 0;
  int pset_pri_shift_ = kNoShift;  // 792
  uint32_t sched_load_ = 0;        // 517: 128 = 1.0
  std::vector<Thread*> scan_;
  std::vector<DecayState> decay_;  // by thread index
};

}  // namespace sim::policies
