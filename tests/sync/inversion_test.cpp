// The inversion detector: intervals in which a thread waits for a lock while a lower-priority
// thread outside its holder chain runs and the holder at the end of the chain is runnable but
// not running. Source of the rule: priority inversion as defined by Sha, Rajkumar and Lehoczky
// (1990) and the Mars Pathfinder account (neighbours.md), measured per interval.
#include <catch2/catch.hpp>

#include "tests/sync/sync_support.hpp"

using namespace testing;
using scenario::LockProtocol;

namespace {

// "time_us began blocked holder ran cpuN" / "time_us ended blocked lasted_us".
std::vector<std::string> intervals(const Run& r, const scenario::Scenario& s) {
  auto name = [&](int64_t i) { return s.threads[static_cast<size_t>(i)].id; };
  std::vector<std::string> out;
  for (const auto& e : r.trace.events) {
    if (e.kind == core::TraceKind::inversion_began)
      out.push_back(std::to_string(e.time.ns / 1000) + "us began " + name(e.thread) + " holder=" + name(e.other) +
                    " ran=" + name(e.a) + " cpu" + std::to_string(e.cpu));
    if (e.kind == core::TraceKind::inversion_ended)
      out.push_back(std::to_string(e.time.ns / 1000) + "us ended " + name(e.thread) + " " +
                    std::to_string(e.a / 1000) + "us");
  }
  return out;
}

}  // namespace

TEST_CASE("inversion: rt-app's example is one 48 ms interval, marked after the instant settles",
          "[sync][unit]") {
  auto s = scenario_of({thread("low", 10, {lock_op(0), run_op(ms(20)), unlock_op(0)}),
                        thread("medium", 20, {sleep_op(ms(3)), run_op(ms(50))}),
                        thread("high", 30, {sleep_op(ms(5)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       ms(100));
  s.locks.push_back(mutex("m", LockProtocol::none));
  Run r = run(s);
  CHECK(intervals(r, s) == std::vector<std::string>{"5000us began high holder=low ran=medium cpu0",
                                                    "53000us ended high 48000us"});
  // Each mark follows every other event of its instant: the switch to medium at 5 ms, the
  // switch to low at 53 ms.
  const auto& ev = r.trace.events;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].kind != core::TraceKind::inversion_began && ev[i].kind != core::TraceKind::inversion_ended) continue;
    REQUIRE(i > 0);
    CHECK(ev[i - 1].kind == core::TraceKind::switched);
    CHECK(ev[i - 1].time == ev[i].time);
    if (i + 1 < ev.size()) CHECK(ev[i + 1].time > ev[i].time);
  }
  CHECK(r.thread("high").inversion_ns == 48'000'000);
}

TEST_CASE("inversion: along a chain the holder named is the end of the chain", "[sync][unit]") {
  // No protocol. c (10) holds m1; b (20) holds m2 and waits for m1; a (40) waits for m2;
  // medium (30) runs 3..23 ms while c, the end of a's chain, is runnable: a is inverted for
  // 20 ms, b is not (medium is above b).
  auto s = scenario_of({thread("c", 10, {lock_op(0), run_op(ms(10)), unlock_op(0)}),
                        thread("b", 20, {sleep_op(ms(1)), lock_op(1), lock_op(0), run_op(ms(1)), unlock_op(0), unlock_op(1)}),
                        thread("a", 40, {sleep_op(ms(2)), lock_op(1), run_op(ms(1)), unlock_op(1)}),
                        thread("medium", 30, {sleep_op(ms(3)), run_op(ms(20))})},
                       ms(50));
  s.locks = {mutex("m1", LockProtocol::none), mutex("m2", LockProtocol::none)};
  Run r = run(s);
  CHECK(intervals(r, s) == std::vector<std::string>{"3000us began a holder=c ran=medium cpu0", "23000us ended a 20000us"});
  CHECK(r.thread("a").inversion_ns == 20'000'000);
  CHECK(r.thread("b").inversion_ns == 0);
  CHECK(r.thread("a").blocked_ns == 29'000'000);  // 2 -> 31 ms: medium, c's 7 ms, b's 1 ms
}

TEST_CASE("inversion: a change of the thread that runs starts a new interval; an open one ends with the run",
          "[sync][unit]") {
  auto s = scenario_of({thread("low", 10, {lock_op(0), run_op(ms(20)), unlock_op(0)}),
                        thread("m1", 20, {sleep_op(ms(2)), run_op(ms(5))}),
                        thread("m2", 25, {sleep_op(ms(4)), run_op(ms(5))}),
                        thread("high", 30, {sleep_op(ms(1)), lock_op(0), unlock_op(0)})},
                       ms(12));
  s.locks.push_back(mutex("m", LockProtocol::none));
  Run r = run(s);
  // m1 runs 2..4, m2 4..9, m1 9..12 (the end of the run closes the last interval).
  CHECK(intervals(r, s) == std::vector<std::string>{"2000us began high holder=low ran=m1 cpu0", "4000us ended high 2000us",
                                                    "4000us began high holder=low ran=m2 cpu0", "9000us ended high 5000us",
                                                    "9000us began high holder=low ran=m1 cpu0", "12000us ended high 3000us"});
  CHECK(r.thread("high").inversion_ns == 10'000'000);
  CHECK(r.thread("high").blocked_ns == 11'000'000);  // still waiting at the end: counted up to it
}

TEST_CASE("inversion: none while the holder sleeps, or while the thread that runs is not lower", "[sync][unit]") {
  // The holder sleeps inside its critical section (medium runs 2..7 ms meanwhile): waiting for
  // it is not an inversion. Once it wakes at 10 ms it runs at once.
  auto s = scenario_of({thread("low", 10, {lock_op(0), sleep_op(ms(10)), unlock_op(0)}),
                        thread("medium", 20, {sleep_op(ms(2)), run_op(ms(5))}),
                        thread("high", 30, {sleep_op(ms(1)), lock_op(0), unlock_op(0)})},
                       ms(40));
  s.locks.push_back(mutex("m", LockProtocol::none));
  Run r = run(s);
  CHECK(r.thread("high").inversion_ns == 0);
  CHECK(r.thread("high").blocked_ns == 9'000'000);
  // A thread above the waiter runs while the holder waits: that is plain preemption.
  auto p = scenario_of({thread("low", 10, {lock_op(0), run_op(ms(10)), unlock_op(0)}),
                        thread("top", 40, {sleep_op(ms(2)), run_op(ms(5))}),
                        thread("high", 30, {sleep_op(ms(1)), lock_op(0), unlock_op(0)})},
                       ms(40));
  p.locks.push_back(mutex("m", LockProtocol::none));
  Run rp = run(p);
  CHECK(rp.thread("high").inversion_ns == 0);
  CHECK(rp.trace.of(core::TraceKind::inversion_began).empty());
}

TEST_CASE("inversion: on two CPUs a lower thread elsewhere counts while the holder waits for its CPU",
          "[sync][unit]") {
  // The holder is bound to cpu0, where x (50) preempts it from 2 to 7 ms; high waits for the
  // lock on cpu1, where `other` (5) runs meanwhile.
  scenario::ThreadSpec holder = thread("holder", 10, {lock_op(0), run_op(ms(5)), unlock_op(0)});
  scenario::ThreadSpec x = thread("x", 50, {sleep_op(ms(2)), run_op(ms(5))});
  holder.cpu = x.cpu = 0;
  auto s = scenario_of({holder, x, thread("high", 30, {sleep_op(ms(1)), lock_op(0), unlock_op(0)}),
                        thread("other", 5, {run_op(ms(20))})},
                       ms(30), 2);
  s.locks.push_back(mutex("m", LockProtocol::none));
  Run r = run(s);
  CHECK(intervals(r, s) == std::vector<std::string>{"2000us began high holder=holder ran=other cpu1",
                                                    "7000us ended high 5000us"});
}
