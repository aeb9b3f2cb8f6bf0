// The grid arguments shared by `compare` and `sweep` (grid_args.hpp).
#include "sim/cli/grid_args.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "sim/cli/commands.hpp"
#include "sim/core/diag.hpp"
#include "sim/policies/registry.hpp"

namespace sim::cli {

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Splits at the commas outside strings, brackets and braces (a VALUE may be JSON).
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\' && i + 1 < s.size()) {
        cur += c;
        c = s[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

// --policies: names from the registry, each once.
std::optional<std::vector<std::string>> parse_policies(const std::string& text, std::string& error) {
  std::vector<std::string> known;
  for (const policies::PolicyInfo& p : policies::registry()) known.emplace_back(p.name);
  if (text.empty()) return known;  // every registered policy
  std::vector<std::string> out;
  for (const std::string& name : split_values(text)) {
    if (name.empty()) {
      error = fmt::format("xnusim: error: --policies {}: an empty name; give policy names separated by "
                          "commas, from: {}", text, policies::policy_names_joined());
      return std::nullopt;
    }
    if (!policies::find_policy(name)) {
      std::string hint = core::closest_match(name, known);
      error = fmt::format("xnusim: error: --policies {}: unknown policy \"{}\"; valid: {}{}", text, name,
                          policies::policy_names_joined(),
                          hint.empty() ? "" : fmt::format("\n  note: did you mean \"{}\"?", hint));
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      error = fmt::format("xnusim: error: --policies {}: \"{}\" is listed twice", text, name);
      return std::nullopt;
    }
    out.push_back(name);
  }
  return out;
}

// --seeds: N, A..B (A <= B) or a comma list; every seed a decimal integer.
std::optional<std::vector<uint64_t>> parse_seeds(const std::string& text, std::string& error) {
  auto bad = [&](const std::string& why) {
    error = fmt::format("xnusim: error: --seeds {}: {}; write one seed (7), a range (1..5) or a list (1,4,9)",
                        text, why);
    return std::nullopt;
  };
  std::vector<uint64_t> out;
  if (size_t dots = text.find(".."); dots != std::string::npos) {
    std::optional<uint64_t> a = parse_u64(std::string_view(text).substr(0, dots));
    std::optional<uint64_t> b = parse_u64(std::string_view(text).substr(dots + 2));
    if (!a || !b) return bad("the ends of a range must be integers from 0 to 18446744073709551615");
    if (*b < *a) return bad(fmt::format("the range is empty ({} > {}); write the smaller seed first", *a, *b));
    if (*b - *a >= kMaxRuns) return bad(fmt::format("more than {} seeds", kMaxRuns));
    for (uint64_t s = *a;; ++s) {
      out.push_back(s);
      if (s == *b) break;
    }
    return out;
  }
  for (const std::string& part : split_values(text)) {
    std::optional<uint64_t> v = parse_u64(part);
    if (!v) return bad(fmt::format("\"{}\" is not an integer from 0 to 18446744073709551615", part));
    if (std::find(out.begin(), out.end(), *v) != out.end()) return bad(fmt::format("seed {} is listed twice", *v));
    out.push_back(*v);
  }
  return out;
}

std::optional<Vary> parse_vary(const std::string& arg, std::string& error) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    error = fmt::format("xnusim: error: --vary {}: expected PATH=VALUE1,VALUE2,..., e.g. machine.xnu=517,792", arg);
    return std::nullopt;
  }
  Vary v;
  v.path = arg.substr(0, eq);
  std::string rest = arg.substr(eq + 1);
  if (rest.empty()) {
    error = fmt::format("xnusim: error: --vary {}: no values; give them separated by commas, e.g. {}=1,2", arg, v.path);
    return std::nullopt;
  }
  v.values = split_values(rest);
  for (const std::string& value : v.values) {
    if (value.empty()) {
      error = fmt::format("xnusim: error: --vary {}: an empty value; give values separated by commas", arg);
      return std::nullopt;
    }
    if (std::count(v.values.begin(), v.values.end(), value) > 1) {
      error = fmt::format("xnusim: error: --vary {}: the value {} is listed twice", arg, value);
      return std::nullopt;
    }
  }
  return v;
}

// A --vary value as a heading: PATH=VALUE, or for a JSON object (a whole lock, say) its members
// but "id" and "kind": `locks.m={"id":"m","kind":"mutex","protocol":"ceiling","ceiling":30}`
// reads "protocol ceiling, ceiling 30".
std::string vary_label(const std::string& path, const std::string& value) {
  if (value.empty() || value.front() != '{') return path + "=" + value;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(value, nullptr, false);
  if (!j.is_object()) return path + "=" + value;
  std::string out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "id" || it.key() == "kind") continue;
    if (!out.empty()) out += ", ";
    out += it.key() + " " + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out.empty() ? path + "=" + value : out;
}


std::vector<std::vector<size_t>> vary_combinations(const std::vector<Vary>& varies) {
  std::vector<std::vector<size_t>> combos = {{}};
  for (const Vary& v : varies) {
    std::vector<std::vector<size_t>> next;
    for (const auto& c : combos)
      for (size_t i = 0; i < v.values.size(); ++i) {
        next.push_back(c);
        next.back().push_back(i);
      }
    combos = std::move(next);
  }
  return combos;
}

void add_grid_options(CLI::App& app, GridArgs& g, std::string_view verb) {
  app.add_option("--policies", g.policies,
                 fmt::format("Policies to {}, separated by commas (default: every policy of `xnusim policies`)", verb));
  add_edit_options(app, g.sets, &g.cpus);
  app.add_option("--vary", g.varies,
                 "PATH=V1,V2,...: run each value (PATH as for --set); repeatable, every combination is run")
      ->allow_extra_args(false);
  app.add_option("--seeds", g.seeds,
                 "Seeds to run each configuration with: N, A..B or a list A,B,C (default: the scenario's seed)");
  app.add_option("--duration", g.duration, "Simulated time of each run, e.g. 10s; overrides the scenario's");
}

std::optional<Grid> parse_grid(const GridArgs& g, std::string& error) {
  Grid out;
  std::optional<std::vector<std::string>> policies = parse_policies(g.policies, error);
  if (!policies) return std::nullopt;
  out.policies = std::move(*policies);
  std::optional<std::vector<Override>> edits = parse_overrides(g.sets, g.cpus, error);
  if (!edits) return std::nullopt;
  out.edits = std::move(*edits);
  for (const std::string& v : g.varies) {
    std::optional<Vary> parsed = parse_vary(v, error);
    if (!parsed) return std::nullopt;
    if (std::any_of(out.varies.begin(), out.varies.end(), [&](const Vary& w) { return w.path == parsed->path; })) {
      error = fmt::format("xnusim: error: --vary {}: {} is varied twice; give all its values in one --vary", v,
                          parsed->path);
      return std::nullopt;
    }
    out.varies.push_back(std::move(*parsed));
  }
  if (g.seeds) {
    out.seeds = parse_seeds(*g.seeds, error);
    if (!out.seeds) return std::nullopt;
  }
  if (g.duration) {
    core::ParsedDuration d = core::parse_duration(*g.duration);
    if (!d.value || d.value->ns <= 0) {
      error = fmt::format("xnusim: error: --duration: {}",
                          d.value ? fmt::format("must be a positive duration (got \"{}\")", *g.duration) : d.error);
      return std::nullopt;
    }
    out.duration = d.value;
  }
  return out;
}

}  // namespace sim::cli
