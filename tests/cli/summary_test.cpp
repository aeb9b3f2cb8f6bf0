// The text summary of `xnusim run` as users see it: at most 100 columns for every bundled
// scenario, the same columns for every seed, --wide for everything, and --check --quiet still
// naming the expects that failed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Display width: one column per UTF-8 code point.
size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The column names of every table (the lines after a blank line or the first one).
std::vector<std::string> headers(const std::string& summary) {
  std::vector<std::string> out;
  std::vector<std::string> lines = lines_of(summary);
  for (size_t i = 1; i < lines.size(); ++i)
    if (lines[i - 1].empty() && !lines[i].empty() && lines[i].rfind("PASS", 0) != 0 && lines[i].rfind("FAIL", 0) != 0 &&
        lines[i].rfind("system:", 0) != 0)
      out.push_back(lines[i]);
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

TEST_CASE("summary: every bundled scenario fits 100 columns unless --wide", "[cli][summary]") {
  std::vector<std::string> files = testing::bundled_scenario_names();
  REQUIRE(files.size() >= 20);
  size_t widest_wide = 0;
  for (const std::string& f : files) {
    testing::CliResult r = testing::xnusim("run " + f);
    INFO(f);
    CHECK((r.code == 0 || r.code == 4));
    for (const std::string& line : lines_of(r.out)) {
      INFO(line);
      CHECK(width(line) <= 100);
    }
    testing::CliResult w = testing::xnusim("run " + f + " --wide");
    for (const std::string& line : lines_of(w.out)) widest_wide = std::max(widest_wide, width(line));
    CHECK(w.out.find("migrations") != std::string::npos);
    CHECK(r.out.find("migrations") == std::string::npos);
  }
  CHECK(widest_wide > 100);  // --wide really is wider
}

TEST_CASE("summary: the columns are the same for every seed of a scenario", "[cli][summary]") {
  // pathfinder: random durations; a seed that inverts and one that may not.
  for (const char* f : {"scenarios/inversion/pathfinder.json", "scenarios/realtime/audio.json"}) {
    for (const char* mode : {"", " --wide"}) {
      std::vector<std::vector<std::string>> first;
      for (int seed : {1, 2, 3, 7}) {
        testing::CliResult r = testing::xnusim(std::string("run ") + f + mode + " --seed " + std::to_string(seed));
        REQUIRE(r.code == 0);
        std::vector<std::vector<std::string>> cols;
        for (const std::string& h : headers(r.out)) cols.push_back(words(h));
        INFO(f << mode << " seed " << seed);
        if (first.empty())
          first = cols;
        else
          CHECK(cols == first);
      }
    }
  }
  // three-threads-inherit inverts nothing, and still has the inversion column.
  testing::CliResult r = testing::xnusim("run scenarios/inversion/three-threads-inherit.json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("  blocked  inversion\n") != std::string::npos);
}

TEST_CASE("summary: the three-threads inversion as a user sees it", "[cli][summary]") {
  testing::CliResult r = testing::xnusim("run scenarios/inversion/three-threads-none.json");
  REQUIRE(r.code == 0);
  // (xnu's scheduler tick thread is listed too; it never runs in these 100 ms, its first tick
  // being at 125 ms.)
  CHECK(r.out ==
        "scenario three-threads-none, policy xnu, xnu-792, seed 1, simulated 100.000 ms\n"
        "\n"
        "thread             band    pri     cpu time  missed  resp p99  resp max  lat max  blocked  inversion\n"
        "low                fixed   10..10   20.0 ms     0/1   71.0 ms   71.0 ms        0        0          0\n"
        "medium             fixed   20..20   50.0 ms     0/1   53.0 ms   53.0 ms        0        0          0\n"
        "high               fixed   30..30   1.00 ms     0/1   71.0 ms   71.0 ms        0  65.0 ms    48.0 ms\n"
        "kernel:sched_tick  kernel  95..95         0       -         -         -        -        0          0\n"
        "\n"
        "cpu    busy  interrupt   idle  overhead\n"
        "cpu0  71.0%          0  29.0%         0\n"
        "\n"
        "lock  acquisitions  contended  wait p99  wait max  hold p99  hold max\n"
        "m                2          1   65.0 ms   65.0 ms   70.0 ms   70.0 ms\n"
        "\n"
        "system: 10 context switches, 13 events, no panics\n"
        "\n"
        "PASS thread \"high\" blocked_ns == 65 ms: got 65 ms\n"
        "PASS thread \"high\" inversion_ns == 48 ms: got 48 ms\n"
        "PASS thread \"high\" response_ns.max == 71 ms: got 71 ms\n"
        "PASS thread \"low\" max_sched_pri == 10: got 10\n"
        "PASS lock \"m\" contended == 1: got 1\n");
}

TEST_CASE("summary: --check --quiet prints the expects that failed, and only those", "[cli][summary]") {
  const std::string f = testing::write_temp("summary-fail.json", R"({"format": "xnusim-scenario", "version": 1,
    "duration": "50ms", "policy": "fixed",
    "threads": [{"id": "t", "program": [{"op": "run", "for": "5ms"}]}],
    "expect": [{"thread": "t", "metric": "response_ns.max", "max": "4ms"},
               {"thread": "t", "metric": "jobs", "eq": 1},
               {"thread": "t", "metric": "cpu_time_ns", "min": "1.341s"}]})");
  testing::CliResult r = testing::xnusim("run " + f + " --check --quiet");
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "FAIL thread \"t\" response_ns.max <= 4 ms: got 5 ms\n"
        "FAIL thread \"t\" cpu_time_ns >= 1.341 s: got 5 ms\n"
        "xnusim: 2 of 3 expects failed\n");
  // Quiet without --check stays quiet; --check without --quiet shows them in the summary only.
  r = testing::xnusim("run " + f + " --quiet");
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  r = testing::xnusim("run " + f + " --check");
  CHECK(r.code == 1);
  CHECK(r.out.find("\nFAIL thread \"t\" response_ns.max <= 4 ms: got 5 ms\n"
                   "PASS thread \"t\" jobs == 1: got 1\n"
                   "FAIL thread \"t\" cpu_time_ns >= 1.341 s: got 5 ms\n") != std::string::npos);
  CHECK(r.err == "xnusim: 2 of 3 expects failed\n");
  std::remove(f.c_str());
}
