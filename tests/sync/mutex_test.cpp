// Mutex protocols: none, xnu, inherit (transitive), ceiling; wake order, hand-off and barging,
// the PPC adaptive spin, panics, and the per-lock results.
#include <catch2/catch.hpp>

#include "tests/sync/sync_support.hpp"

using namespace testing;
using model::OpKind;
using scenario::LockProtocol;

namespace {

// rt-app's inversion example (neighbours.md), one CPU, fixed priorities: low (10) locks m and
// runs 20 ms; medium (20) sleeps 3 ms then computes 50 ms; high (30) sleeps 5 ms, locks m,
// runs 1 ms, unlocks.
scenario::Scenario three_threads(LockProtocol p) {
  auto s = scenario_of({thread("low", 10, {lock_op(0), run_op(ms(20)), unlock_op(0)}),
                        thread("medium", 20, {sleep_op(ms(3)), run_op(ms(50))}),
                        thread("high", 30, {sleep_op(ms(5)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       ms(100));
  s.locks.push_back(mutex("m", p));
  return s;
}

// "time_us thread" for every lock_acquired of `lock`.
std::vector<std::string> acquisitions(const Run& r, const scenario::Scenario& s, int32_t lock = 0) {
  std::vector<std::string> out;
  for (const auto& e : r.trace.of(core::TraceKind::lock_acquired))
    if (e.other == lock) out.push_back(std::to_string(e.time.ns / 1000) + "us " + s.threads[static_cast<size_t>(e.thread)].id);
  return out;
}

std::vector<std::string> priorities(const Run& r, const scenario::Scenario& s, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : r.trace.of(core::TraceKind::priority_changed))
    if (s.threads[static_cast<size_t>(e.thread)].id == id)
      out.push_back(std::to_string(e.time.ns / 1000) + "us:" + std::to_string(e.a) + "->" + std::to_string(e.b));
  return out;
}

}  // namespace

TEST_CASE("mutex: rt-app's inversion example blocks high 65 ms with no protocol, 17 ms with inheritance or xnu promotion",
          "[sync][fidelity]") {
  // Source: rt-app's pi example (neighbours.md). Without a protocol high waits for medium's
  // 48 ms that remain after 5 ms plus low's 17 ms; with inheritance (Sha, Rajkumar, Lehoczky
  // 1990: blocked at most for one critical section of a lower thread) only for low's 17 ms.
  // xnu promotes the holder to the waiter's value clamped to [31, 80] (xnu-facts.md 7): 30
  // becomes 31, above medium, so the result is the same.
  struct Want {
    LockProtocol p;
    int64_t blocked_ms, inversion_ms;
    std::vector<std::string> low_pri;
  };
  for (const Want& w : {Want{LockProtocol::none, 65, 48, {}},
                        Want{LockProtocol::inherit, 17, 0, {"5000us:10->30", "22000us:30->10"}},
                        Want{LockProtocol::xnu, 17, 0, {"5000us:10->31", "22000us:31->10"}}}) {
    for (const char* policy : {"fixed", "xnu"}) {
      auto s = three_threads(w.p);
      Run r = run(s, policy);
      INFO("protocol " << static_cast<int>(w.p) << " policy " << policy);
      CHECK(r.thread("high").blocked_ns == w.blocked_ms * 1'000'000);
      CHECK(r.thread("high").inversion_ns == w.inversion_ms * 1'000'000);
      CHECK(r.thread("high").response_ns.max == (5 + w.blocked_ms + 1) * 1'000'000);
      CHECK(r.thread("low").blocked_ns == 0);
      CHECK(r.thread("medium").blocked_ns == 0);
      CHECK(priorities(r, s, "low") == w.low_pri);
      const auto& m = r.out.results.locks.at(0);
      CHECK(m.id == "m");
      CHECK(m.acquisitions == 2);
      CHECK(m.contended == 1);
      CHECK(m.wait_ns.max == w.blocked_ms * 1'000'000);
      CHECK(m.hold_ns.min == 1'000'000);                          // high's critical section
      CHECK(m.hold_ns.max == (5 + w.blocked_ms) * 1'000'000);     // low's, stretched
    }
  }
}

TEST_CASE("mutex: inheritance is transitive along a chain of holders and is removed at each release",
          "[sync][unit]") {
  // c holds m1; b holds m2 and waits for m1; a (40) waits for m2: c must run at 40, above
  // medium (30), until it releases m1; b then runs at 40 until it releases m2.
  auto s = scenario_of({thread("c", 10, {lock_op(0), run_op(ms(10)), unlock_op(0)}),
                        thread("b", 20, {sleep_op(ms(1)), lock_op(1), lock_op(0), run_op(ms(1)), unlock_op(0), unlock_op(1)}),
                        thread("a", 40, {sleep_op(ms(2)), lock_op(1), run_op(ms(1)), unlock_op(1)}),
                        thread("medium", 30, {sleep_op(ms(3)), run_op(ms(20))})},
                       ms(50));
  s.locks = {mutex("m1", LockProtocol::inherit), mutex("m2", LockProtocol::inherit)};
  Run r = run(s);
  CHECK(priorities(r, s, "c") == std::vector<std::string>{"1000us:10->20", "2000us:20->40", "10000us:40->10"});
  CHECK(priorities(r, s, "b") == std::vector<std::string>{"2000us:20->40", "11000us:40->20"});
  CHECK(priorities(r, s, "a").empty());
  CHECK(r.thread("a").blocked_ns == 9'000'000);  // 2 -> 11 ms: c's 8 ms left, then b's 1 ms
  CHECK(r.thread("b").blocked_ns == 9'000'000);  // 1 -> 10 ms
  CHECK(r.thread("a").inversion_ns == 0);
  CHECK(r.thread("medium").response_ns.max == 32'000'000);  // it ran only after a: 12 -> 32 ms
  CHECK(r.thread("c").max_sched_pri == 40);
}

TEST_CASE("mutex: inherit hands the lock to the highest waiter; xnu and none wake the first", "[sync][unit]") {
  // h (10) holds m 0..5 ms; w1 (40), w2 (50), w3 (60) ask for it at 1, 2 and 3 ms; each then
  // holds it 1 ms. xnu-facts.md 5.8 and 7: wakeup_one takes the first waiter whatever its
  // priority, and it retries; inheritance hands the lock to the highest waiter.
  auto build = [](LockProtocol p) {
    std::vector<scenario::ThreadSpec> ts = {thread("h", 10, {lock_op(0), run_op(ms(5)), unlock_op(0)})};
    int i = 1;
    for (auto [name, pri] : {std::pair{"w1", 40}, std::pair{"w2", 50}, std::pair{"w3", 60}})
      ts.push_back(thread(name, pri, {sleep_op(ms(i++)), lock_op(0), run_op(ms(1)), unlock_op(0)}));
    auto s = scenario_of(std::move(ts), ms(20));
    s.locks.push_back(p == LockProtocol::ceiling ? mutex("m", p, 70) : mutex("m", p));
    return s;
  };
  for (auto p : {LockProtocol::inherit, LockProtocol::none, LockProtocol::xnu}) {
    auto s = build(p);
    Run r = run(s);
    INFO("protocol " << static_cast<int>(p));
    if (p == LockProtocol::inherit)
      CHECK(acquisitions(r, s) == std::vector<std::string>{"0us h", "5000us w3", "6000us w2", "7000us w1"});
    else
      CHECK(acquisitions(r, s) == std::vector<std::string>{"0us h", "5000us w1", "6000us w2", "7000us w3"});
    CHECK(r.out.results.locks[0].contended == 3);
  }
  // xnu: each waiter raises h to its own value; w1, woken first, acquires while two waiters
  // still count and is promoted to the record, 60 (lck_mtx_lock_acquire); so is w2 with one
  // left; w3 finds none and the record clears.
  auto s = build(LockProtocol::xnu);
  Run r = run(s);
  CHECK(priorities(r, s, "h") == std::vector<std::string>{"1000us:10->40", "2000us:40->50", "3000us:50->60", "5000us:60->10"});
  CHECK(priorities(r, s, "w1") == std::vector<std::string>{"5000us:40->60", "6000us:60->40"});
  CHECK(priorities(r, s, "w2") == std::vector<std::string>{"6000us:50->60", "7000us:60->50"});
  CHECK(priorities(r, s, "w3").empty());
  // The highest waiter wakes last: it is the one that waits longest.
  CHECK(r.thread("w3").blocked_ns == 4'000'000);
  // A ceiling of 70, above every user: nobody preempts h, so nobody even asks while it holds m;
  // they take it in priority order after the release, without contention.
  auto c = build(LockProtocol::ceiling);
  Run rc = run(c);
  CHECK(acquisitions(rc, c) == std::vector<std::string>{"0us h", "5000us w3", "6000us w2", "7000us w1"});
  CHECK(priorities(rc, c, "h") == std::vector<std::string>{"0us:10->70", "5000us:70->10"});
  CHECK(rc.out.results.locks[0].contended == 0);
}

TEST_CASE("mutex: an immediate ceiling raises the holder at once and only threads above it preempt",
          "[sync][unit]") {
  // low (10) takes c (ceiling 25) for 10 ms; medium (20) wakes at 2 ms and must wait for the
  // release; high (30) wakes at 4 ms and preempts at once.
  auto s = scenario_of({thread("low", 10, {lock_op(0), run_op(ms(10)), unlock_op(0), run_op(ms(5))}),
                        thread("medium", 20, {sleep_op(ms(2)), run_op(ms(5))}),
                        thread("high", 30, {sleep_op(ms(4)), run_op(ms(1))})},
                       ms(30));
  s.locks.push_back(mutex("c", LockProtocol::ceiling, 25));
  Run r = run(s);
  CHECK(priorities(r, s, "low") == std::vector<std::string>{"0us:10->25", "11000us:25->10"});
  CHECK(r.thread("high").latency_ns.max == 0);
  CHECK(r.thread("medium").response_ns.max == 16'000'000);  // waits 2 -> 11 ms, runs 11 -> 16
  CHECK(r.thread("low").response_ns.max == 21'000'000);
  CHECK(r.out.results.locks[0].hold_ns.max == 11'000'000);
}

TEST_CASE("mutex: a woken waiter retries, so the releaser can take the lock again first (xnu, none)",
          "[sync][unit]") {
  // Two CPUs: h (20) holds m 0..2 ms, releases it and takes it again at once; w (20) asked at
  // 1 ms on the other CPU. xnu and none wake w, which retries (no hand-off, xnu-facts.md 7):
  // h barges in and w waits until 4 ms. Inheritance hands m to w at 2 ms and h waits instead.
  auto build = [](LockProtocol p) {
    auto s = scenario_of({thread("h", 20, {lock_op(0), run_op(ms(2)), unlock_op(0), lock_op(0), run_op(ms(2)), unlock_op(0)}),
                          thread("w", 20, {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                         ms(10), 2);
    s.locks.push_back(mutex("m", p));
    return s;
  };
  for (auto p : {LockProtocol::none, LockProtocol::xnu}) {
    auto s = build(p);
    Run r = run(s);
    INFO("protocol " << static_cast<int>(p));
    CHECK(acquisitions(r, s) == std::vector<std::string>{"0us h", "2000us h", "4000us w"});
    CHECK(r.thread("w").blocked_ns == 3'000'000);
    CHECK(r.trace.of(core::TraceKind::lock_contended).size() == 1);
  }
  // xnu: w spins 10 us at 1 ms and again when it retries at 2 ms (the owner runs both times).
  // h is promoted when w sleeps (20 clamps to 31), unpromoted at each release, and promoted
  // again when it re-takes m while w still counts as a waiter (lck_mtx_lock_acquire).
  auto s = build(LockProtocol::xnu);
  Run r = run(s);
  CHECK(r.thread("w").spin_ns == 20'000);
  CHECK(priorities(r, s, "h") ==
        std::vector<std::string>{"1010us:20->31", "2000us:31->20", "2000us:20->31", "4000us:31->20"});
  auto i = build(LockProtocol::inherit);
  Run ri = run(i);
  CHECK(acquisitions(ri, i) == std::vector<std::string>{"0us h", "2000us w", "3000us h"});
  CHECK(ri.thread("w").blocked_ns == 1'000'000);
  CHECK(ri.thread("h").blocked_ns == 1'000'000);
}

TEST_CASE("mutex: on PPC a waiter spins up to 10 us while the owner runs on another CPU, then blocks",
          "[sync][fidelity]") {
  // xnu-facts.md 7: MutexSpin = 10 us, only while the owner is on a CPU.
  auto build = [](std::vector<model::Op> holder) {
    auto s = scenario_of({thread("h", 31, std::move(holder)),
                          thread("w", 31, {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                         ms(20), 2);
    s.locks.push_back(mutex("m"));
    return s;
  };
  // Held 5 ms: w spins 10 us at 1 ms, then sleeps until the release.
  Run r = run(build({lock_op(0), run_op(ms(5)), unlock_op(0)}));
  CHECK(r.thread("w").spin_ns == 10'000);
  CHECK(r.thread("w").blocked_ns == 4'000'000);
  auto spins = r.trace.of(core::TraceKind::spin_ended);
  REQUIRE(spins.size() == 1);
  CHECK(spins[0].time.ns == 1'010'000);
  auto blocked = r.trace.of(core::TraceKind::blocked);
  CHECK(std::count_if(blocked.begin(), blocked.end(), [](const auto& e) {
          return e.reason == static_cast<uint8_t>(core::BlockReason::lock) && e.time.ns == 1'010'000;
        }) == 1);
  // Released 5 us into the spin: w takes it then, never sleeping.
  Run quick = run(build({lock_op(0), run_op(us(1005)), unlock_op(0)}));
  CHECK(quick.thread("w").spin_ns == 5'000);
  CHECK(quick.thread("w").blocked_ns == 5'000);
  CHECK(quick.trace.of(core::TraceKind::lock_acquired).back().time.ns == 1'005'000);
  // The owner is asleep: no spin at all.
  Run asleep = run(build({lock_op(0), sleep_op(ms(3)), unlock_op(0)}));
  CHECK(asleep.thread("w").spin_ns == 0);
  CHECK(asleep.thread("w").blocked_ns == 2'000'000);
  // Other protocols never spin.
  auto none = build({lock_op(0), run_op(ms(5)), unlock_op(0)});
  none.locks[0].protocol = LockProtocol::none;
  CHECK(run(none).thread("w").spin_ns == 0);
}

TEST_CASE("mutex: a recursive lock and an unlock of a mutex not held are simulated panics", "[sync][unit]") {
  // The paper: "If a piece of code attempts to acquire a mutex it already holds it will result
  // in a kernel panic."
  auto s = scenario_of({thread("t", 31, {lock_op(0), run_op(ms(1)), lock_op(0), run_op(ms(1))})}, ms(10));
  s.locks.push_back(mutex("m"));
  name_ops(s);
  Run r = run(s);
  REQUIRE(r.out.results.system.panics.size() == 1);
  CHECK(r.out.results.system.panics[0] ==
        "panic at 0.001000000 s: thread \"t\" on cpu0 at /threads/0/program/2: mutex_lock: mutex \"m\" is already held by this thread "
        "(a recursive mutex_lock panics)");
  CHECK(r.trace.of(core::TraceKind::panicked).size() == 1);

  auto u = scenario_of({thread("t", 31, {run_op(ms(2)), unlock_op(0)})}, ms(10));
  u.locks.push_back(mutex("m"));
  name_ops(u);
  Run ru = run(u);
  REQUIRE(ru.out.results.system.panics.size() == 1);
  CHECK(ru.out.results.system.panics[0] ==
        "panic at 0.002000000 s: thread \"t\" on cpu0 at /threads/0/program/1: unlock of mutex \"m\", which this thread does not hold");
  // The results cover the run up to the panic.
  CHECK(ru.thread("t").cpu_time_ns == 2'000'000);
}

TEST_CASE("mutex: lock results count acquisitions, contention, waits and holds", "[sync][unit]") {
  // Three periodic users of one mutex on one CPU; only the 10 ms user ever finds it taken.
  auto s = scenario_of({thread("a", 30, {lock_op(0), run_op(ms(1)), unlock_op(0)}),
                        thread("b", 20, {lock_op(0), run_op(ms(3)), unlock_op(0)})},
                       ms(40));
  s.threads[0].period = ms(10);
  s.threads[0].start = ms(1);
  s.threads[1].period = ms(20);
  s.locks.push_back(mutex("m", LockProtocol::none));
  Run r = run(s);
  const auto& m = r.out.results.locks.at(0);
  // b holds m 0..3 and 20..23 (a, released at 1 and 21, waits 2 ms each time); a's other jobs
  // at 11 and 31 find it free.
  CHECK(m.acquisitions == 6);
  CHECK(m.contended == 2);
  CHECK(m.wait_ns.count == 6);
  CHECK(m.wait_ns.max == 2'000'000);
  CHECK(m.wait_ns.p50 == 0);
  CHECK(m.hold_ns.count == 6);
  CHECK(m.hold_ns.max == 3'000'000);
  CHECK(m.hold_ns.min == 1'000'000);
  CHECK(r.thread("a").blocked_ns == 4'000'000);
  CHECK(r.thread("a").inversion_ns == 0);  // the holder runs while a waits
}
