// The text trace names event sources by id, traces a filter's refusal, and gives each
// work-loop action its latency, equal to the metric's samples (issue 10, 3).
#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "reports/trace_text.hpp"
#include "tests/support.hpp"

namespace {

using namespace testing;

struct Traced2 {
  RunOutput out;
  RecordingSink rec;
  core::NameTable names;
};

void run_file(Traced2& t, const std::string& file) {
  scenario::LoadResult loaded = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + file);
  REQUIRE(loaded.scenario);
  sim::run::Simulation simulation(*loaded.scenario, {});
  simulation.add_sink(&t.rec);
  t.out.results = simulation.run();
  t.names = simulation.names();
}

}  // namespace

TEST_CASE("trace: workloop_action latency equals the action_latency_ns samples", "[reports][trace]") {
  for (const char* file : {"scenarios/iokit/interrupt-to-workloop.json", "scenarios/iokit/filter-shared-line.json",
                           "scenarios/iokit/driver-stack.json", "scenarios/iokit/workloop-vs-audio.json",
                           "scenarios/iokit/command-gate-sleep.json"}) {
    INFO(file);
    Traced2 t;
    run_file(t, file);
    std::map<int32_t, std::vector<int64_t>> latencies;
    for (const core::TraceEvent& e : t.rec.of(core::TraceKind::workloop_action))
      if (e.c >= 0) latencies[e.other].push_back(e.c);
    int64_t checked = 0;
    for (size_t w = 0; w < t.out.results.workloops.size(); ++w) {
      const metrics::Summary& s = t.out.results.workloops[w].action_latency_ns;
      std::vector<int64_t>& v = latencies[static_cast<int32_t>(w)];
      INFO("workloop " << t.out.results.workloops[w].id);
      REQUIRE(static_cast<int64_t>(v.size()) == s.count);
      if (v.empty()) continue;
      std::sort(v.begin(), v.end());
      CHECK(v.front() == s.min);
      CHECK(v.back() == s.max);
      const auto n = static_cast<int64_t>(v.size());
      CHECK(v[static_cast<size_t>(n - n / 2 - 1)] == s.p50);
      CHECK(v[static_cast<size_t>(n - n / 100 - 1)] == s.p99);
      ++checked;
    }
    CHECK(checked > 0);
  }
}

TEST_CASE("trace: sources by id, the filter's refusals, latency on the line", "[reports][trace]") {
  Traced2 t;
  run_file(t, "scenarios/iokit/filter-shared-line.json");
  std::vector<core::TraceEvent> refused = t.rec.of(core::TraceKind::filter_refused);
  REQUIRE(!refused.empty());
  for (const core::TraceEvent& e : refused) {
    const std::string line = reports::format_trace_line(e, t.names);
    INFO(line);
    CHECK(line.find(" filter_refused ") != std::string::npos);
    CHECK(line.find(" source=intr") != std::string::npos);
    CHECK(line.find("=#") == std::string::npos);
  }
  // Every interrupt of a filtered line is refused or handed on: refused + delivered = arrived
  // (minus those still pending at the end, none here as the line is quiet at the end).
  int64_t arrived = 0, delivered = 0;
  for (const auto& i : t.out.results.interrupts) arrived += i.count;
  for (const auto& w : t.out.results.workloops) delivered += w.interrupts_delivered;
  CHECK(static_cast<int64_t>(refused.size()) + delivered <= arrived);
  CHECK(static_cast<int64_t>(refused.size()) + delivered >= arrived - 2);

  core::TraceEvent action;
  action.kind = core::TraceKind::workloop_action;
  action.time = core::SimTime{2'005'000};
  action.cpu = 0;
  action.thread = 0;
  action.other = 0;
  action.a = 0;
  action.b = 3;
  action.c = 5'000;
  core::NameTable names;
  names.threads = {"workloop:wl"};
  names.workloops = {"wl"};
  names.sources = {{"irq", "io"}};
  CHECK(reports::format_trace_line(action, names) ==
        "0.002005000 cpu0 workloop_action workloop:wl workloop=wl source=irq count=3 latency=5us");
  action.a = 1;
  action.c = -1;
  CHECK(reports::format_trace_line(action, names) ==
        "0.002005000 cpu0 workloop_action workloop:wl workloop=wl source=io count=3");
  action.a = 7;  // no such source: its number
  CHECK(reports::format_trace_line(action, names) ==
        "0.002005000 cpu0 workloop_action workloop:wl workloop=wl source=7 count=3");
}

TEST_CASE("trace: the fast writer prints times and durations exactly as core's formatters", "[reports][trace]") {
  core::NameTable names;
  names.threads = {"t"};
  std::vector<int64_t> values = {0, 1, -1, 9, 10, 999, 1'000, 1'001, 1'500, 999'999, 1'000'000, 1'234'567,
                                 10'000'000, 999'999'999, 1'000'000'000, 1'000'000'001, 1'500'000'000,
                                 60'000'000'000, 3'600'000'000'123, std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min(), -1'234'567};
  uint64_t x = 1;
  for (int i = 0; i < 20'000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int shift = static_cast<int>((x >> 58) % 63);
    values.push_back(static_cast<int64_t>(x >> 1) >> shift);
  }
  for (int64_t v : values) {
    INFO(v);
    core::TraceEvent done;
    done.kind = core::TraceKind::completed;
    done.time = core::SimTime{v};
    done.thread = 0;
    done.cpu = 3;
    done.a = v;
    done.b = v;
    REQUIRE(reports::format_trace_line(done, names) ==
            core::format_time(core::SimTime{v}) + " cpu3 completed t job=" + std::to_string(v) +
                " response=" + core::format_duration(core::Duration{v}));
    core::TraceEvent dep;
    dep.kind = core::TraceKind::depressed;
    dep.thread = 0;
    dep.a = v;
    REQUIRE(reports::format_trace_line(dep, names) ==
            "0.000000000 - depressed t until=" + core::format_time(core::SimTime{v}));
  }
}
