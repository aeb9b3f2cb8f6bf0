// Every bundled scenario (scenarios/**/*.json) runs under `cfs` to its end (or to the panic a
// "-panic" scenario is made for) without an internal error, twice with byte-identical JSON.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using namespace testing;

TEST_CASE("cfs: every bundled scenario runs to its end, twice with the same JSON", "[policies][property]") {
  std::vector<fs::path> files = testing::bundled_scenario_files();
  REQUIRE(files.size() >= 2);
  for (const fs::path& f : files) {
    std::string rel = fs::relative(f, fs::path(XNUSIM_SOURCE_DIR)).generic_string();
    INFO(rel);
    scenario::LoadResult r = scenario::load_scenario_file(rel);
    REQUIRE(r.scenario);
    sim::run::Options o;
    o.policy = "cfs";
    RunOutput a = testing::run_scenario(*r.scenario, o);  // an internal error would throw here
    RunOutput b = testing::run_scenario(*r.scenario, o);
    CHECK(a.json.dump() == b.json.dump());
    bool wants_panic = f.stem().string().ends_with("-panic");
    CHECK(a.results.system.panics.empty() != wants_panic);
  }
}
