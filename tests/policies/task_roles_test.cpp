// Fidelity of the task and pthread interfaces at run time under the `xnu` policy: task_policy_set
// roles (xnu-792 osfmk/kern/task_policy.c task_policy_set, task_priority, task_importance),
// setpriority (bsd/kern/kern_resource.c donice) and pthread_setschedparam (Libc-391
// pthreads/pthread.c -> osfmk/kern/mk_sp.c thread_policy, thread_set_policy,
// thread_policy_common). The code is the same in xnu-517.12.7 but for names (MAXPRI_SYSTEM,
// MINPRI_SYSTEM), so each check runs under both releases.
#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "tests/support.hpp"

using namespace testing;

namespace {

const char* const kReleases[] = {"517", "792"};

scenario::Scenario one_cpu(const std::string& release, const std::string& threads) {
  return load_text(R"({"format": "xnusim-scenario", "version": 1, "duration": "100ms", "policy": "xnu",
    "machine": {"cpus": 1, "xnu": ")" + release + R"("}, "threads": [)" + threads + "]}");
}

// (thread, base) of every mode_changed event made by `call`, in order.
std::vector<std::pair<int32_t, int64_t>> bases(const Run& r, core::PolicyCall call) {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (const auto& e : r.trace.of(core::TraceKind::mode_changed))
    if (e.reason == static_cast<uint8_t>(call)) out.emplace_back(e.thread, e.b);
  return out;
}

// (thread, code) of every set_mode_failed event made by `call`, in order.
std::vector<std::pair<int32_t, int64_t>> refusals(const Run& r, core::PolicyCall call) {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (const auto& e : r.trace.of(core::TraceKind::set_mode_failed))
    if (e.reason == static_cast<uint8_t>(call)) out.emplace_back(e.thread, e.a);
  return out;
}

using P = std::pair<int32_t, int64_t>;

}  // namespace

TEST_CASE("task roles: task_priority() renews every thread of the task, importance kept", "[policies][fidelity]") {
  // task_policy_set FOREGROUND: task_priority(task, BASEPRI_FOREGROUND 47, max_priority 63),
  // which walks task->threads and calls thread_task_priority -> thread_recompute_priority:
  // base = importance + 47 clamped to [0, 63]. Importances from thread_create_internal
  // (declared - 31): a 0, b 40 - 31 = 9, c 20 - 31 = -11; the real-time d stays at 97
  // (BASEPRI_RTQUEUES); e has exited (thread->active false: skipped). BACKGROUND then gives 46:
  // a 46, b 55, c 35. A thread of another task is untouched.
  for (const char* rel : kReleases) {
    INFO(rel);
    auto s = one_cpu(rel, R"(
      {"id": "e", "task": "app", "program": [{"op": "run", "for": "1ms"}]},
      {"id": "a", "task": "app", "start": "2ms", "program": [
        {"op": "task_policy", "role": "foreground"}, {"op": "run", "for": "1ms"},
        {"op": "task_policy", "role": "background"}, {"op": "run", "for": "1ms"}]},
      {"id": "b", "task": "app", "priority": 40, "start": "50ms", "program": [{"op": "run", "for": "1ms"}]},
      {"id": "c", "task": "app", "priority": 20, "start": "50ms", "program": [{"op": "run", "for": "1ms"}]},
      {"id": "d", "task": "app", "mode": "realtime", "realtime": {"computation": "1ms", "constraint": "2ms"},
       "start": "50ms", "program": [{"op": "run", "for": "1ms"}]},
      {"id": "other", "task": "tool", "start": "50ms", "program": [{"op": "run", "for": "1ms"}]})");
    Run r = run(s, "xnu");
    CHECK(bases(r, core::PolicyCall::task_policy_set) ==
          std::vector<P>{{1, 47}, {2, 56}, {3, 36}, {4, 97}, {1, 46}, {2, 55}, {3, 35}, {4, 97}});
    // When b and c start (50 ms) they run at what the background role left: 55 and 35.
    std::vector<P> dispatched;
    for (const auto& e : r.trace.of(core::TraceKind::switched))
      if (e.other == 2 || e.other == 3) dispatched.emplace_back(e.other, e.b);
    CHECK(dispatched == std::vector<P>{{2, 55}, {3, 35}});
    CHECK(r.thread("other").max_sched_pri == 31);
    CHECK(refusals(r, core::PolicyCall::task_policy_set).empty());
  }
}

TEST_CASE("task roles: control and graphics server need root and the task itself; the other rules",
          "[policies][fidelity]") {
  // task_policy_set TASK_CATEGORY_POLICY, in the order of the ops:
  //  user: CONTROL refused (sec_token uid != 0): 4. FOREGROUND from UNSPECIFIED: 47.
  //  root: CONTROL for the task of `user` refused (task != current_task()): 4. GRAPHICS_SERVER
  //    for itself: task_priority(76, 79): base 76. FOREGROUND as a graphics server: the default
  //    branch of the role switch, 4. CONTROL as a graphics server: allowed, priority 48 with the
  //    limit kept at 79 (task_priority(task, BASEPRI_CONTROL, task->max_priority)). BACKGROUND as
  //    a control application: "fail silently", KERN_SUCCESS and nothing (0). UNSPECIFIED: no
  //    branch takes it, 4. A role for kernel_task: 4.
  for (const char* rel : kReleases) {
    INFO(rel);
    auto s = one_cpu(rel, R"(
      {"id": "user", "task": "app", "program": [
        {"op": "task_policy", "role": "control"}, {"op": "task_policy", "role": "foreground"},
        {"op": "run", "for": "1ms"}]},
      {"id": "root", "task": "ws", "root": true, "start": "5ms", "program": [
        {"op": "task_policy", "role": "control", "task": "app"},
        {"op": "task_policy", "role": "graphics_server"},
        {"op": "task_policy", "role": "foreground"},
        {"op": "task_policy", "role": "control"},
        {"op": "task_policy", "role": "background"},
        {"op": "task_policy", "role": "unspecified"},
        {"op": "task_policy", "role": "background", "task": "kernel_task"},
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 90},
        {"op": "run", "for": "1ms"}]})");
    Run r = run(s, "xnu");
    CHECK(bases(r, core::PolicyCall::task_policy_set) == std::vector<P>{{0, 47}, {1, 76}, {1, 48}});
    CHECK(refusals(r, core::PolicyCall::task_policy_set) == std::vector<P>{{0, 4}, {1, 4}, {1, 4}, {1, 0}, {1, 4}, {1, 4}});
    // The limit kept at 79 after CONTROL: pthread priority 90 >= max_priority 79 gives 79
    // (thread_policy_common), which an ordinary task (limit 63) could not reach.
    CHECK(bases(r, core::PolicyCall::pthread_setschedparam) == std::vector<P>{{1, 79}});
    CHECK(r.thread("root").max_sched_pri == 79);
  }
}

TEST_CASE("task roles: setpriority renices the task as donice and task_importance do", "[policies][fidelity]") {
  // donice: n clamped to [PRIO_MIN -20, PRIO_MAX 20]; EACCES (13) when n < p_nice and not root;
  // resetpriority -> task_importance(task, -n) -> task_priority(task, 31 - n, 63), role RENICED.
  //  user: nice 30 -> 20: 31 - 20 = 11; nice 5 < 20: EACCES, unchanged; FOREGROUND now ignored
  //    (role RENICED: "fail silently", 0).
  //  root: nice -50 -> -20: 31 + 20 = 51 (a root process may lower it); its sibling `peer`
  //    (declared 35, importance 4) gets 55.
  //  ctl (root, CONTROL 48): nice 10 -> task_importance refuses a role >= CONTROL (4): stays 48.
  //  kern (kernel thread): task_importance refuses kernel_task (4).
  for (const char* rel : kReleases) {
    INFO(rel);
    auto s = one_cpu(rel, R"(
      {"id": "user", "task": "app", "program": [
        {"op": "setpriority", "nice": 30}, {"op": "setpriority", "nice": 5},
        {"op": "task_policy", "role": "foreground"}, {"op": "run", "for": "1ms"}]},
      {"id": "root", "task": "daemon", "root": true, "start": "5ms", "program": [
        {"op": "setpriority", "nice": -50}, {"op": "run", "for": "1ms"}]},
      {"id": "peer", "task": "daemon", "root": true, "priority": 35, "start": "50ms",
       "program": [{"op": "run", "for": "1ms"}]},
      {"id": "ctl", "task": "dock", "root": true, "start": "10ms", "program": [
        {"op": "task_policy", "role": "control"}, {"op": "setpriority", "nice": 10}, {"op": "run", "for": "1ms"}]},
      {"id": "kern", "kernel": true, "start": "15ms", "program": [
        {"op": "setpriority", "nice": 5}, {"op": "run", "for": "1ms"}]})");
    Run r = run(s, "xnu");
    CHECK(bases(r, core::PolicyCall::setpriority) == std::vector<P>{{0, 11}, {1, 51}, {2, 55}});
    CHECK(refusals(r, core::PolicyCall::setpriority) == std::vector<P>{{0, 13}, {3, 4}, {4, 4}});
    CHECK(refusals(r, core::PolicyCall::task_policy_set) == std::vector<P>{{0, 0}});
    CHECK(r.thread("user").min_sched_pri == 11);
    CHECK(r.thread("ctl").min_sched_pri == 31);
    CHECK(r.thread("ctl").max_sched_pri == 48);
    CHECK(r.thread("kern").max_sched_pri == 81);
  }
}

TEST_CASE("task roles: pthread_setschedparam maps the priority by band onto the task's", "[policies][fidelity]") {
  // thread_policy_common: p >= max_priority -> max_priority - task_priority; p >= MINPRI_KERNEL
  // (80) -> p - 80; p >= MINPRI_RESERVED (64) -> p - 64; else p - 31; then + task_priority,
  // clamped to [0, max_priority]; SCHED_FIFO and SCHED_RR make the thread fixed, SCHED_OTHER
  // timeshare. For a task of priority 31, limit 63: 47 -> 47, 15 -> 15, 0 -> 0, 62 -> 62,
  // 63 -> 63, 64 -> 63, 80 -> 63 (>= max first), 127 -> 63. invalid_pri: -1 and 128 refused (4).
  // A real-time thread is left alone, KERN_SUCCESS (0).
  for (const char* rel : kReleases) {
    INFO(rel);
    std::string ops;
    for (int p : {47, 15, 0, 62, 63, 64, 80, 127, -1, 128})
      ops += R"({"op": "pthread_setschedparam", "policy": "SCHED_RR", "priority": )" + std::to_string(p) + "},";
    auto s = one_cpu(rel, R"(
      {"id": "t", "task": "app", "program": [)" + ops + R"(
        {"op": "pthread_setschedparam", "policy": "SCHED_OTHER", "priority": 40}, {"op": "run", "for": "1ms"}]},
      {"id": "niced", "task": "batch", "nice": 10, "start": "5ms", "program": [
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 47},
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 70}, {"op": "run", "for": "1ms"}]},
      {"id": "rt", "mode": "realtime", "realtime": {"computation": "1ms", "constraint": "2ms"}, "start": "10ms",
       "program": [{"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 47}, {"op": "run", "for": "1ms"}]},
      {"id": "k", "kernel": true, "start": "15ms", "program": [
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 90},
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 70},
        {"op": "pthread_setschedparam", "policy": "SCHED_FIFO", "priority": 127}, {"op": "run", "for": "1ms"}]})");
    Run r = run(s, "xnu");
    // niced: task priority 31 - 10 = 21, limit 63: 47 -> 21 + 16 = 37; 70 >= max_priority 63 comes
    // first: 63 (not 21 + 6).
    // k (kernel_task 81, limit 95): 90 -> 81 + 10 = 91; 70 -> 81 + 6 = 87; 127 -> 95.
    CHECK(bases(r, core::PolicyCall::pthread_setschedparam) ==
          std::vector<P>{{0, 47}, {0, 15}, {0, 0}, {0, 62}, {0, 63}, {0, 63}, {0, 63}, {0, 63}, {0, 40},
                         {1, 37}, {1, 63}, {3, 91}, {3, 87}, {3, 95}});
    CHECK(refusals(r, core::PolicyCall::pthread_setschedparam) == std::vector<P>{{0, 4}, {0, 4}, {2, 0}});
    std::vector<int64_t> modes;
    for (const auto& e : r.trace.of(core::TraceKind::mode_changed))
      if (e.thread == 0) modes.push_back(e.a);
    CHECK(modes == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 0});  // fixed x 8, then timeshare
    CHECK(r.thread("rt").min_sched_pri == 97);
  }
}
