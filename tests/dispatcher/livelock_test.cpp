// Regression tests for issue 8, defect 1.1: real-time threads bound to a CPU livelocked at the
// first quantum expiry (`quantum_expired b` forever at 1 ms), and the no-progress guard that
// turns any such instant into an internal error instead of a hang.
#include <catch2/catch.hpp>

#include <string>

#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"
#include "tests/support.hpp"

using namespace testing;

namespace {

scenario::Scenario load_text(const std::string& text) {
  scenario::LoadResult r = scenario::load_scenario_text(text, "livelock.json");
  REQUIRE(r.scenario);
  return *r.scenario;
}

// tests/repro/rt-bound-livelock.json with `machine` and b's program spliced in.
std::string livelock_text(const std::string& release, const std::string& b_program, const std::string& b_mode) {
  return R"({"format":"xnusim-scenario","version":1,"duration":"10ms","machine":{"xnu":")" + release +
         R"("},"threads":[
    {"id":"a","mode":"realtime","realtime":{"computation":"1ms","constraint":"3ms"},"program":[{"op":"run","for":"1ms"}]},
    {"id":"b","cpu":0,)" + b_mode + R"(,"program":)" + b_program + "}]}";
}

const char* kRtMode = R"("mode":"realtime","realtime":{"computation":"1ms","constraint":"2ms"})";

}  // namespace

// xnu-facts.md 4.1 (quantum = computation; a thread that uses its whole quantum gets an infinite
// deadline), 5.1 (the CPU-local queue of bound threads wins ties only in choose_thread), 5.2 and
// 5.3 (after the first timeslice an equal thread takes the CPU; choose_thread runs before
// thread_dispatch re-queues the outgoing thread; a dispatch with no quantum left gives a fresh
// one). So at b's expiry (1 ms) a, queued at the same level 97, runs its 1 ms; b, now without a
// deadline and alone, runs its remaining 4 ms from 2 ms with fresh 1 ms quanta.
TEST_CASE("dispatcher: a bound RT thread whose quantum expires gives way to an equal RT thread and the run ends",
          "[dispatcher][regression]") {
  for (const char* release : {"517", "792"}) {
    for (const char* policy : {"xnu", "fixed"}) {
      INFO("release " << release << " policy " << policy);
      auto s = load_text(livelock_text(release, R"([{"op":"run","for":"5ms"}])", kRtMode));
      Run r = run(s, policy);
      CHECK(r.switches(s) ==
            std::vector<std::string>{"0us cpu0 idle->b", "1000us cpu0 b->a", "2000us cpu0 a->b", "6000us cpu0 b->idle"});
      CHECK(r.thread("a").response_ns.max == 2'000'000);
      CHECK(r.thread("b").response_ns.max == 6'000'000);
      CHECK(r.thread("b").cpu_time_ns == 5'000'000);
      // b's quantum expires at 1, 3, 4, 5 and 6 ms (fresh 1 ms quanta, never at one instant twice).
      std::vector<int64_t> expiries;
      for (const auto& e : r.trace.of(core::TraceKind::quantum_expired))
        if (e.thread == 1) expiries.push_back(e.time.ns);
      CHECK(expiries == std::vector<int64_t>{1'000'000, 3'000'000, 4'000'000, 5'000'000, 6'000'000});
    }
  }
}

TEST_CASE("dispatcher: a bound thread made real-time by set_mode gives way at its quantum expiry too",
          "[dispatcher][regression]") {
  // b becomes RT at 0, sleeps 100 us so that its wakeup sets its deadline (2.1 ms, xnu-facts.md
  // 4.1), and runs; a arrives at 200 us with the later deadline 3.2 ms and waits. At b's expiry
  // (1.1 ms) a runs 1.1 -> 2.1 ms, then b its remaining 4 ms: done at 6.1 ms.
  for (const char* release : {"517", "792"}) {
    for (const char* policy : {"xnu", "fixed"}) {
      INFO("release " << release << " policy " << policy);
      std::string text = livelock_text(
          release,
          R"([{"op":"set_mode","mode":"realtime","realtime":{"computation":"1ms","constraint":"2ms"}},)"
          R"({"op":"sleep","for":"100us"},{"op":"run","for":"5ms"}])",
          R"("mode":"timeshare")");
      auto s = load_text(text);
      s.threads[0].start = us(200);
      Run r = run(s, policy);
      CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->b", "0us cpu0 b->idle", "100us cpu0 idle->b",
                                                      "1100us cpu0 b->a", "2100us cpu0 a->b", "6100us cpu0 b->idle"});
      CHECK(r.thread("a").response_ns.max == 1'900'000);
      CHECK(r.thread("b").response_ns.max == 6'100'000);
    }
  }
}

TEST_CASE("dispatcher: the reported livelock input runs to its end from the command line", "[dispatcher][cli]") {
  for (const char* policy : {"xnu", "fixed"}) {
    CliResult r = xnusim(std::string("run tests/repro/rt-bound-livelock.json --policy ") + policy + " --json -");
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("\"duration_ns\": 10000000") != std::string::npos);
  }
}
