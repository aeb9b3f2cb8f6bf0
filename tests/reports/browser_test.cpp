// The HTML reports in a real browser: Debian's headless Chromium loads every bundled scenario's
// report and the three-threads comparison (one browser for all, scripts/browser-check.py) with no
// console message, exception or failed load; the DOM after the page's script has the lanes,
// plots and table rows the results call for; the zoom buttons move the view; a screenshot is
// written for each page. Skipped, with a message, when chromium is not installed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/html_report.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;

namespace {

bool have_chromium() { return std::system("command -v chromium >/dev/null 2>&1") == 0; }

// What the page should show, from the results it was made from.
struct Expected {
  int cpus = 0;
  size_t threads = 0, locks = 0, workloops = 0, interrupts = 0, misses = 0, latency_plots = 0;
};

}  // namespace

TEST_CASE("browser: Chromium loads every report without errors and shows its lanes, plots and tables",
          "[reports][browser]") {
  if (!have_chromium()) {
    WARN("chromium is not installed: the browser test is skipped (apt-get install chromium)");
    return;
  }
  std::string dir = testing::temp_path("browser");
  fs::create_directories(dir);
  std::map<std::string, Expected> expected;  // by page path
  std::vector<std::string> pages;
  for (const fs::path& f : testing::bundled_scenario_files()) pages.push_back(f.string());
  std::vector<std::string> html_pages;
  for (const std::string& file : pages) {
    sim::scenario::LoadResult loaded = sim::scenario::load_scenario_file(file);
    REQUIRE(loaded.scenario);
    const sim::scenario::Scenario& s = *loaded.scenario;
    sim::run::Options o;
    sim::run::Simulation sim(s, o);
    auto tl = sim::cli::make_timeline(sim, s, sim::cli::choose_window(s, o, std::nullopt));
    sim.add_sink(tl.get());
    sim::run::Results r = sim.run();
    sim::reports::HtmlOptions ho;
    ho.title = s.name;
    ho.description = s.description;
    std::string rel = fs::relative(file, XNUSIM_SOURCE_DIR).generic_string();
    std::string name = rel;
    std::replace(name.begin(), name.end(), '/', '_');
    std::string page = dir + "/" + name.substr(0, name.size() - 5) + ".html";
    std::ofstream(page, std::ios::binary)
        << sim::reports::render_html({sim::reports::HtmlPanel{r.policy, &r, tl.get()}}, ho);
    Expected x;
    x.cpus = s.machine.cpus;
    x.threads = r.threads.size();
    x.locks = r.locks.size();
    x.workloops = r.workloops.size();
    x.interrupts = r.interrupts.size();
    for (const auto& t : r.threads) {
      x.misses += static_cast<size_t>(t.deadline_misses);
      x.latency_plots += (t.response_ns.count > 0) + (t.latency_ns.count > 0);
    }
    for (const auto& w : r.workloops) x.latency_plots += w.action_latency_ns.count > 0;
    for (const auto& i : r.interrupts) x.latency_plots += i.latency_ns.count > 0;
    expected[page] = x;
    html_pages.push_back(page);
  }
  std::string compare = dir + "/three-threads-compare.html";
  REQUIRE(testing::xnusim(
              "compare scenarios/inversion/three-threads-none.json --policies xnu -q --html " + compare +
              " --vary 'locks.m={\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"none\"},{\"id\":\"m\",\"kind\":"
              "\"mutex\",\"protocol\":\"inherit\"},{\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"ceiling\","
              "\"ceiling\":30},{\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"xnu\"}'")
              .code == 0);
  html_pages.push_back(compare);

  std::string shots = dir + "/shots", out = dir + "/probe.jsonl";
  std::string cmd = fmt::format("python3 '{}/scripts/browser-check.py' --shots '{}'", XNUSIM_SOURCE_DIR, shots);
  for (const std::string& p : html_pages) cmd += " '" + p + "'";
  cmd += " > '" + out + "' 2>'" + dir + "/probe.err'";
  int status = std::system(cmd.c_str());
  INFO(testing::slurp(dir + "/probe.err"));
  REQUIRE(status == 0);

  std::ifstream in(out);
  std::string line;
  size_t seen = 0;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    std::string page = j.at("page");
    INFO(page);
    ++seen;
    CHECK(j.at("problems").empty());
    CHECK(j.at("ready") == "1");
    CHECK(j.contains("screenshot"));
    if (j.contains("screenshot")) {
      std::string png = testing::slurp(j.at("screenshot"));
      CHECK(png.size() > 10'000);
      CHECK(png.substr(1, 3) == "PNG");
    }
    CHECK(j.at("priority_plots") == (page == compare ? 4 : 1));
    CHECK(std::string(j.at("zoomed")).rfind("250 0 500 ", 0) == 0);  // "zoom in" halves the view about its centre
    CHECK(j.at("reset") == true);
    CHECK(j.at("tools_display") != "none");
    CHECK(j.at("spans") > 0);
    // A maximum's link moves the red cursor into the plot (0..1000 units across the window).
    if (j.at("jumps") > 0) {
      REQUIRE(j.at("jump_cursor").is_number());
      CHECK(j.at("jump_cursor") >= 0.0);
      CHECK(j.at("jump_cursor") <= 1000.0);
    }
    if (page == compare) {
      CHECK(j.at("timelines") == 4);
      CHECK(j.at("lanes").at("thread") == 12);
      CHECK(j.at("lanes").at("inversion") == 4);
      CHECK(j.at("tables").at("threads") == 4);  // and xnu's kernel:sched_tick (no lane: it never starts)
      continue;
    }
    const Expected& x = expected.at(page);
    CHECK(j.at("timelines") == 1);
    CHECK(j.at("lanes").at("cpu") == x.cpus);
    if (x.threads <= 24) {
      // (A thread with nothing in the window, such as xnu's tick thread before its first tick or
      // asleep through the window, is listed under the timeline instead of having a lane.)
      CHECK(j.at("lanes").at("thread").get<int>() + j.at("quiet_threads").get<int>() == static_cast<int>(x.threads));
      CHECK(j.at("latency_plots") == x.latency_plots);
    } else {
      CHECK(j.at("lanes").at("thread") >= 1);
    }
    CHECK(j.at("lanes").at("inversion") == (x.locks ? 1 : 0));
    CHECK(j.at("tables").at("threads") == x.threads);
    CHECK(j.at("tables").at("cpus") == x.cpus);
    CHECK(j.at("tables").at("locks") == (x.locks ? static_cast<int>(x.locks) : -1));
    CHECK(j.at("tables").at("workloops") == (x.workloops ? static_cast<int>(x.workloops) : -1));
    CHECK(j.at("tables").at("interrupts") == (x.interrupts ? static_cast<int>(x.interrupts) : -1));
    CHECK(j.at("tables").at("misses") ==
          (x.misses ? static_cast<int>(std::min(x.misses, sim::reports::Timeline::kMaxMisses)) : -1));
  }
  CHECK(seen == html_pages.size());

  // On paper: the same page with the print style sheet hides the zoom buttons and still draws.
  std::string printed = dir + "/print.jsonl";
  REQUIRE(std::system(fmt::format("python3 '{}/scripts/browser-check.py' --media print '{}' > '{}' 2>/dev/null",
                                  XNUSIM_SOURCE_DIR, compare, printed)
                          .c_str()) == 0);
  nlohmann::json p = nlohmann::json::parse(testing::slurp(printed));
  CHECK(p.at("problems").empty());
  CHECK(p.at("tools_display") == "none");
  CHECK(p.at("timelines") == 4);
  fs::remove_all(dir);
}
