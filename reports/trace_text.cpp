// Text trace formatting: stable, one line per event, diff-friendly (golden tests compare it).
#include "reports/trace_text.hpp"

#include <charconv>
#include <cstdint>
#include <string_view>

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
    case TraceKind::lock_try_failed:
    case TraceKind::lock_converted:
    case TraceKind::interrupt_lock:
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
        case core::BlockReason::thread_wait: return &n.threads;
        case core::BlockReason::io: return &n.devices;
        default: return nullptr;
      }
    default:
      return nullptr;
  }
}

}  // namespace

namespace {

// Appends without formatting machinery: integers by std::to_chars, text by append. One line is
// built in place at the end of the writer's buffer; nothing is allocated per line.
class Line {
 public:
  explicit Line(std::string& out) : out_(out) {}
  Line& operator<<(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Line& operator<<(char c) {
    out_.push_back(c);
    return *this;
  }
  Line& num(int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    out_.append(tmp, r.ptr);
    return *this;
  }
  Line& unum(uint64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    out_.append(tmp, r.ptr);
    return *this;
  }
  // `digits` decimal digits, zero-padded on the left.
  Line& padded(uint64_t v, int digits) {
    char tmp[24];
    for (int i = digits - 1; i >= 0; --i) {
      tmp[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    out_.append(tmp, static_cast<size_t>(digits));
    return *this;
  }
  // As core::format_time: seconds with nine decimals.
  Line& time(int64_t ns) {
    const uint64_t v = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
    if (ns < 0) out_.push_back('-');
    unum(v / 1'000'000'000);
    out_.push_back('.');
    return padded(v % 1'000'000'000, 9);
  }
  // As core::format_duration: the largest unit the value reaches, the fraction without
  // trailing zeros ("514.988us", "10ms", "0ns").
  Line& duration(int64_t ns) {
    if (ns == 0) return *this << "0ns";
    const uint64_t v = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
    if (ns < 0) out_.push_back('-');
    struct Unit {
      uint64_t scale;
      int digits;
      std::string_view name;
    };
    static constexpr Unit units[] = {{1'000'000'000, 9, "s"}, {1'000'000, 6, "ms"}, {1'000, 3, "us"}};
    for (const Unit& u : units) {
      if (v < u.scale) continue;
      unum(v / u.scale);
      uint64_t rest = v % u.scale;
      if (rest != 0) {
        int digits = u.digits;
        while (rest % 10 == 0) {
          rest /= 10;
          --digits;
        }
        out_.push_back('.');
        padded(rest, digits);
      }
      return *this << u.name;
    }
    unum(v);
    return *this << "ns";
  }
  Line& hex32(uint32_t v) {  // 0xXXXXXXXX
    static constexpr char kDigits[] = "0123456789ABCDEF";
    char tmp[10] = {'0', 'x'};
    for (int i = 9; i >= 2; --i) {
      tmp[i] = kDigits[v & 0xF];
      v >>= 4;
    }
    out_.append(tmp, sizeof tmp);
    return *this;
  }

 private:
  std::string& out_;
};

// The object `other` names, by its kind's table; "#N" for a kind without one (`spare` holds it).
std::string_view object_view(const core::TraceEvent& e, const core::NameTable& names, std::string& spare) {
  if (e.kind == TraceKind::funnel_dropped || e.kind == TraceKind::funnel_taken ||
      (e.kind == TraceKind::blocked && static_cast<core::BlockReason>(e.reason) == core::BlockReason::funnel))
    return e.other == 1 ? "network" : "kernel";
  if (const std::vector<std::string>* v = objects_of(e, names)) return core::NameTable::at(*v, e.other);
  spare = "#" + std::to_string(e.other);
  return spare;
}

// Event source `s` of work loop `w` by its id ("irq"), or its number when it has none.
std::string_view source_view(const core::NameTable& n, int64_t w, int64_t s, std::string& spare) {
  if (w >= 0 && static_cast<size_t>(w) < n.sources.size()) {
    const std::vector<std::string>& v = n.sources[static_cast<size_t>(w)];
    if (s >= 0 && static_cast<size_t>(s) < v.size()) return v[static_cast<size_t>(s)];
  }
  spare = std::to_string(s);
  return spare;
}

// Appends the line of `e` and its newline to `out`.
void append_line(std::string& out, const core::TraceEvent& e, const core::NameTable& names) {
  Line l(out);
  l.time(e.time.ns) << ' ';
  if (e.cpu >= 0) {
    l << "cpu";
    l.num(e.cpu);
  } else {
    l << '-';
  }
  l << ' ' << core::to_string(e.kind);
  const std::string_view who = names.thread(e.thread);
  std::string spare;  // only for an object or source without a name (short: no allocation)
  auto object = [&]() { return object_view(e, names, spare); };
  switch (e.kind) {
    case TraceKind::created:
      l << ' ' << who << " pri=";
      l.num(e.b);
      if (e.a) l << " kernel";
      if (e.other >= 0) l << " by=" << core::NameTable::at(names.threads, e.other);
      break;
    case TraceKind::terminate_asked:
      l << ' ' << who << " thread=" << core::NameTable::at(names.threads, e.other) << " kern_return=";
      l.num(e.a);
      if (e.a == 4) l << " (not created yet)";
      if (e.a == 5) l << " (KERN_FAILURE: a kernel thread)";
      if (e.a == 37) l << " (KERN_TERMINATED)";
      break;
    case TraceKind::funnel_merged:
      l << ' ' << who << " kern_return=";
      l.num(e.a);
      if (e.a == 5) l << " (KERN_FAILURE: merged already)";
      break;
    case TraceKind::released:
      l << ' ' << who << " job=";
      l.num(e.a);
      if (e.b >= 0) {
        l << " deadline=";
        l.time(e.b);
      }
      break;
    case TraceKind::woke:
      l << ' ' << who << " reason=" << core::to_string(static_cast<core::WakeReason>(e.reason)) << " pri=";
      l.num(e.b);
      break;
    case TraceKind::switched:
      l << ' ' << who << " -> " << names.thread(e.other)
        << " reason=" << core::to_string(static_cast<core::SwitchReason>(e.reason));
      if (e.other >= 0) {
        l << " pri=";
        l.num(e.b);
      }
      if (e.a > 0) {
        l << " cost=";
        l.duration(e.a);
      }
      break;
    case TraceKind::blocked:
      l << ' ' << who << " on=" << core::to_string(static_cast<core::BlockReason>(e.reason));
      if (e.other >= 0) l << " object=" << object();
      break;
    case TraceKind::completed:
      l << ' ' << who << " job=";
      l.num(e.a) << " response=";
      l.duration(e.b);
      break;
    case TraceKind::deadline_missed:
      l << ' ' << who << " job=";
      l.num(e.a) << " late=";
      l.duration(e.b);
      break;
    case TraceKind::priority_changed:
      l << ' ' << who << ' ';
      l.num(e.a) << " -> ";
      l.num(e.b) << " reason=" << core::to_string(static_cast<core::PriorityReason>(e.reason));
      break;
    case TraceKind::sched_tick:
      l << " tick=";
      l.num(e.a) << " value=";
      l.num(e.b);
      break;
    case TraceKind::lock_acquired:
      l << ' ' << who << " lock=" << object() << " waited=";
      l.duration(e.a);
      break;
    case TraceKind::lock_contended:
      l << ' ' << who << " lock=" << object() << " holder="
        << (e.a < 0 ? std::string_view("none") : names.thread(static_cast<int32_t>(e.a)));
      break;
    case TraceKind::lock_released:
      l << ' ' << who << " lock=" << object() << " held=";
      l.duration(e.a);
      break;
    case TraceKind::lock_held_at_exit:
      l << ' ' << who << " lock=" << object()
        << (e.reason == 1 ? std::string_view(" mode=read") : e.reason == 2 ? " mode=write" : "") << " held=";
      l.duration(e.a) << " waiters=";
      l.num(e.b);
      break;
    case TraceKind::lock_try_failed:
      l << ' ' << who << " lock=" << object() << (e.reason == 1 ? " op=upgrade" : " op=try_lock") << " holder="
        << (e.a < 0 ? std::string_view("none") : names.thread(static_cast<int32_t>(e.a)));
      break;
    case TraceKind::lock_converted:
      l << ' ' << who << " lock=" << object();
      if (e.reason == 1) {
        l << " to=write waited=";
        l.duration(e.a);
      } else {
        l << " to=read woken=";
        l.num(e.b);
      }
      break;
    case TraceKind::interrupt_lock:
      l << ' ' << core::NameTable::at(names.interrupts, static_cast<int32_t>(e.a)) << " lock=" << object();
      if (e.reason == 0) {
        l << " acquired spun=";
        l.duration(e.b);
      } else if (e.reason == 1) {
        l << " released held=";
        l.duration(e.b);
      } else {
        l << " spins holder=" << (e.b < 0 ? std::string_view("handler") : names.thread(static_cast<int32_t>(e.b)));
      }
      break;
    case TraceKind::spin_began:
      l << ' ' << who << " lock=" << object();
      break;
    case TraceKind::spin_ended:
      l << ' ' << who << " lock=" << object() << " spun=";
      l.duration(e.a);
      break;
    case TraceKind::inversion_began:
      l << ' ' << who << " holder=" << names.thread(e.other) << " ran=" << names.thread(static_cast<int32_t>(e.a));
      break;
    case TraceKind::inversion_ended:
      l << ' ' << who << " lasted=";
      l.duration(e.a);
      break;
    case TraceKind::funnel_dropped:
      l << ' ' << who << " funnel=" << object();
      break;
    case TraceKind::funnel_taken:
      l << ' ' << who << " funnel=" << object() << " waited=";
      l.duration(e.a);
      break;
    case TraceKind::event_waited:
      l << ' ' << who << " event=" << object();
      break;
    case TraceKind::event_signaled:  // no thread: from primary interrupt context
      l << ' ' << (e.thread < 0 ? std::string_view("interrupt") : who) << " event=" << object() << " woken=";
      l.num(e.a);
      break;
    case TraceKind::interrupt_arrived:
    case TraceKind::interrupt_ended:
      l << ' ' << object();
      break;
    case TraceKind::interrupt_began:
      l << ' ' << object() << " latency=";
      l.duration(e.a);
      break;
    case TraceKind::workloop_action: {
      std::string spare_source;
      l << ' ' << who << " workloop=" << object() << " source=" << source_view(names, e.other, e.a, spare_source)
        << " count=";
      l.num(e.b);
      if (e.c >= 0) {
        l << " latency=";
        l.duration(e.c);
      }
      break;
    }
    case TraceKind::filter_refused: {
      std::string spare_source;
      l << ' ' << object() << " workloop=" << core::NameTable::at(names.workloops, static_cast<int32_t>(e.a))
        << " source=" << source_view(names, e.a, e.b, spare_source);
      break;
    }
    case TraceKind::timer_fired:
      l << ' ' << who << " timer=" << object() << (e.a ? " ran" : " skipped");
      break;
    case TraceKind::io_issued:
      l << ' ' << who << " device=" << object() << " request=";
      l.num(e.a);
      break;
    case TraceKind::io_completed:
      l << " device=" << object() << " request=";
      l.num(e.a) << " status=";
      l.hex32(static_cast<uint32_t>(e.b));
      break;
    case TraceKind::terminated:
      l << " device=" << object() << " phase=";
      l.num(e.a);
      break;
    case TraceKind::command_refused:
      l << ' ' << who << " workloop=" << object()
        << " event=" << core::NameTable::at(names.events, static_cast<int32_t>(e.b)) << " status=";
      l.hex32(static_cast<uint32_t>(e.a));
      break;
    case TraceKind::panicked:
      l << ' ' << (e.thread < 0 ? std::string_view("kernel") : who);
      break;
    case TraceKind::demoted:
      l << ' ' << who << " metered=";
      l.duration(e.a) << " release_tick=";
      l.num(e.b);
      break;
    case TraceKind::mode_changed: {
      l << ' ' << who << " mode=" << metrics::mode_name(static_cast<int>(e.a)) << " base=";
      l.num(e.b);
      auto call = static_cast<core::PolicyCall>(e.reason);
      if (call != core::PolicyCall::thread_policy_set) l << " call=" << core::to_string(call);
      if (call == core::PolicyCall::task_policy_set || call == core::PolicyCall::setpriority)
        l << " role=" << metrics::role_name(static_cast<int>(e.c));
      break;
    }
    case TraceKind::set_mode_failed: {
      auto call = static_cast<core::PolicyCall>(e.reason);
      if (call == core::PolicyCall::setpriority && e.a == 13) {
        l << ' ' << who << " errno=13 (EACCES)";
      } else {
        l << ' ' << who << " kern_return=";
        l.num(e.a);
        if (e.a == 4) l << " (KERN_INVALID_ARGUMENT)";
        if (e.a == 0) l << " (KERN_SUCCESS, ignored)";
      }
      if (call != core::PolicyCall::thread_policy_set) l << " call=" << core::to_string(call);
      if (call == core::PolicyCall::task_policy_set) l << " role=" << metrics::role_name(static_cast<int>(e.c));
      if (call == core::PolicyCall::setpriority) {
        l << " nice=";
        l.num(e.b);
      }
      if (call == core::PolicyCall::pthread_setschedparam) {
        l << " priority=";
        l.num(e.b);
      }
      break;
    }
    case TraceKind::depressed:
      l << ' ' << who << " until=";
      l.time(e.a);
      break;
    case TraceKind::exited:
      l << ' ' << who;
      if (e.a == 1) l << " by=exit_thread";
      if (e.a == 2) l << " terminated_by=" << core::NameTable::at(names.threads, e.other);
      break;
    case TraceKind::quantum_expired:
    case TraceKind::preempt_deferred:
    case TraceKind::undemoted:
    case TraceKind::undepressed:
      l << ' ' << who;
      break;
    default:
      l << ' ' << who << " a=";
      l.num(e.a) << " b=";
      l.num(e.b);
      break;
  }
  out.push_back('\n');
}

}  // namespace

std::string format_trace_line(const core::TraceEvent& e, const core::NameTable& names) {
  std::string line;
  append_line(line, e, names);
  line.pop_back();
  return line;
}

TextTraceWriter::TextTraceWriter(std::FILE* out, const core::NameTable& names) : out_(out), names_(names) {
  buffer_.reserve(kBufferBytes + 4096);
}

void TextTraceWriter::on_event(const core::TraceEvent& e) {
  append_line(buffer_, e, names_);
  if (buffer_.size() >= kBufferBytes) {
    std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
    buffer_.clear();  // keeps the capacity
  }
}

void TextTraceWriter::flush() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
  std::fflush(out_);
}

void TextTraceWriter::finish(core::SimTime /*end*/) { flush(); }

}  // namespace sim::reports
