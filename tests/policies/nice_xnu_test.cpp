// The scenario key `nice` and what it does under `xnu` (policy-facts.md section 4; the same code
// in xnu-517.12.7 and xnu-792.25.20: bsd/kern/kern_synch.c resetpriority, osfmk/kern/
// task_policy.c task_importance and task_priority, osfmk/kern/thread_policy.c
// thread_recompute_priority).
#include <catch2/catch.hpp>

#include "sim/policies/xnu_policy.hpp"
#include "tests/support.hpp"

using namespace testing;
using model::ThreadMode;

namespace {

// Base priorities the xnu policy's constructor leaves, for threads built in code.
std::vector<int> bases_after_construction(std::vector<model::Thread> threads, scenario::XnuRelease rel,
                                          std::vector<int>* declared = nullptr) {
  size_t n = threads.size();
  for (size_t i = 0; i < n; ++i) threads[i].index = static_cast<int32_t>(i);
  policies::PolicyContext ctx;
  ctx.machine.release = rel == scenario::XnuRelease::r792 ? model::Release::xnu792 : model::Release::xnu517;
  ctx.threads = &threads;
  policies::XnuPolicy policy(ctx);
  std::vector<int> out;
  REQUIRE(threads.size() == n + 1);  // the policy added its tick thread (fixed at 95, no nice)
  CHECK(threads.back().base_pri == 95);
  threads.pop_back();
  for (const model::Thread& t : threads) {
    out.push_back(t.base_pri);
    if (declared) declared->push_back(t.declared_base_pri);
  }
  return out;
}

model::Thread user(int pri, int nice, ThreadMode mode = ThreadMode::timeshare) {
  model::Thread t;
  t.base_pri = t.declared_base_pri = t.sched_pri = pri;
  t.mode = t.declared_mode = mode;
  t.nice = nice;
  return t;
}

const char* kTwoTasks = R"({
  "format": "xnusim-scenario", "version": 1, "duration": "1s",
  "threads": [
    {"id": "bg", "task": "batch", "nice": 10, "program": [{"op": "run", "for": "1ms"}]},
    {"id": "bg2", "task": "batch", "nice": 10, "program": [{"op": "run", "for": "1ms"}]},
    {"id": "fg", "task": "editor", "nice": -5, "program": [{"op": "run", "for": "1ms"}]},
    {"id": "plain", "task": "other", "program": [{"op": "run", "for": "1ms"}]},
    {"id": "loop", "kernel": true, "task": "batch", "program": [{"op": "run", "for": "1ms"}]}
  ]
})";

}  // namespace

TEST_CASE("nice: the loader reads it per thread, absent means 0, and the builder copies it", "[policies][unit]") {
  scenario::Scenario s = load_text(kTwoTasks);
  REQUIRE(s.threads.size() == 5);
  CHECK(s.threads[0].nice == std::optional<int>(10));
  CHECK(s.threads[2].nice == std::optional<int>(-5));
  CHECK_FALSE(s.threads[3].nice.has_value());
  // A kernel thread named into a user task's name is in kernel_task: not compared, nice 0.
  CHECK_FALSE(s.threads[4].nice.has_value());
  Run r = run(s, "xnu");
  CHECK(r.thread("bg").min_sched_pri == 21);
  CHECK(r.thread("fg").min_sched_pri == 36);
  CHECK(r.thread("plain").min_sched_pri == 31);
  CHECK(r.thread("loop").min_sched_pri == 81);
}

TEST_CASE("nice: under xnu a timeshare thread's base becomes 31 - nice (policy-facts 4), in 517 and 792",
          "[policies][fidelity]") {
  // policy-facts.md 4: task_importance(task, -nice) -> task_priority(task, 31 - nice, 63) ->
  // base = clamp(importance + task_priority, 0, 63), importance = declared - 31 = 0 here.
  // xnu-517.12.7 has the same resetpriority, task_importance, task_priority and
  // thread_recompute_priority as 792 (read for this test), so both releases agree.
  for (auto rel : {scenario::XnuRelease::r792, scenario::XnuRelease::r517}) {
    auto b = bases_after_construction({user(31, 10), user(31, -5), user(31, 0), user(31, 19), user(31, -20)}, rel);
    CHECK(b == std::vector<int>{21, 36, 31, 12, 51});
  }
}

TEST_CASE("nice: under xnu importance is kept and the result clamped to [0, 63]; RT and kernel threads keep "
          "their priority",
          "[policies][unit]") {
  std::vector<int> declared;
  model::Thread kernel = user(81, 5, ThreadMode::fixed);
  kernel.kernel = true;
  model::Thread rt = user(97, 10, ThreadMode::realtime);
  rt.declared_base_pri = 31;  // as the builder leaves a real-time thread
  auto b = bases_after_construction(
      {user(40, 10, ThreadMode::fixed),  // importance 9 + task 21 = 30
       user(60, -10),                    // 29 + 41 = 70 -> max_priority 63
       user(5, 19),                      // -26 + 12 = -14 -> MINPRI 0
       rt, kernel},
      scenario::XnuRelease::r792, &declared);
  CHECK(b == std::vector<int>{30, 63, 0, 97, 81});
  // thread_recompute_priority gives an RT thread 97 whatever its task; the niced base is what it
  // gets if a set_mode takes it out of real time (importance 0 + 21).
  CHECK(declared[3] == 21);
  CHECK(declared[4] == 81);
}

TEST_CASE("nice: under xnu the timeshare decay works from the niced base (xnu-facts 3.1)", "[policies][fidelity]") {
  // Two spinners of one task on one CPU, 792: decay needs nshared (2) > ncpus (1); load 2 gives
  // pri_shift = 23 - 1 = 22 from the first tick (125 ms). The usage penalty does not depend on
  // the base, so the trajectory under nice 10 is the nice-0 one moved down by 10 until the
  // niced one reaches the floor 0 (MINPRI_USER).
  auto make = [](int nice) {
    std::vector<scenario::ThreadSpec> ts;
    for (int i = 0; i < 2; ++i) {
      ts.push_back(thread("s" + std::to_string(i), 31, {run_op(Duration::seconds(100))}, ThreadMode::timeshare));
      ts.back().task = "app";
      if (nice != 0) ts.back().nice = nice;
    }
    auto s = scenario_of(std::move(ts), ms(1000));
    s.machine.xnu = scenario::XnuRelease::r792;
    return s;
  };
  Run plain = run(make(0), "xnu");
  Run niced = run(make(10), "xnu");
  auto a = plain.trace.of(core::TraceKind::priority_changed);
  auto b = niced.trace.of(core::TraceKind::priority_changed);
  size_t unclamped = 0;
  while (unclamped < a.size() && a[unclamped].b >= 10) ++unclamped;
  REQUIRE(unclamped >= 10);
  REQUIRE(b.size() >= unclamped);
  for (size_t i = 0; i < unclamped; ++i) {
    INFO(i);
    CHECK(b[i].time == a[i].time);
    CHECK(b[i].thread == a[i].thread);
    CHECK(b[i].b == a[i].b - 10);
  }
  // The first decay: s0 runs [120, 130) ms round robin, the tick at 125 ms sets pri_shift 22;
  // at its quantum expiry (130 ms) update_priority adds its 10 ms not yet sampled and decays
  // once: 10,000,000 * 5/8 = 6,250,000 (u>>1 + u>>3), >> 22 = 1: sched_pri 21 - 1 = 20.
  REQUIRE_FALSE(b.empty());
  CHECK(b[0].time.ns == 130'000'000);
  CHECK(b[0].thread == 0);
  CHECK(b[0].a == 21);
  CHECK(b[0].b == 20);
  CHECK(niced.thread("s0").max_sched_pri == 21);
}

TEST_CASE("nice: fixed ignores it", "[policies][unit]") {
  scenario::Scenario s = load_text(kTwoTasks);
  Run r = run(s, "fixed");
  CHECK(r.thread("bg").min_sched_pri == 31);
  CHECK(r.thread("fg").max_sched_pri == 31);
}
