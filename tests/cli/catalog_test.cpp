// The metric catalogue against the results JSON of a real run (locks, IOKit, interrupts), and the
// run layer's contract (sinks, names, one run).
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/metrics/catalog.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

namespace {

using nlohmann::ordered_json;
namespace metrics = sim::metrics;

// Two CPUs; a contended mutex; a work loop fed by an interrupt source; a device stack; a clock
// interrupt: every kind of results object is present and most metrics are non-zero.
constexpr const char* kEverything = R"({"format": "xnusim-scenario", "version": 1, "duration": "200ms",
  "seed": 7, "machine": {"cpus": 2, "xnu": "792"},
  "locks": [{"id": "m", "kind": "mutex"}],
  "workloops": [{"id": "wl", "sources": [{"id": "intr", "kind": "interrupt", "action": "50us"}]}],
  "interrupts": [
    {"id": "disk_irq", "arrival": {"poisson": "2000/s"}, "handler": "10us", "source": "wl.intr"},
    {"id": "clock", "arrival": {"periodic": "1ms"}, "handler": "5us"}],
  "devices": [{"id": "ctl", "workloop": "wl", "service": "50us"},
              {"id": "disk", "provider": "ctl", "service": "1ms"}],
  "threads": [
    {"id": "a", "priority": 40, "period": "5ms", "program": [
      {"op": "lock", "lock": "m"}, {"op": "run", "for": "1ms"}, {"op": "unlock", "lock": "m"}]},
    {"id": "b", "priority": 30, "period": "7ms", "program": [
      {"op": "lock", "lock": "m"}, {"op": "run", "for": "2ms"}, {"op": "unlock", "lock": "m"}]},
    {"id": "io", "program": [{"op": "loop", "forever": true, "body": [
      {"op": "io", "device": "disk", "for": "100us"}, {"op": "run", "for": "300us"}]}]},
    {"id": "rt", "mode": "realtime", "period": "3ms",
     "realtime": {"period": "3ms", "computation": "500us", "constraint": "2ms"},
     "program": [{"op": "run", "for": "400us"}]}],
  "expect": [{"lock": "m", "metric": "acquisitions", "min": 1},
             {"cpu": 1, "metric": "by_band_ns.realtime", "min": 0},
             {"metric": "events", "min": 1}]})";

const testing::RunOutput& everything() {
  static const testing::RunOutput out = [] {
    sim::scenario::LoadResult r = sim::scenario::load_scenario_text(kEverything, "everything.json");
    INFO(r.diagnostics.format());
    REQUIRE(r.scenario);
    static const sim::scenario::Scenario s = *r.scenario;  // outlives the run
    sim::run::Options o;
    o.policy = "xnu";
    return testing::run_scenario(s, o);
  }();
  return out;
}

const ordered_json* follow(const ordered_json& object, const std::string& path) {
  const ordered_json* node = &object;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

// Every field of the catalogue is in `object` with the accessor's value, and every number in
// `object` (nested objects included) is a catalogue path.
template <typename T>
void check_object(const std::vector<metrics::Field<T>>& fields, const T& result, const ordered_json& object,
                  const std::string& where) {
  std::set<std::string> paths;
  for (const metrics::Field<T>& f : fields) {
    INFO(where << " " << f.path);
    if (f.shown && !f.shown(result)) {  // absent from this object (system.energy_mj without a platform)
      CHECK(follow(object, f.path) == nullptr);
      continue;
    }
    paths.insert(f.path);
    const ordered_json* v = follow(object, f.path);
    REQUIRE(v != nullptr);
    switch (f.type) {
      case metrics::FieldType::number:
        REQUIRE(v->is_number_integer());
        CHECK(v->get<int64_t>() == f.number(result));
        break;
      case metrics::FieldType::text: CHECK(v->get<std::string>() == f.text(result)); break;
      case metrics::FieldType::flag: CHECK(v->get<bool>() == f.flag(result)); break;
      case metrics::FieldType::texts: CHECK(v->get<std::vector<std::string>>() == f.texts(result)); break;
      case metrics::FieldType::histogram: {
        REQUIRE(v->is_array());
        const auto& buckets = f.histogram(result);
        REQUIRE(v->size() == buckets.size());
        for (size_t i = 0; i < buckets.size(); ++i) {
          CHECK((*v)[i]["lo"].get<int64_t>() == buckets[i].lo);
          CHECK((*v)[i]["hi"].get<int64_t>() == buckets[i].hi);
          CHECK((*v)[i]["count"].get<int64_t>() == buckets[i].count);
          CHECK((*v)[i].size() == 3);
        }
        break;
      }
    }
  }
  // And back: the JSON has no number the catalogue does not know.
  std::vector<std::pair<std::string, const ordered_json*>> todo = {{"", &object}};
  while (!todo.empty()) {
    auto [prefix, node] = todo.back();
    todo.pop_back();
    for (auto it = node->begin(); it != node->end(); ++it) {
      std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
      if (it->is_object()) {
        todo.emplace_back(path, &*it);
      } else if (it->is_number()) {
        INFO(where << " " << path);
        CHECK(paths.count(path) == 1);
      }
    }
  }
}

}  // namespace

TEST_CASE("catalogue: every path resolves in the JSON of a real run to the accessor's value, and back",
          "[metrics][unit]") {
  const testing::RunOutput& out = everything();
  const metrics::Results& r = out.results;
  const ordered_json& j = out.json;
  // The run exercises every kind of object, so the comparison is not between zeros.
  REQUIRE(r.threads.size() == 6);  // the four declared, the work loop's thread and xnu's tick thread
  REQUIRE(r.cpus.size() == 2);
  REQUIRE(r.locks.size() == 2);  // m and the work loop's gate
  REQUIRE(r.locks[0].id == "m");
  REQUIRE(r.interrupts.size() == 3);  // and the controller's completion interrupt
  REQUIRE(r.workloops.size() == 1);
  REQUIRE(r.devices.size() == 2);
  CHECK(r.locks[0].contended > 0);
  CHECK(r.interrupts[0].count > 0);
  CHECK(r.workloops[0].actions > 0);
  CHECK(r.devices[1].completed > 0);
  CHECK(r.threads[3].response_ns.count > 0);

  for (const auto& t : r.threads) check_object(metrics::thread_fields(), t, j["threads"][t.id], "thread " + t.id);
  for (size_t i = 0; i < r.cpus.size(); ++i)
    check_object(metrics::cpu_fields(), r.cpus[i], j["cpus"][i], "cpu " + std::to_string(i));
  for (const auto& l : r.locks) check_object(metrics::lock_fields(), l, j["locks"][l.id], "lock " + l.id);
  for (const auto& x : r.interrupts)
    check_object(metrics::interrupt_fields(), x, j["interrupts"][x.id], "interrupt " + x.id);
  for (const auto& w : r.workloops) check_object(metrics::workloop_fields(), w, j["workloops"][w.id], "workloop " + w.id);
  for (const auto& d : r.devices) check_object(metrics::device_fields(), d, j["devices"][d.id], "device " + d.id);
  check_object(metrics::system_fields(), r.system, j["system"], "system");
  // Each object has exactly the catalogue's keys (numbers and attributes), so the writer and
  // the catalogue cannot drift apart: nothing is written outside it ("panics" included).
  // 14 documented keys (two are summaries), then task, mode, base_priority, band, kernel, spin_ns,
  // created_ns, ended_ns.
  CHECK(j["threads"]["a"].size() == 22);
  // Every field but energy_mj, which only a run with machine.platform has (platform tests).
  CHECK(j["system"].size() == metrics::system_fields().size() - 1);
  CHECK(j["system"].size() == 4);
}

TEST_CASE("catalogue: metric_value reads each metric path of each target through the catalogue", "[metrics][unit]") {
  const metrics::Results& r = everything().results;
  for (const std::string& p : metrics::metric_paths(metrics::TargetKind::lock)) {
    INFO(p);
    CHECK(metrics::metric_value(r, metrics::TargetKind::lock, "m", -1, p).has_value());
  }
  CHECK(metrics::metric_value(r, metrics::TargetKind::lock, "m", -1, "acquisitions") == r.locks[0].acquisitions);
  CHECK(metrics::metric_value(r, metrics::TargetKind::cpu, "", 1, "by_band_ns.realtime") ==
        r.cpus[1].by_band_ns[7]);
  CHECK(metrics::metric_value(r, metrics::TargetKind::device, "disk", -1, "io_ns.max") == r.devices[1].io_ns.max);
  CHECK_FALSE(metrics::metric_value(r, metrics::TargetKind::cpu, "", 2, "busy_ns"));
  CHECK_FALSE(metrics::metric_value(r, metrics::TargetKind::thread, "a", -1, "base_priority"));
  CHECK_FALSE(metrics::metric_value(r, metrics::TargetKind::thread, "a", -1, "response_ns"));
  // The expects of the scenario were evaluated on these Results.
  REQUIRE(r.expect.size() == 3);
  CHECK(r.expect[0].text == "lock \"m\" acquisitions >= 1: got " + std::to_string(r.locks[0].acquisitions));
  CHECK(sim::run::expects_ok(r));
}

TEST_CASE("run layer: every added sink sees the whole trace, after the metric sinks, once", "[metrics][unit]") {
  sim::scenario::LoadResult loaded = sim::scenario::load_scenario_text(kEverything, "everything.json");
  REQUIRE(loaded.scenario);
  sim::run::Options o;
  o.duration = sim::core::Duration::milliseconds(20);
  sim::run::Simulation simulation(*loaded.scenario, o);
  CHECK(simulation.names().threads ==
        std::vector<std::string>{"a", "b", "io", "rt", "workloop:wl", "kernel:sched_tick"});
  CHECK(simulation.names().locks.size() >= 1);
  CHECK(simulation.policy_name() == "xnu");
  CHECK(simulation.seed() == 7);
  CHECK(simulation.duration().ns == 20'000'000);
  testing::RecordingSink first, second;
  simulation.add_sink(&first);
  simulation.add_sink(&second);
  sim::run::Results r = simulation.run();
  CHECK(r.duration_ns == 20'000'000);
  REQUIRE(first.events.size() > 100);
  CHECK(first.events.size() == second.events.size());
  CHECK(r.seed == 7);
  CHECK(r.xnu == "792");
  CHECK_THROWS_AS(simulation.run(), std::logic_error);
  CHECK_THROWS_AS(simulation.add_sink(&first), std::logic_error);
  // An unchecked policy name is our bug, not bad input.
  o.policy = "nonesuch";
  CHECK(sim::run::check_policy_name(*loaded.scenario, o.policy).find("unknown policy \"nonesuch\"") !=
        std::string::npos);
  CHECK_THROWS_AS(sim::run::Simulation(*loaded.scenario, o), std::logic_error);
}
