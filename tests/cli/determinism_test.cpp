// Same scenario, policy and seed give byte-identical JSON and trace.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "sim/run/simulation.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace sim;

namespace {

const char* kRandomScenario = R"({
  "format": "xnusim-scenario", "version": 1, "duration": "2s", "seed": 11,
  "machine": {"cpus": 2, "costs": {"context_switch": "3us", "thread_wakeup": "1us"}},
  "threads": [
    {"id": "u1", "program": [{"op": "loop", "forever": true, "body": [
      {"op": "run", "for": {"uniform": ["100us", "2ms"]}}, {"op": "sleep", "for": {"exponential": "1ms"}}]}]},
    {"id": "u2", "priority": 40, "program": [{"op": "loop", "forever": true, "body": [
      {"op": "run", "for": {"normal": {"mean": "1ms", "stddev": "300us"}}}, {"op": "sleep", "for": {"uniform": ["1ms", "3ms"]}}]}]},
    {"id": "u3", "priority": 20, "program": [{"op": "run", "for": "10s"}]},
    {"id": "p", "mode": "fixed", "priority": 50, "period": "5ms", "program": [{"op": "run", "for": {"exponential": "500us"}}]}
  ]
})";

struct Output {
  std::string json;
  std::string trace;
};

Output run_once(const scenario::Scenario& s, const std::string& policy, uint64_t seed) {
  sim::run::Options o;
  o.policy = policy;
  o.seed = seed;
  testing::Traced t = testing::run_traced(s, o);
  return Output{t.out.json.dump(2), t.trace};
}

}  // namespace

TEST_CASE("determinism: two runs give byte-identical JSON and trace", "[cli][unit]") {
  scenario::LoadResult r = scenario::load_scenario_text(kRandomScenario, "random.json");
  INFO(r.diagnostics.format());
  REQUIRE(r.scenario);
  for (const policies::PolicyInfo& p : policies::registry()) {
    Output a = run_once(*r.scenario, std::string(p.name), 11);
    Output b = run_once(*r.scenario, std::string(p.name), 11);
    CHECK(a.trace.size() > 10'000);
    CHECK(a.json == b.json);
    CHECK(a.trace == b.trace);
    // Another seed draws other durations.
    Output c = run_once(*r.scenario, std::string(p.name), 12);
    CHECK(a.trace != c.trace);
  }
}
