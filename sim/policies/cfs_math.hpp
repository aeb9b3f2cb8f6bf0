// The integer arithmetic of Linux 6.5's CFS (kernel/sched/fair.c, core.c, sched.h; pre-EEVDF),
// exactly as the kernel computes it on a 64-bit machine (policy-facts.md 2.1-2.3): the nice
// weight tables, __calc_delta with its truncations, calc_delta_fair, the tunables scaled by the
// CPU count, __sched_period and sched_slice. Pure functions: the policy and the tests use them.
#pragma once

#include <array>
#include <cstdint>

namespace sim::policies::cfs {

// sched_prio_to_weight and sched_prio_to_wmult (core.c), indexed by nice + 20.
extern const std::array<uint32_t, 40> kPrioToWeight;
extern const std::array<uint32_t, 40> kPrioToWmult;

inline constexpr int kSchedFixedShift = 10;                          // SCHED_FIXEDPOINT_SHIFT
inline constexpr uint64_t kNice0Load = uint64_t{1} << 20;            // NICE_0_LOAD (64-bit)
inline constexpr uint64_t kWmultConst = 0xFFFFFFFFu;                 // WMULT_CONST
inline constexpr int kWmultShift = 32;                               // WMULT_SHIFT
inline constexpr unsigned kSchedNrLatency = 8;                       // sched_nr_latency

// struct load_weight: weight in the 64-bit scaled form (weight << 10); inv_weight 0 = not yet
// computed (a run queue's sum), else 2^32 / scale_load_down(weight).
struct LoadWeight {
  uint64_t weight = 0;
  uint32_t inv_weight = 0;
};

constexpr uint64_t scale_load(uint64_t w) { return w << kSchedFixedShift; }
constexpr uint64_t scale_load_down(uint64_t w) {
  if (!w) return 0;
  uint64_t d = w >> kSchedFixedShift;
  return d < 2 ? 2 : d;
}

// A task's load weight for `nice` (-20..19; clamped): set_load_weight.
LoadWeight nice_load(int nice);

// __calc_delta(delta, weight, lw): delta * weight / lw.weight in the kernel's fixed point
// (a u32 x u32 factor, shifted down to 32 bits, then a 64 x 32 -> 96-bit product shifted).
uint64_t calc_delta(uint64_t delta, uint64_t weight, LoadWeight lw);
// calc_delta_fair: delta unchanged for a nice-0 entity, else delta * NICE_0_LOAD / weight.
uint64_t calc_delta_fair(uint64_t delta, LoadWeight se);

// The scaled tunables (SCHED_TUNABLESCALING_LOG: factor 1 + ilog2(min(ncpus, 8))), in ns.
struct Tunables {
  uint64_t latency = 6'000'000;             // sysctl_sched_latency
  uint64_t min_granularity = 750'000;       // sysctl_sched_min_granularity
  uint64_t wakeup_granularity = 1'000'000;  // sysctl_sched_wakeup_granularity
};
int tunable_factor(int ncpus);
Tunables tunables_for(int ncpus);

// __sched_period(nr_running).
uint64_t sched_period(const Tunables& tun, unsigned nr_running);
// sched_slice for an entity of weight `se` on a queue with `nr_running` entities and total load
// `rq_load` (both already counting the entity, as the kernel does for a queued one or adds for
// one that is not), with the BASE_SLICE floor of min_granularity.
uint64_t sched_slice(const Tunables& tun, unsigned nr_running, uint64_t rq_load, LoadWeight se);

}  // namespace sim::policies::cfs
