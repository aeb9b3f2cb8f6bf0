// The op table (sim/model/op_table.hpp) against everything that must agree with it: every public
// op is spellable both ways, parsed by the loader from a minimal example, documented in
// docs/scenario-format.md with its keys, and handled once a world is built.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/model/op_table.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/builder.hpp"
#include "sim/scenario/loader.hpp"

namespace {

using sim::model::kOpTable;
using sim::model::OpInfo;
using sim::model::OpKind;

// A scenario that declares one of everything an op can name; `program` is the first thread's.
std::string with_program(const std::string& program) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms",
    "locks": [{"id": "m", "kind": "mutex"}, {"id": "rw", "kind": "rw"}], "events": [{"id": "e"}],
    "workloops": [{"id": "wl"}], "timers": [{"id": "tm", "workloop": "wl", "action": "1us"}],
    "devices": [{"id": "d", "workloop": "wl", "service": "1us"}],
    "threads": [{"id": "t", "period": "1ms", "program": [)" +
         program + R"(]}, {"id": "u", "program": [{"op": "run", "for": "1ms"}]}]})";
}

// create_thread needs a thread that runs once (a thread is created once) and a spawned thread.
std::string with_creator(const std::string& program) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms",
    "threads": [{"id": "t", "program": [)" +
         program + R"(]}, {"id": "s", "start": "spawned", "program": [{"op": "run", "for": "1ms"}]}]})";
}

// set_pstate needs machine.platform (docs/platforms.md).
std::string with_platform(const std::string& program) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms",
    "machine": {"platform": {"pstates": [{"speed": 1e9, "idle_w": 1, "all_cores_w": 2}]}},
    "threads": [{"id": "t", "program": [)" +
         program + R"(]}]})";
}

// send needs a NIC on a platform link (docs/platforms.md, "Network").
std::string with_nic(const std::string& program) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms",
    "machine": {"platform": {"pstates": [{"speed": 1e9, "idle_w": 1, "all_cores_w": 2}],
      "links": [{"id": "eth0", "peer": "server", "bandwidth": "125MBps", "latency": "50us"}]}},
    "workloops": [{"id": "wl"}], "devices": [{"id": "en0", "workloop": "wl", "nic": "eth0"}],
    "threads": [{"id": "t", "program": [)" +
         program + R"(]}]})";
}

std::string scenario_for(const OpInfo& op, const std::string& program) {
  if (op.kind == OpKind::set_pstate) return with_platform(program);
  if (op.kind == OpKind::send) return with_nic(program);
  return op.kind == OpKind::create_thread ? with_creator(program) : with_program(program);
}

// The smallest valid use of each public op.
const std::map<std::string, std::string>& examples() {
  static const std::map<std::string, std::string> m = {
      {"run", R"({"op": "run", "for": "1ms"})"},
      {"sleep", R"({"op": "sleep", "for": "1ms"})"},
      {"sleep_until_next_period", R"({"op": "sleep_until_next_period"})"},
      {"loop", R"({"op": "loop", "times": 2, "body": [{"op": "run", "for": "1ms"}]})"},
      {"lock", R"({"op": "lock", "lock": "m"})"},
      {"unlock", R"({"op": "unlock", "lock": "m"})"},
      {"wait", R"({"op": "wait", "event": "e"})"},
      {"signal", R"({"op": "signal", "event": "e"})"},
      {"funnel", R"({"op": "funnel", "funnel": "kernel"})"},
      {"yield", R"({"op": "yield"})"},
      {"swtch_pri", R"({"op": "swtch_pri"})"},
      {"set_priority", R"({"op": "set_priority", "priority": 40})"},
      {"set_mode", R"({"op": "set_mode", "mode": "fixed"})"},
      {"thread_policy", R"({"op": "thread_policy", "policy": "precedence", "importance": 5})"},
      {"run_action", R"({"op": "run_action", "workloop": "wl", "for": "1us"})"},
      {"command_sleep", R"({"op": "command_sleep", "workloop": "wl", "event": "e"})"},
      {"command_wakeup", R"({"op": "command_wakeup", "workloop": "wl", "event": "e"})"},
      {"io", R"({"op": "io", "device": "d", "for": "1us"})"},
      {"timer_arm", R"({"op": "timer_arm", "timer": "tm", "after": "1us"})"},
      {"timer_cancel", R"({"op": "timer_cancel", "timer": "tm"})"},
      {"terminate", R"({"op": "terminate", "device": "d"})"},
      {"clear_wait", R"({"op": "clear_wait", "thread": "u"})"},
      {"task_policy", R"({"op": "task_policy", "role": "foreground"})"},
      {"setpriority", R"({"op": "setpriority", "nice": 5})"},
      {"pthread_setschedparam", R"({"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 47})"},
      {"try_lock", R"({"op": "try_lock", "lock": "m"})"},
      {"upgrade", R"({"op": "upgrade", "lock": "rw"})"},
      {"downgrade", R"({"op": "downgrade", "lock": "rw"})"},
      {"exit_thread", R"({"op": "exit_thread"})"},
      {"terminate_thread", R"({"op": "terminate_thread", "thread": "u"})"},
      {"create_thread", R"({"op": "create_thread", "thread": "s"})"},
      {"funnel_switch", R"({"op": "funnel_switch", "from": "kernel", "to": "network"})"},
      {"funnel_merge", R"({"op": "funnel_merge"})"},
      {"set_pstate", R"({"op": "set_pstate", "pstate": 0})"},
      {"send", R"({"op": "send", "device": "en0", "to": "server", "bytes": 1500})"},
  };
  return m;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("op table: every op is spelt one way, and only public ops have a spelling", "[scenario][unit]") {
  size_t public_ops = 0;
  for (const OpInfo& op : kOpTable) {
    INFO(op.name);
    CHECK(sim::model::to_string(op.kind) == op.name);
    if (op.internal) {
      CHECK_FALSE(sim::model::op_from_name(op.name));
      continue;
    }
    ++public_ops;
    REQUIRE(sim::model::op_from_name(op.name));
    CHECK(*sim::model::op_from_name(op.name) == op.kind);
  }
  CHECK(sim::model::public_op_names().size() == public_ops);
  CHECK(public_ops == 35);
  CHECK(sim::model::time_passing_op_list() ==
        "run, sleep, sleep_until_next_period, lock, wait, funnel, run_action, command_sleep, io, upgrade or send");
}

TEST_CASE("op table: every public op loads from a minimal example", "[scenario][unit]") {
  for (const OpInfo& op : kOpTable) {
    if (op.internal) continue;
    INFO(op.name);
    auto ex = examples().find(std::string(op.name));
    REQUIRE(ex != examples().end());  // a new op needs an example here
    sim::scenario::LoadResult r = sim::scenario::load_scenario_text(scenario_for(op, ex->second), "op.json");
    INFO(r.diagnostics.format());
    REQUIRE(r.scenario);
    CHECK(r.scenario->threads[0].program.at(0).kind == op.kind);
    // Every key the table lists is known to the loader: a wrong one gets a did-you-mean.
    std::string bad = ex->second;
    bad.insert(bad.size() - 1, R"(, "no_such_key": 1)");
    sim::scenario::LoadResult b = sim::scenario::load_scenario_text(scenario_for(op, bad), "op.json");
    REQUIRE(b.diagnostics.items().size() == 1);
    CHECK(b.diagnostics.items()[0].message == "unknown key \"no_such_key\"");
  }
}

TEST_CASE("op table: docs/scenario-format.md lists every public op with its keys", "[scenario][unit]") {
  std::string doc = read_text(std::filesystem::path(XNUSIM_SOURCE_DIR) / "docs/scenario-format.md");
  REQUIRE_FALSE(doc.empty());
  for (const OpInfo& op : kOpTable) {
    if (op.internal) continue;
    INFO(op.name);
    std::string row_start = fmt::format("\n| `{}` |", op.name);
    size_t at = doc.find(row_start);
    REQUIRE(at != std::string::npos);
    std::string row = doc.substr(at + 1, doc.find('\n', at + 1) - at - 1);
    for (const std::string& key : sim::model::op_keys(op.kind)) {
      INFO(key);
      CHECK(row.find(fmt::format("`{}`", key)) != std::string::npos);
    }
  }
}

TEST_CASE("op table: once a world is built, every op of the sync and IOKit layers has a handler",
          "[scenario][unit]") {
  sim::scenario::LoadResult r = sim::scenario::load_scenario_text(with_program(R"({"op": "run", "for": "1ms"})"),
                                                                  "op.json");
  REQUIRE(r.scenario);
  sim::core::TraceBus bus;
  sim::scenario::World w =
      sim::scenario::build_world(*r.scenario, *sim::policies::find_policy("xnu"), &bus, r.scenario->seed);
  REQUIRE(w.iokit);
  for (const OpInfo& op : kOpTable) {
    INFO(op.name);
    // The platform layer's op (set_pstate) has its handler only in a run with machine.platform
    // (sim/run builds the energy meter); platform_test checks that one.
    if (op.layer == sim::model::OpLayer::platform) continue;
    CHECK(w.dispatcher->has_op_handler(op.kind) == (op.layer != sim::model::OpLayer::dispatcher));
  }
}
