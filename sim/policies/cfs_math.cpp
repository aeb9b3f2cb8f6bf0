// Linux 6.5 CFS arithmetic; see cfs_math.hpp. Every function mirrors the kernel function it is
// named after (policy-facts.md 2.2, 2.3).
#include "sim/policies/cfs_math.hpp"

#include <algorithm>
#include <bit>

namespace sim::policies::cfs {

const std::array<uint32_t, 40> kPrioToWeight = {
    /* -20 */ 88761, 71755, 56483, 46273, 36291,
    /* -15 */ 29154, 23254, 18705, 14949, 11916,
    /* -10 */ 9548,  7620,  6100,  4904,  3906,
    /*  -5 */ 3121,  2501,  1991,  1586,  1277,
    /*   0 */ 1024,  820,   655,   526,   423,
    /*   5 */ 335,   272,   215,   172,   137,
    /*  10 */ 110,   87,    70,    56,    45,
    /*  15 */ 36,    29,    23,    18,    15,
};

const std::array<uint32_t, 40> kPrioToWmult = {
    /* -20 */ 48388,     59856,     76040,     92818,     118348,
    /* -15 */ 147320,    184698,    229616,    287308,    360437,
    /* -10 */ 449829,    563644,    704093,    875809,    1099582,
    /*  -5 */ 1376151,   1717300,   2157191,   2708050,   3363326,
    /*   0 */ 4194304,   5237765,   6557202,   8165337,   10153587,
    /*   5 */ 12820798,  15790321,  19976592,  24970740,  31350126,
    /*  10 */ 39045157,  49367440,  61356676,  76695844,  95443717,
    /*  15 */ 119304647, 148102320, 186737708, 238609294, 286331153,
};

LoadWeight nice_load(int nice) {
  size_t i = static_cast<size_t>(std::clamp(nice, -20, 19) + 20);
  return LoadWeight{scale_load(kPrioToWeight[i]), kPrioToWmult[i]};
}

// fls(x): 1-based index of the most significant set bit (0 for 0).
static int fls32(uint32_t x) { return x ? 32 - std::countl_zero(x) : 0; }

uint64_t calc_delta(uint64_t delta, uint64_t weight, LoadWeight lw) {
  uint64_t fact = scale_load_down(weight);
  uint32_t fact_hi = static_cast<uint32_t>(fact >> 32);
  int shift = kWmultShift;
  // __update_inv_weight
  uint32_t inv = lw.inv_weight;
  if (!inv) {
    uint64_t w = scale_load_down(lw.weight);
    if (w >= kWmultConst) inv = 1;
    else if (!w) inv = static_cast<uint32_t>(kWmultConst);
    else inv = static_cast<uint32_t>(kWmultConst / w);
  }
  if (fact_hi) {
    int fs = fls32(fact_hi);
    shift -= fs;
    fact >>= fs;
  }
  fact = static_cast<uint64_t>(static_cast<uint32_t>(fact)) * inv;  // mul_u32_u32
  fact_hi = static_cast<uint32_t>(fact >> 32);
  if (fact_hi) {
    int fs = fls32(fact_hi);
    shift -= fs;
    fact >>= fs;
  }
  // mul_u64_u32_shr (the generic version: exact for shift <= 32, which holds here)
  uint64_t mul = static_cast<uint32_t>(fact);
  uint64_t al = delta & 0xFFFFFFFFu, ah = delta >> 32;
  uint64_t ret = (al * mul) >> shift;
  if (ah) ret += (ah * mul) << (32 - shift);
  return ret;
}

uint64_t calc_delta_fair(uint64_t delta, LoadWeight se) {
  if (se.weight != kNice0Load) delta = calc_delta(delta, kNice0Load, se);
  return delta;
}

int tunable_factor(int ncpus) {
  unsigned n = static_cast<unsigned>(std::clamp(ncpus, 1, 8));
  return 1 + (std::bit_width(n) - 1);  // 1 + ilog2(min(ncpus, 8))
}

Tunables tunables_for(int ncpus) {
  uint64_t f = static_cast<uint64_t>(tunable_factor(ncpus));
  Tunables t;
  t.latency *= f;
  t.min_granularity *= f;
  t.wakeup_granularity *= f;
  return t;
}

uint64_t sched_period(const Tunables& tun, unsigned nr_running) {
  if (nr_running > kSchedNrLatency) return nr_running * tun.min_granularity;
  return tun.latency;
}

uint64_t sched_slice(const Tunables& tun, unsigned nr_running, uint64_t rq_load, LoadWeight se) {
  uint64_t slice = sched_period(tun, nr_running);
  slice = calc_delta(slice, se.weight, LoadWeight{rq_load, 0});
  return std::max(slice, tun.min_granularity);
}

}  // namespace sim::policies::cfs
