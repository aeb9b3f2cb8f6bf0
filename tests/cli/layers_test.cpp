// The layering is enforced by the build (scripts/layers.py, run by meson's `layers` target):
// these tests show that the check passes on the tree and fails on a wrong include.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;

namespace {

testing::CliResult layers(const std::string& args) {
  std::string out = testing::temp_path("layers.out"), err = testing::temp_path("layers.err");
  std::string cmd = "python3 " XNUSIM_SOURCE_DIR "/scripts/layers.py " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  testing::CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::slurp(out);
  r.err = testing::slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

}  // namespace

TEST_CASE("layers: every include of the source tree is one the layer table allows", "[cli][unit]") {
  testing::CliResult r = layers("check");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
}

TEST_CASE("layers: a metrics file that includes the dispatcher, or a report that uses CLI11, fails the check",
          "[cli][unit]") {
  // A copy of the tree's sources (not its build) with two wrong includes added.
  fs::path root = testing::temp_path("layers-tree");
  fs::remove_all(root);
  fs::create_directories(root / "scripts");
  fs::copy(XNUSIM_SOURCE_DIR "/scripts/layers.py", root / "scripts/layers.py");
  for (const char* dir : {"sim", "reports"})
    fs::copy(fs::path(XNUSIM_SOURCE_DIR) / dir, root / dir,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  REQUIRE(layers("--root " + root.string() + " check").code == 0);
  {
    std::ofstream f(root / "sim/metrics/distribution.cpp", std::ios::app);
    f << "#include \"sim/dispatcher/dispatcher.hpp\"\n";
  }
  {
    std::ofstream f(root / "reports/text_report.cpp", std::ios::app);
    f << "#include <CLI/CLI.hpp>\n";
  }
  testing::CliResult r = layers("--root " + root.string() + " check");
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("sim/metrics/distribution.cpp:") &&
                        Catch::Contains(": sim/metrics may not include sim/dispatcher (allowed: sim/core, "
                                        "sim/metrics, sim/model)"));
  CHECK_THAT(r.err, Catch::Contains("reports/text_report.cpp:") &&
                        Catch::Contains(": reports may not use <CLI/CLI.hpp> (allowed third-party: fmt/, nlohmann/)"));
  CHECK_THAT(r.err, Catch::Contains("layers: 2 layering violation(s)"));
  fs::remove_all(root);
}
