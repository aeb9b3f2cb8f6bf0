// The sweep summary page (reports/sweep_html.cpp): the plot's scale and marks at the pixels the
// layout gives, escaping, and the failure table.
#include <catch2/catch.hpp>

#include <string>

#include "reports/sweep_html.hpp"

using namespace sim::reports;

TEST_CASE("sweep page: a plot puts the mean and its interval where the axis says", "[sweep][report]") {
  SweepPage page;
  page.title = "t<1>";
  page.command = "xnusim sweep a.json";
  page.totals = "2 points";
  SweepPlot plot;
  plot.title = "threads.a.latency_ns.p99";
  plot.x_label = "machine.cpus";
  plot.x_values = {"1", "2"};
  plot.y_unit = "ms";
  plot.series.push_back({"xnu", {SweepEstimate{10, 2, 3}, SweepEstimate{20, 0, 1}}});
  page.plots.push_back(plot);
  page.failures.push_back({4, "panic: <funnel>", 3, "xnu seed 1"});
  std::string html = render_sweep_html(page);
  // Data from 8 to 20; 8 is under half of 20, so the axis starts at 0; five ticks of about
  // 20/5 = 4 round up to a step of 5: 0, 5, ..., 20. Plot area: x 58..448, y 10..210.
  // y(v) = 10 + 200 * (1 - v / 20); x of the first of two values: 58 + 390 * 0.5 / 2 = 155.5.
  REQUIRE(html.find("<text class=\"yl\" x=\"54\" y=\"13.0\">20</text>") != std::string::npos);
  REQUIRE(html.find("<text class=\"yl\" x=\"54\" y=\"213.0\">0</text>") != std::string::npos);
  REQUIRE(html.find("<line stroke=\"#4e79a7\" x1=\"155.5\" x2=\"155.5\" y1=\"130.0\" y2=\"90.0\"/>") != std::string::npos);
  REQUIRE(html.find("<circle fill=\"#4e79a7\" cx=\"155.5\" cy=\"110.0\" r=\"3\">") != std::string::npos);
  // One sample: a dot, no bar; the line joins the two means.
  REQUIRE(html.find("cx=\"350.5\" cy=\"10.0\"") != std::string::npos);
  REQUIRE(html.find("d=\"M155.5,110.0 L350.5,10.0\"") != std::string::npos);
  REQUIRE(html.find("<h1>t&lt;1&gt;: sweep</h1>") != std::string::npos);
  REQUIRE(html.find("<td class=\"bad\">4</td><td>3</td><td class=\"l\">xnu seed 1</td><td class=\"l\">panic: &lt;funnel&gt;</td>") !=
          std::string::npos);
}

TEST_CASE("sweep page: a metric that is 0 everywhere gets the axis 0..1", "[sweep][report]") {
  SweepPage page;
  SweepPlot plot;
  plot.x_values = {"1", "2"};
  plot.series.push_back({"xnu", {SweepEstimate{0, 0, 10}, SweepEstimate{0, 0, 10}}});
  page.plots.push_back(plot);
  std::string html = render_sweep_html(page);
  // 0 .. 1 in steps of 0.2 (1/5): the top tick reads 1, the bottom 0, nothing negative.
  REQUIRE(html.find(">1</text>") != std::string::npos);
  REQUIRE(html.find(">0.2</text>") != std::string::npos);
  REQUIRE(html.find(">-") == std::string::npos);
  REQUIRE(html.find("cy=\"210.0\"") != std::string::npos);  // the zeros sit on the bottom edge
}
