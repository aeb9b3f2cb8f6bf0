// Property test: random lock programs (mutexes of every protocol, rw locks, spin locks,
// funnels) on 1-4 CPUs, with the sync layer's invariants checked after every instant and
// liveness checked at the end. Locks are always nested in index order, so any deadlock would
// be the model's own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>

#include "reports/trace_text.hpp"
#include "tests/sync/sync_support.hpp"

using namespace testing;
using model::FunnelName;
using model::OpKind;
using model::ThreadState;
using scenario::LockKind;
using scenario::LockProtocol;

namespace {

struct Gen {
  std::mt19937_64 rng;
  std::vector<scenario::LockSpec> locks;
  bool leak = false;  // some programs end holding a mutex or rw lock (and maybe a funnel)

  int64_t in(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)); }
  bool chance(int percent) { return in(1, 100) <= percent; }

  scenario::LockSpec lock(int i) {
    std::string id = "l" + std::to_string(i);
    int k = static_cast<int>(in(0, 9));
    if (k <= 1) return lock_of(id, LockKind::spin);
    if (k <= 3) return lock_of(id, LockKind::rw);
    LockProtocol p = std::array{LockProtocol::xnu, LockProtocol::none, LockProtocol::inherit, LockProtocol::ceiling}
        [static_cast<size_t>(in(0, 3))];
    return mutex(id, p, p == LockProtocol::ceiling ? std::optional<int>(static_cast<int>(in(20, 90))) : std::nullopt);
  }

  // A critical section on lock `i` (and maybe nested ones above it). Nothing that can block
  // goes inside a spin-lock section.
  void section(int i, std::vector<model::Op>& out, int depth) {
    const scenario::LockSpec& l = locks[static_cast<size_t>(i)];
    LockMode mode = l.kind != LockKind::rw ? LockMode::exclusive : chance(50) ? LockMode::read : LockMode::write;
    out.push_back(lock_op(i, mode));
    if (l.kind == LockKind::spin) {
      out.push_back(run_op(us(in(10, 300))));
      if (depth < 2 && i + 1 < static_cast<int>(locks.size()) && chance(30)) {
        int j = static_cast<int>(in(i + 1, static_cast<int64_t>(locks.size()) - 1));
        if (locks[static_cast<size_t>(j)].kind == LockKind::spin) section(j, out, depth + 1);
      }
    } else {
      out.push_back(run_op(us(in(50, 2000))));
      if (chance(20)) out.push_back(sleep_op(us(in(50, 1000))));
      if (chance(10)) out.push_back(simple_op(OpKind::yield));
      if (depth < 2 && i + 1 < static_cast<int>(locks.size()) && chance(40))
        section(static_cast<int>(in(i + 1, static_cast<int64_t>(locks.size()) - 1)), out, depth + 1);
      out.push_back(run_op(us(in(10, 500))));
    }
    out.push_back(unlock_op(i, mode));
  }

  void body(std::vector<model::Op>& out, bool in_funnel) {
    int n = static_cast<int>(in(1, 4));
    for (int k = 0; k < n; ++k) {
      int c = static_cast<int>(in(0, 9));
      if (c <= 4 && !locks.empty()) section(static_cast<int>(in(0, static_cast<int64_t>(locks.size()) - 1)), out, 0);
      else if (c == 5) out.push_back(run_op(us(in(50, 2000))));
      else if (c == 6) out.push_back(sleep_op(us(in(50, 3000))));
      else if (c == 7) out.push_back(simple_op(OpKind::yield));
      else if (c == 8 && !in_funnel) {
        out.push_back(funnel_op(chance(50) ? FunnelName::kernel : FunnelName::network));
        body(out, true);
        out.push_back(funnel_op(FunnelName::none));
      } else {
        out.push_back(run_op(us(in(10, 300))));
      }
    }
  }

  scenario::Scenario scenario(bool timeshare) {
    locks.clear();
    int nlocks = static_cast<int>(in(1, 4));
    for (int i = 0; i < nlocks; ++i) locks.push_back(lock(i));
    int cpus = static_cast<int>(in(1, 4));
    int n = static_cast<int>(in(2, 8));
    std::vector<scenario::ThreadSpec> threads;
    for (int i = 0; i < n; ++i) {
      std::vector<model::Op> program;
      body(program, false);
      if (chance(50)) program = {loop_op(program, in(2, 4))};
      if (leak && chance(40)) {
        // Ends holding a lock that is not a spin lock (that one panics), maybe in a funnel.
        int l = static_cast<int>(in(0, nlocks - 1));
        const scenario::LockSpec& spec = locks[static_cast<size_t>(l)];
        if (spec.kind != LockKind::spin) {
          if (chance(30)) program.push_back(funnel_op(FunnelName::kernel));
          LockMode mode = spec.kind != LockKind::rw ? LockMode::exclusive : chance(50) ? LockMode::read : LockMode::write;
          program.push_back(lock_op(l, mode));
          program.push_back(run_op(us(in(10, 500))));
        }
      }
      bool ts = timeshare && chance(50);
      auto t = thread("t" + std::to_string(i), static_cast<int>(ts ? in(20, 40) : in(5, 90)), program,
                      ts ? model::ThreadMode::timeshare : model::ThreadMode::fixed);
      t.kernel = !ts && chance(15);
      if (chance(15)) t.cpu = static_cast<int>(in(0, cpus - 1));
      t.start = us(in(0, 3000));
      threads.push_back(std::move(t));
    }
    auto s = scenario_of(std::move(threads), Duration::seconds(2), cpus);
    s.locks = locks;
    s.machine.xnu = chance(50) ? scenario::XnuRelease::r517 : scenario::XnuRelease::r792;
    s.machine.funnels = chance(50) ? scenario::FunnelSetup::split : scenario::FunnelSetup::merged;
    if (chance(30)) {
      s.machine.costs.context_switch = us(in(0, 20));
      s.machine.costs.thread_wakeup = us(in(0, 10));
    }
    s.seed = rng();
    name_ops(s);
    return s;
  }
};

bool holds(const sync::ThreadSync& ts, int32_t lock) {
  return std::any_of(ts.held.begin(), ts.held.end(), [&](const sync::Held& h) { return h.lock == lock; });
}

// Checked after every instant. With `ended_holders`, a thread that has ended may still hold
// mutexes and rw locks (xnu releases nothing at thread termination).
void check_invariants(const SyncRun& r, bool ended_holders = false) {
  const auto& threads = r.d().threads();
  const auto& locks = r.sync().locks();
  for (size_t l = 0; l < locks.size(); ++l) {
    const sync::Lock& L = locks[l];
    int32_t li = static_cast<int32_t>(l);
    INFO("lock " << L.config.name << " at " << r.d().now().ns);
    // The lock's holders are the threads whose held list names it, and none of them is gone.
    if (L.owner >= 0) {
      REQUIRE(holds(r.sync().thread_state(L.owner), li));
      if (!ended_holders) REQUIRE(threads[static_cast<size_t>(L.owner)].state != ThreadState::done);
      REQUIRE(L.readers.empty());
    }
    for (int32_t rd : L.readers) REQUIRE(holds(r.sync().thread_state(rd), li));
    // No lost wakeup: waiters of a free lock imply a woken thread about to retry.
    if (!L.waiters.empty() && !L.held()) {
      bool retrying = false;
      for (const auto& t : threads) {
        const auto& ts = r.sync().thread_state(t.index);
        retrying |= ts.attempt(li) && ts.waiting_on != li;
      }
      REQUIRE(retrying);
    }
    // Every waiter is blocked on this lock (or about to be switched out, still on its CPU).
    for (int32_t w : L.waiters.waiters()) {
      REQUIRE(r.sync().thread_state(w).waiting_on == li);
      REQUIRE(threads[static_cast<size_t>(w)].state == ThreadState::blocked);
    }
    if (L.owner < 0 || !L.is_mutex()) continue;
    const model::Thread& owner = threads[static_cast<size_t>(L.owner)];
    if (owner.state == ThreadState::done) continue;  // an ended holder is no longer raised
    // Inheritance never lets a waiter stand above its holder; a ceiling raises at once; xnu
    // keeps a contended holder (base < 80) at or above the mutex's record.
    if (L.config.protocol == sync::Protocol::inherit)
      for (int32_t w : L.waiters.waiters()) REQUIRE(owner.sched_pri >= threads[static_cast<size_t>(w)].sched_pri);
    if (L.config.protocol == sync::Protocol::ceiling) REQUIRE(owner.sched_pri >= L.config.ceiling);
    if (L.config.protocol == sync::Protocol::xnu && L.pending > 0 && owner.base_pri < model::MINPRI_KERNEL)
      REQUIRE(owner.sched_pri >= L.pri);
  }
  for (const auto& t : threads) {
    const auto& ts = r.sync().thread_state(t.index);
    INFO("thread " << t.name << " at " << r.d().now().ns);
    // A promotion never lowers a priority (fixed threads: nothing else changes theirs).
    if (!t.is_timeshare() && !t.depressed) REQUIRE(t.sched_pri >= t.base_pri);
    REQUIRE((t.promoted_pri >= 0) == (t.promotions > 0 || ts.boost >= 0));
    // Preemption stays disabled exactly while spin locks are held or spun for.
    int spin = 0;
    for (const auto& h : ts.held) spin += locks[static_cast<size_t>(h.lock)].config.kind == sync::LockKind::spin;
    for (const auto& a : ts.attempts) spin += locks[static_cast<size_t>(a.lock)].config.kind == sync::LockKind::spin;
    REQUIRE(ts.attempts.size() <= 2);
    REQUIRE(t.preemption_level == spin);
    // A thread that goes on with its program holds its funnel, preempted or not.
    if (ts.funnel >= 0 && !t.must_continue_hook && t.state != ThreadState::blocked && t.state != ThreadState::done) {
      REQUIRE(ts.funnel_held);
    }
    if (ts.funnel_held) REQUIRE(locks[static_cast<size_t>(r.sync().funnel_lock(ts.funnel))].owner == t.index);
    // Waits-for chains end: no cycle through lock holders.
    int32_t at = t.index;
    for (size_t hops = 0; hops <= threads.size(); ++hops) {
      const auto& s = r.sync().thread_state(at);
      if (s.waiting_on < 0) break;
      const sync::Lock& L = locks[static_cast<size_t>(s.waiting_on)];
      int32_t next = L.owner >= 0 ? L.owner : (L.readers.empty() ? -1 : L.readers.front());
      if (next < 0) break;
      REQUIRE(hops < threads.size());
      at = next;
    }
  }
}

}  // namespace

TEST_CASE("property: random lock programs keep the sync layer's invariants and all finish", "[sync][property]") {
  Gen gen{std::mt19937_64(19970704), {}};  // Pathfinder landed on 4 July 1997
  const int kScenarios = 150;
  int64_t contended = 0, inversions = 0, promotions = 0;
  for (int i = 0; i < kScenarios; ++i) {
    for (const char* policy : {"fixed", "xnu"}) {
      scenario::Scenario s = gen.scenario(std::string(policy) == "xnu");
      INFO("scenario " << i << " policy " << policy);
      // SYNC_PROPERTY_TRACE=N writes scenario N's trace (without the checks) to /tmp.
      if (const char* want = std::getenv("SYNC_PROPERTY_TRACE"); want && std::atoi(want) == i) {
        SyncRun dump(s, policy);
        std::FILE* f = std::fopen(("/tmp/sync-property-" + std::to_string(i) + "-" + policy + ".trace").c_str(), "w");
        for (const auto& e : dump.trace.events)
          std::fprintf(f, "%s\n", reports::format_trace_line(e, dump.world.names).c_str());
        std::fclose(f);
      }
      SyncRun r(s, policy, {}, [](const SyncRun& run) { check_invariants(run); });
      REQUIRE(r.panic.empty());
      // Liveness: every thread finished, every lock was released as often as taken, nothing
      // is left held or waiting.
      for (const auto& t : r.d().threads()) {
        INFO("thread " << t.name);
        if (t.index >= static_cast<int32_t>(s.threads.size())) continue;  // xnu's tick thread never ends
        REQUIRE(t.state == ThreadState::done);
        REQUIRE(r.sync().thread_state(t.index).held.empty());
        REQUIRE(t.promotions == 0);
        REQUIRE(t.promoted_pri == -1);
        REQUIRE(r.inversions->inversion_ns(t.index) <= r.locks->blocked_ns(t.index));
      }
      std::map<int32_t, int64_t> balance;
      for (const auto& e : r.trace.events) {
        if (e.kind == core::TraceKind::lock_acquired) ++balance[e.other];
        if (e.kind == core::TraceKind::lock_released) --balance[e.other];
        if (e.kind == core::TraceKind::lock_contended) ++contended;
        if (e.kind == core::TraceKind::inversion_began) ++inversions;
        if (e.kind == core::TraceKind::priority_changed && e.reason == static_cast<uint8_t>(core::PriorityReason::promote))
          ++promotions;
      }
      for (const auto& [lock, n] : balance) REQUIRE(n == 0);
      for (const auto& L : r.sync().locks()) {
        REQUIRE_FALSE(L.held());
        REQUIRE(L.waiters.empty());
        REQUIRE(L.pending == 0);
        REQUIRE(L.want_write == 0);
      }
    }
  }
  // The generator reaches the interesting cases.
  CHECK(contended > 1000);
  CHECK(inversions > 20);
  CHECK(promotions > 100);
}

TEST_CASE("property: programs that end holding locks leave exactly their waiters stuck, with sound metrics",
          "[sync][property][regression]") {
  Gen gen{std::mt19937_64(20061122), {}};
  gen.leak = true;
  const int kScenarios = 100;
  int64_t held_at_exit = 0, stuck = 0;
  for (int i = 0; i < kScenarios; ++i) {
    for (const char* policy : {"fixed", "xnu"}) {
      scenario::Scenario s = gen.scenario(std::string(policy) == "xnu");
      INFO("scenario " << i << " policy " << policy);
      SyncRun r(s, policy, {}, [](const SyncRun& run) { check_invariants(run, true); });
      REQUIRE(r.panic.empty());
      const auto& threads = r.d().threads();
      const auto& locks = r.sync().locks();
      int64_t end = s.duration.ns;
      // Every lock_held_at_exit names a lock its thread still holds, and the thread has ended.
      std::map<int32_t, int64_t> events_per_lock;
      for (const auto& e : r.trace.of(core::TraceKind::lock_held_at_exit)) {
        ++events_per_lock[e.other];
        REQUIRE(threads[static_cast<size_t>(e.thread)].state == ThreadState::done);
        REQUIRE(holds(r.sync().thread_state(e.thread), e.other));
        REQUIRE(locks[static_cast<size_t>(e.other)].config.funnel < 0);  // funnels are dropped
        REQUIRE(e.a >= 0);
        REQUIRE(e.b >= 0);
      }
      std::vector<metrics::LockResult> results = r.locks->locks();
      int64_t total = 0;
      for (size_t l = 0; l < locks.size(); ++l) {
        int32_t li = static_cast<int32_t>(l);
        int64_t dead = 0, holders = 0, waiting = 0;
        for (const auto& t : threads) {
          const auto& ts = r.sync().thread_state(t.index);
          for (const auto& h : ts.held) {
            if (h.lock != li) continue;
            ++holders;
            dead += t.state == ThreadState::done;
          }
          waiting += ts.attempt(li) != nullptr;
        }
        INFO("lock " << locks[l].config.name);
        REQUIRE(results[l].held_at_exit == dead);
        REQUIRE(events_per_lock[li] == dead);
        REQUIRE(results[l].waiting_at_end == waiting);
        int64_t balance = 0;
        for (const auto& e : r.trace.events) {
          if (e.other != li) continue;
          if (e.kind == core::TraceKind::lock_acquired) ++balance;
          if (e.kind == core::TraceKind::lock_released) --balance;
        }
        REQUIRE(balance == holders);
        total += dead;
      }
      REQUIRE(r.locks->held_at_exit() == total);
      held_at_exit += total;
      // A thread that did not finish is stuck behind an ended holder: its chain of holders ends
      // at a thread that has ended. Its wait runs to the end of the run.
      for (const auto& t : threads) {
        INFO("thread " << t.name);
        if (t.index >= static_cast<int32_t>(s.threads.size())) continue;  // xnu's tick thread never ends
        int64_t blocked = r.locks->blocked_ns(t.index);
        REQUIRE(blocked >= 0);
        REQUIRE(r.inversions->inversion_ns(t.index) >= 0);
        REQUIRE(r.inversions->inversion_ns(t.index) <= blocked);
        if (t.state == ThreadState::done) continue;
        ++stuck;
        REQUIRE(t.state == ThreadState::blocked);
        int32_t at = t.index;
        bool reached_dead = false;
        for (size_t hops = 0; hops <= threads.size() && !reached_dead; ++hops) {
          int32_t l = r.sync().thread_state(at).waiting_on;
          REQUIRE(l >= 0);
          const sync::Lock& L = locks[static_cast<size_t>(l)];
          int32_t next = L.owner >= 0 ? L.owner : (L.readers.empty() ? -1 : L.readers.front());
          REQUIRE(next >= 0);
          for (int32_t rd : L.readers) reached_dead |= threads[static_cast<size_t>(rd)].state == ThreadState::done;
          reached_dead |= threads[static_cast<size_t>(next)].state == ThreadState::done;
          at = next;
        }
        REQUIRE(reached_dead);
        int64_t last_contended = -1;
        for (const auto& e : r.trace.of(core::TraceKind::lock_contended))
          if (e.thread == t.index) last_contended = e.time.ns;
        REQUIRE(last_contended >= 0);
        REQUIRE(blocked >= end - last_contended);
        REQUIRE(blocked <= end);
      }
    }
  }
  CHECK(held_at_exit > 50);
  CHECK(stuck > 50);
}
