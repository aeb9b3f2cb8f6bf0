// `xnusim explain` and `xnusim lessons`: the narration of every bundled scenario under every
// policy fits a terminal, the three-threads-none narration is a golden file, op notes come in
// through run::Options::op_started at the instant their op starts, and bad options exit 2.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "sim/cli/explain_run.hpp"
#include "sim/policies/registry.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;
using namespace sim;

namespace {


scenario::Scenario load(const std::string& repo_path) {
  scenario::LoadResult r = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + repo_path);
  INFO(r.diagnostics.format());
  REQUIRE(r.scenario);
  return *r.scenario;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The text with its wrapping undone: every newline and the indentation after it become one space.
std::string flat(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') {
      out += text[i];
      continue;
    }
    out += ' ';
    while (i + 1 < text.size() && text[i + 1] == ' ') ++i;
  }
  return out;
}

}  // namespace

TEST_CASE("explain: every bundled scenario under every policy is narrated within 100 columns and a few screens",
          "[cli][explain]") {
  for (const fs::path& f : testing::bundled_scenario_files()) {
    scenario::LoadResult r = scenario::load_scenario_file(f.string());
    REQUIRE(r.scenario);
    for (const policies::PolicyInfo& p : policies::registry()) {
      INFO(f.string() << " under " << p.name);
      run::Options o;
      o.policy = std::string(p.name);
      cli::ExplainRun x = cli::explain_scenario(*r.scenario, o);
      std::vector<std::string> lines = lines_of(x.text);
      REQUIRE(lines.size() >= 4);
      CHECK(lines[0].rfind(r.scenario->name + ": policy " + std::string(p.name), 0) == 0);
      // The description (at most ~20 rows), 40 timeline rows, 9 rows of repeats, the numbers.
      CHECK(lines.size() <= 100);
      for (const std::string& l : lines) CHECK(l.size() <= 100);
      CHECK(std::count(lines.begin(), lines.end(), "What happened") == 1);
      CHECK(std::count(lines.begin(), lines.end(), "In numbers") == 1);
    }
  }
}

TEST_CASE("explain: the narration of three-threads-none matches its golden file", "[cli][explain][golden]") {
  scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  std::string text = cli::explain_scenario(s, {}).text;
  fs::path golden = fs::path(XNUSIM_SOURCE_DIR) / "tests/golden/explain/three-threads-none.txt";
  if (std::getenv("UPDATE_GOLDEN")) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << text;
  }
  std::vector<std::string> want = lines_of(testing::slurp(golden.string())), got = lines_of(text);
  for (size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    INFO("line " << i + 1);
    REQUIRE(i < want.size());
    REQUIRE(i < got.size());
    CHECK(got[i] == want[i]);
  }
  // The sentences the issue asks for, independently of the golden file.
  std::string f = flat(text);
  CHECK(f.find("5.000 ms  high (30) wakes and preempts medium (20).") != std::string::npos);
  CHECK(f.find("high (30) needs m, held by low (10); low is ready but medium (20) runs instead: priority "
               "inversion begins.") != std::string::npos);
  CHECK(f.find("53.000 ms  medium finishes job 0 (response 53 ms) and exits; low (10) runs; the inversion of "
               "high ends after 48 ms.") != std::string::npos);
  CHECK(f.find("70.000 ms  low releases m (held 70 ms); high (30) runs; high gets m after waiting 65 ms, 48 ms of "
               "it inverted.") != std::string::npos);
  // The binary prints the same text.
  testing::CliResult cli = testing::xnusim("explain scenarios/inversion/three-threads-none.json");
  CHECK(cli.code == 0);
  CHECK(cli.out == text);
}

TEST_CASE("explain: op notes arrive through op_started once per started op, at the op's instant", "[cli][explain]") {
  scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  std::vector<std::tuple<int32_t, std::string, int64_t>> seen;
  run::Options o;
  o.op_started = [&seen](int32_t thread, const model::Op& op, core::SimTime now) {
    if (!op.note.empty()) seen.emplace_back(thread, op.pointer, now.ns);
  };
  run::run_scenario(s, o);
  // low's lock and run at 0, medium's run at 3 ms, high's lock at 5 ms; high's lock is retried at
  // 70 ms (xnu mutexes retry after the wakeup) but does not start again.
  std::vector<std::tuple<int32_t, std::string, int64_t>> want = {
      {0, "/threads/0/program/0", 0},
      {0, "/threads/0/program/1", 0},
      {1, "/threads/1/program/1", 3'000'000},
      {2, "/threads/2/program/1", 5'000'000},
  };
  CHECK(seen == want);
}

TEST_CASE("explain: --since and --until narrate a stretch; the numbers still cover the run", "[cli][explain]") {
  scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  std::string text = cli::explain_scenario(s, {}, core::SimTime{50'000'000}, core::SimTime{71'000'000}).text;
  CHECK(text.find("What happened, from 50.000 ms to 71.000 ms") != std::string::npos);
  CHECK(text.find("5.000 ms") == std::string::npos);
  CHECK(text.find("53.000 ms  medium finishes job 0 (response 53 ms) and exits; low (10) runs; the inversion of") !=
        std::string::npos);
  CHECK(text.find("71.000 ms  high") == std::string::npos);
  CHECK(text.find("high: worst response 71 ms, blocked 65 ms, 48 ms of it inverted") != std::string::npos);

  testing::CliResult r = testing::xnusim("explain scenarios/inversion/three-threads-none.json --since 60ms --until 80ms");
  CHECK(r.code == 0);
  CHECK(r.out.find("70.000 ms  low releases m (held 70 ms)") != std::string::npos);
}

TEST_CASE("explain: bad options and files exit 2 with one line naming the option", "[cli][explain]") {
  struct Bad {
    const char* args;
    const char* message;
  };
  for (const Bad& b : {
           Bad{"explain scenarios/inversion/three-threads-none.json --since 5", "xnusim: error: --since: "},
           Bad{"explain scenarios/inversion/three-threads-none.json --until -1ms", "xnusim: error: --until: must be"},
           Bad{"explain scenarios/inversion/three-threads-none.json --since 10ms --until 5ms",
               "xnusim: error: --until: must be later than --since (got 5ms and 10ms)"},
           Bad{"explain scenarios/inversion/three-threads-none.json --policy fifo", "xnusim: error: --policy: unknown policy"},
           Bad{"explain scenarios/inversion/three-threads-none.json --set machine.cpus=0", "--set machine.cpus=0"},
           Bad{"explain /nonexistent.json", "/nonexistent.json"},
           Bad{"lessons --dir /nonexistent", "xnusim: error: --dir: \"/nonexistent\" is not a directory"},
       }) {
    INFO(b.args);
    testing::CliResult r = testing::xnusim(b.args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(b.message) != std::string::npos);
  }
}

TEST_CASE("explain: a panicking scenario is narrated to the panic and exits 4", "[cli][explain]") {
  testing::CliResult r = testing::xnusim("explain scenarios/funnels/both-funnels-panic.json");
  CHECK(r.code == 4);
  CHECK(r.out.find("PANIC: the simulated system stops") != std::string::npos);
  CHECK(r.out.find("  PANIC: ") != std::string::npos);
}

TEST_CASE("lessons: `xnusim lessons` lists every lesson in order, one line each, and each passes --check",
          "[cli][explain]") {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(XNUSIM_SOURCE_DIR) / "scenarios/lessons"))
    if (e.path().extension() == ".json") files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 13);
  CHECK(files.front() == "01-bands.json");
  CHECK(files.back() == "13-teardown.json");
  testing::CliResult r = testing::xnusim("lessons");
  REQUIRE(r.code == 0);
  std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() == files.size() + 3);
  CHECK(lines.back() == "  xnusim explain scenarios/lessons/01-bands.json");
  for (size_t i = 0; i < files.size(); ++i) {
    INFO(files[i]);
    std::string stem = files[i].substr(0, files[i].size() - 5);
    CHECK(lines[i].rfind(stem + " ", 0) == 0);
    CHECK(lines[i].size() <= 100);
    CHECK(lines[i].back() == '.');
    testing::CliResult run = testing::xnusim("run --check -q scenarios/lessons/" + files[i]);
    CHECK(run.code == 0);
  }
  CHECK(lines[7].find("08-inversion-ceiling") == 0);
  CHECK(lines[7].find("Inversion, ceiling: the holder runs at the lock's ceiling.") != std::string::npos);
}

TEST_CASE("explain: demotions, coalesced interrupts, offline completions, refusals and misses are told with "
          "their rule", "[cli][explain]") {
  struct Want {
    const char* file;
    std::vector<const char*> sentences;
  };
  for (const Want& w : {
           // xnu-facts.md 4.3 and check 8: the trip at the first quantum expiry past 8 s of CPU
           // (8.005 s), release 128 ticks after the tick count of the trip (64 + 128 = 192).
           Want{"scenarios/lessons/04-realtime-failsafe.json",
                {"8.005000 s  runaway (97) has used 8.005 s of CPU since it last woke: the fail-safe demotes it to "
                 "timeshare until tick 128 (thread_quantum_expire in priority.c: past 800 quanta = 8 s, a "
                 "real-time thread drops to base 0 for 128 ticks = 16 s); sched_pri 97 -> 0;",
                 "23.880000 s  runaway's fail-safe demotion ends at tick 128: update_priority restores its mode; "
                 "sched_pri 0 -> 97."}},
           // Two disk interrupts (0.537 and 1.005 ms) arrive while the RT mixer holds the CPU: the
           // work loop runs once for both (xnu-facts.md 9.2, check 11).
           Want{"scenarios/lessons/11-interrupts-and-work-loops.json",
                {"1.440 ms  mixer finishes job 0 (response 1.44 ms); workloop:disk_wl (81) runs.",
                 "workloop:disk_wl runs the action of disk_wl.intr once for 2 interrupts: they arrived before the "
                 "work loop ran, and IOInterruptEventSource::checkForWork coalesces them into one call with count 2."}},
           Want{"scenarios/lessons/13-teardown.json",
                {"I/O request 39 on volume completes with kIOReturnOffline (0xE00002D7): the device is being "
                 "terminated.",
                 "stick: terminate phase 3 done (stop and detach: the driver is gone)"}},
           Want{"scenarios/lessons/12-command-gate.json",
                {"careless's commandSleep on daq_wl returns 0xE00002E2 (kIOReturnNotPermitted) without sleeping: it "
                 "did not hold the gate (IOCommandGate::commandSleep)."}},
           Want{"scenarios/lessons/09-inversion-xnu-promotion.json",
                {"low is promoted 10 -> 31 because high (30) waits for m (xnu promotion, lck_mtx_lock_wait in "
                 "locks.c: the waiter's priority, clamped to 31..80, is lent to a holder whose base is below 80).",
                 "low's promotion ends: 31 -> 10 (it released m: lck_mtx_unlock_wakeup ends its last promotion and "
                 "recomputes)."}},
           Want{"scenarios/lessons/08-inversion-ceiling.json",
                {"low is promoted 10 -> 30 because it took m (priority ceiling: whoever holds m runs at its ceiling "
                 "30).",
                 "high gets m after waiting 10 ms."}},
           Want{"scenarios/inversion/pathfinder.json", {"bc_dist misses the deadline of job 0 by 12.03 ms."}},
       }) {
    INFO(w.file);
    std::string text = flat(cli::explain_scenario(load(w.file), {}).text);
    for (const char* want : w.sentences) {
      INFO(want);
      CHECK(text.find(want) != std::string::npos);
    }
  }
}
