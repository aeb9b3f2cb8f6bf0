// Every bundled scenario: its expects hold under its own policy, and its trace under every
// policy matches the golden file byte for byte (UPDATE_GOLDEN=1 rewrites the golden files).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/run/simulation.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using namespace sim;

namespace {


std::string repo_relative(const fs::path& p) {
  return fs::relative(p, fs::path(XNUSIM_SOURCE_DIR)).generic_string();
}

// Golden traces cover the first 5 simulated seconds at most, so that long scenarios keep
// reviewable golden files.
constexpr int64_t kGoldenLimitNs = 5'000'000'000;

std::string trace_of(const scenario::Scenario& s, const std::string& policy) {
  sim::run::Options o;
  o.policy = policy;
  if (s.duration.ns > kGoldenLimitNs) o.duration = core::Duration{kGoldenLimitNs};
  return testing::run_traced(s, o).trace;
}

}  // namespace

TEST_CASE("scenarios: every bundled scenario loads and its expects hold", "[cli][golden]") {
  auto files = testing::bundled_scenario_files();
  REQUIRE(files.size() >= 2);
  for (const fs::path& f : files) {
    INFO(repo_relative(f));
    scenario::LoadResult r = scenario::load_scenario_file(repo_relative(f));
    INFO(r.diagnostics.format());
    REQUIRE(r.scenario);
    REQUIRE(sim::run::check_supported(*r.scenario).empty());
    REQUIRE_FALSE(r.scenario->description.empty());
    testing::RunOutput out = testing::run_scenario(*r.scenario, {});
    // Convention: a scenario whose file name ends in "-panic" stops with a simulated panic by
    // design (`xnusim run` exits 4); its expects describe the run up to the panic. No other
    // scenario may panic.
    bool wants_panic = f.stem().string().ends_with("-panic");
    std::string panic = out.results.system.panics.empty() ? "no panic" : out.results.system.panics[0];
    INFO(panic);
    CHECK(out.results.system.panics.empty() != wants_panic);
    for (const metrics::ExpectResult& e : out.results.expect) {
      INFO(e.text);
      CHECK(e.ok);
    }
  }
}

TEST_CASE("scenarios: traces match the golden files under every policy", "[cli][golden]") {
  bool update = std::getenv("UPDATE_GOLDEN") != nullptr;
  for (const fs::path& f : testing::bundled_scenario_files()) {
    scenario::LoadResult r = scenario::load_scenario_file(repo_relative(f));
    REQUIRE(r.scenario);
    for (const policies::PolicyInfo& p : policies::registry()) {
      std::string name = repo_relative(f);
      std::replace(name.begin(), name.end(), '/', '_');
      fs::path golden = fs::path(XNUSIM_SOURCE_DIR) / "tests" / "golden" /
                        (name.substr(0, name.size() - 5) + "." + std::string(p.name) + ".trace");
      std::string trace = trace_of(*r.scenario, std::string(p.name));
      INFO(golden.string());
      if (update) {
        std::ofstream(golden, std::ios::binary) << trace;
        continue;
      }
      std::ifstream in(golden, std::ios::binary);
      REQUIRE(in.good());
      std::stringstream want;
      want << in.rdbuf();
      // Compare line by line so that a failure names the first differing line.
      std::istringstream a(trace), b(want.str());
      std::string la, lb;
      int line = 0;
      while (true) {
        bool ga = static_cast<bool>(std::getline(a, la));
        bool gb = static_cast<bool>(std::getline(b, lb));
        ++line;
        if (!ga && !gb) break;
        INFO("line " << line);
        REQUIRE(la == lb);
      }
    }
  }
}

TEST_CASE("scenarios: BW-C and Bench-10 match response-time analysis exactly", "[cli][fidelity]") {
  // Source: the reference task sets of neighbours.md (response-time analysis, confirmed by two
  // independent simulators).
  struct Want {
    const char* file;
    std::vector<int64_t> wcrt_ms;
  };
  for (const Want& w : {Want{"scenarios/basics/bw-c.json", {3, 6, 20}},
                        Want{"scenarios/basics/bench-10.json", {1, 2, 4, 7, 10, 17, 30, 49, 75, 197}}}) {
    scenario::LoadResult r = scenario::load_scenario_file(w.file);
    REQUIRE(r.scenario);
    for (const policies::PolicyInfo& p : policies::registry()) {
      if (p.name == "edf") continue;  // not fixed priority: tests/policies/edf_fidelity_test.cpp
      sim::run::Options o;
      o.policy = std::string(p.name);
      testing::RunOutput out = testing::run_scenario(*r.scenario, o);
      // (Under xnu the scheduler tick thread follows the task set: kernel:sched_tick, fixed at 95.
      // Its zero-time runs leave every response time unchanged.)
      REQUIRE(out.results.threads.size() >= w.wcrt_ms.size());
      for (size_t i = 0; i < w.wcrt_ms.size(); ++i) {
        INFO(w.file << " " << p.name << " " << out.results.threads[i].id);
        CHECK(out.results.threads[i].response_ns.max == w.wcrt_ms[i] * 1'000'000);
        CHECK(out.results.threads[i].deadline_misses == 0);
      }
    }
  }
}
