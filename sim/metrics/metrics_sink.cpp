// Per-thread, per-CPU and system metrics computed from trace events.
#include "sim/metrics/metrics_sink.hpp"

#include <algorithm>

namespace sim::metrics {

using core::TraceKind;

MetricsSink::MetricsSink(const std::vector<model::Thread>& threads, int cpus) : model_threads_(&threads) {
  threads_.resize(threads.size());
  for (size_t i = 0; i < threads.size(); ++i) {
    const model::Thread& t = threads[i];
    PerThread& p = threads_[i];
    p.declared_base = t.base_pri;
    p.r.min_sched_pri = p.r.max_sched_pri = p.sched_pri = t.sched_pri;
  }
  for (PerThread& p : threads_) {
    p.response.set_budget(&budget_);
    p.latency.set_budget(&budget_);
  }
  cpus_.resize(static_cast<size_t>(cpus));
}

// Adds the running thread's own time up to `at` (after any switch cost) to it and its band.
void MetricsSink::charge_thread(PerCpu& c, int64_t at) {
  if (c.thread < 0 || at <= c.run_from) return;
  PerThread& t = threads_[static_cast<size_t>(c.thread)];
  int64_t d = at - c.run_from;
  t.r.cpu_time_ns += d;
  c.r.busy_ns += d;
  c.r.by_band_ns[static_cast<size_t>(model::band_of(t.sched_pri))] += d;
  c.run_from = at;
}

// The last handler returned: the thread's time (and its remaining switch cost) resumes.
void MetricsSink::leave_interrupt(PerCpu& c, int64_t at) {
  if (!c.in_interrupt) return;
  c.in_interrupt = false;
  c.cost_from = at;
  c.cost_end = c.run_from = at + c.cost_owed;
  c.cost_owed = 0;
}

void MetricsSink::close_segment(PerCpu& c, int64_t at) {
  if (c.in_interrupt) return;
  if (c.thread < 0) return;
  int64_t cost = std::max<int64_t>(0, std::min(at, c.cost_end) - c.cost_from);
  c.r.overhead_ns += cost;
  c.r.busy_ns += cost;
  charge_thread(c, at);
  threads_[static_cast<size_t>(c.thread)].running_on = -1;
  c.thread = -1;
}

void MetricsSink::on_event(const core::TraceEvent& e) {
  int64_t now = e.time.ns;
  switch (e.kind) {
    case TraceKind::switched: {
      ++context_switches_;
      PerCpu& c = cpus_[static_cast<size_t>(e.cpu)];
      leave_interrupt(c, now);
      close_segment(c, now);
      if (e.thread >= 0) {
        PerThread& prev = threads_[static_cast<size_t>(e.thread)];
        auto why = static_cast<core::SwitchReason>(e.reason);
        if (why == core::SwitchReason::preempt || why == core::SwitchReason::quantum) ++prev.r.preemptions;
      }
      if (e.other >= 0) {
        PerThread& next = threads_[static_cast<size_t>(e.other)];
        c.thread = e.other;
        c.cost_from = now;
        c.cost_end = c.run_from = now + e.a;
        next.running_on = e.cpu;
        ++next.r.context_switches;
        if (next.last_cpu >= 0 && next.last_cpu != e.cpu) ++next.r.migrations;
        next.last_cpu = e.cpu;
        if (next.latency_from >= 0) {
          next.latency.add(now + e.a - next.latency_from, now + e.a, next.latency_job);
          next.latency_from = -1;
        }
      }
      break;
    }
    case TraceKind::woke: {
      PerThread& t = threads_[static_cast<size_t>(e.thread)];
      t.latency_from = now;
      t.latency_job = t.open_job;
      break;
    }
    case TraceKind::released:
      threads_[static_cast<size_t>(e.thread)].open_job = e.a;
      break;
    case TraceKind::priority_changed: {
      PerThread& t = threads_[static_cast<size_t>(e.thread)];
      // Charge the time so far at the old band; not while its CPU is in a handler: that time is
      // interrupt time, and the thread's clock restarts when the handler returns (issue 8, 1.7:
      // a wakeup made by a handler changed the interrupted thread's priority, and the handler's
      // time was counted as both busy and interrupt, so idle went negative).
      if (t.running_on >= 0 && !cpus_[static_cast<size_t>(t.running_on)].in_interrupt)
        charge_thread(cpus_[static_cast<size_t>(t.running_on)], now);
      t.sched_pri = static_cast<int>(e.b);
      t.r.min_sched_pri = std::min(t.r.min_sched_pri, t.sched_pri);
      t.r.max_sched_pri = std::max(t.r.max_sched_pri, t.sched_pri);
      break;
    }
    case TraceKind::completed: {
      PerThread& t = threads_[static_cast<size_t>(e.thread)];
      ++t.r.jobs;
      t.response.add(e.b, now, e.a);
      if (t.open_job == e.a) t.open_job = -1;
      break;
    }
    case TraceKind::created:
      threads_[static_cast<size_t>(e.thread)].r.created_ns = now;
      break;
    case TraceKind::exited:
      threads_[static_cast<size_t>(e.thread)].r.ended_ns = now;
      break;
    case TraceKind::deadline_missed:
      ++threads_[static_cast<size_t>(e.thread)].r.deadline_misses;
      break;
    case TraceKind::demoted:
      ++threads_[static_cast<size_t>(e.thread)].r.demotions;
      break;
    case TraceKind::interrupt_began: {
      // The CPU leaves the thread (and any switch cost it was paying) for the handler.
      PerCpu& c = cpus_[static_cast<size_t>(e.cpu)];
      if (c.in_interrupt) break;  // the next handler of a queue: still in interrupt context
      c.in_interrupt = true;
      c.interrupt_from = now;
      if (c.thread >= 0) {
        int64_t cost = std::max<int64_t>(0, std::min(now, c.cost_end) - c.cost_from);
        c.r.overhead_ns += cost;
        c.r.busy_ns += cost;
        charge_thread(c, now);
        c.cost_owed = std::max<int64_t>(0, c.cost_end - now);
        c.cost_from = c.cost_end = now;  // the part paid so far is counted
      }
      break;
    }
    case TraceKind::interrupt_ended: {
      PerCpu& c = cpus_[static_cast<size_t>(e.cpu)];
      c.r.interrupt_ns += now - c.interrupt_from;
      c.interrupt_from = now;
      if (e.b == 1) leave_interrupt(c, now);
      break;
    }
    case TraceKind::interrupt_arrived:
      break;
    default:
      break;
  }
}

void MetricsSink::finish(core::SimTime end) {
  end_ = end.ns;
  for (PerCpu& c : cpus_) {
    if (c.in_interrupt) {
      c.r.interrupt_ns += end_ - c.interrupt_from;  // cut short by the end of the run
      c.thread = -1;
    }
    close_segment(c, end_);
    c.r.idle_ns = end_ - c.r.busy_ns - c.r.interrupt_ns;
  }
}

void MetricsSink::keep_thread_identities() {
  if (!model_threads_) return;
  identities_.reserve(model_threads_->size());
  for (const model::Thread& m : *model_threads_) identities_.push_back({m.name, m.task, m.declared_mode, m.kernel});
  model_threads_ = nullptr;
}

MetricsSink::Identity MetricsSink::identity(size_t i) const {
  if (!model_threads_) return identities_[i];
  const model::Thread& m = (*model_threads_)[i];
  return {m.name, m.task, m.declared_mode, m.kernel};
}

Results MetricsSink::results() const {
  Results r;
  r.duration_ns = end_;
  r.threads.reserve(threads_.size());
  for (size_t i = 0; i < threads_.size(); ++i) {
    const PerThread& t = threads_[i];
    Identity m = identity(i);
    ThreadResult tr;
    static_cast<ThreadCounters&>(tr) = t.r;
    tr.id = std::move(m.id);
    tr.task = std::move(m.task);
    tr.mode = std::string(model::to_string(m.mode));
    tr.base_priority = t.declared_base;
    tr.kernel = m.kernel;
    tr.response_ns = t.response.summary();
    tr.latency_ns = t.latency.summary();
    tr.jitter_ns = tr.latency_ns.count > 0 ? tr.latency_ns.max - tr.latency_ns.min : 0;
    r.threads.push_back(std::move(tr));
  }
  r.cpus.reserve(cpus_.size());
  for (const PerCpu& c : cpus_) r.cpus.push_back(c.r);
  r.system.context_switches = context_switches_;
  return r;
}

}  // namespace sim::metrics
