// IOKit layer units: interrupt arrivals and filters, work-loop passes, command gates, thread_call
// callout threads, driver stacks and I/O, hot unplug, and the metrics built from the trace.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "sim/scenario/loader.hpp"
#include "tests/iokit/iokit_support.hpp"

using namespace testing;
using core::TraceKind;
using scenario::XnuRelease;

namespace {

std::vector<int64_t> arrival_times(const Run& r, int32_t irq) {
  std::vector<int64_t> out;
  for (const auto& e : events_of(r, TraceKind::interrupt_arrived, irq)) out.push_back(e.time.ns);
  return out;
}

scenario::InterruptSpec periodic(std::string id, Duration period, Duration jitter, Duration handler, int32_t wl = -1,
                                 int32_t src = -1) {
  scenario::InterruptSpec i = interrupt_at(std::move(id), {}, handler, wl, src);
  i.arrival.kind = scenario::ArrivalSpec::Kind::periodic;
  i.arrival.period = period;
  i.arrival.jitter = jitter;
  return i;
}

scenario::InterruptSpec poisson(std::string id, Duration mean, Duration handler, int32_t wl = -1, int32_t src = -1) {
  scenario::InterruptSpec i = interrupt_at(std::move(id), {}, handler, wl, src);
  i.arrival.kind = scenario::ArrivalSpec::Kind::poisson;
  i.arrival.mean = mean;
  return i;
}

}  // namespace

// --- interrupts ---------------------------------------------------------------------------------

TEST_CASE("iokit: periodic interrupts arrive at whole periods, jitter only delaying each within its bound",
          "[iokit][unit]") {
  auto s = iokit_scenario({user_thread("user", {run_op(ms(20))})}, ms(10) + us(500));
  s.interrupts = {periodic("tick", ms(1), {}, us(10)), periodic("jittery", ms(1), us(200), us(10))};
  Run r = run(s, "xnu");
  std::vector<int64_t> tick = arrival_times(r, 0);
  REQUIRE(tick.size() == 10);
  for (size_t k = 0; k < tick.size(); ++k) CHECK(tick[k] == static_cast<int64_t>(k + 1) * 1'000'000);
  std::vector<int64_t> jit = arrival_times(r, 1);
  REQUIRE(jit.size() == 10);
  bool some_late = false;
  for (size_t k = 0; k < jit.size(); ++k) {
    int64_t nominal = static_cast<int64_t>(k + 1) * 1'000'000;
    CHECK(jit[k] >= nominal);
    CHECK(jit[k] <= nominal + 200'000);
    some_late |= jit[k] != nominal;
  }
  CHECK(some_late);
  // Its own stream: the same seed gives the same draws, another seed others.
  CHECK(arrival_times(run(s, "xnu"), 1) == jit);
  s.seed = 2;
  CHECK(arrival_times(run(s, "xnu"), 1) != jit);
}

TEST_CASE("iokit: Poisson interrupts have exponential gaps of the given mean, from a seeded stream", "[iokit][unit]") {
  auto s = iokit_scenario({}, ms(10'000));
  s.interrupts = {poisson("net", us(1000), us(1))};
  s.seed = 7;
  Run r = run(s, "xnu");
  int64_t n = interrupt_result(r, "net").count;
  CHECK(n > 9'700);  // 10 s at 1000/s
  CHECK(n < 10'300);
  CHECK(interrupt_result(run(s, "xnu"), "net").count == n);
}

TEST_CASE("iokit: an interrupt without a source only costs its CPU its handler time", "[iokit][unit]") {
  auto s = iokit_scenario({user_thread("user", {run_op(ms(10))})}, ms(20));
  s.interrupts = {interrupt_at("clock", {ms(1), ms(2), ms(3)}, us(50))};
  s.machine.costs.interrupt_entry = us(2);
  s.machine.costs.interrupt_exit = us(3);
  Run r = run(s, "xnu");
  CHECK(r.out.results.cpus[0].interrupt_ns == 3 * 55'000);
  CHECK(r.thread("user").response_ns.max == 10'165'000);
  const auto& irq = interrupt_result(r, "clock");
  CHECK(irq.count == 3);
  CHECK(irq.latency_ns.max == 2'000);  // the entry cost
  CHECK(r.out.results.workloops.empty());
}

TEST_CASE("iokit: a filter accepting a quarter of a shared line's interrupts wakes the work loop for those only",
          "[iokit][unit]") {
  auto s = iokit_scenario({}, ms(1000));
  s.workloops = {workloop("wl", {filter_source("flt", us(20), us(3), 0.25)})};
  s.interrupts = {periodic("shared", ms(1), {}, us(5), 0, 0)};
  Run r = run(s, "xnu");
  const auto& wl = workloop_result(r, "wl");
  int64_t accepted = static_cast<int64_t>(events_of(r, TraceKind::event_signaled).size());
  CHECK(interrupt_result(r, "shared").count == 999);
  CHECK(accepted > 200);
  CHECK(accepted < 300);
  CHECK(wl.interrupts_delivered == accepted);  // the loop is idle: one action each
  CHECK(wl.actions == accepted);
  CHECK(r.out.results.cpus[0].interrupt_ns == 999 * 8'000);  // every filter runs
  CHECK(r.thread("workloop:wl").cpu_time_ns == accepted * 20'000);
  CHECK(wl.action_latency_ns.max == 8'000);  // handler + filter
}

// --- work loops and command gates ------------------------------------------------------------

TEST_CASE("iokit: the work loop thread runs nothing but passes: a runAction executes on its caller's thread",
          "[iokit][unit]") {
  // xnu-facts.md 9.1: runAction = closeGate, call, openGate on the caller.
  auto s = iokit_scenario({user_thread("client", {run_action_op(0, ms(2)), run_op(ms(1))})}, ms(10));
  s.workloops = {workloop("wl")};
  Run r = run(s, "xnu");
  CHECK(r.thread("client").cpu_time_ns == 3'000'000);
  CHECK(r.thread("workloop:wl").cpu_time_ns == 0);
  auto acquired = events_of(r, TraceKind::lock_acquired);
  REQUIRE(acquired.size() == 2);  // the work thread's boot pass, then the client
  CHECK(acquired[1].thread == thread_index(r, "client"));
  auto released = events_of(r, TraceKind::lock_released);
  CHECK(released.back().a == 2'000'000);  // held for the action only
}

TEST_CASE("iokit: the gate is one lock for every source of a work loop: an interrupt action waits for a runAction",
          "[iokit][unit]") {
  // Two CPUs: the work thread is free to run, but the client holds the gate from 0.1 to 3.1 ms.
  auto s = iokit_scenario({user_thread("client", {run_action_op(0, ms(3))})}, ms(10), XnuRelease::r792, 2);
  s.threads[0].start = us(100);
  s.workloops = {workloop("wl", {interrupt_source("intr", us(100))})};
  s.interrupts = {interrupt_at("irq", {ms(1)}, us(10), 0, 0, 1)};
  Run r = run(s, "xnu");
  const auto& wl = workloop_result(r, "wl");
  CHECK(wl.action_latency_ns.max == 2'100'000);  // 1 ms -> 3.1 ms
  CHECK(wl.gate_wait_ns.max == 2'090'000);       // from the wakeup at 1.01 ms
  auto contended = events_of(r, TraceKind::lock_contended);
  REQUIRE(contended.size() == 1);
  CHECK(contended[0].thread == thread_index(r, "workloop:wl"));
  CHECK(contended[0].a == thread_index(r, "client"));  // the holder
}

TEST_CASE("iokit: commandWakeup wakes the first sleeper or all of them, in the order they slept", "[iokit][unit]") {
  auto sleeper = [](std::string id) {
    return user_thread(std::move(id), {run_action_op(0, us(10)), command_sleep_op(0, 0), run_op(us(100))});
  };
  auto s = iokit_scenario({sleeper("a"), sleeper("b"), sleeper("c"),
                           user_thread("waker", {sleep_op(ms(1)), command_wakeup_op(0, 0), sleep_op(ms(1)),
                                                 command_wakeup_op(0, 0, true)})},
                          ms(10));
  s.workloops = {workloop("wl")};
  Run r = run(s, "xnu");
  // a, b, c each take the gate for 10 us and sleep by 30 us; the waker's sleeps start then.
  CHECK(r.thread("a").response_ns.max == 1'130'000);  // a slept first: woken alone at 1.03 ms
  CHECK(r.thread("b").response_ns.max == 2'130'000);  // b and c at 2.03 ms, then in turn
  CHECK(r.thread("c").response_ns.max == 2'230'000);
  auto signals = events_of(r, TraceKind::event_signaled, 0);
  REQUIRE(signals.size() == 2);
  CHECK(signals[0].a == 1);
  CHECK(signals[1].a == 2);
  // Sleeping released the gate each time: none of the sleepers waited for it.
  CHECK(workloop_result(r, "wl").gate_wait_ns.max == 0);
}

TEST_CASE("iokit: ops right after a run_action run inside it, and the gate opens before the first op that does not",
          "[iokit][unit]") {
  // The action's body: arm a timer and wake someone with the gate held, then compute outside.
  auto s = iokit_scenario({user_thread("client", {run_action_op(0, ms(1)), timer_arm_op(0, ms(5)),
                                                  command_wakeup_op(0, 1), run_op(ms(2)), timer_cancel_op(0)})},
                          ms(10));
  s.workloops = {workloop("wl")};
  s.timers = {timer("t", 0, us(10))};
  Run r = run(s, "xnu");
  auto released = events_of(r, TraceKind::lock_released);
  REQUIRE(released.size() == 2);
  CHECK(released[1].time.ns == 1'000'000);
  CHECK(released[1].a == 1'000'000);
  CHECK(events_of(r, TraceKind::timer_fired).empty());  // cancelled (outside the gate) at 3 ms
}

// --- thread_call --------------------------------------------------------------------------------

TEST_CASE("iokit: a pending call waits for the active callout thread unless it blocks", "[iokit][unit]") {
  // xnu-facts.md 8: callout threads run pending calls FIFO; another thread is made only when the
  // active one blocks with calls pending.
  auto s = iokit_scenario({user_thread("driver", {timer_arm_op(0, ms(1)), timer_arm_op(1, us(1500)), run_op(ms(5))})},
                          ms(10));
  s.workloops = {workloop("wl")};
  s.timers = {timer("t0", 0, ms(2)), timer("t1", 0, us(100))};
  Run r = run(s, "xnu");
  auto fired = events_of(r, TraceKind::timer_fired);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].other == 0);
  CHECK(fired[0].time.ns == 1'000'000);
  CHECK(fired[1].other == 1);
  CHECK(fired[1].time.ns == 3'000'000);  // after t0's 2 ms action, on the same thread
  CHECK(fired[1].thread == thread_index(r, "callout:0"));
  CHECK(r.thread("callout:1").context_switches == 0);  // never made
}

TEST_CASE("iokit: when the active callout blocks on the gate, the activator makes another for the next call",
          "[iokit][unit]") {
  auto s = iokit_scenario({user_thread("driver", {timer_arm_op(0, ms(1)), timer_arm_op(1, ms(2)),
                                                  run_action_op(0, ms(5))})},
                          ms(10));
  s.workloops = {workloop("wl")};
  s.timers = {timer("t0", 0, us(100)), timer("t1", 0, us(100))};
  Run r = run(s, "xnu");
  int32_t c1 = thread_index(r, "callout:1");
  auto created = events_of(r, TraceKind::created);
  auto made = std::find_if(created.begin(), created.end(), [&](const auto& e) { return e.thread == c1; });
  REQUIRE(made != created.end());
  CHECK(made->time.ns == 2'000'000);
  CHECK(r.thread("callout:activator").context_switches == 2);  // at boot and at 2 ms
  auto fired = events_of(r, TraceKind::timer_fired);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].thread == thread_index(r, "callout:0"));  // the gate's FIFO: first waiter first
  CHECK(fired[0].time.ns == 5'000'000);
  CHECK(fired[1].thread == c1);
  CHECK(fired[1].time.ns == 5'100'000);
  CHECK(r.thread("callout:2").context_switches == 0);
}

TEST_CASE("iokit: re-arming a queued timer moves its deadline", "[iokit][unit]") {
  auto s = iokit_scenario({user_thread("driver", {timer_arm_op(0, ms(1)), sleep_op(us(500)), timer_arm_op(0, ms(2)),
                                                  run_op(ms(5))})},
                          ms(10));
  s.workloops = {workloop("wl")};
  s.timers = {timer("t", 0, us(100))};
  Run r = run(s, "xnu");
  auto fired = events_of(r, TraceKind::timer_fired);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].time.ns == 2'500'000);
  CHECK(fired[0].a == 1);
}

// --- driver stacks ------------------------------------------------------------------------------

namespace {

// ata owns work loop "ata_wl"; disk sits on it (no work loop of its own).
scenario::Scenario stack(std::vector<scenario::ThreadSpec> threads, Duration disk_service = ms(2)) {
  auto s = iokit_scenario(std::move(threads), ms(20));
  s.workloops = {workloop("ata_wl")};
  s.devices = {device("ata", -1, 0, us(100)), device("disk", 0, -1, disk_service)};
  return s;
}

}  // namespace

TEST_CASE("iokit: an I/O is serviced on the provider's work loop and completes through its interrupt",
          "[iokit][unit]") {
  auto s = stack({user_thread("client", {io_op(1, us(200)), run_op(ms(1))})});
  IoWorld w(s);
  CHECK(w.iokit().device_workloop(1) == 0);  // disk uses ata's work loop
  Run r = run(s, "xnu");
  // Service 0 -> 200 us on the work thread (gate held), hardware 2 ms + 100 us, interrupt, action.
  const auto& disk = device_result(r, "disk");
  CHECK(disk.ios == 1);
  CHECK(disk.completed == 1);
  CHECK(disk.offline == 0);
  CHECK(disk.io_ns.max == 2'300'000);
  CHECK(r.thread("client").response_ns.max == 3'300'000);
  CHECK(r.thread("workloop:ata_wl").cpu_time_ns == 200'000);
  auto blocked = events_of(r, TraceKind::blocked, 1);
  REQUIRE_FALSE(blocked.empty());
  CHECK(static_cast<core::BlockReason>(blocked[0].reason) == core::BlockReason::io);
  auto actions = events_of(r, TraceKind::workloop_action, 0);
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].a == 0);  // the I/O command queue ("io")
  CHECK(actions[1].a == 1);  // ata's completion source ("ata.irq")
  CHECK(actions[1].time.ns == 2'300'000);
  CHECK(interrupt_result(r, "ata.irq").count == 1);
  const auto& wl = workloop_result(r, "ata_wl");
  CHECK(wl.actions == 2);
  CHECK(wl.interrupts_delivered == 1);
}

TEST_CASE("iokit: requests on one work loop are serviced one per checkForWork, in order, passes repeating",
          "[iokit][unit]") {
  // The work loop at 20, below its clients: all three requests are queued before it runs.
  auto s = stack({user_thread("a", {io_op(1, us(300))}), user_thread("b", {io_op(1, us(300))}),
                  user_thread("c", {io_op(0, us(300))})});
  s.workloops[0].priority = 20;
  Run r = run(s, "xnu");
  CHECK(r.thread("a").response_ns.max == 2'400'000);  // service 0-300 us, hardware 2.1 ms
  CHECK(r.thread("b").response_ns.max == 2'700'000);  // 300-600 us
  CHECK(r.thread("c").response_ns.max == 1'000'000);  // 600-900 us, ata's own 100 us
  CHECK(device_result(r, "disk").completed == 2);
  CHECK(device_result(r, "ata").completed == 1);
  CHECK(r.thread("workloop:ata_wl").context_switches == 4);  // the three services in one go, three completions
  auto services = events_of(r, TraceKind::workloop_action, 0);
  REQUIRE(services.size() == 6);
  for (int k = 0; k < 3; ++k) CHECK(services[static_cast<size_t>(k)].time.ns == k * 300'000);
}

TEST_CASE("iokit: terminate completes every outstanding request offline once and rejects later ones at once",
          "[iokit][unit]") {
  // xnu-facts.md 10 and the talk's synchronous tear down: two requests are in the hardware when
  // the bus terminates ata at 1 ms; a third comes after.
  auto s = stack({user_thread("a", {io_op(1, us(100))}), user_thread("b", {io_op(1, us(100))}),
                  user_thread("bus", {terminate_op(0)}), user_thread("late", {io_op(1, us(100))})},
                 ms(5));
  s.threads[2].start = ms(1);
  s.threads[3].start = ms(2);
  Run r = run(s, "xnu");
  const auto& disk = device_result(r, "disk");
  CHECK(disk.ios == 3);
  CHECK(disk.completed == 3);
  CHECK(disk.offline == 3);
  CHECK(disk.io_ns.max == 1'000'000);
  CHECK(disk.io_ns.min == 0);  // the late one, at once
  std::map<int64_t, int> completions;
  for (const auto& e : events_of(r, TraceKind::io_completed)) {
    ++completions[e.a];
    CHECK(e.b == 0xE00002D7);
  }
  CHECK(completions == std::map<int64_t, int>{{0, 1}, {1, 1}, {2, 1}});
  CHECK(interrupt_result(r, "ata.irq").count == 0);  // the hardware is gone
  std::vector<std::pair<int32_t, int64_t>> phases;
  for (const auto& e : events_of(r, TraceKind::terminated)) phases.emplace_back(e.other, e.a);
  CHECK(phases == std::vector<std::pair<int32_t, int64_t>>{{0, 1}, {1, 1}, {1, 2}, {0, 2}, {1, 3}, {0, 3}});
  CHECK(r.thread("late").response_ns.max == 0);
}

TEST_CASE("iokit: terminate waits for the request the work loop is servicing, then completes it offline",
          "[iokit][unit]") {
  // Two CPUs: "bus" terminates at 1 ms while the work thread services a's request (0 - 2 ms).
  auto s = stack({user_thread("a", {io_op(1, ms(2))}), user_thread("bus", {terminate_op(0)})});
  s.machine.cpus = 2;
  s.threads[1].start = ms(1);
  Run r = run(s, "xnu");
  auto offline = events_of(r, TraceKind::io_completed);
  REQUIRE(offline.size() == 1);
  CHECK(offline[0].time.ns == 2'000'000);  // when the work thread opened the gate
  CHECK(offline[0].thread == thread_index(r, "terminate"));
  CHECK(workloop_result(r, "ata_wl").gate_wait_ns.max == 1'000'000);
  CHECK(device_result(r, "disk").offline == 1);
}

// --- determinism ------------------------------------------------------------------------------

TEST_CASE("iokit: a scenario with random interrupts, filters, timers and I/O gives identical runs for a seed",
          "[iokit][unit]") {
  // Through the loader: every IOKit key and op of format v1.
  const char* text = R"({
    "format": "xnusim-scenario", "version": 1, "duration": "300ms", "seed": 3,
    "machine": {"cpus": 2, "xnu": "517", "costs": {"context_switch": "3us", "interrupt_entry": "1us"}},
    "events": [{"id": "ready"}],
    "workloops": [{"id": "wl", "sources": [{"id": "a", "kind": "interrupt", "action": "40us"},
                                           {"id": "f", "kind": "filter_interrupt", "filter": "2us", "accept": 0.5, "action": "30us"}]},
                  {"id": "wl2", "priority": 70}],
    "interrupts": [{"id": "i1", "arrival": {"periodic": "700us", "jitter": "300us"}, "handler": "5us", "source": "wl.a"},
                   {"id": "i2", "cpu": 1, "arrival": {"poisson": "3000/s"}, "handler": "4us", "source": "wl.f"},
                   {"id": "i3", "arrival": {"at": ["1ms", "1ms", "2ms"]}, "handler": "3us"}],
    "timers": [{"id": "t", "workloop": "wl", "action": "100us"}],
    "devices": [{"id": "ctl", "workloop": "wl2", "service": "50us"}, {"id": "disk", "provider": "ctl", "service": "1ms"}],
    "threads": [
      {"id": "io", "program": [{"op": "loop", "forever": true, "body": [
        {"op": "io", "device": "disk", "for": "80us"}, {"op": "run", "for": {"exponential": "300us"}}]}]},
      {"id": "drv", "kernel": true, "program": [{"op": "loop", "forever": true, "body": [
        {"op": "run_action", "workloop": "wl", "for": "120us"}, {"op": "run", "for": {"uniform": ["10us", "200us"]}},
        {"op": "timer_arm", "timer": "t", "after": "150us"},
        {"op": "sleep", "for": {"exponential": "200us"}},
        {"op": "run_action", "workloop": "wl", "for": "50us"}, {"op": "timer_cancel", "timer": "t"},
        {"op": "run_action", "workloop": "wl", "for": "5us"}, {"op": "command_sleep", "workloop": "wl", "event": "ready"}]}]},
      {"id": "wk", "period": "1ms", "program": [
        {"op": "command_wakeup", "workloop": "wl", "event": "ready"}, {"op": "run", "for": "50us"}]},
      {"id": "bus", "start": "250ms", "program": [{"op": "terminate", "device": "ctl"}]}
    ]})";
  scenario::LoadResult loaded = scenario::load_scenario_text(text, "iokit.json");
  INFO(loaded.diagnostics.format());
  REQUIRE(loaded.scenario);
  CHECK(sim::run::check_supported(*loaded.scenario).empty());
  sim::run::Options o;
  o.policy = "xnu";
  Traced a = run_traced(*loaded.scenario, o);
  Traced b = run_traced(*loaded.scenario, o);
  CHECK(a.trace.size() > 100'000);
  CHECK(a.trace == b.trace);
  CHECK(a.out.json.dump() == b.out.json.dump());
  o.seed = 4;
  CHECK(run_traced(*loaded.scenario, o).trace != a.trace);
  const auto& disk = a.out.results.devices[1];
  CHECK(disk.offline >= 1);
  CHECK(disk.completed + 1 >= disk.ios);  // at most the one in flight at the end
  CHECK(a.out.json["workloops"]["wl"]["actions"].get<int64_t>() > 100);
}
