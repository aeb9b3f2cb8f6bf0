// Priority-inversion intervals from the event stream (see inversion_detector.hpp for the rule).
#include "sim/metrics/inversion_detector.hpp"

#include <algorithm>

namespace sim::metrics {

using core::TraceEvent;
using core::TraceKind;

InversionDetector::InversionDetector(core::TraceBus* bus, size_t threads, int cpus)
    : bus_(bus), threads_(threads), running_(static_cast<size_t>(cpus), -1) {}

std::vector<int32_t>& InversionDetector::holders(int32_t lock) {
  if (holders_.size() <= static_cast<size_t>(lock)) holders_.resize(static_cast<size_t>(lock) + 1);
  return holders_[static_cast<size_t>(lock)];
}

void InversionDetector::on_event(const TraceEvent& e) {
  if (emitting_) return;  // our own events, coming back through the bus
  if (e.time.ns != instant_) {
    flush();
    instant_ = e.time.ns;
  }
  apply(e);
}

void InversionDetector::apply(const TraceEvent& e) {
  auto at = [&](int32_t i) -> PerThread& { return threads_[static_cast<size_t>(i)]; };
  switch (e.kind) {
    case TraceKind::created:
      at(e.thread).state = State::blocked;  // waiting for its first release
      at(e.thread).pri = static_cast<int>(e.b);
      break;
    case TraceKind::woke:
      at(e.thread).state = State::runnable;
      at(e.thread).pri = static_cast<int>(e.b);
      break;
    case TraceKind::switched: {
      if (e.thread >= 0 && at(e.thread).state == State::running) {
        // A thread that blocked or exited was marked so by its own event just before.
        at(e.thread).state = State::runnable;
      }
      running_[static_cast<size_t>(e.cpu)] = e.other;
      if (e.other >= 0) {
        at(e.other).state = State::running;
        at(e.other).pri = static_cast<int>(e.b);
      }
      break;
    }
    case TraceKind::blocked:
      at(e.thread).state = State::blocked;
      break;
    case TraceKind::exited:
      at(e.thread).state = State::absent;
      break;
    case TraceKind::priority_changed:
      at(e.thread).pri = static_cast<int>(e.b);
      break;
    case TraceKind::lock_contended:
      if (at(e.thread).waits.empty()) ++waiting_;
      at(e.thread).waits.push_back(e.other);
      break;
    case TraceKind::lock_acquired: {
      std::vector<int32_t>& w = at(e.thread).waits;
      if (auto it = std::find(w.begin(), w.end(), e.other); it != w.end()) {
        w.erase(it);
        if (w.empty()) --waiting_;
      }
      holders(e.other).push_back(e.thread);
      break;
    }
    case TraceKind::lock_released: {
      std::vector<int32_t>& h = holders(e.other);
      if (auto it = std::find(h.begin(), h.end(), e.thread); it != h.end()) h.erase(it);
      break;
    }
    default:
      return;  // nothing the rule looks at
  }
  dirty_ = true;
}

void InversionDetector::flush() {
  if (!dirty_) return;
  dirty_ = false;
  if (waiting_ == 0 && open_ == 0) return;
  for (size_t b = 0; b < threads_.size(); ++b)
    if (!threads_[b].waits.empty() || threads_[b].inversion.open) judge(static_cast<int32_t>(b));
}

void InversionDetector::judge(int32_t b) {
  PerThread& bt = threads_[static_cast<size_t>(b)];
  int32_t holder = -1, ran = -1;
  int cpu = -1;
  if (bt.waiting_on() >= 0) {
    // The holder chain, breadth first, and the first of its ends that is runnable.
    chain_.clear();
    for (int32_t h : holders(bt.waiting_on())) chain_.push_back(h);
    for (size_t i = 0; i < chain_.size(); ++i) {
      int32_t h = chain_[i];
      const PerThread& ht = threads_[static_cast<size_t>(h)];
      if (ht.waiting_on() >= 0) {
        for (int32_t next : holders(ht.waiting_on()))
          if (next != b && std::find(chain_.begin(), chain_.end(), next) == chain_.end()) chain_.push_back(next);
      } else if (holder < 0 && ht.state == State::runnable) {
        holder = h;
      }
    }
    if (holder >= 0) {
      for (size_t c = 0; c < running_.size(); ++c) {
        int32_t r = running_[c];
        if (r < 0 || r == b || std::find(chain_.begin(), chain_.end(), r) != chain_.end()) continue;
        if (threads_[static_cast<size_t>(r)].pri >= bt.pri) continue;
        ran = r;
        cpu = static_cast<int>(c);
        break;
      }
    }
  }
  bool inverted = holder >= 0 && ran >= 0;
  Interval& iv = bt.inversion;
  if (iv.open && (!inverted || iv.holder != holder || iv.ran != ran)) close(b, instant_);
  if (inverted && !iv.open) {
    iv = Interval{true, holder, ran, cpu, instant_};
    ++open_;
    emit(TraceEvent{core::SimTime{instant_}, TraceKind::inversion_began, 0, static_cast<int16_t>(cpu), b, holder, ran, 0});
  }
}

void InversionDetector::close(int32_t b, int64_t at) {
  PerThread& bt = threads_[static_cast<size_t>(b)];
  Interval& iv = bt.inversion;
  int64_t lasted = at - iv.since;
  bt.inversion_ns += lasted;
  iv.open = false;
  --open_;
  emit(TraceEvent{core::SimTime{at}, TraceKind::inversion_ended, 0, -1, b, iv.holder, lasted, 0});
}

void InversionDetector::emit(const TraceEvent& e) {
  emitting_ = true;
  bus_->emit(e);
  emitting_ = false;
}

void InversionDetector::finish(core::SimTime end) {
  flush();
  for (size_t b = 0; b < threads_.size(); ++b)
    if (threads_[b].inversion.open) close(static_cast<int32_t>(b), end.ns);
}

}  // namespace sim::metrics
