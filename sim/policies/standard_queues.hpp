// The queue set of a Mach processor set: one shared run queue, one per CPU for bound threads,
// and real-time threads kept sorted by deadline at their level (xnu-facts.md 4.2, 5.1).
#pragma once

#include <vector>

#include "sim/policies/policy.hpp"
#include "sim/policies/run_queue.hpp"

namespace sim::policies {

// The heads of the queues a CPU may take threads from (csw_check, thread_select).
struct QueueView {
  int shared_highq = -1;
  int shared_urgency = 0;
  int bound_highq = -1;
  int bound_urgency = 0;
  SimTime rt_head_deadline = SimTime::never();  // earliest deadline among queued RT threads
  int highq() const { return shared_highq > bound_highq ? shared_highq : bound_highq; }
};

class StandardQueues {
 public:
  // `rt_by_deadline`: real-time threads are kept sorted by deadline at their level (xnu), else
  // FIFO like any other thread.
  void init(std::vector<Thread>* threads, int cpus, bool rt_by_deadline) {
    rt_by_deadline_ = rt_by_deadline;
    shared_.attach(threads->data());
    bound_.assign(static_cast<size_t>(cpus), RunQueue(threads->data()));
  }

  void enqueue(Thread& t, bool head) {
    RunQueue& q = queue_for(t);
    t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
    // Real-time threads are always inserted by deadline (realtime_schedule_insert).
    if (rt_by_deadline_ && t.is_realtime()) q.enqueue_by_deadline(t);
    else q.enqueue(t, head);
  }

  void remove(Thread& t) {
    queue_for(t).remove(t);
    t.queued = model::QueueKind::none;
  }

  // choose_thread: the head of the highest level; the CPU-local queue wins ties.
  Thread* choose(int cpu) {
    RunQueue& local = bound_[static_cast<size_t>(cpu)];
    Thread* t = local.highq() >= shared_.highq() ? local.dequeue_highest() : shared_.dequeue_highest();
    if (t) t->queued = model::QueueKind::none;
    return t;
  }

  QueueView view(int cpu) const {
    const RunQueue& local = bound_[static_cast<size_t>(cpu)];
    QueueView v;
    v.shared_highq = shared_.highq();
    v.shared_urgency = shared_.urgency();
    v.bound_highq = local.highq();
    v.bound_urgency = local.urgency();
    for (const RunQueue* q : {&shared_, &local}) {
      int hq = q->highq();
      if (hq >= model::BASEPRI_REALTIME) {
        const Thread* h = q->head(hq);
        if (h->is_realtime() && h->rt_deadline < v.rt_head_deadline) v.rt_head_deadline = h->rt_deadline;
      }
    }
    return v;
  }

  int shared_count() const { return shared_.count(); }

  // Every queued thread: the shared queue, then each CPU's bound queue, in queue order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    shared_.for_each(fn);
    for (const RunQueue& q : bound_) q.for_each(fn);
  }

 private:
  RunQueue& queue_for(const Thread& t) {
    return t.bound_cpu >= 0 ? bound_[static_cast<size_t>(t.bound_cpu)] : shared_;
  }
  RunQueue shared_;
  std::vector<RunQueue> bound_;
  bool rt_by_deadline_ = true;
};

// A policy over the standard queue set whose decisions are xnu's own (xnu-facts.md section 5):
// csw_check, thread_setrun's placement and preemption choice, thread_dispatch's re-queue with
// the quantum remainder, timeshare_quanta, TH_MODE_PREEMPT urgency and the real-time deadline
// set at thread_unblock. `xnu` uses them as they are; `fixed` overrides them with the textbook
// rule. Each routine names the xnu routine it models.
class StandardQueuePolicy : public Policy {
 public:
  void enqueue(Thread& t, bool head) override { queues_.enqueue(t, head); }
  void remove(Thread& t) override { queues_.remove(t); }
  Thread* choose(int cpu) override { return queues_.choose(cpu); }
  Thread* choose_over(int cpu, const Thread& outgoing) override;
  bool queue_beats(int cpu, const Thread& handed) const override;
  bool has_queued(int cpu) const override { return queues_.view(cpu).highq() >= 0; }

  Preemption should_preempt(const Processor& p, const Thread& running) const override;
  int preempt_target(const Thread& t) const override;
  Requeue requeue(Thread& t, const Processor& p, core::SwitchReason why) override;
  int timeslice(const Thread& t) const override;
  bool is_urgent(const Thread& t) const override;
  void on_wakeup(Thread& t) override;

  // Runnable threads waiting in the shared queue (timeshare_quanta; tests check it).
  int shared_count() const { return queues_.shared_count(); }

 protected:
  StandardQueuePolicy(const PolicyContext& ctx, bool rt_by_deadline) : Policy(ctx) {
    queues_.init(ctx.threads, ctx.machine.cpus, rt_by_deadline);
  }
  StandardQueues queues_;
};

}  // namespace sim::policies
