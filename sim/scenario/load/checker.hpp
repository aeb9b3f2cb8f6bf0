// The scenario loader's checker: reads a parsed document into a Scenario, section by section,
// reporting every problem with its JSON Pointer. Its methods live in one file per concern:
// readers.cpp (generic value readers), world_checks.cpp (header, machine, locks, work loops,
// timers, devices, interrupts, threads), program_checks.cpp (ops, through the op table) and
// expect_checks.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim/core/diag.hpp"
#include "sim/model/op_table.hpp"
#include "sim/scenario/load/readers.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::scenario::load {

using core::Diagnostic;
using core::Diagnostics;
using model::FunnelName;
using model::LockMode;
using model::OpKind;
using model::RealtimeParams;
using model::ThreadMode;

constexpr int kMaxCpus = 256;
// Only guards the loader against absurd input; no real scenario comes near it (the JSON nesting
// limit is in text_positions.cpp).
constexpr int kMaxLoopDepth = 32;
// p_nice of a thread's task (PRIO_MIN -20; 19 is the highest nice(1) gives, docs/policies/nice.md).
constexpr int kMinNice = -20;
constexpr int kMaxNice = 19;
// The most op executions a finite loop may imply at one simulated instant (nested loops
// multiply): when no op of its body takes time or may block, every iteration can run at the same
// instant, and a thread spinning there would stop the whole simulation. 100,000 is far above any
// burst of signals or priority changes a scenario needs at one instant, and still only a few
// milliseconds of simulator time.
constexpr uint64_t kMaxZeroTimeOps = 100'000;
// xnu-792 thread_policy.c: THREAD_TIME_CONSTRAINT_POLICY admission (xnu-facts 4.1).
constexpr Duration kMinRtQuantum = Duration::microseconds(50);
constexpr Duration kMaxRtQuantum = Duration::milliseconds(50);
constexpr std::string_view kRtRejected = "thread_policy_set would return KERN_INVALID_ARGUMENT (4)";

// The ids declared in one section, by position (an entry without a valid id has "").
struct Ids {
  explicit Ids(std::string k) : kind(std::move(k)) {}
  std::string kind;  // "lock", "work loop", ... for messages
  std::vector<std::string> names;
  std::vector<std::string> pointers;
  // An entry could not be read (no id, not an object, section not an array): references that do
  // not resolve are then not reported, since they may name that entry.
  bool incomplete = false;

  // Adds an entry whose id is not known yet (or never will be).
  void add(std::string pointer) {
    names.emplace_back();
    pointers.push_back(std::move(pointer));
  }
  // Names the last entry added.
  void name_last(const std::string& name) {
    names.back() = name;
    index.emplace(name, static_cast<int32_t>(names.size() - 1));
    sorted.reset();
  }
  int32_t find(const std::string& name) const {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  }
  // The declared names, sorted (computed once, for messages).
  const std::vector<std::string>& declared() const {
    if (!sorted) {
      sorted.emplace();
      for (const std::string& n : names)
        if (!n.empty()) sorted->push_back(n);
      std::sort(sorted->begin(), sorted->end());
    }
    return *sorted;
  }

 private:
  std::unordered_map<std::string, int32_t> index;  // lookups only; never iterated
  mutable std::optional<std::vector<std::string>> sorted;
};

enum class Sign : uint8_t { non_negative, positive };

// Totals from reading a list of ops, for the checks that look at a whole loop body.
struct OpsSummary {
  bool takes_time = false;  // some op computes or blocks, so simulated time passes
  bool complete = true;     // every op was read without error
  // Op executions the list implies when none takes time (loops multiplied, saturating).
  uint64_t executions = 0;
  bool spin_reported = false;  // a loop inside was refused for spinning at one instant
};

struct ThreadScope {
  bool has_period = false;
  int32_t thread = -1;  // index of the thread whose program this is
};

template <typename T>
using Choices = std::initializer_list<std::pair<std::string_view, T>>;

class Checker {
 public:
  Checker(const std::string& file, Diagnostics& diag) : file_(file), diag_(diag) {}

  Scenario run(const Json& root);

 private:
  Diagnostic& error(const std::string& pointer, std::string message) {
    return diag_.error(file_, pointer, std::move(message));
  }

  // --- generic readers: each reports what is wrong and returns nullopt on error
  // Reports every member of obj whose key is not in `known`; `where` ("in a thread") completes
  // the note listing the valid keys.
  void check_keys(const Json& obj, const std::string& ptr, const std::vector<std::string>& known,
                  std::string_view where);
  void check_keys(const Json& obj, const std::string& ptr, std::initializer_list<std::string_view> known,
                  std::string_view where);
  void unknown_key(const Json& member, const std::string& ptr, const std::vector<std::string>& known,
                   std::string_view where);
  const Json* require(const Json& obj, const std::string& ptr, std::string_view key);
  bool require_object(const Json& v, const std::string& ptr);
  std::optional<std::string> read_string(const Json& v, const std::string& ptr);
  std::optional<std::string> read_nonempty(const Json& v, const std::string& ptr);
  // A display string (scenario name, description, note, policy, calibration): no control
  // characters, since reports and traces print it as it is.
  std::optional<std::string> read_text(const Json& v, const std::string& ptr, bool may_be_empty);
  std::optional<std::string> read_name(const Json& v, const std::string& ptr,
                                       std::string_view what);
  std::optional<bool> read_bool(const Json& v, const std::string& ptr);
  std::optional<int64_t> read_int(const Json& v, const std::string& ptr, int64_t lo, int64_t hi,
                                  std::string_view range);
  std::optional<int> read_priority(const Json& v, const std::string& ptr);
  std::optional<int> read_cpu(const Json& v, const std::string& ptr);
  std::optional<Duration> read_duration(const Json& v, const std::string& ptr, Sign sign);
  std::optional<DurationSpec> read_duration_spec(const Json& v, const std::string& ptr);
  template <typename T>
  std::optional<T> read_enum(const Json& v, const std::string& ptr, Choices<T> choices);
  std::optional<int32_t> resolve(const Json& v, const std::string& ptr, const Ids& ids);
  std::optional<int32_t> resolve_name(const std::string& name, const std::string& ptr,
                                      const Ids& ids);
  // Whether the last error is kept in the report (past the limit errors are only counted).
  bool shown() const { return diag_.count() <= core::Diagnostics::kLimit; }
  bool implicit_target(ExpectTarget target, const std::string& name) const;

  // Optional key helpers: leave `out` untouched when the key is absent or wrong.
  template <typename T, typename Read>
  void optional_key(const Json& obj, const std::string& ptr, const std::string& key, T& out,
                    Read read) {
    if (const Json* v = member(obj, key))
      if (auto r = read(*v, at(ptr, key))) out = *r;
  }

  // --- sections
  bool header(const Json& root);
  void machine(const Json& m, const std::string& ptr);
  void calibration(const std::string& ptr, const std::vector<std::string>& explicit_costs);
  void platform(const Json& v, const std::string& ptr);
  bool platform_file(const std::string& ptr, PlatformSpec& out);
  std::optional<double> read_watts(const Json& v, const std::string& ptr, bool positive);
  // A size in bytes: a positive integer, or a string such as "4MiB", "64KiB", "1500B", "2MB".
  std::optional<int64_t> read_size(const Json& v, const std::string& ptr);
  std::optional<double> read_bandwidth(const Json& v, const std::string& ptr);
  void platform_disks(const Json& v, const std::string& ptr, PlatformSpec& out);
  void platform_links(const Json& v, const std::string& ptr, PlatformSpec& out);
  bool packets_arrival(const Json& a, const std::string& ptr, ArrivalSpec& out);
  const Json* declare(const Json& root, const std::string& key, Ids& ids);
  void lock(const Json& e, const std::string& ptr, size_t i);
  void workloop(const Json& e, const std::string& ptr, size_t i);
  void timer(const Json& e, const std::string& ptr, size_t i);
  void device(const Json& e, const std::string& ptr, size_t i);
  int32_t nic_peer(const Json& v, const std::string& ptr);
  void check_device_graph();
  void interrupt(const Json& e, const std::string& ptr, size_t i);
  void handler_program(const Json& v, const std::string& ptr, InterruptSpec& out);
  bool arrival(const Json& a, const std::string& ptr, ArrivalSpec& out);
  void thread(const Json& e, const std::string& ptr, size_t i);
  void check_task_nice();
  void check_task_refs();
  std::optional<RealtimeParams> realtime(const Json& v, const std::string& ptr, bool admission);
  std::vector<Op> ops(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
                      OpsSummary& sum);
  Op op(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
        OpsSummary& sum);

  // What an op reader gets: the op's object and pointer, the op being filled, and the context.
  struct OpArgs {
    const Json& v;
    const std::string& ptr;
    Op& out;
    const ThreadScope& scope;
    int depth;
    OpsSummary& sum;
  };
 public:
  using OpReader = void (Checker::*)(const OpArgs&);
  // The reader of each op, by OpKind; internal ops have none (they have no spelling). Every
  // public op having one is checked at compile time below.
  // The reader of each op, by OpKind, and whether it has one (a separate flag: a comparison of
  // member function pointers is not a constant expression under -fsanitize=undefined).
  struct OpReaders {
    std::array<OpReader, model::kOpCount> fn{};
    std::array<bool, model::kOpCount> has{};
  };
  static constexpr OpReaders op_readers() {
    OpReaders r{};
    auto set = [&](OpKind k, OpReader f) {
      r.fn[static_cast<size_t>(k)] = f;
      r.has[static_cast<size_t>(k)] = true;
    };
    set(OpKind::run, &Checker::read_run);
    set(OpKind::sleep, &Checker::read_run);
    set(OpKind::sleep_until_next_period, &Checker::read_sleep_until_next_period);
    set(OpKind::loop, &Checker::read_loop);
    set(OpKind::lock, &Checker::read_lock);
    set(OpKind::unlock, &Checker::read_lock);
    set(OpKind::wait, &Checker::read_wait);
    set(OpKind::signal, &Checker::read_signal);
    set(OpKind::funnel, &Checker::read_funnel);
    set(OpKind::yield, &Checker::read_yield);
    set(OpKind::swtch_pri, &Checker::read_nothing);
    set(OpKind::set_priority, &Checker::read_set_priority);
    set(OpKind::set_mode, &Checker::read_set_mode);
    set(OpKind::run_action, &Checker::read_run_action);
    set(OpKind::command_sleep, &Checker::read_command_sleep);
    set(OpKind::command_wakeup, &Checker::read_command_wakeup);
    set(OpKind::io, &Checker::read_io);
    set(OpKind::send, &Checker::read_send);
    set(OpKind::timer_arm, &Checker::read_timer_arm);
    set(OpKind::timer_cancel, &Checker::read_timer_cancel);
    set(OpKind::terminate, &Checker::read_terminate);
    set(OpKind::clear_wait, &Checker::read_clear_wait);
    set(OpKind::thread_policy, &Checker::read_thread_policy);
    set(OpKind::task_policy, &Checker::read_task_policy);
    set(OpKind::setpriority, &Checker::read_setpriority);
    set(OpKind::pthread_setschedparam, &Checker::read_pthread_setschedparam);
    set(OpKind::try_lock, &Checker::read_try_lock);
    set(OpKind::upgrade, &Checker::read_rw_convert);
    set(OpKind::downgrade, &Checker::read_rw_convert);
    set(OpKind::create_thread, &Checker::read_create_thread);
    set(OpKind::exit_thread, &Checker::read_nothing);
    set(OpKind::terminate_thread, &Checker::read_terminate_thread);
    set(OpKind::funnel_switch, &Checker::read_funnel_switch);
    set(OpKind::funnel_merge, &Checker::read_funnel_merge);
    set(OpKind::set_pstate, &Checker::read_set_pstate);
    return r;
  }

 private:
  void duration_spec_key(const OpArgs& a, const char* key);
  void ref_key(const OpArgs& a, const char* key, const Ids& ids, int32_t& index);
  void all_key(const OpArgs& a);
  void read_run(const OpArgs& a);
  void read_sleep_until_next_period(const OpArgs& a);
  void read_loop(const OpArgs& a);
  void read_lock(const OpArgs& a);
  void read_wait(const OpArgs& a);
  void read_signal(const OpArgs& a);
  void read_funnel(const OpArgs& a);
  void read_yield(const OpArgs& a);
  void read_nothing(const OpArgs& a);
  void read_set_priority(const OpArgs& a);
  void read_set_mode(const OpArgs& a);
  void read_run_action(const OpArgs& a);
  void read_command_sleep(const OpArgs& a);
  void read_command_wakeup(const OpArgs& a);
  void read_io(const OpArgs& a);
  void read_send(const OpArgs& a);
  void read_timer_arm(const OpArgs& a);
  void read_timer_cancel(const OpArgs& a);
  void read_terminate(const OpArgs& a);
  void read_clear_wait(const OpArgs& a);
  void read_thread_policy(const OpArgs& a);
  void read_task_policy(const OpArgs& a);
  void read_setpriority(const OpArgs& a);
  void read_pthread_setschedparam(const OpArgs& a);
  void read_try_lock(const OpArgs& a);
  void read_rw_convert(const OpArgs& a);
  void else_key(const OpArgs& a);
  void read_create_thread(const OpArgs& a);
  void read_terminate_thread(const OpArgs& a);
  void read_funnel_switch(const OpArgs& a);
  void read_funnel_merge(const OpArgs& a);
  void read_set_pstate(const OpArgs& a);
  bool funnels_517(const OpArgs& a, const char* routine);
  // Every "spawned" thread is created by exactly one create_thread op (after all programs).
  void check_spawns();
  void expect(const Json& e, const std::string& ptr);

  const std::string& file_;
  Diagnostics& diag_;
  Scenario s_;
  int cpus_ = 1;
  bool cpus_known_ = true;
  bool platform_refused_ = false;  // machine.platform was given but wrong  // false when machine.cpus was wrong: skip CPU index range checks
  Ids locks_{"lock"};
  Ids events_{"event"};
  Ids workloops_{"work loop"};
  Ids timers_{"timer"};
  Ids devices_{"device"};
  Ids interrupts_{"interrupt"};
  Ids threads_{"thread"};
  // task_policy ops' `task` names (name, pointer of the key), checked once every thread is read.
  std::vector<std::pair<std::string, std::string>> task_refs_;
  std::vector<std::optional<LockKind>> lock_kinds_;
  std::vector<Ids> sources_;            // per work loop
  std::vector<bool> device_ref_error_;  // provider or workloop did not resolve
  struct Create {
    int32_t target;
    std::string pointer;  // of the create_thread op
  };
  std::vector<Create> creates_;  // create_thread ops, in file order
};

template <typename T>
std::optional<T> Checker::read_enum(const Json& v, const std::string& ptr, Choices<T> choices) {
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (v.is_string() && v.str() == name) return value;
    names.emplace_back(name);
  }
  Diagnostic& d = error(
      ptr, fmt::format("must be {} (got {})", one_of(names), v.is_string() ? written(v) : got(v)));
  if (v.is_string()) {
    std::string near = suggest(v.str(), names);
    if (!near.empty()) d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
  }
  return std::nullopt;
}

}  // namespace sim::scenario::load
