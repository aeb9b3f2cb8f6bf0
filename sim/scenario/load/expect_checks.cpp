// Expect checks: targets, metric paths (through the metric catalogue) and bounds.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "sim/scenario/load/checker.hpp"
#include "sim/scenario/metric_catalog.hpp"

namespace sim::scenario::load {

namespace {

std::string target_name(ExpectTarget t) {
  switch (t) {
    case ExpectTarget::system: return "system";
    case ExpectTarget::thread: return "thread";
    case ExpectTarget::lock: return "lock";
    case ExpectTarget::cpu: return "cpu";
    case ExpectTarget::workloop: return "work loop";
    case ExpectTarget::interrupt: return "interrupt";
    case ExpectTarget::device: return "device";
  }
  return "?";
}

// "cpu_time_ns, jobs, response_ns.{count,min,...}": the known paths with summaries folded.
std::string metric_list(ExpectTarget t) {
  std::vector<std::string> out;
  std::string group;
  std::vector<std::string> members;
  auto flush = [&]() {
    if (!group.empty()) out.push_back(fmt::format("{}.{{{}}}", group, join(members, ",")));
    group.clear();
    members.clear();
  };
  for (const std::string& m : known_metrics(t)) {
    size_t dot = m.find('.');
    if (dot == std::string::npos) {
      flush();
      out.push_back(m);
      continue;
    }
    std::string head = m.substr(0, dot);
    if (head != group) flush();
    group = head;
    members.push_back(m.substr(dot + 1));
  }
  flush();
  return join(out);
}

}  // namespace

// Results the simulator adds for objects the scenario implies: the funnels' mutexes
// ("kernel_funnel", "network_funnel"), each work loop's gate ("<workloop>.gate") and work thread
// ("workloop:<workloop>").
bool Checker::implicit_target(ExpectTarget target, const std::string& name) const {
  if (target == ExpectTarget::lock) {
    if (name == "kernel_funnel" || name == "network_funnel") return true;
    const std::string suffix = ".gate";
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           workloops_.find(name.substr(0, name.size() - suffix.size())) >= 0;
  }
  if (target == ExpectTarget::thread) {
    const std::string prefix = "workloop:";
    return name.rfind(prefix, 0) == 0 && workloops_.find(name.substr(prefix.size())) >= 0;
  }
  return false;
}

void Checker::expect(const Json& e, const std::string& ptr) {
  if (!require_object(e, ptr)) return;
  check_keys(
      e, ptr,
      {"thread", "lock", "cpu", "workloop", "interrupt", "device", "metric", "min", "max", "eq"},
      "in an expect");
  ExpectSpec out;
  out.pointer = ptr;
  static const std::vector<std::pair<std::string, ExpectTarget>> targets = {
      {"thread", ExpectTarget::thread},
      {"lock", ExpectTarget::lock},
      {"cpu", ExpectTarget::cpu},
      {"workloop", ExpectTarget::workloop},
      {"interrupt", ExpectTarget::interrupt},
      {"device", ExpectTarget::device}};
  std::vector<std::string> given;
  for (const auto& [key, t] : targets)
    if (e.contains(key)) {
      given.push_back(key);
      out.target = t;
    }
  bool target_ok = true;
  if (given.size() > 1) {
    error(ptr, fmt::format("names {} targets ({}); give at most one", given.size(),
                           one_of(given, " and ")));
    target_ok = false;
  } else if (given.size() == 1) {
    std::string tp = at(ptr, given[0]);
    const Json& tv = *e.find(given[0]);
    if (out.target == ExpectTarget::cpu) {
      if (auto c = read_cpu(tv, tp)) {
        out.target_index = *c;
        out.target_id = std::to_string(*c);
      }
    } else if (tv.is_string() && implicit_target(out.target, tv.str())) {
      // An object the simulator adds itself: its results are named like this.
      out.target_id = tv.str();
    } else {
      const Ids& ids = out.target == ExpectTarget::thread      ? threads_
                       : out.target == ExpectTarget::lock      ? locks_
                       : out.target == ExpectTarget::workloop  ? workloops_
                       : out.target == ExpectTarget::interrupt ? interrupts_
                                                               : devices_;
      if (auto r = resolve(tv, tp, ids)) {
        out.target_index = *r;
        out.target_id = ids.names[static_cast<size_t>(*r)];
      }
    }
  }

  if (const Json* m = require(e, ptr, "metric")) {
    std::string mp = at(ptr, "metric");
    if (auto path = read_nonempty(*m, mp)) {
      out.metric = *path;
      if (target_ok && !is_known_metric(out.target, *path)) {
        Diagnostic& d =
            error(mp, fmt::format("unknown {} metric {}", target_name(out.target), quote(*path)));
        std::vector<std::string> known = known_metrics(out.target);
        std::string near = suggest(*path, known);
        bool is_summary = std::any_of(known.begin(), known.end(), [&](const std::string& k) {
          return k.size() > path->size() && k.compare(0, path->size(), *path) == 0 &&
                 k[path->size()] == '.';
        });
        if (is_summary)
          d.notes.push_back(fmt::format("{} is a summary; name one of its keys, e.g. \"{}.p99\"",
                                        quote(*path), *path));
        else if (!near.empty())
          d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
        else
          d.notes.push_back(
              fmt::format("{} metrics: {}", target_name(out.target), metric_list(out.target)));
      } else if (target_ok && out.target == ExpectTarget::system && *path == "energy_mj" &&
                 !s_.machine.platform && !platform_refused_) {
        error(mp, "system metric \"energy_mj\" needs a platform: the energy comes from machine.platform")
            .notes.push_back("add \"platform\": {\"pstates\": [...]} to \"machine\" (docs/platforms.md)");
      }
    }
  }

  std::vector<std::string> ops;
  for (const char* k : {"min", "max", "eq"})
    if (e.contains(k)) ops.emplace_back(k);
  if (ops.size() != 1) {
    if (ops.empty())
      error(ptr, "missing the bound: give one of \"min\", \"max\" or \"eq\"");
    else
      error(ptr, fmt::format("give only one of \"min\", \"max\" or \"eq\" (got {}); write one "
                             "expect per bound",
                             one_of(ops, " and ")));
    return;
  }
  out.op = ops[0] == "min" ? ExpectOp::min : ops[0] == "max" ? ExpectOp::max : ExpectOp::eq;
  std::string vp = at(ptr, ops[0]);
  const Json& v = *e.find(ops[0]);
  bool duration = !out.metric.empty() && is_duration_metric(out.metric);
  if (v.is_string() && duration) {
    if (auto d = read_duration(v, vp, Sign::non_negative)) {
      out.value = d->ns;
      out.value_text = v.str();
    }
  } else if (v.is_string() && !out.metric.empty()) {
    error(vp, fmt::format("must be a number: {} is not a time (got {})", quote(out.metric),
                          written(v)));
  } else if (v.is_number_unsigned() &&
             v.as_uint() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    out.value = v.as_int();
    out.value_text = v.dump();
  } else if (v.is_number_integer() && !v.is_number_unsigned() && v.as_int() >= 0) {
    out.value = v.as_int();
    out.value_text = v.dump();
  } else if (!v.is_string()) {
    error(vp, fmt::format("must be {} (got {})",
                          duration ? "a non-negative integer (ns) or a duration such as \"3ms\""
                                   : "a non-negative integer",
                          v.is_number() ? v.dump() : got(v)));
  }
  s_.expects.push_back(std::move(out));
}

}  // namespace sim::scenario::load
