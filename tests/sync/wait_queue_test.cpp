// Wait queues beyond wakeup_one/all: the SYNC_POLICY_FIXED_PRIORITY flag, timed waits,
// thread_wakeup_thread and semaphores with prepost (xnu-792 osfmk/kern/wait_queue.c,
// sched_prim.c, sync_sema.c; xnu-facts.md 5.8).
#include <catch2/catch.hpp>

#include "tests/sync/sync_support.hpp"

using namespace testing;

namespace {

model::Op timed_wait_op(int32_t event, core::Duration timeout) {
  model::Op op = wait_op(event);
  op.timeout = timeout;
  return op;
}

model::Op signal_thread_op(int32_t event, int32_t thread) {
  model::Op op = signal_op(event);
  op.thread = thread;
  return op;
}

scenario::EventSpec semaphore(std::string id, int64_t count) {
  scenario::EventSpec e = event(std::move(id));
  e.count = count;
  return e;
}

// "<us>us <thread> <reason>" for every wakeup that ended an event wait.
std::vector<std::string> wait_ends(const SyncRun& r) {
  std::vector<std::string> out;
  for (const auto& e : r.trace.of(core::TraceKind::woke)) {
    auto why = static_cast<core::WakeReason>(e.reason);
    if (why != core::WakeReason::event && why != core::WakeReason::timed_out) continue;
    out.push_back(std::to_string(e.time.ns / 1000) + "us " + r.d().threads()[static_cast<size_t>(e.thread)].name +
                  " " + std::string(core::to_string(why)));
  }
  return out;
}

}  // namespace

TEST_CASE("wait queue: SYNC_POLICY_FIXED_PRIORITY still wakes the first waiter, as wait_queue_init allows only FIFO",
          "[sync][fidelity]") {
  // xnu-792 wait_queue.c: wait_queue_init refuses any order but SYNC_POLICY_FIFO and
  // _wait_queue_select64_one takes the first waiter ("For now, we just assume FIFO"). So the
  // seed's "policy based on thread priority" does not happen: low (20), queued first, is woken
  // before high (40).
  auto s = scenario_of({thread("low", 20, {wait_op(0), run_op(ms(1))}),
                        thread("high", 40, {sleep_op(us(100)), wait_op(0), run_op(ms(1))}),
                        thread("s", 10, {sleep_op(ms(1)), signal_op(0), run_op(ms(5)), signal_op(0)})},
                       ms(20));
  scenario::EventSpec e = event("data");
  e.fixed_priority = true;
  s.events.push_back(e);
  SyncRun r(s);
  // s signals at 1 ms (low runs 1..2 ms), runs 2..7 ms and signals again at 7 ms.
  CHECK(wait_ends(r) == std::vector<std::string>{"1000us low event", "7000us high event"});
}

TEST_CASE("wait queue: assert_wait_deadline ends an unsignalled wait with THREAD_TIMED_OUT; a wakeup first cancels it",
          "[sync][fidelity]") {
  // xnu-792 sched_prim.c: assert_wait_deadline arms the thread's wait timer; thread_timer_expire
  // clear_waits it with THREAD_TIMED_OUT, unless thread_wakeup came first (the wakeup cancels
  // the timer, so the timeout never fires on a later wait).
  auto s = scenario_of({thread("a", 30, {timed_wait_op(0, ms(2)), run_op(ms(1))}),
                        thread("b", 20, {timed_wait_op(0, ms(6)), timed_wait_op(0, ms(10)), run_op(ms(1))}),
                        thread("s", 10, {run_op(ms(4)), signal_op(0), run_op(ms(3)), signal_op(0)})},
                       ms(30));
  s.events.push_back(event("e"));
  SyncRun r(s);
  // a times out at 2 ms (runs 2..3 ms). s has run 4 ms by 5 ms (1 ms lost to a): its signal at
  // 5 ms wakes b before b's 6 ms deadline. b waits again at once (deadline 15 ms); its first
  // timer, due at 6 ms, finds that wait and is stale: it must not end it. s signals at 8 ms.
  CHECK(wait_ends(r) == std::vector<std::string>{"2000us a timed_out", "5000us b event", "8000us b event"});
  CHECK(r.sync().event_waiters(0).empty());
}

TEST_CASE("wait queue: thread_wakeup_thread wakes only the named thread, and nobody if it does not wait there",
          "[sync][fidelity]") {
  // xnu-792 wait_queue.c wait_queue_wakeup64_thread: that thread if it waits on the event,
  // else KERN_NOT_WAITING and nobody is woken.
  auto s = scenario_of({thread("w1", 20, {wait_op(0), run_op(ms(1))}),
                        thread("w2", 30, {wait_op(0), run_op(ms(1))}),
                        thread("s", 10, {run_op(ms(1)), signal_thread_op(0, 2), signal_thread_op(0, 1), run_op(ms(5))})},
                       ms(20));
  s.events.push_back(event("e"));
  SyncRun r(s);
  CHECK(wait_ends(r) == std::vector<std::string>{"1000us w2 event"});
  auto sig = r.trace.of(core::TraceKind::event_signaled);
  REQUIRE(sig.size() == 2);
  CHECK(sig[0].a == 0);  // s itself does not wait
  CHECK(sig[1].a == 1);
  CHECK(r.sync().event_waiters(0).waiters() == std::deque<int32_t>{0});  // w1 still waits
}

TEST_CASE("semaphore: semaphore_signal with nobody waiting is preposted; signal_all and signal_thread are not",
          "[sync][fidelity]") {
  // xnu-792 sync_sema.c semaphore_signal_internal: a signal that wakes nobody raises the count
  // only with SEMAPHORE_SIGNAL_PREPOST (semaphore_signal); semaphore_wait_internal takes a
  // positive count without waiting.
  auto s = scenario_of({thread("s", 40, {signal_op(0), signal_op(0), signal_op(0, true), signal_thread_op(0, 1),
                                         run_op(ms(1))}),
                        thread("c", 20, {wait_op(0), wait_op(0), wait_op(0), run_op(ms(1))})},
                       ms(10));
  s.events.push_back(semaphore("sem", 0));
  SyncRun r(s);
  // Two counts preposted; c takes them at 1 ms and blocks on the third wait for ever.
  auto waited = r.trace.of(core::TraceKind::event_waited);
  REQUIRE(waited.size() == 3);
  CHECK(waited[0].a == 1);
  CHECK(waited[1].a == 1);
  CHECK(waited[2].a == 0);
  CHECK(r.sync().semaphore_count(0) == 0);
  CHECK(r.of(core::TraceKind::completed, "c").empty());
  CHECK(r.sync().event_waiters(0).waiters() == std::deque<int32_t>{1});
}

TEST_CASE("semaphore: an initial count lets that many waits through; plain events stay at -1", "[sync][unit]") {
  auto s = scenario_of({thread("c", 20, {wait_op(0), wait_op(0), wait_op(1), run_op(ms(1))}),
                        thread("s", 10, {run_op(ms(2)), signal_op(1), run_op(ms(1))})},
                       ms(10));
  s.events.push_back(semaphore("sem", 2));
  s.events.push_back(event("plain"));
  SyncRun r(s);
  CHECK(r.sync().semaphore_count(0) == 0);
  CHECK(r.sync().semaphore_count(1) == -1);
  CHECK(wait_ends(r) == std::vector<std::string>{"2000us c event"});
}

TEST_CASE("wait queue: clear_wait ends an interruptible wait with THREAD_INTERRUPTED and leaves a TH_UNINT one",
          "[sync][fidelity]") {
  // xnu-792 sched_prim.c clear_wait_internal: THREAD_INTERRUPTED on a TH_UNINT thread returns
  // KERN_FAILURE; otherwise the thread is pulled off its wait queue and thread_go'd.
  auto interruptible = [](model::Op op, bool on) {
    op.interruptible = on;
    return op;
  };
  model::Op abort_a;
  abort_a.kind = model::OpKind::clear_wait;
  abort_a.thread = 0;
  model::Op abort_b = abort_a;
  abort_b.thread = 1;
  model::Op abort_s = abort_a;
  abort_s.thread = 3;
  auto s = scenario_of({thread("a", 30, {interruptible(wait_op(0), true), run_op(ms(1))}),
                        thread("b", 20, {wait_op(0), run_op(ms(1))}),
                        thread("c", 25, {wait_op(1), run_op(ms(1))}),
                        thread("s", 10, {run_op(ms(1)), abort_b, abort_a, abort_s, signal_op(0), run_op(ms(1))})},
                       ms(20));
  s.events.push_back(event("e"));
  s.events.push_back(semaphore("sem", 0));
  SyncRun r(s);
  // At 1 ms: b's plain wait is uninterruptible (the default) and stays; a is interrupted and
  // preempts s, running 1..2 ms. At 2 ms s goes on: s itself, not waiting, is left alone; its
  // signal wakes b, still first in the queue. c (a semaphore wait, interruptible by default) is never aborted.
  std::vector<std::string> ends;
  for (const auto& e : r.trace.of(core::TraceKind::woke)) {
    auto why = static_cast<core::WakeReason>(e.reason);
    if (why == core::WakeReason::start) continue;
    ends.push_back(std::to_string(e.time.ns / 1000) + "us " + r.d().threads()[static_cast<size_t>(e.thread)].name +
                   " " + std::string(core::to_string(why)));
  }
  CHECK(ends == std::vector<std::string>{"1000us a interrupted", "2000us b event"});
  CHECK(r.sync().thread_state(2).wait_interruptible);
  CHECK(r.sync().event_waiters(1).waiters() == std::deque<int32_t>{2});
}
