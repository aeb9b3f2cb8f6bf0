// The xnusim binary: subcommands, exit codes and message formats.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_support.hpp"

using testing::xnusim;
using testing::write_temp;
using Result = testing::CliResult;

TEST_CASE("cli: --version and --help describe the tool", "[cli][cli]") {
  Result v = xnusim("--version");
  CHECK(v.code == 0);
  CHECK(v.out.rfind("xnusim ", 0) == 0);
  Result h = xnusim("--help");
  CHECK(h.code == 0);
  CHECK(h.out.find("run") != std::string::npos);
  CHECK(h.out.find("validate") != std::string::npos);
  Result rh = xnusim("run --help");
  CHECK(rh.code == 0);
  CHECK(rh.out.find("--policy") != std::string::npos);
  CHECK(rh.out.find("--trace") != std::string::npos);
  CHECK(xnusim("").code == 2);
  CHECK(xnusim("frobnicate").code == 2);
}

TEST_CASE("cli: run reports BW-C's worst response times as JSON on stdout", "[cli][cli]") {
  Result r = xnusim("run scenarios/basics/bw-c.json --policy fixed --json -");
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["format"] == "xnusim-results");
  CHECK(j["policy"] == "fixed");
  CHECK(j["threads"]["a"]["response_ns"]["max"] == 3'000'000);
  CHECK(j["threads"]["b"]["response_ns"]["max"] == 6'000'000);
  CHECK(j["threads"]["c"]["response_ns"]["max"] == 20'000'000);
}

TEST_CASE("cli: run prints a summary and --check passes on a bundled scenario", "[cli][cli]") {
  Result r = xnusim("run scenarios/basics/bench-10.json --check");
  CHECK(r.code == 0);
  CHECK(r.out.find("t10") != std::string::npos);
  CHECK(r.out.find("PASS") != std::string::npos);
}

TEST_CASE("cli: a failing expect exits 1 with --check and prints its value", "[cli][cli]") {
  std::string f = write_temp("fail.json", R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "policy": "fixed",
    "threads": [{"id": "t", "program": [{"op": "run", "for": "5ms"}]}],
    "expect": [{"thread": "t", "metric": "response_ns.max", "max": "4ms"}]})");
  Result r = xnusim("run " + f + " --check");
  CHECK(r.code == 1);
  CHECK(r.out.find("FAIL") != std::string::npos);
  CHECK(r.out.find("FAIL thread \"t\" response_ns.max <= 4 ms: got 5 ms\n") != std::string::npos);
  CHECK(xnusim("run " + f).code == 0);  // without --check the run itself succeeded
}

TEST_CASE("cli: bad input exits 2 with file, pointer and a fix", "[cli][cli]") {
  std::string typo = write_temp("typo.json", R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "threads": [{"id": "t", "priorty": 40, "program": [{"op": "run", "for": "5ms"}]}]})");
  Result a = xnusim("run " + typo);
  CHECK(a.code == 2);
  CHECK(a.err.find(typo + ": error: /threads/0/priorty:") != std::string::npos);
  CHECK(a.err.find("did you mean \"priority\"?") != std::string::npos);

  std::string neg = write_temp("neg.json", R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "threads": [{"id": "t", "program": [{"op": "run", "for": "-5ms"}]}]})");
  Result b = xnusim("run " + neg);
  CHECK(b.code == 2);
  CHECK(b.err.find(neg + ": error: /threads/0/program/0/for: must be a positive duration (got \"-5ms\")") !=
        std::string::npos);

  std::string syntax = write_temp("syntax.json", "{\n  \"format\": \"xnusim-scenario\",\n  \"version\": 1\n  \"duration\": \"1s\"\n}\n");
  Result c = xnusim("validate " + syntax);
  CHECK(c.code == 2);
  CHECK(c.err.find(syntax + ":4:3: error:") != std::string::npos);

  Result d = xnusim("run scenarios/basics/bw-c.json --policy fixd");
  CHECK(d.code == 2);
  CHECK(d.err.find("unknown policy \"fixd\"") != std::string::npos);
  CHECK(d.err.find("did you mean \"fixed\"?") != std::string::npos);

  CHECK(xnusim("run /nonexistent/file.json").code == 2);
}

TEST_CASE("cli: validate accepts every bundled scenario", "[cli][cli]") {
  Result r = xnusim("validate scenarios/basics/bw-c.json scenarios/basics/bench-10.json");
  CHECK(r.code == 0);
  CHECK(r.out.find("bw-c.json: ok") != std::string::npos);
}

TEST_CASE("cli: every v1 feature runs; none is refused as not supported yet", "[cli][cli]") {
  // The IOKit half was the last one refused (the check stays for features of later versions).
  std::string f = write_temp("io.json", R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "workloops": [{"id": "wl"}], "devices": [{"id": "disk", "workloop": "wl", "service": "1ms"}],
    "threads": [{"id": "t", "program": [{"op": "io", "device": "disk", "for": "1ms"}]}]})");
  Result r = xnusim("run " + f);
  CHECK(r.code == 0);
  CHECK(r.err.find("not supported yet") == std::string::npos);
}

TEST_CASE("cli: policies lists the registry", "[cli][cli]") {
  Result r = xnusim("policies");
  CHECK(r.code == 0);
  CHECK(r.out.find("fixed") != std::string::npos);
}

TEST_CASE("cli: an output that cannot be written is refused before the run", "[cli][cli]") {
  Result r = xnusim("run scenarios/basics/bw-c.json --json /nonexistent-dir/out.json");
  CHECK(r.code == 2);
  CHECK(r.err.find("cannot write \"/nonexistent-dir/out.json\"") != std::string::npos);
  CHECK(r.out.empty());  // no summary: nothing was simulated
}

namespace {

// A fresh scratch directory for one test.
std::string scratch_dir(const std::string& name) {
  std::string dir = testing::temp_path(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_file(const std::string& path) { return testing::slurp(path); }

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("cli: a run stopped by SIGTERM, SIGINT or SIGHUP keeps earlier outputs and leaves no temporaries",
          "[cli][regression]") {
  // Issue 8, defect 1.4: the outputs used to be truncated before the run, so a signal left them
  // empty. Bench-10 for a simulated day takes far longer than the test waits.
  const std::string scenario = std::string(XNUSIM_SOURCE_DIR) + "/scenarios/basics/bench-10.json";
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    INFO("signal " << sig);
    std::string dir = scratch_dir("signal-" + std::to_string(sig));
    write_file(dir + "/out.json", "earlier json\n");
    write_file(dir + "/out.csv", "earlier csv\n");
    write_file(dir + "/out.trace", "earlier trace\n");
    testing::Spawned p = testing::spawn_xnusim(
        dir, {"run", scenario, "--duration", "86400s", "--quiet", "--json", "out.json", "--csv", "out.csv",
              "--trace", "out.trace"});
    // Wait until the run is under way: its three temporaries exist beside the targets.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (testing::files_in(dir).size() < 6 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(testing::files_in(dir).size() == 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the trace temporary has lines now
    CHECK(p.kill_and_wait(sig) == 128 + sig);
    CHECK(testing::files_in(dir) == std::vector<std::string>{"out.csv", "out.json", "out.trace"});
    CHECK(read_file(dir + "/out.json") == "earlier json\n");
    CHECK(read_file(dir + "/out.csv") == "earlier csv\n");
    CHECK(read_file(dir + "/out.trace") == "earlier trace\n");
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("cli: a finished run replaces earlier outputs and leaves only them", "[cli][regression]") {
  std::string dir = scratch_dir("replace");
  write_file(dir + "/out.json", "earlier json\n");
  Result r = xnusim("run scenarios/basics/bw-c.json --quiet --json " + dir + "/out.json --csv " + dir + "/out.csv");
  CHECK(r.code == 0);
  CHECK(testing::files_in(dir) == std::vector<std::string>{"out.csv", "out.json"});
  auto j = nlohmann::json::parse(read_file(dir + "/out.json"));
  CHECK(j["threads"]["a"]["response_ns"]["max"] == 3'000'000);
  CHECK(read_file(dir + "/out.csv").rfind("id,task,mode,", 0) == 0);
  // The new file has the mode any new file gets (not the temporary's 0600); a replaced one keeps its own.
  mode_t mask = ::umask(0);
  ::umask(mask);
  auto mode_of = [](const std::string& p) {
    return static_cast<mode_t>(std::filesystem::status(p).permissions()) & 07777;
  };
  CHECK(mode_of(dir + "/out.csv") == (0666 & ~mask));
  std::filesystem::permissions(dir + "/out.json", std::filesystem::perms(0640));
  CHECK(xnusim("run scenarios/basics/bw-c.json --quiet --json " + dir + "/out.json").code == 0);
  CHECK(mode_of(dir + "/out.json") == 0640);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: an output to a FIFO is written directly, not through a temporary", "[cli][regression]") {
  std::string dir = scratch_dir("fifo");
  std::string fifo = dir + "/pipe", copy = dir + "/copy.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  int code = testing::xnusim_status("run scenarios/basics/bw-c.json --quiet --json " + fifo + " & cat " + fifo +
                                    " >" + copy + "; wait $!");
  CHECK(code == 0);
  CHECK(nlohmann::json::parse(read_file(copy))["threads"]["a"]["response_ns"]["max"] == 3'000'000);
  CHECK(testing::files_in(dir) == std::vector<std::string>{"copy.json", "pipe"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: an output that cannot be written completely is exit 2 and replaces nothing", "[cli][regression]") {
  // Issue 8, defect 1.4: `--json /dev/full` used to exit 0. /dev/full is not a regular file, so it
  // is written directly and the error shows when the output is flushed.
  Result full = xnusim("run scenarios/basics/bw-c.json --json /dev/full");
  CHECK(full.code == 2);
  CHECK(full.err == "xnusim: error: cannot write \"/dev/full\": No space left on device (given to --json)\n");
  CHECK(xnusim("run scenarios/basics/bw-c.json --trace /dev/full").code == 2);
  CHECK(xnusim("run scenarios/basics/bw-c.json --csv /dev/full").code == 2);
  // One failing output keeps the others from replacing their earlier files.
  std::string dir = scratch_dir("full");
  write_file(dir + "/out.json", "earlier json\n");
  Result mixed = xnusim("run scenarios/basics/bw-c.json --json " + dir + "/out.json --trace /dev/full");
  CHECK(mixed.code == 2);
  CHECK(testing::files_in(dir) == std::vector<std::string>{"out.json"});
  CHECK(read_file(dir + "/out.json") == "earlier json\n");
  // An output on stdout is checked too.
  CHECK(testing::xnusim_status("run scenarios/basics/bw-c.json --json - >/dev/full 2>/dev/null") == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: two outputs on one file, or on stdout, are refused before the run", "[cli][regression]") {
  std::string dir = scratch_dir("same");
  std::string other = dir + "/../" + std::filesystem::path(dir).filename().string() + "/a.json";
  Result a = xnusim("run scenarios/basics/bw-c.json --json " + dir + "/a.json --csv " + other);
  CHECK(a.code == 2);
  CHECK(a.err == "xnusim: error: --json " + dir + "/a.json and --csv " + other +
                     " name the same file; give each output its own file\n");
  CHECK(a.out.empty());
  CHECK(testing::files_in(dir).empty());
  write_file(dir + "/b.json", "earlier\n");
  std::filesystem::create_symlink(dir + "/b.json", dir + "/link.json");
  Result b = xnusim("run scenarios/basics/bw-c.json --trace " + dir + "/b.json --json " + dir + "/link.json");
  CHECK(b.code == 2);
  CHECK(read_file(dir + "/b.json") == "earlier\n");

  Result c = xnusim("run scenarios/basics/bw-c.json --json - --trace -");
  CHECK(c.code == 2);
  CHECK(c.err == "xnusim: error: --json - and --trace - both write to stdout; at most one output may use stdout\n");
  CHECK(c.out.empty());
  Result d = xnusim("run scenarios/basics/bw-c.json --csv - --json /dev/stdout");
  CHECK(d.code == 2);
  CHECK(d.err.find("both write to stdout") != std::string::npos);
  // One output on /dev/stdout is stdout too: the summary stays off it.
  Result e = xnusim("run scenarios/basics/bw-c.json --json /dev/stdout");
  REQUIRE(e.code == 0);
  CHECK(nlohmann::json::parse(e.out)["policy"] == "xnu");
  CHECK(e.err.find("PASS thread \"a\"") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: a closed or full stdout or stderr keeps the documented exit codes", "[cli][regression]") {
  // Issue 8, defect 1.5: `validate missing.json 2>&-` aborted with SIGABRT (134).
  CHECK(testing::xnusim_status("validate missing.json 2>&-") == 2);
  CHECK(testing::xnusim_status("validate missing.json 2>/dev/full") == 2);
  CHECK(testing::xnusim_status("validate missing.json >&- 2>&-") == 2);
  CHECK(testing::xnusim_status("validate scenarios/basics/bw-c.json >&- 2>&-") == 0);
  CHECK(testing::xnusim_status("validate scenarios/basics/bw-c.json >/dev/full") == 0);
  CHECK(testing::xnusim_status("run scenarios/basics/bw-c.json --policy fixd 2>&-") == 2);
  CHECK(testing::xnusim_status("run scenarios/basics/bw-c.json >&- 2>&-") == 0);
  CHECK(testing::xnusim_status("explian x.json 2>&-") == 2);
  CHECK(testing::xnusim_status("--help >&-") == 0);
  CHECK(testing::xnusim_status("policies >/dev/full") == 0);
}

TEST_CASE("cli: --seed takes 0 to 2^64-1 and refuses anything else with the range", "[cli][regression]") {
  // Issue 8, defect 1.6: -1, 2^64 and larger used to become 2^64-1 silently.
  for (const char* bad : {"-1", "18446744073709551616", "99999999999999999999", "1x", "0x10", "' '", "''", "1.5"}) {
    INFO(bad);
    Result r = xnusim(std::string("run scenarios/basics/bw-c.json --seed ") + bad);
    CHECK(r.code == 2);
    CHECK(r.err.find("xnusim: error: --seed: must be an integer from 0 to 18446744073709551615 (got \"") == 0);
    CHECK(r.out.empty());
  }
  Result top = xnusim("run scenarios/basics/bw-c.json --seed 18446744073709551615 --json -");
  REQUIRE(top.code == 0);
  CHECK(nlohmann::json::parse(top.out)["seed"].get<uint64_t>() == 18446744073709551615ull);
  Result zero = xnusim("run scenarios/basics/bw-c.json --seed 0 --json -");
  REQUIRE(zero.code == 0);
  CHECK(nlohmann::json::parse(zero.out)["seed"].get<uint64_t>() == 0);
}

TEST_CASE("cli: an empty --duration is refused, not taken as absent", "[cli][regression]") {
  Result r = xnusim("run scenarios/basics/bw-c.json --duration ''");
  CHECK(r.code == 2);
  CHECK(r.err == "xnusim: error: --duration: \"\" is not a duration; write a number and a unit, e.g. \"10ms\"\n");
  CHECK(xnusim("run scenarios/basics/bw-c.json --duration 0ms").code == 2);
}

TEST_CASE("cli: an unknown subcommand is named, with the valid ones and the closest", "[cli][regression]") {
#ifdef XNUSIM_HAVE_CALIBRATION
  const std::string valid = "run, validate, compare, policies, explain, lessons, report, sweep, merge, calibrate, replay";
#else
  const std::string valid = "run, validate, compare, policies, explain, lessons, report, sweep, merge";
#endif
  Result r = xnusim("explian f.json");
  CHECK(r.code == 2);
  CHECK(r.err == "xnusim: error: unknown command \"explian\"; valid: " + valid +
                     "\n  note: did you mean \"explain\"?\n");
  Result v = xnusim("valdate f.json");
  CHECK(v.code == 2);
  CHECK(v.err == "xnusim: error: unknown command \"valdate\"; valid: " + valid +
                     "\n"
                     "  note: did you mean \"validate\"?\n");
}

TEST_CASE("cli: validate - and run - read the scenario from standard input", "[cli][regression]") {
  Result v = xnusim("validate -", "scenarios/basics/bw-c.json");
  CHECK(v.code == 0);
  CHECK(v.out == "<stdin>: ok (3 threads, 840ms simulated)\n");
  Result r = xnusim("run - --policy fixed --json -", "scenarios/basics/bw-c.json");
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["threads"]["c"]["response_ns"]["max"] == 20'000'000);
  std::string bad = write_temp("stdin-bad.json", R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "threads": [{"id": "t", "program": [{"op": "run", "for": "-5ms"}]}]})");
  Result b = xnusim("validate -", bad);
  CHECK(b.code == 2);
  CHECK(b.err.rfind("<stdin>: error: /threads/0/program/0/for: must be a positive duration", 0) == 0);
}
