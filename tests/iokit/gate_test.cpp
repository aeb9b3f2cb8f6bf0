// The work-loop gate over an xnu mutex: promotion of a user holder, adaptive spin, and expects
// that name the objects the simulator adds (gates, work threads, funnels).
#include <catch2/catch.hpp>

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace testing;

namespace {

const char* kPromotion = R"({"format": "xnusim-scenario", "version": 1, "duration": "20ms", "policy": "xnu",
  "machine": {"xnu": "792"},
  "workloops": [{"id": "wl"}],
  "threads": [
    {"id": "client", "program": [{"op": "run_action", "workloop": "wl", "for": "5ms"}]},
    {"id": "audio", "mode": "realtime", "realtime": {"period": "10ms", "computation": "1ms", "constraint": "2ms"},
     "program": [{"op": "sleep", "for": "1ms"}, {"op": "run_action", "workloop": "wl", "for": "500us"}]}],
  "expect": [
    {"lock": "wl.gate", "metric": "contended", "eq": 1},
    {"lock": "wl.gate", "metric": "wait_ns.max", "eq": "4ms"},
    {"thread": "client", "metric": "max_sched_pri", "eq": 80},
    {"thread": "workloop:wl", "metric": "max_sched_pri", "eq": 81}]})";

}  // namespace

TEST_CASE("iokit: a real-time thread waiting for the gate promotes a user holder to 80", "[iokit][fidelity]") {
  // xnu-facts.md 7 and 9.1: the gate is an IORecursiveLock over an ordinary mutex, so the
  // waiter's value max(97, 97) clamped to [31, 80] = 80 promotes the holder (base 31 < 80) until
  // it releases; the work thread (81) is never promoted.
  scenario::Scenario s = load_text(kPromotion);
  Run r = run(s, "xnu");
  for (const auto& e : r.out.results.expect) {
    INFO(e.text);
    CHECK(e.ok);
  }
  std::vector<std::pair<int64_t, int64_t>> client_pri;
  for (const auto& e : r.trace.of(core::TraceKind::priority_changed))
    if (e.thread == 0) client_pri.emplace_back(e.time.ns, e.b);
  CHECK(client_pri == std::vector<std::pair<int64_t, int64_t>>{{1'000'000, 80}, {5'000'000, 31}});
}

TEST_CASE("scenario: expects may name the gates, work threads and funnels the simulator adds", "[scenario][unit]") {
  std::string base = R"({"format": "xnusim-scenario", "version": 1, "duration": "1ms",
    "workloops": [{"id": "wl"}], "threads": [{"id": "t", "program": [{"op": "run", "for": "1ms"}]}],
    "expect": [)";
  for (const char* ok : {R"({"lock": "wl.gate", "metric": "acquisitions", "min": 0})",
                         R"({"lock": "kernel_funnel", "metric": "acquisitions", "min": 0})",
                         R"({"thread": "workloop:wl", "metric": "jobs", "min": 0})"}) {
    scenario::LoadResult r = scenario::load_scenario_text(base + ok + "]}", "x.json");
    INFO(ok << "\n" << r.diagnostics.format());
    CHECK(r.scenario);
  }
  for (const char* bad : {R"({"lock": "other.gate", "metric": "acquisitions", "min": 0})",
                          R"({"thread": "workloop:other", "metric": "jobs", "min": 0})"}) {
    scenario::LoadResult r = scenario::load_scenario_text(base + bad + "]}", "x.json");
    INFO(bad);
    CHECK_FALSE(r.scenario);
  }
}

TEST_CASE("iokit: an interrupt action with \"wakeup\" wakes the command-gate sleepers", "[iokit][unit]") {
  // The talk's data-collection device: the client sleeps in commandSleep (gate released); the
  // interrupt's action runs on the work thread with the gate held and ends with commandWakeup.
  // 1 ms: interrupt, 5 us handler; the work thread (81) runs the 20 us action and wakes the
  // reader at 1.025 ms; it re-takes the gate, leaves it, and runs its 10 us copy: 1.035 ms.
  scenario::Scenario s = load_text(R"({"format": "xnusim-scenario", "version": 1, "duration": "5ms",
    "machine": {"xnu": "792"},
    "events": [{"id": "data"}],
    "workloops": [{"id": "wl", "sources": [{"id": "src", "kind": "interrupt", "action": "20us", "wakeup": "data"}]}],
    "interrupts": [{"id": "irq", "arrival": {"at": ["1ms"]}, "handler": "5us", "source": "wl.src"}],
    "threads": [{"id": "reader", "program": [
      {"op": "run_action", "workloop": "wl", "for": "10us"},
      {"op": "command_sleep", "workloop": "wl", "event": "data"},
      {"op": "run_action", "workloop": "wl", "for": "10us"}]}]})");
  Run r = run(s, "xnu");
  CHECK(r.thread("reader").response_ns.max == 1'035'000);
  std::vector<core::TraceEvent> signaled;  // on "data" (event 0; the work loop's workToDo follows)
  for (const auto& e : r.trace.of(core::TraceKind::event_signaled))
    if (e.other == 0) signaled.push_back(e);
  REQUIRE(signaled.size() == 1);
  CHECK(signaled[0].time.ns == 1'025'000);
  CHECK(signaled[0].a == 1);
}
