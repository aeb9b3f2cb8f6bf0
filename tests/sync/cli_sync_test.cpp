// The xnusim binary on lock scenarios: --check passes, a simulated panic exits 4 with its
// report, results carry the lock figures, and runs with locks are deterministic.
#include <catch2/catch.hpp>


#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.hpp"

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using testing::xnusim;
using Result = testing::CliResult;

TEST_CASE("sync cli: a lock scenario runs and its expects pass with --check", "[sync][cli]") {
  Result r = xnusim("run scenarios/inversion/three-threads-none.json --check --json -");
  CHECK(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["threads"]["high"]["blocked_ns"] == 65'000'000);
  CHECK(j["threads"]["high"]["inversion_ns"] == 48'000'000);
  CHECK(j["threads"]["high"]["spin_ns"] == 0);
  CHECK(j["locks"]["m"]["contended"] == 1);
  CHECK(j["locks"]["m"]["wait_ns"]["max"] == 65'000'000);
  // The text summary shows the blocked and inversion columns and the lock table.
  Result t = xnusim("run scenarios/inversion/three-threads-none.json");
  CHECK(t.code == 0);
  CHECK(t.out.find("inversion") != std::string::npos);
  CHECK(t.out.find("acquisitions") != std::string::npos);
}

TEST_CASE("sync cli: a simulated panic exits 4 and reports who, where and when", "[sync][cli]") {
  Result r = xnusim("run scenarios/funnels/both-funnels-panic.json --check --trace -");
  CHECK(r.code == 4);
  // With the trace on stdout the expect results go to stderr, then the panic report.
  CHECK(r.err ==
        "PASS thread \"nfsd\" cpu_time_ns == 2 ms: got 2 ms\n"
        "PASS thread \"nfsd\" jobs == 0: got 0\n"
        "xnusim: panic at 0.002000000 s: thread \"nfsd\" on cpu0 at /threads/0/program/2: thread_funnel_set: asked "
        "for the network funnel while holding the kernel funnel (both funnels are never held at once)\n");
  CHECK(r.out.find("0.002000000 cpu0 panicked nfsd") != std::string::npos);
}

TEST_CASE("sync cli: runs with locks, funnels and random durations are deterministic", "[sync][unit]") {
  for (const char* file : {"scenarios/inversion/pathfinder.json", "scenarios/funnels/two-cpus-serialised.json"}) {
    sim::scenario::LoadResult r = sim::scenario::load_scenario_file(file);
    REQUIRE(r.scenario);
    for (const char* policy : {"fixed", "xnu"}) {
      sim::run::Options o;
      o.policy = policy;
      o.duration = sim::core::Duration::seconds(1);
      testing::Traced a = testing::run_traced(*r.scenario, o);
      testing::Traced b = testing::run_traced(*r.scenario, o);
      INFO(file << " " << policy);
      CHECK(a.trace == b.trace);
      CHECK(a.out.json.dump() == b.out.json.dump());
      CHECK(a.trace.find("lock_acquired") != std::string::npos);
    }
  }
}
