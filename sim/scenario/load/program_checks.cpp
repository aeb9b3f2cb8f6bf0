// Program checks: op lists, each op through the op table (sim/model/op_table.hpp) and its
// reader, and the rules about loops (forever loops without time, zero-time loops too long).
#include <limits>

#include <fmt/format.h>

#include "sim/model/priorities.hpp"
#include "sim/scenario/load/checker.hpp"

namespace sim::scenario::load {

using model::PolicyFlavor;

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}

}  // namespace

constexpr Checker::OpReaders kOpReaders = Checker::op_readers();

constexpr bool every_public_op_has_a_reader() {
  for (const model::OpInfo& op : model::kOpTable)
    if (!op.internal && !kOpReaders.has[static_cast<size_t>(op.kind)]) return false;
  return true;
}
static_assert(every_public_op_has_a_reader(), "add the new op's reader to Checker::op_readers()");

std::vector<Op> Checker::ops(const Json& v, const std::string& ptr, const ThreadScope& scope,
                             int depth, OpsSummary& sum) {
  std::vector<Op> out;
  if (!v.is_array()) {
    error(ptr, fmt::format("must be an array of ops (got {})", got(v)));
    sum.complete = false;
    return out;
  }
  if (v.empty()) {
    error(ptr,
          "must not be empty; give at least one op such as {\"op\": \"run\", \"for\": \"1ms\"}");
    sum.complete = false;
    return out;
  }
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    out.push_back(op(v[i], at(ptr, i), scope, depth, sum));
    if (out.back().kind != OpKind::loop) sum.executions = saturating_add(sum.executions, 1);
  }
  return out;
}

Op Checker::op(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
               OpsSummary& sum) {
  Op out;
  out.pointer = ptr;
  if (!v.is_object()) {
    error(ptr,
          fmt::format("must be an op object such as {{\"op\": \"run\", \"for\": \"1ms\"}} (got {})",
                      got(v)));
    sum.complete = false;
    return out;
  }
  const Json* name = require(v, ptr, "op");
  std::optional<std::string> n;
  if (name) n = read_string(*name, at(ptr, "op"));
  std::optional<OpKind> kind = n ? model::op_from_name(*n) : std::nullopt;
  if (!kind) {
    if (n) {
      const std::vector<std::string>& names = model::public_op_names();
      Diagnostic& d = error(at(ptr, "op"), fmt::format("unknown op {}", quote(*n)));
      std::string near = suggest(*n, names);
      d.notes.push_back(near.empty() ? fmt::format("ops: {}", join(names))
                                     : fmt::format("did you mean {}?", quote(near)));
    }
    sum.complete = false;
    return out;
  }
  out.kind = *kind;
  const model::OpInfo& info = model::op_info(out.kind);
  // Each op's valid keys and the note naming it, built once per kind.
  struct KeysOf {
    std::vector<std::string> keys;
    std::string where;
  };
  static const std::vector<KeysOf> kKeys = [] {
    std::vector<KeysOf> all(model::kOpCount);
    for (size_t i = 0; i < all.size(); ++i) {
      const auto kind = static_cast<OpKind>(i);
      all[i].keys = {"op", "note"};
      for (std::string& k : model::op_keys(kind)) all[i].keys.push_back(std::move(k));
      all[i].where = fmt::format("in op {}", quote(model::op_info(kind).name));
    }
    return all;
  }();
  const KeysOf& known = kKeys[static_cast<size_t>(out.kind)];
  check_keys(v, ptr, known.keys, known.where);
  optional_key(v, ptr, "note", out.note,
               [&](const Json& x, const std::string& p) { return read_text(x, p, true); });

  size_t errors_before = diag_.count();
  OpArgs args{v, ptr, out, scope, depth, sum};
  (this->*kOpReaders.fn[static_cast<size_t>(out.kind)])(args);
  if (info.takes_time || info.may_block) sum.takes_time = true;
  if (diag_.count() != errors_before) sum.complete = false;
  return out;
}

// --- one reader per op, found through kOpReaders; each records an error on failure -----------

void Checker::duration_spec_key(const OpArgs& a, const char* key) {
  if (const Json* f = require(a.v, a.ptr, key))
    if (auto d = read_duration_spec(*f, at(a.ptr, key))) a.out.duration = *d;
}

void Checker::ref_key(const OpArgs& a, const char* key, const Ids& ids, int32_t& index) {
  if (const Json* f = require(a.v, a.ptr, key))
    if (auto r = resolve(*f, at(a.ptr, key), ids)) index = *r;
}

void Checker::all_key(const OpArgs& a) {
  optional_key(a.v, a.ptr, "all", a.out.all,
               [&](const Json& x, const std::string& p) { return read_bool(x, p); });
}

void Checker::read_run(const OpArgs& a) { duration_spec_key(a, "for"); }

void Checker::read_sleep_until_next_period(const OpArgs& a) {
  if (!a.scope.has_period)
    error(a.ptr, "sleep_until_next_period is only allowed in a thread with \"period\"")
        .notes.push_back("it ends the current job early and waits for the next release");
}

void Checker::read_loop(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  OpsSummary& sum = a.sum;
  const Json* times = member(v, "times");
  const Json* forever = member(v, "forever");
  if (times && forever)
    error(ptr, "give either \"times\" or \"forever\": true, not both");
  else if (!times && !forever)
    error(ptr, "a loop needs \"times\" (an integer of at least 1) or \"forever\": true");
  if (times)
    if (auto t = read_int(*times, at(ptr, "times"), 1, std::numeric_limits<int64_t>::max(),
                          "an integer of at least 1"))
      out.times = *t;
  if (forever) {
    auto f = read_bool(*forever, at(ptr, "forever"));
    if (f == false)
      error(at(ptr, "forever"), "must be true (for a bounded loop give \"times\" instead)");
    out.forever = f.value_or(false);
  }
  const Json* body = require(v, ptr, "body");
  if (!body) {
    sum.complete = false;
    return;
  }
  if (a.depth >= kMaxLoopDepth) {
    error(at(ptr, "body"), fmt::format("loops are nested more than {} deep", kMaxLoopDepth));
    sum.complete = false;
    return;
  }
  OpsSummary inner;
  out.body = ops(*body, at(ptr, "body"), a.scope, a.depth + 1, inner);
  if (out.forever && inner.complete && !inner.takes_time)
    error(ptr, "this loop would repeat forever without simulated time passing")
        .notes.push_back(fmt::format("its body needs an op that takes time or blocks: {}",
                                     model::time_passing_op_list()));
  if (!out.forever && !inner.takes_time) {
    // Every iteration may run at the same instant: bound what the loop implies there.
    uint64_t n = saturating_mul(static_cast<uint64_t>(out.times), inner.executions);
    if (n > kMaxZeroTimeOps && inner.complete && !inner.spin_reported) {
      error(ptr, fmt::format("this loop would execute {}{} ops without simulated time passing "
                             "(the limit is {})",
                             n == std::numeric_limits<uint64_t>::max() ? "more than " : "", n,
                             kMaxZeroTimeOps))
          .notes.push_back(fmt::format("add an op that takes time, or lower \"times\" (ops that "
                                       "take time or block: {})",
                                       model::time_passing_op_list()));
      sum.spin_reported = true;
    }
    sum.executions = saturating_add(sum.executions, n);
  }
  sum.spin_reported = sum.spin_reported || inner.spin_reported;
  // An endless loop ends the program there, so it counts as taking time for enclosing loops
  // (and when it does not, it was reported just above).
  sum.takes_time = sum.takes_time || inner.takes_time || out.forever;
  sum.complete = sum.complete && inner.complete;
}

void Checker::read_lock(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  const Json* l = require(v, ptr, "lock");
  std::optional<int32_t> idx;
  if (l) idx = resolve(*l, at(ptr, "lock"), locks_);
  if (idx) out.ref = *idx;
  std::optional<LockKind> kind;
  if (idx) kind = lock_kinds_[static_cast<size_t>(*idx)];
  const Json* mode = member(v, "mode");
  auto read_mode = [&]() {
    if (auto m = read_enum<LockMode>(*mode, at(ptr, "mode"),
                                     {{"read", LockMode::read}, {"write", LockMode::write}}))
      out.lock_mode = *m;
  };
  if (kind == LockKind::rw) {
    if (mode)
      read_mode();
    else
      error(ptr, fmt::format("missing required key \"mode\": lock {} is an rw lock; give \"read\" "
                             "or \"write\"",
                             quote(locks_.names[static_cast<size_t>(*idx)])));
  }
  if (const Json* di = member(v, "disable_interrupts")) {
    if (auto b = read_bool(*di, at(ptr, "disable_interrupts"))) out.disable_interrupts = *b;
    if (out.disable_interrupts && kind && *kind != LockKind::spin)
      error(at(ptr, "disable_interrupts"),
            fmt::format("only spin locks can be taken with interrupts disabled (lock {} is a{})",
                        quote(locks_.names[static_cast<size_t>(*idx)]), *kind == LockKind::mutex ? " mutex" : "n rw lock"))
          .notes.push_back("IOSimpleLockLockDisableInterrupt takes an IOSimpleLock; a thread may not sleep with "
                           "interrupts off");
  }
  if (kind == LockKind::rw) {
  } else if (mode) {
    if (kind)
      error(at(ptr, "mode"), fmt::format("only rw locks take a mode (lock {} is a {})",
                                         quote(locks_.names[static_cast<size_t>(*idx)]),
                                         *kind == LockKind::mutex ? "mutex" : "spin lock"));
    else
      read_mode();  // the lock's kind is unknown: at least check the spelling
  }
}

// try_lock and upgrade: optional "else" ops, run when the attempt fails. They may not run, so
// they never count as taking time for an enclosing loop; their ops count as executions.
void Checker::else_key(const OpArgs& a) {
  const Json* e = member(a.v, "else");
  if (!e) return;
  if (a.depth >= kMaxLoopDepth) {
    error(at(a.ptr, "else"), fmt::format("ops are nested more than {} deep", kMaxLoopDepth));
    a.sum.complete = false;
    return;
  }
  OpsSummary inner;
  a.out.body = ops(*e, at(a.ptr, "else"), a.scope, a.depth + 1, inner);
  a.sum.executions = saturating_add(a.sum.executions, inner.executions);
  a.sum.spin_reported = a.sum.spin_reported || inner.spin_reported;
  a.sum.complete = a.sum.complete && inner.complete;
}

// lck_mtx_try_lock / lck_spin_try_lock / lck_rw_try_lock (IOLockTryLock, IOSimpleLockTryLock):
// the keys of `lock`, plus "else".
void Checker::read_try_lock(const OpArgs& a) {
  read_lock(a);
  else_key(a);
}

// upgrade (lck_rw_lock_shared_to_exclusive) and downgrade (lck_rw_lock_exclusive_to_shared):
// rw locks only; upgrade takes "else".
void Checker::read_rw_convert(const OpArgs& a) {
  ref_key(a, "lock", locks_, a.out.ref);
  std::optional<LockKind> kind;
  if (a.out.ref >= 0) kind = lock_kinds_[static_cast<size_t>(a.out.ref)];
  if (kind && *kind != LockKind::rw) {
    LockKind k = *kind;
    error(at(a.ptr, "lock"),
          fmt::format("{} works on rw locks only (lock {} is a {})", model::to_string(a.out.kind),
                      quote(locks_.names[static_cast<size_t>(a.out.ref)]),
                      k == LockKind::mutex ? "mutex" : "spin lock"))
        .notes.push_back("declare the lock with \"kind\": \"rw\"");
  }
  if (a.out.kind == OpKind::upgrade) else_key(a);
}

void Checker::read_wait(const OpArgs& a) {
  ref_key(a, "event", events_, a.out.ref);
  optional_key(a.v, a.ptr, "timeout", a.out.timeout,
               [&](const Json& x, const std::string& p) { return read_duration(x, p, Sign::positive); });
  if (const Json* i = member(a.v, "interruptible"))
    if (auto b = read_bool(*i, at(a.ptr, "interruptible"))) a.out.interruptible = *b;
}

void Checker::read_signal(const OpArgs& a) {
  ref_key(a, "event", events_, a.out.ref);
  all_key(a);
  if (const Json* t = member(a.v, "thread")) {
    if (auto r = resolve(*t, at(a.ptr, "thread"), threads_)) a.out.thread = *r;
    if (member(a.v, "all"))
      error(a.ptr, "\"thread\" and \"all\" cannot be combined")
          .notes.push_back("\"thread\" wakes that one thread if it waits on the event "
                           "(thread_wakeup_thread); \"all\" wakes every waiter");
  }
}

void Checker::read_funnel(const OpArgs& a) {
  if (const Json* f = require(a.v, a.ptr, "funnel"))
    if (auto fn = read_enum<FunnelName>(*f, at(a.ptr, "funnel"),
                                        {{"kernel", FunnelName::kernel},
                                         {"network", FunnelName::network},
                                         {"none", FunnelName::none}}))
      a.out.funnel = *fn;
}

void Checker::read_yield(const OpArgs& a) {
  // Optional hand-off target (thread_switch to a named thread).
  if (const Json* to = member(a.v, "to"))
    if (auto r = resolve(*to, at(a.ptr, "to"), threads_)) a.out.ref = *r;
}

void Checker::read_nothing(const OpArgs&) {}

void Checker::read_set_priority(const OpArgs& a) {
  if (const Json* p = require(a.v, a.ptr, "priority"))
    if (auto pr = read_priority(*p, at(a.ptr, "priority"))) {
      a.out.priority = *pr;
      a.out.has_priority = true;
    }
}

void Checker::read_set_mode(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  std::optional<ThreadMode> mode;
  if (const Json* m = require(v, ptr, "mode"))
    mode = read_enum<ThreadMode>(*m, at(ptr, "mode"),
                                 {{"timeshare", ThreadMode::timeshare},
                                  {"fixed", ThreadMode::fixed},
                                  {"realtime", ThreadMode::realtime}});
  if (mode) out.mode = *mode;
  const Json* pri = member(v, "priority");
  const Json* rt = member(v, "realtime");
  if (mode == ThreadMode::realtime) {
    if (pri) error(at(ptr, "priority"), "not allowed with \"mode\": \"realtime\"");
    if (!rt)
      error(ptr,
            "missing required key \"realtime\": mode \"realtime\" needs "
            "{\"computation\", \"constraint\"}");
    else if (auto r = realtime(*rt, at(ptr, "realtime"), false))
      out.realtime = *r;
  } else {
    if (pri)
      if (auto p = read_priority(*pri, at(ptr, "priority"))) {
        out.priority = *p;
        out.has_priority = true;
      }
    if (rt && mode) error(at(ptr, "realtime"), "only allowed with \"mode\": \"realtime\"");
  }
}

// thread_policy_set: `policy` names the flavour; each flavour takes only its own data.
void Checker::read_thread_policy(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  std::optional<PolicyFlavor> flavor;
  if (const Json* f = require(v, ptr, "policy"))
    flavor = read_enum<PolicyFlavor>(*f, at(ptr, "policy"),
                                     {{"standard", PolicyFlavor::standard},
                                      {"extended", PolicyFlavor::extended},
                                      {"precedence", PolicyFlavor::precedence},
                                      {"time_constraint", PolicyFlavor::time_constraint}});
  if (!flavor) return;
  out.flavor = *flavor;
  const Json* ts = member(v, "timeshare");
  const Json* imp = member(v, "importance");
  const Json* rt = member(v, "realtime");
  auto only_with = [&](const Json* key, const char* name, const char* with) {
    if (key) error(at(ptr, name), fmt::format("only allowed with \"policy\": \"{}\"", with));
  };
  switch (*flavor) {
    case PolicyFlavor::standard:
      out.mode = ThreadMode::timeshare;
      if (ts)
        error(at(ptr, "timeshare"),
              "not allowed with \"policy\": \"standard\" (THREAD_STANDARD_POLICY has no data; it "
              "is timeshare); write \"policy\": \"extended\" to choose");
      only_with(imp, "importance", "precedence");
      only_with(rt, "realtime", "time_constraint");
      break;
    case PolicyFlavor::extended: {
      bool timeshare = true;  // the kernel's default when the data is left out
      if (ts)
        if (auto b = read_bool(*ts, at(ptr, "timeshare"))) timeshare = *b;
      out.mode = timeshare ? ThreadMode::timeshare : ThreadMode::fixed;
      only_with(imp, "importance", "precedence");
      only_with(rt, "realtime", "time_constraint");
      break;
    }
    case PolicyFlavor::precedence:
      if (!imp)
        error(ptr, "missing required key \"importance\": \"policy\": \"precedence\" needs an integer "
                   "from -127 to 127");
      else if (auto i = read_int(*imp, at(ptr, "importance"), -model::MAXPRI, model::MAXPRI,
                                 "an integer from -127 to 127 (xnu clamps importance to +-MAXPRI)"))
        out.importance = static_cast<int>(*i);
      only_with(ts, "timeshare", "extended");
      only_with(rt, "realtime", "time_constraint");
      break;
    case PolicyFlavor::time_constraint:
      out.mode = ThreadMode::realtime;
      if (!rt)
        error(ptr,
              "missing required key \"realtime\": \"policy\": \"time_constraint\" needs "
              "{\"computation\", \"constraint\"}");
      else if (auto r = realtime(*rt, at(ptr, "realtime"), false))
        out.realtime = *r;
      only_with(ts, "timeshare", "extended");
      only_with(imp, "importance", "precedence");
      break;
  }
}

// task_policy_set TASK_CATEGORY_POLICY: a role, and optionally the task it is asked for (the
// caller's own by default). Whether xnu grants it is decided at run time.
void Checker::read_task_policy(const OpArgs& a) {
  if (const Json* r = require(a.v, a.ptr, "role"))
    if (auto role = read_enum<model::TaskRole>(*r, at(a.ptr, "role"),
                                               {{"foreground", model::TaskRole::foreground},
                                                {"background", model::TaskRole::background},
                                                {"control", model::TaskRole::control},
                                                {"graphics_server", model::TaskRole::graphics_server},
                                                {"unspecified", model::TaskRole::unspecified}}))
      a.out.role = *role;
  if (const Json* t = member(a.v, "task"))
    if (auto name = read_name(*t, at(a.ptr, "task"), "task name")) {
      a.out.task = *name;
      task_refs_.emplace_back(*name, at(a.ptr, "task"));
    }
}

// setpriority(PRIO_PROCESS, 0, nice) on the caller's own process. Any int is accepted, as the
// system call does: donice clamps it to PRIO_MIN..PRIO_MAX at run time.
void Checker::read_setpriority(const OpArgs& a) {
  if (const Json* n = require(a.v, a.ptr, "nice"))
    if (auto v = read_int(*n, at(a.ptr, "nice"), std::numeric_limits<int>::min(), std::numeric_limits<int>::max(), "an integer from -2147483648 to 2147483647 (a C int)"))
      a.out.nice = static_cast<int>(*v);
}

// pthread_setschedparam(pthread_self(), policy, {priority}). Any int priority is accepted: the
// kernel refuses one outside 0..127 at run time (invalid_pri: EINVAL), and maps the others.
void Checker::read_pthread_setschedparam(const OpArgs& a) {
  if (const Json* p = require(a.v, a.ptr, "policy"))
    if (auto pol = read_enum<model::SchedPolicy>(*p, at(a.ptr, "policy"),
                                                 {{"SCHED_OTHER", model::SchedPolicy::other},
                                                  {"SCHED_FIFO", model::SchedPolicy::fifo},
                                                  {"SCHED_RR", model::SchedPolicy::rr}}))
      a.out.sched_policy = *pol;
  if (const Json* p = require(a.v, a.ptr, "priority"))
    if (auto v = read_int(*p, at(a.ptr, "priority"), std::numeric_limits<int>::min(), std::numeric_limits<int>::max(), "an integer from -2147483648 to 2147483647 (a C int)")) {
      a.out.priority = static_cast<int>(*v);
      a.out.has_priority = true;
    }
}

void Checker::read_run_action(const OpArgs& a) {
  ref_key(a, "workloop", workloops_, a.out.ref);
  duration_spec_key(a, "for");
}

void Checker::read_command_sleep(const OpArgs& a) {
  ref_key(a, "workloop", workloops_, a.out.ref);
  ref_key(a, "event", events_, a.out.event);
}

void Checker::read_command_wakeup(const OpArgs& a) {
  read_command_sleep(a);
  all_key(a);
}

// io: `for` is the driver's CPU time for the request; `read` or `write` (a size) makes the
// hardware part a transfer on the device's platform disk, timed by SimGrid (docs/platforms.md).
// With a size, `for` may be left out (no driver time).
void Checker::read_io(const OpArgs& a) {
  ref_key(a, "device", devices_, a.out.ref);
  const Json* r = member(a.v, "read");
  const Json* w = member(a.v, "write");
  if (r && w) {
    error(at(a.ptr, "write"), "an io is either a read or a write, not both")
        .notes.push_back("split it into two io ops, one \"read\" and one \"write\"");
    return;
  }
  if (r || w) {
    const char* key = r ? "read" : "write";
    std::string kp = at(a.ptr, key);
    if (auto n = read_size(r ? *r : *w, kp)) {
      a.out.bytes = *n;
      a.out.write = w != nullptr;
    }
    if (a.out.ref >= 0 && s_.devices[static_cast<size_t>(a.out.ref)].disk == -1) {
      const DeviceSpec& dev = s_.devices[static_cast<size_t>(a.out.ref)];
      error(kp, fmt::format("device {} has no disk: a sized {} needs one", quote(dev.id), key))
          .notes.push_back(s_.machine.platform ? "give the device \"disk\": one of machine.platform's disks (docs/platforms.md)"
                                               : "declare disks in machine.platform and give the device \"disk\" (docs/platforms.md)");
    }
    if (const Json* f = member(a.v, "for"))
      if (auto d = read_duration_spec(*f, at(a.ptr, "for"))) a.out.duration = *d;
    return;
  }
  duration_spec_key(a, "for");
}

// send: a message of `bytes` to host `to` through NIC `device` (docs/platforms.md, "Network");
// the thread waits for the NIC's completion interrupt, as io does. `for` is the driver's CPU time.
void Checker::read_send(const OpArgs& a) {
  ref_key(a, "device", devices_, a.out.ref);
  if (const Json* b = require(a.v, a.ptr, "bytes"))
    if (auto n = read_size(*b, at(a.ptr, "bytes"))) a.out.bytes = *n;
  if (const Json* f = member(a.v, "for"))
    if (auto d = read_duration_spec(*f, at(a.ptr, "for"))) a.out.duration = *d;
  const Json* to = require(a.v, a.ptr, "to");
  if (!to || a.out.ref < 0) return;
  std::string tp = at(a.ptr, "to");
  auto name = read_text(*to, tp, false);
  if (!name) return;
  const DeviceSpec& dev = s_.devices[static_cast<size_t>(a.out.ref)];
  if (dev.nic == -1) {
    error(at(a.ptr, "device"), fmt::format("device {} is not a NIC: send needs one", quote(dev.id)))
        .notes.push_back("give the device \"nic\": one of machine.platform's links (docs/platforms.md)");
    return;
  }
  if (dev.nic < 0) return;  // the device's own error was given
  const LinkSpec& link = s_.machine.platform->links[static_cast<size_t>(dev.nic)];
  if (*name != link.peer) {
    error(tp, fmt::format("NIC {} reaches host {} only{}, not {}", quote(dev.id), quote(link.peer),
                          link.id.empty() ? std::string() : " (its link " + quote(link.id) + ")", quote(*name)))
        .notes.push_back("send through the NIC whose link leads to that host");
    return;
  }
  a.out.host = dev.nic;
}

void Checker::read_timer_arm(const OpArgs& a) {
  ref_key(a, "timer", timers_, a.out.ref);
  duration_spec_key(a, "after");
}

void Checker::read_timer_cancel(const OpArgs& a) { ref_key(a, "timer", timers_, a.out.ref); }

void Checker::read_terminate(const OpArgs& a) { ref_key(a, "device", devices_, a.out.ref); }

void Checker::read_clear_wait(const OpArgs& a) { ref_key(a, "thread", threads_, a.out.thread); }

// IOCreateThread / kernel_thread_start: a thread is created once, so the op may not repeat.
void Checker::read_create_thread(const OpArgs& a) {
  ref_key(a, "thread", threads_, a.out.thread);
  if (a.out.thread < 0) return;
  std::string tp = at(a.ptr, "thread");
  if (a.out.thread == a.scope.thread) {
    error(tp, "a thread cannot create itself")
        .notes.push_back("a spawned thread is created by another thread's create_thread op");
    return;
  }
  if (a.depth > 0 || a.scope.has_period)
    error(a.ptr, fmt::format("creates thread {} again each time it runs ({}); a thread is created once",
                             quote(threads_.names[static_cast<size_t>(a.out.thread)]),
                             a.depth > 0 ? "inside a loop" : "in a periodic thread"))
        .notes.push_back("move the op out of the loop, or into a thread that runs once");
  creates_.push_back(Create{a.out.thread, a.ptr});
}

// thread_terminate of another thread; a thread ends itself with exit_thread (IOExitThread).
void Checker::read_terminate_thread(const OpArgs& a) {
  ref_key(a, "thread", threads_, a.out.thread);
  if (a.out.thread >= 0 && a.out.thread == a.scope.thread)
    error(at(a.ptr, "thread"), "names the thread itself")
        .notes.push_back("a thread ends itself with {\"op\": \"exit_thread\"} (IOExitThread)");
}

// thread_funnel_switch and thread_funnel_merge exist in xnu-517 only: 792 has one funnel.
bool Checker::funnels_517(const OpArgs& a, const char* routine) {
  if (s_.machine.xnu != XnuRelease::r792) return true;
  error(a.ptr, fmt::format("{} does not exist in xnu-792, which has a single funnel", routine))
      .notes.push_back("set \"machine\": {\"xnu\": \"517\"} (the last release with two funnels)");
  return false;
}

void Checker::read_funnel_switch(const OpArgs& a) {
  auto name = [&](const char* key, FunnelName& out) {
    const Json* f = require(a.v, a.ptr, key);
    if (!f) return false;
    auto fn = read_enum<FunnelName>(*f, at(a.ptr, key),
                                    {{"kernel", FunnelName::kernel}, {"network", FunnelName::network}});
    if (fn) out = *fn;
    return fn.has_value();
  };
  bool from = name("from", a.out.funnel_from);
  bool to = name("to", a.out.funnel);
  if (from && to && a.out.funnel_from == a.out.funnel)
    error(at(a.ptr, "to"), fmt::format("is the funnel it switches from ({}); thread_funnel_switch panics "
                                       "\"can't switch to same funnel\"",
                                       quote(a.out.funnel == FunnelName::kernel ? "kernel" : "network")))
        .notes.push_back("switch between \"kernel\" and \"network\"");
  funnels_517(a, "thread_funnel_switch");
}

void Checker::read_funnel_merge(const OpArgs& a) { funnels_517(a, "thread_funnel_merge"); }

// The platform host's pstate (docs/platforms.md): only with machine.platform.
void Checker::read_set_pstate(const OpArgs& a) {
  const Json* p = require(a.v, a.ptr, "pstate");
  if (!p) return;
  std::string pp = at(a.ptr, "pstate");
  if (!s_.machine.platform) {
    if (platform_refused_) return;  // machine.platform has its own error
    error(pp, "needs a platform: the pstates are those of machine.platform")
        .notes.push_back("add \"platform\": {\"pstates\": [...]} to \"machine\" (docs/platforms.md)");
    return;
  }
  int64_t hi = static_cast<int64_t>(s_.machine.platform->pstates.size()) - 1;
  if (auto i = read_int(*p, pp, 0, hi, fmt::format("a pstate index from 0 to {} (machine.platform.pstates)", hi)))
    a.out.pstate = static_cast<int>(*i);
}

void Checker::check_spawns() {
  std::vector<const Create*> by_target(s_.threads.size(), nullptr);
  for (const Create& c : creates_) {
    const ThreadSpec& t = s_.threads[static_cast<size_t>(c.target)];
    std::string tp = at(c.pointer, "thread");
    if (!t.spawned) {
      error(tp, fmt::format("thread {} is not declared \"start\": \"spawned\"; it starts by itself",
                            quote(t.id)))
          .notes.push_back(fmt::format("give thread {} ({}) \"start\": \"spawned\" so that this op creates it",
                                       quote(t.id), t.pointer));
      continue;
    }
    const Create*& first = by_target[static_cast<size_t>(c.target)];
    if (first) {
      error(tp, fmt::format("thread {} is created already by {}; a thread is created once", quote(t.id),
                            first->pointer));
      continue;
    }
    first = &c;
  }
  for (size_t i = 0; i < s_.threads.size(); ++i)
    if (s_.threads[i].spawned && !by_target[i])
      error(at(s_.threads[i].pointer, "start"),
            fmt::format("thread {} is \"spawned\" but no create_thread op creates it", quote(s_.threads[i].id)))
          .notes.push_back(fmt::format("add {{\"op\": \"create_thread\", \"thread\": {}}} to another thread's "
                                       "program, or give \"start\" a time",
                                       quote(s_.threads[i].id)));
}



}  // namespace sim::scenario::load
