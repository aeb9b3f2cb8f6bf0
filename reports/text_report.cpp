// Results -> terminal summary. Text columns are left-aligned, numbers and durations right-aligned.
#include "reports/text_report.hpp"

#include <algorithm>
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

  void render(std::string& out) const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) {
        widths[c] = std::max(widths[c], display_width(row[c]));
      }
    }
    render_line(out, headers_, widths);
    for (const auto& row : rows_) render_line(out, row, widths);
  }

 private:
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

// A summary field, or "-" when there were no samples.
std::string human_or_dash(const metrics::Summary& s, int64_t metrics::Summary::*field) {
  return s.count == 0 ? std::string("-") : human(s.*field);
}

std::string percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

void render_threads(std::string& out, const metrics::Results& r) {
  auto any = [&](int64_t metrics::ThreadResult::*field) {
    return std::any_of(r.threads.begin(), r.threads.end(),
                       [&](const metrics::ThreadResult& t) { return t.*field != 0; });
  };
  const bool show_blocked = any(&metrics::ThreadResult::blocked_ns);
  const bool show_inversion = any(&metrics::ThreadResult::inversion_ns);
  const bool show_demotions = any(&metrics::ThreadResult::demotions);

  Table table;
  table.add_column("thread", Align::left);
  table.add_column("band", Align::left);
  table.add_column("pri", Align::left);
  for (const char* h : {"cpu time", "jobs", "misses", "resp p50", "resp p99", "resp max",
                        "lat p99", "lat max", "jitter", "preempts", "switches", "migrations"}) {
    table.add_column(h, Align::right);
  }
  if (show_blocked) table.add_column("blocked", Align::right);
  if (show_inversion) table.add_column("inversion", Align::right);
  if (show_demotions) table.add_column("demotions", Align::right);

  using S = metrics::Summary;
  for (const auto& t : r.threads) {
    std::vector<std::string> row{
        t.id,
        std::string(metrics::band_name(t.base_priority)),
        fmt::format("{}..{}", t.min_sched_pri, t.max_sched_pri),
        human(t.cpu_time_ns),
        fmt::format("{}", t.jobs),
        fmt::format("{}", t.deadline_misses),
        human_or_dash(t.response_ns, &S::p50),
        human_or_dash(t.response_ns, &S::p99),
        human_or_dash(t.response_ns, &S::max),
        human_or_dash(t.latency_ns, &S::p99),
        human_or_dash(t.latency_ns, &S::max),
        t.latency_ns.count == 0 ? std::string("-") : human(t.jitter_ns),
        fmt::format("{}", t.preemptions),
        fmt::format("{}", t.context_switches),
        fmt::format("{}", t.migrations),
    };
    if (show_blocked) row.push_back(human(t.blocked_ns));
    if (show_inversion) row.push_back(human(t.inversion_ns));
    if (show_demotions) row.push_back(fmt::format("{}", t.demotions));
    table.add_row(std::move(row));
  }
  table.render(out);
}

void render_cpus(std::string& out, const metrics::Results& r) {
  Table table;
  table.add_column("cpu", Align::left);
  for (const char* h : {"busy", "interrupt", "idle", "overhead"}) table.add_column(h, Align::right);
  for (size_t i = 0; i < r.cpus.size(); ++i) {
    const auto& c = r.cpus[i];
    table.add_row({fmt::format("cpu{}", i), percent(c.busy_ns, r.duration_ns),
                   human(c.interrupt_ns), percent(c.idle_ns, r.duration_ns),
                   human(c.overhead_ns)});
  }
  table.render(out);
}

void render_locks(std::string& out, const metrics::Results& r) {
  Table table;
  table.add_column("lock", Align::left);
  for (const char* h : {"acquisitions", "contended", "wait p99", "wait max", "hold p99",
                        "hold max"}) {
    table.add_column(h, Align::right);
  }
  using S = metrics::Summary;
  for (const auto& l : r.locks) {
    table.add_row({l.id, fmt::format("{}", l.acquisitions), fmt::format("{}", l.contended),
                   human_or_dash(l.wait_ns, &S::p99), human_or_dash(l.wait_ns, &S::max),
                   human_or_dash(l.hold_ns, &S::p99), human_or_dash(l.hold_ns, &S::max)});
  }
  table.render(out);
}

void render_interrupts(std::string& out, const metrics::Results& r) {
  Table table;
  table.add_column("interrupt", Align::left);
  for (const char* h : {"count", "lat p50", "lat p99", "lat max"}) {
    table.add_column(h, Align::right);
  }
  using S = metrics::Summary;
  for (const auto& i : r.interrupts) {
    table.add_row({i.id, fmt::format("{}", i.count), human_or_dash(i.latency_ns, &S::p50),
                   human_or_dash(i.latency_ns, &S::p99), human_or_dash(i.latency_ns, &S::max)});
  }
  table.render(out);
}

void render_workloops(std::string& out, const metrics::Results& r) {
  Table table;
  table.add_column("workloop", Align::left);
  for (const char* h : {"actions", "delivered", "action p99", "action max", "gate wait p99",
                        "gate wait max"}) {
    table.add_column(h, Align::right);
  }
  using S = metrics::Summary;
  for (const auto& w : r.workloops) {
    table.add_row({w.id, fmt::format("{}", w.actions), fmt::format("{}", w.interrupts_delivered),
                   human_or_dash(w.action_latency_ns, &S::p99),
                   human_or_dash(w.action_latency_ns, &S::max),
                   human_or_dash(w.gate_wait_ns, &S::p99), human_or_dash(w.gate_wait_ns, &S::max)});
  }
  table.render(out);
}

void render_devices(std::string& out, const metrics::Results& r) {
  Table table;
  table.add_column("device", Align::left);
  for (const char* h : {"ios", "completed", "offline", "io p50", "io p99", "io max"}) {
    table.add_column(h, Align::right);
  }
  using S = metrics::Summary;
  for (const auto& d : r.devices) {
    table.add_row({d.id, fmt::format("{}", d.ios), fmt::format("{}", d.completed),
                   fmt::format("{}", d.offline), human_or_dash(d.io_ns, &S::p50),
                   human_or_dash(d.io_ns, &S::p99), human_or_dash(d.io_ns, &S::max)});
  }
  table.render(out);
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

std::string text_summary(const metrics::Results& r) {
  std::string out = fmt::format("scenario {}, policy {}, xnu-{}, seed {}, simulated {}\n",
                                r.scenario, r.policy, r.xnu, r.seed, human(r.duration_ns));
  out += '\n';
  render_threads(out, r);
  out += '\n';
  render_cpus(out, r);
  if (!r.locks.empty()) {
    out += '\n';
    render_locks(out, r);
  }
  if (!r.interrupts.empty()) {
    out += '\n';
    render_interrupts(out, r);
  }
  if (!r.workloops.empty()) {
    out += '\n';
    render_workloops(out, r);
  }
  if (!r.devices.empty()) {
    out += '\n';
    render_devices(out, r);
  }

  out += '\n';
  const size_t panics = r.system.panics.size();
  fmt::format_to(std::back_inserter(out), "system: {} context switches, {} events, {}\n",
                 r.system.context_switches, r.system.events,
                 panics == 0 ? std::string("no panics")
                             : fmt::format("{} panic{}", panics, panics == 1 ? "" : "s"));
  for (const auto& p : r.system.panics) fmt::format_to(std::back_inserter(out), "panic: {}\n", p);
  render_held_at_exit(out, r);

  if (!r.expect.empty()) {
    out += '\n';
    for (const auto& e : r.expect) {
      fmt::format_to(std::back_inserter(out), "{} {}\n", e.ok ? "PASS" : "FAIL", e.text);
    }
  }
  return out;
}

}  // namespace sim::reports
