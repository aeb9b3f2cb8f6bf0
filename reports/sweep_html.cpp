// Lays out the sweep summary page (sweep_html.hpp). Same look as the run report (html_report.cpp):
// system font, grey table headers, the same eight colours for lines.
#include "reports/sweep_html.hpp"
#include "reports/html_page.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace sim::reports {

namespace {

std::string esc(std::string_view s) { return html_escape(s); }

constexpr std::array<const char*, 8> kColours = {"#4e79a7", "#e15759", "#59a14f", "#f28e2b",
                                                 "#b07aa1", "#76b7b2", "#d4a017", "#9c755f"};

constexpr std::string_view kCss = R"(
p.note{font-size:12px;color:#666}
.plots{display:flex;flex-wrap:wrap;gap:14px} figure.sp{margin:0;width:460px}
figure.sp figcaption{font-size:12px;color:#333;text-align:center;font-weight:600}
svg{display:block;width:100%;height:auto} svg text{font-size:10px;fill:#555}
.frame{fill:#fafafa;stroke:#ddd} .gl{stroke:#0000001a} .yl{text-anchor:end} .xl{text-anchor:middle}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:4px 0}
.legend span{display:inline-flex;align-items:center;gap:5px} .legend i{display:inline-block;width:18px;height:0;border-top:3px solid}
table.summary{border-collapse:collapse;font-size:12px;margin:4px 0 10px;font-variant-numeric:tabular-nums}
table.summary th,table.summary td{padding:2px 8px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
table.summary th{background:#f0f2f5;font-weight:600} table.summary .l{text-align:left}
td.bad{color:#c0392b;font-weight:600} .scroll{overflow-x:auto}
)";

// A short number for an axis label or a table cell.
std::string num(double v) {
  if (v == 0) return "0";
  return fmt::format("{:.4g}", v);
}

// Tick step: 1, 2 or 5 times a power of ten, for about five ticks over `span`.
double tick_step(double span) {
  if (span <= 0) return 1;
  double raw = span / 5;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

std::string render_plot(const SweepPlot& plot) {
  constexpr double kW = 460, kH = 250, kLeft = 58, kRight = 12, kTop = 10, kBottom = 40;
  double lo = 0, hi = 0;
  bool any = false;
  for (const SweepSeries& s : plot.series)
    for (const auto& e : s.y) {
      if (!e) continue;
      double a = e->mean - e->half, b = e->mean + e->half;
      if (!any) lo = a, hi = b, any = true;
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
  if (any && lo > 0 && lo < hi * 0.5) lo = 0;  // start at zero unless it would squash the data
  if (!any) lo = 0, hi = 1;
  if (hi - lo < 1e-12) {  // one value everywhere: a band around it, not below zero when it is not
    double pad = std::abs(hi) > 0 ? std::abs(hi) * 0.1 : 1;
    lo = lo >= 0 ? std::max(0.0, lo - pad) : lo - pad;
    hi += pad;
  }
  double step = tick_step(hi - lo);
  double y0 = std::floor(lo / step) * step, y1 = std::ceil(hi / step) * step;
  double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto ypix = [&](double v) { return kTop + ph * (1 - (v - y0) / (y1 - y0)); };
  size_t nx = plot.x_values.size();
  auto xpix = [&](size_t i) { return kLeft + pw * (static_cast<double>(i) + 0.5) / static_cast<double>(nx); };

  std::string out = "<figure class=\"sp\">";
  out += fmt::format("<svg viewBox=\"0 0 {} {}\" role=\"img\"><rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                     kW, kH, kLeft, kTop, pw, ph);
  for (double v = y0; v <= y1 + step * 1e-9; v += step) {
    double y = ypix(v);
    out += fmt::format("<line class=\"gl\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", kLeft, kLeft + pw, y, y);
    out += fmt::format("<text class=\"yl\" x=\"{}\" y=\"{:.1f}\">{}</text>", kLeft - 4, y + 3,
                       esc(num(std::abs(v) < step * 1e-9 ? 0 : v)));
  }
  for (size_t i = 0; i < nx; ++i)
    out += fmt::format("<text class=\"xl\" x=\"{:.1f}\" y=\"{}\">{}</text>", xpix(i), kTop + ph + 14,
                       esc(plot.x_values[i].size() > 18 ? plot.x_values[i].substr(0, 17) + "…" : plot.x_values[i]));
  out += fmt::format("<text class=\"xl\" x=\"{:.1f}\" y=\"{}\">{}</text>", kLeft + pw / 2, kH - 6, esc(plot.x_label));
  out += fmt::format("<text class=\"yl\" x=\"{}\" y=\"{}\" style=\"text-anchor:start\">{}</text>", 2, kTop + 8,
                     esc(plot.y_unit));
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const char* colour = kColours[s % kColours.size()];
    double offset = (static_cast<double>(s) - (static_cast<double>(plot.series.size()) - 1) / 2) * 3;  // keep bars apart
    std::string path;
    for (size_t i = 0; i < nx && i < plot.series[s].y.size(); ++i) {
      const auto& e = plot.series[s].y[i];
      if (!e) continue;
      double x = xpix(i) + offset;
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", x, ypix(e->mean));
      if (e->half > 0)
        out += fmt::format("<line stroke=\"{}\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", colour, x, x,
                           ypix(e->mean - e->half), ypix(e->mean + e->half));
      out += fmt::format("<circle fill=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\"><title>{}: {} (n={}, ±{})</title></circle>",
                         colour, x, ypix(e->mean), esc(plot.series[s].label), esc(num(e->mean)), e->n, esc(num(e->half)));
    }
    if (!path.empty())
      out += fmt::format("<path fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" d=\"{}\"/>", colour, path);
  }
  out += "</svg><figcaption>" + esc(plot.title) + "</figcaption><div class=\"legend\">";
  for (size_t s = 0; s < plot.series.size(); ++s)
    out += fmt::format("<span><i style=\"border-top-color:{}\"></i>{}</span>", kColours[s % kColours.size()],
                       esc(plot.series[s].label));
  out += "</div></figure>\n";
  return out;
}

}  // namespace

std::string render_sweep_html(const SweepPage& page) {
  std::string out = html_page_head(page.title + " (sweep)", kCss);
  out += "<h1>" + esc(page.title) + ": sweep</h1>\n";
  if (!page.description.empty()) out += "<p class=\"desc\">" + esc(page.description) + "</p>\n";
  out += "<p class=\"cmd\">" + esc(page.command) + "</p>\n";
  out += "<p>" + esc(page.totals) + "</p>\n";
  if (!page.failures.empty()) {
    out += "<h2>Failed points</h2>\n<table class=\"summary\"><thead><tr><th>exit</th><th>points</th>"
           "<th class=\"l\">first at</th><th class=\"l\">message</th></tr></thead><tbody>\n";
    for (const SweepFailure& f : page.failures)
      out += fmt::format("<tr><td class=\"bad\">{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>\n",
                         f.exit, f.count, esc(f.example), esc(f.message));
    out += "</tbody></table>\n";
  }
  out += "<h2>Plots</h2>\n<p class=\"note\">Each dot is the mean over the seeds that succeeded; the bar is the 95% "
         "confidence interval of the mean, mean ± t(0.975, n−1)·s/√n with s the sample standard deviation.</p>\n"
         "<div class=\"plots\">\n";
  for (const SweepPlot& p : page.plots) out += render_plot(p);
  out += "</div>\n<h2>Summary</h2>\n<div class=\"scroll\"><table class=\"summary\"><thead><tr>";
  for (size_t i = 0; i < page.table_head.size(); ++i)
    out += fmt::format("<th{}>{}</th>", i == 0 ? " class=\"l\"" : "", esc(page.table_head[i]));
  out += "</tr></thead><tbody>\n";
  for (const auto& row : page.table_rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) out += fmt::format("<td{}>{}</td>", i == 0 ? " class=\"l\"" : "", esc(row[i]));
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n</body></html>\n";
  return out;
}

}  // namespace sim::reports
