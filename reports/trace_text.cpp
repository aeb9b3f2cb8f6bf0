// Text trace formatting: stable, one line per event, diff-friendly (golden tests compare it).
#include "reports/trace_text.hpp"

#include <fmt/format.h>

#include "sim/metrics/names.hpp"

namespace sim::reports {

using core::TraceKind;

namespace {

// The name table `other` refers to for an event kind.
const std::vector<std::string>* objects_of(const core::TraceEvent& e, const core::NameTable& n) {
  switch (e.kind) {
    case TraceKind::lock_acquired:
    case TraceKind::lock_contended:
    case TraceKind::lock_released:
    case TraceKind::spin_began:
    case TraceKind::spin_ended:
    case TraceKind::lock_held_at_exit:
      return &n.locks;
    case TraceKind::event_waited:
    case TraceKind::event_signaled:
      return &n.events;
    case TraceKind::interrupt_arrived:
    case TraceKind::interrupt_began:
    case TraceKind::interrupt_ended:
    case TraceKind::filter_refused:
      return &n.interrupts;
    case TraceKind::workloop_action:
    case TraceKind::command_refused:
      return &n.workloops;
    case TraceKind::timer_fired:
      return &n.timers;
    case TraceKind::io_issued:
    case TraceKind::io_completed:
    case TraceKind::terminated:
      return &n.devices;
    case TraceKind::blocked:
      switch (static_cast<core::BlockReason>(e.reason)) {
        case core::BlockReason::lock: return &n.locks;
        case core::BlockReason::event: return &n.events;
        case core::BlockReason::command: return &n.workloops;
        case core::BlockReason::io: return &n.devices;
        default: return nullptr;
      }
    default:
      return nullptr;
  }
}

std::string object_name(const core::TraceEvent& e, const core::NameTable& names) {
  if (e.kind == TraceKind::funnel_dropped || e.kind == TraceKind::funnel_taken ||
      (e.kind == TraceKind::blocked && static_cast<core::BlockReason>(e.reason) == core::BlockReason::funnel))
    return e.other == 1 ? "network" : "kernel";
  const std::vector<std::string>* v = objects_of(e, names);
  if (v) return std::string(core::NameTable::at(*v, e.other));
  return fmt::format("#{}", e.other);
}

// Event source `s` of work loop `w` by its id ("irq"), or its number when it has none.
std::string source_name(const core::NameTable& n, int64_t w, int64_t s) {
  if (w >= 0 && static_cast<size_t>(w) < n.sources.size()) {
    const std::vector<std::string>& v = n.sources[static_cast<size_t>(w)];
    if (s >= 0 && static_cast<size_t>(s) < v.size()) return v[static_cast<size_t>(s)];
  }
  return std::to_string(s);
}

}  // namespace

std::string format_trace_line(const core::TraceEvent& e, const core::NameTable& names) {
  std::string where = e.cpu >= 0 ? fmt::format("cpu{}", e.cpu) : "-";
  std::string head = fmt::format("{} {} {}", core::format_time(e.time), where, core::to_string(e.kind));
  std::string_view who = names.thread(e.thread);
  switch (e.kind) {
    case TraceKind::created:
      return fmt::format("{} {} pri={}{}", head, who, e.b, e.a ? " kernel" : "");
    case TraceKind::released:
      if (e.b < 0) return fmt::format("{} {} job={}", head, who, e.a);
      return fmt::format("{} {} job={} deadline={}", head, who, e.a, core::format_time(core::SimTime{e.b}));
    case TraceKind::woke:
      return fmt::format("{} {} reason={} pri={}", head, who,
                         core::to_string(static_cast<core::WakeReason>(e.reason)), e.b);
    case TraceKind::switched: {
      std::string line = fmt::format("{} {} -> {} reason={}", head, who, names.thread(e.other),
                                     core::to_string(static_cast<core::SwitchReason>(e.reason)));
      if (e.other >= 0) line += fmt::format(" pri={}", e.b);
      if (e.a > 0) line += fmt::format(" cost={}", core::format_duration(core::Duration{e.a}));
      return line;
    }
    case TraceKind::blocked: {
      std::string line = fmt::format("{} {} on={}", head, who,
                                     core::to_string(static_cast<core::BlockReason>(e.reason)));
      if (e.other >= 0) line += fmt::format(" object={}", object_name(e, names));
      return line;
    }
    case TraceKind::completed:
      return fmt::format("{} {} job={} response={}", head, who, e.a, core::format_duration(core::Duration{e.b}));
    case TraceKind::deadline_missed:
      return fmt::format("{} {} job={} late={}", head, who, e.a, core::format_duration(core::Duration{e.b}));
    case TraceKind::priority_changed:
      return fmt::format("{} {} {} -> {} reason={}", head, who, e.a, e.b,
                         core::to_string(static_cast<core::PriorityReason>(e.reason)));
    case TraceKind::sched_tick:
      return fmt::format("{} tick={} value={}", head, e.a, e.b);
    case TraceKind::lock_acquired:
      return fmt::format("{} {} lock={} waited={}", head, who, object_name(e, names), core::format_duration(core::Duration{e.a}));
    case TraceKind::lock_contended:
      return fmt::format("{} {} lock={} holder={}", head, who, object_name(e, names),
                         e.a < 0 ? std::string_view("none") : names.thread(static_cast<int32_t>(e.a)));
    case TraceKind::lock_released:
      return fmt::format("{} {} lock={} held={}", head, who, object_name(e, names), core::format_duration(core::Duration{e.a}));
    case TraceKind::lock_held_at_exit:
      return fmt::format("{} {} lock={}{} held={} waiters={}", head, who, object_name(e, names),
                         e.reason == 1 ? " mode=read" : e.reason == 2 ? " mode=write" : "",
                         core::format_duration(core::Duration{e.a}), e.b);
    case TraceKind::spin_began:
      return fmt::format("{} {} lock={}", head, who, object_name(e, names));
    case TraceKind::spin_ended:
      return fmt::format("{} {} lock={} spun={}", head, who, object_name(e, names), core::format_duration(core::Duration{e.a}));
    case TraceKind::inversion_began:
      return fmt::format("{} {} holder={} ran={}", head, who, names.thread(e.other), names.thread(static_cast<int32_t>(e.a)));
    case TraceKind::inversion_ended:
      return fmt::format("{} {} lasted={}", head, who, core::format_duration(core::Duration{e.a}));
    case TraceKind::funnel_dropped:
      return fmt::format("{} {} funnel={}", head, who, object_name(e, names));
    case TraceKind::funnel_taken:
      return fmt::format("{} {} funnel={} waited={}", head, who, object_name(e, names), core::format_duration(core::Duration{e.a}));
    case TraceKind::event_waited:
      return fmt::format("{} {} event={}", head, who, object_name(e, names));
    case TraceKind::event_signaled:  // no thread: from primary interrupt context
      return fmt::format("{} {} event={} woken={}", head, e.thread < 0 ? "interrupt" : who, object_name(e, names), e.a);
    case TraceKind::interrupt_arrived:
      return fmt::format("{} {}", head, object_name(e, names));
    case TraceKind::interrupt_began:
      return fmt::format("{} {} latency={}", head, object_name(e, names), core::format_duration(core::Duration{e.a}));
    case TraceKind::interrupt_ended:
      return fmt::format("{} {}", head, object_name(e, names));
    case TraceKind::workloop_action:
    {
      std::string line = fmt::format("{} {} workloop={} source={} count={}", head, who, object_name(e, names),
                                     source_name(names, e.other, e.a), e.b);
      if (e.c >= 0) line += fmt::format(" latency={}", core::format_duration(core::Duration{e.c}));
      return line;
    }
    case TraceKind::filter_refused:
      return fmt::format("{} {} workloop={} source={}", head, object_name(e, names),
                         core::NameTable::at(names.workloops, static_cast<int32_t>(e.a)), source_name(names, e.a, e.b));
    case TraceKind::timer_fired:
      return fmt::format("{} {} timer={} {}", head, who, object_name(e, names), e.a ? "ran" : "skipped");
    case TraceKind::io_issued:
      return fmt::format("{} {} device={} request={}", head, who, object_name(e, names), e.a);
    case TraceKind::io_completed:
      return fmt::format("{} device={} request={} status=0x{:08X}", head, object_name(e, names), e.a,
                         static_cast<uint32_t>(e.b));
    case TraceKind::terminated:
      return fmt::format("{} device={} phase={}", head, object_name(e, names), e.a);
    case TraceKind::command_refused:
      return fmt::format("{} {} workloop={} event={} status=0x{:08X}", head, who, object_name(e, names),
                         core::NameTable::at(names.events, static_cast<int32_t>(e.b)), static_cast<uint32_t>(e.a));
    case TraceKind::panicked:
      return fmt::format("{} {}", head, e.thread < 0 ? std::string_view("kernel") : who);
    case TraceKind::demoted:
      return fmt::format("{} {} metered={} release_tick={}", head, who, core::format_duration(core::Duration{e.a}), e.b);
    case TraceKind::mode_changed:
      return fmt::format("{} {} mode={} base={}", head, who,
                         metrics::mode_name(static_cast<int>(e.a)), e.b);
    case TraceKind::set_mode_failed:
      return fmt::format("{} {} kern_return={}{}", head, who, e.a, e.a == 4 ? " (KERN_INVALID_ARGUMENT)" : "");
    case TraceKind::depressed:
      return fmt::format("{} {} until={}", head, who, core::format_time(core::SimTime{e.a}));
    case TraceKind::exited:
    case TraceKind::quantum_expired:
    case TraceKind::preempt_deferred:
    case TraceKind::undemoted:
    case TraceKind::undepressed:
      return fmt::format("{} {}", head, who);
    default:
      return fmt::format("{} {} a={} b={}", head, who, e.a, e.b);
  }
}

void TextTraceWriter::on_event(const core::TraceEvent& e) {
  buffer_ += format_trace_line(e, names_);
  buffer_ += '\n';
  if (buffer_.size() > (1 << 16)) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    buffer_.clear();
  }
}

void TextTraceWriter::flush() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
  std::fflush(out_);
}

void TextTraceWriter::finish(core::SimTime /*end*/) { flush(); }

}  // namespace sim::reports
