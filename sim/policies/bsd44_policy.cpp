// The bsd44 policy: 4.4BSD-Lite2's kern_synch.c (schedcpu, updatepri, wakeup, resetpriority,
// roundrobin), kern_clock.c (statclock) and vm_meter.c (loadav), policy-facts.md 1.1-1.9. Each
// routine names the BSD routine it models.
#include "sim/policies/bsd44_policy.hpp"

#include <bit>

namespace sim::policies {

using core::PriorityReason;
using model::ThreadState;
using namespace bsd44;

// --- queues -------------------------------------------------------------------------------------

int Bsd44Policy::Queues::highest() const {
  for (int w = static_cast<int>(bits_.size()) - 1; w >= 0; --w)
    if (bits_[static_cast<size_t>(w)]) return w * 64 + 63 - std::countl_zero(bits_[static_cast<size_t>(w)]);
  return -1;
}

void Bsd44Policy::Queues::push(Thread& t, int level, bool at_head, int32_t after) {
  auto l = static_cast<size_t>(level);
  t.rq_level = static_cast<int16_t>(level);
  if (heads_[l] < 0) {
    t.rq_prev = t.rq_next = -1;
    heads_[l] = tails_[l] = t.index;
    bits_[l / 64] |= uint64_t{1} << (l % 64);
  } else if (after >= 0) {
    t.rq_prev = after;
    t.rq_next = threads_[after].rq_next;
    if (t.rq_next >= 0) threads_[t.rq_next].rq_prev = t.index;
    else tails_[l] = t.index;
    threads_[after].rq_next = t.index;
  } else if (at_head) {
    t.rq_prev = -1;
    t.rq_next = heads_[l];
    threads_[heads_[l]].rq_prev = t.index;
    heads_[l] = t.index;
  } else {
    t.rq_next = -1;
    t.rq_prev = tails_[l];
    threads_[tails_[l]].rq_next = t.index;
    tails_[l] = t.index;
  }
  ++count_;
}

void Bsd44Policy::Queues::erase(Thread& t) {
  auto l = static_cast<size_t>(t.rq_level);
  if (t.rq_prev >= 0) threads_[t.rq_prev].rq_next = t.rq_next;
  else heads_[l] = t.rq_next;
  if (t.rq_next >= 0) threads_[t.rq_next].rq_prev = t.rq_prev;
  else tails_[l] = t.rq_prev;
  if (heads_[l] < 0) bits_[l / 64] &= ~(uint64_t{1} << (l % 64));
  t.rq_prev = t.rq_next = -1;
  t.rq_level = -1;
  --count_;
}

// --- construction -------------------------------------------------------------------------------

Bsd44Policy::Bsd44Policy(const PolicyContext& ctx, Options options) : Policy(ctx), options_(options) {
  procs_.resize(ctx.threads->size());
  for (const Thread& t : *ctx.threads) {
    Proc& pr = procs_[static_cast<size_t>(t.index)];
    pr.usrpri = pr.priority = usrpri(0, t.nice);
  }
  shared_.init(ctx.threads->data());
  bound_.resize(static_cast<size_t>(ctx.machine.cpus));
  for (Queues& q : bound_) q.init(ctx.threads->data());
  want_resched_.assign(static_cast<size_t>(ctx.machine.cpus), 0);
  ldavg_ = options_.held_ldavg.value_or(0);
}

std::unique_ptr<Policy> Bsd44Policy::make(const PolicyContext& ctx) { return std::make_unique<Bsd44Policy>(ctx); }

// --- ranks --------------------------------------------------------------------------------------

int Bsd44Policy::compute_sched_pri(const Thread& t) const {
  if (t.depressed) return std::max(model::DEPRESSPRI, t.promoted_pri);
  if (!t.is_timeshare()) return std::max(t.base_pri, t.promoted_pri);
  return std::max(shown_pri(proc(t).priority), t.promoted_pri);
}

// --- run queues (setrunqueue, remrq, cpu_switch) ----------------------------------------------

void Bsd44Policy::enqueue(Thread& t, bool head) {
  Queues& q = queues_for(t);
  t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
  int lv = level(t);
  Proc& pr = proc(t);
  if (t.index == keep_) {
    q.push(t, lv, keep_after_ < 0, keep_after_);  // after its old predecessor, or at the head
    pr.seq = keep_seq_;
    return;
  }
  pr.seq = head ? --head_seq_ : ++seq_;
  q.push(t, lv, head, -1);
}

void Bsd44Policy::remove(Thread& t) {
  if (t.index == keep_) {
    keep_after_ = t.rq_prev;
    keep_seq_ = proc(t).seq;
  }
  queues_for(t).erase(t);
  t.queued = model::QueueKind::none;
}

// cpu_switch: the head of the best non-empty queue. A CPU sees the shared queues and its own
// bound queue; between their heads at one level the one queued first wins (FIFO).
Thread* Bsd44Policy::best_for(int cpu) const {
  const Queues& local = bound_[static_cast<size_t>(cpu)];
  int s = shared_.highest(), b = local.highest();
  if (s < 0 && b < 0) return nullptr;
  if (s != b) return s > b ? shared_.head(s) : local.head(b);
  Thread* hs = shared_.head(s);
  Thread* hb = local.head(b);
  return proc(*hb).seq < proc(*hs).seq ? hb : hs;
}

Thread* Bsd44Policy::take(int cpu, Thread* t) {
  want_resched_[static_cast<size_t>(cpu)] = 0;
  if (!t) return nullptr;
  remove(*t);
  // userret: a thread going back to user mode gives up its wakeup (sleep) priority.
  Proc& pr = proc(*t);
  if (pr.userret && !t->kernel_mode()) {
    pr.userret = false;
    if (pr.priority < PUSER) pr.priority = pr.usrpri;
  }
  if (int pri = compute_sched_pri(*t); pri != t->sched_pri) ctx_.host->set_sched_pri(*t, pri, PriorityReason::wake);
  return t;
}

Thread* Bsd44Policy::choose(int cpu) { return take(cpu, best_for(cpu)); }

// mi_switch after need_resched: the outgoing process goes to the tail of its queue first, so a
// queued thread at its level or better runs instead.
Thread* Bsd44Policy::choose_over(int cpu, const Thread& outgoing) {
  Thread* t = best_for(cpu);
  if (t && t->rq_level < level(outgoing)) t = nullptr;
  return take(cpu, t);
}

bool Bsd44Policy::queue_beats(int cpu, const Thread& handed) const {
  const Thread* t = best_for(cpu);
  bool beats = t && t->rq_level > level(handed);
  if (!beats) want_resched_[static_cast<size_t>(cpu)] = 0;  // the CPU chose: the handed thread
  return beats;
}

bool Bsd44Policy::has_queued(int cpu) const { return best_for(cpu) != nullptr; }

// --- decisions ----------------------------------------------------------------------------------

// The AST taken at the return to user mode after need_resched (no kernel preemption, so never
// urgent): the running process is put back at the tail of its queue and cpu_switch takes the
// best head, so it gives way to a queued thread of its level or better. Without need_resched
// (a priority change of the running thread itself) nothing happens, as in BSD.
Preemption Bsd44Policy::should_preempt(const Processor& p, const Thread& running) const {
  auto& want = want_resched_[static_cast<size_t>(p.index)];
  if (!want) return {};
  const Thread* t = best_for(p.index);
  bool preempt = t && t->rq_level >= level(running);
  if (!preempt) want = 0;  // it was chosen again
  return Preemption{preempt, false};
}

void Bsd44Policy::need_resched(int cpu) const {
  want_resched_[static_cast<size_t>(cpu)] = 1;
}

// wakeup's need_resched (policy-facts 1.5: unconditional, "p_priority is always better than
// curpriority"), made SMP as 1.9 says: the CPU running the worst priority, if `t` ranks with it
// or above (else the AST would choose the same thread again). A timeshare thread that was not
// woken from a sleep (created: fork's setrunqueue makes no need_resched; or raised by schedcpu:
// resetpriority's need_resched needs a better priority) needs a strictly better level. Fixed
// and real-time threads preempt as at a wakeup.
int Bsd44Policy::preempt_target(const Thread& t) const {
  const auto& cpus = *ctx_.cpus;
  int worst = -1, worst_level = kLevels;
  for (const Processor& p : cpus) {
    if (t.bound_cpu >= 0 && p.index != t.bound_cpu) continue;
    if (!p.current) return -1;  // idle or about to choose: it will take the best head
    int lv = level(*p.current);
    if (lv < worst_level) worst = p.index, worst_level = lv;
  }
  bool woken = !t.is_timeshare() || proc(t).userret;
  if (worst < 0 || level(t) < worst_level || (!woken && level(t) == worst_level)) return -1;
  need_resched(worst);
  return worst;
}

Requeue Bsd44Policy::requeue(Thread& t, const Processor&, core::SwitchReason) {
  Proc& pr = proc(t);
  if (pr.userret && !t.kernel_mode()) {
    pr.userret = false;
    if (pr.priority < PUSER) pr.priority = pr.usrpri;
  }
  t.current_quantum = Duration{};  // no quantum: roundrobin ends slices
  return Requeue{false, false};    // setrunqueue: the tail of its queue
}

// wakeup / setrunnable (policy-facts 1.5): updatepri after more than one second asleep, then
// the process runs at the sleep priority it slept with until it returns to user mode.
void Bsd44Policy::on_wakeup(Thread& t) {
  Proc& pr = proc(t);
  if (!pr.started) {  // created (fork): it starts at its user priority
    pr.started = true;
    pr.priority = pr.usrpri;
    return;
  }
  if (pr.slptime > 1) {
    pr.estcpu = updatepri_estcpu(loadfactor(ldavg_), pr.estcpu, pr.slptime);
    resetpriority(pr, t);
  }
  pr.slptime = 0;
  pr.priority = sleep_priority(t.block_reason);
  pr.userret = true;
}

void Bsd44Policy::update_priority(Thread& t, PriorityReason why) {
  if (why != PriorityReason::wake) return;
  if (int pri = compute_sched_pri(t); pri != t.sched_pri) ctx_.host->set_sched_pri(t, pri, why);
}

void Bsd44Policy::refresh(Thread& t, PriorityReason why) {
  int pri = compute_sched_pri(t);
  if (t.queued == model::QueueKind::none) {
    if (pri != t.sched_pri) ctx_.host->set_sched_pri(t, pri, why);
    return;
  }
  bool same_level = level_for(t, pri) == t.rq_level;
  if (pri == t.sched_pri) {
    if (!same_level) {  // remrq + setrunqueue: the tail of its new queue
      remove(t);
      enqueue(t, false);
    }
    return;
  }
  if (same_level) keep_ = t.index;  // schedcpu leaves it where it is
  ctx_.host->set_sched_pri(t, pri, why);
  keep_ = -1;
}

// --- the clock ----------------------------------------------------------------------------------

void Bsd44Policy::tick() {
  ++ticks_;
  statclock();
  if (ticks_ % kRoundRobinTicks == 0) {
    // roundrobin: need_resched on every CPU running a thread.
    for (const Processor& p : *ctx_.cpus) {
      if (!p.active || p.active->state != ThreadState::running) continue;
      need_resched(p.index);
      ctx_.host->resched(p.index);
    }
  }
  if (ticks_ % kSchedCpuTicks == 0) schedcpu();
}

// statclock: the thread on each CPU at the tick instant is charged one tick (statistical);
// every 4th increment of p_estcpu its user priority is recomputed.
void Bsd44Policy::statclock() {
  for (const Processor& p : *ctx_.cpus) {
    Thread* t = p.active;
    if (!t || t->state != ThreadState::running) continue;  // idle ticks charge nobody
    Proc& pr = proc(*t);
    ++pr.cpticks;
    pr.estcpu = statclock_estcpu(pr.estcpu);
    if (pr.userret && !t->kernel_mode()) {  // it went back to user mode since its wakeup
      pr.userret = false;
      if (pr.priority < PUSER) pr.priority = pr.usrpri;
    }
    if ((pr.estcpu & 3) == 0) {
      resetpriority(pr, *t);
      if (pr.priority >= PUSER) pr.priority = pr.usrpri;
    }
    if (int pri = compute_sched_pri(*t); pri != t->sched_pri) ctx_.host->set_sched_pri(*t, pri, PriorityReason::tick);
  }
}

// schedcpu, once a second: decay every process's estcpu that did not sleep the whole second
// with the load factor taken once at entry, add nice, recompute p_usrpri; then vmmeter's loadav
// every 5 s (after the decay that used the old value).
void Bsd44Policy::schedcpu() {
  uint32_t lf = loadfactor(ldavg_);
  auto& threads = *ctx_.threads;
  // resetpriority's need_resched when a new p_usrpri beats curpriority (set at the last return
  // to user mode, so taken before the pass), made SMP: the CPU running the worst timeshare
  // priority (fixed and real-time threads are above every BSD priority).
  int worst = -1, worst_pri = -1;
  for (const Processor& p : *ctx_.cpus) {
    const Thread* t = p.active;
    if (!t || t->state != ThreadState::running || !t->is_timeshare()) continue;
    int cur = proc(*t).priority;
    if (cur > worst_pri) worst = p.index, worst_pri = cur;
  }
  int best_new = MAXPRI + 1;
  for (Thread& t : threads) {
    if (t.state == ThreadState::unstarted || t.state == ThreadState::done) continue;
    Proc& pr = proc(t);
    if (t.state == ThreadState::blocked) ++pr.slptime;
    if (pr.slptime > 1) continue;  // asleep the whole second
    pr.cpticks = 0;
    pr.estcpu = schedcpu_estcpu(lf, pr.estcpu, t.nice);
    resetpriority(pr, t);
    if (t.is_timeshare()) best_new = std::min(best_new, pr.usrpri);
    if (pr.priority >= PUSER) pr.priority = pr.usrpri;
    refresh(t, PriorityReason::decay);
  }
  if (worst >= 0 && best_new < worst_pri) {
    need_resched(worst);
    ctx_.host->resched(worst);
  }
  if (options_.held_ldavg || (ticks_ / kSchedCpuTicks) % kLoadavSeconds != 0) return;
  // loadav: runnable and running threads, and sleepers at a priority <= PZERO that have not
  // been asleep at a schedcpu (none, right after the pass above: the clause never counts).
  uint32_t nrun = 0;
  for (const Thread& t : threads) {
    if (t.state == ThreadState::runnable || t.state == ThreadState::running) ++nrun;
    else if (t.state == ThreadState::blocked && sleep_priority(t.block_reason) <= PZERO && proc(t).slptime == 0)
      ++nrun;
  }
  ldavg_ = loadav(ldavg_, nrun);
}

}  // namespace sim::policies
