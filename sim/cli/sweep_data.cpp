// The data and files of `xnusim sweep` / `xnusim merge` (sweep_data.hpp, docs/sweep.md).
#include "sim/cli/sweep_data.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "reports/sweep_html.hpp"
#include "sim/cli/compare_table.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/sha256.hpp"
#include "sim/core/diag.hpp"

namespace sim::cli {

using Json = nlohmann::ordered_json;

namespace {

struct KindName {
  const char* name;
  metrics::TargetKind kind;
};
constexpr KindName kKinds[] = {
    {"system", metrics::TargetKind::system},       {"threads", metrics::TargetKind::thread},
    {"locks", metrics::TargetKind::lock},          {"cpus", metrics::TargetKind::cpu},
    {"workloops", metrics::TargetKind::workloop},  {"interrupts", metrics::TargetKind::interrupt},
    {"devices", metrics::TargetKind::device},
};

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A double for the CSV and the page: up to 10 significant digits, the same bytes for the same
// value on every machine (the inputs are integers summed in index order).
std::string real(double v) { return fmt::format("{:.10g}", v); }

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

}  // namespace

std::optional<SweepMetric> parse_sweep_metric(const std::string& text, std::string& error) {
  SweepMetric m;
  m.name = text;
  size_t dot = text.find('.');
  std::string head = text.substr(0, dot);
  std::vector<std::string> kinds;
  const KindName* found = nullptr;
  for (const KindName& k : kKinds) {
    kinds.emplace_back(k.name);
    if (head == k.name) found = &k;
  }
  auto bad = [&](const std::string& why) -> std::optional<SweepMetric> {
    error = fmt::format("xnusim: error: --metric {}: {}", text, why);
    return std::nullopt;
  };
  if (!found || dot == std::string::npos) {
    std::string hint = core::closest_match(head, kinds);
    return bad(fmt::format("expected system.PATH or KIND.ID.PATH with KIND one of {} (e.g. threads.audio.latency_ns.p99){}",
                           fmt::join(kinds, ", "), hint.empty() || hint == head ? "" : fmt::format("\n  note: did you mean \"{}\"?", hint)));
  }
  m.kind = found->kind;
  std::string rest = text.substr(dot + 1);
  if (m.kind != metrics::TargetKind::system) {
    size_t d2 = rest.find('.');
    if (d2 == std::string::npos || d2 == 0)
      return bad(fmt::format("expected {}.ID.PATH (e.g. {}.ID.{})", head, head, metrics::metric_paths(m.kind).front()));
    m.id = rest.substr(0, d2);
    rest = rest.substr(d2 + 1);
    if (m.kind == metrics::TargetKind::cpu) {
      std::optional<uint64_t> i = parse_u64(m.id);
      if (!i || *i > 4096) return bad(fmt::format("\"{}\" is not a CPU number", m.id));
      m.index = static_cast<int64_t>(*i);
    }
  }
  if (!metrics::is_metric(m.kind, rest)) {
    std::vector<std::string> paths = metrics::metric_paths(m.kind);
    std::string hint = core::closest_match(rest, paths);
    return bad(fmt::format("\"{}\" is not a metric of {}; valid: {}{}", rest, head, fmt::join(paths, ", "),
                           hint.empty() ? "" : fmt::format("\n  note: did you mean \"{}\"?", hint)));
  }
  m.path = rest;
  return m;
}

std::optional<int64_t> sweep_metric_value(const metrics::Results& r, const SweepMetric& m) {
  return metrics::metric_value(r, m.kind, m.id, m.index, m.path);
}

size_t SweepManifest::configurations() const {
  size_t n = policies.size();
  for (const Vary& v : varies) n *= v.values.size();
  return n;
}

size_t SweepManifest::points() const { return configurations() * seeds.size(); }

Json SweepManifest::to_json() const {
  Json j = Json::object();
  j["format"] = "xnusim-sweep";
  j["version"] = 1;
  j["scenario"] = scenario;
  j["description"] = description;
  j["file"] = file;
  j["sha256"] = sha256;
  j["policies"] = policies;
  Json vj = Json::array();
  for (const Vary& v : varies) vj.push_back(Json{{"path", v.path}, {"values", v.values}});
  j["vary"] = std::move(vj);
  j["seeds"] = seeds;
  j["sets"] = sets;
  j["duration"] = duration;
  j["metrics"] = metrics;
  j["ignore_expects"] = ignore_expects;
  j["points"] = points();
  if (shard) j["shard"] = Json{{"k", shard->first}, {"n", shard->second}};
  return j;
}

std::optional<SweepManifest> SweepManifest::from_json(const Json& j, std::string& error) {
  try {
    if (!j.is_object() || j.value("format", "") != "xnusim-sweep" || j.value("version", 0) != 1) {
      error = "not an xnusim sweep manifest of version 1";
      return std::nullopt;
    }
    SweepManifest m;
    m.scenario = j.at("scenario").get<std::string>();
    m.description = j.at("description").get<std::string>();
    m.file = j.at("file").get<std::string>();
    m.sha256 = j.at("sha256").get<std::string>();
    m.policies = j.at("policies").get<std::vector<std::string>>();
    for (const Json& v : j.at("vary")) m.varies.push_back({v.at("path").get<std::string>(), v.at("values").get<std::vector<std::string>>()});
    m.seeds = j.at("seeds").get<std::vector<uint64_t>>();
    m.sets = j.at("sets").get<std::vector<std::string>>();
    m.duration = j.at("duration").get<std::string>();
    m.metrics = j.at("metrics").get<std::vector<std::string>>();
    m.ignore_expects = j.at("ignore_expects").get<bool>();
    if (j.contains("shard")) m.shard = std::pair{j["shard"].at("k").get<size_t>(), j["shard"].at("n").get<size_t>()};
    if (j.at("points").get<size_t>() != m.points()) {
      error = "its point count does not match its grid";
      return std::nullopt;
    }
    return m;
  } catch (const std::exception& e) {
    error = fmt::format("not a valid sweep manifest ({})", e.what());
    return std::nullopt;
  }
}

SweepPoint sweep_point(const SweepManifest& m, const std::vector<std::vector<size_t>>& combos, size_t index) {
  SweepPoint p;
  p.index = index;
  p.configuration = index / m.seeds.size();
  p.seed = m.seeds[index % m.seeds.size()];
  p.combo = p.configuration / m.policies.size();
  p.policy = m.policies[p.configuration % m.policies.size()];
  for (size_t v = 0; v < m.varies.size(); ++v) p.vary_values.push_back(m.varies[v].values[combos[p.combo][v]]);
  return p;
}

std::string sweep_point_key(const SweepManifest& m, const SweepPoint& p) {
  // One field per line, each with its name, so no two configurations give the same text.
  std::string text = "xnusim-sweep-point 1\nscenario-sha256 " + m.sha256 + "\n";
  for (const std::string& s : m.sets) text += "set " + s + "\n";
  text += "policy " + p.policy + "\n";
  for (size_t v = 0; v < m.varies.size(); ++v) text += "vary " + m.varies[v].path + "=" + p.vary_values[v] + "\n";
  text += "duration " + m.duration + "\n";
  text += fmt::format("seed {}\n", p.seed);
  text += fmt::format("ignore-expects {}\n", m.ignore_expects ? 1 : 0);
  return sha256_hex(text);
}

std::string record_line(const SweepRecord& r, const SweepManifest& m) {
  Json j = Json::object();
  j["index"] = r.index;
  j["key"] = r.key;
  j["policy"] = r.policy;
  Json vj = Json::object();
  for (size_t v = 0; v < m.varies.size() && v < r.vary_values.size(); ++v) vj[m.varies[v].path] = r.vary_values[v];
  j["vary"] = std::move(vj);
  j["seed"] = r.seed;
  j["status"] = r.ok() ? "ok" : "failed";
  j["exit"] = r.exit;
  j["message"] = r.message;
  Json mj = Json::object();
  for (size_t i = 0; i < m.metrics.size(); ++i)
    mj[m.metrics[i]] = i < r.metrics.size() && r.metrics[i] ? Json(*r.metrics[i]) : Json(nullptr);
  j["metrics"] = std::move(mj);
  std::string line = j.dump();
  line.pop_back();  // the closing brace: "results" follows as the text it is kept as
  return line + ",\"results\":" + r.results + "}\n";
}

std::optional<SweepRecord> record_from_line(const std::string& line, const SweepManifest& m) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    SweepRecord r;
    r.index = j.at("index").get<size_t>();
    r.key = j.at("key").get<std::string>();
    r.policy = j.at("policy").get<std::string>();
    const Json& vj = j.at("vary");
    for (const Vary& v : m.varies) r.vary_values.push_back(vj.at(v.path).get<std::string>());
    r.seed = j.at("seed").get<uint64_t>();
    r.exit = j.at("exit").get<int>();
    r.message = j.at("message").get<std::string>();
    const Json& mj = j.at("metrics");
    for (const std::string& name : m.metrics) {
      const Json& v = mj.at(name);
      if (v.is_null()) r.metrics.emplace_back(std::nullopt);
      else r.metrics.emplace_back(v.get<int64_t>());
    }
    r.results = j.at("results").dump();
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/=:+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace {

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  bool run = seeds.size() > 2;
  for (size_t i = 1; i < seeds.size() && run; ++i) run = seeds[i] == seeds[i - 1] + 1;
  if (run) return fmt::format("{}..{}", seeds.front(), seeds.back());
  return fmt::format("{}", fmt::join(seeds, ","));
}

// The command line a manifest stands for (shown on the page).
std::string manifest_command(const SweepManifest& m) {
  std::string c = "xnusim sweep " + shell_word(m.file) + " --policies " + shell_word(fmt::format("{}", fmt::join(m.policies, ",")));
  for (const std::string& s : m.sets) c += " --set " + shell_word(s);
  for (const Vary& v : m.varies) c += " --vary " + shell_word(fmt::format("{}={}", v.path, fmt::join(v.values, ",")));
  c += " --seeds " + seeds_text(m.seeds);
  if (!m.duration.empty()) c += " --duration " + shell_word(m.duration);
  for (const std::string& name : m.metrics) c += " --metric " + shell_word(name);
  if (m.ignore_expects) c += " --ignore-expects";
  return c;
}

struct Stats {
  reports::SweepEstimate e;
  double sd = 0;
};

std::optional<Stats> stats_of(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  Estimate e = estimate(v);
  Stats s;
  s.e = {e.mean, e.half, e.n};
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - e.mean) * (x - e.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

}  // namespace

SweepFiles render_sweep(const SweepManifest& m, const std::vector<SweepRecord>& records) {
  SweepFiles f;
  f.manifest = m.to_json().dump(2) + "\n";
  std::vector<std::vector<size_t>> combos = vary_combinations(m.varies);
  size_t S = m.seeds.size();

  // points.jsonl and points.csv: one line per record, in index order.
  std::string head = "index,policy";
  for (const Vary& v : m.varies) head += "," + csv_field(v.path);
  head += ",seed,status,exit";
  for (const std::string& name : m.metrics) head += "," + csv_field(name);
  head += ",message\n";
  f.points_csv = head;
  for (const SweepRecord& r : records) {
    f.points_jsonl += record_line(r, m);
    std::string row = fmt::format("{},{}", r.index, csv_field(r.policy));
    for (const std::string& v : r.vary_values) row += "," + csv_field(v);
    row += fmt::format(",{},{},{}", r.seed, r.ok() ? "ok" : "failed", r.exit);
    for (const auto& v : r.metrics) row += v ? fmt::format(",{}", *v) : std::string(",");
    row += "," + csv_field(first_line(r.message)) + "\n";
    f.points_csv += row;
  }

  // Per configuration: the successful points' values of each metric, in seed order.
  size_t C = m.configurations();
  std::vector<size_t> ran(C, 0), failed(C, 0);
  std::vector<std::vector<std::vector<double>>> values(C, std::vector<std::vector<double>>(m.metrics.size()));
  for (const SweepRecord& r : records) {
    size_t c = r.index / S;
    if (c >= C) continue;
    ++ran[c];
    if (!r.ok()) {
      ++failed[c];
      continue;
    }
    for (size_t i = 0; i < m.metrics.size() && i < r.metrics.size(); ++i)
      if (r.metrics[i]) values[c][i].push_back(static_cast<double>(*r.metrics[i]));
  }
  std::vector<std::vector<std::optional<Stats>>> stats(C);
  for (size_t c = 0; c < C; ++c)
    for (size_t i = 0; i < m.metrics.size(); ++i) stats[c].push_back(stats_of(values[c][i]));

  // summary.csv
  std::string sh = "policy";
  for (const Vary& v : m.varies) sh += "," + csv_field(v.path);
  sh += ",points,ok,failed";
  for (const std::string& name : m.metrics)
    for (const char* k : {"n", "mean", "sd", "ci95_low", "ci95_high"}) sh += "," + csv_field(name + "." + k);
  f.summary_csv = sh + "\n";
  reports::SweepPage page;
  page.table_head.push_back("policy");
  for (const Vary& v : m.varies) page.table_head.push_back(v.path);
  for (const char* h : {"points", "ok", "failed"}) page.table_head.emplace_back(h);
  for (const std::string& name : m.metrics) page.table_head.push_back(name + " (mean ± 95% CI)");
  for (size_t c = 0; c < C; ++c) {
    SweepPoint p = sweep_point(m, combos, c * S);
    std::string row = csv_field(p.policy);
    std::vector<std::string> cells = {p.policy};
    for (const std::string& v : p.vary_values) {
      row += "," + csv_field(v);
      cells.push_back(v);
    }
    row += fmt::format(",{},{},{}", ran[c], ran[c] - failed[c], failed[c]);
    cells.push_back(fmt::format("{}", ran[c]));
    cells.push_back(fmt::format("{}", ran[c] - failed[c]));
    cells.push_back(fmt::format("{}", failed[c]));
    for (size_t i = 0; i < m.metrics.size(); ++i) {
      const auto& s = stats[c][i];
      if (!s) {
        row += ",0,,,,";
        cells.emplace_back("-");
        continue;
      }
      if (s->e.n > 1)
        row += fmt::format(",{},{},{},{},{}", s->e.n, real(s->e.mean), real(s->sd), real(s->e.mean - s->e.half),
                           real(s->e.mean + s->e.half));
      else
        row += fmt::format(",{},{},,,", s->e.n, real(s->e.mean));
      cells.push_back(s->e.n > 1 ? fmt::format("{} ± {}", real(s->e.mean), real(s->e.half)) : real(s->e.mean));
    }
    f.summary_csv += row + "\n";
    page.table_rows.push_back(std::move(cells));
  }

  // The page.
  page.title = m.scenario;
  page.description = m.description;
  page.command = manifest_command(m);
  size_t nfailed = 0;
  for (size_t c = 0; c < C; ++c) nfailed += failed[c];
  page.totals = fmt::format("{} points ({} configuration{} x {} seed{}): {} recorded, {} ok, {} failed", m.points(), C,
                            C == 1 ? "" : "s", S, S == 1 ? "" : "s", records.size(), records.size() - nfailed, nfailed);
  if (m.shard) page.totals += fmt::format("; this folder holds shard {} of {}", m.shard->first, m.shard->second);
  std::map<std::pair<int, std::string>, size_t> failure_at;  // -> index into page.failures
  for (const SweepRecord& r : records) {
    if (r.ok()) continue;
    auto key = std::pair{r.exit, first_line(r.message)};
    auto it = failure_at.find(key);
    if (it == failure_at.end()) {
      std::string where = r.policy;
      for (size_t v = 0; v < m.varies.size(); ++v) where += " " + m.varies[v].path + "=" + r.vary_values[v];
      where += fmt::format(" seed {}", r.seed);
      failure_at[key] = page.failures.size();
      page.failures.push_back({r.exit, key.second, 1, where});
    } else {
      ++page.failures[it->second].count;
    }
  }
  // One plot per metric and varied parameter (per policy when nothing varies); one line per
  // policy and combination of the other parameters' values.
  for (size_t i = 0; i < m.metrics.size(); ++i) {
    // The metric's path after KIND(.ID) says whether it is a time.
    const std::string& name = m.metrics[i];
    size_t d = name.find('.');
    if (name.substr(0, d) != "system") d = name.find('.', d + 1);
    bool time = d != std::string::npos && metrics::is_duration_metric(name.substr(d + 1));
    double scale = time ? 1e-6 : 1;
    auto est = [&](size_t c) -> std::optional<reports::SweepEstimate> {
      if (!stats[c][i]) return std::nullopt;
      reports::SweepEstimate e = stats[c][i]->e;
      e.mean *= scale;
      e.half *= scale;
      return e;
    };
    if (m.varies.empty()) {
      reports::SweepPlot plot;
      plot.title = m.metrics[i];
      plot.x_label = "policy";
      plot.x_values = m.policies;
      plot.y_unit = time ? "ms" : "";
      reports::SweepSeries s;
      s.label = "mean over seeds";
      for (size_t c = 0; c < C; ++c) s.y.push_back(est(c));
      plot.series.push_back(std::move(s));
      page.plots.push_back(std::move(plot));
      continue;
    }
    for (size_t v = 0; v < m.varies.size(); ++v) {
      reports::SweepPlot plot;
      plot.title = m.metrics[i];
      plot.x_label = m.varies[v].path;
      plot.x_values = m.varies[v].values;
      plot.y_unit = time ? "ms" : "";
      // Series: every configuration with this parameter at its first value names one line.
      for (size_t c = 0; c < C; ++c) {
        SweepPoint p = sweep_point(m, combos, c * S);
        if (combos[p.combo][v] != 0) continue;
        reports::SweepSeries s;
        s.label = p.policy;
        for (size_t w = 0; w < m.varies.size(); ++w)
          if (w != v) s.label += ", " + vary_label(m.varies[w].path, p.vary_values[w]);
        for (size_t x = 0; x < m.varies[v].values.size(); ++x) {
          // The configuration that differs from c only in parameter v (value x).
          std::vector<size_t> want = combos[p.combo];
          want[v] = x;
          size_t combo = static_cast<size_t>(std::find(combos.begin(), combos.end(), want) - combos.begin());
          s.y.push_back(est(combo * m.policies.size() + (c % m.policies.size())));
        }
        plot.series.push_back(std::move(s));
      }
      page.plots.push_back(std::move(plot));
    }
  }
  f.summary_html = reports::render_sweep_html(page);
  return f;
}

std::string write_sweep_folder(const std::string& dir, const SweepFiles& files) {
  const std::pair<const char*, const std::string*> outputs[] = {
      {"sweep.json", &files.manifest},       {"points.jsonl", &files.points_jsonl},
      {"points.csv", &files.points_csv},     {"summary.csv", &files.summary_csv},
      {"summary.html", &files.summary_html},
  };
  constexpr size_t kN = std::size(outputs);
  OutputFile out[kN];
  for (size_t i = 0; i < kN; ++i) {
    if (std::string e = out[i].open(dir + "/" + outputs[i].first); !e.empty()) return e;
    out[i].write(*outputs[i].second);
  }
  for (OutputFile& o : out)
    if (std::string e = o.finish(); !e.empty()) return e;
  {
    SignalBlock block;
    for (OutputFile& o : out)
      if (std::string e = o.commit(); !e.empty()) return e;
    ::unlink((dir + "/" + kJournalName).c_str());  // every point it held is in points.jsonl now
  }
  return "";
}

std::vector<SweepRecord> read_existing_records(const std::string& dir, const SweepManifest& m, bool cut_torn_line) {
  std::vector<SweepRecord> out;
  for (const char* name : {"points.jsonl", kJournalName}) {
    std::string path = dir + "/" + name, text;
    if (!read_file(path, text)) continue;
    size_t last_nl = text.rfind('\n');
    size_t whole = last_nl == std::string::npos ? 0 : last_nl + 1;
    if (cut_torn_line && whole != text.size() && std::string(name) == kJournalName) {
      // A torn last line (a sweep killed mid-write): cut it off so the next append starts a line.
      // On failure the torn line stays; the next append then joins it and that one line is lost.
      (void)!::truncate(path.c_str(), static_cast<off_t>(whole));
    }
    for (size_t start = 0; start < whole;) {
      size_t end = text.find('\n', start);
      if (std::optional<SweepRecord> r = record_from_line(text.substr(start, end - start), m)) out.push_back(std::move(*r));
      start = end + 1;
    }
  }
  return out;
}

}  // namespace sim::cli
