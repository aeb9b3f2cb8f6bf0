// Renders the tables of `xnusim compare` (docs/compare.md says what is marked and why).
#include "sim/cli/compare_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace sim::cli {

double t_quantile_975(int df) {
  // t(0.975, df), df = 1..30 (any statistics table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
  static constexpr std::array<double, 30> kT = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0;
  if (df <= 30) return kT[static_cast<size_t>(df - 1)];
  if (df < 40) return 2.042;
  if (df < 60) return 2.021;
  if (df < 120) return 2.000;
  return 1.980;
}

Estimate estimate(const std::vector<double>& samples) {
  Estimate e;
  e.n = static_cast<int>(samples.size());
  if (samples.empty()) return e;
  double sum = 0;
  for (double v : samples) sum += v;
  e.mean = sum / e.n;
  if (e.n > 1) {
    double ss = 0;
    for (double v : samples) ss += (v - e.mean) * (v - e.mean);
    double sd = std::sqrt(ss / (e.n - 1));
    e.half = t_quantile_975(e.n - 1) * sd / std::sqrt(static_cast<double>(e.n));
  }
  return e;
}

namespace {

enum class Unit { time, count, share };

struct Metric {
  const char* title;
  Unit unit;
  bool lower_is_better;
  // The value for one thread of one run, or nullopt when it has none (no sample).
  std::function<std::optional<double>(const metrics::ThreadResult&, const metrics::Results&)> value;
};

std::optional<double> summary_value(const metrics::Summary& s, int64_t metrics::Summary::*key) {
  if (s.count == 0) return std::nullopt;
  return static_cast<double>(s.*key);
}

const std::vector<Metric>& metric_list() {
  static const std::vector<Metric> list = {
      {"response time p99 (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) { return summary_value(t.response_ns, &metrics::Summary::p99); }},
      {"response time max (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) { return summary_value(t.response_ns, &metrics::Summary::max); }},
      {"wakeup latency p99 (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) { return summary_value(t.latency_ns, &metrics::Summary::p99); }},
      {"wakeup latency max (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) { return summary_value(t.latency_ns, &metrics::Summary::max); }},
      {"deadline misses", Unit::count, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) -> std::optional<double> {
         return static_cast<double>(t.deadline_misses);
       }},
      {"blocked on locks (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) -> std::optional<double> {
         return static_cast<double>(t.blocked_ns);
       }},
      {"priority inversion (ms)", Unit::time, true,
       [](const metrics::ThreadResult& t, const metrics::Results&) -> std::optional<double> {
         return static_cast<double>(t.inversion_ns);
       }},
      {"CPU share (% of the machine)", Unit::share, false,
       [](const metrics::ThreadResult& t, const metrics::Results& r) -> std::optional<double> {
         double capacity = static_cast<double>(r.duration_ns) * static_cast<double>(r.configuration.cpus);
         if (capacity <= 0) return std::nullopt;
         return 100.0 * static_cast<double>(t.cpu_time_ns) / capacity;
       }},
  };
  return list;
}

// Differences that matter (docs/compare.md): more than 10% above the best and more than 0.1 ms
// (times) or one miss (counts); across seeds also outside the best's confidence interval.
constexpr double kRelative = 0.10;
constexpr double kTimeNs = 100'000;
constexpr double kCount = 0.5;

std::string format_value(Unit unit, const Estimate& e) {
  auto one = [&](double v) -> std::string {
    switch (unit) {
      case Unit::time: return fmt::format("{:.3f}", v / 1e6);
      case Unit::count: return e.n > 1 ? fmt::format("{:.1f}", v) : fmt::format("{:.0f}", v);
      case Unit::share: return fmt::format("{:.1f}", v);
    }
    return "";
  };
  if (e.n <= 1) return one(e.mean);
  return one(e.mean) + " ±" + one(e.half);
}

struct Cell {
  std::optional<Estimate> e;  // nullopt: no value ("-"), or the column failed
  std::string text;
};

}  // namespace

std::string render_compare_tables(const CompareTable& table) {
  // Rows: every thread id, in the order the first configurations declare them.
  std::vector<std::string> threads;
  for (const CompareColumn& c : table.columns)
    for (const metrics::Results* r : c.runs)
      for (const metrics::ThreadResult& t : r->threads)
        if (std::find(threads.begin(), threads.end(), t.id) == threads.end()) threads.push_back(t.id);

  // Header rows: the policy, then one row per --vary.
  std::vector<std::string> head_labels = {"thread"};
  std::vector<std::vector<std::string>> heads(1 + table.vary_paths.size());
  for (const CompareColumn& c : table.columns) {
    heads[0].push_back(c.policy);
    for (size_t v = 0; v < table.vary_paths.size(); ++v) heads[1 + v].push_back(c.vary_values[v]);
  }
  for (const std::string& p : table.vary_paths) head_labels.push_back(p);

  size_t label_width = 6;
  for (const std::string& h : head_labels) label_width = std::max(label_width, h.size());

  std::string out;
  for (const Metric& m : metric_list()) {
    // cells[row][column]
    std::vector<std::vector<Cell>> cells(threads.size(), std::vector<Cell>(table.columns.size()));
    bool any_nonzero = false;
    for (size_t ci = 0; ci < table.columns.size(); ++ci) {
      const CompareColumn& c = table.columns[ci];
      for (size_t ti = 0; ti < threads.size(); ++ti) {
        Cell& cell = cells[ti][ci];
        if (!c.failures.empty()) {
          cell.text = "panic";
          for (const std::string& f : c.failures)
            if (f.find("panic") == std::string::npos) cell.text = "error";
          continue;
        }
        std::vector<double> samples;
        for (const metrics::Results* r : c.runs)
          for (const metrics::ThreadResult& t : r->threads)
            if (t.id == threads[ti])
              if (std::optional<double> v = m.value(t, *r)) samples.push_back(*v);
        if (samples.empty()) {
          cell.text = "-";
          continue;
        }
        cell.e = estimate(samples);
        any_nonzero = any_nonzero || cell.e->mean != 0;
        cell.text = format_value(m.unit, *cell.e);
      }
    }
    out += fmt::format("\n{}\n", m.title);
    // A row is shown when some configuration has a value that does not print as 0.
    std::vector<bool> shown(threads.size(), false);
    size_t hidden = 0;
    for (size_t ti = 0; ti < threads.size(); ++ti) {
      for (const Cell& cell : cells[ti])
        if (!cell.e ? cell.text != "-" : cell.text != format_value(m.unit, Estimate{0, 0, cell.e->n}))
          shown[ti] = true;
      hidden += shown[ti] ? 0 : 1;
    }
    if (!any_nonzero || hidden == threads.size()) {
      out += "  0 (or no value) for every thread in every configuration\n";
      continue;
    }
    // The name column fits the rows this table shows (a long name hidden as all-zero, such as
    // xnu's kernel:sched_tick, does not widen it).
    size_t first_width = label_width;
    for (size_t ti = 0; ti < threads.size(); ++ti)
      if (shown[ti]) first_width = std::max(first_width, threads[ti].size());
    // Marks: "*" the best (lowest) of a row when not all are equal, "!" a difference that matters.
    std::vector<std::vector<std::string>> marks(threads.size(), std::vector<std::string>(table.columns.size()));
    if (m.lower_is_better) {
      for (size_t ti = 0; ti < threads.size(); ++ti) {
        const Estimate* best = nullptr;
        bool all_equal = true;
        size_t with_value = 0;
        for (const Cell& cell : cells[ti]) {
          if (!cell.e) continue;
          ++with_value;
          if (best && cell.e->mean != best->mean) all_equal = false;
          if (!best || cell.e->mean < best->mean) best = &*cell.e;
        }
        if (!best || with_value < 2 || all_equal) continue;
        double threshold = m.unit == Unit::time ? kTimeNs : kCount;
        for (size_t ci = 0; ci < table.columns.size(); ++ci) {
          const Cell& cell = cells[ti][ci];
          if (!cell.e) continue;
          double diff = cell.e->mean - best->mean;
          if (cell.e->mean == best->mean) {
            marks[ti][ci] = "*";
          } else if (diff > kRelative * best->mean && diff > threshold &&
                     cell.e->mean - cell.e->half > best->mean + best->half) {
            marks[ti][ci] = "!";
          }
        }
      }
    }
    std::vector<size_t> widths(table.columns.size(), 0);
    for (size_t ci = 0; ci < table.columns.size(); ++ci) {
      for (const auto& h : heads) widths[ci] = std::max(widths[ci], h[ci].size());
      for (size_t ti = 0; ti < threads.size(); ++ti)
        widths[ci] = std::max(widths[ci], cells[ti][ci].text.size() + 1);
    }
    for (size_t h = heads.size(); h-- > 0;) {
      // The policy row last, right above the numbers, labelled "thread".
      std::string line = fmt::format("  {:<{}}", h == 0 ? head_labels[0] : head_labels[h], first_width);
      for (size_t ci = 0; ci < table.columns.size(); ++ci) line += fmt::format("  {:>{}} ", heads[h][ci], widths[ci]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
    for (size_t ti = 0; ti < threads.size(); ++ti) {
      if (!shown[ti]) continue;
      std::string line = fmt::format("  {:<{}}", threads[ti], first_width);
      for (size_t ci = 0; ci < table.columns.size(); ++ci)
        line += fmt::format("  {:>{}}{:1}", cells[ti][ci].text, widths[ci], marks[ti][ci]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
    if (hidden > 0)
      out += fmt::format("  ({} other thread{}: 0 or no value in every configuration)\n", hidden, hidden == 1 ? "" : "s");
  }
  // The host's energy (machine.platform, docs/platforms.md): one row, lowest marked "*".
  bool any_energy = false;
  for (const CompareColumn& c : table.columns)
    for (const metrics::Results* r : c.runs) any_energy = any_energy || r->energy.present;
  if (any_energy) {
    std::vector<std::string> texts(table.columns.size());
    std::vector<std::optional<Estimate>> es(table.columns.size());
    std::string host;
    for (size_t ci = 0; ci < table.columns.size(); ++ci) {
      const CompareColumn& c = table.columns[ci];
      std::vector<double> samples;
      for (const metrics::Results* r : c.runs)
        if (r->energy.present) {
          samples.push_back(r->energy.joules);
          host = r->energy.host;
        }
      if (!c.failures.empty()) texts[ci] = "error";
      else if (samples.empty()) texts[ci] = "-";
      else {
        es[ci] = estimate(samples);
        texts[ci] = es[ci]->n <= 1 ? fmt::format("{:.3f}", es[ci]->mean)
                                   : fmt::format("{:.3f} ±{:.3f}", es[ci]->mean, es[ci]->half);
      }
    }
    std::optional<double> best;
    bool all_equal = true;
    for (const auto& e : es)
      if (e) {
        if (best && e->mean != *best) all_equal = false;
        if (!best || e->mean < *best) best = e->mean;
      }
    std::string row = "host " + host;
    size_t first_width = std::max(label_width, row.size());
    std::vector<size_t> widths(table.columns.size(), 0);
    for (size_t ci = 0; ci < table.columns.size(); ++ci) {
      for (const auto& h : heads) widths[ci] = std::max(widths[ci], h[ci].size());
      widths[ci] = std::max(widths[ci], texts[ci].size() + 1);
    }
    out += "\nenergy (J)\n";
    for (size_t h = heads.size(); h-- > 0;) {
      std::string line = fmt::format("  {:<{}}", h == 0 ? head_labels[0] : head_labels[h], first_width);
      for (size_t ci = 0; ci < table.columns.size(); ++ci) line += fmt::format("  {:>{}} ", heads[h][ci], widths[ci]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + '\n';
    }
    std::string line = fmt::format("  {:<{}}", row, first_width);
    for (size_t ci = 0; ci < table.columns.size(); ++ci) {
      bool mark = es[ci] && best && !all_equal && es[ci]->mean == *best;
      line += fmt::format("  {:>{}}{:1}", texts[ci], widths[ci], mark ? "*" : "");
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  // What failed, per column.
  bool any_failure = false;
  for (size_t ci = 0; ci < table.columns.size(); ++ci) {
    const CompareColumn& c = table.columns[ci];
    for (const std::string& f : c.failures) {
      if (!any_failure) out += "\nfailed runs\n";
      any_failure = true;
      std::string label = c.policy;
      for (size_t v = 0; v < table.vary_paths.size(); ++v)
        label += fmt::format(" {}={}", table.vary_paths[v], c.vary_values[v]);
      out += fmt::format("  {}: {}\n", label, f);
    }
  }
  return out;
}

}  // namespace sim::cli
