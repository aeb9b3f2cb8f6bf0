// Text trace formatting: stable, one line per event, diff-friendly (golden tests compare it).
#include "reports/trace_text.hpp"

#include <fmt/format.h>

namespace sim::reports {

using core::TraceKind;

namespace {

std::string object_name(const core::NameTable& names, int32_t i) {
  if (i >= 0 && i < static_cast<int32_t>(names.objects.size())) return names.objects[static_cast<size_t>(i)];
  return fmt::format("#{}", i);
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
      if (e.other >= 0) line += fmt::format(" object={}", object_name(names, e.other));
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
