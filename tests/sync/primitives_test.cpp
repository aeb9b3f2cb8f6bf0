// Spin locks (simple locks), rw locks and wait-queue events (xnu-facts.md 5.6, 5.8, 7).
#include <catch2/catch.hpp>

#include "tests/sync/sync_support.hpp"

using namespace testing;

namespace {

std::vector<std::string> acquired(const SyncRun& r) {
  std::vector<std::string> out;
  for (const auto& e : r.trace.of(core::TraceKind::lock_acquired))
    out.push_back(std::to_string(e.time.ns / 1000) + "us " + r.d().threads()[static_cast<size_t>(e.thread)].name);
  return out;
}

}  // namespace

TEST_CASE("spin lock: a waiter spins on its CPU with preemption disabled, holder too", "[sync][fidelity]") {
  // Two CPUs. a holds s 0..3 ms on cpu0; b asks at 1 ms on cpu1 and spins until a releases
  // (2 ms of CPU time, spin_ns). c (50) wakes at 2 ms: both CPUs run with preemption disabled
  // (one holds, one spins), so it waits until a releases at 3 ms (xnu-facts.md 5.6, 7).
  auto s = scenario_of({thread("a", 31, {lock_op(0), run_op(ms(3)), unlock_op(0), run_op(ms(2))}),
                        thread("b", 31, {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)}),
                        thread("c", 50, {sleep_op(ms(2)), run_op(ms(1))})},
                       ms(20), 2);
  s.locks.push_back(lock_of("s", scenario::LockKind::spin));
  Run r = run(s);
  CHECK(r.thread("b").spin_ns == 2'000'000);
  CHECK(r.thread("b").blocked_ns == 2'000'000);
  CHECK(r.thread("b").cpu_time_ns == 3'000'000);  // spinning is CPU time
  CHECK(r.thread("c").latency_ns.max == 1'000'000);
  CHECK(r.out.results.locks[0].contended == 1);
  CHECK(r.out.results.locks[0].wait_ns.max == 2'000'000);
  auto spins = r.trace.of(core::TraceKind::spin_ended);
  REQUIRE(spins.size() == 1);
  CHECK(spins[0].time.ns == 3'000'000);
  CHECK(spins[0].a == 2'000'000);
}

TEST_CASE("spin lock: blocking while holding one is a panic that names the lock", "[sync][fidelity]") {
  // xnu-facts.md 5.6: blocking with a preemption level != 0 panics (thread_invoke).
  auto s = scenario_of({thread("drv", 31, {lock_op(0), run_op(ms(1)), sleep_op(ms(1)), unlock_op(0)})}, ms(10));
  s.locks.push_back(lock_of("hw", scenario::LockKind::spin));
  name_ops(s);
  SyncRun r(s);
  CHECK(r.panic ==
        "panic at 0.001000000 s: thread \"drv\" on cpu0 at /threads/0/program/2: thread_invoke: blocking (sleep) "
        "with preemption disabled (spin lock \"hw\" held since 0.000000000 s)");
  // Waiting on a mutex (a voluntary block) while holding one panics the same way.
  auto m = scenario_of({thread("drv", 31, {lock_op(0), lock_op(1), unlock_op(1), unlock_op(0)}),
                        thread("other", 20, {lock_op(1), run_op(ms(5)), unlock_op(1)})},
                       ms(10), 2);
  m.locks = {lock_of("hw", scenario::LockKind::spin), mutex("m", scenario::LockProtocol::none)};
  name_ops(m);
  m.threads[0].start = ms(1);
  SyncRun rm(m);
  CHECK(rm.panic ==
        "panic at 0.001000000 s: thread \"drv\" on cpu1 at /threads/0/program/1: thread_invoke: blocking (lock) "
        "with preemption disabled (spin lock \"hw\" held since 0.001000000 s)");
}

TEST_CASE("spin lock: spinning longer than LockTimeOut (0.25 s) panics; re-taking one's own panics",
          "[sync][fidelity]") {
  auto s = scenario_of({thread("a", 31, {lock_op(0), run_op(ms(300)), unlock_op(0)}),
                        thread("b", 31, {sleep_op(ms(1)), lock_op(0), unlock_op(0)})},
                       ms(400), 2);
  s.locks.push_back(lock_of("s", scenario::LockKind::spin));
  name_ops(s);
  SyncRun r(s);
  CHECK(r.panic ==
        "panic at 0.251000000 s: thread \"b\" on cpu1 at /threads/1/program/1: simple lock timeout: spun 250ms for "
        "spin lock \"s\" held by \"a\"");
  CHECK(r.locks->spin_ns(1) == 250'000'000);
  auto again = scenario_of({thread("a", 31, {lock_op(0), lock_op(0)})}, ms(10));
  again.locks.push_back(lock_of("s", scenario::LockKind::spin));
  name_ops(again);
  CHECK(SyncRun(again).panic ==
        "panic at 0.000000000 s: thread \"a\" on cpu0 at /threads/0/program/1: simple_lock: spin lock \"s\" is "
        "already held by this thread");
}

TEST_CASE("rw lock: a waiting writer keeps new readers out; release wakes every waiter to retry",
          "[sync][fidelity]") {
  // xnu-facts.md 7 (792 lck_rw): writer-preferring, no promotion. r1 (10) reads 0..5 ms; w (20)
  // asks to write at 1 ms and waits for r1; r2 (30) asks to read at 2 ms and must wait too,
  // although only a reader holds it. At 5 ms both are woken; r2 runs first, finds the writer
  // still waiting and sleeps again; w writes 5..6 ms, then r2 reads.
  auto s = scenario_of({thread("r1", 10, {lock_op(0, LockMode::read), run_op(ms(5)), unlock_op(0, LockMode::read)}),
                        thread("w", 20, {sleep_op(ms(1)), lock_op(0, LockMode::write), run_op(ms(1)),
                                         unlock_op(0, LockMode::write)}),
                        thread("r2", 30, {sleep_op(ms(2)), lock_op(0, LockMode::read), run_op(ms(1)),
                                          unlock_op(0, LockMode::read)})},
                       ms(20));
  s.locks.push_back(lock_of("table", scenario::LockKind::rw));
  SyncRun r(s);
  CHECK(acquired(r) == std::vector<std::string>{"0us r1", "5000us w", "6000us r2"});
  CHECK(r.locks->blocked_ns(1) == 4'000'000);
  CHECK(r.locks->blocked_ns(2) == 4'000'000);
  CHECK(r.trace.of(core::TraceKind::priority_changed).empty());
  auto blocked = r.of(core::TraceKind::blocked, "r2");
  CHECK(std::count_if(blocked.begin(), blocked.end(), [](const auto& e) {
          return e.reason == static_cast<uint8_t>(core::BlockReason::lock);
        }) == 2);
  // Readers share it: two readers at once, no contention.
  auto share = scenario_of({thread("a", 31, {lock_op(0, LockMode::read), run_op(ms(2)), unlock_op(0, LockMode::read)}),
                            thread("b", 31, {lock_op(0, LockMode::read), run_op(ms(2)), unlock_op(0, LockMode::read)})},
                           ms(10), 2);
  share.locks.push_back(lock_of("table", scenario::LockKind::rw));
  Run rs = run(share);
  CHECK(rs.out.results.locks[0].contended == 0);
  CHECK(rs.thread("b").response_ns.max == 2'000'000);
  // Unlocking for writing what one holds for reading is an unlock of a lock not held.
  auto bad = scenario_of({thread("a", 31, {lock_op(0, LockMode::read), unlock_op(0, LockMode::write)})}, ms(10));
  bad.locks.push_back(lock_of("table", scenario::LockKind::rw));
  name_ops(bad);
  CHECK(SyncRun(bad).panic ==
        "panic at 0.000000000 s: thread \"a\" on cpu0 at /threads/0/program/1: unlock of rw lock \"table\", which "
        "this thread does not hold for writing");
}

TEST_CASE("event: wakeup_one takes the first waiter whatever its priority; wakeup_all the rest in order",
          "[sync][fidelity]") {
  // xnu-facts.md 5.8: wait queues are FIFO.
  auto s = scenario_of({thread("w1", 20, {wait_op(0), run_op(ms(1))}),
                        thread("w2", 40, {sleep_op(us(100)), wait_op(0), run_op(ms(1))}),
                        thread("w3", 30, {sleep_op(us(200)), wait_op(0), run_op(ms(1))}),
                        thread("s", 10, {sleep_op(ms(1)), signal_op(0), run_op(ms(5)), signal_op(0, true)})},
                       ms(20));
  s.events.push_back(event("data"));
  SyncRun r(s);
  auto woke = r.trace.of(core::TraceKind::woke);
  std::vector<std::string> order;
  for (const auto& e : woke)
    if (e.reason == static_cast<uint8_t>(core::WakeReason::event))
      order.push_back(std::to_string(e.time.ns / 1000) + "us " + r.d().threads()[static_cast<size_t>(e.thread)].name);
  // s signals at 1 ms (w1 runs 1..2 ms and s resumes) and signals all at 7 ms.
  CHECK(order == std::vector<std::string>{"1000us w1", "7000us w2", "7000us w3"});
  auto sig = r.trace.of(core::TraceKind::event_signaled);
  REQUIRE(sig.size() == 2);
  CHECK(sig[0].a == 1);
  CHECK(sig[1].a == 2);
  CHECK(r.world.names.events == std::vector<std::string>{"data"});
}

TEST_CASE("event: a signal with no waiter is lost, like thread_wakeup on an event nobody waits on",
          "[sync][unit]") {
  auto s = scenario_of({thread("s", 40, {signal_op(0), run_op(ms(1))}),
                        thread("w", 20, {wait_op(0), run_op(ms(1))})},
                       ms(10));
  s.events.push_back(event("e"));
  SyncRun r(s);
  REQUIRE(r.trace.of(core::TraceKind::event_signaled).size() == 1);
  CHECK(r.trace.of(core::TraceKind::event_signaled)[0].a == 0);
  CHECK(r.of(core::TraceKind::completed, "w").empty());  // still waiting at the end
  CHECK(r.sync().event_waiters(0).waiters() == std::deque<int32_t>{1});
}
