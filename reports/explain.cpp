// The narrator of `xnusim explain` (docs/explain.md): events in, a short timeline of sentences out.
#include "reports/explain.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "sim/metrics/names.hpp"

namespace sim::reports {

using core::PriorityReason;
using core::SimTime;
using core::SwitchReason;
using core::TraceEvent;
using core::TraceKind;

namespace {

constexpr size_t kWidth = 100;   // the text fits this many columns
constexpr size_t kStampWidth = 14;

// Kinds of narrated events, for counting repeats (KindKey's first member).
enum : int {
  kNote, kPreempt, kRoundRobin, kYield, kContend, kInvBegin, kInvEnd, kRelease, kAcquire, kDone,
  kMiss, kDemote, kUndemote, kPromote, kUnpromote, kSetPri, kMode, kModeFailed, kDepress, kUndepress,
  kPanic, kHeldAtExit, kSpin, kFunnelDrop, kFunnelTake, kFunnelWait, kIrq, kAction, kCoalesced,
  kTimer, kOffline, kTerminate, kRefused, kDeferred, kDecay, kTryFail, kConvert, kIrqLock
};

// "65 ms", "8.005 s", "250 us": at most three decimals, trailing zeros dropped (integer arithmetic).
// What a set_mode_failed event says: who refused what, and why.
std::string refusal_text(std::string_view n, const core::TraceEvent& e) {
  switch (static_cast<core::PolicyCall>(e.reason)) {
    case core::PolicyCall::thread_policy_set:
      break;
    case core::PolicyCall::task_policy_set:
      if (e.a == 0)
        return fmt::format("task_policy_set ignores {}'s request for role {}: its task is a control application or "
                           "reniced (KERN_SUCCESS, nothing changes).",
                           n, metrics::role_name(static_cast<int>(e.c)));
      return fmt::format("task_policy_set refuses {}'s request for role {} with {} (KERN_INVALID_ARGUMENT); no "
                         "priority changes.",
                         n, metrics::role_name(static_cast<int>(e.c)), e.a);
    case core::PolicyCall::setpriority:
      if (e.a == 13)
        return fmt::format("setpriority refuses {}'s nice {} with EACCES: only root may lower nice.", n, e.b);
      return fmt::format("setpriority sets nice {} for {}'s process, but task_importance refuses to renice its "
                         "task ({}); no priority changes.",
                         e.b, n, e.a);
    case core::PolicyCall::pthread_setschedparam:
      if (e.a == 0)
        return fmt::format("pthread_setschedparam leaves {} alone: thread_policy_common ignores a real-time "
                           "thread (KERN_SUCCESS).",
                           n);
      return fmt::format("pthread_setschedparam refuses priority {} for {} with EINVAL (the kernel's "
                         "KERN_INVALID_ARGUMENT: a priority must be 0..127); the thread is unchanged.",
                         e.b, n);
  }
  return fmt::format("thread_policy_set refuses {}'s request with {}{}; the thread is unchanged.", n, e.a,
                     e.a == 4 ? " (KERN_INVALID_ARGUMENT: computation must be 50 us..50 ms and at most the constraint)"
                              : "");
}

std::string human(int64_t ns) {
  int64_t a = ns < 0 ? -ns : ns;
  const char* unit = "ns";
  int64_t scale = 1;
  if (a >= 1'000'000'000) unit = "s", scale = 1'000'000'000;
  else if (a >= 1'000'000) unit = "ms", scale = 1'000'000;
  else if (a >= 1'000) unit = "us", scale = 1'000;
  if (scale == 1) return fmt::format("{} ns", ns);
  int64_t milli = (a * 1000 + scale / 2) / scale;  // thousandths of the unit, rounded
  if (scale == 1'000'000'000 && a > (INT64_MAX / 1000)) milli = a / (scale / 1000);
  std::string frac = fmt::format("{:03}", milli % 1000);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return fmt::format("{}{}{}{} {}", ns < 0 ? "-" : "", milli / 1000, frac.empty() ? "" : ".", frac, unit);
}

// Greedy word wrap of `text` to `width` columns; continuation lines start with `indent`.
std::string wrap(std::string_view text, size_t width, std::string_view first, std::string_view indent) {
  std::string out(first);
  size_t col = first.size();
  bool line_empty = true;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view word = text.substr(i, j - i);
    // A word longer than a whole line (a path, a URL) is cut so that no line passes `width`.
    size_t room = width > indent.size() ? width - indent.size() : 1;
    if (word.size() > room) {
      word = word.substr(0, room);
      j = i + room;
    }
    i = j;
    if (word.empty()) break;
    if (!line_empty && col + 1 + word.size() > width) {
      out += '\n';
      out += indent;
      col = indent.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    line_empty = false;
  }
  out += '\n';
  return out;
}

const char* phase_text(int64_t phase) {
  switch (phase) {
    case 1: return "phase 1 done (terminatePhase1: the device is inactive, its clients are asked to go)";
    case 2: return "phase 2 done (willTerminate and didTerminate, each on the work loop with its gate held)";
    case 3: return "phase 3 done (stop and detach: the driver is gone)";
    default: return "a terminate phase is done";
  }
}

// Rows a timeline entry takes once wrapped.
int row_count(const std::string& text) {
  std::string w = wrap(text, kWidth, std::string(kStampWidth + 2, ' '), std::string(kStampWidth + 2, ' '));
  return static_cast<int>(std::count(w.begin(), w.end(), '\n'));
}

}  // namespace

int Narrator::rows() const {
  return lines_.empty() ? 0 : settled_rows_ + row_count(lines_.back().text);
}

std::string Narrator::rule(int which, std::string_view text) {
  if (!explained_.insert(which).second) return "";
  return fmt::format(" ({})", text);
}

Narrator::Narrator(ExplainSetup setup, const core::NameTable& names)
    : setup_(std::move(setup)), names_(names) {
  use_seconds_ = setup_.duration_ns > 10'000'000'000;
  size_t n = names_.threads.size();
  pri_.assign(n, 0);
  woke_at_.assign(n, SimTime::never());
  inverted_ns_.assign(n, 0);
  waiting_for_.assign(n, -1);
  decay_.from.assign(n, -1);
  decay_.to.assign(n, -1);
}

std::string Narrator::stamp(SimTime t) const {
  int64_t ns = t.ns;
  if (use_seconds_) return fmt::format("{}.{:06} s", ns / 1'000'000'000, (ns % 1'000'000'000) / 1'000);
  return fmt::format("{}.{:03} ms", ns / 1'000'000, (ns % 1'000'000) / 1'000);
}

std::string Narrator::who(int32_t thread) const {
  if (thread < 0) return "idle";
  return fmt::format("{} ({})", names_.thread(thread), pri_[static_cast<size_t>(thread)]);
}

std::string Narrator::decay_rule() const {
  if (setup_.policy == "xnu")
    return setup_.xnu == "517"
               ? "update_priority in priority.c: sched_pri = base - (sched_usage >> 20), usage weighted by "
                 "the load and decayed by 5/8 each tick"
               : "update_priority in priority.c: sched_pri = base - (sched_usage >> pri_shift), usage "
                 "decayed by 5/8 each tick, pri_shift set by the load";
  if (setup_.policy == "bsd44")
    return "4.4BSD schedclock and schedcpu: p_usrpri = PUSER + estcpu/4 + 2 x nice, estcpu decayed once "
           "a second by the load";
  return fmt::format("the {} policy's priority computation", setup_.policy);
}

std::string_view Narrator::protocol_of(int32_t lock) const {
  return lock >= 0 && static_cast<size_t>(lock) < setup_.lock_protocols.size()
             ? std::string_view(setup_.lock_protocols[static_cast<size_t>(lock)])
             : std::string_view("xnu");
}

std::string Narrator::promotion_rule(int32_t lock) const {
  std::string_view protocol = protocol_of(lock);
  if (protocol == "inherit") return "priority inheritance: the holder runs at its highest waiter's priority";
  if (protocol == "ceiling")
    return fmt::format("priority ceiling: whoever holds {} runs at its ceiling {}", lock_name(lock),
                       static_cast<size_t>(lock) < setup_.lock_ceilings.size() ? setup_.lock_ceilings[static_cast<size_t>(lock)] : 0);
  return "xnu promotion, lck_mtx_lock_wait in locks.c: the waiter's priority, clamped to 31..80, is "
         "lent to a holder whose base is below 80";
}

bool Narrator::say(SimTime t, const KindKey& key, std::string_view label, std::string text, int limit) {
  auto [it, fresh] = kinds_.try_emplace(key);
  Kind& k = it->second;
  if (fresh) {
    k.label = std::string(label);
    k.order = kinds_.size();
  }
  if (k.shown >= limit || full_) {
    ++k.hidden;
    k.first_hidden = std::min(k.first_hidden, t);
    k.last_hidden = std::max(k.last_hidden, t);
    open_ = false;
    return false;
  }
  if (std::get<0>(key) != kDecay) flush_decay();
  if (rows() >= kMaxRows) full_ = true;  // rows only grow: once full, no need to count again
  if (full_) {
    ++k.hidden;
    k.first_hidden = std::min(k.first_hidden, t);
    k.last_hidden = std::max(k.last_hidden, t);
    open_ = false;
    return false;
  }
  ++k.shown;
  note_open_ = false;
  if (!lines_.empty()) settled_rows_ += row_count(lines_.back().text);
  lines_.push_back(Line{t, std::move(text)});
  open_ = true;
  line_subject_ = -1;
  return true;
}

bool Narrator::hidden(const KindKey& key, SimTime t, int limit) {
  auto it = kinds_.find(key);
  if (it == kinds_.end()) return false;
  Kind& k = it->second;
  if (k.shown < limit && !full_) return false;
  ++k.hidden;
  k.first_hidden = std::min(k.first_hidden, t);
  k.last_hidden = std::max(k.last_hidden, t);
  open_ = false;
  return true;
}

void Narrator::join(SimTime t, std::string_view text, std::string_view separator) {
  if (!open_ || lines_.empty() || lines_.back().time != t) return;
  if (!lines_.back().text.empty() && lines_.back().text.back() == '.') lines_.back().text.pop_back();
  lines_.back().text += separator;
  lines_.back().text += text;
}

void Narrator::commit_pending() {
  if (pending_.empty()) return;
  join(pending_at_, pending_);
  pending_.clear();
}

void Narrator::flush_decay() {
  if (!decay_.active) return;
  Decay d = std::move(decay_);
  decay_ = Decay{};
  decay_.from.assign(names_.threads.size(), -1);
  decay_.to.assign(names_.threads.size(), -1);
  // The threads whose priority moved furthest, at most four by name.
  std::vector<std::pair<int, size_t>> moved;
  for (size_t i = 0; i < d.from.size(); ++i)
    if (d.from[i] >= 0 && d.from[i] != d.to[i]) moved.emplace_back(-std::abs(d.to[i] - d.from[i]), i);
  std::stable_sort(moved.begin(), moved.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string list;
  for (size_t i = 0; i < moved.size() && i < 4; ++i) {
    size_t th = moved[i].second;
    list += fmt::format("{}{} {} -> {}", i ? ", " : "", names_.thread(static_cast<int32_t>(th)), d.from[th], d.to[th]);
  }
  if (moved.size() > 4) list += fmt::format(" and {} more threads", moved.size() - 4);
  if (moved.empty()) list = "back where they started";
  std::string ticks;
  if (d.first_tick >= 0 && d.last_tick > d.first_tick)
    ticks = fmt::format(" (ticks {}..{})", d.first_tick, d.last_tick);
  else if (d.last_tick >= 0)
    ticks = fmt::format(" (tick {})", d.last_tick);
  std::string text = fmt::format("timeshare decay until {}{}, {} change{}: {}{}", stamp(d.last), ticks,
                                 d.changes, d.changes == 1 ? "" : "s", list, rule(kDecay, "rule: " + decay_rule()));
  // Stretches after the first few are counted, not printed.
  say(d.first, KindKey{kDecay, -1, 0}, "stretches of routine timeshare decay", std::move(text), 4);
  open_ = false;
}

void Narrator::note(SimTime time, int32_t thread, std::string_view note_text, std::string_view op_pointer) {
  commit_pending();
  if (!in_window(time) || note_text.empty()) return;
  // One kind per op: a note inside a loop is printed the first time and then counted.
  auto it = note_ops_.find(op_pointer);
  if (it == note_ops_.end())
    it = note_ops_.emplace(std::string(op_pointer), static_cast<int64_t>(note_ops_.size())).first;
  KindKey key{kNote, thread, it->second};
  if (hidden(key, time, 1)) return;
  std::string label = fmt::format("starts of {}'s op with a note ({})", names_.thread(thread), op_pointer);
  // The same note on several threads at one instant is one line.
  auto known = kinds_.find(key);
  bool first = known == kinds_.end() || known->second.shown == 0;
  if (first && note_open_ && !lines_.empty() && lines_.back().time == time && note_text_ == note_text) {
    ++note_others_;
    lines_.back().text = fmt::format("{} and {} other thread{}: \"{}\"", note_first_, note_others_,
                                     note_others_ == 1 ? "" : "s", note_text);
    auto [k, made] = kinds_.try_emplace(key);
    if (made) {
      k->second.label = label;
      k->second.order = kinds_.size();
    }
    ++k->second.shown;
    return;
  }
  if (say(time, key, label, fmt::format("{}: \"{}\"", names_.thread(thread), note_text), 1)) {
    note_open_ = true;
    note_text_ = std::string(note_text);
    note_first_ = name(thread);
    note_others_ = 0;
  }
  open_ = false;
}

void Narrator::on_event(const TraceEvent& e) {
  end_ = e.time;
  // "X runs" after a thread blocked waits for the next event: an inversion that begins at once
  // says who runs itself.
  if (!pending_.empty() && !(e.kind == TraceKind::inversion_began && e.time == pending_at_)) commit_pending();
  pending_.clear();
  size_t ti = e.thread >= 0 && static_cast<size_t>(e.thread) < pri_.size() ? static_cast<size_t>(e.thread) : SIZE_MAX;
  bool win = in_window(e.time);
  switch (e.kind) {
    // --- state only ------------------------------------------------------------------------
    case TraceKind::created:
      if (ti != SIZE_MAX) pri_[ti] = static_cast<int>(e.b);
      return;
    case TraceKind::woke:
      if (ti != SIZE_MAX) {
        pri_[ti] = static_cast<int>(e.b);
        woke_at_[ti] = e.time;
      }
      return;
    case TraceKind::sched_tick:
      tick_ = e.a;
      if (decay_.active) decay_.last_tick = e.a;
      return;
    case TraceKind::priority_changed: {
      int from = static_cast<int>(e.a), to = static_cast<int>(e.b);
      if (ti != SIZE_MAX) pri_[ti] = to;
      if (!win || ti == SIZE_MAX) return;
      auto why = static_cast<PriorityReason>(e.reason);
      switch (why) {
        case PriorityReason::decay:
        case PriorityReason::tick:
        case PriorityReason::quantum:
        case PriorityReason::wake:
          if (!decay_.active) {
            decay_.active = true;
            decay_.first = e.time;
            decay_.first_tick = tick_;
          }
          decay_.last = e.time;
          decay_.last_tick = tick_;
          ++decay_.changes;
          if (decay_.from[ti] < 0) decay_.from[ti] = from;
          decay_.to[ti] = to;
          return;
        case PriorityReason::failsafe:
          join(e.time, fmt::format("sched_pri {} -> {}", from, to));
          return;
        case PriorityReason::promote: {
          std::string why;  // the rule, quoted the first time it applies
          std::string cause;
          int rule_id = kPromote * 16;
          if (last_contention_ == e.time && last_lock_ >= 0) {
            cause = fmt::format("{} waits for {}", who(last_waiter_), lock_name(last_lock_));
            why = promotion_rule(last_lock_);
            rule_id += 1 + static_cast<int>(protocol_of(last_lock_).size());
          } else if (last_acquisition_ == e.time && last_acquirer_ == e.thread && last_acquired_ >= 0) {
            cause = fmt::format("it took {}", lock_name(last_acquired_));
            bool xnu = protocol_of(last_acquired_) == "xnu";
            why = xnu ? "lck_mtx_lock_acquire in locks.c: a new holder that still sees waiters takes the "
                        "promotion recorded in the mutex"
                      : promotion_rule(last_acquired_);
            rule_id += xnu ? 10 : 1 + static_cast<int>(protocol_of(last_acquired_).size());
          } else {
            cause = "a thread waiting for a lock it holds rose";
            why = "the boost passes down the chain of holders";
            rule_id += 11;
          }
          say(e.time, KindKey{kPromote, e.thread, 0}, fmt::format("promotions of {}", name(e.thread)),
              fmt::format("{} is promoted {} -> {} because {}{}", name(e.thread), from, to, cause, rule(rule_id, why)));
          open_ = false;
          return;
        }
        case PriorityReason::unpromote: {
          std::string why = "its priority is recomputed";
          if (last_releaser_ == e.thread && last_release_ == e.time && last_released_ >= 0) {
            std::string_view protocol = protocol_of(last_released_);
            std::string lock = lock_name(last_released_);
            if (protocol == "inherit")
              why = fmt::format("it released {}, so it inherits from no waiter of it", lock);
            else if (protocol == "ceiling")
              why = fmt::format("it released {}, so it leaves the ceiling", lock);
            else
              why = fmt::format("it released {}: lck_mtx_unlock_wakeup ends its last promotion and recomputes", lock);
          }
          say(e.time, KindKey{kUnpromote, e.thread, 0}, fmt::format("end of promotions of {}", name(e.thread)),
              fmt::format("{}'s promotion ends: {} -> {} ({}).", name(e.thread), from, to, why));
          return;
        }
        case PriorityReason::set_priority:
          say(e.time, KindKey{kSetPri, e.thread, 0}, fmt::format("priority settings of {}", name(e.thread)),
              fmt::format("{} sets its priority: {} -> {}.", name(e.thread), from, to));
          return;
        case PriorityReason::mode:
          join(e.time, fmt::format("sched_pri {} -> {}", from, to));
          return;
        case PriorityReason::depress:
          return;  // told by depressed / undepressed
      }
      return;
    }
    default:
      break;
  }
  // Tallies for the summary, over the whole run.
  if (e.kind == TraceKind::workloop_action && e.b > 1) {
    ++coalesced_actions_;
    coalesced_interrupts_ += e.b;
  }
  if (e.kind == TraceKind::io_completed && e.b == setup_.offline_status) ++offline_ios_;
  if (e.kind == TraceKind::panicked) ++panics_;
  // State that sentences need, kept outside the window too.
  if (e.kind == TraceKind::switched && e.other >= 0 && static_cast<size_t>(e.other) < pri_.size())
    pri_[static_cast<size_t>(e.other)] = static_cast<int>(e.b);
  if (e.kind == TraceKind::lock_contended && ti != SIZE_MAX) {
    waiting_for_[ti] = e.other;
    inverted_ns_[ti] = 0;
    last_waiter_ = e.thread;
    last_lock_ = e.other;
    last_contention_ = e.time;
  }
  if (e.kind == TraceKind::inversion_ended && ti != SIZE_MAX) inverted_ns_[ti] += e.a;
  if (e.kind == TraceKind::lock_released) {
    last_releaser_ = e.thread;
    last_released_ = e.other;
    last_release_ = e.time;
  }
  if (e.kind == TraceKind::lock_acquired) {
    last_acquirer_ = e.thread;
    last_acquired_ = e.other;
    last_acquisition_ = e.time;
  }
  if (!win) {
    if (e.kind == TraceKind::lock_acquired && ti != SIZE_MAX) waiting_for_[ti] = -1;
    return;
  }

  std::string_view n = names_.thread(e.thread);
  switch (e.kind) {
    case TraceKind::switched: {
      auto why = static_cast<SwitchReason>(e.reason);
      if (e.thread < 0 || e.other < 0) return;  // a CPU going idle or leaving idle
      size_t next = static_cast<size_t>(e.other);
      switch (why) {
        case SwitchReason::preempt:
          if (hidden(KindKey{kPreempt, e.other, 0}, e.time)) return;
          say(e.time, KindKey{kPreempt, e.other, 0}, fmt::format("preemptions by {}", name(e.other)),
              fmt::format("{} {} {}.", who(e.other), woke_at_[next] == e.time ? "wakes and preempts" : "preempts",
                          who(e.thread)));
          return;
        case SwitchReason::quantum:
          if (line_subject_ >= 0 && line_subject_ == e.thread) {
            join(e.time, fmt::format("{} runs", who(e.other)));
            return;
          }
          if (hidden(KindKey{kRoundRobin, -1, 0}, e.time)) return;
          say(e.time, KindKey{kRoundRobin, -1, 0}, "quantum expiries handing the CPU to another thread",
              fmt::format("{}'s quantum expires; {} runs{}", who(e.thread), who(e.other),
                          rule(kRoundRobin, "thread_quantum_expire: a queued thread of equal or higher priority "
                                            "takes its turn, round robin")));
          return;
        case SwitchReason::yield:
        case SwitchReason::handoff:
          say(e.time, KindKey{kYield, e.thread, e.other}, fmt::format("{} yields to {}", n, name(e.other)),
              fmt::format("{} {} {}.", who(e.thread), why == SwitchReason::handoff ? "hands its CPU to" : "yields to",
                          who(e.other)));
          return;
        default:
          if (line_subject_ >= 0 && line_subject_ == e.thread && open_ && !lines_.empty() &&
              lines_.back().time == e.time) {
            pending_ = fmt::format("{} runs", who(e.other));
            pending_at_ = e.time;
          }
          return;
      }
    }
    case TraceKind::lock_contended: {
      if (hidden(KindKey{kContend, e.thread, e.other}, e.time)) return;
      std::string held = e.a >= 0 ? fmt::format(", held by {}", who(static_cast<int32_t>(e.a))) : "";
      if (say(e.time, KindKey{kContend, e.thread, e.other}, fmt::format("{} waits for {}", n, lock_name(e.other)),
              fmt::format("{} needs {}{}", who(e.thread), lock_name(e.other), held)))
        line_subject_ = e.thread;
      return;
    }
    case TraceKind::inversion_began: {
      std::string ran = who(static_cast<int32_t>(e.a));
      if (open_ && !lines_.empty() && lines_.back().time == e.time && line_subject_ == e.thread) {
        join(e.time, fmt::format("{} is ready but {} runs instead: priority inversion begins",
                                 name(e.other), ran));
        line_subject_ = e.thread;
        return;
      }
      say(e.time, KindKey{kInvBegin, e.thread, e.a}, fmt::format("inversions of {} behind {}", n, name(static_cast<int32_t>(e.a))),
          fmt::format("priority inversion begins: {} waits while {} runs and the holder {} is ready.", who(e.thread),
                      ran, who(e.other)));
      return;
    }
    case TraceKind::inversion_ended:
      if (open_ && !lines_.empty() && lines_.back().time == e.time) {
        join(e.time, fmt::format("the inversion of {} ends after {}", n, human(e.a)));
        return;
      }
      say(e.time, KindKey{kInvEnd, e.thread, 0}, fmt::format("ends of inversions of {}", n),
          fmt::format("the inversion of {} ends after {}.", n, human(e.a)));
      return;
    case TraceKind::lock_released: {
      bool waited = false;
      for (size_t i = 0; i < waiting_for_.size(); ++i)
        if (waiting_for_[i] == e.other && static_cast<int32_t>(i) != e.thread) waited = true;
      if (!waited) return;
      if (say(e.time, KindKey{kRelease, e.thread, e.other}, fmt::format("{} releases {} to waiters", n, lock_name(e.other)),
              fmt::format("{} releases {} (held {})", n, lock_name(e.other), human(e.a))))
        line_subject_ = e.thread;
      return;
    }
    case TraceKind::lock_acquired: {
      if (ti != SIZE_MAX) waiting_for_[ti] = -1;
      if (e.a <= 0) return;
      int64_t inv = ti != SIZE_MAX ? inverted_ns_[ti] : 0;
      std::string text = fmt::format("{} gets {} after waiting {}{}", n, lock_name(e.other), human(e.a),
                                     inv > 0 ? fmt::format(", {} of it inverted", human(inv)) : "");
      if (ti != SIZE_MAX) inverted_ns_[ti] = 0;
      if (open_ && !lines_.empty() && lines_.back().time == e.time) {
        join(e.time, text);
        line_subject_ = e.thread;
        return;
      }
      if (say(e.time, KindKey{kAcquire, e.thread, e.other}, fmt::format("{} gets {} after a wait", n, lock_name(e.other)),
              text + "."))
        line_subject_ = e.thread;
      return;
    }
    case TraceKind::completed:
      if (hidden(KindKey{kDone, e.thread, 0}, e.time)) return;
      if (say(e.time, KindKey{kDone, e.thread, 0}, fmt::format("job completions of {}", n),
              fmt::format("{} finishes job {} (response {})", n, e.a, human(e.b))))
        line_subject_ = e.thread;
      return;
    case TraceKind::exited:
      if (open_ && !lines_.empty() && lines_.back().time == e.time && line_subject_ >= 0 && line_subject_ == e.thread)
        join(e.time, "and exits", " ");
      return;
    case TraceKind::deadline_missed:
      if (hidden(KindKey{kMiss, e.thread, 0}, e.time)) return;
      say(e.time, KindKey{kMiss, e.thread, 0}, fmt::format("deadline misses of {}", n),
          fmt::format("{} misses the deadline of job {} by {}.", n, e.a, human(e.b)));
      return;
    case TraceKind::demoted:
      say(e.time, KindKey{kDemote, e.thread, 0}, fmt::format("fail-safe demotions of {}", n),
          fmt::format("{} has used {} of CPU since it last woke: the fail-safe demotes it to timeshare until "
                      "tick {}{}",
                      who(e.thread), human(e.a), e.b,
                      rule(kDemote, "thread_quantum_expire in priority.c: past 800 quanta = 8 s, a real-time "
                                    "thread drops to base 0 for 128 ticks = 16 s")));
      line_subject_ = e.thread;
      return;
    case TraceKind::undemoted:
      say(e.time, KindKey{kUndemote, e.thread, 0}, fmt::format("fail-safe releases of {}", n),
          fmt::format("{}'s fail-safe demotion ends at tick {}: update_priority restores its mode", n, tick_));
      line_subject_ = e.thread;
      return;
    case TraceKind::mode_changed:
      say(e.time, KindKey{kMode, e.thread, 0}, fmt::format("mode changes of {}", n),
          fmt::format("{} becomes {} with base {} ({})", n, metrics::mode_name(static_cast<int>(e.a)), e.b,
                      core::to_string(static_cast<core::PolicyCall>(e.reason))));
      line_subject_ = e.thread;
      return;
    case TraceKind::set_mode_failed:
      say(e.time, KindKey{kModeFailed, e.thread, 0}, fmt::format("refused mode changes of {}", n),
          refusal_text(n, e));
      return;
    case TraceKind::depressed:
      say(e.time, KindKey{kDepress, e.thread, 0}, fmt::format("depressions of {}", n),
          fmt::format("{} is depressed to priority 0 until {} (swtch_pri in syscall_subr.c: others are "
                      "runnable, so it steps aside for a quantum).",
                      n, stamp(SimTime{e.a})));
      return;
    case TraceKind::undepressed:
      say(e.time, KindKey{kUndepress, e.thread, 0}, fmt::format("ends of depressions of {}", n),
          fmt::format("{}'s depression ends.", n));
      return;
    case TraceKind::panicked:
      say(e.time, KindKey{kPanic, e.thread, 0}, "panics",
          fmt::format("PANIC: the simulated system stops{} (the report is at the end).",
                      e.thread >= 0 ? fmt::format(", culprit {}", n) : ""),
          1'000'000);
      return;
    case TraceKind::lock_try_failed:
      if (hidden(KindKey{kTryFail, e.thread, e.other}, e.time, 1)) return;
      say(e.time, KindKey{kTryFail, e.thread, e.other}, fmt::format("failed attempts of {} on {}", n, lock_name(e.other)),
          e.reason == 1
              ? fmt::format("{} asks to upgrade {} to writing, but {}'s upgrade is pending: the call fails and {} "
                            "now holds nothing (lck_rw_lock_shared_to_exclusive drops the read hold first).",
                            n, lock_name(e.other), who(static_cast<int32_t>(e.a)), n)
              : fmt::format("{}'s try_lock of {} fails at once{}: no wait, no promotion.", n, lock_name(e.other),
                            e.a >= 0 ? fmt::format(" ({} holds it)", who(static_cast<int32_t>(e.a))) : ""),
          1);
      return;
    case TraceKind::lock_converted:
      if (hidden(KindKey{kConvert, e.thread, e.other}, e.time, 1)) return;
      say(e.time, KindKey{kConvert, e.thread, e.other}, fmt::format("upgrades and downgrades of {} by {}", lock_name(e.other), n),
          e.reason == 1 ? fmt::format("{}'s upgrade of {} is done: it holds it for writing (waited {} for the other readers).",
                                      n, lock_name(e.other), human(e.a))
                        : fmt::format("{} downgrades {} to reading and wakes {} waiting thread{}.", n,
                                      lock_name(e.other), e.b, e.b == 1 ? "" : "s"),
          1);
      return;
    case TraceKind::interrupt_lock: {
      if (e.reason != 2 || hidden(KindKey{kIrqLock, static_cast<int32_t>(e.a), e.other}, e.time, 2)) return;
      std::string src(core::NameTable::at(names_.interrupts, static_cast<int32_t>(e.a)));
      say(e.time, KindKey{kIrqLock, static_cast<int32_t>(e.a), e.other},
          fmt::format("spins of the handler of {} for {}", src, lock_name(e.other)),
          fmt::format("the handler of {} on cpu{} spins for {}, held by {}, with interrupts off.", src, e.cpu,
                      lock_name(e.other), e.b >= 0 ? who(static_cast<int32_t>(e.b)) : std::string("another CPU's handler")),
          2);
      return;
    }
    case TraceKind::lock_held_at_exit:
      say(e.time, KindKey{kHeldAtExit, e.thread, e.other}, fmt::format("{} exits holding {}", n, lock_name(e.other)),
          fmt::format("{} ends holding {}: xnu releases nothing when a thread terminates, so it stays held for "
                      "ever ({} waiting now).",
                      n, lock_name(e.other), e.b));
      return;
    case TraceKind::spin_began:
      if (hidden(KindKey{kSpin, e.thread, e.other}, e.time, 1)) return;
      say(e.time, KindKey{kSpin, e.thread, e.other}, fmt::format("{} spins for {}", n, lock_name(e.other)),
          fmt::format("{} spins for {} while its holder runs on another CPU{}", n, lock_name(e.other),
                      rule(kSpin, "adaptive mutex: it spins up to 10 us while the holder runs, then sleeps")),
          1);
      return;
    case TraceKind::funnel_dropped:
      say(e.time, KindKey{kFunnelDrop, e.thread, e.other}, fmt::format("{} drops a funnel as it blocks", n),
          fmt::format("{} blocks and drops the {} funnel (thread_block_reason drops it on a voluntary block, "
                      "never on preemption).",
                      n, e.other == 1 ? "network" : "kernel"),
          2);
      return;
    case TraceKind::funnel_taken:
      // A funnel is a mutex: its lock_acquired, just before, already told the wait.
      if (e.a <= 0 || (last_acquirer_ == e.thread && last_acquisition_ == e.time)) return;
      if (open_ && !lines_.empty() && lines_.back().time == e.time && line_subject_ == e.thread) {
        join(e.time, fmt::format("it gets the {} funnel after waiting {}", e.other == 1 ? "network" : "kernel", human(e.a)));
        return;
      }
      say(e.time, KindKey{kFunnelTake, e.thread, e.other}, fmt::format("{} gets a funnel after a wait", n),
          fmt::format("{} gets the {} funnel after waiting {}.", n, e.other == 1 ? "network" : "kernel", human(e.a)));
      return;
    case TraceKind::interrupt_began: {
      if (hidden(KindKey{kIrq, e.other, 0}, e.time, 2)) return;
      std::string src(core::NameTable::at(names_.interrupts, e.other));
      say(e.time, KindKey{kIrq, e.other, 0}, fmt::format("interrupts from {}", src),
          fmt::format("interrupt {} on cpu{}: its handler starts {} after it arrived{}.", src, e.cpu, human(e.a),
                      e.thread >= 0 ? fmt::format(", interrupting {}", who(e.thread)) : ""),
          2);
      return;
    }
    case TraceKind::workloop_action: {
      if (hidden(KindKey{e.b > 1 ? kCoalesced : kAction, e.other, e.a}, e.time, e.b > 1 ? kPerKind : 2)) return;
      std::string wl(core::NameTable::at(names_.workloops, e.other));
      std::string src = fmt::format("#{}", e.a);
      if (e.other >= 0 && static_cast<size_t>(e.other) < setup_.workloop_sources.size()) {
        const auto& s = setup_.workloop_sources[static_cast<size_t>(e.other)];
        if (e.a >= 0 && static_cast<size_t>(e.a) < s.size()) src = s[static_cast<size_t>(e.a)];
      }
      if (e.b > 1) {
        say(e.time, KindKey{kCoalesced, e.other, e.a}, fmt::format("coalesced actions of {}.{}", wl, src),
            fmt::format("{} runs the action of {}.{} once for {} interrupts: they arrived before the work loop "
                        "ran, and IOInterruptEventSource::checkForWork coalesces them into one call with count {}.",
                        n, wl, src, e.b, e.b));
        return;
      }
      say(e.time, KindKey{kAction, e.other, e.a}, fmt::format("actions of {}.{}", wl, src),
          fmt::format("{} runs the action of {}.{} on work loop {} (gate held).", who(e.thread), wl, src, wl), 2);
      return;
    }
    case TraceKind::timer_fired: {
      std::string tm(core::NameTable::at(names_.timers, e.other));
      if (e.a)
        say(e.time, KindKey{kTimer, e.other, 1}, fmt::format("actions of timer {}", tm),
            fmt::format("timer {} fires: its action runs on {}, a callout thread, with the gate closed.", tm, who(e.thread)), 2);
      else
        say(e.time, KindKey{kTimer, e.other, 0}, fmt::format("skipped callouts of timer {}", tm),
            fmt::format("timer {}'s callout finds the timer cancelled and skips the action (792: "
                        "calloutGeneration changed).", tm));
      return;
    }
    case TraceKind::io_completed:
      if (e.b != setup_.offline_status || hidden(KindKey{kOffline, e.other, 0}, e.time)) return;
      say(e.time, KindKey{kOffline, e.other, 0},
          fmt::format("offline completions on {}", core::NameTable::at(names_.devices, e.other)),
          fmt::format("I/O request {} on {} completes with kIOReturnOffline (0x{:08X}): the device is being "
                      "terminated.",
                      e.a, core::NameTable::at(names_.devices, e.other), static_cast<uint32_t>(e.b)));
      return;
    case TraceKind::terminated:
      say(e.time, KindKey{kTerminate, e.other, e.a}, fmt::format("terminate phases of {}", core::NameTable::at(names_.devices, e.other)),
          fmt::format("{}: terminate {}.", core::NameTable::at(names_.devices, e.other), phase_text(e.a)), 1);
      return;
    case TraceKind::command_refused:
      say(e.time, KindKey{kRefused, e.thread, e.other}, fmt::format("refused commandSleeps of {}", n),
          fmt::format("{}'s commandSleep on {} returns 0x{:08X} (kIOReturnNotPermitted) without sleeping: it did "
                      "not hold the gate (IOCommandGate::commandSleep).",
                      n, core::NameTable::at(names_.workloops, e.other), static_cast<uint32_t>(e.a)));
      return;
    case TraceKind::preempt_deferred:
      say(e.time, KindKey{kDeferred, e.thread, 0}, fmt::format("deferred preemptions of {}", n),
          fmt::format("{} is in the kernel: a non-urgent preemption waits until it blocks or returns to user "
                      "mode (ast.c: kernel mode honours only AST_URGENT).",
                      who(e.thread)),
          2);
      return;
    default:
      return;
  }
}

void Narrator::finish(SimTime end) {
  commit_pending();
  end_ = end;
  flush_decay();
}

std::string Narrator::text(const metrics::Results& r) const {
  std::string out;
  std::string machine = setup_.policy == "xnu" ? fmt::format("policy xnu (xnu-{} rules)", setup_.xnu)
                                               : fmt::format("policy {}", setup_.policy);
  out += fmt::format("{}: {}, {} CPU{}, {} simulated, seed {}\n", setup_.scenario, machine, setup_.cpus,
                     setup_.cpus == 1 ? "" : "s", human(setup_.duration_ns), setup_.seed);
  if (!setup_.description.empty()) {
    out += '\n';
    out += wrap(setup_.description, kWidth, "  ", "  ");
  }
  out += '\n';
  if (setup_.since.ns > 0 || setup_.until != SimTime::never())
    out += fmt::format("What happened, from {} to {}\n", stamp(setup_.since),
                       setup_.until == SimTime::never() ? std::string("the end") : stamp(setup_.until));
  else
    out += "What happened\n";
  if (lines_.empty()) out += "  (nothing worth telling in this stretch)\n";
  SimTime prev = SimTime::never();
  std::string indent(kStampWidth + 2, ' ');
  for (const Line& l : lines_) {
    std::string head = l.time == prev ? indent : fmt::format("{:>{}}  ", stamp(l.time), kStampWidth);
    prev = l.time;
    std::string text = l.text;
    if (!text.empty() && text.back() != '.' && text.back() != '"') text += '.';
    out += wrap(text, kWidth, head, indent);
  }

  // What was counted rather than printed, most frequent first.
  std::vector<const Kind*> hidden;
  // Repeated notes are one entry: the ops that carry them run again and again in loops.
  Kind notes;
  notes.label = "starts of ops whose note is shown above";
  for (const auto& [key, k] : kinds_) {
    if (k.hidden == 0) continue;
    if (std::get<0>(key) != kNote) {
      hidden.push_back(&k);
      continue;
    }
    if (notes.hidden == 0) notes.order = k.order;
    notes.hidden += k.hidden;
    notes.first_hidden = std::min(notes.first_hidden, k.first_hidden);
    notes.last_hidden = std::max(notes.last_hidden, k.last_hidden);
  }
  if (notes.hidden > 0) hidden.push_back(&notes);
  std::stable_sort(hidden.begin(), hidden.end(), [](const Kind* a, const Kind* b) {
    if (a->hidden != b->hidden) return a->hidden > b->hidden;
    return a->order < b->order;
  });
  if (!hidden.empty()) {
    out += "\nNot shown above (repeats; --since and --until narrate any stretch)\n";
    size_t shown = 0;
    for (const Kind* k : hidden) {
      if (shown == 8) break;
      ++shown;
      std::string span = k->first_hidden == k->last_hidden
                             ? fmt::format("at {}", stamp(k->first_hidden))
                             : fmt::format("{} .. {}", stamp(k->first_hidden), stamp(k->last_hidden));
      out += wrap(fmt::format("{} more {} ({})", k->hidden, k->label, span), kWidth, "  ", "    ");
    }
    if (hidden.size() > shown) {
      int64_t more = 0;
      for (size_t i = shown; i < hidden.size(); ++i) more += hidden[i]->hidden;
      out += fmt::format("  and {} more events of {} other kinds\n", more, hidden.size() - shown);
    }
  }

  // The worst numbers.
  out += "\nIn numbers\n";
  std::vector<const metrics::ThreadResult*> ts;
  for (const metrics::ThreadResult& t : r.threads) ts.push_back(&t);
  std::stable_sort(ts.begin(), ts.end(), [](const metrics::ThreadResult* a, const metrics::ThreadResult* b) {
    auto score = [](const metrics::ThreadResult* t) {
      return std::tuple(t->deadline_misses > 0 || t->inversion_ns > 0 || t->demotions > 0, t->response_ns.max);
    };
    return score(a) > score(b);
  });
  size_t listed = 0;
  for (const metrics::ThreadResult* t : ts) {
    if (listed == 6) break;
    if (t->jobs == 0 && t->cpu_time_ns == 0) continue;  // asleep the whole run
    ++listed;
    std::string line = t->jobs > 0 ? fmt::format("{}: worst response {}", t->id, human(t->response_ns.max))
                                   : fmt::format("{}: no job finished, CPU time {}", t->id, human(t->cpu_time_ns));
    if (t->jobs > 1) line += fmt::format(" (p99 {}, {} jobs)", human(t->response_ns.p99), t->jobs);
    if (t->deadline_misses > 0) line += fmt::format(", {} deadline miss{}", t->deadline_misses, t->deadline_misses == 1 ? "" : "es");
    if (t->blocked_ns > 0) line += fmt::format(", blocked {}", human(t->blocked_ns));
    if (t->inversion_ns > 0) line += fmt::format(", {} of it inverted", human(t->inversion_ns));
    if (t->demotions > 0) line += fmt::format(", demoted {} time{}", t->demotions, t->demotions == 1 ? "" : "s");
    if (t->min_sched_pri == t->max_sched_pri)
      line += fmt::format(", sched_pri {}", t->min_sched_pri);
    else
      line += fmt::format(", sched_pri {}..{}", t->min_sched_pri, t->max_sched_pri);
    out += wrap(line, kWidth, "  ", "    ");
  }
  if (ts.size() > listed) out += fmt::format("  ({} more threads: xnusim run shows them all)\n", ts.size() - listed);
  for (const metrics::LockResult& l : r.locks) {
    if (l.contended == 0) continue;
    out += wrap(fmt::format("lock {}: {} of {} acquisitions contended, longest wait {}, longest hold {}", l.id,
                            l.contended, l.acquisitions, human(l.wait_ns.max), human(l.hold_ns.max)),
                kWidth, "  ", "    ");
  }
  for (const metrics::WorkloopResult& w : r.workloops)
    if (w.actions > 0)
      out += wrap(fmt::format("work loop {}: {} actions for {} interrupts, action latency p99 {}, max {}", w.id,
                              w.actions, w.interrupts_delivered, human(w.action_latency_ns.p99),
                              human(w.action_latency_ns.max)),
                  kWidth, "  ", "    ");
  if (coalesced_actions_ > 0)
    out += fmt::format("  coalescing: {} actions each served several interrupts ({} in all)\n", coalesced_actions_,
                       coalesced_interrupts_);
  for (const metrics::DeviceResult& d : r.devices)
    if (d.offline > 0)
      out += fmt::format("  device {}: {} of {} I/Os completed offline\n", d.id, d.offline, d.ios);
  for (const std::string& p : r.system.panics) out += wrap("PANIC: " + p, kWidth, "  ", "    ");
  if (!r.expect.empty()) {
    size_t ok = 0;
    for (const metrics::ExpectResult& e : r.expect) ok += e.ok ? 1 : 0;
    out += fmt::format("  expects: {} of {} hold\n", ok, r.expect.size());
    for (const metrics::ExpectResult& e : r.expect)
      if (!e.ok) out += wrap("FAIL " + e.text, kWidth, "    ", "      ");
  }
  return out;
}

}  // namespace sim::reports
