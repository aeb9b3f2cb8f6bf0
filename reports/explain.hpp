// `xnusim explain`: a narrator that turns a run's event stream into a short timeline in plain
// sentences for teaching (docs/explain.md). It is a TraceSink; the op notes of the scenario come
// in through note(), called when the op carrying one starts. The output stays a screenful or
// two whatever the run's length: repeated events are printed a few times, then counted.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/core/trace.hpp"
#include "sim/metrics/results.hpp"

namespace sim::reports {

// What the narrator knows of the run besides the events (filled by the CLI from the scenario).
struct ExplainSetup {
  std::string scenario;     // its name
  std::string description;  // printed first, wrapped
  std::string policy;       // "xnu", "fixed", ...
  std::string xnu = "792";  // the release whose rules the xnu policy follows
  int cpus = 1;
  int64_t duration_ns = 0;
  uint64_t seed = 1;
  // The window narrated: events outside [since, until) are not printed (the summary still
  // covers the whole run).
  core::SimTime since = core::SimTime::zero();
  core::SimTime until = core::SimTime::never();
  // Per lock (as TraceEvent::other indexes them): "xnu", "none", "inherit" or "ceiling", and the
  // ceiling (0 when none).
  std::vector<std::string> lock_protocols;
  std::vector<int> lock_ceilings;
  // Per work loop, the ids of its event sources (workloop_action's `a` indexes them).
  std::vector<std::vector<std::string>> workloop_sources;
  int64_t offline_status = 0;  // IOReturn kIOReturnOffline as io_completed carries it
};

class Narrator final : public core::TraceSink {
 public:
  // At most this many rows (wrapped at 100 columns) in the timeline; past it, events are only
  // counted.
  static constexpr int kMaxRows = 40;
  // Each kind of event (one thread, one object) is printed at most this many times.
  static constexpr int kPerKind = 3;

  Narrator(ExplainSetup setup, const core::NameTable& names);

  // The op of `thread` that carries `note` starts at `time` (before the op's own events).
  void note(core::SimTime time, int32_t thread, std::string_view note_text, std::string_view op_pointer);
  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

  // The whole text: header and description, the timeline, what was left out, and the worst
  // numbers of `results`. Call after the run.
  std::string text(const metrics::Results& results) const;

 private:
  struct Kind {
    std::string label;      // e.g. "high blocks on m"
    int64_t shown = 0;
    int64_t hidden = 0;
    core::SimTime first_hidden = core::SimTime::never();
    core::SimTime last_hidden = core::SimTime::zero();
    size_t order = 0;       // creation order, for a stable listing
  };
  using KindKey = std::tuple<int, int32_t, int64_t>;

  // Prints `text` as a new line at `t`, or counts it when its kind was printed often enough or
  // the timeline is full. Returns whether it was printed.
  bool say(core::SimTime t, const KindKey& key, std::string_view label, std::string text, int limit = kPerKind);
  // True (and counted) when an event of kind `key` would not be printed: checked before a
  // sentence is built, so repeated events cost a lookup, not a formatted string.
  bool hidden(const KindKey& key, core::SimTime t, int limit = kPerKind);
  // Appends `text` to the line printed last if it is at `t` and open; otherwise drops it.
  void join(core::SimTime t, std::string_view text, std::string_view separator = "; ");
  void commit_pending();
  bool in_window(core::SimTime t) const { return t >= setup_.since && t < setup_.until; }
  void flush_decay();
  std::string who(int32_t thread) const;  // "high (30)"
  std::string name(int32_t thread) const { return std::string(names_.thread(thread)); }
  std::string lock_name(int32_t lock) const { return std::string(core::NameTable::at(names_.locks, lock)); }
  std::string stamp(core::SimTime t) const;
  std::string decay_rule() const;
  std::string promotion_rule(int32_t lock) const;
  std::string_view protocol_of(int32_t lock) const;

  ExplainSetup setup_;
  const core::NameTable& names_;
  bool use_seconds_ = false;

  struct Line {
    core::SimTime time;
    std::string text;
  };
  std::vector<Line> lines_;
  int settled_rows_ = 0;  // rows of every line but the last
  bool full_ = false;     // the timeline has its kMaxRows rows
  int rows() const;
  // " (text)" the first time rule `which` is quoted, "" afterwards: each rule is told once.
  std::string rule(int which, std::string_view text);
  std::set<int> explained_;
  // The note line printed last, while it can still take the same note from more threads.
  bool note_open_ = false;
  std::string note_text_, note_first_;
  int64_t note_others_ = 0;
  bool open_ = false;  // the last line accepts joins
  int64_t dropped_after_full_ = 0;
  std::map<KindKey, Kind> kinds_;
  std::map<std::string, int64_t, std::less<>> note_ops_;  // op pointer -> serial

  // Per thread.
  std::vector<int> pri_;                 // current sched_pri
  std::vector<core::SimTime> woke_at_;   // last wakeup
  std::vector<int64_t> inverted_ns_;     // inversion since its last contention
  std::vector<int32_t> waiting_for_;     // lock it contended for and has not got, or -1
  // The last lock contention (waiter, lock, time), to explain the promotion that follows it.
  int32_t last_waiter_ = -1, last_lock_ = -1;
  core::SimTime last_contention_ = core::SimTime::never();
  // The last uncontended or contended acquisition (thread, lock, time): a ceiling boost follows.
  int32_t last_acquirer_ = -1, last_acquired_ = -1;
  core::SimTime last_acquisition_ = core::SimTime::never();
  // The last lock release (thread, lock, time): an end of promotion follows it.
  int32_t last_releaser_ = -1, last_released_ = -1;
  core::SimTime last_release_ = core::SimTime::never();
  // Subject of the line printed last (a thread), for joining "X runs" after it leaves.
  int32_t line_subject_ = -1;
  std::string pending_;  // "X runs", joined unless an inversion at the same instant tells it
  core::SimTime pending_at_;

  // Timeshare decay, summarised: a stretch of routine priority recomputations is one line.
  struct Decay {
    bool active = false;
    core::SimTime first, last;
    int64_t changes = 0;
    int64_t first_tick = -1, last_tick = -1;
    std::vector<int> from, to;  // per thread, -1 when unchanged in this stretch
  } decay_;
  int64_t tick_ = -1;  // the last sched_tick number seen
  int64_t decay_lines_ = 0;

  // Whole-run tallies for the closing summary.
  int64_t coalesced_actions_ = 0, coalesced_interrupts_ = 0;
  int64_t offline_ios_ = 0;
  int64_t panics_ = 0;
  core::SimTime end_ = core::SimTime::zero();
};

}  // namespace sim::reports
