// The self-contained HTML report: timelines, priority plots, latency histograms and CDFs,
// deadline misses and summary tables, as inline SVG with a little CSS and script.
#include "reports/html_report.hpp"
#include "reports/html_page.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "sim/core/time.hpp"
#include "sim/metrics/names.hpp"

namespace sim::reports {

namespace {

// Geometry of a timeline, in the outer SVG's units (it scales to the page width).
constexpr double kLabelW = 150;   // lane names
constexpr double kPlotW = 1000;   // the plot area; also its user units across the window
constexpr double kRightW = 20;
constexpr double kOuterW = kLabelW + kPlotW + kRightW;
constexpr double kAxisH = 22;
constexpr double kCpuH = 18;
constexpr double kLaneH = 16;
constexpr double kGap = 5;
constexpr size_t kAllLanesUpTo = 24;  // threads; above this only the active ones get a lane

constexpr std::array<std::string_view, 10> kThreadColours = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                             "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string esc(std::string_view s) { return html_escape(s); }

std::string dur(int64_t ns) { return core::format_duration_human(ns); }
// A time on the run's clock, in seconds with nine decimals as the text trace prints it.
std::string at(int64_t ns) { return core::format_time(core::SimTime{ns}); }

std::string thread_colour(int32_t t) {
  return std::string(t < 0 ? std::string_view("#888") : kThreadColours[static_cast<size_t>(t) % kThreadColours.size()]);
}

// The band's index (0 aged .. 7 realtime), from its name, for the CSS classes b0..b7.
int band_index(int pri) {
  static constexpr std::array<std::string_view, 8> kBands = {"aged",     "lowered", "default", "raised",
                                                             "elevated", "system",  "kernel",  "realtime"};
  std::string_view name = metrics::band_name(pri);
  for (size_t i = 0; i < kBands.size(); ++i)
    if (kBands[i] == name) return static_cast<int>(i);
  return 2;
}

std::string_view state_class(ThreadState s) {
  switch (s) {
    case ThreadState::running: return "run";
    case ThreadState::spinning: return "spin";
    case ThreadState::ready: return "rdy";
    case ThreadState::lock: return "lck";
    case ThreadState::funnel: return "fun";
    case ThreadState::sleeping: return "slp";
    case ThreadState::period: return "per";
    case ThreadState::event: return "evt";
    case ThreadState::io: return "io";
    case ThreadState::command: return "cmd";
    case ThreadState::other: return "oth";
  }
  return "oth";
}

// A "nice" tick step (1, 2 or 5 times a power of ten ns) giving about `want` ticks over `range`.
int64_t tick_step(int64_t range, int want) {
  double raw = static_cast<double>(std::max<int64_t>(range, 1)) / want;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  double m = raw / p;
  double step = m < 1.5 ? p : m < 3.5 ? 2 * p : m < 7.5 ? 5 * p : 10 * p;
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(step)));
}

// Tick label for time t with step `step` on an axis reaching `ref`: the unit follows the step,
// or a larger one when the axis's numbers would pass 1000 (7.3 s, not 7300 ms); decimals only as
// the step needs.
std::string tick_label(int64_t t, int64_t step, int64_t ref) {
  struct Unit {
    int64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1, "ns"}, {1'000, "us"}, {1'000'000, "ms"}, {1'000'000'000, "s"}};
  // The unit of the step, or a larger one when the numbers would get long (1651.016 s).
  size_t i = 3;
  while (i > 0 && step < kUnits[i].ns) --i;
  while (i < 3 && (ref < 0 ? -ref : ref) / kUnits[i].ns >= 1'000) ++i;
  int decimals = 0;
  for (int64_t s = step; s % kUnits[i].ns != 0 && decimals < 9; s *= 10) ++decimals;
  return fmt::format("{:.{}f} {}", static_cast<double>(t) / static_cast<double>(kUnits[i].ns), decimals, kUnits[i].name);
}

struct Axis {
  int64_t from = 0, to = 1;
  double x(int64_t t) const {
    return static_cast<double>(t - from) * kPlotW / static_cast<double>(std::max<int64_t>(1, to - from));
  }
};

std::string num(double v) {
  std::string s = fmt::format("{:.3f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string priority_reason(uint8_t r) { return std::string(core::to_string(static_cast<core::PriorityReason>(r))); }

std::string_view mark_class(const Mark& m) {
  switch (m.kind) {
    case MarkKind::priority: {
      auto r = static_cast<core::PriorityReason>(m.reason);
      if (r == core::PriorityReason::promote || r == core::PriorityReason::unpromote) return "mp-pro";
      if (r == core::PriorityReason::failsafe) return "mp-fs";
      if (r == core::PriorityReason::depress) return "mp-dep";
      if (r == core::PriorityReason::decay || r == core::PriorityReason::tick || r == core::PriorityReason::quantum)
        return "mp-dec";
      return "mp";
    }
    case MarkKind::demoted:
    case MarkKind::undemoted: return "mp-fs";
    case MarkKind::depressed:
    case MarkKind::undepressed: return "mp-dep";
    case MarkKind::released: return "m-rel";
    case MarkKind::completed: return "m-done";
    case MarkKind::missed: return "m-miss";
  }
  return "mp";
}

// One timeline (one panel): lanes of CPUs, threads, locks and inversions over the shared axis.
class TimelineSvg {
 public:
  TimelineSvg(const Timeline& tl, Axis axis, bool inversion_lane, size_t panel, const std::vector<bool>& shown)
      : tl_(tl), shown_(shown), axis_(axis), inversion_lane_(inversion_lane), panel_(panel) {}

  std::string render() {
    const core::NameTable& n = tl_.names();
    double y = kAxisH;
    std::vector<double> cpu_y, thread_y, lock_y;
    for (int c = 0; c < tl_.cpus(); ++c) {
      cpu_y.push_back(y);
      lane(y, kCpuH, fmt::format("cpu{}", c), "cpu", "");
      y += kCpuH + kGap;
    }
    y += kGap;
    for (size_t t = 0; t < n.threads.size(); ++t) {
      thread_y.push_back(-1);
      if (t < shown_.size() && !shown_[t]) continue;
      thread_y.back() = y;
      lane(y, kLaneH, n.threads[t], "thread", thread_colour(static_cast<int32_t>(t)));
      y += kLaneH + kGap;
    }
    // Locks: a lane for each lock held inside the window.
    std::vector<bool> held(n.locks.size(), false);
    for (const LockHold& h : tl_.lock_holds())
      if (h.lock >= 0 && static_cast<size_t>(h.lock) < held.size()) held[static_cast<size_t>(h.lock)] = true;
    lock_y.assign(n.locks.size(), -1);
    if (std::find(held.begin(), held.end(), true) != held.end()) y += kGap;
    for (size_t l = 0; l < n.locks.size(); ++l) {
      if (!held[l]) continue;
      lock_y[l] = y;
      lane(y, kLaneH, "lock " + n.locks[l], "lock", "");
      y += kLaneH + kGap;
    }
    double inversion_y = -1;
    if (inversion_lane_) {
      inversion_y = y;
      lane(y, kLaneH, "inversion", "inversion", "#c0392b");
      y += kLaneH + kGap;
    }
    double height = y + 2;

    // CPU lanes: threads coloured by the band of their sched_pri; interrupts; idle is the gaps.
    for (const CpuSpan& s : tl_.cpu_spans()) {
      double yy = cpu_y[static_cast<size_t>(s.cpu)];
      if (s.thread >= 0) {
        std::string name(n.thread(s.thread));
        span(s.from, s.to, yy, kCpuH, fmt::format("b{}", band_index(s.pri)),
             fmt::format("cpu{}: {} at sched_pri {} ({}), {} .. {} ({})", s.cpu, name, s.pri, metrics::band_name(s.pri),
                         at(s.from), at(s.to), dur(s.to - s.from)),
             name);
      } else {
        std::string src = s.source >= 0 ? std::string(core::NameTable::at(n.interrupts, s.source)) : "interrupt";
        span(s.from, s.to, yy, kCpuH, "irq",
             fmt::format("cpu{}: interrupt {}, {} .. {} ({})", s.cpu, src, at(s.from), at(s.to), dur(s.to - s.from)),
             s.source >= 0 ? src : "");
      }
    }
    // Thread lanes: states.
    for (const ThreadSpan& s : tl_.thread_spans()) {
      double yy = thread_y[static_cast<size_t>(s.thread)];
      if (yy < 0) continue;
      std::string what(to_string(s.state));
      std::string cls(state_class(s.state));
      std::string label;
      switch (s.state) {
        case ThreadState::running:
          what += fmt::format(" on cpu{} at sched_pri {} ({} band)", s.cpu, s.pri, metrics::band_name(s.pri));
          break;
        case ThreadState::spinning:
        case ThreadState::lock: {
          std::string lock(core::NameTable::at(n.locks, s.object));
          what += " " + lock;
          if (s.state == ThreadState::lock) {
            label = lock;
            if (lock.size() > 5 && lock.ends_with(".gate")) {
              what = "waiting in the gate of work loop " + lock.substr(0, lock.size() - 5);
              cls = "gate";
            }
          }
          break;
        }
        case ThreadState::funnel: what += s.object == 1 ? " (network)" : " (kernel)"; break;
        case ThreadState::event:
        case ThreadState::command: what += " " + std::string(core::NameTable::at(n.events, s.object)); break;
        default: break;
      }
      span(s.from, s.to, yy + (s.state == ThreadState::running || s.state == ThreadState::spinning ? 0 : 3),
           s.state == ThreadState::running || s.state == ThreadState::spinning ? kLaneH : kLaneH - 6, cls,
           fmt::format("{}: {}, {} .. {} ({})", n.thread(s.thread), what, at(s.from), at(s.to), dur(s.to - s.from)),
           label, s.state == ThreadState::running ? thread_colour(s.thread) : "");
    }
    for (const LockHold& h : tl_.lock_holds()) {
      if (lock_y[static_cast<size_t>(h.lock)] < 0) continue;
      std::string holder(n.thread(h.thread));
      span(h.from, h.to, lock_y[static_cast<size_t>(h.lock)] + 2, kLaneH - 4, "", 
           fmt::format("lock {} held by {}, {} .. {} ({})", core::NameTable::at(n.locks, h.lock), holder, at(h.from),
                       at(h.to), dur(h.to - h.from)),
           holder, thread_colour(h.thread));
    }
    if (inversion_y >= 0) {
      for (const InversionSpan& v : tl_.inversions()) {
        std::string who(n.thread(v.thread)), ran(n.thread(v.ran)), holder(n.thread(v.holder));
        span(v.from, v.to, inversion_y, kLaneH, "inv",
             fmt::format("priority inversion: {} blocked by {}, {} ran instead; {} .. {} ({})", who, holder, ran,
                         at(v.from), at(v.to), dur(v.to - v.from)),
             fmt::format("{} blocked by {}, {} ran instead", who, holder, ran));
        // The blocked thread's lane gets the same interval underlined.
        if (thread_y[static_cast<size_t>(v.thread)] >= 0)
          span(v.from, v.to, thread_y[static_cast<size_t>(v.thread)] + kLaneH - 2, 2, "inv", "", "");
      }
    }
    for (const Mark& m : tl_.marks()) {
      if (m.thread < 0 || static_cast<size_t>(m.thread) >= thread_y.size()) continue;
      double yy = thread_y[static_cast<size_t>(m.thread)];
      if (yy < 0) continue;
      std::string who(n.thread(m.thread));
      std::string text;
      double y0 = yy - 2, y1 = yy + kLaneH + 2;
      switch (m.kind) {
        case MarkKind::priority:
          text = fmt::format("{}: {} sched_pri {} -> {} ({})", at(m.time), who, m.a, m.b, priority_reason(m.reason));
          y1 = yy + 5;
          y0 = yy - 3;
          break;
        case MarkKind::demoted:
          text = fmt::format("{}: {} demoted by the real-time fail-safe (used {} of its computation)", at(m.time), who,
                             dur(m.a));
          break;
        case MarkKind::undemoted: text = fmt::format("{}: {} undemoted (fail-safe released)", at(m.time), who); break;
        case MarkKind::depressed: text = fmt::format("{}: {} depressed (swtch_pri)", at(m.time), who); break;
        case MarkKind::undepressed: text = fmt::format("{}: {} depression ended", at(m.time), who); break;
        case MarkKind::released:
          text = m.b >= 0 ? fmt::format("{}: {} job {} released, deadline {}", at(m.time), who, m.a, at(m.b))
                          : fmt::format("{}: {} job {} released", at(m.time), who, m.a);
          break;
        case MarkKind::completed:
          text = fmt::format("{}: {} job {} done, response {}", at(m.time), who, m.a, dur(m.b));
          y0 = yy + kLaneH - 4;
          break;
        case MarkKind::missed:
          text = fmt::format("{}: {} job {} MISSED its deadline by {}", at(m.time), who, m.a, dur(m.b));
          y0 = yy - 4;
          y1 = yy + kLaneH + 4;
          break;
      }
      plot_ += fmt::format("<line class=\"{}\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"><title>{}</title></line>",
                           mark_class(m), num(axis_.x(m.time)), num(axis_.x(m.time)), num(y0), num(y1), esc(text));
    }
    for (const Link& k : tl_.links()) {
      if (k.cpu < 0 || static_cast<size_t>(k.cpu) >= cpu_y.size() || k.thread < 0 ||
          static_cast<size_t>(k.thread) >= thread_y.size() || thread_y[static_cast<size_t>(k.thread)] < 0)
        continue;
      // Drawn over the plot (not in its stretched coordinates, so the arrowhead keeps its shape);
      // the script moves the ends on zoom.
      double a = axis_.x(std::max(k.from, axis_.from)), b = axis_.x(std::min(k.to, axis_.to));
      links_ += fmt::format(
          "<line class=\"lk\" data-a=\"{}\" data-b=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
          "marker-end=\"url(#arrow)\"><title>{}</title></line>",
          num(a), num(b), num(kLabelW + a), num(cpu_y[static_cast<size_t>(k.cpu)] + kCpuH), num(kLabelW + b),
          num(thread_y[static_cast<size_t>(k.thread)]),
          esc(fmt::format("interrupt on cpu{} at {} -> work loop {} action on {} at {} ({} later, {} interrupt{})", k.cpu,
                          at(k.from), core::NameTable::at(n.workloops, k.workloop), n.thread(k.thread), at(k.to),
                          dur(k.to - k.from), k.count, k.count == 1 ? "" : "s")));
    }

    std::string out = fmt::format(
        "<svg class=\"tl\" id=\"tl-{}\" data-from=\"{}\" data-to=\"{}\" viewBox=\"0 0 {} {}\" "
        "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">",
        panel_, axis_.from, axis_.to, num(kOuterW), num(height));
    out += fmt::format("<defs><clipPath id=\"clip-{}\"><rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
                       panel_, num(kLabelW), num(kPlotW), num(height));
    out += labels_;
    out += axis_svg(height);
    out += fmt::format(
        "<svg class=\"plot\" x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
        "preserveAspectRatio=\"none\">",
        num(kLabelW), num(kPlotW), num(height), num(kPlotW), num(height));
    out += "<g class=\"grid\"></g>" + plot_ + "<rect class=\"cursor\" x=\"-10\" y=\"0\" width=\"0\" height=\"" +
           num(height) + "\"/></svg>";
    out += fmt::format("<g class=\"spanlabels\" clip-path=\"url(#clip-{})\">", panel_) + span_labels_ + "</g>";
    out += fmt::format("<g class=\"links\" clip-path=\"url(#clip-{})\">", panel_) + links_ + "</g>";
    out += "<rect class=\"sel\" x=\"0\" y=\"0\" width=\"0\" height=\"" + num(height) + "\"/>";
    out += "</svg>";
    return out;
  }

 private:
  void lane(double y, double h, const std::string& name, std::string_view kind, const std::string& colour) {
    labels_ += fmt::format("<g class=\"lane\" data-kind=\"{}\"><rect class=\"lanebg\" x=\"{}\" y=\"{}\" width=\"{}\" "
                           "height=\"{}\"/><text x=\"4\" y=\"{}\"{}>{}</text></g>",
                           kind, num(kLabelW), num(y), num(kPlotW), num(h), num(y + h - 4),
                           colour.empty() ? "" : fmt::format(" fill=\"{}\"", colour), esc(name));
  }

  // A rectangle over [from, to) of the axis, with a hover text and, when wide enough, a label.
  void span(int64_t from, int64_t to, double y, double h, const std::string& cls, const std::string& title,
            const std::string& label, const std::string& fill = "") {
    from = std::max(from, axis_.from);
    to = std::min(to, axis_.to);
    if (to <= from) return;
    double x0 = axis_.x(from), x1 = axis_.x(to);
    plot_ += fmt::format("<rect{}{} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\">", cls.empty() ? "" : " class=\"" + cls + "\"",
                         fill.empty() ? "" : " fill=\"" + fill + "\"", num(x0), num(y), num(std::max(x1 - x0, 0.001)), num(h));
    if (!title.empty()) plot_ += "<title>" + esc(title) + "</title>";
    plot_ += "</rect>";
    if (!label.empty()) {
      // The script moves these on zoom; shown only where the span is wide enough for them.
      bool fits = (x1 - x0) > 6.0 * static_cast<double>(label.size()) + 6;
      span_labels_ += fmt::format("<text data-a=\"{}\" data-b=\"{}\" x=\"{}\" y=\"{}\"{}>{}</text>", num(x0), num(x1),
                                  num(kLabelW + x0 + 3), num(y + h / 2 + 4), fits ? "" : " display=\"none\"",
                                  esc(label));
    }
  }

  std::string axis_svg(double height) const {
    std::string out = "<g class=\"axis\">";
    int64_t step = tick_step(axis_.to - axis_.from, 8);
    int64_t first = (axis_.from + step - 1) / step * step;
    for (int64_t t = first; t <= axis_.to; t += step) {
      double x = kLabelW + axis_.x(t);
      out += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" y=\"14\">{3}</text>", num(x),
                         num(kAxisH - 4), num(height), tick_label(t, step, axis_.to));
    }
    return out + "</g>";
  }

  const Timeline& tl_;
  const std::vector<bool>& shown_;  // by thread: has a lane
  Axis axis_;
  bool inversion_lane_;
  size_t panel_;
  std::string labels_, plot_, span_labels_, links_;
};

// sched_pri of every thread over the whole run (step lines; thinned series as min-max bars).
std::string priority_plot(const Timeline& tl, int64_t end, Axis window, size_t panel, const std::vector<bool>& shown) {
  const core::NameTable& n = tl.names();
  constexpr double kW = kOuterW, kH = 190, kL = 50, kR = 130, kT = 10, kB = 24;
  int lo = 127, hi = 0;
  for (const PrioritySeries& s : tl.priorities()) {
    for (const PriorityPoint& p : s.points) {
      lo = std::min<int>(lo, p.lo);
      hi = std::max<int>(hi, p.hi);
    }
  }
  if (lo > hi) lo = hi = 0;
  lo = std::max(0, lo - 2);
  hi = std::min(127, hi + 2);
  double pw = kW - kL - kR, ph = kH - kT - kB;
  auto X = [&](int64_t t) { return kL + static_cast<double>(t) * pw / static_cast<double>(std::max<int64_t>(1, end)); };
  auto Y = [&](int p) { return kT + ph - static_cast<double>(p - lo) * ph / std::max(1, hi - lo); };
  std::string out = fmt::format("<svg class=\"prio\" id=\"prio-{}\" viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
                                panel, num(kW), num(kH));
  // The timeline's window, shaded.
  out += fmt::format("<rect class=\"win\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>the timeline's window</title></rect>",
                     num(X(std::max<int64_t>(0, window.from))), num(kT),
                     num(std::max(0.5, X(std::min(window.to, end)) - X(std::max<int64_t>(0, window.from)))), num(ph));
  int pstep = hi - lo > 60 ? 16 : hi - lo > 24 ? 8 : hi - lo > 10 ? 4 : 1;
  for (int p = (lo + pstep - 1) / pstep * pstep; p <= hi; p += pstep)
    out += fmt::format("<line class=\"gl\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text class=\"yl\" x=\"{3}\" y=\"{4}\">{5}</text>",
                       num(kL), num(kL + pw), num(Y(p)), num(kL - 4), num(Y(p) + 4), p);
  int64_t step = tick_step(end, 8);
  for (int64_t t = 0; t <= end; t += step)
    out += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>", num(X(t)), num(kH - 6), tick_label(t, step, end));
  size_t listed = 0, unlisted = 0;
  constexpr size_t kLegendRows = 11;
  for (size_t t = 0; t < tl.priorities().size(); ++t) {
    const PrioritySeries& s = tl.priorities()[t];
    std::string colour = thread_colour(static_cast<int32_t>(t));
    if (s.points.empty() || (t < shown.size() && !shown[t])) continue;
    std::string d = fmt::format("M{} {}", num(X(s.points.front().time)), num(Y(s.points.front().lo)));
    for (const PriorityPoint& p : s.points) {
      d += fmt::format("H{}V{}", num(X(p.time)), num(Y(p.lo)));
      if (p.hi != p.lo) d += fmt::format("V{}", num(Y(p.hi)));
    }
    d += fmt::format("H{}", num(X(end)));
    out += fmt::format("<path class=\"pl\" stroke=\"{}\" d=\"{}\"><title>{} sched_pri{}</title></path>", colour, d,
                       esc(n.threads[t]), s.thinned ? " (thinned: minimum and maximum per interval)" : "");
    if (listed == kLegendRows) {
      ++unlisted;
      continue;
    }
    out += fmt::format("<text class=\"lg\" x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>", num(kL + pw + 8),
                       num(kT + 12 + 13.0 * static_cast<double>(listed)), colour, esc(n.threads[t]));
    ++listed;
  }
  if (unlisted > 0)
    out += fmt::format("<text class=\"lg\" x=\"{}\" y=\"{}\">+{} more (hover a line)</text>", num(kL + pw + 8),
                       num(kT + 12 + 13.0 * static_cast<double>(listed)), unlisted);
  out += fmt::format("<text class=\"yl\" x=\"{}\" y=\"{}\" transform=\"rotate(-90 {} {})\" style=\"text-anchor:middle\">sched_pri</text>",
                     num(14), num(kT + ph / 2), num(14), num(kT + ph / 2));
  return out + "</svg>";
}

// ---- latency plots ----------------------------------------------------------------------

struct Bucket {
  int64_t lo = 0, hi = 0, count = 0;
};

// The summary's histogram and the time and job of its maximum (results.hpp); written so that
// this file also builds against results without them (no histogram, no links).
template <class S>
std::vector<Bucket> buckets_of(const S& s) {
  std::vector<Bucket> out;
  if constexpr (requires { s.histogram; })
    for (const auto& b : s.histogram) out.push_back(Bucket{b.lo, b.hi, b.count});
  return out;
}
template <class S>
int64_t max_at_of(const S& s) {
  if constexpr (requires { s.max_at_ns; }) return s.max_at_ns;
  return -1;
}
template <class S>
int64_t max_job_of(const S& s) {
  if constexpr (requires { s.max_job; }) return s.max_job;
  return -1;
}

// A histogram (bars, left axis: samples) and its CDF (line, right axis: 0..100 %) on a log time
// axis when the samples span more than a decade, with p50, p90, p99 and the maximum marked.
std::string latency_plot(const std::string& title, const metrics::Summary& s, const std::string& id) {
  constexpr double kW = 380, kH = 170, kL = 40, kR = 34, kT = 22, kB = 30;
  std::vector<Bucket> b = buckets_of(s);
  // At most kMaxBars bars: neighbours are merged pairwise (the page stays small; the JSON and CSV
  // keep every bucket).
  constexpr size_t kMaxBars = 150;
  while (b.size() > kMaxBars) {
    std::vector<Bucket> merged;
    for (size_t k = 0; k < b.size(); k += 2)
      merged.push_back(k + 1 < b.size() ? Bucket{b[k].lo, b[k + 1].hi, b[k].count + b[k + 1].count} : b[k]);
    b = std::move(merged);
  }
  std::string out = fmt::format("<figure class=\"lat\" id=\"{}\"><svg class=\"hist\" viewBox=\"0 0 {} {}\" "
                                "xmlns=\"http://www.w3.org/2000/svg\">",
                                id, num(kW), num(kH));
  out += fmt::format("<text class=\"ht\" x=\"{}\" y=\"14\">{}</text>", num(kL), esc(title));
  int64_t lo = s.min, hi = std::max(s.max, s.min + 1);
  for (const Bucket& k : b) {
    lo = std::min(lo, k.lo);
    hi = std::max(hi, k.hi);
  }
  if (hi - lo <= hi / 100) {  // one value (or nearly): show it against zero
    lo = 0;
    hi = hi + hi / 4 + 1;
  }
  bool logx = lo > 0 && static_cast<double>(hi) / static_cast<double>(lo) > 20;
  double pw = kW - kL - kR, ph = kH - kT - kB;
  auto X = [&](int64_t v) {
    double f = logx ? (std::log(static_cast<double>(std::max<int64_t>(v, lo))) - std::log(static_cast<double>(lo))) /
                          (std::log(static_cast<double>(hi)) - std::log(static_cast<double>(lo)))
                    : static_cast<double>(v - lo) / static_cast<double>(std::max<int64_t>(1, hi - lo));
    return kL + std::clamp(f, 0.0, 1.0) * pw;
  };
  // Bars: the buckets gathered into kBins equal bins of the axis (an exact histogram has one
  // bucket per distinct value, which would draw a barcode); the CDF steps at every bucket.
  constexpr int kBins = 40;
  struct Bin {
    int64_t lo = INT64_MAX, hi = INT64_MIN, count = 0;
  };
  std::vector<Bin> bins(kBins);
  int64_t total = 0;
  for (const Bucket& k : b) {
    int i = std::clamp(static_cast<int>((X(k.lo) - kL) / pw * kBins), 0, kBins - 1);
    bins[static_cast<size_t>(i)].lo = std::min(bins[static_cast<size_t>(i)].lo, k.lo);
    bins[static_cast<size_t>(i)].hi = std::max(bins[static_cast<size_t>(i)].hi, k.hi);
    bins[static_cast<size_t>(i)].count += k.count;
    total += k.count;
  }
  int64_t most = 1;
  for (const Bin& k : bins) most = std::max(most, k.count);
  out += fmt::format("<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", num(kL), num(kT), num(pw), num(ph));
  for (int i = 0; i < kBins; ++i) {
    const Bin& k = bins[static_cast<size_t>(i)];
    if (k.count == 0) continue;
    double x0 = kL + pw * i / kBins, w = pw / kBins - 0.6;
    double h = std::max(1.0, static_cast<double>(k.count) * ph / static_cast<double>(most));
    out += fmt::format("<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} .. {}: {} sample{}</title></rect>",
                       num(x0), num(kT + ph - h), num(w), num(h), dur(k.lo), dur(k.hi), k.count, k.count == 1 ? "" : "s");
  }
  std::string cdf = fmt::format("M{} {}", num(X(lo)), num(kT + ph));
  int64_t cum = 0;
  for (const Bucket& k : b) {
    cum += k.count;
    double yc = kT + ph - static_cast<double>(cum) * ph / static_cast<double>(std::max<int64_t>(1, total));
    cdf += fmt::format("H{}V{}", num(X(k.hi)), num(yc));
  }
  out += "<path class=\"cdf\" d=\"" + cdf + "\"><title>cumulative share of samples (right axis)</title></path>";
  struct Q {
    const char* name;
    int64_t v;
  };
  const Q qs[] = {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}};
  // Quantiles at the same place share one line and one label ("p50/p90").
  double last_label = -100;
  for (size_t k = 0; k < 4;) {
    double x = X(qs[k].v);
    std::string names = qs[k].name, values = fmt::format("{} = {}", qs[k].name, dur(qs[k].v));
    size_t j = k + 1;
    for (; j < 4 && X(qs[j].v) - x < 1.0; ++j) {
      names += std::string("/") + qs[j].name;
      values += fmt::format(", {} = {}", qs[j].name, dur(qs[j].v));
    }
    out += fmt::format("<line class=\"pct\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>{3}</title></line>",
                       num(x), num(kT), num(kT + ph), values);
    double lx = std::min(std::max(x, last_label + 6), kW - 2 - 6.3 * static_cast<double>(names.size()));
    out += fmt::format("<text class=\"pl\" x=\"{}\" y=\"{}\">{}</text>", num(lx), num(kT - 2), names);
    last_label = lx + 5.5 * static_cast<double>(names.size());
    k = j;
  }
  int64_t step = 0;
  if (!logx) {
    step = tick_step(hi - lo, 4);
    for (int64_t t = (lo + step - 1) / step * step; t <= hi; t += step)
      out += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>", num(X(t)), num(kH - 14), tick_label(t, step, hi));
  } else {
    for (int64_t t = 1; t <= hi && t > 0; t *= 10)
      if (t >= lo) out += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>", num(X(t)), num(kH - 14), tick_label(t, t, t));
  }
  out += fmt::format("<text class=\"yl\" x=\"{}\" y=\"{}\">{}</text>", num(kL - 3), num(kT + 8), most);
  out += fmt::format("<text class=\"yl\" x=\"{}\" y=\"{}\">0</text>", num(kL - 3), num(kT + ph));
  out += fmt::format("<text class=\"yr\" x=\"{}\" y=\"{}\">100%</text>", num(kL + pw + 3), num(kT + 8));
  out += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}{}</text>", num(kL + pw / 2), num(kH - 2),
                     logx ? "log scale; " : "", fmt::format("{} sample{}, mean {}", s.count, s.count == 1 ? "" : "s", dur(s.mean)));
  out += "</svg><figcaption>" +
         esc(fmt::format("p50 {} · p90 {} · p99 {} · max {}", dur(s.p50), dur(s.p90), dur(s.p99), dur(s.max))) +
         "</figcaption></figure>";
  return out;
}

// ---- tables -------------------------------------------------------------------------------

// A duration cell; the maximum of a distribution links to its moment in the timeline.
std::string cell(int64_t ns) { return "<td>" + esc(dur(ns)) + "</td>"; }
std::string max_cell(const metrics::Summary& s, size_t panel, const Axis& window) {
  if (s.count == 0) return "<td>-</td>";
  int64_t max_at = max_at_of(s), job = max_job_of(s);
  if (max_at < 0) return cell(s.max);
  bool inside = max_at >= window.from && max_at <= window.to;
  std::string where = fmt::format("at {}{}", at(max_at), job >= 0 ? fmt::format(", job {}", job) : "");
  if (!inside)
    return fmt::format("<td><span class=\"out\" title=\"{}; outside the timeline's window (use --window)\">{}</span></td>",
                       esc(where), esc(dur(s.max)));
  return fmt::format("<td><a class=\"jump\" href=\"#tl-{}\" data-t=\"{}\" data-p=\"{}\" title=\"{}: show in the timeline\">{}</a></td>",
                     panel, max_at, panel, esc(where), esc(dur(s.max)));
}

std::string table_head(std::string_view id, std::initializer_list<std::string_view> cols) {
  std::string out = fmt::format("<table class=\"summary\" data-table=\"{}\"><thead><tr>", id);
  bool first = true;
  for (std::string_view c : cols) {
    out += first ? "<th class=\"l\">" : "<th>";
    out += esc(c) + "</th>";
    first = false;
  }
  return out + "</tr></thead><tbody>";
}

std::string tables(const metrics::Results& r, size_t panel, const Axis& window) {
  std::string out;
  out += "<h4>Threads</h4>";
  out += table_head("threads", {"thread", "mode", "base", "sched_pri", "CPU time", "jobs", "misses", "response p50",
                                "response p99", "response max", "latency p50", "latency p99", "latency max", "blocked",
                                "inversion", "preempted", "switches", "demotions"});
  for (const metrics::ThreadResult& t : r.threads) {
    out += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}..{}</td>", esc(t.id),
                       esc(t.mode), t.base_priority, t.min_sched_pri, t.max_sched_pri);
    out += cell(t.cpu_time_ns) + fmt::format("<td>{}</td><td{}>{}</td>", t.jobs, t.deadline_misses ? " class=\"bad\"" : "",
                                              t.deadline_misses);
    out += (t.response_ns.count ? cell(t.response_ns.p50) + cell(t.response_ns.p99) : "<td>-</td><td>-</td>") +
           max_cell(t.response_ns, panel, window);
    out += (t.latency_ns.count ? cell(t.latency_ns.p50) + cell(t.latency_ns.p99) : "<td>-</td><td>-</td>") +
           max_cell(t.latency_ns, panel, window);
    out += cell(t.blocked_ns) + (t.inversion_ns ? "<td class=\"bad\">" + esc(dur(t.inversion_ns)) + "</td>" : cell(0));
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td></tr>", t.preemptions, t.context_switches, t.demotions);
  }
  out += "</tbody></table>";
  if (!r.locks.empty()) {
    out += "<h4>Locks</h4>";
    out += table_head("locks", {"lock", "acquisitions", "contended", "wait p50", "wait p99", "wait max", "hold p50",
                                "hold p99", "hold max", "held at exit"});
    for (const metrics::LockResult& l : r.locks) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td>", esc(l.id), l.acquisitions, l.contended);
      out += (l.wait_ns.count ? cell(l.wait_ns.p50) + cell(l.wait_ns.p99) : "<td>-</td><td>-</td>") +
             max_cell(l.wait_ns, panel, window);
      out += (l.hold_ns.count ? cell(l.hold_ns.p50) + cell(l.hold_ns.p99) : "<td>-</td><td>-</td>") +
             max_cell(l.hold_ns, panel, window);
      out += fmt::format("<td{}>{}</td></tr>", l.held_at_exit ? " class=\"bad\"" : "", l.held_at_exit);
    }
    out += "</tbody></table>";
  }
  if (!r.interrupts.empty()) {
    out += "<h4>Interrupts</h4>";
    out += table_head("interrupts", {"source", "count", "latency p50", "latency p99", "latency max"});
    for (const metrics::InterruptResult& i : r.interrupts) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td>", esc(i.id), i.count);
      out += (i.latency_ns.count ? cell(i.latency_ns.p50) + cell(i.latency_ns.p99) : "<td>-</td><td>-</td>") +
             max_cell(i.latency_ns, panel, window) + "</tr>";
    }
    out += "</tbody></table>";
  }
  if (!r.workloops.empty()) {
    out += "<h4>Work loops</h4>";
    out += table_head("workloops", {"work loop", "actions", "interrupts", "action latency p50", "p99", "max",
                                    "gate wait p50", "p99", "max"});
    for (const metrics::WorkloopResult& w : r.workloops) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td>", esc(w.id), w.actions, w.interrupts_delivered);
      out += (w.action_latency_ns.count ? cell(w.action_latency_ns.p50) + cell(w.action_latency_ns.p99)
                                        : "<td>-</td><td>-</td>") +
             max_cell(w.action_latency_ns, panel, window);
      out += (w.gate_wait_ns.count ? cell(w.gate_wait_ns.p50) + cell(w.gate_wait_ns.p99) : "<td>-</td><td>-</td>") +
             max_cell(w.gate_wait_ns, panel, window) + "</tr>";
    }
    out += "</tbody></table>";
  }
  if (!r.devices.empty()) {
    out += "<h4>Devices</h4>";
    out += table_head("devices", {"device", "I/Os", "completed", "offline", "I/O p50", "I/O p99", "I/O max"});
    for (const metrics::DeviceResult& d : r.devices) {
      out += fmt::format("<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>", esc(d.id), d.ios, d.completed,
                         d.offline);
      out += (d.io_ns.count ? cell(d.io_ns.p50) + cell(d.io_ns.p99) : "<td>-</td><td>-</td>") +
             max_cell(d.io_ns, panel, window) + "</tr>";
    }
    out += "</tbody></table>";
  }
  out += "<h4>CPUs</h4>";
  out += table_head("cpus", {"cpu", "busy", "interrupts", "idle", "overhead", "busy %"});
  for (size_t c = 0; c < r.cpus.size(); ++c) {
    const metrics::CpuResult& u = r.cpus[c];
    out += fmt::format("<tr><td class=\"l\">cpu{}</td>", c) + cell(u.busy_ns) + cell(u.interrupt_ns) + cell(u.idle_ns) +
           cell(u.overhead_ns) +
           fmt::format("<td>{:.1f}</td></tr>",
                       r.duration_ns > 0 ? 100.0 * static_cast<double>(u.busy_ns) / static_cast<double>(r.duration_ns) : 0.0);
  }
  out += "</tbody></table>";
  if (!r.expect.empty()) {
    out += "<h4>Expects</h4><ul class=\"expects\">";
    for (const metrics::ExpectResult& e : r.expect)
      out += fmt::format("<li class=\"{}\">{} {}</li>", e.ok ? "ok" : "bad", e.ok ? "PASS" : "FAIL", esc(e.text));
    out += "</ul>";
  }
  return out;
}

std::string misses_list(const Timeline& tl, size_t panel, const Axis& window) {
  std::string out = fmt::format("<table class=\"summary\" data-table=\"misses\"><thead><tr><th class=\"l\">time</th>"
                                "<th class=\"l\">thread</th><th>job</th><th>late by</th></tr></thead><tbody>");
  for (const MissRecord& m : tl.misses()) {
    bool inside = m.time >= window.from && m.time <= window.to;
    std::string t = inside ? fmt::format("<a class=\"jump\" href=\"#tl-{}\" data-t=\"{}\" data-p=\"{}\">{}</a>", panel,
                                         m.time, panel, at(m.time))
                           : at(m.time);
    out += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td></tr>", t,
                       esc(tl.names().thread(m.thread)), m.job, esc(dur(m.lateness)));
  }
  out += "</tbody></table>";
  if (tl.miss_count() > static_cast<int64_t>(tl.misses().size()))
    out += fmt::format("<p class=\"note\">the first {} of {} misses are listed</p>", tl.misses().size(), tl.miss_count());
  return out;
}

constexpr std::string_view kCss = R"(
h3{font-size:15px;margin:16px 0 6px} h4{font-size:13px;margin:12px 0 4px;color:#444}
p.note,details.note{font-size:12px;color:#666} p.waits{font-size:12px;margin:-4px 0 2px;color:#333}
p.panic{font-size:13px;color:#fff;background:#c0392b;padding:4px 8px;display:inline-block}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:6px 0 10px}
.legend span{display:inline-flex;align-items:center;gap:5px}
.legend svg{display:inline;width:18px;height:11px}
.legend i{display:inline-block;width:18px;height:11px;border:1px solid #0002}
.legend i.ln{height:0;border:0;border-top:3px solid}
svg{display:block;width:100%;height:auto}
svg text{font-size:11px} .lane text{font-size:12px}
.lanebg{fill:#f4f5f7} .axis line{stroke:#0000001a} .axis text{text-anchor:middle;fill:#555;font-size:10px}
.plot rect,.plot line{vector-effect:non-scaling-stroke}
.b0{fill:#a0a0a0}.b1{fill:#8fb3d9}.b2{fill:#4e79a7}.b3{fill:#59a14f}.b4{fill:#d4a017}.b5{fill:#f28e2b}.b6{fill:#b07aa1}.b7{fill:#e15759}
.irq{fill:#222} .rdy{fill:#f6d55c} .lck{fill:url(#hatch-lock)} .gate{fill:url(#hatch-gate)} .fun{fill:#8c6d31} .slp{fill:#dfe6ee}
.per{fill:#cfe0f3} .evt{fill:#c9b8e0} .io{fill:#b8dcc8} .cmd{fill:#a48cc9} .oth{fill:#ccc}
.spin{fill:#ff7f0e;fill-opacity:.55;stroke:#c85a00;stroke-width:1} .inv{fill:#e74c3c;fill-opacity:.85}
line.mp,line.mp-dec,line.mp-pro,line.mp-fs,line.mp-dep{stroke-width:2}
line.mp{stroke:#333} line.mp-dec{stroke:#888} line.mp-pro{stroke:#8e44ad} line.mp-fs{stroke:#c0392b} line.mp-dep{stroke:#7f5f2a}
line.m-rel{stroke:#1f3a93;stroke-width:1.5} line.m-done{stroke:#1e8449;stroke-width:1.5} line.m-miss{stroke:#e00;stroke-width:3}
line.lk{stroke:#00000090;stroke-width:1;stroke-dasharray:3 2}
.spanlabels text{fill:#111;font-size:10px;pointer-events:none;paint-order:stroke;stroke:#ffffffd0;stroke-width:3px;stroke-linejoin:round}
rect.cursor{fill:none;stroke:#e00;stroke-width:2;vector-effect:non-scaling-stroke}
rect.sel{fill:#4e79a733;pointer-events:none}
.tools{font-size:12px;margin:4px 0} .tools button{font-size:12px;margin-right:6px}
.win{fill:#4e79a71a;stroke:#4e79a7;stroke-dasharray:2 2}
.gl{stroke:#0000001a} .yl{text-anchor:end;fill:#555;font-size:10px} .yr{fill:#555;font-size:10px}
.xl{text-anchor:middle;fill:#555;font-size:10px} .pl{fill:none;stroke-width:1.6} text.pl{fill:#333;stroke:none;font-size:10px}
.lg{font-size:12px}
.lats{display:flex;flex-wrap:wrap;gap:10px} figure.lat{margin:0;width:380px}
figure.lat figcaption{font-size:11px;color:#444;text-align:center}
.ht{font-size:12px;font-weight:600} .frame{fill:#fafafa;stroke:#ddd} .bar{fill:#4e79a7cc}
.cdf{fill:none;stroke:#e15759;stroke-width:1.6} .pct{stroke:#333;stroke-dasharray:2 2}
table.summary{border-collapse:collapse;font-size:12px;margin:4px 0 10px;font-variant-numeric:tabular-nums}
table.summary th,table.summary td{padding:2px 8px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
table.summary th{background:#f0f2f5;font-weight:600} table.summary .l{text-align:left}
td.bad{color:#c0392b;font-weight:600} a.jump{color:#1f5fa8} span.out{border-bottom:1px dotted #888}
ul.expects{font-size:12px;font-family:ui-monospace,monospace} li.ok{color:#1e8449} li.bad{color:#c0392b}
.panels{display:grid;grid-template-columns:1fr;gap:4px}
@media print{.tools{display:none} body{margin:0;max-width:none} h2{break-after:avoid} svg,figure,table{break-inside:avoid}
}
.scroll{overflow-x:auto}
)";

// Zoom (drag a range, buttons, double-click to reset) and jumps from the tables; every timeline
// shares the view, so compared runs stay on one axis. Lane and span labels and ticks follow.
constexpr std::string_view kScript = R"(
(function(){
"use strict";
var L=150,W=1000,v0=0,v1=W;
var tls=Array.prototype.slice.call(document.querySelectorAll("svg.tl"));
if(!tls.length)return;
var from=+tls[0].dataset.from,to=+tls[0].dataset.to;
function step(r){var raw=r/8,p=Math.pow(10,Math.floor(Math.log10(raw))),m=raw/p;return (m<1.5?1:m<3.5?2:m<7.5?5:10)*p;}
function label(t,s,t1){var u=[1,1e3,1e6,1e9],n=["ns","us","ms","s"],i=3;while(i>0&&s<u[i])i--;while(i<3&&Math.abs(t1)/u[i]>=1e3)i++;
 var d=0,x=s;while(Math.abs(x%u[i])>1e-6&&d<9){x*=10;d++;}return (t/u[i]).toFixed(d)+" "+n[i];}
function apply(){
 var k=W/(v1-v0),t0=from+(to-from)*v0/W,t1=from+(to-from)*v1/W,s=step(t1-t0);
 tls.forEach(function(svg){
  var h=svg.viewBox.baseVal.height,plot=svg.querySelector("svg.plot");
  plot.setAttribute("viewBox",v0+" 0 "+(v1-v0)+" "+h);
  svg.querySelectorAll("g.links line").forEach(function(l){
   l.setAttribute("x1",L+(+l.dataset.a-v0)*k);l.setAttribute("x2",L+(+l.dataset.b-v0)*k);});
  svg.querySelectorAll(".spanlabels text").forEach(function(t){
   var a=(+t.dataset.a-v0)*k,b=(+t.dataset.b-v0)*k,lo=Math.max(a,0),hi=Math.min(b,W);
   t.setAttribute("x",L+lo+3);
   t.style.display=(hi-lo>6*t.textContent.length+6)?"":"none";});
  var ax=svg.querySelector("g.axis"),html="";
  for(var t=Math.ceil(t0/s)*s;t<=t1;t+=s){var x=L+(t-t0)*W/(t1-t0);
   html+='<line x1="'+x+'" x2="'+x+'" y1="18" y2="'+h+'"/><text x="'+x+'" y="14">'+label(t,s,t1)+'</text>';}
  ax.innerHTML=html;});
}
function zoom(a,b){var m=(b-a)<0.05?0.05:0;if(m){var c=(a+b)/2;a=c-0.025;b=c+0.025;}v0=Math.max(0,a);v1=Math.min(W,b);apply();}
function unitAt(svg,ev){var r=svg.getBoundingClientRect(),x=(ev.clientX-r.left)*svg.viewBox.baseVal.width/r.width-L;
 return v0+Math.max(0,Math.min(W,x))*(v1-v0)/W;}
tls.forEach(function(svg){
 var sel=svg.querySelector("rect.sel"),start=null;
 svg.addEventListener("mousedown",function(ev){start=unitAt(svg,ev);ev.preventDefault();});
 svg.addEventListener("mousemove",function(ev){if(start===null)return;var u=unitAt(svg,ev),a=Math.min(u,start),b=Math.max(u,start);
  var k=W/(v1-v0);sel.setAttribute("x",L+(a-v0)*k);sel.setAttribute("width",(b-a)*k);});
 svg.addEventListener("mouseup",function(ev){if(start===null)return;var u=unitAt(svg,ev);sel.setAttribute("width",0);
  if(Math.abs(u-start)>(v1-v0)/200)zoom(Math.min(u,start),Math.max(u,start));start=null;});
 svg.addEventListener("dblclick",function(){zoom(0,W);});
});
document.querySelectorAll("button[data-zoom]").forEach(function(b){b.addEventListener("click",function(){
 var f=+b.dataset.zoom,c=(v0+v1)/2,w=(v1-v0)*f;if(f===0){zoom(0,W);return;}zoom(c-w/2,c+w/2);});});
document.querySelectorAll("a.jump").forEach(function(a){a.addEventListener("click",function(ev){
 var t=+a.dataset.t,u=(t-from)*W/(to-from),w=Math.max((v1-v0)/4,W/50);
 zoom(u-w/2,u+w/2);
 tls.forEach(function(svg){var c=svg.querySelector("rect.cursor");c.setAttribute("x",u);});
 var target=document.getElementById("tl-"+a.dataset.p);if(target){ev.preventDefault();target.scrollIntoView({block:"center"});}
});});
document.body.dataset.ready="1";
})();
)";

std::string legend() {
  std::string out = "<div class=\"legend\"><span><b>CPU lanes, by band of sched_pri:</b></span>";
  static constexpr std::array<std::string_view, 8> kBands = {"aged",     "lowered", "default", "raised",
                                                             "elevated", "system",  "kernel",  "realtime"};
  for (size_t i = 0; i < kBands.size(); ++i)
    out += fmt::format("<span><svg width=\"18\" height=\"11\"><rect class=\"b{}\" width=\"18\" height=\"11\"/></svg>{}</span>", i,
                       kBands[i]);
  auto item = [&](std::string_view cls, std::string_view text) {
    out += fmt::format("<span><svg width=\"18\" height=\"11\"><rect class=\"{}\" width=\"18\" height=\"11\"/></svg>{}</span>", cls, text);
  };
  out += "<br>";
  out += "<span><svg width=\"18\" height=\"11\"><rect fill=\"#4e79a7\" width=\"18\" height=\"11\"/></svg>thread lane: running (the thread's colour)</span>";
  item("irq", "interrupt handler");
  item("rdy", "ready (runnable, waiting for a CPU)");
  item("spin", "spinning for a lock");
  item("lck", "blocked on a lock");
  item("gate", "waiting in a work loop's gate");
  item("fun", "blocked for a funnel");
  item("slp", "sleeping");
  item("per", "waiting for the next period");
  item("evt", "waiting on an event");
  item("cmd", "commandSleep");
  item("io", "waiting for I/O");
  item("inv", "priority inversion");
  auto mark = [&](std::string_view colour, int width, std::string_view text) {
    out += fmt::format("<span><i class=\"ln\" style=\"border-top-color:{};border-top-width:{}px\"></i>{}</span>", colour,
                       width, text);
  };
  mark("#888", 2, "priority change: decay");
  mark("#8e44ad", 2, "promotion / unpromotion");
  mark("#c0392b", 2, "fail-safe demotion");
  mark("#7f5f2a", 2, "depression");
  mark("#1f3a93", 2, "job released");
  mark("#1e8449", 2, "job done");
  mark("#e00", 3, "deadline missed");
  out += "<span><svg width=\"18\" height=\"11\"><line x1=\"0\" y1=\"1\" x2=\"18\" y2=\"10\" stroke=\"#000\" stroke-dasharray=\"3 2\"/></svg>interrupt &#8594; work-loop action</span>";
  out += "<span>idle: no bar on a CPU lane</span>";
  return out + "</div>";
}

}  // namespace

std::string render_html(const std::vector<HtmlPanel>& panels, const HtmlOptions& options) {
  Axis axis{INT64_MAX, 0};
  bool any_locks = false;
  for (const HtmlPanel& p : panels) {
    TimeWindow w = p.timeline->window();
    int64_t end = p.timeline->truncated() ? p.timeline->truncated_at() : p.timeline->end();
    axis.from = std::min(axis.from, std::max<int64_t>(0, w.from));
    axis.to = std::max(axis.to, std::min(w.to, end));
    any_locks = any_locks || !p.timeline->names().locks.empty();
  }
  if (axis.to <= axis.from) axis.to = axis.from + 1;
  // Threads with a lane: all of them when few; else those that did something in the window in
  // any panel (ran, waited for a CPU, spun, or had a mark), so that compared panels keep the
  // same lanes.
  size_t thread_count = panels.front().timeline->names().threads.size();
  std::vector<bool> shown(thread_count, thread_count <= kAllLanesUpTo);
  if (thread_count > kAllLanesUpTo) {
    for (const HtmlPanel& p : panels) {
      for (const ThreadSpan& s : p.timeline->thread_spans())
        if (s.state == ThreadState::running || s.state == ThreadState::ready || s.state == ThreadState::spinning ||
            s.to - s.from < axis.to - axis.from)
          if (static_cast<size_t>(s.thread) < shown.size()) shown[static_cast<size_t>(s.thread)] = true;
      for (const Mark& m : p.timeline->marks())
        if (m.thread >= 0 && static_cast<size_t>(m.thread) < shown.size()) shown[static_cast<size_t>(m.thread)] = true;
    }
  }
  // A thread with nothing in the window of any panel (not created yet: xnu's scheduler tick
  // thread in a run shorter than its first tick) gets no lane either.
  std::vector<bool> seen(thread_count, false);
  for (const HtmlPanel& p : panels) {
    for (const ThreadSpan& s : p.timeline->thread_spans())
      if (s.thread >= 0 && static_cast<size_t>(s.thread) < seen.size()) seen[static_cast<size_t>(s.thread)] = true;
    for (const Mark& m : p.timeline->marks())
      if (m.thread >= 0 && static_cast<size_t>(m.thread) < seen.size()) seen[static_cast<size_t>(m.thread)] = true;
  }
  std::vector<bool> plotted = shown;  // the priority and latency plots cover the whole run
  for (size_t t = 0; t < thread_count; ++t)
    if (!seen[t]) shown[t] = false;
  std::vector<std::string> quiet;
  for (size_t t = 0; t < thread_count; ++t)
    if (!shown[t]) quiet.push_back(panels.front().timeline->names().threads[t]);

  std::string out = html_page_head(options.title + " - xnusim report", kCss);
  out += "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
         "<pattern id=\"hatch-lock\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
         "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#d5d5d5\"/><rect width=\"3\" "
         "height=\"6\" fill=\"#8a8a8a\"/></pattern>"
         "<pattern id=\"hatch-gate\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
         "patternTransform=\"rotate(-45)\"><rect width=\"6\" height=\"6\" fill=\"#c9c2b0\"/><rect width=\"3\" "
         "height=\"6\" fill=\"#6b5e3c\"/></pattern>"
         "<marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" "
         "orient=\"auto-start-reverse\"><path d=\"M0 0L8 4L0 8z\" fill=\"#000000b0\"/></marker></defs></svg>";
  out += "<h1>" + esc(options.title) + "</h1>";
  if (!options.description.empty()) out += "<p class=\"desc\">" + esc(options.description) + "</p>";
  if (!options.command.empty()) out += "<p class=\"cmd\">" + esc(options.command) + "</p>";
  const metrics::Results& r0 = *panels.front().results;
  out += fmt::format("<p class=\"note\">{} CPU{}, xnu-{}, seed {}, {} simulated{}.</p>", r0.configuration.cpus,
                     r0.configuration.cpus == 1 ? "" : "s", esc(r0.configuration.xnu), r0.seed, esc(dur(r0.duration_ns)),
                     panels.size() > 1 ? fmt::format("; {} configurations side by side", panels.size()) : "");

  out += "<h2 id=\"timeline\">Timeline</h2>";
  out += fmt::format("<p class=\"note\">Window {} .. {} ({}). Hover for details; drag across a timeline to zoom, "
                     "double-click to reset.</p>",
                     axis.from == 0 ? "0" : esc(dur(axis.from)), esc(dur(axis.to)), esc(dur(axis.to - axis.from)));
  out += "<div class=\"tools\"><button data-zoom=\"0.5\">zoom in</button><button data-zoom=\"2\">zoom out</button>"
         "<button data-zoom=\"0\">whole window</button></div>";
  out += legend();
  out += "<div class=\"panels\">";
  for (size_t i = 0; i < panels.size(); ++i) {
    const HtmlPanel& p = panels[i];
    out += fmt::format("<section class=\"panel\" data-panel=\"{}\"><h3>{}</h3>", i, esc(p.label));
    if (p.timeline->truncated())
      out += fmt::format("<p class=\"note\">This window held more than {} intervals; the timeline stops at {}. Give a "
                         "narrower --window.</p>",
                         Timeline::kMaxRecords, at(p.timeline->truncated_at()));
    for (const std::string& panic : p.results->system.panics)
      out += "<p class=\"panic\">The simulated system panicked: " + esc(panic) + "</p>";
    // The waits the picture is about, in words.
    std::vector<std::string> waits;
    for (const metrics::ThreadResult& t : p.results->threads) {
      if (t.blocked_ns <= 0) continue;
      std::string w = fmt::format("{} waited {} for locks", t.id, dur(t.blocked_ns));
      if (t.inversion_ns > 0) w += fmt::format(", {} of it inverted", dur(t.inversion_ns));
      if (t.response_ns.count > 0) w += fmt::format("; worst response {}", dur(t.response_ns.max));
      waits.push_back(w);
    }
    if (!waits.empty() && waits.size() <= 4) {
      out += "<p class=\"waits\">";
      for (size_t k = 0; k < waits.size(); ++k) out += (k ? " &#183; " : "") + esc(waits[k]);
      out += "</p>";
    }
    out += TimelineSvg(*p.timeline, axis, any_locks, i, shown).render();
    out += "</section>";
  }
  out += "</div>";
  if (!quiet.empty()) {
    out += fmt::format("<details class=\"note\"><summary>{} thread{} without a lane: in one state (blocked or "
                       "sleeping) for the whole window</summary><p>",
                       quiet.size(), quiet.size() == 1 ? "" : "s");
    for (size_t i = 0; i < quiet.size(); ++i) out += (i ? ", " : "") + esc(quiet[i]);
    out += "</p></details>";
  }

  out += fmt::format("<h2 id=\"priorities\">Priorities over the whole run</h2><p class=\"note\">sched_pri of {}; "
                     "the shaded box is the timeline's window.</p>",
                     quiet.empty() ? "each thread" : "each thread with a lane");
  for (size_t i = 0; i < panels.size(); ++i) {
    if (panels.size() > 1) out += "<h3>" + esc(panels[i].label) + "</h3>";
    out += priority_plot(*panels[i].timeline, panels[i].timeline->end(), axis, i, plotted);
  }

  out += fmt::format(
      "<h2 id=\"latency\">Latency over the whole run</h2><p class=\"note\">Histogram (bars, left axis: samples) and "
      "cumulative distribution (red line, right axis: 0 to 100%); dashed lines mark p50, p90, p99 and the maximum. "
      "Response: release to completion of a job; wakeup latency: runnable to running; action latency: interrupt to "
      "its work-loop action.{}</p>",
      quiet.empty() ? "" : " Threads without a timeline lane are in the tables only.");
  for (size_t i = 0; i < panels.size(); ++i) {
    const metrics::Results& r = *panels[i].results;
    if (panels.size() > 1) out += "<h3>" + esc(panels[i].label) + "</h3>";
    out += "<div class=\"lats\">";
    size_t plots = 0;
    for (size_t t = 0; t < r.threads.size(); ++t) {
      const metrics::ThreadResult& th = r.threads[t];
      if (t < plotted.size() && !plotted[t]) continue;
      if (th.response_ns.count > 0)
        out += latency_plot(th.id + ": response", th.response_ns, fmt::format("lat-{}-t{}-r", i, t)), ++plots;
      if (th.latency_ns.count > 0)
        out += latency_plot(th.id + ": wakeup latency", th.latency_ns, fmt::format("lat-{}-t{}-w", i, t)), ++plots;
    }
    for (size_t w = 0; w < r.workloops.size(); ++w)
      if (r.workloops[w].action_latency_ns.count > 0)
        out += latency_plot(r.workloops[w].id + ": action latency", r.workloops[w].action_latency_ns,
                            fmt::format("lat-{}-w{}", i, w)),
            ++plots;
    for (size_t q = 0; q < r.interrupts.size(); ++q)
      if (r.interrupts[q].latency_ns.count > 0)
        out += latency_plot(r.interrupts[q].id + ": interrupt latency", r.interrupts[q].latency_ns,
                            fmt::format("lat-{}-i{}", i, q)),
            ++plots;
    if (plots == 0) out += "<p class=\"note\">No latency samples in this run.</p>";
    out += "</div>";
  }

  out += "<h2 id=\"misses\">Deadline misses</h2>";
  for (size_t i = 0; i < panels.size(); ++i) {
    if (panels.size() > 1) out += "<h3>" + esc(panels[i].label) + "</h3>";
    if (panels[i].timeline->miss_count() == 0) out += "<p class=\"note\">No deadline was missed.</p>";
    else out += misses_list(*panels[i].timeline, i, axis);
  }

  out += "<h2 id=\"summary\">Summary</h2><p class=\"note\">Maxima link to the moment they happened in the timeline.</p>";
  for (size_t i = 0; i < panels.size(); ++i) {
    if (panels.size() > 1) out += "<h3>" + esc(panels[i].label) + "</h3>";
    out += "<div class=\"scroll\">" + tables(*panels[i].results, i, axis) + "</div>";
  }
  out += "<script>" + std::string(kScript) + "</script>\n</body></html>\n";
  return out;
}

TimeWindow default_window(const Timeline& whole, int64_t end) {
  if (end <= kWholeRunWindowNs) return TimeWindow{0, end};
  int64_t focus = -1, value = 0;
  if (!whole.misses().empty()) {
    focus = whole.misses().front().time;
    value = std::max<int64_t>(whole.misses().front().lateness, 1);
  } else {
    for (const Worst& w : whole.worst())
      if (w.latency > value) value = w.latency, focus = w.latency_at;
    if (focus < 0)
      for (const Worst& w : whole.worst())
        if (w.response > value) value = w.response, focus = w.response_at;
  }
  if (focus < 0) return TimeWindow{0, std::min<int64_t>(end, 100'000'000)};
  int64_t width = std::clamp<int64_t>(value * 4, 100'000'000, 1'000'000'000);
  int64_t from = std::max<int64_t>(0, focus - width * 3 / 4);
  int64_t to = std::min<int64_t>(end, from + width);
  from = std::max<int64_t>(0, to - width);
  return TimeWindow{from, to};
}

std::string parse_window(const std::string& text, TimeWindow& out) {
  size_t dots = text.find("..");
  if (dots == std::string::npos) return fmt::format("expected START..END, e.g. 4.2s..4.3s (got \"{}\")", text);
  auto read = [&](std::string_view part, int64_t& v) -> std::string {
    if (part == "0") {
      v = 0;
      return "";
    }
    core::ParsedDuration d = core::parse_duration(part);
    if (!d.value) return d.error;
    if (d.value->ns < 0) return fmt::format("\"{}\" is negative", part);
    v = d.value->ns;
    return "";
  };
  int64_t a = 0, b = 0;
  if (std::string e = read(std::string_view(text).substr(0, dots), a); !e.empty()) return e;
  if (std::string e = read(std::string_view(text).substr(dots + 2), b); !e.empty()) return e;
  if (b <= a) return fmt::format("the window is empty ({}); write the earlier time first", text);
  out = TimeWindow{a, b};
  return "";
}

}  // namespace sim::reports
