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

namespace {

// The base priority xnu gives a thread declared at `declared` in a task reniced to `nice`
// (policy-facts.md 4; the code is the same in xnu-517.12.7 and xnu-792.25.20): resetpriority
// calls task_importance(task, -nice), which calls task_priority(task, BASEPRI_DEFAULT - nice,
// max_priority 63) (clamped to [MINPRI, 63]); thread_recompute_priority then sets base =
// clamp(clamp(importance, -127, 127) + task_priority, MINPRI, thread max_priority), with
// importance = declared - 31 as thread_create_internal left it.
// sim: a user thread the scenario declares above MAXPRI_USER (which xnu could not create) keeps
// its declared priority as its max_priority, so nice never raises it but does lower it.
int niced_base(int declared, int nice) {
  int importance = std::clamp(declared - model::BASEPRI_DEFAULT, -model::MAXPRI, model::MAXPRI);
  int task_pri = std::clamp(model::BASEPRI_DEFAULT - nice, model::MINPRI, model::MAXPRI_USER);
  int max_pri = std::max(model::MAXPRI_USER, declared);
  return std::clamp(importance + task_pri, model::MINPRI, max_pri);
}

}  // namespace

// models xnu-792 osfmk/kern/sched_prim.c sched_startup: the tick is a kernel thread at
// MAXPRI_KERNEL (xnu-facts.md 2, 2.1), looping on sched_tick_continue. It first runs at the first
// tick, 125 ms in. Made before the standard queues are sized.
const PolicyContext& XnuPolicy::with_tick_thread(const PolicyContext& ctx) {
  static const std::vector<model::Op> program = [] {
    model::Op tick_op;
    tick_op.kind = model::OpKind::internal_sched_tick;
    model::Op forever;
    forever.kind = model::OpKind::loop;
    forever.forever = true;
    forever.body = {tick_op};
    return std::vector<model::Op>{forever};
  }();
  add_kernel_thread(ctx, std::string(kTickThreadName), model::SCHED_TICK_PRI, &program, SimTime{kSchedTick.ns});
  return ctx;
}

XnuPolicy::XnuPolicy(const PolicyContext& ctx)
    : StandardQueuePolicy(with_tick_thread(ctx), /*rt_by_deadline=*/true),
      tick_thread_(static_cast<int32_t>(ctx.threads->size()) - 1) {
  // ns timebase (xnu-facts.md 3.1): 125 ms * 5/3 = 208,333,333 -> 23.
  sched_pri_shift_ = fixed_pri_shift(kSchedTick.ns);
  scan_.reserve(kThreadUpdateSize);
  decay_.resize(ctx.threads->size());
  // nice is fixed for the whole run, as if donice ran before the threads started: the base of
  // every non-real-time user thread of a reniced task moves (real-time threads keep 97 and get
  // the niced base if they leave real time; kernel threads are refused by task_importance and
  // the loader refuses nice on them). The dispatcher computes sched_pri after this.
  for (Thread& t : *ctx.threads) {
    if (t.nice == 0 || t.kernel) continue;  // donice is never called for nice 0
    if (!t.is_realtime()) t.base_pri = niced_base(t.base_pri, t.nice);
    t.declared_base_pri = niced_base(t.declared_base_pri, t.nice);
  }
}

std::unique_ptr<Policy> XnuPolicy::make(const PolicyContext& ctx) { return std::make_unique<XnuPolicy>(ctx); }

// sim: `usage >> pri_shift` on a 32-bit register as PPC's srw executes it: the amount is taken
// mod 64 and 32..63 give 0. The initial 127 (INT8_MAX) thus leaves no penalty, but 792's
// no-contention shift of 151 (23 - INT8_MIN, xnu-facts.md 3.1) shifts by 23: leftover usage keeps
// costing priority until it decays, although the source's comment says it is ignored. (x86's shr
// takes the amount mod 32: also 23 for 151.)
uint64_t XnuPolicy::shift_usage(uint64_t usage, int shift) {
  int amount = shift & 63;
  return amount >= 32 ? 0 : (usage & 0xFFFFFFFFu) >> amount;
}

// models xnu-792 osfmk/kern/priority.c do_priority_computation (and 517's >> 20 variant)
int XnuPolicy::compute_sched_pri(const Thread& t) const {
  // A promotion (promoted_pri, -1 when none) holds sched_pri up, a depressed thread's too
  // (xnu-facts.md 3.4); it falls back to the computed value when the promotion ends.
  if (t.depressed) return std::max(model::DEPRESSPRI, t.promoted_pri);
  if (!t.is_timeshare()) return std::max(t.base_pri, t.promoted_pri);
  const DecayState& ds = decay(t.index);
  int shift = r517() ? k517UsageShift : ds.pri_shift;
  int64_t penalty = static_cast<int64_t>(shift_usage(ds.sched_usage, shift));
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
  // A changed value re-queues a queued thread at the tail with thread_setrun(SCHED_TAILQ): no
  // preemption check.
  if (t.is_timeshare() && t.promotions == 0 && !t.depressed)
    ctx_.host->set_sched_pri(t, compute_sched_pri(t), why, /*check=*/false);
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

// models xnu-792 osfmk/kern/sched_prim.c sched_tick_continue (run by the tick thread):
// compute_averages, then thread_update_scan
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
    // (nshared counts runnable timeshare threads; the tick thread, which compute_averages
    // subtracts from run_count, is not timeshare.)
    if (nshared > ncpus) {
      int load = ncpus > 1 ? nshared / ncpus : nshared;
      load = std::min(load, model::NRQS - 1);
      pset_pri_shift_ = sched_pri_shift_ - load_shift(load);
    } else {
      // load 0: sched_load_shifts[0] is INT8_MIN, so 23 - (-128) = 151 (not INT8_MAX).
      pset_pri_shift_ = sched_pri_shift_ + 128;
    }
    value = pset_pri_shift_;
  }
  ctx_.host->emit(TraceEvent{ctx_.host->now(), TraceKind::sched_tick, 0, -1, -1, -1, sched_tick_, value});

  // models xnu-792 osfmk/kern/sched_prim.c thread_update_scan and runq_scan: collect stale queued
  // timeshare threads, the shared queue then each CPU's, highest level first, into an array of
  // THREAD_UPDATE_SIZE; update them popping from the array's end (so one level's threads come
  // back to its tail in reverse order); when the array filled up, scan again, until no stale
  // queued thread is left.
  for (bool restart = true; restart;) {
    restart = false;
    scan_.clear();
    queues_.for_each([&](const Thread& t) {
      if (restart || !t.is_timeshare() || decay(t.index).sched_stamp == sched_tick_) return;
      if (scan_.size() == static_cast<size_t>(kThreadUpdateSize)) {
        restart = true;
        return;
      }
      scan_.push_back(&(*ctx_.threads)[static_cast<size_t>(t.index)]);
    });
    while (!scan_.empty()) {
      Thread* t = scan_.back();
      scan_.pop_back();
      if (t->state == model::ThreadState::runnable && decay(t->index).sched_stamp != sched_tick_)
        update_priority(*t, PriorityReason::tick);
    }
  }
}

}  // namespace sim::policies
