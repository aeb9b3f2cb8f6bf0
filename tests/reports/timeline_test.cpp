// The HTML report's Timeline sink: exact intervals on three-threads-none (the inversion example
// whose numbers the scenario's description derives), the window and its bounds, thinning.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "reports/html_report.hpp"
#include "reports/timeline.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

using sim::reports::CpuSpan;
using sim::reports::InversionSpan;
using sim::reports::LockHold;
using sim::reports::MarkKind;
using sim::reports::ThreadSpan;
using sim::reports::ThreadState;
using sim::reports::Timeline;
using sim::reports::TimeWindow;

namespace {

constexpr int64_t kMs = 1'000'000;

sim::scenario::Scenario load(const std::string& rel) {
  sim::scenario::LoadResult r = sim::scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + rel);
  REQUIRE(r.scenario);
  return *r.scenario;
}

struct Recorded {
  sim::run::Results results;
  std::unique_ptr<Timeline> timeline;
};

Recorded record(const sim::scenario::Scenario& s, TimeWindow w, const std::string& policy = "",
                std::optional<sim::core::Duration> duration = std::nullopt) {
  sim::run::Options o;
  o.policy = policy;
  o.duration = duration;
  sim::run::Simulation sim(s, o);
  Recorded r;
  r.timeline = std::make_unique<Timeline>(sim.names(), s.machine.cpus, sim.duration().ns, w);
  sim.add_sink(r.timeline.get());
  r.results = sim.run();
  return r;
}

int32_t index_of(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  REQUIRE(it != names.end());
  return static_cast<int32_t>(it - names.begin());
}

std::vector<ThreadSpan> spans_of(const Timeline& tl, int32_t thread) {
  std::vector<ThreadSpan> out;
  for (const ThreadSpan& s : tl.thread_spans())
    if (s.thread == thread) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const ThreadSpan& a, const ThreadSpan& b) { return a.from < b.from; });
  return out;
}

}  // namespace

TEST_CASE("timeline: three-threads-none has the intervals its description derives", "[reports][unit]") {
  sim::scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  Recorded r = record(s, TimeWindow{0, 100 * kMs});
  const Timeline& tl = *r.timeline;
  const auto& n = tl.names();
  int32_t low = index_of(n.threads, "low"), medium = index_of(n.threads, "medium"), high = index_of(n.threads, "high");
  int32_t m = index_of(n.locks, "m");
  CHECK_FALSE(tl.truncated());
  CHECK(tl.end() == 100 * kMs);

  // high: sleeps 0..5 ms, is blocked on m from 5 ms to 70 ms (65 ms), then runs 1 ms.
  std::vector<ThreadSpan> hs = spans_of(tl, high);
  auto blocked = std::find_if(hs.begin(), hs.end(), [](const ThreadSpan& x) { return x.state == ThreadState::lock; });
  REQUIRE(blocked != hs.end());
  CHECK(blocked->from == 5 * kMs);
  CHECK(blocked->to == 70 * kMs);
  CHECK(blocked->object == m);
  auto sleeping = std::find_if(hs.begin(), hs.end(), [](const ThreadSpan& x) { return x.state == ThreadState::sleeping; });
  REQUIRE(sleeping != hs.end());
  CHECK(sleeping->to == 5 * kMs);
  int64_t high_running = 0;
  for (const ThreadSpan& x : hs)
    if (x.state == ThreadState::running) high_running += x.to - x.from;
  CHECK(high_running == 1 * kMs);
  CHECK(hs.back().state == ThreadState::running);
  CHECK(hs.back().from == 70 * kMs);
  CHECK(hs.back().to == 71 * kMs);
  CHECK(hs.back().pri == 30);

  // low: runs 0..3 ms, ready while medium computes (3..53 ms), runs 53..70 ms.
  std::vector<ThreadSpan> ls = spans_of(tl, low);
  std::vector<std::tuple<ThreadState, int64_t, int64_t>> low_states;
  for (const ThreadSpan& x : ls) low_states.emplace_back(x.state, x.from, x.to);
  std::vector<std::tuple<ThreadState, int64_t, int64_t>> want_low = {
      {ThreadState::running, 0, 3 * kMs},
      {ThreadState::ready, 3 * kMs, 53 * kMs},
      {ThreadState::running, 53 * kMs, 70 * kMs},
      {ThreadState::ready, 70 * kMs, 71 * kMs},
  };
  CHECK(std::vector(low_states.begin(), low_states.begin() + std::min<size_t>(4, low_states.size())) == want_low);

  // medium: computes 50 ms in all, from 3 ms, pre-empted only by high's 0-length attempt at 5 ms.
  int64_t medium_running = 0;
  for (const ThreadSpan& x : spans_of(tl, medium))
    if (x.state == ThreadState::running) medium_running += x.to - x.from;
  CHECK(medium_running == 50 * kMs);

  // The inversion: high blocked by low while medium ran, 5 ms .. 53 ms (48 ms).
  REQUIRE(tl.inversions().size() == 1);
  const InversionSpan& v = tl.inversions().front();
  CHECK(v.thread == high);
  CHECK(v.ran == medium);
  CHECK(v.holder == low);
  CHECK(v.from == 5 * kMs);
  CHECK(v.to == 53 * kMs);

  // Lock holds: low 0..70 ms, high 70..71 ms.
  std::vector<LockHold> holds = tl.lock_holds();
  std::sort(holds.begin(), holds.end(), [](const LockHold& a, const LockHold& b) { return a.from < b.from; });
  REQUIRE(holds.size() == 2);
  CHECK((holds[0].thread == low && holds[0].from == 0 && holds[0].to == 70 * kMs && holds[0].lock == m));
  CHECK((holds[1].thread == high && holds[1].from == 70 * kMs && holds[1].to == 71 * kMs));

  // cpu0 ran low, medium, low, high (with medium's two pieces around 5 ms) and nothing after 71 ms.
  std::vector<CpuSpan> cs = tl.cpu_spans();
  std::sort(cs.begin(), cs.end(), [](const CpuSpan& a, const CpuSpan& b) { return a.from < b.from; });
  int64_t busy = 0;
  for (const CpuSpan& c : cs) {
    CHECK(c.cpu == 0);
    CHECK(c.source == -1);
    busy += c.to - c.from;
  }
  CHECK(busy == 71 * kMs);
  REQUIRE(cs.size() >= 4);
  CHECK((cs.front().thread == low && cs.front().from == 0 && cs.front().to == 3 * kMs && cs.front().pri == 10));
  CHECK((cs.back().thread == high && cs.back().from == 70 * kMs && cs.back().to == 71 * kMs));

  // Marks: one job each (released and completed); high's response 71 ms; no priority change.
  int completed = 0;
  for (const auto& mk : tl.marks()) {
    CHECK(mk.kind != MarkKind::priority);
    if (mk.kind == MarkKind::completed && mk.thread == high) CHECK(mk.b == 71 * kMs);
    completed += mk.kind == MarkKind::completed;
  }
  CHECK(completed == 3);
  CHECK(tl.miss_count() == 0);
  CHECK(tl.worst()[static_cast<size_t>(high)].response == 71 * kMs);
  CHECK(tl.worst()[static_cast<size_t>(high)].response_at == 71 * kMs);
  // Priorities: flat, each series starts at the thread's fixed priority.
  CHECK(tl.priorities()[static_cast<size_t>(low)].points.front().lo == 10);
  CHECK(tl.priorities()[static_cast<size_t>(high)].points.front().lo == 30);
}

TEST_CASE("timeline: a window keeps only what overlaps it, and the whole-run records stay", "[reports][unit]") {
  sim::scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  Recorded r = record(s, TimeWindow{60 * kMs, 65 * kMs});
  const Timeline& tl = *r.timeline;
  for (const ThreadSpan& x : tl.thread_spans()) CHECK((x.from < 65 * kMs && x.to > 60 * kMs));
  for (const CpuSpan& x : tl.cpu_spans()) CHECK((x.from < 65 * kMs && x.to > 60 * kMs));
  // At 60..65 ms low runs (holding m), high is blocked, medium has exited: 2 thread spans, 1 CPU span.
  CHECK(tl.thread_spans().size() == 2);
  REQUIRE(tl.cpu_spans().size() == 1);
  CHECK(tl.cpu_spans().front().from == 53 * kMs);  // spans keep their real ends; the renderer clips
  CHECK(tl.inversions().empty());                   // it ended at 53 ms
  CHECK(tl.lock_holds().size() == 1);
  CHECK(tl.worst()[2].response == 71 * kMs);        // outside the window, still known

  // An empty window (the first pass of a long run) keeps no interval at all.
  Recorded none = record(s, TimeWindow{-1, -1});
  CHECK(none.timeline->thread_spans().empty());
  CHECK(none.timeline->cpu_spans().empty());
  CHECK(none.timeline->marks().empty());
  CHECK(none.timeline->worst()[2].response == 71 * kMs);
}

TEST_CASE("timeline: inherit and xnu end high's wait at 22 ms with low promoted", "[reports][unit]") {
  for (const char* file : {"scenarios/inversion/three-threads-inherit.json", "scenarios/inversion/three-threads-xnu.json"}) {
    INFO(file);
    sim::scenario::Scenario s = load(file);
    Recorded r = record(s, TimeWindow{0, 100 * kMs});
    const Timeline& tl = *r.timeline;
    int32_t low = index_of(tl.names().threads, "low"), high = index_of(tl.names().threads, "high");
    CHECK(tl.inversions().empty());
    bool promoted = false;
    for (const auto& mk : tl.marks())
      if (mk.kind == MarkKind::priority && mk.thread == low && mk.time == 5 * kMs && mk.b > 20) promoted = true;
    CHECK(promoted);
    std::vector<ThreadSpan> hs = spans_of(tl, high);
    auto blocked = std::find_if(hs.begin(), hs.end(), [](const ThreadSpan& x) { return x.state == ThreadState::lock; });
    REQUIRE(blocked != hs.end());
    CHECK(blocked->from == 5 * kMs);
    CHECK(blocked->to == 22 * kMs);
  }
}

TEST_CASE("timeline: a long run's priority series is thinned to a bounded size", "[reports][unit]") {
  sim::scenario::Scenario s = load("scenarios/realtime/cpu-hog-decays.json");
  Recorded r = record(s, TimeWindow{0, 10 * kMs}, "", sim::core::Duration{600'000'000'000});
  for (const auto& series : r.timeline->priorities()) {
    CHECK(series.points.size() <= Timeline::kExactPriorityPoints + 1);
    if (series.thinned) CHECK(series.points.size() <= static_cast<size_t>(Timeline::kPriorityBuckets) + 1);
  }
}

TEST_CASE("timeline: --window text parses to exact bounds and refuses bad ones", "[reports][unit]") {
  TimeWindow w;
  CHECK(sim::reports::parse_window("4.2s..4.3s", w).empty());
  CHECK(w.from == 4'200'000'000);
  CHECK(w.to == 4'300'000'000);
  CHECK(sim::reports::parse_window("0..50ms", w).empty());
  CHECK((w.from == 0 && w.to == 50 * kMs));
  CHECK_FALSE(sim::reports::parse_window("50ms..10ms", w).empty());
  CHECK_FALSE(sim::reports::parse_window("10ms", w).empty());
  CHECK_FALSE(sim::reports::parse_window("x..1s", w).empty());
  CHECK_FALSE(sim::reports::parse_window("1s..1s", w).empty());
}

TEST_CASE("timeline: a full window stops with every lane closed at the same instant", "[reports][unit]") {
  sim::scenario::Scenario s = load("scenarios/inversion/three-threads-none.json");
  sim::run::Simulation sim(s, {});
  Timeline tl(sim.names(), 1, sim.duration().ns, TimeWindow{0, 100 * kMs}, 6);
  sim.add_sink(&tl);
  sim.run();
  REQUIRE(tl.truncated());
  int64_t cut = tl.truncated_at();
  CHECK(cut > 0);
  CHECK(cut < 100 * kMs);
  // Each of the three threads (all created at 0) has a state reaching the cut, none past it.
  for (int32_t t = 0; t < 3; ++t) {
    INFO(t);
    std::vector<ThreadSpan> spans = spans_of(tl, t);
    REQUIRE_FALSE(spans.empty());
    CHECK(spans.back().to == cut);
    for (const ThreadSpan& x : spans) CHECK(x.to <= cut);
  }
  for (const CpuSpan& c : tl.cpu_spans()) CHECK(c.to <= cut);
  // The cap is passed by at most the states closed at the cut (3 threads, 1 CPU).
  size_t n = tl.thread_spans().size() + tl.cpu_spans().size() + tl.lock_holds().size() + tl.inversions().size() +
             tl.marks().size() + tl.links().size();
  CHECK(n <= 6 + 4);
}
