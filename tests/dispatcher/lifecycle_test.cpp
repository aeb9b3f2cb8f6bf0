// Threads created and ended at run time (create_thread, exit_thread, terminate_thread) and the
// xnu-517 funnel calls at run time (funnel_switch, funnel_merge): docs/threads.md. Each case
// names the routine it follows; expected values are derived in the comments.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "sim/scenario/loader.hpp"
#include "tests/support.hpp"

using namespace testing;

namespace {

Traced traced(const scenario::Scenario& s, const std::string& policy = "xnu") { return run_traced(s, policy); }

Traced traced(const std::string& text, const std::string& policy = "xnu") { return traced(load_text(text), policy); }

std::string make_scenario(const std::string& machine, const std::string& threads, const std::string& extra = "",
                     const std::string& duration = "50ms") {
  return R"({"format": "xnusim-scenario", "version": 1, "name": "lc", "duration": ")" + duration +
         R"(", "machine": )" + machine + extra + R"(, "threads": [)" + threads + "]}";
}

}  // namespace

// models xnu-792 iokit/Kernel/IOLib.c IOCreateThread -> osfmk/kern/thread.c kernel_thread_start
// (priority -1): thread_create_internal gives the thread kernel_task->priority, BASEPRI_KERNEL
// = 81 (task.c), without TH_MODE_TIMESHARE; clear_wait(THREAD_AWAKENED) makes it runnable at once.
TEST_CASE("lifecycle: create_thread makes a spawned kernel thread runnable at once at 81, fixed",
          "[dispatcher][fidelity]") {
  // The creator is a user thread (31): the new kernel thread at 81 preempts it at the creation
  // instant, 3 ms, runs its 2 ms and exits at 5 ms; the creator resumes and ends at 3 + 2 + 1 = 6 ms.
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "app", "program": [{"op": "run", "for": "3ms"},
                                  {"op": "create_thread", "thread": "k"}, {"op": "run", "for": "1ms"}]},
                                {"id": "k", "kernel": true, "start": "spawned", "program": [{"op": "run", "for": "2ms"}]})"));
  CHECK(lines_with(t.trace, {"created k", "switched", "exited"}) ==
        std::vector<std::string>{
            "0.000000000 cpu0 switched idle -> app reason=none pri=31",
            "0.003000000 - created k pri=81 kernel by=app",
            "0.003000000 cpu0 switched app -> k reason=preempt pri=81",
            "0.005000000 cpu0 exited k",
            "0.005000000 cpu0 switched k -> app reason=exit pri=31",
            "0.006000000 cpu0 exited app",
            "0.006000000 cpu0 switched app -> idle reason=exit",
        });
  const auto& k = t.out.thread("k");
  CHECK(k.created_ns == 3'000'000);
  CHECK(k.ended_ns == 5'000'000);
  CHECK(k.base_priority == 81);
  CHECK(k.mode == "fixed");
  // Response and latency count from the creation: 5 - 3 = 2 ms and 0.
  CHECK(k.response_ns.max == 2'000'000);
  CHECK(k.latency_ns.max == 0);
  CHECK(t.out.thread("app").created_ns == 0);
  CHECK(t.out.thread("app").ended_ns == 6'000'000);
}

TEST_CASE("lifecycle: a spawned thread that is never created is not in the run; a periodic one is "
          "released from its creation",
          "[dispatcher][unit]") {
  // p is periodic (4 ms) and created at 1 ms: releases at 1, 5, 9 ms, jobs of 1 ms each; in
  // 11 ms, 3 jobs complete (the last at 10 ms), each with response 1 ms (it is alone).
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "c", "kernel": true, "program": [{"op": "sleep", "for": "1ms"},
                                  {"op": "create_thread", "thread": "p"}]},
                                {"id": "p", "start": "spawned", "period": "4ms", "program": [{"op": "run", "for": "1ms"}]})",
                             "", "11ms"));
  const auto& p = t.out.thread("p");
  CHECK(p.created_ns == 1'000'000);
  CHECK(p.jobs == 3);
  CHECK(p.response_ns.max == 1'000'000);
  CHECK(p.deadline_misses == 0);
  CHECK(p.ended_ns == -1);
  CHECK(lines_with(t.trace, {"released p"}) ==
        std::vector<std::string>{"0.001000000 - released p job=0 deadline=0.005000000",
                                 "0.005000000 - released p job=1 deadline=0.009000000",
                                 "0.009000000 - released p job=2 deadline=0.013000000"});
}

// models xnu-792 IOLib.c IOExitThread = thread_terminate(current_thread()); thread_terminate_self
// releases no mutex (xnu-facts: a thread that ends holding a lock).
TEST_CASE("lifecycle: exit_thread ends the thread now, completes its job and leaves its mutex held",
          "[dispatcher][fidelity]") {
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "w", "kernel": true, "program": [{"op": "lock", "lock": "m"},
                                  {"op": "run", "for": "2ms"}, {"op": "exit_thread"}, {"op": "run", "for": "5ms"}]})",
                             R"(, "locks": [{"id": "m", "kind": "mutex"}])"));
  CHECK(lines_with(t.trace, {"completed w", "exited w", "held_at_exit"}) ==
        std::vector<std::string>{
            "0.002000000 cpu0 completed w job=0 response=2ms",
            "0.002000000 cpu0 lock_held_at_exit w lock=m held=2ms waiters=0",
            "0.002000000 cpu0 exited w by=exit_thread",
        });
  CHECK(t.out.thread("w").cpu_time_ns == 2'000'000);  // the op after exit_thread never runs
  CHECK(t.out.thread("w").jobs == 1);
  CHECK(t.out.lock("m").held_at_exit == 1);
}

// models xnu-792 osfmk/kern/thread_act.c thread_terminate: "if (thread->task == kernel_task &&
// thread != current_thread()) return (KERN_FAILURE);"
TEST_CASE("lifecycle: terminate_thread of a kernel thread is refused with KERN_FAILURE",
          "[dispatcher][fidelity]") {
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "a", "kernel": true, "program": [{"op": "terminate_thread", "thread": "b"},
                                  {"op": "terminate_thread", "thread": "later"}, {"op": "run", "for": "1ms"}]},
                                {"id": "b", "kernel": true, "program": [{"op": "sleep", "for": "2ms"}, {"op": "run", "for": "1ms"}]},
                                {"id": "later", "start": "10ms", "program": [{"op": "run", "for": "1ms"}]})"));
  CHECK(lines_with(t.trace, {"terminate_asked"}) ==
        std::vector<std::string>{
            "0.000000000 cpu0 terminate_asked a thread=b kern_return=5 (KERN_FAILURE: a kernel thread)",
            "0.000000000 cpu0 terminate_asked a thread=later kern_return=4 (not created yet)",
        });
  // b lives on: a (first, same level) runs 0-1 ms; b then sleeps 2 ms and runs 1 ms: ends at 4 ms.
  CHECK(t.out.thread("b").ended_ns == 4'000'000);
  CHECK(t.out.thread("later").ended_ns == 11'000'000);
}

// models xnu-792 thread_act.c thread_terminate_internal (act_abort, clear_wait(THREAD_INTERRUPTED),
// thread_wait) and special_handler -> thread_terminate_self at the target's next AST.
TEST_CASE("lifecycle: terminate_thread ends a running user thread on another CPU at once and the "
          "caller waits for it to stop",
          "[dispatcher][fidelity]") {
  // u runs on cpu1 from 0; k (cpu0) sleeps 2 ms, then terminates u: act_set_apc signals cpu1, u
  // takes the AST and ends at 2 ms with 2 ms of CPU time, its job not completed. k's thread_wait
  // returns at once (u is off its CPU at the same instant); k runs 1 ms and ends at 3 ms.
  Traced t = traced(make_scenario(R"({"cpus": 2, "xnu": "792"})",
                             R"({"id": "k", "kernel": true, "cpu": 0, "program": [{"op": "sleep", "for": "2ms"},
                                  {"op": "terminate_thread", "thread": "u"}, {"op": "run", "for": "1ms"}]},
                                {"id": "u", "cpu": 1, "program": [{"op": "run", "for": "10ms"}]})"));
  CHECK(lines_with(t.trace, {"terminate_asked", "exited", "thread_wait"}) ==
        std::vector<std::string>{
            "0.002000000 cpu0 terminate_asked k thread=u kern_return=0",
            "0.002000000 cpu0 blocked k on=thread_wait object=u",
            "0.002000000 cpu1 exited u terminated_by=k",
            "0.003000000 cpu0 exited k",
        });
  const auto& u = t.out.thread("u");
  CHECK(u.cpu_time_ns == 2'000'000);
  CHECK(u.jobs == 0);
  CHECK(u.ended_ns == 2'000'000);
  CHECK(t.out.thread("k").ended_ns == 3'000'000);
}

// A thread waiting for a mutex is in an uninterruptible wait (lck_mtx_lock_wait, THREAD_UNINT):
// clear_wait fails, and the abort takes effect only when it returns to user mode, after
// lck_mtx_lock has acquired the mutex; thread_terminate_self releases nothing.
TEST_CASE("lifecycle: a user thread terminated while it waits for a mutex dies owning it",
          "[dispatcher][fidelity]") {
  // One CPU. h (kernel 81) holds m from 0, sleeps 1 ms, unlocks at 3 ms. w (user) asks for m at
  // 0 (h sleeps holding it), blocks. At 2 ms k (kernel 81) terminates w: w's wait is
  // uninterruptible, w stays blocked, so thread_wait returns at once (TH_RUN is clear). At 3 ms
  // h unlocks, w is woken, acquires m and ends at its AST holding it: lock_held_at_exit.
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "h", "kernel": true, "program": [{"op": "lock", "lock": "m"},
                                  {"op": "sleep", "for": "3ms"}, {"op": "unlock", "lock": "m"}]},
                                {"id": "w", "program": [{"op": "lock", "lock": "m"}, {"op": "run", "for": "5ms"},
                                  {"op": "unlock", "lock": "m"}]},
                                {"id": "k", "kernel": true, "program": [{"op": "sleep", "for": "2ms"},
                                  {"op": "terminate_thread", "thread": "w"}]})",
                             R"(, "locks": [{"id": "m", "kind": "mutex"}])"));
  CHECK(lines_with(t.trace, {"terminate_asked", "exited w", "held_at_exit", "lock_acquired w"}) ==
        std::vector<std::string>{
            "0.002000000 cpu0 terminate_asked k thread=w kern_return=0",
            "0.003000000 cpu0 lock_acquired w lock=m waited=3ms",
            "0.003000000 cpu0 lock_held_at_exit w lock=m held=0ns waiters=0",
            "0.003000000 cpu0 exited w terminated_by=k",
        });
  CHECK(t.out.thread("w").cpu_time_ns == 0);
  CHECK(t.out.thread("k").ended_ns == 2'000'000);  // thread_wait did not block it
  CHECK(t.out.lock("m").held_at_exit == 1);
}

TEST_CASE("lifecycle: terminate_thread interrupts an interruptible wait but not a plain sleep",
          "[dispatcher][fidelity]") {
  // i waits interruptibly on e (never signalled), s sleeps 10 ms (uninterruptible). At 1 ms k
  // terminates both: i is woken THREAD_INTERRUPTED and ends at 1 ms (k waits for it in
  // thread_wait); s ends when its sleep ends, at 10 ms. A second terminate of i gives
  // KERN_TERMINATED (37).
  Traced t = traced(make_scenario(R"({"cpus": 1, "xnu": "792"})",
                             R"({"id": "i", "program": [{"op": "wait", "event": "e", "interruptible": true}]},
                                {"id": "s", "program": [{"op": "sleep", "for": "10ms"}, {"op": "run", "for": "1ms"}]},
                                {"id": "k", "kernel": true, "program": [{"op": "sleep", "for": "1ms"},
                                  {"op": "terminate_thread", "thread": "i"}, {"op": "terminate_thread", "thread": "s"},
                                  {"op": "terminate_thread", "thread": "i"}]})",
                             R"(, "events": [{"id": "e"}])"));
  CHECK(lines_with(t.trace, {"terminate_asked", "exited", "woke i reason=interrupted"}) ==
        std::vector<std::string>{
            "0.001000000 cpu0 terminate_asked k thread=i kern_return=0",
            "0.001000000 - woke i reason=interrupted pri=31",
            "0.001000000 cpu0 exited i terminated_by=k",
            "0.001000000 cpu0 terminate_asked k thread=s kern_return=0",
            "0.001000000 cpu0 terminate_asked k thread=i kern_return=37 (KERN_TERMINATED)",
            "0.001000000 cpu0 exited k",
            "0.010000000 cpu0 exited s terminated_by=k",
        });
  CHECK(t.out.thread("s").cpu_time_ns == 0);
}

// The chapter, Kernel Thread APIs: "If you fail to deactivate a timer, a kernel panic will occur
// when the timer expires."
TEST_CASE("lifecycle: a timer armed by a thread that was terminated panics when it fires; a "
          "cancelled one does not",
          "[iokit][fidelity]") {
  auto text = [](bool cancel) {
    std::string client = std::string(R"({"id": "c", "program": [{"op": "timer_arm", "timer": "tm", "after": "5ms"},)") +
                         (cancel ? R"({"op": "timer_cancel", "timer": "tm"},)" : "") +
                         R"({"op": "run", "for": "8ms"}]})";
    return make_scenario(R"({"cpus": 1, "xnu": "792"})",
                    client + R"(, {"id": "k", "kernel": true, "program": [{"op": "sleep", "for": "1ms"},
                               {"op": "terminate_thread", "thread": "c"}]})",
                    R"(, "workloops": [{"id": "wl"}], "timers": [{"id": "tm", "workloop": "wl", "action": "10us"}])",
                    "20ms");
  };
  Traced armed = traced(text(false));
  REQUIRE(armed.out.results.system.panics.size() == 1);
  CHECK(armed.out.results.system.panics[0].find(
            "timer \"tm\" expired after thread \"c\", which armed it, was terminated by \"k\" without cancelling it") !=
        std::string::npos);
  CHECK(armed.out.results.system.panics[0].find("panic at 0.005000000 s") != std::string::npos);
  Traced cancelled = traced(text(true));
  CHECK(cancelled.out.results.system.panics.empty());
  CHECK(cancelled.out.thread("c").ended_ns == 1'000'000);
}

// models xnu-517 bsd/kern/bsd_init.c thread_funnel_switch: thread_funnel_set(old, FALSE) then
// thread_funnel_set(new, TRUE).
TEST_CASE("lifecycle: funnel_switch releases the old funnel before it waits for the new one",
          "[sync][fidelity]") {
  Traced t = traced(load_bundled("scenarios/funnels/switch-holds-neither.json"));
  CHECK(lines_with(t.trace, {"lock_acquired", "lock_released"}) ==
        std::vector<std::string>{
            "0.000000000 cpu0 lock_acquired nfs lock=kernel_funnel waited=0ns",
            "0.000000000 cpu1 lock_acquired net lock=network_funnel waited=0ns",
            // the switch: kernel funnel released first, fs takes it while nfs waits
            "0.002000000 cpu0 lock_released nfs lock=kernel_funnel held=2ms",
            "0.002000000 cpu2 lock_acquired fs lock=kernel_funnel waited=1ms",
            "0.003000000 cpu1 lock_released net lock=network_funnel held=3ms",
            "0.003000000 cpu2 lock_released fs lock=kernel_funnel held=1ms",
            "0.003000000 cpu0 lock_acquired nfs lock=network_funnel waited=1ms",
            "0.005000000 cpu0 lock_released nfs lock=network_funnel held=2ms",
            "0.005000000 cpu0 lock_acquired nfs lock=kernel_funnel waited=0ns",
            "0.006000000 cpu0 lock_released nfs lock=kernel_funnel held=1ms",
        });
}

TEST_CASE("lifecycle: funnel_switch panics without the funnel it switches from, and does nothing "
          "with merged funnels",
          "[sync][fidelity]") {
  std::string prog = R"({"id": "t", "kernel": true, "program": [{"op": "funnel", "funnel": "network"}, {"op": "run", "for": "1ms"},
                          {"op": "funnel_switch", "from": "kernel", "to": "network"}, {"op": "run", "for": "1ms"}]})";
  Traced split = traced(make_scenario(R"({"cpus": 1, "xnu": "517"})", prog));
  REQUIRE(split.out.results.system.panics.size() == 1);
  CHECK(split.out.results.system.panics[0].find("thread_funnel_switch: kernel funnel not held") != std::string::npos);
  // disable_funnel: thread_funnel_switch returns TRUE at once (bsd_init.c).
  Traced merged = traced(make_scenario(R"({"cpus": 1, "xnu": "517", "funnels": "merged"})", prog));
  CHECK(merged.out.results.system.panics.empty());
  CHECK(merged.out.thread("t").ended_ns == 2'000'000);
}

// models xnu-517 osfmk/kern/thread.c thread_funnel_merge and funnel_lock's restart.
TEST_CASE("lifecycle: funnel_merge waits for the network funnel, then both names are one lock for good",
          "[sync][fidelity]") {
  Traced t = traced(load_bundled("scenarios/funnels/merge-at-run-time.json"));
  CHECK(lines_with(t.trace, {"funnel_merged"}) ==
        std::vector<std::string>{"0.004000000 cpu0 funnel_merged merger kern_return=0"});
  CHECK(t.out.results.system.panics.empty());
  CHECK(t.out.lock("network_funnel").acquisitions == 2);
  CHECK(t.out.lock("kernel_funnel").acquisitions == 4);
  CHECK(t.out.thread("merger").blocked_ns == 3'000'000);
}

TEST_CASE("lifecycle: a thread waiting for the network funnel's old mutex when the funnels merge "
          "takes it, lets it go and locks the merged funnel",
          "[sync][fidelity]") {
  // Three CPUs. n holds the network funnel 0-3 ms. m takes the kernel funnel, and at 1 ms
  // merges: the network mutex is held, so m spins 10 us and sleeps first in its queue (dropping
  // the kernel funnel). w asks for the network funnel at 2 ms and queues behind m. At 3 ms n
  // releases: m is woken, re-takes the kernel funnel, gets the network mutex, merges and unlocks
  // it, which wakes w. w was inside mutex_lock(otherm): it takes the old mutex, sees it is no
  // longer the funnel's (funnel_lock's restart), lets it go and locks the merged funnel's mutex,
  // which m holds while it computes 3-5 ms: w gets it at 5 ms, 2 ms after it started on it.
  Traced t = traced(make_scenario(R"({"cpus": 3, "xnu": "517"})",
                             R"({"id": "n", "cpu": 0, "program": [{"op": "funnel", "funnel": "network"},
                                  {"op": "run", "for": "3ms"}, {"op": "funnel", "funnel": "none"}]},
                                {"id": "m", "cpu": 1, "program": [{"op": "funnel", "funnel": "kernel"},
                                  {"op": "run", "for": "1ms"}, {"op": "funnel_merge"},
                                  {"op": "run", "for": "2ms"}, {"op": "funnel", "funnel": "none"}]},
                                {"id": "w", "cpu": 2, "start": "2ms", "program": [{"op": "funnel", "funnel": "network"},
                                  {"op": "run", "for": "1ms"}, {"op": "funnel", "funnel": "none"}]})"));
  CHECK(t.out.results.system.panics.empty());
  CHECK(lines_with(t.trace, {"funnel_merged", "lock_acquired w", "lock_released w"}) ==
        std::vector<std::string>{
            "0.003000000 cpu1 funnel_merged m kern_return=0",
            "0.003000000 cpu2 lock_acquired w lock=network_funnel waited=1ms",
            "0.003000000 cpu2 lock_released w lock=network_funnel held=0ns",
            "0.005000000 cpu2 lock_acquired w lock=kernel_funnel waited=2ms",
            "0.006000000 cpu2 lock_released w lock=kernel_funnel held=1ms",
        });
  CHECK(t.out.thread("w").ended_ns == 6'000'000);
}

// ast_taken runs the special handler only at a safe point: IOCommandGate::runAction is kernel code
// on the caller's thread (kernel_depth > 0), so the abort waits until the action returns and the
// gate is open again.
TEST_CASE("lifecycle: a thread terminated inside runAction finishes the action and opens the gate first",
          "[dispatcher][fidelity]") {
  // u (cpu1) runs a 3 ms action from 0; k (cpu0) terminates it at 1 ms and waits in thread_wait.
  // u returns from runAction at 3 ms (gate released, held 3 ms), then ends: its next 5 ms run never
  // starts. k resumes at 3 ms, runs 1 ms, ends at 4 ms.
  Traced t = traced(make_scenario(R"({"cpus": 2, "xnu": "792"})",
                                  R"({"id": "k", "kernel": true, "cpu": 0, "program": [{"op": "sleep", "for": "1ms"},
                                       {"op": "terminate_thread", "thread": "u"}, {"op": "run", "for": "1ms"}]},
                                     {"id": "u", "cpu": 1, "program": [{"op": "run_action", "workloop": "wl", "for": "3ms"},
                                       {"op": "run", "for": "5ms"}]})",
                                  R"(, "workloops": [{"id": "wl"}])", "20ms"));
  CHECK(lines_with(t.trace, {"terminate_asked", "exited", "lock_released u"}) ==
        std::vector<std::string>{
            "0.001000000 cpu0 terminate_asked k thread=u kern_return=0",
            "0.003000000 cpu1 lock_released u lock=wl.gate held=3ms",
            "0.003000000 cpu1 exited u terminated_by=k",
            "0.004000000 cpu0 exited k",
        });
  CHECK(t.out.thread("u").cpu_time_ns == 3'000'000);
  CHECK(t.out.lock("wl.gate").held_at_exit == 0);
}
