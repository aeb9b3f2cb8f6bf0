// The xnusim binary: subcommands, exit codes and message formats.
#include <catch2/catch.hpp>

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
  CHECK(r.out.find("5000000") != std::string::npos);
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
