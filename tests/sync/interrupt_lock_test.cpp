// Spin locks in primary interrupt handlers (issue 11, "Locks"): a handler's program takes an
// IOSimpleLock with interrupts off; IOSimpleLockLockDisableInterrupt in a thread holds arrivals
// back; a handler that spins for the lock of the thread it interrupted on the same CPU spins for
// ever, until ppc hw_lock.s hw_lock_lock's LockTimeOut (0.25 s, xnu-facts.md 7) panics. Seed 001,
// 3.1 ("useful ... when one of the threads could be running in an interrupt context") and 6.1.4
// (IOSimpleLock's interface for enabling and disabling interrupts).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace testing;

namespace {

Traced traced(const scenario::Scenario& s, const std::string& policy) { return run_traced(s, policy); }

}  // namespace

TEST_CASE("interrupt lock: a handler spins for a lock held on another CPU; disabled interrupts hold an arrival back",
          "[sync][iokit][fidelity]") {
  // scenarios/locks/interrupt-spinlock.json (its description derives every time).
  scenario::Scenario s = load_bundled("scenarios/locks/interrupt-spinlock.json");
  for (const char* policy : {"fixed", "xnu"}) {
    INFO(policy);
    Traced t = traced(s, policy);
    CHECK(lines_with(t.trace, {"lock=s", "interrupt_"}) ==
          std::vector<std::string>{
              "0.000900000 cpu1 lock_acquired t1 lock=s waited=0ns",
              "0.001000000 cpu0 interrupt_arrived dev",
              "0.001000000 cpu0 interrupt_began dev latency=0ns",
              "0.001050000 cpu0 interrupt_lock dev lock=s spins holder=t1",
              "0.001400000 cpu1 lock_released t1 lock=s held=500us",
              "0.001400000 cpu0 interrupt_lock dev lock=s acquired spun=350us",
              "0.001500000 cpu0 interrupt_lock dev lock=s released held=100us",
              "0.001500000 cpu0 interrupt_ended dev",
              "0.004000000 cpu0 lock_acquired t0 lock=s waited=0ns",
              "0.005000000 cpu0 interrupt_arrived dev",
              "0.006000000 cpu0 lock_released t0 lock=s held=2ms",
              "0.006000000 cpu0 interrupt_began dev latency=1ms",
              "0.006050000 cpu0 interrupt_lock dev lock=s acquired spun=0ns",
              "0.006150000 cpu0 interrupt_lock dev lock=s released held=100us",
              "0.006150000 cpu0 interrupt_ended dev",
          });
    for (const auto& e : t.out.results.expect) {
      INFO(e.text);
      CHECK(e.ok);
    }
    CHECK(t.out.results.system.panics.empty());
  }
}

TEST_CASE("interrupt lock: a handler spinning for the lock of the thread it interrupted panics at LockTimeOut",
          "[sync][iokit][fidelity]") {
  // scenarios/locks/interrupt-deadlock-panic.json: t takes s at 0 with interrupts on; dev's
  // handler interrupts t on cpu0 at 1 ms and spins; 1 ms + 250 ms = 0.251 s.
  scenario::Scenario s = load_bundled("scenarios/locks/interrupt-deadlock-panic.json");
  for (const char* policy : {"fixed", "xnu", "edf", "bsd44", "cfs"}) {
    INFO(policy);
    Traced t = traced(s, policy);
    REQUIRE(t.out.results.system.panics.size() == 1);
    CHECK(t.out.results.system.panics[0] ==
          "panic at 0.251000000 s: thread \"t\" on cpu0 at /threads/0/program/1: simple lock deadlock: the primary "
          "interrupt handler of \"dev\" on cpu0 has spun since 0.001000000 s for spin lock \"s\", which this thread "
          "took at 0.000000000 s without disabling interrupts (IOSimpleLockLock, not IOSimpleLockLockDisableInterrupt) "
          "and was holding when the handler interrupted it on the same CPU; it can never run again to release it, and "
          "hw_lock_lock gives up after LockTimeOut (250ms)");
    CHECK(lines_with(t.trace, {"interrupt_lock"}) ==
          std::vector<std::string>{"0.001000000 cpu0 interrupt_lock dev lock=s spins holder=t"});
  }
}

TEST_CASE("interrupt lock: a handler's spin for a lock held on another CPU also times out", "[sync][iokit][fidelity]") {
  // h (cpu1) holds s for 300 ms; dev's handler on cpu0 spins from 1 ms: hw_lock_lock's timeout
  // at 1 ms + 250 ms, although h would release it at 300 ms.
  scenario::Scenario s = load_text(R"({"format": "xnusim-scenario", "version": 1, "name": "t", "duration": "1s",
    "machine": {"cpus": 2}, "locks": [{"id": "s", "kind": "spin"}],
    "interrupts": [{"id": "dev", "cpu": 0, "arrival": {"at": ["1ms"]},
                    "handler": [{"op": "lock", "lock": "s"}, {"op": "unlock", "lock": "s"}]}],
    "threads": [{"id": "h", "mode": "fixed", "priority": 30, "cpu": 1, "program": [
      {"op": "lock", "lock": "s"}, {"op": "run", "for": "300ms"}, {"op": "unlock", "lock": "s"}]}]})");
  Traced t = traced(s, "fixed");
  REQUIRE(t.out.results.system.panics.size() == 1);
  CHECK(t.out.results.system.panics[0] ==
        "panic at 0.251000000 s: thread \"h\" on cpu1 at /threads/0/program/1: simple lock timeout: the primary "
        "interrupt handler of \"dev\" on cpu0 spun 250ms for spin lock \"s\" held by this thread since 0.000000000 s");
}

TEST_CASE("interrupt lock: a handler's release hands the lock to a thread spinning on another CPU",
          "[sync][iokit][fidelity]") {
  // dev's handler (cpu0) holds s from 1 ms for 1 ms; w (cpu1) asks at 1.5 ms, spins 500 us and
  // gets it at 2 ms, holds it 100 us.
  scenario::Scenario s = load_text(R"({"format": "xnusim-scenario", "version": 1, "name": "t", "duration": "10ms",
    "machine": {"cpus": 2}, "locks": [{"id": "s", "kind": "spin"}],
    "interrupts": [{"id": "dev", "cpu": 0, "arrival": {"at": ["1ms"]},
                    "handler": [{"op": "lock", "lock": "s"}, {"op": "run", "for": "1ms"}, {"op": "unlock", "lock": "s"}]}],
    "threads": [{"id": "w", "mode": "fixed", "priority": 30, "cpu": 1, "program": [
      {"op": "sleep", "for": "1500us"}, {"op": "lock", "lock": "s"}, {"op": "run", "for": "100us"},
      {"op": "unlock", "lock": "s"}]}]})");
  Traced t = traced(s, "fixed");
  CHECK(lines_with(t.trace, {"lock=s"}) == std::vector<std::string>{
                                               "0.001000000 cpu0 interrupt_lock dev lock=s acquired spun=0ns",
                                               "0.001500000 cpu1 lock_contended w lock=s holder=none",
                                               "0.001500000 cpu1 spin_began w lock=s",
                                               "0.002000000 cpu0 interrupt_lock dev lock=s released held=1ms",
                                               "0.002000000 cpu1 lock_acquired w lock=s waited=500us",
                                               "0.002000000 cpu1 spin_ended w lock=s spun=500us",
                                               "0.002100000 cpu1 lock_released w lock=s held=100us",
                                           });
  const metrics::LockResult& l = t.out.lock("s");
  CHECK(l.acquisitions == 2);
  CHECK(l.contended == 1);
  CHECK(l.hold_ns.max == 1'000'000);
  CHECK(t.out.thread("w").spin_ns == 500'000);
  CHECK(t.out.results.system.panics.empty());
}

TEST_CASE("interrupt lock: a filter source's filter runs after the handler's ops, in interrupt context",
          "[sync][iokit][unit]") {
  // dev at 1 ms: handler ops 30 us, then the filter of wl.f 20 us (IOFilterInterruptEventSource's
  // filter is primary-context code too): the handler returns at 1.05 ms; cpu0 spent 50 us there.
  // The same interrupt with "handler": "30us" takes the same 50 us.
  for (const char* handler : {R"([{"op": "run", "for": "30us"}])", R"("30us")"}) {
    INFO(handler);
    scenario::Scenario s = load_text(std::string(R"({"format": "xnusim-scenario", "version": 1, "name": "t",
      "duration": "10ms", "workloops": [{"id": "wl", "sources": [{"id": "f", "kind": "filter_interrupt",
      "action": "100us", "filter": "20us"}]}],
      "interrupts": [{"id": "dev", "cpu": 0, "arrival": {"at": ["1ms"]}, "source": "wl.f", "handler": )") +
                                     handler + R"(}],
      "threads": [{"id": "t", "program": [{"op": "run", "for": "1ms"}]}]})");
    Traced t = traced(s, "fixed");
    CHECK(lines_with(t.trace, {"interrupt_ended"}) ==
          std::vector<std::string>{"0.001050000 cpu0 interrupt_ended dev"});
    CHECK(t.out.results.cpus.at(0).interrupt_ns == 50'000);
  }
}
