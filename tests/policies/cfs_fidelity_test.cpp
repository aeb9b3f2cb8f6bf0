// Fidelity checks of the `cfs` policy against policy-facts.md 2.7 (Linux 6.5 CFS, 1 CPU,
// factor 1, checks 1-6), run through the dispatcher. CPU time is measured from the switch
// events, independently of the policy's own accounting.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <random>

#include "sim/dispatcher/dispatcher.hpp"
#include "sim/policies/cfs_policy.hpp"
#include "tests/support.hpp"

using namespace testing;
using core::SimTime;
using policies::CfsPolicy;

namespace {

struct Spec {
  std::string name;
  int nice = 0;
  std::vector<model::Op> program;
  Duration start{};
  int cpu = -1;  // bound CPU, -1 for none
};

std::unique_ptr<policies::Policy> make_hz250(const policies::PolicyContext& c) {
  return std::make_unique<CfsPolicy>(c, 250);
}

// A world of timeshare threads under cfs, built directly (the scenario has no `nice` key yet).
struct CfsRun {
  std::vector<Spec> specs;
  core::TraceBus bus;
  RecordingSink rec;
  std::unique_ptr<dispatcher::Dispatcher> d;
  SimTime end;

  CfsRun(std::vector<Spec> s, Duration duration, int hz = 1000, int cpus = 1) : specs(std::move(s)) {
    std::vector<model::Thread> threads(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      model::Thread& t = threads[i];
      t.index = static_cast<int32_t>(i);
      t.name = specs[i].name;
      t.program = &specs[i].program;
      t.start = SimTime{specs[i].start.ns};
      t.nice = specs[i].nice;
      t.bound_cpu = specs[i].cpu;
      t.rng = core::Rng(1, i);
    }
    model::MachineConfig m;
    m.cpus = cpus;
    bus.add(&rec);
    d = std::make_unique<dispatcher::Dispatcher>(m, std::move(threads), hz == 250 ? &make_hz250 : &CfsPolicy::make,
                                                 &bus);
    end = SimTime{duration.ns};
    d->run(end);
  }

  const CfsPolicy& cfs() const { return static_cast<const CfsPolicy&>(d->policy()); }

  // CPU time of every thread from the switch events (no switch costs here).
  std::vector<int64_t> cpu_time() const {
    std::vector<int64_t> out(specs.size(), 0);
    std::map<int, std::pair<int32_t, int64_t>> on;  // cpu -> (thread, since)
    for (const auto& e : rec.of(core::TraceKind::switched)) {
      auto it = on.find(e.cpu);
      if (it != on.end() && it->second.first >= 0) out[static_cast<size_t>(it->second.first)] += e.time.ns - it->second.second;
      on[e.cpu] = {e.other, e.time.ns};
    }
    for (const auto& [cpu, p] : on)
      if (p.first >= 0) out[static_cast<size_t>(p.first)] += end.ns - p.second;
    return out;
  }

  // "time_us prev->next" for every switch.
  std::vector<std::string> switches() const {
    std::vector<std::string> out;
    auto name = [&](int32_t i) { return i < 0 ? std::string("idle") : specs[static_cast<size_t>(i)].name; };
    for (const auto& e : rec.of(core::TraceKind::switched))
      out.push_back(std::to_string(e.time.ns / 1000) + "us " + name(e.thread) + "->" + name(e.other));
    return out;
  }
};

Spec spinner(std::string name, int nice = 0, Duration start = {}) {
  return Spec{std::move(name), nice, {run_op(Duration::seconds(1000))}, start};
}

}  // namespace

TEST_CASE("cfs: check 1, two nice-0 spinners at HZ 1000 switch every 3 ticks", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 1: the slice of each is 2,999,998 ns, so the tick at 3 ms is the
  // first with delta_exec > ideal_runtime (with an exact 3 ms it would be the 4th tick).
  // Both are there when the run begins: placed at min_vruntime (0) in scenario order, so `a` runs
  // first.
  CfsRun r({spinner("a"), spinner("b")}, ms(20));
  CHECK(r.switches() == std::vector<std::string>{"0us idle->a", "3000us a->b", "6000us b->a",
                                                  "9000us a->b", "12000us b->a", "15000us a->b", "18000us b->a"});
  CHECK(r.cfs().tunables().latency == 6'000'000);
  CHECK(r.cfs().hz() == 1000);
}

TEST_CASE("cfs: check 1, N nice-0 spinners run slices of ceil(slice / tick) ticks", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 1 slices: N=3 1,999,999 ns -> 2 ticks; N=4 1,499,998 -> 2 ticks;
  // N=5 1,199,998 -> 2 ticks; N=9 750,000 (BASE_SLICE floor) -> 1 tick. In steady state every
  // thread runs that many ticks in turn.
  for (auto [n, ticks] : std::vector<std::pair<int, int64_t>>{{3, 2}, {4, 2}, {5, 2}, {9, 1}}) {
    std::vector<Spec> specs;
    for (int i = 0; i < n; ++i) specs.push_back(spinner("s" + std::to_string(i)));
    CfsRun r(std::move(specs), ms(200));
    auto sw = r.rec.of(core::TraceKind::switched);
    INFO("N = " << n);
    REQUIRE(sw.size() > 20);
    for (size_t i = sw.size() - 10; i < sw.size(); ++i) CHECK(sw[i].time.ns - sw[i - 1].time.ns == ticks * 1'000'000);
  }
}

TEST_CASE("cfs: check 2, nice 0 against nice 5 share the CPU 1024 : 335", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 2: 75.35 % / 24.65 %, the model's 10 s: 7.535 s / 2.465 s, at HZ
  // 1000 and 250. The issue asks for 1 %; the simulator gives the figures below exactly.
  for (int hz : {1000, 250}) {
    CfsRun r({spinner("n0", 0), spinner("n5", 5)}, Duration::seconds(10), hz);
    auto t = r.cpu_time();
    std::printf("cfs check 2 (HZ %d): nice 0 %lld ns, nice 5 %lld ns, share %.4f %%\n", hz,
                static_cast<long long>(t[0]), static_cast<long long>(t[1]), 100.0 * static_cast<double>(t[0]) / 1e10);
    INFO("HZ " << hz);
    CHECK(t[0] + t[1] == 10'000'000'000);
    CHECK(std::abs(static_cast<double>(t[0]) - 7.535e9) < 0.01 * 7.535e9);
    CHECK(std::abs(static_cast<double>(t[1]) - 2.465e9) < 0.01 * 2.465e9);
    CHECK(std::abs(static_cast<double>(t[0]) / 1e10 - 1024.0 / 1359.0) < 0.001);
  }
}

TEST_CASE("cfs: check 3, three nice-0 spinners get 1.000 s each in 3 s", "[policies][fidelity]") {
  // policy-facts.md 2.7 check 3, at HZ 1000 and 250.
  for (int hz : {1000, 250}) {
    CfsRun r({spinner("a"), spinner("b"), spinner("c")}, Duration::seconds(3), hz);
    auto t = r.cpu_time();
    INFO("HZ " << hz << ": " << t[0] << " " << t[1] << " " << t[2]);
    for (int64_t x : t) CHECK(x == 1'000'000'000);
  }
}

TEST_CASE("cfs: check 4, a long sleeper preempts at once and runs to the tick 3.5 ms later",
          "[policies][fidelity]") {
  // policy-facts.md 2.7 check 4: it wakes at 1000.5 ms placed at min_vruntime - 3 ms; vdiff
  // 3 ms > gran 1 ms: it preempts with no delay and runs until the tick at 1004 ms (delta_exec
  // 3.5 ms > slice 2,999,998), then the two alternate every 3 ms.
  model::Op nap = sleep_op(Duration::nanoseconds(1'000'500'000));
  // (Both are there from the start, placed at min_vruntime in scenario order: the sleeper is
  // declared first, so it runs first and naps at 0.)
  CfsRun r({Spec{"sleeper", 0, {nap, run_op(ms(100))}, {}}, spinner("spin")}, ms(1013));
  auto sw = r.switches();
  std::vector<std::string> tail(sw.end() - 4, sw.end());
  CHECK(tail == std::vector<std::string>{"1000500us spin->sleeper", "1004000us sleeper->spin", "1007000us spin->sleeper",
                                         "1010000us sleeper->spin"});
  auto woke = r.rec.of(core::TraceKind::woke);
  REQUIRE(woke.size() == 3);  // two starts and the wakeup
  CHECK(woke[2].time.ns == 1'000'500'000);
}

TEST_CASE("cfs: check 4 on 2 CPUs' tunables: 6 ms of credit, 2 ms granularity, 6 ms slices",
          "[policies][fidelity]") {
  // policy-facts.md 2.1 and 2.7 check 4 (last sentence): on 2 CPUs the factor is 1 + ilog2(2) = 2,
  // so latency 12 ms, min_granularity 1.5 ms, wakeup_granularity 2 ms. Both threads are bound to
  // cpu0 of a 2-CPU machine. The sleeper wakes at 1000.5 ms placed at min_vruntime - 6 ms: vdiff
  // 6 ms > 2 ms, so it preempts at once. Two runnable: slice = 12 ms x 1024/2048 = 5,999,998 ns,
  // so it runs until the first tick with delta_exec > 5,999,998: 1007 ms (6.5 ms). It is then
  // 0.5 ms right of the spinner, which runs a full slice (1007 -> 1013 ms), and so on.
  model::Op nap = sleep_op(Duration::nanoseconds(1'000'500'000));
  Spec sleeper{"sleeper", 0, {nap, run_op(ms(100))}, {}, 0};
  Spec spin = spinner("spin");
  spin.cpu = 0;
  CfsRun r({sleeper, spin}, ms(1020), 1000, 2);
  CHECK(r.cfs().tunables().latency == 12'000'000);
  CHECK(r.cfs().tunables().wakeup_granularity == 2'000'000);
  auto sw = r.switches();
  std::vector<std::string> tail(sw.end() - 4, sw.end());
  CHECK(tail == std::vector<std::string>{"1000500us spin->sleeper", "1007000us sleeper->spin", "1013000us spin->sleeper",
                                         "1019000us sleeper->spin"});
}

TEST_CASE("cfs: check 5, a wakee less than the wakeup granularity behind curr does not preempt",
          "[policies][fidelity]") {
  // policy-facts.md 2.7 check 5. `a` starts alone at 0 (vruntime 5,999,998: START_DEBIT with
  // nr 1); `b` starts at 1 ms at min_vruntime + 2,999,998 = 9,999,996 and does not preempt. At
  // the 3 ms tick a has used its slice but is still left of b: picked again (no switch); at 6 ms its slice is
  // used and b runs 6 -> 7.5 ms (vruntime 11,499,996 against a's 11,999,998), sleeps 0.25 ms and
  // wakes at 7.75 ms 750,002 ns behind a (a ran 0.25 ms): < 1 ms, no preemption. a then runs on
  // until the tick at which it leads b by more than its slice: at 10 ms, 3,000,002 > 2,999,998.
  Spec b{"b", 0, {run_op(us(1500)), sleep_op(us(250)), run_op(ms(100))}, ms(1)};
  CfsRun r({spinner("a"), b}, ms(10) + us(1));
  CHECK(r.switches() == std::vector<std::string>{"0us idle->a", "6000us a->b", "7500us b->a",
                                                  "10000us a->b"});
}

TEST_CASE("cfs: check 6, a nice-5 long sleeper does not preempt a nice-0 spinner at wakeup",
          "[policies][fidelity]") {
  // policy-facts.md 2.7 check 6: gran = calc_delta_fair(1 ms, nice 5) = 3,056,716 ns > the 3 ms
  // credit; it waits for the spinner's next tick (1001 ms), where the spinner, alone until then,
  // has run past its slice.
  model::Op nap = sleep_op(Duration::nanoseconds(1'000'500'000));
  CfsRun r({Spec{"sleeper", 5, {nap, run_op(ms(100))}, {}}, spinner("spin")}, ms(1002));
  auto sw = r.switches();
  CHECK(sw.back() == "1001000us spin->sleeper");
  CHECK(std::find(sw.begin(), sw.end(), "1000500us spin->sleeper") == sw.end());
}

TEST_CASE("cfs: random workloads on 1-4 CPUs keep the policy's queues consistent", "[policies][property]") {
  // Timeshare threads of random nice, fixed and realtime threads, bound threads, sleeps, yields
  // and swtch_pri: after every dispatch pass every runnable thread is in exactly one queue (or
  // runs, or is handed), loads add up, and no pick is left pending.
  std::mt19937_64 rng(20261202);
  auto in = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 60; ++i) {
    std::vector<scenario::ThreadSpec> ts;
    int cpus = static_cast<int>(in(1, 4));
    int n = static_cast<int>(in(2, 12));
    for (int k = 0; k < n; ++k) {
      std::vector<model::Op> body = {run_op(us(in(50, 5000)))};
      int64_t what = in(0, 3);
      if (what == 0) body.push_back(sleep_op(us(in(10, 8000))));
      if (what == 1) body.push_back(simple_op(model::OpKind::yield));
      if (what == 2) body.push_back(simple_op(model::OpKind::swtch_pri));
      int64_t mode = in(0, 5);
      auto spec = thread("t" + std::to_string(k), static_cast<int>(in(10, 60)), {loop_op(body)},
                         mode == 0 ? model::ThreadMode::fixed : model::ThreadMode::timeshare);
      spec.start = us(in(0, 3000));
      if (in(0, 5) == 0) spec.cpu = static_cast<int>(in(0, cpus - 1));
      ts.push_back(std::move(spec));
    }
    auto s = scenario_of(std::move(ts), ms(200), cpus);
    sim::run::Options o;
    o.policy = "cfs";
    std::string broken;
    o.step_hook = [&](const dispatcher::Dispatcher& d) {
      if (!broken.empty()) return;
      broken = static_cast<const CfsPolicy&>(d.policy()).check_invariants();
      if (!broken.empty()) broken += " at " + std::to_string(d.now().ns) + " ns";
    };
    testing::run_scenario(s, o);
    INFO("workload " << i << " on " << cpus << " CPUs");
    CHECK(broken.empty());
    if (!broken.empty()) FAIL(broken);
  }
}
