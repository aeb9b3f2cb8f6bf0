// The queue set of a Mach processor set: one shared run queue, one per CPU for bound threads,
// and real-time threads kept sorted by deadline at their level (xnu-facts.md 4.2, 5.1).
#pragma once

#include <vector>

#include "sim/policies/policy.hpp"
#include "sim/policies/run_queue.hpp"

namespace sim::policies {

class StandardQueues {
 public:
  void init(std::vector<Thread>* threads, int cpus) {
    shared_.attach(threads->data());
    bound_.assign(static_cast<size_t>(cpus), RunQueue(threads->data()));
  }

  void enqueue(Thread& t, bool head) {
    RunQueue& q = queue_for(t);
    t.queued = t.bound_cpu >= 0 ? model::QueueKind::bound : model::QueueKind::shared;
    // Real-time threads are always inserted by deadline (realtime_schedule_insert).
    if (t.is_realtime()) q.enqueue_by_deadline(t);
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
};

// The run-queue half of a policy that keeps the standard queue set; a policy derives from it
// and adds its priorities and quanta.
class StandardQueuePolicy : public Policy {
 public:
  void enqueue(Thread& t, bool head) override { queues_.enqueue(t, head); }
  void remove(Thread& t) override { queues_.remove(t); }
  Thread* choose(int cpu) override { return queues_.choose(cpu); }
  QueueView view(int cpu) const override { return queues_.view(cpu); }
  int shared_count() const override { return queues_.shared_count(); }

 protected:
  explicit StandardQueuePolicy(const PolicyContext& ctx) : ctx_(ctx) { queues_.init(ctx.threads, ctx.machine.cpus); }
  PolicyContext ctx_;
  StandardQueues queues_;
};

}  // namespace sim::policies
