// --set and --cpus (edits of the scenario before validation), the scenario digest, and the
// configuration section of the results.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/overrides.hpp"
#include "sim/cli/sha256.hpp"
#include "tests/cli/cli_support.hpp"

using sim::cli::Override;
using sim::cli::ScenarioInput;
using testing::xnusim;
using Result = testing::CliResult;

namespace {

const char* kThreeThreads = R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
  "machine": {"cpus": 1, "xnu": "792"},
  "locks": [{"id": "m", "kind": "mutex", "protocol": "none"}],
  "threads": [
    {"id": "a", "mode": "fixed", "priority": 10, "program": [{"op": "run", "for": "5ms"}]},
    {"id": "b", "mode": "fixed", "priority": 20, "program": [{"op": "run", "for": "5ms"}]}]})";

std::vector<Override> edits(const std::vector<std::string>& args) {
  std::vector<Override> out;
  for (const std::string& a : args) {
    std::string error;
    std::optional<Override> o = sim::cli::parse_override(a, "--set", error);
    REQUIRE(o);
    out.push_back(*o);
  }
  return out;
}

ScenarioInput load(const std::vector<std::string>& args, const std::string& text = kThreeThreads) {
  return sim::cli::load_scenario_input_text(text, "t.json", edits(args));
}

std::string errors(const std::vector<std::string>& args, const std::string& text = kThreeThreads) {
  ScenarioInput in = load(args, text);
  CHECK_FALSE(in.scenario);
  return in.diagnostics.format();
}

}  // namespace

TEST_CASE("sha256: the FIPS 180-4 test vectors and the padding boundaries", "[cli][unit]") {
  // FIPS 180-4 examples (csrc.nist.gov, SHA256.pdf and SHA2_Additional): "", "abc", the
  // 448-bit message, one million "a".
  CHECK(sim::cli::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sim::cli::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sim::cli::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sim::cli::sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Where the length no longer fits the last block (55 / 56 bytes) and whole blocks (64, 120):
  // values from Python's hashlib.
  CHECK(sim::cli::sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sim::cli::sha256_hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sim::cli::sha256_hex(std::string(63, 'a')) == "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(sim::cli::sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(sim::cli::sha256_hex(std::string(119, 'a')) == "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
  CHECK(sim::cli::sha256_hex(std::string(120, 'a')) == "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c");
}

TEST_CASE("--set: a dotted path edits a member before validation", "[cli][unit]") {
  ScenarioInput in = load({"machine.cpus=4", "duration=20ms"});
  REQUIRE(in.scenario);
  CHECK(in.scenario->machine.cpus == 4);
  CHECK(in.scenario->duration.ns == 20'000'000);
  CHECK(in.sets == std::vector<std::string>{"machine.cpus=4", "duration=20ms"});
  CHECK(in.sha256 == sim::cli::sha256_hex(kThreeThreads));  // the bytes before the edits
}

TEST_CASE("--set: a name in an array selects the element with that id, a number its index", "[cli][unit]") {
  ScenarioInput in = load({"threads.b.priority=63", "threads.0.priority=5", "threads.a.program.0.for=2ms"});
  REQUIRE(in.scenario);
  CHECK(in.scenario->threads[0].priority == 5);
  CHECK(in.scenario->threads[1].priority == 63);
}

TEST_CASE("--set: a JSON Pointer edits the value it points at", "[cli][unit]") {
  ScenarioInput in = load({"/locks/0/protocol=inherit", "/threads/1/start=1ms"});
  REQUIRE(in.scenario);
  CHECK(in.scenario->locks[0].protocol == sim::scenario::LockProtocol::inherit);
  CHECK(in.scenario->threads[1].start.ns == 1'000'000);
}

TEST_CASE("--set: VALUE is JSON when it reads as JSON, else a string", "[cli][unit]") {
  // 4 is a number; "4" (with quotes) is a string, which cpus refuses; x is not JSON, so a string.
  CHECK(load({"machine.cpus=4"}).scenario->machine.cpus == 4);
  CHECK(errors({"machine.cpus=\"4\""}) ==
        "t.json: error: --set machine.cpus=\"4\": /machine/cpus: must be an integer from 1 to 256 (got the string \"4\")\n");
  CHECK(load({"name=hello world"}).scenario->name == "hello world");
  // A JSON array or object is taken whole.
  ScenarioInput arr = load({"threads.a.program=[{\"op\": \"run\", \"for\": \"7ms\"}]"});
  REQUIRE(arr.scenario);
  CHECK(arr.scenario->threads[0].program.size() == 1);
  // A number replacing a string stays text: machine.xnu=517 sets "517", not 517. The same for a
  // key the format only has strings in, when the file does not have it yet.
  CHECK(load({"machine.xnu=517"}).scenario->machine.xnu == sim::scenario::XnuRelease::r517);
  std::string no_xnu = R"({"format": "xnusim-scenario", "version": 1, "duration": "50ms",
    "threads": [{"id": "a", "program": [{"op": "run", "for": "5ms"}]}]})";
  CHECK(load({"machine.xnu=792"}, no_xnu).scenario->machine.xnu == sim::scenario::XnuRelease::r792);
  CHECK(load({"machine.cpus=2"}, no_xnu).scenario->machine.cpus == 2);  // "machine" is created
}

TEST_CASE("--set: an error caused by an edit names it, with the pointer", "[cli][unit]") {
  CHECK(errors({"machine.cpus=x"}) ==
        "t.json: error: --set machine.cpus=x: /machine/cpus: must be an integer from 1 to 256 (got the string \"x\")\n");
  CHECK(errors({"threads.b.priority=200"}) ==
        "t.json: error: --set threads.b.priority=200: /threads/1/priority: must be a priority from 0 to 127 (got 200)\n");
  // A misspelt key is created, then refused by validation with a suggestion.
  CHECK(errors({"machin.cpus=4"}) ==
        "t.json: error: --set machin.cpus=4: /machin: unknown key \"machin\"\n  note: did you mean \"machine\"?\n");
}

TEST_CASE("--set: a path that does not lead to a value is an error naming the edit", "[cli][unit]") {
  CHECK(errors({"threads.nobody.priority=3"}) ==
        "t.json: error: --set threads.nobody.priority=3: /threads: no element has id \"nobody\"; ids: a, b\n");
  CHECK(errors({"/threads/9/priority=3"}) ==
        "t.json: error: --set /threads/9/priority=3: /threads: index 9 is out of range (the array has 2 elements)\n");
  CHECK(errors({"threads.2.priority=3"}) ==
        "t.json: error: --set threads.2.priority=3: /threads: index 2 is out of range (the array has 2 elements)\n");
  CHECK(errors({"machine.cpus.x=1"}) ==
        "t.json: error: --set machine.cpus.x=1: /machine/cpus: is a number, so there is nothing inside it to set\n");
  CHECK(errors({"/events/0/id=e"}) ==
        "t.json: error: --set /events/0/id=e: /events: does not exist, so it has no element to set\n");
  CHECK(errors({"/threads/a/priority=3"}) ==
        "t.json: error: --set /threads/a/priority=3: /threads: \"a\" is not an array index\n");
  CHECK(errors({"machine..cpus=3"}).find("has an empty segment") != std::string::npos);
  // Every failing edit is reported, not only the first.
  CHECK(errors({"threads.x.priority=1", "threads.y.priority=1"}) ==
        "t.json: error: --set threads.x.priority=1: /threads: no element has id \"x\"; ids: a, b\n"
        "t.json: error: --set threads.y.priority=1: /threads: no element has id \"y\"; ids: a, b\n");
}

TEST_CASE("--set: the file's own syntax errors keep their line and column", "[cli][unit]") {
  std::string bad = "{\"format\": \"xnusim-scenario\",\n  \"version\": 1,,\n}";
  std::string e = errors({"machine.cpus=2"}, bad);
  CHECK(e.rfind("t.json:2:16: error:", 0) == 0);
}

TEST_CASE("--set: a malformed argument is refused before anything is read", "[cli][unit]") {
  std::string error;
  CHECK_FALSE(sim::cli::parse_override("machine.cpus", "--set", error));
  CHECK(error == "xnusim: error: --set machine.cpus: expected PATH=VALUE, e.g. machine.cpus=4, "
                 "threads.audio.priority=63 or /locks/0/protocol=inherit");
  CHECK_FALSE(sim::cli::parse_override("=4", "--set", error));
  CHECK_FALSE(sim::cli::parse_overrides({}, std::string("0"), error));
  CHECK(error == "xnusim: error: --cpus: must be a positive integer (got \"0\")");
  CHECK_FALSE(sim::cli::parse_overrides({}, std::string("two"), error));
}

TEST_CASE("cli: run, validate and compare take --set; every bad edit is exit 2 naming it", "[cli][cli]") {
  const std::string f = "scenarios/inversion/three-threads-none.json";
  Result ok = xnusim("validate " + f + " --set threads.high.priority=40 --set /locks/0/protocol=inherit");
  CHECK(ok.code == 0);
  CHECK(ok.out == f + ": ok (3 threads, 100ms simulated)\n");
  Result type = xnusim("run " + f + " --set machine.cpus=x");
  CHECK(type.code == 2);
  CHECK(type.err == f + ": error: --set machine.cpus=x: /machine/cpus: must be an integer from 1 to 256 (got the string \"x\")\n");
  Result missing = xnusim("validate " + f + " --set threads.nobody.priority=3");
  CHECK(missing.code == 2);
  CHECK(missing.err == f + ": error: --set threads.nobody.priority=3: /threads: no element has id \"nobody\"; "
                           "ids: low, medium, high\n");
  Result range = xnusim("compare " + f + " --policies xnu --set /locks/3/protocol=inherit");
  CHECK(range.code == 2);
  CHECK(range.err == f + ": error: --set /locks/3/protocol=inherit: /locks: index 3 is out of range (the array has 1 element)\n");
  Result malformed = xnusim("run " + f + " --set machine.cpus");
  CHECK(malformed.code == 2);
  CHECK(malformed.err.rfind("xnusim: error: --set machine.cpus: expected PATH=VALUE", 0) == 0);
  Result cpus = xnusim("run " + f + " --cpus 0");
  CHECK(cpus.code == 2);
  CHECK(cpus.err == "xnusim: error: --cpus: must be a positive integer (got \"0\")\n");
  // The edit changes the run: protocol inherit ends the inversion (three-threads-inherit.json).
  Result inherit = xnusim("run " + f + " --set /locks/0/protocol=inherit --json -");
  REQUIRE(inherit.code == 0);
  CHECK(nlohmann::json::parse(inherit.out)["threads"]["high"]["inversion_ns"] == 0);
}

TEST_CASE("cli: the results' configuration says what produced them", "[cli][cli]") {
  const std::string f = "scenarios/inversion/three-threads-none.json";
  Result r = xnusim("run " + f + " --policy fixed --seed 7 --duration 80ms --cpus 2 --set threads.high.priority=40 "
                    "--set /machine/costs/context_switch=5us --json -");
  REQUIRE(r.code == 0);
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(r.out);
  nlohmann::ordered_json want = nlohmann::ordered_json::parse(R"({
    "policy": "fixed", "xnu": "792", "cpus": 2, "quantum_ns": 10000000,
    "costs_ns": {"context_switch": 5000, "interrupt_entry": 0, "interrupt_exit": 0, "thread_wakeup": 0},
    "funnels": "split", "calibration": "", "seed": 7, "duration_ns": 80000000,
    "scenario": "three-threads-none", "file": "scenarios/inversion/three-threads-none.json",
    "sha256": "", "sets": ["machine.cpus=2", "threads.high.priority=40", "/machine/costs/context_switch=5us"]})");
  want["sha256"] = sim::cli::sha256_hex(testing::slurp(std::string(XNUSIM_SOURCE_DIR) + "/" + f));
  CHECK(j["configuration"] == want);
  CHECK(j["configuration"].dump() == want.dump());  // the key order too
  // Without edits: the file's own values, and an empty list.
  Result plain = xnusim("run scenarios/basics/bw-c.json --json -");
  REQUIRE(plain.code == 0);
  auto c = nlohmann::json::parse(plain.out)["configuration"];
  CHECK(c["policy"] == "xnu");
  CHECK(c["xnu"] == "517");
  CHECK(c["cpus"] == 1);
  CHECK(c["seed"] == 1);
  CHECK(c["duration_ns"] == 840'000'000);
  CHECK(c["sets"] == nlohmann::json::array());
  // Standard input is named as the diagnostics name it, and hashed all the same.
  Result in = xnusim("run - --json -", "scenarios/basics/bw-c.json");
  REQUIRE(in.code == 0);
  auto ci = nlohmann::json::parse(in.out)["configuration"];
  CHECK(ci["file"] == "<stdin>");
  CHECK(ci["sha256"] == c["sha256"]);
}
