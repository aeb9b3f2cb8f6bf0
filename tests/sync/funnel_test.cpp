// Fidelity: the BSD funnels, xnu-facts.md section 6, 5.7 and check 14: a funnel is a mutex
// dropped at every voluntary block and re-taken before the thread goes on, kept across
// preemption; two funnels (517 split) can never be held at once.
#include <catch2/catch.hpp>

#include "tests/sync/sync_support.hpp"

using namespace testing;
using model::FunnelName;

namespace {

scenario::Scenario funnels(std::vector<scenario::ThreadSpec> ts, Duration d, int cpus = 2,
                           scenario::FunnelSetup setup = scenario::FunnelSetup::split) {
  auto s = scenario_of(std::move(ts), d, cpus);
  s.machine.xnu = scenario::XnuRelease::r517;
  s.machine.funnels = setup;
  name_ops(s);
  return s;
}

model::Op take(FunnelName f = FunnelName::kernel) { return funnel_op(f); }
model::Op drop() { return funnel_op(FunnelName::none); }

}  // namespace

TEST_CASE("funnel: check 14, a preempted holder keeps the funnel", "[sync][fidelity]") {
  // a holds the kernel funnel on cpu0 for 10 ms of work; high preempts it there from 2 to
  // 5 ms. b asks on cpu1 at 1 ms: it spins 10 us (a runs), sleeps, and gets the funnel only
  // when a sets it to none at 13 ms: preemption did not release it.
  scenario::ThreadSpec a = thread("a", 31, {take(), run_op(ms(10)), drop()});
  scenario::ThreadSpec high = thread("high", 50, {sleep_op(ms(2)), run_op(ms(3))});
  a.cpu = high.cpu = 0;
  auto s = funnels({a, thread("b", 31, {sleep_op(ms(1)), take(), run_op(ms(1)), drop()}), high}, ms(30));
  s.threads[1].cpu = 1;
  SyncRun r(s);
  CHECK(r.of(core::TraceKind::funnel_dropped, "a").empty());
  CHECK(r.of(core::TraceKind::lock_released, "a").at(0).time.ns == 13'000'000);
  CHECK(r.of(core::TraceKind::lock_acquired, "b").at(0).time.ns == 13'000'000);
  CHECK(r.locks->blocked_ns(1) == 12'000'000);
  CHECK(r.locks->spin_ns(1) == 10'000);
  CHECK(r.world.names.locks == std::vector<std::string>{"kernel_funnel"});
}

TEST_CASE("funnel: check 14, a sleeping holder drops it and must win it back before it goes on",
          "[sync][fidelity]") {
  // a: kernel funnel, 2 ms, sleep 4 ms, 2 ms, release. b on the other CPU asks at 1 ms and
  // gets it at 2 ms, when a sleeps (thread_block drops the funnel), and holds it 6 ms. a wakes
  // at 6 ms, spins 10 us for it, sleeps again and re-takes it at 8 ms before its program
  // continues (its remaining 2 ms run 8..10 ms).
  auto s = funnels({thread("a", 31, {take(), run_op(ms(2)), sleep_op(ms(4)), run_op(ms(2)), drop()}),
                    thread("b", 31, {sleep_op(ms(1)), take(), run_op(ms(6)), drop()})},
                   ms(30));
  SyncRun r(s);
  auto dropped = r.of(core::TraceKind::funnel_dropped, "a");
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].time.ns == 2'000'000);
  CHECK(dropped[0].other == 0);
  CHECK(r.of(core::TraceKind::lock_acquired, "b").at(0).time.ns == 2'000'000);
  auto taken = r.of(core::TraceKind::funnel_taken, "a");
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].time.ns == 8'000'000);
  CHECK(taken[0].a == 2'000'000);  // waited from its wakeup at 6 ms
  CHECK(r.of(core::TraceKind::completed, "a").at(0).time.ns == 10'000'000);
  CHECK(r.locks->blocked_ns(0) == 2'000'000);
  CHECK(r.locks->spin_ns(0) == 10'000);
  CHECK(r.locks->blocked_ns(1) == 1'000'000);
  // Hold times: a 0..2, b 2..8, a 8..10.
  auto locks = r.locks->locks();
  CHECK(locks[0].id == "kernel_funnel");
  CHECK(locks[0].acquisitions == 3);
  CHECK(locks[0].contended == 2);
  CHECK(locks[0].hold_ns.max == 6'000'000);
  CHECK(locks[0].hold_ns.min == 2'000'000);
}

TEST_CASE("funnel: a yield and a lock wait are voluntary blocks too; the funnel is re-taken first",
          "[sync][unit]") {
  // a (kernel funnel) waits for mutex m held by c: it drops the funnel, which b (other CPU)
  // takes; when m is free, a first re-takes the funnel (after b), then retries m.
  auto s = funnels({thread("a", 31, {take(), sleep_op(ms(1)), lock_op(0), run_op(ms(1)), unlock_op(0), drop()}),
                    thread("b", 31, {sleep_op(ms(2)), take(), run_op(ms(5)), drop()}),
                    thread("c", 31, {lock_op(0), run_op(ms(3)), unlock_op(0)})},
                   ms(30));
  s.locks.push_back(mutex("m"));
  SyncRun r(s);
  // a holds the funnel 0..1 (sleep drops it), again 1 ms (re-take) until the lock wait drops
  // it: the mutex waits behind c until 3 ms, the funnel behind b until 7 ms.
  auto dropped = r.of(core::TraceKind::funnel_dropped, "a");
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0].time.ns == 0);
  CHECK(dropped[1].time.ns == 1'010'000);  // after its 10 us spin on m (c runs on the other CPU)
  auto taken = r.of(core::TraceKind::funnel_taken, "a");
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].time.ns == 1'000'000);
  CHECK(taken[1].time.ns == 7'000'000);
  CHECK(r.of(core::TraceKind::lock_acquired, "a").back().time.ns == 7'000'000);
  CHECK(r.world.names.locks == std::vector<std::string>{"m", "kernel_funnel"});

  // A yield drops and re-takes it even when nothing else runs (no other thread wants it).
  auto y = funnels({thread("t", 31, {take(), run_op(ms(1)), simple_op(model::OpKind::yield), run_op(ms(1)), drop()})},
                   ms(10), 1);
  SyncRun ry(y);
  CHECK(ry.of(core::TraceKind::funnel_dropped, "t").size() == 1);
  CHECK(ry.of(core::TraceKind::funnel_taken, "t").size() == 1);
  CHECK(ry.locks->locks()[0].acquisitions == 2);
}

TEST_CASE("funnel: check 14, asking for the network funnel while holding the kernel funnel panics (517)",
          "[sync][fidelity]") {
  auto s = funnels({thread("nfs", 31, {take(), run_op(ms(1)), take(FunnelName::network), run_op(ms(1))})}, ms(10), 1);
  SyncRun r(s);
  CHECK(r.panic ==
        "panic at 0.001000000 s: thread \"nfs\" on cpu0 at /threads/0/program/2: thread_funnel_set: asked for the "
        "network funnel while holding the kernel funnel (both funnels are never held at once)");
  CHECK(r.trace.of(core::TraceKind::panicked).size() == 1);
  // Merged funnels (thread_funnel_merge, or xnu-792's single funnel): the same funnel, no panic.
  auto m = funnels({thread("nfs", 31, {take(), run_op(ms(1)), take(FunnelName::network), run_op(ms(1)), drop()})},
                   ms(10), 1, scenario::FunnelSetup::merged);
  SyncRun rm(m);
  CHECK(rm.panic.empty());
  CHECK(rm.world.names.locks == std::vector<std::string>{"kernel_funnel"});
  CHECK(rm.locks->locks()[0].acquisitions == 1);
  auto n = m;
  n.machine.funnels = scenario::FunnelSetup::split;
  n.machine.xnu = scenario::XnuRelease::r792;
  CHECK(SyncRun(n).panic.empty());
}

TEST_CASE("funnel: releasing a funnel that is not held panics", "[sync][unit]") {
  auto s = funnels({thread("t", 31, {run_op(ms(1)), drop()})}, ms(10), 1);
  SyncRun r(s);
  CHECK(r.panic ==
        "panic at 0.001000000 s: thread \"t\" on cpu0 at /threads/0/program/1: thread_funnel_set: releasing a funnel "
        "the thread does not hold");
}

TEST_CASE("funnel: split funnels let file and network work overlap on two CPUs; merged ones serialise them",
          "[sync][unit]") {
  // The paper: "splitting the funnel into two is a major win for dual processor machines".
  auto build = [](scenario::FunnelSetup setup) {
    return funnels({thread("fs", 31, {take(), run_op(ms(10)), drop()}),
                    thread("net", 31, {take(FunnelName::network), run_op(ms(10)), drop()})},
                   ms(30), 2, setup);
  };
  Run split = run(build(scenario::FunnelSetup::split));
  CHECK(split.thread("net").response_ns.max == 10'000'000);
  CHECK(split.thread("net").blocked_ns == 0);
  CHECK(split.out.results.locks.size() == 2);
  Run merged = run(build(scenario::FunnelSetup::merged));
  // net asks at 0 on cpu1, spins 10 us while fs runs, then sleeps until fs releases at 10 ms.
  CHECK(merged.thread("net").response_ns.max == 20'000'000);
  CHECK(merged.thread("net").blocked_ns == 10'000'000);
  CHECK(merged.thread("net").spin_ns == 10'000);
  CHECK(merged.out.results.locks.size() == 1);
  CHECK(merged.out.results.locks[0].id == "kernel_funnel");
}
