// The xnu policy: timeshare decay (xnu-facts.md 3.1 for 792, 3.2 for 517), the fail-safe (4.3)
// and the scheduler tick (2). Each routine names the xnu routine it models.
#include "sim/policies/xnu_policy.hpp"

#include <algorithm>

namespace sim::policies {

using core::PriorityReason;
using core::TraceEvent;
using core::TraceKind;

const std::array<DecayShift, kSchedDecayTicks> kDecayShifts = {{
    {1, 1},   {1, 3},   {1, -3},  {2, -7},  {3, 5},   {3, -5},  {4, -8},  {5, 7},
    {5, -7},  {6, -10}, {7, 10},  {7, -9},  {8, -11}, {9, 12},  {9, -11}, {10, -13},
    {11, 14}, {11, -13}, {12, -15}, {13, 17}, {13, -15}, {14, -17}, {15, 19}, {16, 18},
    {16, -19}, {17, 22}, {18, 20}, {18, -20}, {19, 26}, {20, 22}, {20, -22}, {21, -27},
}};

uint64_t decay_usage(uint64_t u, uint32_t ticks) {
  const DecayShift& s = kDecayShifts[ticks];
  if (s.s2 > 0) return (u >> s.s1) + (u >> s.s2);
  return (u >> s.s1) - (u >> -s.s2);
}

int fixed_pri_shift(int64_t tick_abs) {
  // models xnu-792 osfmk/kern/sched_prim.c sched_timebase_init (sched_pri_shift)
  int64_t v = tick_abs * 5 / 3;
  int shift = 0;
  while (v > 31) {
    v >>= 1;
    ++shift;
  }
  return shift;
}

int load_shift(int load) {
  int s = 0;
  while (load > 1) {
    load >>= 1;
    ++s;
  }
  return s;
}

XnuPolicy::XnuPolicy(const PolicyContext& ctx) : StandardQueuePolicy(ctx, /*rt_by_deadline=*/true) {
  // ns timebase (xnu-facts.md 3.1): 125 ms * 5/3 = 208,333,333 -> 23.
  sched_pri_shift_ = fixed_pri_shift(kSchedTick.ns);
  scan_.reserve(128);
  decay_.resize(ctx.threads->size());
}

std::unique_ptr<Policy> XnuPolicy::make(const PolicyContext& ctx) { return std::make_unique<XnuPolicy>(ctx); }

// models xnu-792 osfmk/kern/priority.c do_priority_computation (and 517's >> 20 variant)
int XnuPolicy::compute_sched_pri(const Thread& t) const {
  // A promotion (promoted_pri, -1 when none) holds sched_pri up, a depressed thread's too
  // (xnu-facts.md 3.4); it falls back to the computed value when the promotion ends.
  if (t.depressed) return std::max(model::DEPRESSPRI, t.promoted_pri);
  if (!t.is_timeshare()) return std::max(t.base_pri, t.promoted_pri);
  const DecayState& ds = decay(t.index);
  int shift = r517() ? k517UsageShift : ds.pri_shift;
  // A shift of 32 or more leaves nothing of a 32-bit usage (pri_shift 127 = no contention).
  int64_t penalty = shift >= 32 ? 0 : static_cast<int64_t>(ds.sched_usage >> shift);
  int64_t pri = t.base_pri - penalty;
  return std::max(static_cast<int>(std::clamp<int64_t>(pri, model::MINPRI_USER, model::MAXPRI_KERNEL)),
                  t.promoted_pri);
}

Duration XnuPolicy::quantum_for(const Thread& t) const {
  if (t.is_realtime()) return t.realtime.computation;
  return ctx_.machine.quantum;
}

void XnuPolicy::charge(Thread& t, SimTime from, SimTime to) {
  DecayState& ds = decay(t.index);
  ds.cpu_delta_ns += (to - from).ns;  // 792: precise timers, sampled into usage later
  if (!r517()) return;
  // 517: statistical timers (STAT_TIME): each 100 Hz clock interrupt charges a whole 10 ms to
  // whichever thread is on the CPU at that instant, i.e. one charge per boundary in (from, to].
  int64_t boundaries = to.ns / kStatTick.ns - from.ns / kStatTick.ns;
  ds.stat_delta_us += boundaries * kStatChargeUs;
}

uint64_t XnuPolicy::sample_delta(Thread& t) {
  DecayState& ds = decay(t.index);
  if (r517()) {
    uint64_t d = static_cast<uint64_t>(ds.stat_delta_us) * sched_load_;
    ds.stat_delta_us = 0;
    ds.cpu_delta_ns = 0;
    return d;
  }
  uint64_t d = static_cast<uint64_t>(ds.cpu_delta_ns);
  ds.cpu_delta_ns = 0;
  return d;
}

// models xnu-792 osfmk/kern/priority.c update_priority (517: the same with linear load)
void XnuPolicy::update_priority(Thread& t, PriorityReason why) {
  DecayState& ds = decay(t.index);
  if (ds.sched_stamp == sched_tick_) return;
  uint32_t ticks = sched_tick_ - ds.sched_stamp;
  ds.sched_stamp = sched_tick_;
  uint64_t delta = sample_delta(t);
  if (r517()) {
    // 517 forgets usage after more than 30 ticks asleep.
    if (ticks > 30) {
      ds.sched_usage = 0;
    } else {
      ds.sched_usage = decay_usage(ds.sched_usage + delta, ticks);
    }
  } else {
    ds.pri_shift = pset_pri_shift_;  // taken before the accumulation test
    if (ticks < static_cast<uint32_t>(kSchedDecayTicks)) {
      uint64_t u = ds.sched_usage;
      if (ds.pri_shift < kNoShift) u += delta;
      ds.sched_usage = decay_usage(u, ticks);
    } else {
      ds.sched_usage = 0;
    }
  }
  if (t.failsafe && ds.sched_stamp >= t.safe_release) failsafe_release(t);
  if (t.is_timeshare() && t.promotions == 0 && !t.depressed)
    ctx_.host->set_sched_pri(t, compute_sched_pri(t), why);
}

// models xnu-792 osfmk/kern/priority.c thread_quantum_expire (fail-safe trip and recompute)
void XnuPolicy::quantum_expire(Thread& t) {
  DecayState& ds = decay(t.index);
  // Only non-timeshare, non-promoted threads are metered (xnu-facts.md 4.3): the trip comes at
  // the first quantum expiry whose CPU time since the last wakeup exceeds 800 quanta (8 s).
  if (!t.is_timeshare() && t.promotions == 0 &&
      t.computation_metered_ns > kMaxUnsafeQuanta * ctx_.machine.quantum.ns)
    failsafe_trip(t);
  if (ds.sched_stamp != sched_tick_) {
    update_priority(t, PriorityReason::quantum);
  } else if (t.is_timeshare()) {
    uint64_t delta = sample_delta(t);
    if (r517() || ds.pri_shift < kNoShift) ds.sched_usage += delta;
    if (t.promotions == 0 && !t.depressed)
      ctx_.host->set_sched_pri(t, compute_sched_pri(t), PriorityReason::quantum);
  }
}

void XnuPolicy::failsafe_trip(Thread& t) {
  t.saved_mode = t.mode;
  // An RT thread drops to DEPRESSPRI; a fixed kernel thread keeps its base but decays.
  if (t.is_realtime()) t.base_pri = model::DEPRESSPRI;
  t.mode = model::ThreadMode::timeshare;
  t.failsafe = true;
  t.safe_release = sched_tick_ + kSchedSafeTicks;
  ctx_.host->emit(TraceEvent{ctx_.host->now(), TraceKind::demoted, 0, static_cast<int16_t>(t.cpu), t.index, -1,
                             t.computation_metered_ns, t.safe_release});
  ctx_.host->set_sched_pri(t, compute_sched_pri(t), PriorityReason::failsafe);
}

void XnuPolicy::failsafe_release(Thread& t) {
  t.failsafe = false;
  t.mode = t.saved_mode;
  if (t.mode == model::ThreadMode::realtime) t.base_pri = model::BASEPRI_RTQUEUES;
  ctx_.host->emit(TraceEvent{ctx_.host->now(), TraceKind::undemoted, 0, static_cast<int16_t>(t.cpu), t.index, -1,
                             t.safe_release, 0});
  if (t.mode != model::ThreadMode::timeshare && !t.depressed)
    ctx_.host->set_sched_pri(t, t.base_pri, PriorityReason::failsafe);
}

// models xnu-792 osfmk/kern/sched_prim.c sched_tick_continue: compute_averages, then the scan
// of queued timeshare threads with stale stamps (at most 128 per pass)
void XnuPolicy::tick() {
  ++sched_tick_;
  int nshared = 0;
  for (const Thread& t : *ctx_.threads) {
    bool runnable = t.state == model::ThreadState::runnable || t.state == model::ThreadState::running;
    if (runnable && t.is_timeshare()) ++nshared;
  }
  int ncpus = ctx_.machine.cpus;
  int64_t value;
  if (r517()) {
    // models xnu-517 osfmk/kern/mach_factor.c compute_mach_factor (sched_load, 128 = 1.0)
    uint32_t load_now = nshared > ncpus ? static_cast<uint32_t>((nshared << 7) / ncpus) : 0;
    sched_load_ = (sched_load_ + load_now) >> 1;
    value = sched_load_;
  } else {
    // models xnu-792 osfmk/kern/sched_average.c compute_averages (pset pri_shift)
    if (nshared > ncpus) {
      int load = ncpus > 1 ? nshared / ncpus : nshared;
      load = std::min(load, model::NRQS - 1);
      pset_pri_shift_ = sched_pri_shift_ - load_shift(load);
    } else {
      pset_pri_shift_ = kNoShift;
    }
    value = pset_pri_shift_;
  }
  ctx_.host->emit(TraceEvent{ctx_.host->now(), TraceKind::sched_tick, 0, -1, -1, -1, sched_tick_, value});

  scan_.clear();
  queues_.for_each([&](const Thread& t) {
    if (scan_.size() < 128 && t.is_timeshare() && decay(t.index).sched_stamp != sched_tick_)
      scan_.push_back(&(*ctx_.threads)[static_cast<size_t>(t.index)]);
  });
  for (Thread* t : scan_) update_priority(*t, PriorityReason::tick);
}

}  // namespace sim::policies
