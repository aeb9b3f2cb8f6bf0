// IOKit fidelity: checks 10, 11, 12 and 15 of xnu-facts.md section 12, through real work loops,
// event sources, thread_call timers and command gates.
#include <catch2/catch.hpp>

#include "tests/iokit/iokit_support.hpp"

using namespace testing;
using core::TraceKind;
using scenario::XnuRelease;

TEST_CASE("iokit: a work loop woken by an interrupt runs its action right after the handler when the CPU was in user code",
          "[iokit][fidelity]") {
  // xnu-facts.md check 10 (and 5.6): the work thread (81, not urgent) preempts a user thread at 31
  // on the return from interrupt, which goes back to user mode and takes the AST.
  auto s = iokit_scenario({user_thread("user", {run_op(ms(50))})}, ms(100));
  s.workloops = {workloop("wl", {interrupt_source("intr", ms(1))})};
  s.interrupts = {interrupt_at("irq", {ms(5)}, us(100), 0, 0)};
  Run r = run(s, "xnu");
  const auto& wl = workloop_result(r, "wl");
  CHECK(wl.actions == 1);
  CHECK(wl.interrupts_delivered == 1);
  CHECK(wl.action_latency_ns.max == 100'000);  // arrival 5 ms, handler 100 us, action at 5.1 ms
  CHECK(r.thread("user").response_ns.max == 51'100'000);
  CHECK(r.thread("workloop:wl").cpu_time_ns == 1'000'000);
}

TEST_CASE("iokit: a work loop woken while the interrupted thread is inside a command gate waits for it to return",
          "[iokit][fidelity]") {
  // Check 10, second half: "sys" is in the kernel (runAction on another work loop) when the
  // interrupt comes; kernel code is preempted only by urgent threads, so the work loop runs when
  // sys returns to user mode at 20.1 ms (20 ms of action plus the 100 us handler).
  auto s = iokit_scenario({user_thread("sys", {run_action_op(1, ms(20)), run_op(ms(10))})}, ms(100));
  s.workloops = {workloop("wl", {interrupt_source("intr", ms(1))}), workloop("other")};
  s.interrupts = {interrupt_at("irq", {ms(5)}, us(100), 0, 0)};
  Run r = run(s, "xnu");
  CHECK(workloop_result(r, "wl").action_latency_ns.max == 15'100'000);
  CHECK(r.thread("sys").response_ns.max == 31'100'000);
  CHECK(r.thread("workloop:wl").latency_ns.max == 15'000'000);  // woken at 5.1 ms, runs at 20.1 ms
}

TEST_CASE("iokit: three interrupts before the work loop runs give one action with count 3", "[iokit][fidelity]") {
  // xnu-facts.md check 11 and 9.2 (IOInterruptEventSource::checkForWork hands the producer count
  // to one action call). A kernel thread at 90 holds the CPU for 1 ms.
  auto s = iokit_scenario({kernel_thread("hog", 90, {run_op(ms(1))})}, ms(10));
  s.workloops = {workloop("wl", {interrupt_source("intr", us(100))})};
  s.interrupts = {interrupt_at("irq", {us(100), us(200), us(300)}, us(10), 0, 0)};
  Run r = run(s, "xnu");
  auto actions = events_of(r, TraceKind::workloop_action, 0);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].b == 3);                    // count
  CHECK(actions[0].time.ns == 1'030'000);      // the hog's 1 ms plus three 10 us handlers
  const auto& wl = workloop_result(r, "wl");
  CHECK(wl.actions == 1);
  CHECK(wl.interrupts_delivered == 3);
  CHECK(wl.action_latency_ns.max == 930'000);  // from the first of the three
  CHECK(interrupt_result(r, "irq").count == 3);
}

TEST_CASE("iokit: a filter that refuses three interrupts schedules no action but costs their filter time",
          "[iokit][fidelity]") {
  // Check 11, second half, and 9.2: IOFilterInterruptEventSource's filter runs in primary
  // context; false -> nothing (the work loop is not even woken).
  auto s = iokit_scenario({user_thread("user", {run_op(ms(5))})}, ms(10));
  s.workloops = {workloop("wl", {filter_source("flt", us(100), us(5), 0.0)})};
  s.interrupts = {interrupt_at("irq", {us(100), us(200), us(300)}, us(10), 0, 0)};
  Run r = run(s, "xnu");
  CHECK(events_of(r, TraceKind::workloop_action).empty());
  CHECK(events_of(r, TraceKind::event_signaled).empty());
  CHECK(workloop_result(r, "wl").actions == 0);
  CHECK(r.out.results.cpus[0].interrupt_ns == 3 * 15'000);  // handler 10 us + filter 5 us each
  CHECK(r.thread("workloop:wl").context_switches == 1);      // only its first pass at boot
}

namespace {

// Check 12's setup: the timer fires at 1 ms while "driver" holds the gate (a 2 ms runAction);
// still inside the action it cancels the timer, then opens the gate and computes 1 ms.
scenario::Scenario timer_race(XnuRelease xnu) {
  auto s = iokit_scenario({user_thread("driver", {timer_arm_op(0, ms(1)), run_action_op(0, ms(2)), timer_cancel_op(0),
                                                  run_op(ms(1))})},
                          ms(10), xnu);
  s.workloops = {workloop("wl")};
  s.timers = {timer("timeout", 0, us(500))};
  return s;
}

}  // namespace

TEST_CASE("iokit: 792's timer generation skips a callout that fired while the driver held the gate and cancelled",
          "[iokit][fidelity]") {
  // xnu-facts.md check 12 and 9.3 (792): the callout compares calloutGeneration after taking the
  // gate; the cancel bumped it, so no action.
  auto s = timer_race(XnuRelease::r792);
  Run r = run(s, "xnu");
  auto fired = events_of(r, TraceKind::timer_fired, 0);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].a == 0);                  // skipped
  CHECK(fired[0].time.ns == 2'000'000);    // when the driver opened the gate
  CHECK(r.thread("callout:0").cpu_time_ns == 0);
  CHECK(r.thread("driver").response_ns.max == 3'000'000);
  CHECK(workloop_result(r, "wl").gate_wait_ns.max == 1'000'000);  // the callout waited 1 ms
}

TEST_CASE("iokit: 517's timer callout that fired while the driver held the gate runs its action after cancel",
          "[iokit][fidelity]") {
  // xnu-facts.md check 12 and 9.3 (517): the callout was dequeued (thread_call_cancel cannot
  // remove it) and runs the action unconditionally once the gate opens.
  auto s = timer_race(XnuRelease::r517);
  Run r = run(s, "xnu");
  auto fired = events_of(r, TraceKind::timer_fired, 0);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].a == 1);  // ran
  CHECK(fired[0].time.ns == 2'000'000);
  CHECK(r.thread("callout:0").cpu_time_ns == 500'000);
  CHECK(r.thread("driver").response_ns.max == 3'500'000);  // the callout (94) preempted it
}

TEST_CASE("iokit: a timer cancelled before its deadline never fires in either release", "[iokit][fidelity]") {
  // xnu-facts.md 8: thread_call_cancel removes a queued call.
  for (XnuRelease xnu : {XnuRelease::r517, XnuRelease::r792}) {
    auto s = iokit_scenario({user_thread("driver", {timer_arm_op(0, ms(2)), run_action_op(0, ms(1)), timer_cancel_op(0),
                                                    run_op(ms(2))})},
                            ms(10), xnu);
    s.workloops = {workloop("wl")};
    s.timers = {timer("timeout", 0, us(500))};
    Run r = run(s, "xnu");
    CHECK(events_of(r, TraceKind::timer_fired).empty());
    CHECK(r.thread("driver").response_ns.max == 3'000'000);
  }
}

TEST_CASE("iokit: commandSleep with the gate held three deep lets others in at once and wakes three deep again",
          "[iokit][fidelity]") {
  // xnu-facts.md check 15 and 7 (IORecursiveLockSleep saves the count, releases fully, re-locks
  // and restores it). "sleeper" closes the gate three times and sleeps; "waker" enters at once,
  // wakes it; "late" must then wait for all three levels to be opened.
  auto s = iokit_scenario(
      {user_thread("sleeper", {close_gate_op(0), close_gate_op(0), close_gate_op(0), command_sleep_op(0, 0),
                               run_op(us(100)), open_gate_op(0), open_gate_op(0), open_gate_op(0)}),
       user_thread("waker", {run_action_op(0, us(50)), command_wakeup_op(0, 0)}),
       user_thread("late", {run_action_op(0, us(10))})},
      ms(5), XnuRelease::r792, 2);  // two CPUs: "late" tries while the sleeper runs
  s.threads[1].start = ms(1);
  s.threads[2].start = us(1100);
  s.workloops = {workloop("wl")};
  IoWorld w(s);
  int owner_at_1100 = -2, depth_at_1100 = -1;
  w.run(s, [&] {
    if (w.world.dispatcher->now().ns == 1'100'000) {
      owner_at_1100 = w.iokit().gate(0).owner();
      depth_at_1100 = w.iokit().gate(0).depth();
    }
  });
  CHECK(owner_at_1100 == 0);  // sleeper
  CHECK(depth_at_1100 == 3);
  int32_t gate = w.iokit().gate_lock(0);
  std::vector<std::pair<int32_t, int64_t>> acquired;  // (thread, waited)
  for (const auto& e : w.trace.events)
    if (e.kind == TraceKind::lock_acquired && e.other == gate && e.thread < 3) acquired.emplace_back(e.thread, e.a);
  REQUIRE(acquired.size() == 4);
  CHECK(acquired[0] == std::pair<int32_t, int64_t>{0, 0});       // sleeper at 0
  CHECK(acquired[1] == std::pair<int32_t, int64_t>{1, 0});       // waker at 1 ms: in at once
  CHECK(acquired[2] == std::pair<int32_t, int64_t>{0, 0});       // sleeper re-locks at 1.05 ms
  CHECK(acquired[3] == std::pair<int32_t, int64_t>{2, 50'000});  // late: 1.1 -> 1.15 ms
}

TEST_CASE("iokit: commandSleep without the gate returns kIOReturnNotPermitted at once, traced", "[iokit][fidelity]") {
  // xnu-facts.md 9.4 (792: the gate must be held, else kIOReturnNotPermitted) and 11 (0xE00002E2).
  auto s = iokit_scenario({user_thread("careless", {command_sleep_op(0, 0), run_op(ms(1))})}, ms(5));
  s.workloops = {workloop("wl")};
  Run r = run(s, "xnu");
  auto refused = events_of(r, TraceKind::command_refused, 0);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].a == 0xE00002E2);
  CHECK(refused[0].b == 0);  // the event
  CHECK(events_of(r, TraceKind::event_waited).empty());
  CHECK(r.thread("careless").response_ns.max == 1'000'000);  // it never slept
}
