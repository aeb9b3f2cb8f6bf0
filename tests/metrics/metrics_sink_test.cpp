// MetricsSink and Simulation after the world is gone (issue 13, memory per thread): the
// Simulation frees its threads after the run and the sink makes its results from the copy of the
// identities it kept; the results must be exactly what they were while the threads existed.
#include <catch2/catch.hpp>

#include "sim/metrics/metrics_sink.hpp"
#include "sim/run/simulation.hpp"
#include "tests/support.hpp"

using namespace testing;
using core::TraceEvent;
using core::TraceKind;

TEST_CASE("metrics: results made from the kept identities equal those made from the live threads", "[metrics]") {
  std::vector<model::Thread> ts(2);
  // Names longer than a short-string buffer, so a dangling copy would show.
  ts[0].name = "a-thread-name-well-beyond-sso-length";
  ts[0].task = "a-task-name-well-beyond-sso-length";
  ts[0].declared_mode = model::ThreadMode::realtime;
  ts[0].base_pri = ts[0].sched_pri = 80;
  ts[1].name = "k";
  ts[1].task = "kernel_task";
  ts[1].declared_mode = model::ThreadMode::fixed;
  ts[1].kernel = true;
  ts[1].base_pri = ts[1].sched_pri = 81;
  metrics::MetricsSink m(ts, 1);
  auto at = [](int64_t ns) { return core::SimTime{ns}; };
  // Thread 0 runs [0, 10), thread 1 preempts it and runs [10, 25), thread 0 again [25, 30).
  m.on_event(TraceEvent{at(0), TraceKind::switched, 0, 0, -1, 0, 0, 80});
  m.on_event(TraceEvent{at(10), TraceKind::switched, static_cast<uint8_t>(core::SwitchReason::preempt), 0, 0, 1, 0, 81});
  m.on_event(TraceEvent{at(25), TraceKind::switched, 0, 0, 1, 0, 0, 80});
  m.finish(at(30));
  metrics::Results live = m.results();
  m.keep_thread_identities();
  ts[0].name = ts[0].task = "overwritten";
  ts.clear();
  ts.shrink_to_fit();
  metrics::Results kept = m.results();
  REQUIRE(kept.threads.size() == 2);
  CHECK(kept.threads[0].id == "a-thread-name-well-beyond-sso-length");
  CHECK(kept.threads[0].task == "a-task-name-well-beyond-sso-length");
  CHECK(kept.threads[0].mode == "realtime");
  CHECK_FALSE(kept.threads[0].kernel);
  CHECK(kept.threads[0].base_priority == 80);
  CHECK(kept.threads[0].cpu_time_ns == 15);  // [0, 10) + [25, 30)
  CHECK(kept.threads[0].preemptions == 1);
  CHECK(kept.threads[0].context_switches == 2);
  CHECK(kept.threads[1].id == "k");
  CHECK(kept.threads[1].task == "kernel_task");
  CHECK(kept.threads[1].mode == "fixed");
  CHECK(kept.threads[1].kernel);
  CHECK(kept.threads[1].cpu_time_ns == 15);  // [10, 25)
  CHECK(kept.threads[1].min_sched_pri == 81);
  CHECK(kept.threads[1].max_sched_pri == 81);
  for (size_t i = 0; i < 2; ++i) {
    INFO("thread " << i);
    const metrics::ThreadResult& a = live.threads[i];
    const metrics::ThreadResult& b = kept.threads[i];
    CHECK(a.id == b.id);
    CHECK(a.task == b.task);
    CHECK(a.mode == b.mode);
    CHECK(a.kernel == b.kernel);
    CHECK(a.cpu_time_ns == b.cpu_time_ns);
    CHECK(a.preemptions == b.preemptions);
    CHECK(a.context_switches == b.context_switches);
    CHECK(a.created_ns == b.created_ns);
    CHECK(a.ended_ns == b.ended_ns);
  }
}

TEST_CASE("run: names() outlives the world a run frees, and a second Simulation of the scenario gives the same results",
          "[metrics]") {
  scenario::Scenario s = load_bundled("scenarios/basics/bench-10.json");
  sim::run::Simulation simulation(s);
  sim::run::Results a = simulation.run();
  // bench-10's ten threads, t1 .. t10, in file order.
  REQUIRE(simulation.names().threads.size() >= 10);
  CHECK(simulation.names().threads[0] == "t1");
  CHECK(simulation.names().threads[9] == "t10");
  sim::run::Results b = sim::run::run_scenario(s);
  REQUIRE(a.threads.size() == b.threads.size());
  CHECK(a.threads[0].id == "t1");
  CHECK(a.system.events == b.system.events);
  for (size_t i = 0; i < a.threads.size(); ++i) {
    INFO(a.threads[i].id);
    CHECK(a.threads[i].id == b.threads[i].id);
    CHECK(a.threads[i].jobs == b.threads[i].jobs);
    CHECK(a.threads[i].response_ns.max == b.threads[i].response_ns.max);
  }
  // bench-10's worst responses (its description: response-time analysis): t1 1 ms, t10 197 ms.
  CHECK(a.threads[0].response_ns.max == 1'000'000);
  CHECK(a.threads[9].response_ns.max == 197'000'000);
}
