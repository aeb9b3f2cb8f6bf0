// machine.platform and energy (issue 14, part 1): the joules of a run come from SimGrid's host
// energy plugin (sim/platform). Its model (SimGrid 3.32, src/plugins/host_energy.cpp, and the
// plugin's documentation): a host with nothing to do draws Idle watts; a host in use at load L
// (the fraction of its cores busy, 0 < L <= 1) draws Epsilon + (AllCores - Epsilon) * L, with
// the figures of its current pstate (wattage_per_state "Idle:Epsilon:AllCores").
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/json_report.hpp"
#include "reports/text_report.hpp"
#include "sim/cli/compare_table.hpp"
#include "sim/platform/energy.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace sim;
using testing::load_text;

namespace {

// One thread computes `busy` then sleeps; the run lasts 10 s.
std::string busy_then_idle(int cpus, const std::string& platform, const std::string& extra_ops = "") {
  return R"({"format": "xnusim-scenario", "version": 1, "name": "energy", "duration": "10s",
    "machine": {"cpus": )" + std::to_string(cpus) + (platform.empty() ? "" : ", \"platform\": " + platform) + R"(},
    "threads": [{"id": "worker", "mode": "fixed", "priority": 40, "program": [
      {"op": "run", "for": "2s"})" + extra_ops + R"(]}]})";
}

const std::string kOnePstate =
    R"({"host": "mac", "pstates": [{"speed": 1e9, "idle_w": 100, "epsilon_w": 120, "all_cores_w": 200}]})";

}  // namespace

TEST_CASE("platform: a CPU busy 2 s and idle 8 s uses busy and idle power for those times", "[platform][unit]") {
  // One core, busy 2 s at load 1: 120 + (200 - 120) * 1 = 200 W -> 400 J; idle 8 s at 100 W
  // -> 800 J. Total 1200 J.
  run::Results r = run::run_scenario(load_text(busy_then_idle(1, kOnePstate)));
  REQUIRE(r.energy.present);
  CHECK(r.energy.host == "mac");
  CHECK(r.energy.joules == Approx(1200.0).margin(1e-9));
  CHECK(r.system.energy_mj == 1'200'000);
  CHECK(r.energy.watts == Approx(120.0).margin(1e-9));  // 1200 J / 10 s
  CHECK(r.energy.ns_by_pstate == std::vector<int64_t>{10'000'000'000});
  CHECK(r.energy.pstate_changes == 0);
}

TEST_CASE("platform: with two cores and one busy the host is at half load (Epsilon to AllCores)", "[platform][unit]") {
  // Two cores, one busy 2 s: L = 1/2, 120 + 80 / 2 = 160 W -> 320 J; idle 8 s -> 800 J: 1120 J.
  run::Results r = run::run_scenario(load_text(busy_then_idle(2, kOnePstate)));
  CHECK(r.system.energy_mj == 1'120'000);
}

TEST_CASE("platform: set_pstate changes the power figures from that instant", "[platform][unit]") {
  // pstate 0 (100/120/200 W) for the first 2 s of computing: 400 J. Then set_pstate 1
  // (50/60/100 W), 2 s more computing: 200 J, then 6 s idle at 50 W: 300 J. Total 900 J.
  const std::string two =
      R"({"pstates": [{"speed": 1e9, "idle_w": 100, "epsilon_w": 120, "all_cores_w": 200},
                      {"speed": 5e8, "idle_w": 50, "epsilon_w": 60, "all_cores_w": 100}]})";
  run::Results r = run::run_scenario(
      load_text(busy_then_idle(1, two, R"(, {"op": "set_pstate", "pstate": 1}, {"op": "run", "for": "2s"})")));
  CHECK(r.system.energy_mj == 900'000);
  CHECK(r.energy.pstate_changes == 1);
  CHECK(r.energy.ns_by_pstate == std::vector<int64_t>{2'000'000'000, 8'000'000'000});
  CHECK(r.energy.host == "mac");  // the default host name
}

TEST_CASE("platform: interrupt handlers keep an idle CPU busy for the energy model", "[platform][unit]") {
  // A 1 ms handler every 10 ms on an otherwise idle CPU (no entry/exit cost). A periodic source
  // first asserts one period in, at 10 ms, and the one due at 10 s is the end of the run: 999
  // handlers, 0.999 s in interrupt context, which the metrics count as interrupt time. The
  // energy counts it as busy: 0.999 s at 200 W + 9.001 s at 100 W = 1000 J + 0.999 x 100 W
  // = 1099.9 J.
  run::Results r = run::run_scenario(load_text(R"({"format": "xnusim-scenario", "version": 1, "duration": "10s",
    "machine": {"cpus": 1, "platform": )" + kOnePstate + R"(},
    "interrupts": [{"id": "tick", "cpu": 0, "arrival": {"periodic": "10ms"}, "handler": "1ms"}],
    "threads": []})"));
  CHECK(r.cpus[0].interrupt_ns == 999'000'000);
  CHECK(r.system.energy_mj == 1'099'900);
}

TEST_CASE("platform: a CPU-only scenario gives the same results with and without a platform", "[platform][unit]") {
  // Several threads on two CPUs with costs: every key but the energy ones is byte-identical.
  auto scenario = [](const std::string& platform) {
    return R"({"format": "xnusim-scenario", "version": 1, "name": "same", "duration": "1s", "seed": 5,
      "machine": {"cpus": 2, "costs": {"context_switch": "3us", "thread_wakeup": "1us"})" +
           (platform.empty() ? "" : ", \"platform\": " + platform) + R"(},
      "threads": [
        {"id": "a", "program": [{"op": "loop", "forever": true, "body": [
          {"op": "run", "for": {"uniform": ["100us", "2ms"]}}, {"op": "sleep", "for": {"exponential": "1ms"}}]}]},
        {"id": "b", "priority": 20, "program": [{"op": "run", "for": "10s"}]},
        {"id": "p", "mode": "fixed", "priority": 50, "period": "5ms", "program": [{"op": "run", "for": "500us"}]}]})";
  };
  std::string plain = reports::results_to_json_text(run::run_scenario(load_text(scenario(""))));
  run::Results with = run::run_scenario(load_text(scenario(kOnePstate)));
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(reports::results_to_json_text(with));
  REQUIRE(j.contains("energy"));
  REQUIRE(j["system"].contains("energy_mj"));
  j.erase("energy");
  j["system"].erase("energy_mj");
  CHECK(reports::json_text(j) == plain);
  CHECK(nlohmann::json::parse(plain).contains("energy") == false);
  // The energy is between all-idle and all-busy: 100 J and 200 J for 1 s.
  CHECK(with.system.energy_mj > 100'000);
  CHECK(with.system.energy_mj < 200'000);
}

TEST_CASE("platform: the platform XML names the host, its cores, speeds and power figures", "[platform][unit]") {
  platform::HostSpec h;
  h.name = "mac";
  h.cores = 2;
  h.pstates = {platform::Pstate{1e9, 100, 120, 200}, platform::Pstate{5e8, 50, 60, 100}};
  h.off_w = 5;
  std::string xml = platform::platform_xml(h);
  CHECK(xml.find(R"(<host id="mac" speed="1000000000f,500000000f" pstate="0" core="2">)") != std::string::npos);
  CHECK(xml.find(R"(<prop id="wattage_per_state" value="100:120:200,50:60:100" />)") != std::string::npos);
  CHECK(xml.find(R"(<prop id="wattage_off" value="5" />)") != std::string::npos);
}

TEST_CASE("platform: SimGrid is loaded only by the energy run's child, never by the running process", "[platform][unit]") {
  // A run with a platform (its energy comes from SimGrid, in a child process) and one without:
  // neither maps SimGrid's library into this process (ARCHITECTURE.md, "Where SimGrid fits";
  // issue 14: xnusim without a platform does not touch SimGrid at run time).
  run::Results with = run::run_scenario(load_text(busy_then_idle(1, kOnePstate)));
  run::Results without = run::run_scenario(load_text(busy_then_idle(1, "")));
  CHECK(with.system.energy_mj == 1'200'000);
  CHECK_FALSE(without.energy.present);
  CHECK(without.system.energy_mj == -1);
  std::ifstream maps("/proc/self/maps");
  std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(text.empty());
  CHECK(text.find("libsimgrid") == std::string::npos);
  CHECK(text.find("libxnusim-simgrid") == std::string::npos);
}

TEST_CASE("platform: a missing SimGrid module is an error naming it, not a wrong energy", "[platform][unit]") {
  const char* old = std::getenv("XNUSIM_SIMGRID_MODULE");
  std::string saved = old ? old : "";
  setenv("XNUSIM_SIMGRID_MODULE", "/nonexistent/libxnusim-simgrid.so", 1);
  std::string message;
  try {
    run::run_scenario(load_text(busy_then_idle(1, kOnePstate)));
  } catch (const std::exception& e) {
    message = e.what();
  }
  if (old) setenv("XNUSIM_SIMGRID_MODULE", saved.c_str(), 1);
  else unsetenv("XNUSIM_SIMGRID_MODULE");
  CHECK(message.find("cannot load the SimGrid module /nonexistent/libxnusim-simgrid.so") != std::string::npos);
}

TEST_CASE("platform: the text summary and compare's energy table show the energy", "[platform][unit]") {
  // Policies differ in nothing here (one thread, one CPU), so the energy is 1200 J in both
  // columns and no cell is marked best.
  run::Options a;
  a.policy = "xnu";
  run::Options b;
  b.policy = "fixed";
  run::Results ra = run::run_scenario(load_text(busy_then_idle(1, kOnePstate)), a);
  run::Results rb = run::run_scenario(load_text(busy_then_idle(2, kOnePstate)), b);  // 1120 J
  std::string text = reports::text_summary(ra);
  CHECK(text.find("energy: 1200.000 J (120.000 W mean) on host mac, 0 pstate changes\n") != std::string::npos);
  cli::CompareTable table;
  table.columns.push_back(cli::CompareColumn{"xnu", {}, {&ra}, {}});
  table.columns.push_back(cli::CompareColumn{"fixed", {}, {&rb}, {}});
  std::string out = cli::render_compare_tables(table);
  CHECK(out.find("\nenergy (J)\n") != std::string::npos);
  CHECK(out.find("host mac   1200.000    1120.000*\n") != std::string::npos);
  // Without a platform neither appears.
  run::Results plain = run::run_scenario(load_text(busy_then_idle(1, "")));
  CHECK(reports::text_summary(plain).find("energy:") == std::string::npos);
  cli::CompareTable none;
  none.columns.push_back(cli::CompareColumn{"xnu", {}, {&plain}, {}});
  CHECK(cli::render_compare_tables(none).find("energy") == std::string::npos);
}

TEST_CASE("platform: a SimGrid platform file gives the host, its pstates and power figures", "[platform][unit]") {
  // scenarios/platform/dual-g5.xml: host mac, 2 cores, wattage_per_state "60:70:130, 40:45:80".
  // Both CPUs busy 1 s in pstate 0: 130 J; then one CPU 1 s in pstate 1 (load 1/2):
  // 45 + (80 - 45) / 2 = 62.5 J; then 8 s idle in pstate 1 at 40 W: 320 J. 512.5 J in all.
  scenario::LoadResult r =
      scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/platform/file-pstates.json");
  REQUIRE(r.scenario);
  REQUIRE(r.scenario->machine.platform);
  CHECK(r.scenario->machine.platform->file == "dual-g5.xml");
  CHECK(r.scenario->machine.platform->pstates.size() == 2);  // read from the file by SimGrid
  run::Results res = run::run_scenario(*r.scenario);
  CHECK(res.system.energy_mj == 512'500);
  CHECK(res.energy.ns_by_pstate == std::vector<int64_t>{1'000'000'000, 9'000'000'000});
  // The same host inline gives the same joules.
  std::string inline_host = R"({"format": "xnusim-scenario", "version": 1, "duration": "10s",
    "machine": {"cpus": 2, "platform": {"pstates": [
      {"speed": 2e9, "idle_w": 60, "epsilon_w": 70, "all_cores_w": 130},
      {"speed": 1e9, "idle_w": 40, "epsilon_w": 45, "all_cores_w": 80}]}},
    "threads": [
      {"id": "a", "mode": "fixed", "priority": 40, "cpu": 0, "program": [
        {"op": "run", "for": "1s"}, {"op": "set_pstate", "pstate": 1}, {"op": "run", "for": "1s"}]},
      {"id": "b", "mode": "fixed", "priority": 40, "cpu": 1, "program": [{"op": "run", "for": "1s"}]}]})";
  CHECK(run::run_scenario(load_text(inline_host)).system.energy_mj == 512'500);
}
