// The dispatcher's mechanism under the `fixed` policy: preemption, round robin, placement,
// costs, jobs and kernel-mode rules (xnu-facts.md section 5).
#include <catch2/catch.hpp>

#include "tests/support.hpp"

using namespace testing;
using model::OpKind;

TEST_CASE("dispatcher: two equal CPU-bound threads round robin every quantum", "[dispatcher][unit]") {
  auto s = scenario_of({thread("a", 31, {run_op(ms(1000))}), thread("b", 31, {run_op(ms(1000))})}, ms(45));
  Run r = run(s);
  // xnu-facts.md 5.3: in the first timeslice only a strictly higher thread preempts; at the
  // quantum's end an equal one does, so the CPU alternates every 10 ms.
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->a", "10000us cpu0 a->b", "20000us cpu0 b->a",
                                                  "30000us cpu0 a->b", "40000us cpu0 b->a"});
  CHECK(r.thread("a").cpu_time_ns == 25'000'000);
  CHECK(r.thread("b").cpu_time_ns == 20'000'000);
  CHECK(r.thread("a").preemptions == 2);
}

TEST_CASE("dispatcher: a woken higher-priority thread preempts at once", "[dispatcher][unit]") {
  auto s = scenario_of({thread("low", 20, {run_op(ms(100))}),
                        thread("high", 40, {sleep_op(ms(5)), run_op(ms(1))})},
                       ms(20));
  Run r = run(s);
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->high", "0us cpu0 high->low",
                                                  "5000us cpu0 low->high", "6000us cpu0 high->low"});
  CHECK(r.thread("high").latency_ns.max == 0);
  CHECK(r.thread("high").response_ns.max == 6'000'000);
  CHECK(r.thread("low").preemptions == 1);
}

TEST_CASE("dispatcher: a preempted thread returns to the head of its level with its remainder",
          "[dispatcher][unit]") {
  // a runs from 0; high preempts at 3 ms for 1 ms; a keeps 7 ms of its quantum (xnu-facts 5.3),
  // so it runs 4..11 ms before b gets the CPU.
  auto s = scenario_of({thread("a", 31, {run_op(ms(100))}), thread("b", 31, {run_op(ms(100))}),
                        thread("high", 50, {sleep_op(ms(3)), run_op(ms(1))})},
                       ms(12));
  s.threads[2].start = Duration{};
  Run r = run(s);
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->high", "0us cpu0 high->a", "3000us cpu0 a->high",
                                                  "4000us cpu0 high->a", "11000us cpu0 a->b"});
}

TEST_CASE("dispatcher: a woken thread goes to an idle CPU, its last CPU first", "[dispatcher][unit]") {
  auto s = scenario_of({thread("busy", 31, {run_op(ms(50))}),
                        thread("w", 40, {loop_op({run_op(ms(1)), sleep_op(ms(2))}, 3)})},
                       ms(20), 2);
  Run r = run(s);
  const auto& w = r.thread("w");
  CHECK(w.migrations == 0);
  CHECK(w.latency_ns.max == 0);
  CHECK(r.thread("busy").preemptions == 0);
  CHECK(w.cpu_time_ns == 3'000'000);
}

TEST_CASE("dispatcher: the lowest-priority CPU is preempted when none is idle", "[dispatcher][unit]") {
  auto s = scenario_of({thread("p20", 20, {run_op(ms(50))}), thread("p30", 30, {run_op(ms(50))}),
                        thread("hi", 45, {sleep_op(ms(1)), run_op(ms(1))})},
                       ms(10), 2);
  Run r = run(s);
  CHECK(r.thread("p20").preemptions == 1);
  CHECK(r.thread("p30").preemptions == 0);
  CHECK(r.thread("hi").latency_ns.max == 0);
}

TEST_CASE("dispatcher: a bound thread runs only on its CPU", "[dispatcher][unit]") {
  auto s = scenario_of({thread("hog", 50, {run_op(ms(30))}), thread("bound", 40, {run_op(ms(5))})}, ms(40), 2);
  s.threads[1].cpu = 0;
  s.threads[0].cpu = 0;
  Run r = run(s);
  // CPU 1 stays idle: the bound thread waits for the hog on CPU 0.
  CHECK(r.thread("bound").response_ns.max == 35'000'000);
  CHECK(r.out.results.cpus[1].busy_ns == 0);
  CHECK(r.out.results.cpus[0].busy_ns == 35'000'000);
}

TEST_CASE("dispatcher: switch and wakeup costs are charged to the CPU, not the thread", "[dispatcher][unit]") {
  auto s = scenario_of({thread("t", 31, {loop_op({run_op(ms(1)), sleep_op(ms(1))}, 3)})}, ms(20));
  s.machine.costs.context_switch = us(10);
  s.machine.costs.thread_wakeup = us(5);
  Run r = run(s);
  const auto& t = r.thread("t");
  CHECK(t.cpu_time_ns == 3'000'000);
  // Four dispatches (three runs, then one to finish after the last sleep), each paying 10 us
  // switch + 5 us wakeup before the thread runs: the job ends at 4 x 15 us + 3 ms run + 3 ms sleep.
  CHECK(r.out.results.cpus[0].overhead_ns == 60'000);
  CHECK(r.out.results.cpus[0].busy_ns == 3'060'000);
  CHECK(t.latency_ns.max == 15'000);
  CHECK(t.latency_ns.count == 4);
  CHECK(t.response_ns.max == 6'060'000);
}

TEST_CASE("dispatcher: a job released while the previous one runs waits for it", "[dispatcher][unit]") {
  auto s = scenario_of({thread("p", 31, {run_op(ms(15))})}, ms(35));
  s.threads[0].period = ms(10);
  Run r = run(s);
  const auto& p = r.thread("p");
  // Jobs at 0, 10, 20, 30: completions at 15, 30 -> responses 15 and 20 ms; jobs 2 and 3 pending.
  CHECK(p.jobs == 2);
  CHECK(p.response_ns.min == 15'000'000);
  CHECK(p.response_ns.max == 20'000'000);
  // Deadlines (= period) missed: job 0 at 15 > 10, job 1 at 30 > 20, job 2 still running past 30.
  CHECK(p.deadline_misses == 3);
}

TEST_CASE("dispatcher: sleep_until_next_period ends the job early", "[dispatcher][unit]") {
  auto s = scenario_of({thread("p", 31, {run_op(ms(2)), simple_op(OpKind::sleep_until_next_period), run_op(ms(50))})},
                       ms(50));
  s.threads[0].period = ms(10);
  Run r = run(s);
  CHECK(r.thread("p").jobs == 5);
  CHECK(r.thread("p").cpu_time_ns == 10'000'000);
  CHECK(r.thread("p").deadline_misses == 0);
}

TEST_CASE("dispatcher: yield goes to the tail of the level and back if alone", "[dispatcher][unit]") {
  auto s = scenario_of({thread("a", 31, {run_op(ms(1)), simple_op(OpKind::yield), run_op(ms(1))}),
                        thread("b", 31, {run_op(ms(1))})},
                       ms(10));
  Run r = run(s);
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->a", "1000us cpu0 a->b", "2000us cpu0 b->a",
                                                  "3000us cpu0 a->idle"});
  auto solo = scenario_of({thread("a", 31, {run_op(ms(1)), simple_op(OpKind::yield), run_op(ms(1))})}, ms(10));
  Run r2 = run(solo);
  CHECK(r2.switches(solo) == std::vector<std::string>{"0us cpu0 idle->a", "2000us cpu0 a->idle"});
}

TEST_CASE("dispatcher: lowering its own priority below a queued thread yields the CPU", "[dispatcher][unit]") {
  auto s = scenario_of({thread("a", 40, {run_op(ms(1)), set_priority_op(20), run_op(ms(1))}),
                        thread("b", 30, {run_op(ms(1))})},
                       ms(10));
  Run r = run(s);
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->a", "1000us cpu0 a->b", "2000us cpu0 b->a",
                                                  "3000us cpu0 a->idle"});
  CHECK(r.thread("a").min_sched_pri == 20);
  CHECK(r.thread("a").max_sched_pri == 40);
}

TEST_CASE("dispatcher: kernel threads at the same priority do not round robin", "[dispatcher][fidelity]") {
  // xnu-facts.md 5.6 and check 9: kernel-mode code is preempted only by urgent ASTs, so a
  // quantum expiry of a spinning kernel thread at 81 lets nothing else at 81 run.
  auto s = scenario_of({thread("k1", 81, {run_op(ms(50))}), thread("k2", 81, {run_op(ms(5))})}, ms(100));
  s.threads[0].kernel = s.threads[1].kernel = true;
  Run r = run(s, "xnu");
  CHECK(r.switches(s) == std::vector<std::string>{"0us cpu0 idle->k1", "50000us cpu0 k1->k2", "55000us cpu0 k2->idle"});
  CHECK_FALSE(r.trace.of(core::TraceKind::preempt_deferred).empty());
}

TEST_CASE("dispatcher: an urgent thread preempts kernel-mode code at once", "[dispatcher][fidelity]") {
  // xnu-facts.md 5.5: a fixed thread at 94 (thread_call) is TH_MODE_PREEMPT, hence urgent.
  auto s = scenario_of({thread("k1", 81, {run_op(ms(50))}), thread("callout", 94, {sleep_op(ms(3)), run_op(ms(1))}),
                        thread("k90", 90, {sleep_op(ms(3)), run_op(ms(1))})},
                       ms(100));
  s.threads[0].kernel = s.threads[1].kernel = s.threads[2].kernel = true;
  Run r = run(s);
  CHECK(r.thread("callout").latency_ns.max == 0);
  // 90 is below BASEPRI_PREEMPT (93), so k90 is not urgent; it runs once the callout exits,
  // ahead of k1 (lower), which was switched out by the urgent preemption.
  CHECK(r.thread("k90").latency_ns.max == 1'000'000);
}

TEST_CASE("dispatcher: a yield to a named thread hands it the CPU and the rest of the quantum",
          "[dispatcher][fidelity]") {
  // xnu-facts.md 5.3: a hand-off (thread_switch to a thread) passes the remainder to the new
  // thread; the caller goes to the tail. a yields to c at 3 ms: c runs 3..10 ms (a's 7 ms),
  // then its quantum ends and b, queued first, gets the CPU.
  model::Op to_c = simple_op(OpKind::yield);
  to_c.ref = 2;
  auto s = scenario_of({thread("a", 31, {run_op(ms(3)), to_c, run_op(ms(1))}), thread("b", 31, {run_op(ms(20))}),
                        thread("c", 31, {run_op(ms(20))})},
                       ms(25));
  Run r = run(s);
  auto sw = r.switches(s);
  REQUIRE(sw.size() >= 4);
  CHECK(std::vector<std::string>(sw.begin(), sw.begin() + 4) ==
        std::vector<std::string>{"0us cpu0 idle->a", "3000us cpu0 a->c", "10000us cpu0 c->b", "20000us cpu0 b->a"});
  auto switched = r.trace.of(core::TraceKind::switched);
  CHECK(switched[1].reason == static_cast<uint8_t>(core::SwitchReason::handoff));
  // A yield to a thread that is not waiting for a CPU is a plain yield.
  model::Op to_self = simple_op(OpKind::yield);
  to_self.ref = 0;
  auto solo = scenario_of({thread("a", 31, {run_op(ms(1)), to_self, run_op(ms(1))})}, ms(5));
  Run r2 = run(solo);
  CHECK(r2.switches(solo) == std::vector<std::string>{"0us cpu0 idle->a", "2000us cpu0 a->idle"});
}
