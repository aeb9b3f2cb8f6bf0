// Try-locks, rw upgrade and downgrade (issue 11, "Locks"), as xnu-792 has them:
// - lck_mtx_try_lock (osfmk/i386/i386_lock.s): a free mutex is taken as lck_mtx_lock takes it
//   (lck_mtx_lock_acquire included); a held one makes it return 0 at once, without
//   lck_mtx_lock_wait, so nothing is promoted and nothing waits;
// - lck_spin_try_lock -> usimple_lock_try (osfmk/i386/locks_i386.c): no spin; preemption is
//   disabled only when it succeeds;
// - lck_rw_try_lock_shared / _exclusive (locks_i386.c): fail on want_write or want_upgrade, and
//   for writing on read_count too;
// - lck_rw_lock_shared_to_exclusive (locks_i386.c): read_count-- first; with want_upgrade already
//   set it returns TRUE (failure) holding nothing, waking the waiters when no reader is left;
//   otherwise it sets want_upgrade and waits for read_count to reach 0;
// - lck_rw_lock_exclusive_to_shared (locks_i386.c): read_count++, want_write/want_upgrade
//   cleared, every waiter woken.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"
#include "tests/iokit/iokit_support.hpp"
#include "tests/sync/sync_support.hpp"

using namespace testing;

namespace {

Traced traced(const scenario::Scenario& s, const std::string& policy = "fixed") { return run_traced(s, policy); }

std::string scenario_text(const std::string& locks, const std::string& threads, int cpus = 1,
                          const std::string& duration = "20ms") {
  return R"({"format": "xnusim-scenario", "version": 1, "name": "t", "duration": ")" + duration +
         R"(", "machine": {"cpus": )" + std::to_string(cpus) + R"(}, "locks": [)" + locks +
         R"(], "threads": [)" + threads + "]}";
}

}  // namespace

TEST_CASE("try_lock: a held mutex fails at once, promotes nobody and runs the else ops", "[sync][fidelity]") {
  // One CPU. holder (20) takes m and computes 2 ms; poller (30) wakes at 500 us. With try_lock
  // (lck_mtx_try_lock's lmt_fail path: no lck_mtx_lock_wait) the holder keeps 20, poller runs
  // its else op (300 us) and ends at 800 us; holder ends at 2.3 ms. With lock instead,
  // lck_mtx_lock_wait promotes the holder to clamp(max(30, 30), 31, 80) = 31 (xnu-facts.md 7).
  const std::string holder =
      R"({"id": "holder", "mode": "fixed", "priority": 20, "program": [{"op": "lock", "lock": "m"},
         {"op": "run", "for": "2ms"}, {"op": "unlock", "lock": "m"}]})";
  scenario::Scenario s = load_text(scenario_text(R"({"id": "m", "kind": "mutex"})", holder + R"(,
      {"id": "poller", "mode": "fixed", "priority": 30, "program": [{"op": "sleep", "for": "500us"},
        {"op": "try_lock", "lock": "m", "else": [{"op": "run", "for": "300us"}]}]})"));
  Traced t = traced(s, "xnu");
  CHECK(lines_with(t.trace, {"lock_", "priority_changed holder"}) ==
        std::vector<std::string>{
            "0.000000000 cpu0 lock_acquired holder lock=m waited=0ns",
            "0.000500000 cpu0 lock_try_failed poller lock=m op=try_lock holder=holder",
            "0.002300000 cpu0 lock_released holder lock=m held=2.3ms",
        });
  const metrics::LockResult& m = t.out.lock("m");
  CHECK(m.try_failed == 1);
  CHECK(m.contended == 0);
  CHECK(m.acquisitions == 1);
  CHECK(t.out.thread("poller").response_ns.max == 800'000);
  CHECK(t.out.thread("holder").response_ns.max == 2'300'000);

  scenario::Scenario blocking = load_text(scenario_text(R"({"id": "m", "kind": "mutex"})", holder + R"(,
      {"id": "poller", "mode": "fixed", "priority": 30, "program": [{"op": "sleep", "for": "500us"},
        {"op": "lock", "lock": "m"}, {"op": "unlock", "lock": "m"}]})"));
  Traced b = traced(blocking, "xnu");
  CHECK(lines_with(b.trace, {"priority_changed holder"}).at(0) ==
        "0.000500000 - priority_changed holder 20 -> 31 reason=promote");
}

TEST_CASE("try_lock: success is an ordinary acquisition; the holder itself fails", "[sync][fidelity]") {
  // t takes m with try_lock (free), then tries again while holding it: xnu's try has no
  // recursion check (only lck_mtx_lock's lml_fail path does CHECK_MYLOCK), so the second try
  // simply fails and runs its else (100 us); t unlocks at 100 us.
  scenario::Scenario s = load_text(scenario_text(R"({"id": "m", "kind": "mutex"})", R"(
      {"id": "t", "mode": "fixed", "priority": 30, "program": [
        {"op": "try_lock", "lock": "m", "else": [{"op": "lock", "lock": "m"}]},
        {"op": "try_lock", "lock": "m", "else": [{"op": "run", "for": "100us"}]},
        {"op": "unlock", "lock": "m"}]})"));
  Traced t = traced(s);
  CHECK(lines_with(t.trace, {"lock_"}) == std::vector<std::string>{
                                              "0.000000000 cpu0 lock_acquired t lock=m waited=0ns",
                                              "0.000000000 cpu0 lock_try_failed t lock=m op=try_lock holder=t",
                                              "0.000100000 cpu0 lock_released t lock=m held=100us",
                                          });
  CHECK(t.out.lock("m").acquisitions == 1);
  CHECK(t.out.lock("m").try_failed == 1);
  CHECK(t.out.lock("m").hold_ns.max == 100'000);
}

TEST_CASE("try_lock: a spin lock held on another CPU fails without spinning", "[sync][fidelity]") {
  // Two CPUs. a (cpu0) holds spin lock s for 1 ms of CPU; b (cpu1) tries at 200 us: fails (no
  // spin_began, usimple_lock_try does not spin), runs its else 500 us, tries again at 700 us,
  // fails again, runs 500 us, and at 1.2 ms the third try succeeds (a released s at 1 ms).
  scenario::Scenario s = load_text(scenario_text(R"({"id": "s", "kind": "spin"})", R"(
      {"id": "a", "mode": "fixed", "priority": 30, "cpu": 0, "program": [
        {"op": "lock", "lock": "s"}, {"op": "run", "for": "1ms"}, {"op": "unlock", "lock": "s"}]},
      {"id": "b", "mode": "fixed", "priority": 30, "cpu": 1, "program": [{"op": "sleep", "for": "200us"},
        {"op": "loop", "times": 3, "body": [
          {"op": "try_lock", "lock": "s", "else": [{"op": "run", "for": "500us"}]}]},
        {"op": "run", "for": "100us"}, {"op": "unlock", "lock": "s"}]})",
                                                 2));
  Traced t = traced(s);
  CHECK(lines_with(t.trace, {"lock_", "spin_"}) ==
        std::vector<std::string>{
            "0.000000000 cpu0 lock_acquired a lock=s waited=0ns",
            "0.000200000 cpu1 lock_try_failed b lock=s op=try_lock holder=a",
            "0.000700000 cpu1 lock_try_failed b lock=s op=try_lock holder=a",
            "0.001000000 cpu0 lock_released a lock=s held=1ms",
            "0.001200000 cpu1 lock_acquired b lock=s waited=0ns",
            "0.001300000 cpu1 lock_released b lock=s held=100us",
        });
  CHECK(t.out.lock("s").try_failed == 2);
  CHECK(t.out.results.system.panics.empty());
}

TEST_CASE("try_lock: rw tries fail on a waiting writer (want_write) and, for writing, on readers",
          "[sync][fidelity]") {
  // One CPU. r (30) reads db from 0 and sleeps 1 ms holding it. w (20) asks to write at 0
  // (runs when r sleeps) and waits: want_write. tr (25) at 100 us: a read try fails although
  // only a reader holds db (lck_rw_try_lock_shared fails on want_write); a write try fails on
  // the reader (read_count). At 1 ms r unlocks; w writes for 1 ms.
  scenario::Scenario s = load_text(scenario_text(R"({"id": "db", "kind": "rw"})", R"(
      {"id": "r", "mode": "fixed", "priority": 30, "program": [
        {"op": "lock", "lock": "db", "mode": "read"}, {"op": "sleep", "for": "1ms"},
        {"op": "unlock", "lock": "db", "mode": "read"}]},
      {"id": "w", "mode": "fixed", "priority": 20, "program": [
        {"op": "lock", "lock": "db", "mode": "write"}, {"op": "run", "for": "1ms"},
        {"op": "unlock", "lock": "db", "mode": "write"}]},
      {"id": "tr", "mode": "fixed", "priority": 25, "program": [{"op": "sleep", "for": "100us"},
        {"op": "try_lock", "lock": "db", "mode": "read", "else": [{"op": "run", "for": "10us"}]},
        {"op": "try_lock", "lock": "db", "mode": "write", "else": [{"op": "run", "for": "10us"}]}]})"));
  Traced t = traced(s);
  CHECK(lines_with(t.trace, {"lock_"}) == std::vector<std::string>{
                                              "0.000000000 cpu0 lock_acquired r lock=db waited=0ns",
                                              "0.000000000 cpu0 lock_contended w lock=db holder=r",
                                              "0.000100000 cpu0 lock_try_failed tr lock=db op=try_lock holder=r",
                                              "0.000110000 cpu0 lock_try_failed tr lock=db op=try_lock holder=r",
                                              "0.001000000 cpu0 lock_released r lock=db held=1ms",
                                              "0.001000000 cpu0 lock_acquired w lock=db waited=1ms",
                                              "0.002000000 cpu0 lock_released w lock=db held=1ms",
                                          });
  CHECK(t.out.lock("db").try_failed == 2);
}

TEST_CASE("upgrade: a lone reader upgrades at once; a second upgrade fails holding nothing", "[sync][fidelity]") {
  // The bundled scenario scenarios/locks/try-upgrade-downgrade.json, rw part (its description
  // derives the times): r1 upgrades and waits 1.5 ms for r2; r2's upgrade fails (want_upgrade
  // set) and wakes r1, the last reader having gone; r2 then asks for writing and is woken by
  // r1's downgrade.
  sim::scenario::LoadResult loaded =
      sim::scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/locks/try-upgrade-downgrade.json");
  INFO(loaded.diagnostics.format());
  REQUIRE(loaded.scenario);
  const scenario::Scenario& s = *loaded.scenario;
  for (const char* policy : {"fixed", "xnu"}) {
    INFO(policy);
    Traced t = traced(s, policy);
    CHECK(lines_with(t.trace, {" lock=rw"}) ==
          std::vector<std::string>{
              "0.010000000 cpu0 lock_acquired r2 lock=rw waited=0ns",
              "0.010500000 cpu0 lock_acquired r1 lock=rw waited=0ns",
              "0.011000000 cpu0 lock_released r1 lock=rw held=500us",
              "0.011000000 cpu0 lock_contended r1 lock=rw holder=r2",
              "0.012500000 cpu0 lock_released r2 lock=rw held=2.5ms",
              "0.012500000 cpu0 lock_try_failed r2 lock=rw op=upgrade holder=r1",
              "0.012500000 cpu0 lock_acquired r1 lock=rw waited=1.5ms",
              "0.012500000 cpu0 lock_converted r1 lock=rw to=write waited=1.5ms",
              "0.012500000 cpu0 lock_contended r2 lock=rw holder=r1",
              "0.013500000 cpu0 lock_converted r1 lock=rw to=read woken=1",
              "0.014500000 cpu0 lock_released r1 lock=rw held=2ms",
              "0.014500000 cpu0 lock_acquired r2 lock=rw waited=2ms",
              "0.015500000 cpu0 lock_converted r2 lock=rw to=read woken=0",
              "0.016500000 cpu0 lock_released r2 lock=rw held=2ms",
          });
    CHECK(t.out.lock("rw").upgrades_failed == 1);
    CHECK(t.out.lock("rw").try_failed == 0);
    for (const auto& e : t.out.results.expect) {
      INFO(e.text);
      CHECK(e.ok);
    }
  }
}

TEST_CASE("upgrade: a pending upgrade keeps new readers and waiting writers out", "[sync][fidelity]") {
  // One CPU. a (30) and b (29) read db; a upgrades at 100 us and waits for b (want_upgrade).
  // w (28) asked to write at 0 and waits. n (27) asks to read at 0 and waits for w (want_write).
  // b unlocks at 300 us: every waiter is woken (lck_rw_done), a gets db for writing first
  // (an upgrade beats the waiting writer: lck_rw_lock_exclusive waits while want_upgrade);
  // a writes 100 us and unlocks at 400 us; then w writes 100 us; n reads at 500 us.
  scenario::Scenario s = load_text(scenario_text(R"({"id": "db", "kind": "rw"})", R"(
      {"id": "a", "mode": "fixed", "priority": 30, "program": [
        {"op": "lock", "lock": "db", "mode": "read"}, {"op": "sleep", "for": "100us"},
        {"op": "upgrade", "lock": "db"}, {"op": "run", "for": "100us"},
        {"op": "unlock", "lock": "db", "mode": "write"}]},
      {"id": "b", "mode": "fixed", "priority": 29, "program": [
        {"op": "lock", "lock": "db", "mode": "read"}, {"op": "sleep", "for": "300us"},
        {"op": "unlock", "lock": "db", "mode": "read"}]},
      {"id": "w", "mode": "fixed", "priority": 28, "program": [
        {"op": "lock", "lock": "db", "mode": "write"}, {"op": "run", "for": "100us"},
        {"op": "unlock", "lock": "db", "mode": "write"}]},
      {"id": "n", "mode": "fixed", "priority": 27, "program": [
        {"op": "lock", "lock": "db", "mode": "read"}, {"op": "unlock", "lock": "db", "mode": "read"}]})"));
  Traced t = traced(s);
  CHECK(lines_with(t.trace, {"lock_"}) == std::vector<std::string>{
                                              "0.000000000 cpu0 lock_acquired a lock=db waited=0ns",
                                              "0.000000000 cpu0 lock_acquired b lock=db waited=0ns",
                                              "0.000000000 cpu0 lock_contended w lock=db holder=a",
                                              "0.000000000 cpu0 lock_contended n lock=db holder=a",
                                              "0.000100000 cpu0 lock_released a lock=db held=100us",
                                              "0.000100000 cpu0 lock_contended a lock=db holder=b",
                                              "0.000300000 cpu0 lock_released b lock=db held=300us",
                                              "0.000300000 cpu0 lock_acquired a lock=db waited=200us",
                                              "0.000300000 cpu0 lock_converted a lock=db to=write waited=200us",
                                              "0.000400000 cpu0 lock_released a lock=db held=100us",
                                              "0.000400000 cpu0 lock_acquired w lock=db waited=400us",
                                              "0.000500000 cpu0 lock_released w lock=db held=100us",
                                              "0.000500000 cpu0 lock_acquired n lock=db waited=500us",
                                              "0.000500000 cpu0 lock_released n lock=db held=0ns",
                                          });
}

TEST_CASE("upgrade and downgrade: holding the lock in the wrong mode is a simulated panic", "[sync][fidelity]") {
  scenario::Scenario up = load_text(scenario_text(R"({"id": "db", "kind": "rw"})", R"(
      {"id": "t", "program": [{"op": "run", "for": "1ms"}, {"op": "upgrade", "lock": "db"}]})"));
  Traced a = traced(up);
  REQUIRE(a.out.results.system.panics.size() == 1);
  CHECK(a.out.results.system.panics[0] ==
        "panic at 0.001000000 s: thread \"t\" on cpu0 at /threads/0/program/1: lck_rw_lock_shared_to_exclusive: "
        "rw lock \"db\" is not held for reading by this thread");
  scenario::Scenario down = load_text(scenario_text(R"({"id": "db", "kind": "rw"})", R"(
      {"id": "t", "program": [{"op": "lock", "lock": "db", "mode": "read"}, {"op": "downgrade", "lock": "db"}]})"));
  Traced b = traced(down);
  REQUIRE(b.out.results.system.panics.size() == 1);
  CHECK(b.out.results.system.panics[0] ==
        "panic at 0.000000000 s: thread \"t\" on cpu0 at /threads/0/program/1: lck_rw_lock_exclusive_to_shared: "
        "rw lock \"db\" is not held for writing by this thread");
}
