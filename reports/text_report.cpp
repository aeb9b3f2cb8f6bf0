// Results -> terminal summary. Text columns are left-aligned, numbers and durations right-aligned.
#include "reports/text_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim/core/time.hpp"
#include "sim/metrics/names.hpp"

namespace sim::reports {

namespace {

// Display width of UTF-8 text: one column per code point (ids are usually ASCII).
size_t display_width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

enum class Align { left, right };

class Table {
 public:
  void add_column(std::string header, Align align) {
    headers_.push_back(std::move(header));
    aligns_.push_back(align);
  }
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  // The width of the widest line.
  size_t width() const {
    std::vector<size_t> w = widths();
    size_t total = 0;
    for (size_t c = 0; c < w.size(); ++c) total += w[c] + (c > 0 ? 2 : 0);
    return total;
  }

  // Shortens the names in the first column (never below 8 columns) until the table fits `limit`.
  // The middle of a name gives way to "~", so that numbered names ("worker_1", "worker_2") stay
  // distinct.
  void fit(size_t limit) {
    const size_t total = width();
    if (total <= limit || rows_.empty()) return;
    const size_t first = widths()[0];
    const size_t over = total - limit;
    const size_t keep = std::max<size_t>({8, display_width(headers_[0]), first > over ? first - over : 0});
    for (auto& row : rows_) {
      if (display_width(row[0]) <= keep) continue;
      std::vector<std::string> points;  // code points
      for (char c : row[0]) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 || points.empty()) points.emplace_back();
        points.back() += c;
      }
      const size_t tail = (keep - 1) / 2, head = keep - 1 - tail;
      std::string cut;
      for (size_t i = 0; i < head; ++i) cut += points[i];
      cut += '~';
      for (size_t i = points.size() - tail; i < points.size(); ++i) cut += points[i];
      row[0] = cut;
    }
  }

  void render(std::string& out) const {
    const std::vector<size_t> w = widths();
    render_line(out, headers_, w);
    for (const auto& row : rows_) render_line(out, row, w);
  }

 private:
  std::vector<size_t> widths() const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) {
        widths[c] = std::max(widths[c], display_width(row[c]));
      }
    }
    return widths;
  }

  void render_line(std::string& out, const std::vector<std::string>& cells,
                   const std::vector<size_t>& widths) const {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += "  ";
      const size_t pad = widths[c] - display_width(cells[c]);
      if (aligns_[c] == Align::right) line.append(pad, ' ');
      line += cells[c];
      if (aligns_[c] == Align::left) line.append(pad, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  }

  std::vector<std::string> headers_;
  std::vector<Align> aligns_;
  std::vector<std::vector<std::string>> rows_;
};

std::string human(int64_t ns) { return core::format_duration_human(ns); }

// Three significant digits with a unit, for the narrow summary: "71.0 ms", "1.00 ms", "250 ns",
// "17.2 s"; zero is "0".
std::string compact(int64_t ns) {
  if (ns == 0) return "0";
  static constexpr const char* kUnits[] = {"ns", "us", "ms", "s"};
  const double sign = ns < 0 ? -1.0 : 1.0;
  double v = std::abs(static_cast<double>(ns));
  size_t unit = 0;
  while (unit < 3 && v >= 1000.0) {
    v /= 1000.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} ns", ns);
  int decimals = v < 10.0 ? 2 : v < 100.0 ? 1 : 0;
  const double scale = decimals == 2 ? 100.0 : decimals == 1 ? 10.0 : 1.0;
  double r = std::round(v * scale) / scale;
  if (r >= 10.0 && decimals == 2) decimals = 1;
  if (r >= 100.0 && decimals <= 1) decimals = 0;
  if (r >= 1000.0 && unit < 3) {  // 999.6 ms reads 1.00 s
    r /= 1000.0;
    ++unit;
    decimals = 2;
  }
  return fmt::format("{:.{}f} {}", sign * r, decimals, kUnits[unit]);
}

// How the summary writes times: full precision when wide, three digits otherwise.
struct Style {
  bool wide = false;
  std::string time(int64_t ns) const { return wide ? human(ns) : compact(ns); }
  // A summary field, or "-" when there were no samples.
  std::string field(const metrics::Summary& s, int64_t metrics::Summary::*f) const {
    return s.count == 0 ? std::string("-") : time(s.*f);
  }
};

std::string percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

// The band of a thread's base priority. The two bands below the default are named after what
// timesharing does to a thread ("aged" by decay, "lowered"); a thread whose priority stays fixed
// there (declared fixed, or any thread under the fixed and edf policies, which never decay) is
// neither, and is labelled "fixed".
std::string band_label(const metrics::ThreadResult& t, const std::string& policy) {
  std::string band(metrics::band_name(t.base_priority));
  const bool fixed = t.mode == "fixed" || policy == "fixed" || policy == "edf";
  if (fixed && (band == "aged" || band == "lowered")) return "fixed";
  return band;
}

void finish_table(std::string& out, Table& table, const Style& style) {
  if (!style.wide) table.fit(kSummaryColumns);
  table.render(out);
}

void render_threads(std::string& out, const metrics::Results& r, const Style& style) {
  using S = metrics::Summary;
  Table table;
  table.add_column("thread", Align::left);
  table.add_column("band", Align::left);
  table.add_column("pri", Align::left);
  if (!style.wide) {
    // The columns that tell latency and inversion stories, always the same ones.
    for (const char* h : {"cpu time", "missed", "resp p99", "resp max", "lat max", "blocked", "inversion"})
      table.add_column(h, Align::right);
    for (const auto& t : r.threads) {
      table.add_row({t.id, band_label(t, r.policy), fmt::format("{}..{}", t.min_sched_pri, t.max_sched_pri),
                     style.time(t.cpu_time_ns),
                     t.jobs == 0 && t.deadline_misses == 0 ? std::string("-")
                                                           : fmt::format("{}/{}", t.deadline_misses, t.jobs),
                     style.field(t.response_ns, &S::p99), style.field(t.response_ns, &S::max),
                     style.field(t.latency_ns, &S::max), style.time(t.blocked_ns), style.time(t.inversion_ns)});
    }
    finish_table(out, table, style);
    for (const auto& t : r.threads)
      if (t.demotions > 0)
        fmt::format_to(std::back_inserter(out), "note: {} was demoted {} time{} by the real-time fail-safe\n", t.id,
                       t.demotions, t.demotions == 1 ? "" : "s");
    return;
  }
  for (const char* h : {"cpu time", "jobs", "misses", "resp p50", "resp p99", "resp max", "lat p99", "lat max",
                        "jitter", "preempts", "switches", "migrations", "blocked", "inversion", "demotions"})
    table.add_column(h, Align::right);
  for (const auto& t : r.threads) {
    table.add_row({
        t.id,
        band_label(t, r.policy),
        fmt::format("{}..{}", t.min_sched_pri, t.max_sched_pri),
        style.time(t.cpu_time_ns),
        fmt::format("{}", t.jobs),
        fmt::format("{}", t.deadline_misses),
        style.field(t.response_ns, &S::p50),
        style.field(t.response_ns, &S::p99),
        style.field(t.response_ns, &S::max),
        style.field(t.latency_ns, &S::p99),
        style.field(t.latency_ns, &S::max),
        t.latency_ns.count == 0 ? std::string("-") : style.time(t.jitter_ns),
        fmt::format("{}", t.preemptions),
        fmt::format("{}", t.context_switches),
        fmt::format("{}", t.migrations),
        style.time(t.blocked_ns),
        style.time(t.inversion_ns),
        fmt::format("{}", t.demotions),
    });
  }
  finish_table(out, table, style);
}

void render_cpus(std::string& out, const metrics::Results& r, const Style& style) {
  Table table;
  table.add_column("cpu", Align::left);
  for (const char* h : {"busy", "interrupt", "idle", "overhead"}) table.add_column(h, Align::right);
  for (size_t i = 0; i < r.cpus.size(); ++i) {
    const auto& c = r.cpus[i];
    table.add_row({fmt::format("cpu{}", i), percent(c.busy_ns, r.duration_ns), style.time(c.interrupt_ns),
                   percent(c.idle_ns, r.duration_ns), style.time(c.overhead_ns)});
  }
  finish_table(out, table, style);
}

void render_locks(std::string& out, const metrics::Results& r, const Style& style) {
  Table table;
  table.add_column("lock", Align::left);
  for (const char* h : {"acquisitions", "contended", "wait p99", "wait max", "hold p99", "hold max"})
    table.add_column(h, Align::right);
  using S = metrics::Summary;
  for (const auto& l : r.locks) {
    table.add_row({l.id, fmt::format("{}", l.acquisitions), fmt::format("{}", l.contended),
                   style.field(l.wait_ns, &S::p99), style.field(l.wait_ns, &S::max), style.field(l.hold_ns, &S::p99),
                   style.field(l.hold_ns, &S::max)});
  }
  finish_table(out, table, style);
}

void render_interrupts(std::string& out, const metrics::Results& r, const Style& style) {
  Table table;
  table.add_column("interrupt", Align::left);
  for (const char* h : {"count", "lat p50", "lat p99", "lat max"}) table.add_column(h, Align::right);
  using S = metrics::Summary;
  for (const auto& i : r.interrupts) {
    table.add_row({i.id, fmt::format("{}", i.count), style.field(i.latency_ns, &S::p50),
                   style.field(i.latency_ns, &S::p99), style.field(i.latency_ns, &S::max)});
  }
  finish_table(out, table, style);
}

void render_workloops(std::string& out, const metrics::Results& r, const Style& style) {
  Table table;
  table.add_column("workloop", Align::left);
  for (const char* h : {"actions", "delivered", "action p99", "action max", "gate wait p99", "gate wait max"})
    table.add_column(h, Align::right);
  using S = metrics::Summary;
  for (const auto& w : r.workloops) {
    table.add_row({w.id, fmt::format("{}", w.actions), fmt::format("{}", w.interrupts_delivered),
                   style.field(w.action_latency_ns, &S::p99), style.field(w.action_latency_ns, &S::max),
                   style.field(w.gate_wait_ns, &S::p99), style.field(w.gate_wait_ns, &S::max)});
  }
  finish_table(out, table, style);
}

void render_devices(std::string& out, const metrics::Results& r, const Style& style) {
  Table table;
  table.add_column("device", Align::left);
  for (const char* h : {"ios", "completed", "offline", "io p50", "io p99", "io max"}) table.add_column(h, Align::right);
  using S = metrics::Summary;
  for (const auto& d : r.devices) {
    table.add_row({d.id, fmt::format("{}", d.ios), fmt::format("{}", d.completed), fmt::format("{}", d.offline),
                   style.field(d.io_ns, &S::p50), style.field(d.io_ns, &S::p99), style.field(d.io_ns, &S::max)});
  }
  finish_table(out, table, style);
}

// Appends `text` as lines of at most `width` columns, broken at spaces; continuation lines are
// indented by two spaces. A word longer than a line stays whole.
void append_wrapped(std::string& out, std::string_view text, size_t width) {
  size_t column = 0;
  bool first_word = true;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    const size_t w = display_width(word);
    if (!first_word && column + 1 + w > width) {
      out += "\n  ";
      column = 2;
    } else if (!first_word) {
      out += ' ';
      ++column;
    }
    out += word;
    column += w;
    first_word = false;
  }
  out += '\n';
}

}  // namespace

// One warning per lock left held by threads that ended (docs/locks-and-inversion.md).
static void render_held_at_exit(std::string& out, const metrics::Results& r) {
  for (const auto& l : r.locks) {
    if (l.held_at_exit == 0) continue;
    std::string who;
    for (const std::string& t : l.exited_holders) who += fmt::format("{}\"{}\"", who.empty() ? "" : ", ", t);
    std::string waiting = l.waiting_at_end == 0   ? std::string("no thread waits for it")
                          : l.waiting_at_end == 1 ? std::string("1 thread still waits for it")
                                                  : fmt::format("{} threads still wait for it", l.waiting_at_end);
    fmt::format_to(std::back_inserter(out), "warning: {} {} exited holding {} \"{}\"; {}\n",
                   l.exited_holders.size() == 1 ? "thread" : "threads", who, l.kind.empty() ? "lock" : l.kind,
                   l.id, waiting);
  }
}

std::string warnings(const metrics::Results& r) {
  std::string out;
  render_held_at_exit(out, r);
  return out;
}

std::string text_summary(const metrics::Results& r, const TextOptions& options) {
  const Style style{options.wide};
  std::string out = fmt::format("scenario {}, policy {}, xnu-{}, seed {}, simulated {}\n", r.scenario, r.policy,
                                r.xnu, r.seed, human(r.duration_ns));
  out += '\n';
  render_threads(out, r, style);
  out += '\n';
  render_cpus(out, r, style);
  if (!r.locks.empty()) {
    out += '\n';
    render_locks(out, r, style);
  }
  if (!r.interrupts.empty()) {
    out += '\n';
    render_interrupts(out, r, style);
  }
  if (!r.workloops.empty()) {
    out += '\n';
    render_workloops(out, r, style);
  }
  if (!r.devices.empty()) {
    out += '\n';
    render_devices(out, r, style);
  }

  out += '\n';
  const size_t panics = r.system.panics.size();
  fmt::format_to(std::back_inserter(out), "system: {} context switches, {} events, {}\n",
                 r.system.context_switches, r.system.events,
                 panics == 0 ? std::string("no panics")
                             : fmt::format("{} panic{}", panics, panics == 1 ? "" : "s"));
  if (r.energy.present)
    fmt::format_to(std::back_inserter(out), "energy: {:.3f} J ({:.3f} W mean) on host {}, {} pstate change{}\n",
                   r.energy.joules, r.energy.watts, r.energy.host, r.energy.pstate_changes,
                   r.energy.pstate_changes == 1 ? "" : "s");
  const size_t width = options.wide ? std::string::npos : kSummaryColumns;
  for (const auto& p : r.system.panics) append_wrapped(out, "panic: " + p, width);
  std::string warned;
  render_held_at_exit(warned, r);
  for (size_t start = 0; start < warned.size();) {
    const size_t end = warned.find('\n', start);
    append_wrapped(out, std::string_view(warned).substr(start, end - start), width);
    start = end + 1;
  }

  if (!r.expect.empty()) {
    out += '\n';
    for (const auto& e : r.expect) append_wrapped(out, fmt::format("{} {}", e.ok ? "PASS" : "FAIL", e.text), width);
  }
  return out;
}

}  // namespace sim::reports
