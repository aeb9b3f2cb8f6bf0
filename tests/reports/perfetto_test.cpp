// `xnusim run --perfetto FILE`: the Chrome JSON trace-event file. Every bundled scenario under
// every policy gives a document that follows the format's documented fields (Trace Event Format;
// Perfetto's legacy JSON importer), and one small scenario's file is checked byte for byte
// against tests/golden/ (UPDATE_GOLDEN=1 rewrites it).
#include "reports/perfetto.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sim/policies/registry.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// Times in the file are microseconds with three decimals: back to integer ns, exactly.
int64_t ns_of(const json& v) { return static_cast<int64_t>(std::llround(v.get<double>() * 1000.0)); }

struct Counts {
  size_t slices = 0, flows = 0, instants = 0, counters = 0;
};

// Checks one document against the format's rules; returns what it holds. Problems are
// collected (the first few reported) rather than asserted one by one: a run has many events.
Counts check_document(const std::string& text, const std::string& label) {
  INFO(label);
  Counts n;
  std::vector<std::string> errors;
  auto expect = [&](bool ok, const std::string& what, const json& e) {
    if (!ok && errors.size() < 5) errors.push_back(what + ": " + e.dump());
  };
  // traceEvents must come first: Perfetto's tokenizer reads the keys in order.
  REQUIRE(text.rfind("{\"traceEvents\":[", 0) == 0);
  json doc = json::parse(text);  // throws (fails the test) on invalid JSON
  REQUIRE(doc.is_object());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    INFO("top-level key " << it.key());
    CHECK((it.key() == "traceEvents" || it.key() == "displayTimeUnit" || it.key() == "otherData"));
  }
  CHECK(doc["displayTimeUnit"] == "ns");
  REQUIRE(doc["otherData"].is_object());
  const json& events = doc["traceEvents"];
  REQUIRE(events.is_array());

  using Track = std::pair<int, int>;
  std::set<int> named_pids;
  std::set<Track> named_tracks;
  std::map<Track, int64_t> last_ts;    // slices, instants and flow ends, file order
  std::map<Track, int64_t> slice_end;  // end of the previous slice on the track
  std::map<Track, std::vector<std::pair<int64_t, int64_t>>> slices;
  std::map<std::pair<int, std::string>, int64_t> counter_ts;
  std::map<uint64_t, std::tuple<Track, int64_t>> flow_s, flow_f;
  std::set<Track> used_tracks;
  std::set<int> used_pids;

  for (const json& e : events) {
    if (!e.is_object() || !e.contains("ph") || !e.contains("pid") || !e.contains("name") ||
        !e["pid"].is_number_integer() || !e["name"].is_string()) {
      expect(false, "ph, pid and name are required", e);
      continue;
    }
    const std::string ph = e["ph"];
    const int pid = e["pid"];
    if (ph == "M") {
      const std::string what = e["name"];
      if (what == "process_name") {
        expect(e["args"]["name"].is_string(), "process_name has args.name", e);
        named_pids.insert(pid);
      } else if (what == "thread_name") {
        expect(e["args"]["name"].is_string() && e["tid"].is_number_integer(), "thread_name has tid and args.name", e);
        named_tracks.insert({pid, e["tid"].get<int>()});
      } else if (what == "process_sort_index" || what == "thread_sort_index") {
        expect(e["args"]["sort_index"].is_number_integer(), "sort_index is an integer", e);
      } else {
        expect(what == "process_labels" && e["args"]["labels"].is_string(), "known metadata", e);
      }
      continue;
    }
    if (!e.contains("ts") || !e["ts"].is_number()) {
      expect(false, "ts is a number", e);
      continue;
    }
    const int64_t ts = ns_of(e["ts"]);
    expect(ts >= 0, "ts >= 0", e);
    used_pids.insert(pid);
    if (ph == "C") {
      ++n.counters;
      expect(e["args"].is_object() && !e["args"].empty(), "counter args", e);
      for (auto it = e["args"].begin(); it != e["args"].end(); ++it) expect(it.value().is_number(), "counter value", e);
      auto key = std::make_pair(pid, e["name"].get<std::string>());
      if (counter_ts.count(key)) expect(counter_ts[key] <= ts, "counter in time order", e);
      counter_ts[key] = ts;
      continue;
    }
    if (ph == "i" && e["s"] == "g") {
      ++n.instants;
      continue;
    }
    if (!e.contains("tid") || !e["tid"].is_number_integer()) {
      expect(false, "tid", e);
      continue;
    }
    const Track track{pid, e["tid"].get<int>()};
    used_tracks.insert(track);
    if (ph == "X") {
      ++n.slices;
      const int64_t dur = e["dur"].is_number() ? ns_of(e["dur"]) : -1;
      expect(dur >= 0, "dur >= 0", e);
      expect(e["cat"].is_string() && e["args"].is_object(), "cat and args", e);
      // Slices of a lane never overlap (so they nest trivially) and come in time order.
      if (slice_end.count(track)) expect(slice_end[track] <= ts, "no overlap", e);
      slice_end[track] = ts + dur;
      slices[track].push_back({ts, ts + dur});
    } else if (ph == "i") {
      ++n.instants;
      expect(e["s"] == "t", "instant scope", e);
    } else if (ph == "s" || ph == "f") {
      if (!e["id"].is_number_unsigned()) {
        expect(false, "flow id", e);
        continue;
      }
      expect(e["cat"] == "flow", "flow cat", e);
      const uint64_t id = e["id"];
      auto& side = ph == "s" ? flow_s : flow_f;
      expect(side.count(id) == 0, "one start and one end per flow id", e);
      side[id] = {track, ts};
      if (ph == "f") expect(e["bp"] == "e", "flow end binds to its enclosing slice", e);
      if (ph == "s") continue;  // a flow start is written when its end is known
    } else {
      expect(false, "known phase", e);
    }
    if (last_ts.count(track)) expect(last_ts[track] <= ts, "lane in time order", e);
    last_ts[track] = ts;
  }

  // Perfetto keys threads by tid alone: no lane may reuse a process's number.
  for (const Track& t : named_tracks)
    expect(named_pids.count(t.second) == 0, "tid differs from every pid", json(t.second));
  // Every track and process used is named.
  for (const Track& t : used_tracks) expect(named_tracks.count(t) == 1, "lane named", json::array({t.first, t.second}));
  for (int p : used_pids) expect(named_pids.count(p) == 1, "process named", json(p));
  // Flows are paired, go forward in time, and each end lies in a slice of its own lane.
  CHECK(flow_s.size() == flow_f.size());
  auto in_slice = [&](const Track& t, int64_t ts) {
    const auto& v = slices[t];
    return std::any_of(v.begin(), v.end(), [&](const auto& s) { return s.first <= ts && ts <= s.second; });
  };
  for (const auto& [id, start] : flow_s) {
    const json where = json(id);
    expect(flow_f.count(id) == 1, "flow has an end", where);
    if (!flow_f.count(id)) continue;
    const auto& [st, sts] = start;
    const auto& [ft, fts] = flow_f[id];
    expect(sts <= fts, "flow goes forward", where);
    expect(in_slice(st, sts), "flow start in a slice", where);
    expect(in_slice(ft, fts), "flow end in a slice", where);
    ++n.flows;
  }
  std::string report;
  for (const std::string& e : errors) report += e + "\n";
  INFO(report);
  CHECK(errors.empty());
  return n;
}

Counts run_and_check(const std::string& args, const std::string& label) {
  const std::string out = testing::temp_path("perfetto.json");
  testing::CliResult r = testing::xnusim("run " + args + " -q --perfetto " + out);
  INFO(label << ": " << r.err);
  // Exit 4: a scenario whose point is a simulated panic still writes its trace.
  CHECK((r.code == 0 || r.code == 4));
  std::string text = testing::slurp(out);
  std::remove(out.c_str());
  return check_document(text, label);
}

}  // namespace

TEST_CASE("perfetto: microseconds with three decimals keep every nanosecond", "[reports][perfetto]") {
  CHECK(sim::reports::perfetto_us(0) == "0.000");
  CHECK(sim::reports::perfetto_us(5'000'125) == "5000.125");
  CHECK(sim::reports::perfetto_us(999) == "0.999");
  CHECK(sim::reports::perfetto_us(3'600'000'000'001) == "3600000000.001");
}

TEST_CASE("perfetto: every bundled scenario under every policy is a valid trace", "[reports][perfetto]") {
  for (const std::string& f : testing::bundled_scenario_names()) {
    // Its own policy for up to 5 simulated seconds (as the golden traces), then every policy for
    // up to 200 ms: the document's rules do not depend on length, and the suite stays quick.
    sim::scenario::LoadResult loaded = sim::scenario::load_scenario_file(f);
    REQUIRE(loaded.scenario);
    const int64_t length = loaded.scenario->duration.ns;
    auto capped = [&](int64_t limit_ms) {
      return length > limit_ms * 1'000'000 ? fmt::format(" --duration {}ms", limit_ms) : std::string();
    };
    Counts own = run_and_check(f + capped(5000), f);
    INFO(f);
    CHECK(own.slices > 0);
    CHECK(own.counters > 0);
    for (const sim::policies::PolicyInfo& p : sim::policies::registry()) {
      // In process (the CLI path is the one above): a writer on a memory stream.
      sim::run::Options o;
      o.policy = std::string(p.name);
      if (length > 200'000'000) o.duration = sim::core::Duration{200'000'000};
      sim::run::Simulation run(*loaded.scenario, o);
      char* data = nullptr;
      size_t size = 0;
      std::FILE* mem = open_memstream(&data, &size);
      REQUIRE(mem);
      {
        sim::reports::PerfettoConfig c;
        c.scenario = loaded.scenario->name;
        c.policy = run.policy_name();
        c.cpus = loaded.scenario->machine.cpus;
        sim::reports::PerfettoWriter writer(mem, run.names(), c);
        run.add_sink(&writer);
        run.run();
      }
      std::fclose(mem);
      std::string text(data, size);
      std::free(data);
      check_document(text, f + " " + std::string(p.name));
    }
  }
}

TEST_CASE("perfetto: the flows, instants and counters of known runs", "[reports][perfetto]") {
  // three-threads-none: one unlock -> waiter arrow (low releases m, high runs), the inversion
  // begins and ends once on high's lane.
  {
    const std::string out = testing::temp_path("perfetto-3t.json");
    REQUIRE(testing::xnusim("run scenarios/inversion/three-threads-none.json -q --perfetto " + out).code == 0);
    json doc = json::parse(testing::slurp(out));
    std::remove(out.c_str());
    int unlock = 0, began = 0, ended = 0;
    for (const json& e : doc["traceEvents"]) {
      if (e["ph"] == "s" && e["name"] == "unlock") ++unlock;
      if (e["ph"] == "i" && e["name"] == "priority inversion begins") {
        ++began;
        CHECK(e["args"]["holder"] == "low");
        CHECK(e["args"]["ran_instead"] == "medium");
      }
      if (e["ph"] == "i" && e["name"] == "priority inversion ends") ++ended;
    }
    CHECK(unlock == 1);
    CHECK(began == 1);
    CHECK(ended == 1);
    CHECK(doc["otherData"]["scenario"] == "three-threads-none");
    CHECK(doc["otherData"]["policy"] == "xnu");
  }
  // interrupt-to-workloop: one interrupt -> action arrow per interrupt a work loop handled, from
  // a cpu's interrupts lane to the work loop thread's lane.
  {
    const std::string out = testing::temp_path("perfetto-irq.json");
    const std::string json_out = testing::temp_path("perfetto-irq-results.json");
    REQUIRE(
        testing::xnusim("run scenarios/iokit/interrupt-to-workloop.json -q --perfetto " + out + " --json " + json_out)
            .code == 0);
    json doc = json::parse(testing::slurp(out));
    json results = json::parse(testing::slurp(json_out));
    std::remove(out.c_str());
    std::remove(json_out.c_str());
    int64_t arrows = 0, actions = 0;
    std::set<int> interrupt_lanes;
    for (const json& e : doc["traceEvents"])
      if (e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "interrupts")
        interrupt_lanes.insert(e["tid"].get<int>());
    CHECK(interrupt_lanes.size() == 1);  // one CPU
    for (const json& e : doc["traceEvents"]) {
      if (e["ph"] == "s" && e["name"] == "interrupt") {
        ++arrows;
        CHECK(interrupt_lanes.count(e["tid"].get<int>()) == 1);
      }
      if (e["ph"] == "i" && e["name"] == "workloop action") ++actions;
    }
    int64_t delivered = 0, handled = 0;
    for (const json& w : results["workloops"]) {
      delivered += w["interrupts_delivered"].get<int64_t>();
      handled += w["actions"].get<int64_t>();
    }
    CHECK(actions == handled);
    CHECK(arrows == delivered);
  }
}

TEST_CASE("perfetto: an overloaded run keeps every miss, with bounded waiting events", "[reports][perfetto]") {
  // One thread that needs 2 ms per 1 ms period never stops running: its running slice is cut
  // every 1024 waiting instants, and the ~2,500 jobs still pending at the end are written at once.
  const std::string f = testing::write_temp("perfetto-overrun.json", R"({"format": "xnusim-scenario", "version": 1,
    "duration": "5s", "policy": "fixed",
    "threads": [{"id": "hog", "priority": 40, "period": "1ms", "program": [{"op": "run", "for": "2ms"}]}]})");
  const std::string out = testing::temp_path("perfetto-overrun-trace.json");
  const std::string res = testing::temp_path("perfetto-overrun-results.json");
  REQUIRE(testing::xnusim("run " + f + " -q --perfetto " + out + " --json " + res).code == 0);
  const std::string text = testing::slurp(out);
  json results = json::parse(testing::slurp(res));
  std::remove(out.c_str());
  std::remove(res.c_str());
  std::remove(f.c_str());
  Counts n = check_document(text, "overrun");
  json doc = json::parse(text);
  int64_t misses = 0, running_ns = 0, running_slices = 0;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "i" && e["name"] == "deadline miss") ++misses;
    if (e["ph"] == "X" && e["tid"] == 5 && e["name"] == "running") {
      running_ns += ns_of(e["dur"]);
      ++running_slices;
    }
  }
  CHECK(misses == results["threads"]["hog"]["deadline_misses"].get<int64_t>());
  CHECK(misses == 4999);
  CHECK(running_ns == 5'000'000'000);
  // 2,499 misses during the run cut it twice; the pending ones at the end fill the third slice
  // and a last empty one at the end, then are written at once.
  CHECK(running_slices == 4);
  CHECK(n.instants == 4999);
}

TEST_CASE("perfetto: running slices add up to each thread's CPU time", "[reports][perfetto]") {
  // Scenarios without interrupts or switch costs: a thread's running (and spinning) slices on its
  // lane, and its slices on the CPUs' running lanes, each sum to its cpu_time_ns exactly. (With
  // interrupts or costs, a running slice also covers the interrupt handlers and the switch.)
  for (const char* f : {"scenarios/basics/bench-10.json", "scenarios/inversion/pathfinder.json",
                        "scenarios/realtime/rt-runaway-demoted.json", "scenarios/funnels/two-cpus-serialised.json",
                        "scenarios/realtime/cpu-hog-decays.json"}) {
    INFO(f);
    const std::string out = testing::temp_path("perfetto-sum.json");
    const std::string res = testing::temp_path("perfetto-sum-results.json");
    REQUIRE(testing::xnusim(std::string("run ") + f + " -q --perfetto " + out + " --json " + res).code == 0);
    json doc = json::parse(testing::slurp(out));
    json results = json::parse(testing::slurp(res));
    std::remove(out.c_str());
    std::remove(res.c_str());
    std::map<std::pair<int, int>, std::string> lane;
    for (const json& e : doc["traceEvents"])
      if (e["ph"] == "M" && e["name"] == "thread_name")
        lane[{e["pid"].get<int>(), e["tid"].get<int>()}] = e["args"]["name"];
    std::map<std::string, int64_t> on_thread_lane, on_cpu_lane;
    for (const json& e : doc["traceEvents"]) {
      if (e["ph"] != "X" || e["cat"] != "running") continue;
      const std::string& where = lane[{e["pid"].get<int>(), e["tid"].get<int>()}];
      if (where == "running")
        on_cpu_lane[e["name"]] += ns_of(e["dur"]);
      else
        on_thread_lane[where] += ns_of(e["dur"]);
    }
    REQUIRE(results["threads"].size() >= 2);
    for (auto it = results["threads"].begin(); it != results["threads"].end(); ++it) {
      INFO(it.key());
      CHECK(on_thread_lane[it.key()] == it.value()["cpu_time_ns"].get<int64_t>());
      CHECK(on_cpu_lane[it.key()] == it.value()["cpu_time_ns"].get<int64_t>());
    }
  }
}

TEST_CASE("perfetto: three-threads-none matches the golden file", "[reports][perfetto][golden]") {
  const std::string out = testing::temp_path("perfetto-golden.json");
  REQUIRE(testing::xnusim("run scenarios/inversion/three-threads-none.json -q --perfetto " + out).code == 0);
  const std::string got = testing::slurp(out);
  std::remove(out.c_str());
  const fs::path golden = fs::path(XNUSIM_SOURCE_DIR) / "tests" / "golden" / "three-threads-none.perfetto.json";
  if (std::getenv("UPDATE_GOLDEN")) {
    std::ofstream(golden, std::ios::binary) << got;
    return;
  }
  const std::string want = testing::slurp(golden.string());
  REQUIRE(!want.empty());
  CHECK(got == want);
}

TEST_CASE("perfetto: bad paths are refused before the run, and the output is deterministic", "[reports][perfetto]") {
  testing::CliResult r =
      testing::xnusim("run scenarios/inversion/three-threads-none.json --perfetto /nonexistent/dir/x.json");
  CHECK(r.code == 2);
  CHECK(r.err.find("--perfetto") != std::string::npos);
  CHECK(r.out.empty());
  // A device that fills up: the error shows when the trace is flushed, and names the option.
  r = testing::xnusim("run scenarios/inversion/three-threads-none.json -q --perfetto /dev/full");
  CHECK(r.code == 2);
  CHECK(r.err.rfind("xnusim: error: cannot write \"/dev/full\": ", 0) == 0);
  CHECK(r.err.find("(given to --perfetto)\n") != std::string::npos);
  const std::string same = testing::temp_path("perfetto-same.json");
  r = testing::xnusim("run scenarios/inversion/three-threads-none.json --perfetto " + same + " --json " + same);
  CHECK(r.code == 2);
  CHECK(r.err.find("--perfetto") != std::string::npos);
  CHECK(!fs::exists(same));

  const std::string a = testing::temp_path("perfetto-a.json"), b = testing::temp_path("perfetto-b.json");
  REQUIRE(testing::xnusim("run scenarios/iokit/driver-stack.json -q --perfetto " + a).code == 0);
  REQUIRE(testing::xnusim("run scenarios/iokit/driver-stack.json -q --perfetto " + b).code == 0);
  CHECK(testing::slurp(a) == testing::slurp(b));
  std::remove(a.c_str());
  std::remove(b.c_str());
}
