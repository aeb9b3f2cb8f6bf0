// Fidelity: the xnu-792 mutex promotion rules, xnu-facts.md section 7 and check 13
// (osfmk/kern/locks.c lck_mtx_lock_wait, lck_mtx_lock_acquire, lck_mtx_unlock_wakeup).
#include <catch2/catch.hpp>

#include "sim/policies/fixed_policy.hpp"
#include "sim/policies/xnu_policy.hpp"
#include "tests/sync/sync_support.hpp"

using namespace testing;
using model::ThreadMode;

namespace {

scenario::ThreadSpec rt_thread(std::string id, std::vector<model::Op> program) {
  scenario::ThreadSpec t = thread(std::move(id), 0, std::move(program), ThreadMode::realtime);
  t.realtime = model::RealtimeParams{ms(10), ms(2), ms(5), true};
  return t;
}

// One CPU, xnu-792, xnu policy: `holder` (timeshare, base 31) holds m 0..5 ms, then computes
// 1 ms more; the other threads are given.
scenario::Scenario with_holder(std::vector<scenario::ThreadSpec> others, scenario::ThreadSpec holder) {
  std::vector<scenario::ThreadSpec> ts = {std::move(holder)};
  for (auto& o : others) ts.push_back(std::move(o));
  auto s = scenario_of(std::move(ts), ms(20));
  s.machine.xnu = scenario::XnuRelease::r792;
  s.locks.push_back(mutex("m"));
  return s;
}

scenario::ThreadSpec timeshare_holder() {
  return thread("holder", 31, {lock_op(0), run_op(ms(5)), unlock_op(0), run_op(ms(1))}, ThreadMode::timeshare);
}

// Gives the holder a usage that decays it to sched_pri 20 at base 31 (792: usage >> pri_shift
// = 11), as a CPU-bound timeshare thread would have.
void decayed_to_20(dispatcher::Dispatcher& d) {
  model::Thread& h = d.thread(0);
  auto& decay = dynamic_cast<policies::XnuPolicy&>(d.policy_for_tests()).decay(0);
  decay.pri_shift = 20;
  decay.sched_usage = uint64_t{11} << 20;
  h.sched_pri = 20;
}

}  // namespace

TEST_CASE("xnu promotion: check 13, a real-time waiter raises a decayed holder to 80", "[sync][fidelity]") {
  // w = max(sched_pri 97, base 97) clamped to [31, 80] = 80 > record 0 and > 20.
  auto s = with_holder({rt_thread("rt", {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       timeshare_holder());
  SyncRun r(s, "xnu", decayed_to_20);
  CHECK(r.of(core::TraceKind::created, "holder").at(0).b == 20);
  // Unlock with a waiter: the last promotion goes, the policy recomputes (20 again: usage is
  // unchanged, no quantum expired), and the first waiter is woken.
  CHECK(r.priorities("holder") == std::vector<std::string>{"1000us:20->80", "5000us:80->20"});
  CHECK(r.sync().locks()[0].pri == 0);  // rt acquired with no waiters left: the record cleared
  auto woke = r.of(core::TraceKind::woke, "rt");
  REQUIRE(woke.size() == 3);  // start, its sleep, the unlock
  CHECK(woke[2].time.ns == 5'000'000);
  CHECK(woke[2].reason == static_cast<uint8_t>(core::WakeReason::lock));
  CHECK(r.d().threads()[0].promotions == 0);
  CHECK(r.d().threads()[0].promoted_pri == -1);
}

TEST_CASE("xnu promotion: check 13, a waiter at 10 still raises the holder to 31", "[sync][fidelity]") {
  // The waiter's value is clamped up to BASEPRI_DEFAULT: a thread at 10 promotes to 31.
  auto s = with_holder({thread("low", 10, {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       timeshare_holder());
  // The holder must be below the waiter for the waiter to run at 1 ms: decay it further, to 8.
  SyncRun r(s, "xnu", [](dispatcher::Dispatcher& d) {
    model::Thread& h = d.thread(0);
    auto& decay = dynamic_cast<policies::XnuPolicy&>(d.policy_for_tests()).decay(0);
    decay.pri_shift = 20;
    decay.sched_usage = uint64_t{23} << 20;
    h.sched_pri = 8;
  });
  CHECK(r.priorities("holder") == std::vector<std::string>{"1000us:8->31", "5000us:31->8"});
  CHECK(r.sync().locks()[0].pri == 0);
}

TEST_CASE("xnu promotion: check 13, a kernel holder (base 81) is never promoted", "[sync][fidelity]") {
  // Holders with base >= MINPRI_KERNEL (all kernel threads) are never promoted.
  scenario::ThreadSpec k = thread("kthread", 81, {lock_op(0), run_op(ms(5)), unlock_op(0), run_op(ms(1))});
  k.kernel = true;
  auto s = with_holder({rt_thread("rt", {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)})}, k);
  int max_promotions = 0, max_promoted_pri = -1;
  SyncRun r(s, "xnu", {}, [&](const SyncRun& run) {
    max_promotions = std::max(max_promotions, run.d().threads()[0].promotions);
    max_promoted_pri = std::max(max_promoted_pri, run.d().threads()[0].promoted_pri);
  });
  CHECK(r.priorities("kthread").empty());
  CHECK(r.priorities("rt").empty());
  CHECK(r.of(core::TraceKind::lock_acquired, "rt").at(0).time.ns == 5'000'000);
  CHECK(r.sync().locks()[0].pri == 0);
  CHECK(max_promotions == 0);  // sim: counted only for holders that can be promoted
  CHECK(max_promoted_pri == -1);
  auto contended = r.trace.of(core::TraceKind::lock_contended);
  REQUIRE(contended.size() == 1);
  CHECK(contended[0].a == 0);  // holder: kthread
}

TEST_CASE("xnu promotion: check 13, unlock wakes the first waiter, not the highest, and recomputes",
          "[sync][fidelity]") {
  // holder (31, decayed to 20) holds m; w1 (fixed 40) asks at 1 ms, rt at 2 ms. Each raises the
  // holder (40, then 80 > record 40). The unlock unpromotes it (back to 20) and wakes w1,
  // which acquires while rt still counts as a waiter: w1 is promoted to the record, 80, until
  // its own unlock wakes rt.
  auto s = with_holder({thread("w1", 40, {sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0)}),
                        rt_thread("rt", {sleep_op(ms(2)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       timeshare_holder());
  SyncRun r(s, "xnu", decayed_to_20);
  CHECK(r.priorities("holder") == std::vector<std::string>{"1000us:20->40", "2000us:40->80", "5000us:80->20"});
  CHECK(r.priorities("w1") == std::vector<std::string>{"5000us:40->80", "6000us:80->40"});
  CHECK(r.priorities("rt").empty());
  CHECK(r.of(core::TraceKind::lock_acquired, "w1").at(0).time.ns == 5'000'000);
  CHECK(r.of(core::TraceKind::lock_acquired, "rt").at(0).time.ns == 6'000'000);
  CHECK(r.locks->blocked_ns(r.thread_index("rt")) == 4'000'000);
  CHECK(r.sync().locks()[0].pri == 0);
  CHECK(r.sync().locks()[0].pending == 0);
}

TEST_CASE("xnu promotion: a depressed holder is raised, and falls back to DEPRESSPRI only while still depressed",
          "[sync][fidelity]") {
  // xnu-facts.md 3.4: "While depressed no recompute happens; a mutex promotion still raises it
  // and drops back to DEPRESSPRI afterwards." h holds m and calls swtch_pri (depressed to 0,
  // yields to o); w (40) then waits for m and raises h to 40; when h runs again swtch_pri
  // returns, which ends the depression, so the unlock brings it back to its base, 31.
  for (const char* policy : {"fixed", "xnu"}) {
    auto s = scenario_of({thread("h", 31, {lock_op(0), run_op(ms(1)), simple_op(model::OpKind::swtch_pri), run_op(ms(1)),
                                           unlock_op(0), run_op(ms(1))}),
                          thread("o", 31, {run_op(ms(20))}),
                          thread("w", 40, {sleep_op(ms(3)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                         ms(30));
    s.locks.push_back(mutex("m"));
    SyncRun r(s, policy);
    INFO(policy);
    CHECK(r.priorities("h") == std::vector<std::string>{"1000us:31->0", "3000us:0->40", "4000us:40->31"});
    CHECK(r.of(core::TraceKind::lock_acquired, "w").at(0).time.ns == 4'000'000);
  }
  // While the depression lasts, the policy's value is max(DEPRESSPRI, promotion): the
  // promotion's end drops it back to DEPRESSPRI (both policies).
  std::vector<model::Thread> threads(1);
  policies::PolicyContext ctx;
  ctx.threads = &threads;
  policies::FixedPolicy fixed(ctx);
  policies::XnuPolicy xnu(ctx);
  model::Thread& t = threads[0];
  t.base_pri = 31;
  t.depressed = true;
  t.promoted_pri = 40;
  CHECK(fixed.compute_sched_pri(t) == 40);
  CHECK(xnu.compute_sched_pri(t) == 40);
  t.promoted_pri = -1;
  CHECK(fixed.compute_sched_pri(t) == model::DEPRESSPRI);
  CHECK(xnu.compute_sched_pri(t) == model::DEPRESSPRI);
  // Not depressed: the promotion never lowers the computed value.
  t.depressed = false;
  t.promoted_pri = 20;
  CHECK(fixed.compute_sched_pri(t) == 31);
  CHECK(xnu.compute_sched_pri(t) == 31);
}

TEST_CASE("xnu promotion: while promoted, a timeshare holder does not decay", "[sync][fidelity]") {
  // xnu-792 update_priority / thread_quantum_expire do not recompute a TH_MODE_PROMOTED thread.
  // Two timeshare spinners share the CPU; one holds m from 0 to 300 ms, waited for by a fixed
  // thread at 40 from 100 ms. Before that the holder decays at the ticks; from the
  // promotion to the unlock it stays exactly at 40.
  auto s = scenario_of({thread("holder", 31, {lock_op(0), run_op(ms(150)), unlock_op(0), run_op(ms(100))},
                               ThreadMode::timeshare),
                        thread("spinner", 31, {run_op(ms(1000))}, ThreadMode::timeshare),
                        thread("w", 40, {sleep_op(ms(100)), lock_op(0), run_op(ms(1)), unlock_op(0)})},
                       ms(500));
  s.machine.xnu = scenario::XnuRelease::r792;
  s.locks.push_back(mutex("m"));
  SyncRun r(s, "xnu");
  auto changes = r.of(core::TraceKind::priority_changed, "holder");
  auto promote = std::find_if(changes.begin(), changes.end(), [](const core::TraceEvent& e) {
    return e.reason == static_cast<uint8_t>(core::PriorityReason::promote);
  });
  REQUIRE(promote != changes.end());
  CHECK(promote->time.ns == 100'000'000);
  CHECK(promote->b == 40);
  auto next = std::next(promote);
  REQUIRE(next != changes.end());
  CHECK(next->reason == static_cast<uint8_t>(core::PriorityReason::unpromote));
  CHECK(next->a == 40);
  // The holder's 150 ms of work end while it is promoted and runs alone above the spinner.
  CHECK(r.of(core::TraceKind::lock_released, "holder").at(0).time.ns == next->time.ns);
}
