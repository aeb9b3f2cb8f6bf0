// The bsd44 policy run by the dispatcher, against policy-facts.md 1.10 (4.4BSD-Lite2, hz = stathz
// = 100, checks 1-6) and the book's formulas (McKusick et al. 1996, ch. 4.4).
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <map>

#include "sim/policies/bsd44_policy.hpp"
#include "sim/policies/registry.hpp"
#include "sim/scenario/builder.hpp"
#include "tests/support.hpp"

using namespace testing;
using model::ThreadMode;
using policies::Bsd44Policy;

namespace {

// A bsd44 policy with the load average held (test hook), one maker per held value.
template <uint32_t L>
std::unique_ptr<policies::Policy> make_held(const policies::PolicyContext& ctx) {
  Bsd44Policy::Options o;
  o.held_ldavg = L;
  return std::make_unique<Bsd44Policy>(ctx, o);
}

// Runs `s` under bsd44 (the load held at `held` when not null) and calls `each` after every
// dispatched instant.
struct BsdRun {
  core::TraceBus bus;
  RecordingSink trace;
  scenario::World world;
  BsdRun(const scenario::Scenario& s, policies::PolicyInfo info) {
    bus.add(&trace);
    world = scenario::build_world(s, info, &bus, s.seed);
  }
  const Bsd44Policy& policy() const { return dynamic_cast<const Bsd44Policy&>(world.dispatcher->policy()); }
  int64_t now() const { return world.dispatcher->now().ns; }
  void run(const scenario::Scenario& s, std::function<void()> each = {}) {
    if (each) world.dispatcher->set_step_hook(std::move(each));
    world.dispatcher->run(core::SimTime{s.duration.ns});
  }
};

policies::PolicyInfo held_1() { return {"bsd44", "", &make_held<2048>}; }
policies::PolicyInfo held_2() { return {"bsd44", "", &make_held<4096>}; }
policies::PolicyInfo from_boot() { return *policies::find_policy("bsd44"); }

scenario::ThreadSpec hog(const std::string& id, Duration d = Duration::seconds(1000)) {
  auto t = thread(id, 31, {run_op(d)}, ThreadMode::timeshare);
  t.task = id;  // a process of its own
  return t;
}

// estcpu of thread 0 sampled at the instants k * 1 s (right after schedcpu) and k * 1 s - 10 ms.
struct Samples {
  std::map<int64_t, uint32_t> estcpu;
  std::map<int64_t, int> usrpri;
};
Samples sample_seconds(BsdRun& r, const scenario::Scenario& s, int32_t thread = 0) {
  Samples out;
  r.run(s, [&] {
    int64_t t = r.now();
    if (t % 10'000'000 != 0) return;
    out.estcpu[t / 10'000'000] = r.policy().proc(thread).estcpu;
    out.usrpri[t / 10'000'000] = r.policy().proc(thread).usrpri;
  });
  return out;
}

}  // namespace

TEST_CASE("bsd44: check 1, a hog's estcpu and p_usrpri with ldavg held at 1.0", "[policies][fidelity]") {
  // policy-facts.md 1.10 check 1: after each schedcpu (t = 1..5 s) estcpu 66, 110, 140, 160,
  // 173, p_usrpri 66, 77, 85, 90, 93; just before each 100, 166, 210, 240, 260 (75, 91, 102,
  // 110, 115); steady 198 after (99).
  auto s = scenario_of({hog("hog")}, Duration::seconds(40));
  BsdRun r(s, held_1());
  Samples m = sample_seconds(r, s);
  std::vector<uint32_t> after, before;
  std::vector<int> pri_after;
  for (int k = 1; k <= 5; ++k) {
    after.push_back(m.estcpu[k * 100]);
    pri_after.push_back(m.usrpri[k * 100]);
    before.push_back(m.estcpu[k * 100 - 1] + 1);  // the statclock at k s comes before schedcpu
  }
  CHECK(after == std::vector<uint32_t>{66, 110, 140, 160, 173});
  CHECK(pri_after == std::vector<int>{66, 77, 85, 90, 93});
  CHECK(before == std::vector<uint32_t>{100, 166, 210, 240, 260});
  CHECK(m.usrpri[99] == 74);  // estcpu 99: the last recompute was at 96 (50 + 24)
  CHECK(m.estcpu[3900] == 198);
  CHECK(m.usrpri[3900] == 99);
  CHECK(r.policy().ldavg() == 2048);  // held
  // The trace shows the priority as Mach-style sched_pri = 113 - p_priority (63 = PUSER).
  auto changes = r.trace.of(core::TraceKind::priority_changed);
  bool seen = false;
  for (const auto& e : changes)
    if (e.time.ns == 1'000'000'000 && e.b == 113 - 66) seen = true;
  CHECK(seen);
}

TEST_CASE("bsd44: check 2, ldavg held at 2.0: a lone hog, and two hogs sharing the CPU", "[policies][fidelity]") {
  // policy-facts.md 1.10 check 2: lone hog 80, 144, 195, 236, 255 (cap); two hogs 50 ticks/s
  // each: 40, 72, 97, 117, 133, p_usrpri 60, 68, 74, 79, 83.
  {
    auto s = scenario_of({hog("hog")}, Duration::seconds(6));
    BsdRun r(s, held_2());
    Samples m = sample_seconds(r, s);
    std::vector<uint32_t> after;
    for (int k = 1; k <= 5; ++k) after.push_back(m.estcpu[k * 100]);
    CHECK(after == std::vector<uint32_t>{80, 144, 195, 236, 255});
  }
  auto s = scenario_of({hog("a"), hog("b")}, Duration::seconds(6));
  for (int32_t i : {0, 1}) {
    BsdRun r(s, held_2());
    Samples m = sample_seconds(r, s, i);
    std::vector<uint32_t> after;
    std::vector<int> pri;
    for (int k = 1; k <= 5; ++k) {
      after.push_back(m.estcpu[k * 100]);
      pri.push_back(m.usrpri[k * 100]);
    }
    INFO("thread " << i);
    CHECK(after == std::vector<uint32_t>{40, 72, 97, 117, 133});
    CHECK(pri == std::vector<int>{60, 68, 74, 79, 83});
  }
}

TEST_CASE("bsd44: check 3, from boot: ldavg 0 wipes estcpu until the first loadav at 5 s", "[policies][fidelity]") {
  // policy-facts.md 1.10 check 3: estcpu 0 after each of seconds 1..5; ldavg 164 at 5 s, 314 at
  // 10 s; estcpu 13-15 in 6..10 s, ~30 in 11..15 s. Exactly (decay_cpu with lf = 2 * ldavg, the
  // ldavg of the previous 5-s sample): 13, 15, 15, 15, 15 with lf 328, then 26, 29, 30, 30, 30
  // with lf 628; ldavg 452 at 15 s.
  auto s = scenario_of({hog("hog")}, Duration::seconds(16));
  BsdRun r(s, from_boot());
  std::map<int64_t, uint32_t> ld;
  Samples m;
  r.run(s, [&] {
    int64_t t = r.now();
    if (t % 1'000'000'000 != 0) return;
    m.estcpu[t / 1'000'000'000] = r.policy().proc(0).estcpu;
    m.usrpri[t / 1'000'000'000] = r.policy().proc(0).usrpri;
    ld[t / 1'000'000'000] = r.policy().ldavg();
  });
  std::vector<uint32_t> e;
  for (int k = 1; k <= 15; ++k) e.push_back(m.estcpu[k]);
  CHECK(e == std::vector<uint32_t>{0, 0, 0, 0, 0, 13, 15, 15, 15, 15, 26, 29, 30, 30, 30});
  for (int k = 1; k <= 5; ++k) CHECK(m.usrpri[k] == 50);
  CHECK(ld[4] == 0);
  CHECK(ld[5] == 164);
  CHECK(ld[9] == 164);
  CHECK(ld[10] == 314);
  CHECK(ld[15] == 452);
}

TEST_CASE("bsd44: check 4, a sleeper wakes with S-2 decays and runs first at its sleep priority",
          "[policies][fidelity]") {
  // The sleeper hogs alone for 4 s + 1 ms (estcpu 160 after the schedcpu at 4 s, check 1's
  // sequence), sleeps 3 s across the schedcpus at 5 (slptime 1: decayed to 106), 6 and 7 s
  // (slptime 2, 3: skipped), and wakes at 7.001 s: updatepri decays once more (S - 2 = 1) to
  // 70, p_usrpri 67 (policy-facts 1.5 and 1.10 check 4: 2 decays in all for 3 s asleep). A hog
  // started at 5 s runs meanwhile; wakeup's need_resched makes the sleeper run at once at
  // PWAIT (shown 63), and it returns to user mode at p_usrpri 67 (shown 46).
  auto sleeper = thread("sleeper", 31, {run_op(ms(4001)), sleep_op(ms(3000)), run_op(ms(50))}, ThreadMode::timeshare);
  sleeper.task = "sleeper";
  auto h = hog("hog");
  h.start = Duration::seconds(5);
  auto s = scenario_of({sleeper, h}, ms(7200));
  BsdRun r(s, held_1());
  uint32_t at_wake = 0;
  int pri_at_wake = 0;
  r.run(s, [&] {
    if (r.now() == 7'001'000'000) {
      at_wake = r.policy().proc(0).estcpu;
      pri_at_wake = r.policy().proc(0).usrpri;
    }
  });
  CHECK(at_wake == 70);
  CHECK(pri_at_wake == 67);
  std::vector<std::string> sw;
  for (const auto& e : r.trace.of(core::TraceKind::switched))
    if (e.time.ns >= 7'000'000'000) sw.push_back(std::to_string(e.time.ns / 1000) + " " + std::to_string(e.thread) + "->" + std::to_string(e.other));
  REQUIRE_FALSE(sw.empty());
  CHECK(sw[0] == "7001000 1->0");
  std::vector<std::pair<int64_t, int64_t>> pri;
  for (const auto& e : r.trace.of(core::TraceKind::priority_changed))
    if (e.thread == 0 && e.time.ns == 7'001'000'000) pri.emplace_back(e.a, e.b);
  // At the wakeup the shown priority goes to PWAIT's (63), at the dispatch to p_usrpri's.
  REQUIRE(pri.size() == 2);
  CHECK(pri[0].second == 63);
  CHECK(pri[1].second == 113 - 67);
}

TEST_CASE("bsd44: check 5, a running thread's priority steps every 4 ticks (40 ms of CPU)", "[policies][fidelity]") {
  // policy-facts.md 1.2, 1.10 check 5: resetpriority every 4th estcpu increment.
  auto s = scenario_of({hog("hog")}, ms(990));
  BsdRun r(s, held_1());
  r.run(s);
  std::vector<int64_t> times;
  std::vector<int64_t> pris;
  for (const auto& e : r.trace.of(core::TraceKind::priority_changed)) {
    times.push_back(e.time.ns / 1'000'000);
    pris.push_back(e.b);
  }
  std::vector<int64_t> want_t, want_p;
  for (int k = 1; k * 40 < 990; ++k) {
    want_t.push_back(k * 40);
    want_p.push_back(113 - (50 + k));
  }
  CHECK(times == want_t);
  CHECK(pris == want_p);
}

TEST_CASE("bsd44: check 6, two equal hogs alternate every 100 ms (roundrobin)", "[policies][fidelity]") {
  auto s = scenario_of({hog("a"), hog("b")}, Duration::seconds(3));
  for (auto info : {from_boot(), held_1()}) {
    BsdRun r(s, info);
    r.run(s);
    std::vector<int64_t> times;
    for (const auto& e : r.trace.of(core::TraceKind::switched)) times.push_back(e.time.ns / 1'000'000);
    std::vector<int64_t> want{0};
    for (int k = 1; k < 30; ++k) want.push_back(k * 100);
    CHECK(times == want);
  }
}

TEST_CASE("bsd44: fixed and real-time threads rank above every timeshare thread, by Mach priority",
          "[policies][unit]") {
  // A fixed thread at 10 (below every timeshare thread under xnu) still preempts a fresh
  // timeshare hog at once: BSD's kernel priorities are above every user priority.
  auto fixed_low = thread("low", 10, {run_op(ms(20))}, ThreadMode::fixed);
  fixed_low.start = ms(5);
  auto s = scenario_of({hog("hog"), fixed_low}, ms(100));
  Run r = run(s, "bsd44");
  CHECK(r.thread("low").response_ns.max == 20'000'000);
  CHECK(r.thread("hog").cpu_time_ns == 80'000'000);
}

TEST_CASE("bsd44: nice raises p_usrpri by 2 per step and is added to estcpu each second", "[policies][fidelity]") {
  // resetpriority: p_usrpri = PUSER + estcpu/4 + 2*nice; schedcpu adds nice after the decay.
  auto h = hog("hog");
  h.nice = 5;
  auto s = scenario_of({h}, ms(1500));
  BsdRun r(s, held_1());
  Samples m = sample_seconds(r, s);
  CHECK(m.usrpri[1] == 60);           // estcpu 0 at the first tick
  CHECK(m.estcpu[100] == 66 + 5);     // decay_cpu(4096, 100) + nice
  CHECK(m.usrpri[100] == 50 + 71 / 4 + 10);
}

TEST_CASE("bsd44: on 2 CPUs a wakeup's need_resched goes to the CPU running the worst priority",
          "[policies][fidelity]") {
  // policy-facts.md 1.9: one global queue structure, need_resched targets the CPU running the
  // worst priority. Hog a (nice 0, p_usrpri 50) and hog b (nice 10, p_usrpri 70) keep both CPUs;
  // the sleeper wakes at 50 ms at PWAIT and displaces b, wherever b runs.
  auto a = hog("a");
  auto b = hog("b");
  b.nice = 10;
  auto sl = thread("s", 31, {sleep_op(ms(50)), run_op(ms(10))}, ThreadMode::timeshare);
  sl.task = "s";
  auto s = scenario_of({a, b, sl}, ms(100), 2);
  Run r = run(s, "bsd44");
  int b_cpu = -1;
  std::vector<std::string> at50;
  for (const auto& e : r.trace.of(core::TraceKind::switched)) {
    if (e.time.ns < 50'000'000 && e.other == 1) b_cpu = e.cpu;
    if (e.time.ns == 50'000'000) at50.push_back(std::to_string(e.cpu) + " " + std::to_string(e.thread) + "->" + std::to_string(e.other));
  }
  REQUIRE(b_cpu >= 0);
  CHECK(at50 == std::vector<std::string>{std::to_string(b_cpu) + " 1->2"});
  CHECK(r.thread("s").response_ns.max == 60'000'000);
  CHECK(r.thread("a").cpu_time_ns == 100'000'000);  // a is never displaced
}

TEST_CASE("bsd44: every bundled scenario runs to its end, twice with byte-identical JSON", "[policies][property]") {
  namespace fs = std::filesystem;
  std::vector<fs::path> files = testing::bundled_scenario_files();
  REQUIRE(files.size() >= 10);
  for (const fs::path& f : files) {
    INFO(f.string());
    scenario::LoadResult lr = scenario::load_scenario_file(f.string());
    REQUIRE(lr.scenario);
    sim::run::Options o;
    o.policy = "bsd44";
    RunOutput a = testing::run_scenario(*lr.scenario, o);
    RunOutput b = testing::run_scenario(*lr.scenario, o);
    CHECK(a.json.dump() == b.json.dump());
    bool wants_panic = f.stem().string().ends_with("-panic");
    CHECK(a.results.system.panics.empty() != wants_panic);
  }
}
