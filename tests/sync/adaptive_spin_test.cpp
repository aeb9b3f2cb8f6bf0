// The PPC adaptive mutex spin lasts only while the owner runs (xnu-facts.md 7).
#include <catch2/catch.hpp>

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace testing;

TEST_CASE("sync: an adaptive spin ends as soon as the mutex owner leaves its CPU", "[sync][fidelity]") {
  // 2 CPUs. A holds m and computes until 1 ms, then sleeps 5 ms still holding it. B asks for m
  // at 995 us while A runs: it spins (MutexSpin = 10 us), but A leaves its CPU at 1 ms, so B
  // stops after 5 us and waits; A's unlock at 6 ms wakes it.
  scenario::LoadResult r = scenario::load_scenario_text(R"({"format": "xnusim-scenario", "version": 1,
    "duration": "20ms", "machine": {"cpus": 2, "xnu": "792"},
    "locks": [{"id": "m", "kind": "mutex"}],
    "threads": [
      {"id": "a", "program": [{"op": "lock", "lock": "m"}, {"op": "run", "for": "1ms"},
                              {"op": "sleep", "for": "5ms"}, {"op": "unlock", "lock": "m"}]},
      {"id": "b", "program": [{"op": "sleep", "for": "995us"}, {"op": "lock", "lock": "m"},
                              {"op": "run", "for": "1ms"}, {"op": "unlock", "lock": "m"}]}]})",
                                                        "spin.json");
  INFO(r.diagnostics.format());
  REQUIRE(r.scenario);
  Run run_ = run(*r.scenario, "xnu");
  auto ended = run_.trace.of(core::TraceKind::spin_ended);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].thread == 1);
  CHECK(ended[0].time.ns == 1'000'000);
  CHECK(ended[0].a == 5'000);
  auto blocked = run_.trace.of(core::TraceKind::blocked);
  bool b_waits_at_1ms = false;
  for (const auto& e : blocked)
    if (e.thread == 1 && e.time.ns == 1'000'000 && e.reason == static_cast<uint8_t>(core::BlockReason::lock))
      b_waits_at_1ms = true;
  CHECK(b_waits_at_1ms);
  CHECK(run_.thread("b").response_ns.max == 7'000'000);  // acquired at 6 ms, 1 ms of work
}
