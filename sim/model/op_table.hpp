// The op table: everything the code knows about each program op in one place. Its spelling in
// scenarios, its keys, whether it always takes simulated time or may block, which layer
// executes it, and whether it is internal (never written in a scenario). Every list of ops is
// derived from it: spelling both ways, the loader's known keys and did-you-mean candidates, the
// list of ops that take time in messages, the builder's check and the handler registrations.
//
// To add an op: add it to OpKind (program.hpp; public or internal, anywhere), add its row here,
// give the loader a reader (sim/scenario/load/program_checks.cpp), implement it in its layer,
// and document it in docs/scenario-format.md. tests/scenario/op_table_test.cpp checks that every
// public op is spellable, parsed, documented and handled.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/model/program.hpp"

namespace sim::model {

// Which layer executes an op: the dispatcher's interpreter itself, or a layer that registered
// a handler for it with Dispatcher::register_op_handler.
enum class OpLayer : uint8_t { dispatcher, sync, iokit, platform };

// A short constant list of key names.
class KeyList {
 public:
  static constexpr size_t kMax = 4;
  constexpr KeyList() = default;
  constexpr KeyList(std::initializer_list<std::string_view> keys) {
    for (std::string_view k : keys) items_[size_++] = k;
  }
  constexpr const std::string_view* begin() const { return items_.data(); }
  constexpr const std::string_view* end() const { return items_.data() + size_; }
  constexpr size_t size() const { return size_; }
  constexpr bool contains(std::string_view k) const {
    for (std::string_view i : *this)
      if (i == k) return true;
    return false;
  }

 private:
  std::array<std::string_view, kMax> items_{};
  size_t size_ = 0;
};

struct OpInfo {
  OpKind kind;
  std::string_view name;  // spelling in scenarios and traces
  KeyList required;       // keys the op always needs, besides "op"
  KeyList optional;       // keys it may take, besides "op" and "note" (some only in combination)
  // Always passes simulated time when executed (computes, or waits for a time or an event that
  // the op itself cannot satisfy). Random durations count: they are zero only by chance.
  bool takes_time;
  // Exists to wait for another thread or an event: lock, wait, funnel, command_sleep (and io and
  // run_action, which also take time). Ops that take a work loop's gate only on the way
  // (command_wakeup, timer_arm, timer_cancel) do not count: like a zero-time op they can repeat
  // at one instant. The loader counts takes_time || may_block as "time may pass" in loops.
  bool may_block;
  OpLayer layer;
  bool internal;     // the IOKit layer's own threads; no scenario spelling
};

namespace op_detail {
using L = OpLayer;
inline constexpr bool kTime = true, kNoTime = false, kBlocks = true, kNoBlock = false;
inline constexpr bool kInternal = true, kPublic = false;
}  // namespace op_detail

// One row per OpKind, in enum order (checked below).
inline constexpr OpInfo kOpTable[] = {
    // clang-format off
    {OpKind::run, "run", {"for"}, {}, op_detail::kTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::sleep, "sleep", {"for"}, {}, op_detail::kTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::sleep_until_next_period, "sleep_until_next_period", {}, {}, op_detail::kTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::loop, "loop", {"body"}, {"times", "forever"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::lock, "lock", {"lock"}, {"mode", "disable_interrupts"}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::sync, op_detail::kPublic},
    {OpKind::unlock, "unlock", {"lock"}, {"mode"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::wait, "wait", {"event"}, {"timeout", "interruptible"}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::sync, op_detail::kPublic},
    {OpKind::signal, "signal", {"event"}, {"all", "thread"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::funnel, "funnel", {"funnel"}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::sync, op_detail::kPublic},
    {OpKind::yield, "yield", {}, {"to"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::swtch_pri, "swtch_pri", {}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::set_priority, "set_priority", {"priority"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::set_mode, "set_mode", {"mode"}, {"priority", "realtime"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::run_action, "run_action", {"workloop", "for"}, {}, op_detail::kTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kPublic},
    {OpKind::command_sleep, "command_sleep", {"workloop", "event"}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kPublic},
    {OpKind::command_wakeup, "command_wakeup", {"workloop", "event"}, {"all"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::iokit, op_detail::kPublic},
    {OpKind::io, "io", {"device"}, {"for", "read", "write"}, op_detail::kTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kPublic},
    {OpKind::timer_arm, "timer_arm", {"timer", "after"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::iokit, op_detail::kPublic},
    {OpKind::timer_cancel, "timer_cancel", {"timer"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::iokit, op_detail::kPublic},
    {OpKind::terminate, "terminate", {"device"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::iokit, op_detail::kPublic},
    {OpKind::clear_wait, "clear_wait", {"thread"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::thread_policy, "thread_policy", {"policy"}, {"timeshare", "importance", "realtime"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::task_policy, "task_policy", {"role"}, {"task"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::setpriority, "setpriority", {"nice"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::pthread_setschedparam, "pthread_setschedparam", {"policy", "priority"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::try_lock, "try_lock", {"lock"}, {"mode", "else"}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::upgrade, "upgrade", {"lock"}, {"else"}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::sync, op_detail::kPublic},
    {OpKind::downgrade, "downgrade", {"lock"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::create_thread, "create_thread", {"thread"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::exit_thread, "exit_thread", {}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kPublic},
    {OpKind::terminate_thread, "terminate_thread", {"thread"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::funnel_switch, "funnel_switch", {"from", "to"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::funnel_merge, "funnel_merge", {}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::sync, op_detail::kPublic},
    {OpKind::set_pstate, "set_pstate", {"pstate"}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::platform, op_detail::kPublic},
    {OpKind::send, "send", {"device", "to", "bytes"}, {"for"}, op_detail::kTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kPublic},
    {OpKind::internal_workloop, "internal_workloop", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_callout, "internal_callout", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_activator, "internal_activator", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_terminate, "internal_terminate", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_action_done, "internal_action_done", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_gate_close, "internal_gate_close", {}, {}, op_detail::kNoTime, op_detail::kBlocks, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_gate_open, "internal_gate_open", {}, {}, op_detail::kNoTime, op_detail::kNoBlock, OpLayer::iokit, op_detail::kInternal},
    {OpKind::internal_sched_tick, "internal_sched_tick", {}, {}, op_detail::kTime, op_detail::kNoBlock, OpLayer::dispatcher, op_detail::kInternal},
    // clang-format on
};

inline constexpr size_t kOpCount = std::size(kOpTable);

namespace op_detail {
constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < kOpCount; ++i)
    if (static_cast<size_t>(kOpTable[i].kind) != i) return false;
  return true;
}
constexpr bool names_unique() {
  for (size_t i = 0; i < kOpCount; ++i)
    for (size_t j = i + 1; j < kOpCount; ++j)
      if (kOpTable[i].name == kOpTable[j].name) return false;
  return true;
}
constexpr bool internal_ops_take_no_keys() {
  for (const OpInfo& op : kOpTable)
    if (op.internal && (op.required.size() > 0 || op.optional.size() > 0)) return false;
  return true;
}
}  // namespace op_detail
static_assert(op_detail::rows_in_enum_order(), "kOpTable must list every OpKind in enum order");
static_assert(op_detail::names_unique(), "two ops are spelt the same");
static_assert(op_detail::internal_ops_take_no_keys(), "an internal op has no scenario keys");

constexpr const OpInfo& op_info(OpKind k) { return kOpTable[static_cast<size_t>(k)]; }

// The public op spelt `name`, or nullopt (internal ops have no spelling).
std::optional<OpKind> op_from_name(std::string_view name);
// Every public op's name, in table order (the loader's did-you-mean candidates).
const std::vector<std::string>& public_op_names();
// The keys an op takes besides "op" and "note": required, then optional.
std::vector<std::string> op_keys(OpKind k);
// "run, sleep, ... or funnel": the public ops that take time or may block, for messages.
const std::string& time_passing_op_list();

}  // namespace sim::model
