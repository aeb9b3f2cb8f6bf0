// Timeline: trace events -> the intervals and marks of the HTML report (timeline.hpp).
#include "reports/timeline.hpp"

#include <algorithm>
#include <utility>

namespace sim::reports {

using core::TraceKind;

std::string_view to_string(ThreadState s) {
  switch (s) {
    case ThreadState::running: return "running";
    case ThreadState::spinning: return "spinning";
    case ThreadState::ready: return "ready";
    case ThreadState::lock: return "blocked on lock";
    case ThreadState::funnel: return "blocked on funnel";
    case ThreadState::sleeping: return "sleeping";
    case ThreadState::period: return "waiting for its period";
    case ThreadState::event: return "waiting on event";
    case ThreadState::io: return "waiting for I/O";
    case ThreadState::command: return "waiting in the command gate";
    case ThreadState::other: return "blocked";
  }
  return "?";
}

std::string_view to_string(MarkKind k) {
  switch (k) {
    case MarkKind::priority: return "priority";
    case MarkKind::demoted: return "demoted";
    case MarkKind::undemoted: return "undemoted";
    case MarkKind::depressed: return "depressed";
    case MarkKind::undepressed: return "undepressed";
    case MarkKind::released: return "released";
    case MarkKind::completed: return "completed";
    case MarkKind::missed: return "missed";
  }
  return "?";
}

namespace {

ThreadState state_of(core::BlockReason r) {
  switch (r) {
    case core::BlockReason::sleep: return ThreadState::sleeping;
    case core::BlockReason::period: return ThreadState::period;
    case core::BlockReason::event: return ThreadState::event;
    case core::BlockReason::lock: return ThreadState::lock;
    case core::BlockReason::funnel: return ThreadState::funnel;
    case core::BlockReason::io: return ThreadState::io;
    case core::BlockReason::command: return ThreadState::command;
    case core::BlockReason::exit:
    case core::BlockReason::thread_wait: return ThreadState::other;
  }
  return ThreadState::other;
}

int16_t pri16(int64_t v) { return static_cast<int16_t>(std::clamp<int64_t>(v, -1, 127)); }

}  // namespace

Timeline::Timeline(core::NameTable names, int cpus, int64_t run_end, TimeWindow window, size_t max_records)
    : names_(std::move(names)), window_(window), run_end_(std::max<int64_t>(1, run_end)), max_records_(max_records) {
  const core::NameTable& n = names_;
  thread_.resize(n.threads.size());
  priorities_.resize(n.threads.size());
  worst_.resize(n.threads.size());
  cpu_.resize(static_cast<size_t>(std::max(1, cpus)));
  open_holds_.resize(n.locks.size());
  // Each work loop's work event is "<workloop>.workToDo" (sim/iokit_model); the links from an
  // interrupt's signal to the action that took it are found through it.
  workloop_of_event_.assign(n.events.size(), -1);
  pending_.resize(n.workloops.size());
  for (size_t w = 0; w < n.workloops.size(); ++w)
    for (size_t e = 0; e < n.events.size(); ++e)
      if (n.events[e] == n.workloops[w] + ".workToDo") workloop_of_event_[e] = static_cast<int32_t>(w);
}

bool Timeline::overlaps(int64_t from, int64_t to) const {
  if (truncated_) return false;
  // An instant (from == to) inside the window counts; an interval must share some time with it.
  if (from == to) return from >= window_.from && from <= window_.to;
  return from < window_.to && to > window_.from;
}

// The window is full: what is open now is closed here and kept (a few records past the cap), so
// that every lane reaches the end of the recording; nothing later is kept.
void Timeline::truncate(int64_t now) {
  for (size_t t = 0; t < thread_.size(); ++t) close_thread(static_cast<int32_t>(t), now);
  for (size_t c = 0; c < cpu_.size(); ++c) close_cpu(static_cast<int16_t>(c), now);
  truncated_ = true;
  truncated_at_ = now;
}

void Timeline::close_thread(int32_t t, int64_t now) {
  ThreadNow& s = thread_[static_cast<size_t>(t)];
  if (!s.live) return;
  s.live = false;
  if (now > s.since && overlaps(s.since, now) && room()) {
    ThreadSpan span;
    span.from = s.since;
    span.to = now;
    span.thread = t;
    span.state = s.state;
    span.object = s.object;
    span.cpu = s.cpu;
    span.pri = s.pri;
    thread_spans_.push_back(span);
  }
}

void Timeline::set_state(int32_t t, int64_t now, ThreadState st, int32_t object, int16_t cpu) {
  close_thread(t, now);
  ThreadNow& s = thread_[static_cast<size_t>(t)];
  s.live = true;
  s.since = now;
  s.state = st;
  s.object = object;
  s.cpu = cpu;
}

void Timeline::open_cpu(int16_t cpu, int64_t now, int32_t thread, int32_t source) {
  CpuNow& c = cpu_[static_cast<size_t>(cpu)];
  close_cpu(cpu, now);
  c.open = true;
  c.span = CpuSpan{now, now, cpu, thread, source, thread >= 0 ? thread_[static_cast<size_t>(thread)].pri : int16_t{0}};
}

void Timeline::close_cpu(int16_t cpu, int64_t now) {
  CpuNow& c = cpu_[static_cast<size_t>(cpu)];
  if (!c.open) return;
  c.open = false;
  if (now > c.span.from && overlaps(c.span.from, now) && room()) {
    c.span.to = now;
    cpu_spans_.push_back(c.span);
  }
}

void Timeline::mark(const core::TraceEvent& e, MarkKind k) {
  if (!overlaps(e.time.ns, e.time.ns) || !room()) return;
  marks_.push_back(Mark{e.time.ns, e.thread, k, e.reason, e.a, e.b});
}

// Exact points while there are few; past kExactPriorityPoints the series is folded onto a grid
// of kPriorityBuckets buckets over the run (minimum and maximum in each), and stays there.
void Timeline::add_priority_point(int32_t t, int64_t now, int pri) {
  PrioritySeries& s = priorities_[static_cast<size_t>(t)];
  int16_t p = pri16(pri);
  int64_t width = std::max<int64_t>(1, (run_end_ + kPriorityBuckets - 1) / kPriorityBuckets);
  if (!s.thinned) {
    s.points.push_back(PriorityPoint{now, p, p});
    if (s.points.size() <= kExactPriorityPoints) return;
    std::vector<PriorityPoint> folded;
    for (const PriorityPoint& q : s.points) {
      int64_t at = q.time / width * width;
      if (!folded.empty() && folded.back().time == at) {
        folded.back().lo = std::min(folded.back().lo, q.lo);
        folded.back().hi = std::max(folded.back().hi, q.hi);
      } else {
        folded.push_back(PriorityPoint{at, q.lo, q.hi});
      }
    }
    s.points = std::move(folded);
    s.thinned = true;
    return;
  }
  int64_t at = now / width * width;
  if (!s.points.empty() && s.points.back().time == at) {
    s.points.back().lo = std::min(s.points.back().lo, p);
    s.points.back().hi = std::max(s.points.back().hi, p);
  } else {
    s.points.push_back(PriorityPoint{at, p, p});
  }
}

// The first event that shows a thread's priority starts its series (a thread appears when it
// first wakes; a priority change shows the old value too).
void Timeline::learn_priority(int32_t t, int64_t now, int pri) {
  ThreadNow& s = thread_[static_cast<size_t>(t)];
  if (s.pri_known) return;
  s.pri_known = true;
  s.pri = pri16(pri);
  add_priority_point(t, now, pri);
}

void Timeline::on_event(const core::TraceEvent& e) {
  int64_t now = e.time.ns;
  if (!truncated_ && thread_spans_.size() + cpu_spans_.size() + holds_.size() + inversions_.size() + marks_.size() +
                             links_.size() >= max_records_)
    truncate(now);
  auto valid_thread = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < thread_.size(); };
  auto valid_cpu = [&](int16_t c) { return c >= 0 && static_cast<size_t>(c) < cpu_.size(); };
  switch (e.kind) {
    case TraceKind::woke:
      if (!valid_thread(e.thread)) break;
      learn_priority(e.thread, now, static_cast<int>(e.b));
      set_state(e.thread, now, ThreadState::ready, -1, -1);
      thread_[static_cast<size_t>(e.thread)].woke_at = now;
      break;
    case TraceKind::switched: {
      if (!valid_cpu(e.cpu)) break;
      CpuNow& c = cpu_[static_cast<size_t>(e.cpu)];
      auto why = static_cast<core::SwitchReason>(e.reason);
      if (valid_thread(e.thread)) {
        ThreadNow& prev = thread_[static_cast<size_t>(e.thread)];
        bool on_cpu = prev.live && (prev.state == ThreadState::running || prev.state == ThreadState::spinning);
        if (on_cpu) {
          if (why == core::SwitchReason::exit) close_thread(e.thread, now);
          else if (why == core::SwitchReason::block) set_state(e.thread, now, ThreadState::other, -1, -1);
          else set_state(e.thread, now, ThreadState::ready, -1, -1);
        }
      }
      c.thread = e.other;
      if (valid_thread(e.other)) {
        ThreadNow& next = thread_[static_cast<size_t>(e.other)];
        learn_priority(e.other, now, static_cast<int>(e.b));
        next.pri = pri16(e.b);
        set_state(e.other, now, ThreadState::running, -1, e.cpu);
        Worst& w = worst_[static_cast<size_t>(e.other)];
        if (next.woke_at >= 0) {
          int64_t latency = now + e.a - next.woke_at;
          if (latency > w.latency) {
            w.latency = latency;
            w.latency_at = now + e.a;
          }
          next.woke_at = -1;
        }
      }
      if (!c.in_interrupt) {
        if (valid_thread(e.other)) open_cpu(e.cpu, now, e.other, -1);
        else close_cpu(e.cpu, now);
      }
      break;
    }
    case TraceKind::blocked:
      if (!valid_thread(e.thread)) break;
      set_state(e.thread, now, state_of(static_cast<core::BlockReason>(e.reason)), e.other, -1);
      break;
    case TraceKind::exited:
      if (valid_thread(e.thread)) close_thread(e.thread, now);
      break;
    case TraceKind::spin_began:
      if (valid_thread(e.thread)) set_state(e.thread, now, ThreadState::spinning, e.other, e.cpu);
      break;
    case TraceKind::spin_ended:
      if (valid_thread(e.thread) && thread_[static_cast<size_t>(e.thread)].state == ThreadState::spinning)
        set_state(e.thread, now, ThreadState::running, -1, thread_[static_cast<size_t>(e.thread)].cpu);
      break;
    case TraceKind::priority_changed: {
      if (!valid_thread(e.thread)) break;
      learn_priority(e.thread, now, static_cast<int>(e.a));
      ThreadNow& t = thread_[static_cast<size_t>(e.thread)];
      int16_t old = t.pri;
      t.pri = pri16(e.b);
      add_priority_point(e.thread, now, static_cast<int>(e.b));
      mark(e, MarkKind::priority);
      // A running thread's span (and its CPU's) is split so that the colour follows the band.
      if (old != t.pri && t.live && (t.state == ThreadState::running || t.state == ThreadState::spinning)) {
        set_state(e.thread, now, t.state, t.object, t.cpu);
        if (valid_cpu(t.cpu) && !cpu_[static_cast<size_t>(t.cpu)].in_interrupt &&
            cpu_[static_cast<size_t>(t.cpu)].thread == e.thread)
          open_cpu(t.cpu, now, e.thread, -1);
      }
      break;
    }
    case TraceKind::demoted: mark(e, MarkKind::demoted); break;
    case TraceKind::undemoted: mark(e, MarkKind::undemoted); break;
    case TraceKind::depressed: mark(e, MarkKind::depressed); break;
    case TraceKind::undepressed: mark(e, MarkKind::undepressed); break;
    case TraceKind::released: mark(e, MarkKind::released); break;
    case TraceKind::completed: {
      mark(e, MarkKind::completed);
      if (!valid_thread(e.thread)) break;
      Worst& w = worst_[static_cast<size_t>(e.thread)];
      if (e.b > w.response) {
        w.response = e.b;
        w.response_at = now;
        w.response_job = e.a;
      }
      break;
    }
    case TraceKind::deadline_missed:
      mark(e, MarkKind::missed);
      ++miss_count_;
      if (misses_.size() < kMaxMisses) misses_.push_back(MissRecord{now, e.thread, e.a, e.b});
      break;
    case TraceKind::lock_acquired:
      if (e.other >= 0 && static_cast<size_t>(e.other) < open_holds_.size())
        open_holds_[static_cast<size_t>(e.other)].push_back(LockHold{now, now, e.other, e.thread});
      break;
    case TraceKind::lock_released: {
      if (e.other < 0 || static_cast<size_t>(e.other) >= open_holds_.size()) break;
      std::vector<LockHold>& open = open_holds_[static_cast<size_t>(e.other)];
      auto it = std::find_if(open.begin(), open.end(), [&](const LockHold& h) { return h.thread == e.thread; });
      if (it == open.end()) break;
      LockHold h = *it;
      open.erase(it);
      h.to = now;
      if (overlaps(h.from, h.to) && room()) holds_.push_back(h);
      break;
    }
    case TraceKind::inversion_began: {
      if (!valid_thread(e.thread)) break;
      ThreadNow& t = thread_[static_cast<size_t>(e.thread)];
      t.has_inversion = true;
      t.inversion = InversionSpan{now, now, e.thread, static_cast<int32_t>(e.a), e.other};
      break;
    }
    case TraceKind::inversion_ended: {
      if (!valid_thread(e.thread)) break;
      ThreadNow& t = thread_[static_cast<size_t>(e.thread)];
      if (!t.has_inversion) break;
      t.has_inversion = false;
      t.inversion.to = now;
      if (overlaps(t.inversion.from, now) && room()) inversions_.push_back(t.inversion);
      break;
    }
    case TraceKind::interrupt_began: {
      if (!valid_cpu(e.cpu)) break;
      CpuNow& c = cpu_[static_cast<size_t>(e.cpu)];
      c.in_interrupt = true;
      open_cpu(e.cpu, now, -1, e.other);
      break;
    }
    case TraceKind::interrupt_ended: {
      if (!valid_cpu(e.cpu)) break;
      CpuNow& c = cpu_[static_cast<size_t>(e.cpu)];
      if (e.b == 1) {
        c.in_interrupt = false;
        if (c.thread >= 0) open_cpu(e.cpu, now, c.thread, -1);
        else close_cpu(e.cpu, now);
      } else {
        open_cpu(e.cpu, now, -1, -1);  // between two handlers of one interrupt context
      }
      break;
    }
    case TraceKind::event_signaled: {
      // From interrupt context (no thread): the handler gave work to a work loop's source b.
      if (e.thread >= 0 || e.other < 0 || static_cast<size_t>(e.other) >= workloop_of_event_.size()) break;
      int32_t w = workloop_of_event_[static_cast<size_t>(e.other)];
      if (w < 0 || e.b < 0 || e.b > 4096) break;
      std::vector<Pending>& p = pending_[static_cast<size_t>(w)];
      if (p.size() <= static_cast<size_t>(e.b)) p.resize(static_cast<size_t>(e.b) + 1);
      if (p[static_cast<size_t>(e.b)].at < 0) p[static_cast<size_t>(e.b)] = Pending{now, e.cpu};
      break;
    }
    case TraceKind::workloop_action: {
      if (e.other < 0 || static_cast<size_t>(e.other) >= pending_.size()) break;
      std::vector<Pending>& p = pending_[static_cast<size_t>(e.other)];
      if (e.a < 0 || static_cast<size_t>(e.a) >= p.size() || p[static_cast<size_t>(e.a)].at < 0) break;
      Pending from = p[static_cast<size_t>(e.a)];
      p[static_cast<size_t>(e.a)] = Pending{};
      if (overlaps(from.at, now) && room())
        links_.push_back(Link{from.at, now, from.cpu, e.thread, e.other, static_cast<int32_t>(e.a), e.b});
      break;
    }
    default:
      break;
  }
}

void Timeline::finish(core::SimTime end) {
  end_ = end.ns;
  for (size_t t = 0; t < thread_.size(); ++t) {
    close_thread(static_cast<int32_t>(t), end_);
    ThreadNow& s = thread_[t];
    if (s.has_inversion) {
      s.has_inversion = false;
      s.inversion.to = end_;
      if (overlaps(s.inversion.from, end_) && room()) inversions_.push_back(s.inversion);
    }
  }
  for (size_t c = 0; c < cpu_.size(); ++c) close_cpu(static_cast<int16_t>(c), end_);
  for (std::vector<LockHold>& open : open_holds_)
    for (LockHold& h : open) {
      h.to = end_;
      if (overlaps(h.from, h.to) && room()) holds_.push_back(h);
    }
}

}  // namespace sim::reports
