// Golden diagnostics: every tests/bad/*.json must fail to load with exactly the messages in its
// sibling .expected file. UPDATE_GOLDEN=1 rewrites the .expected files instead (review them!).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/scenario/loader.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<fs::path> bad_scenarios() {
  std::vector<fs::path> out;
  for (const fs::directory_entry& e :
       fs::directory_iterator(fs::path(XNUSIM_SOURCE_DIR) / "tests/bad"))
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("scenario: every malformed scenario in tests/bad fails with its expected diagnostics",
          "[scenario][golden]") {
  const char* update = std::getenv("UPDATE_GOLDEN");
  bool updating = update != nullptr && std::string(update) == "1";
  std::vector<fs::path> files = bad_scenarios();
  REQUIRE(files.size() >= 30);
  for (const fs::path& json : files) {
    std::string label = "tests/bad/" + json.filename().string();
    fs::path expected_path = fs::path(json).replace_extension(".expected");
    // The loader sees the file's text under a stable relative label, so that the expected output
    // does not depend on where the tree is checked out.
    sim::scenario::LoadResult r = sim::scenario::load_scenario_text(read_text(json), label);
    std::string actual = r.diagnostics.format();
    INFO(label);
    CHECK_FALSE(r.scenario.has_value());
    CHECK(r.diagnostics.has_errors());
    if (updating) {
      std::ofstream(expected_path, std::ios::binary) << actual;
      continue;
    }
    REQUIRE(fs::exists(expected_path));
    CHECK(actual == read_text(expected_path));
  }
}
