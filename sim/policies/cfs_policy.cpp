// `cfs`: Linux 6.5 CFS (pre-EEVDF) over the simulator's CPUs; each function names the kernel
// function it models (kernel/sched/fair.c unless said otherwise; policy-facts.md 2.4-2.6).
//
// The simulator tells the policy less than the kernel's scheduler core knows, so three things
// are inferred rather than told:
// - `curr` of a CPU's cfs_rq follows the CPU's running thread (sync_cpu): a thread handed to an
//   idle CPU or taken by a thread_switch hand-off becomes curr (set_next_entity) at the first
//   hook that looks at that CPU, and a curr found blocked or exited was dequeued for sleep.
// - run time comes from charge() and, between charges, from the CPU's progress mark (the tick
//   and the wakeup test fold it in as update_curr does).
// - a fair thread leaving its CPU with no need_resched and no RT thread waiting is yielding
//   (choose_over then does yield_task_fair: the skip buddy).
#include "sim/policies/cfs_policy.hpp"

#include <algorithm>
#include <climits>

namespace sim::policies {

using model::ThreadState;

namespace {

bool before(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) < 0; }  // entity_before
uint64_t max_v(uint64_t a, uint64_t b) { return static_cast<int64_t>(b - a) > 0 ? b : a; }
uint64_t min_v(uint64_t a, uint64_t b) { return static_cast<int64_t>(b - a) < 0 ? b : a; }

// entity_is_long_sleeper: 2^63 / scale_load_down(NICE_0_LOAD) ns, about 104 days.
constexpr int64_t kLongSleepNs = static_cast<int64_t>((uint64_t{1} << 63) / 1024);

}  // namespace

int CfsPolicy::nice_of(const Thread& t) { return t.nice; }

CfsPolicy::CfsPolicy(const PolicyContext& ctx, int hz)
    : Policy(ctx), hz_(hz), tick_(Duration::nanoseconds(1'000'000'000 / hz)), tun_(cfs::tunables_for(ctx.machine.cpus)) {
  ents_.resize(ctx_.threads->size());
  for (const Thread& t : *ctx_.threads) ent(t.index).lw = cfs::nice_load(nice_of(t));
  tree_pos_.assign(ctx_.threads->size(), -1);
  rq_.reserve(static_cast<size_t>(ctx_.machine.cpus));
  for (int c = 0; c < ctx_.machine.cpus; ++c) rq_.emplace_back(&tree_pos_);
  flags_.resize(rq_.size());
  next_balance_ = SimTime{kBalanceInterval.ns};
}

std::unique_ptr<Policy> CfsPolicy::make(const PolicyContext& ctx) { return std::make_unique<CfsPolicy>(ctx); }

int CfsPolicy::compute_sched_pri(const Thread& t) const {
  // Fair threads all report kFairPri (their order is vruntime's, and every RT-class thread is
  // above them); an RT-class thread its FIFO priority. A depression (swtch_pri) is not a
  // priority here: it is a yield.
  return is_rt_class(t) ? rt_prio(t) : kFairPri;
}

// --- cfs_rq bookkeeping ----------------------------------------------------------------------

unsigned CfsPolicy::nr_running(int c) const {
  const Rq& r = rq(c);
  return static_cast<unsigned>(r.tree.size()) + (r.curr >= 0) + (r.pending >= 0);
}

uint64_t CfsPolicy::rq_load(int c) const {
  const Rq& r = rq(c);
  uint64_t load = r.tree_load;
  if (r.curr >= 0) load += ent(r.curr).lw.weight;
  if (r.pending >= 0) load += ent(r.pending).lw.weight;
  return load;
}

// Keeps `curr` of `c`'s cfs_rq in step with the thread the CPU runs, or has been handed (see the
// file comment).
void CfsPolicy::sync_cpu(int c) {
  Rq& r = rq(c);
  const Processor& p = cpu(c);
  const Thread* run = nullptr;
  if (p.active && p.active->state == ThreadState::running) run = p.active;
  else if (p.handed) run = p.handed;
  if (r.leaving >= 0 && p.active != &th(r.leaving)) r.leaving = -1;
  if (r.curr >= 0) {
    const Thread& ct = th(r.curr);
    if (ct.state == ThreadState::blocked || ct.state == ThreadState::done || ct.state == ThreadState::unstarted)
      drop_curr(c, false);
    else if (run == &ct && is_rt_class(ct))
      drop_curr(c, true);
  }
  if (run && !is_rt_class(*run) && r.curr != run->index && r.leaving != run->index &&
      ent(run->index).where == Where::none) {
    if (r.curr >= 0) drop_curr(c, false);
    if (r.pending == run->index) r.pending = -1;
    adopt(c, run->index);
  }
}

// set_next_entity: `idx` (in no tree) becomes curr of `c`; its slice restarts.
void CfsPolicy::adopt(int c, int32_t idx) {
  Ent& e = ent(idx);
  if (e.curr_of >= 0 && e.curr_of != c) drop_curr(e.curr_of, false);
  attach(c, idx);
  clear_buddies(c, idx);
  rq(c).curr = idx;
  e.curr_of = c;
  e.prev_sum_exec = e.sum_exec;
  e.exec_start = ctx_.host->now();
}

// dequeue_entity of curr (DEQUEUE_SLEEP, a thread put back, or with `to_rt` one that left the
// fair class while running).
void CfsPolicy::drop_curr(int c, bool to_rt) {
  Rq& r = rq(c);
  int32_t idx = r.curr;
  update_curr(c);
  clear_buddies(c, idx);
  r.curr = -1;
  Ent& e = ent(idx);
  e.curr_of = -1;
  if (to_rt) {
    // switched_from_fair: keep its place relative to the queue.
    e.vruntime -= r.min_vruntime;
    e.relative = true;
  }
  update_min_vruntime(c);
}

// update_curr: the time curr has run since the last call goes into sum_exec and vruntime.
void CfsPolicy::update_curr(int c) {
  Rq& r = rq(c);
  if (r.curr < 0) return;
  Ent& e = ent(r.curr);
  SimTime now = ctx_.host->now();
  uint64_t delta = e.pending;
  e.pending = 0;
  const Processor& p = cpu(c);
  if (p.active == &th(r.curr) && p.active->state == ThreadState::running && !p.in_interrupt) {
    SimTime from = std::max(p.progress_from, e.folded_until);
    if (now > from) delta += static_cast<uint64_t>((now - from).ns);
    e.folded_until = std::max(e.folded_until, now);
  }
  if (delta == 0) return;
  e.exec_start = now;
  e.sum_exec += delta;
  e.vruntime += cfs::calc_delta_fair(delta, e.lw);
  update_min_vruntime(c);
}

// update_min_vruntime: monotonic, the smaller of curr's and the leftmost's.
void CfsPolicy::update_min_vruntime(int c) {
  Rq& r = rq(c);
  uint64_t v = r.min_vruntime;
  bool has_curr = r.curr >= 0;
  if (has_curr) v = ent(r.curr).vruntime;
  if (!r.tree.empty()) v = has_curr ? min_v(v, r.tree.top().key.v) : r.tree.top().key.v;
  r.min_vruntime = max_v(r.min_vruntime, v);
}

// The vruntime `e` gets when it joins `c`: renormalised from the queue it left (migration) or
// from a relative value, then placed if it wakes (place_entity; a first start is a fork).
uint64_t CfsPolicy::attached_vruntime(const Ent& e, int c) const {
  const Rq& r = rq(c);
  uint64_t v = e.vruntime;
  if (e.relative) v += r.min_vruntime;
  else if (e.rq >= 0 && e.rq != c) v = v - rq(e.rq).min_vruntime + r.min_vruntime;
  if (!e.waking) return v;
  if (!e.started) {
    // The threads present when the run begins are the system as it stands, not children forked
    // by a running parent: they join at min_vruntime with no debit, in scenario order, so N equal
    // spinners share the CPU exactly (policy-facts.md 2.7 check 3).
    if (ctx_.host->now().ns == 0) return r.min_vruntime;
    // task_fork_fair + place_entity(initial): START_DEBIT, the vslice it would have if queued.
    uint64_t slice = cfs::sched_slice(tun_, nr_running(c) + 1, rq_load(c) + e.lw.weight, e.lw);
    return r.min_vruntime + cfs::calc_delta_fair(slice, e.lw);
  }
  // place_entity(initial = 0): GENTLE_FAIR_SLEEPERS credit of half a latency.
  uint64_t placed = r.min_vruntime - (tun_.latency >> 1);
  SimTime now = ctx_.host->now();
  if (e.exec_start.ns > 0 && now > e.exec_start && (now - e.exec_start).ns > kLongSleepNs) return placed;
  return max_v(v, placed);
}

void CfsPolicy::attach(int c, int32_t idx) {
  Ent& e = ent(idx);
  e.vruntime = attached_vruntime(e, c);
  if (e.rq >= 0 && e.rq != c) clear_buddies(e.rq, idx);
  e.rq = c;
  e.relative = false;
  if (e.waking) {
    e.waking = false;
    e.started = true;
  }
}

void CfsPolicy::tree_insert(int c, int32_t idx) {
  Ent& e = ent(idx);
  Rq& r = rq(c);
  e.key = TreeKey{e.vruntime, seq_++};
  r.tree.push(idx, e.key);
  r.tree_load += e.lw.weight;
  e.where = Where::tree;
  Thread& t = th(idx);
  t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
}

void CfsPolicy::tree_erase(int32_t idx) {
  Ent& e = ent(idx);
  Rq& r = rq(e.rq);
  r.tree.erase(idx);
  r.tree_load -= e.lw.weight;
  e.where = Where::none;
  th(idx).queued = model::QueueKind::none;
}

void CfsPolicy::clear_buddies(int c, int32_t idx) {
  Flags& f = flags(c);
  if (f.next == idx) f.next = -1;
  if (f.skip == idx) f.skip = -1;
  if (f.last == idx) f.last = -1;
}

bool CfsPolicy::buddy_valid(int c, int32_t b, int32_t curr) const {
  if (b < 0) return false;
  if (b == curr) return true;
  const Ent& e = ent(b);
  return e.where == Where::tree && e.rq == c;
}

// wakeup_preempt_entity(curr, se): 1 when curr is more than se's wakeup granularity ahead.
int CfsPolicy::wakeup_preempt_entity(uint64_t curr_v, const Ent& se) const {
  int64_t vdiff = static_cast<int64_t>(curr_v - se.vruntime);
  if (vdiff <= 0) return -1;
  int64_t gran = static_cast<int64_t>(cfs::calc_delta_fair(tun_.wakeup_granularity, se.lw));
  return vdiff > gran ? 1 : 0;
}

// pick_next_entity: the leftmost, or curr when strictly before it; the skip buddy avoided and
// the next / last buddies preferred when that is not too unfair.
int32_t CfsPolicy::pick_next_entity(int c, int32_t curr) const {
  const Rq& r = rq(c);
  const Flags& f = flags(c);
  int32_t left = r.tree.empty() ? -1 : r.tree.top().thread;
  if (left < 0 || (curr >= 0 && before(ent(curr).vruntime, r.tree.top().key.v))) left = curr;
  if (left < 0) return -1;
  int32_t se = left;
  if (buddy_valid(c, f.skip, curr) && f.skip == se) {
    int32_t second = -1;
    if (se == curr) {
      second = r.tree.empty() ? -1 : r.tree.top().thread;
    } else {
      const Tree::Item* after = r.tree.second();
      second = after ? after->thread : -1;
      if (curr >= 0 && (second < 0 || before(ent(curr).vruntime, ent(second).vruntime))) second = curr;
    }
    if (second >= 0 && wakeup_preempt_entity(ent(second).vruntime, ent(left)) < 1) se = second;
  }
  if (buddy_valid(c, f.next, curr) && wakeup_preempt_entity(ent(f.next).vruntime, ent(left)) < 1) se = f.next;
  else if (buddy_valid(c, f.last, curr) && wakeup_preempt_entity(ent(f.last).vruntime, ent(left)) < 1) se = f.last;
  return se;
}

// The vruntime the wakeup test compares against for the thread a CPU runs: curr's, or for a
// thread handed to the CPU and not yet curr, the value it will have.
uint64_t CfsPolicy::compare_vruntime(const Thread& cur, int c) const {
  const Ent& e = ent(cur.index);
  return e.curr_of == c ? e.vruntime : attached_vruntime(e, c);
}

// check_preempt_wakeup for `t` just queued on `c` (curr updated by the enqueue): sets
// need_resched and the next buddy (and the last buddy with sched_nr_latency or more queued).
bool CfsPolicy::wakeup_check(int c, const Thread& t) const {
  const Thread* cur = cpu(c).current;
  if (!cur || cur == &t || is_rt_class(*cur)) return false;
  Flags& f = flags(c);
  if (f.resched) return false;
  if (wakeup_preempt_entity(compare_vruntime(*cur, c), ent(t.index)) != 1) return false;
  f.next = t.index;
  f.resched = true;
  if (nr_running(c) >= cfs::kSchedNrLatency) f.last = cur->index;
  return true;
}

// check_preempt_tick: the slice is used up, or curr leads the leftmost by more than a slice.
bool CfsPolicy::check_preempt_tick(int c) {
  Rq& r = rq(c);
  Ent& e = ent(r.curr);
  uint64_t ideal = std::min(cfs::sched_slice(tun_, nr_running(c), rq_load(c), e.lw), tun_.latency);
  uint64_t delta_exec = e.sum_exec - e.prev_sum_exec;
  if (delta_exec > ideal) {
    clear_buddies(c, r.curr);
    return true;
  }
  if (delta_exec < tun_.min_granularity) return false;
  if (r.tree.empty()) return false;
  int64_t delta = static_cast<int64_t>(e.vruntime - r.tree.top().key.v);
  return delta > 0 && static_cast<uint64_t>(delta) > ideal;
}

// --- the RT class (SCHED_FIFO) -----------------------------------------------------------------

const CfsPolicy::RtKey* CfsPolicy::first_rt(int c) const {
  for (const RtKey& k : rt_)
    if (eligible(th(k.idx), c)) return &k;
  return nullptr;
}

Thread* CfsPolicy::pick_rt(int c, int min_prio) {
  const RtKey* k = first_rt(c);
  if (!k || k->prio < min_prio) return nullptr;
  int32_t idx = k->idx;
  rt_.erase(*k);
  ent(idx).where = Where::none;
  th(idx).queued = model::QueueKind::none;
  return &th(idx);
}

// --- SMP (policy-facts.md 2.6, simplified) ----------------------------------------------------

int CfsPolicy::fair_cpu_for(const Thread& t, const Ent& e) const {
  if (t.bound_cpu >= 0) return t.bound_cpu;
  if (e.rq >= 0) return e.rq;
  if (t.last_cpu >= 0) return t.last_cpu;
  int best = 0;
  for (int c = 1; c < ncpus(); ++c)
    if (nr_running(c) < nr_running(best)) best = c;
  return best;
}

int32_t CfsPolicy::movable_in(int c) const {
  // The leftmost thread that is not bound.
  const Tree::Item* best = nullptr;
  for (const Tree::Item& k : rq(c).tree.items())
    if (th(k.thread).bound_cpu < 0 && (!best || TreeLess()(k.key, best->key))) best = &k;
  return best ? best->thread : -1;
}

// Moves a queued thread to `to`, keeping its place relative to min_vruntime.
void CfsPolicy::migrate(int32_t idx, int to) {
  int from = ent(idx).rq;
  update_curr(from);
  update_curr(to);
  tree_erase(idx);
  clear_buddies(from, idx);
  attach(to, idx);
  tree_insert(to, idx);
}

// rq->nr_running: the fair threads of a CPU's queue and the RT-class thread it runs.
unsigned CfsPolicy::busy_count(int c) const {
  const Thread* a = cpu(c).active;
  bool rt_running = a && a->state == ThreadState::running && is_rt_class(*a);
  return nr_running(c) + (rt_running ? 1 : 0);
}

// idle_balance: a CPU that finds nothing to run pulls the leftmost movable queued thread of the
// busiest queue.
void CfsPolicy::idle_pull(int c) {
  int busiest = -1;
  for (int o = 0; o < ncpus(); ++o) {
    if (o == c || movable_in(o) < 0) continue;
    if (busiest < 0 || busy_count(o) > busy_count(busiest)) busiest = o;
  }
  if (busiest >= 0) migrate(movable_in(busiest), c);
}

// Periodic load balancing every 4 ms: the busiest CPU gives its leftmost movable queued thread
// to the least busy one when they differ by 2 or more; the moved thread gets the
// wakeup-preemption test there.
void CfsPolicy::periodic_balance() {
  int longest = 0, shortest = 0;
  for (int c = 1; c < ncpus(); ++c) {
    if (busy_count(c) > busy_count(longest)) longest = c;
    if (busy_count(c) < busy_count(shortest)) shortest = c;
  }
  if (busy_count(longest) < busy_count(shortest) + 2) return;
  int32_t idx = movable_in(longest);
  if (idx < 0) return;
  sync_cpu(shortest);
  migrate(idx, shortest);
  if (!cpu(shortest).current || wakeup_check(shortest, th(idx))) ctx_.host->resched(shortest);
}

// --- run queues ---------------------------------------------------------------------------------

void CfsPolicy::enqueue(Thread& t, bool head) {
  Ent& e = ent(t.index);
  if (e.curr_of >= 0) drop_curr(e.curr_of, false);  // a handed thread released, or one we had not seen leave
  if (is_rt_class(t)) {
    if (e.rq >= 0 && e.started && !e.waking && !e.relative) {
      e.vruntime -= rq(e.rq).min_vruntime;  // switched_from_fair while queued
      e.relative = true;
    }
    e.rtkey = RtKey{rt_prio(t), head ? --rt_head_seq_ : ++rt_tail_seq_, t.index};
    rt_.insert(e.rtkey);
    e.where = Where::rt;
    t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
    return;
  }
  int c = fair_cpu_for(t, e);
  Rq& r = rq(c);
  if (r.leaving == t.index) r.leaving = -1;
  sync_cpu(c);
  update_curr(c);  // enqueue_entity
  attach(c, t.index);
  tree_insert(c, t.index);
}

void CfsPolicy::remove(Thread& t) {
  Ent& e = ent(t.index);
  if (e.where == Where::tree) {
    clear_buddies(e.rq, t.index);
    tree_erase(t.index);
  } else if (e.where == Where::rt) {
    rt_.erase(e.rtkey);
    e.where = Where::none;
    t.queued = model::QueueKind::none;
  }
}

// pick_next_task: the RT class first, then the fair class (pulling from the busiest queue when
// this one is empty).
Thread* CfsPolicy::choose(int c) {
  sync_cpu(c);
  flags(c).resched = false;
  if (Thread* t = pick_rt(c, INT_MIN)) return t;
  Rq& r = rq(c);
  if (r.curr >= 0) drop_curr(c, false);
  if (r.tree.empty() && ncpus() > 1) idle_pull(c);
  int32_t se = pick_next_entity(c, -1);
  if (se < 0) return nullptr;
  tree_erase(se);
  adopt(c, se);
  return &th(se);
}

// schedule() with prev still runnable: put_prev_entity + pick_next_entity, curr competing.
Thread* CfsPolicy::choose_over(int c, const Thread& outgoing) {
  sync_cpu(c);
  update_curr(c);
  Flags& f = flags(c);
  bool resched = f.resched;
  f.resched = false;
  if (is_rt_class(outgoing)) return pick_rt(c, rt_prio(outgoing));
  if (Thread* t = pick_rt(c, INT_MIN)) return t;
  Rq& r = rq(c);
  int32_t cur = r.curr == outgoing.index ? outgoing.index : -1;
  if (!resched && cur >= 0 && !r.tree.empty()) {
    // yield_task_fair (or swtch_pri's depression): the skip buddy.
    clear_buddies(c, cur);
    f.skip = cur;
  }
  if (r.tree.empty()) return nullptr;
  int32_t se = pick_next_entity(c, cur);
  if (se < 0 || se == cur) return nullptr;
  tree_erase(se);
  r.pending = se;
  return &th(se);
}

bool CfsPolicy::queue_beats(int c, const Thread& handed) const {
  const RtKey* k = first_rt(c);
  if (k && (!is_rt_class(handed) || k->prio > rt_prio(handed))) return true;
  if (is_rt_class(handed)) return false;
  const Rq& r = rq(c);
  if (r.tree.empty()) return false;
  const Flags& f = flags(c);
  if (f.resched && buddy_valid(c, f.next, -1)) return true;
  return before(r.tree.top().key.v, attached_vruntime(ent(handed.index), c));
}

bool CfsPolicy::has_queued(int c) const { return first_rt(c) != nullptr || !rq(c).tree.empty(); }

// --- decisions ------------------------------------------------------------------------------

Preemption CfsPolicy::should_preempt(const Processor& p, const Thread& running) const {
  const RtKey* k = first_rt(p.index);
  if (is_rt_class(running)) {
    if (k && k->prio > rt_prio(running)) return {true, true};
    return {};
  }
  // need_resched; or the thread has just come back to the fair class while running
  // (switched_to_fair reschedules it).
  if (k || flags(p.index).resched || ent(running.index).relative) return {true, true};
  return {};
}

// select_task_rq, simplified: the previous CPU if idle, else the first idle CPU.
int CfsPolicy::select_idle_cpu(const Thread& t, int exclude) const {
  const Ent& e = ent(t.index);
  return idle_cpu_near(t, e.rq >= 0 ? e.rq : t.last_cpu, exclude);
}

int CfsPolicy::preempt_target(const Thread& t) const {
  const Ent& e = ent(t.index);
  if (e.where == Where::rt) {
    // check_preempt_curr for the RT class: the CPU running a fair thread, else the lowest RT.
    int best = -1;
    int best_score = INT_MAX;
    int prio = e.rtkey.prio;
    for (int c = 0; c < ncpus(); ++c) {
      if (!eligible(t, c)) continue;
      const Thread* cur = cpu(c).current;
      if (!cur || cur == &t) continue;
      int score = is_rt_class(*cur) ? rt_prio(*cur) : INT_MIN;
      if (score >= prio) continue;
      if (score < best_score || (score == best_score && c == t.last_cpu)) {
        best = c;
        best_score = score;
      }
    }
    return best;
  }
  if (e.where != Where::tree) return -1;
  return wakeup_check(e.rq, t) ? e.rq : -1;
}

// put_prev_entity: curr goes back to its queue (enqueue() follows); a thread picked by
// choose_over becomes curr.
Requeue CfsPolicy::requeue(Thread& t, const Processor& p, core::SwitchReason why) {
  int c = p.index;
  Rq& r = rq(c);
  if (r.curr == t.index) {
    update_curr(c);
    r.curr = -1;
    ent(t.index).curr_of = -1;
  }
  r.leaving = t.index;
  if (r.pending >= 0) {
    int32_t n = r.pending;
    r.pending = -1;
    adopt(c, n);
  }
  t.current_quantum = Duration{};
  Requeue q;
  if (is_rt_class(t)) {
    q.head = why == core::SwitchReason::preempt;  // a preempted SCHED_FIFO thread keeps its place
    q.check = true;                               // and may displace a lower thread elsewhere
  }
  return q;
}

// try_to_wake_up: placed now on its previous CPU's queue (place_entity; a first start is a fork
// with START_DEBIT), and renormalised if it ends up on another CPU. An RT-class thread is placed
// when it next joins the fair class.
void CfsPolicy::on_wakeup(Thread& t) {
  Ent& e = ent(t.index);
  if (e.curr_of >= 0) drop_curr(e.curr_of, false);  // its sleep, seen now
  e.waking = true;
  if (is_rt_class(t)) return;
  int c = fair_cpu_for(t, e);
  sync_cpu(c);
  update_curr(c);
  attach(c, t.index);
}

void CfsPolicy::charge(Thread& t, SimTime from, SimTime to) {
  if (is_rt_class(t)) return;
  Ent& e = ent(t.index);
  SimTime f = std::max(from, e.folded_until);
  if (to > f) e.pending += static_cast<uint64_t>((to - f).ns);
  e.folded_until = std::max(e.folded_until, to);
}

// scheduler_tick -> task_tick_fair -> entity_tick on every CPU; load balancing every 4 ms.
void CfsPolicy::tick() {
  for (int c = 0; c < ncpus(); ++c) {
    sync_cpu(c);
    Rq& r = rq(c);
    if (r.curr < 0) continue;
    update_curr(c);
    if (nr_running(c) > 1 && check_preempt_tick(c)) {
      flags(c).resched = true;
      ctx_.host->resched(c);
    }
  }
  SimTime now = ctx_.host->now();
  if (now >= next_balance_) {
    while (next_balance_ <= now) next_balance_ += kBalanceInterval;
    if (ncpus() > 1) periodic_balance();
  }
}

std::string CfsPolicy::check_invariants() const {
  auto bad = [&](int32_t i, const char* what) { return th(i).name + ": " + what; };
  size_t in_trees = 0;
  for (int c = 0; c < ncpus(); ++c) {
    const Rq& r = rq(c);
    uint64_t load = 0;
    for (const Tree::Item& k : r.tree.items()) {
      const Ent& e = ent(k.thread);
      if (e.where != Where::tree || e.rq != c) return bad(k.thread, "in a tree it does not belong to");
      if (th(k.thread).state != ThreadState::runnable) return bad(k.thread, "queued but not runnable");
      if (th(k.thread).queued == model::QueueKind::none) return bad(k.thread, "queued with Thread::queued none");
      if (!eligible(th(k.thread), c)) return bad(k.thread, "on the queue of a CPU it is not bound to");
      load += e.lw.weight;
    }
    in_trees += r.tree.size();
    if (load != r.tree_load) return "cpu" + std::to_string(c) + ": tree load out of step";
    if (r.pending >= 0) return "cpu" + std::to_string(c) + ": a pick left pending";
    if (r.curr >= 0) {
      const Ent& e = ent(r.curr);
      if (e.curr_of != c || e.where != Where::none) return bad(r.curr, "curr but also elsewhere");
    }
  }
  size_t queued = 0;
  for (const Thread& t : *ctx_.threads) {
    const Ent& e = ent(t.index);
    if (t.queued != model::QueueKind::none) ++queued;
    if ((t.queued != model::QueueKind::none) != (e.where != Where::none)) return bad(t.index, "Thread::queued out of step");
    if (e.curr_of >= 0 && rq(e.curr_of).curr != t.index) return bad(t.index, "curr_of out of step");
  }
  if (queued != in_trees + rt_.size()) return "queued count out of step";
  return {};
}

}  // namespace sim::policies
