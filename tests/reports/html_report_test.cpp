// The HTML report: every bundled scenario renders under its own policy into one self-contained
// page with the right lanes and tables; `run`, `report` and `compare --html` from the command
// line, with their bad inputs; the size of an hour of idle desktop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "reports/html_report.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "tests/cli/cli_support.hpp"

namespace fs = std::filesystem;
using testing::xnusim;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The rows of the summary table `id` of the first panel.
size_t table_rows(const std::string& html, const std::string& id) {
  size_t from = html.find("data-table=\"" + id + "\"");
  if (from == std::string::npos) return 0;
  size_t to = html.find("</table>", from);
  return count(html.substr(from, to - from), "<tr>") - 1;  // less the header
}


struct Page {
  sim::run::Results results;
  std::unique_ptr<sim::reports::Timeline> timeline;
  std::string html;
};

Page render(const sim::scenario::Scenario& s) {
  sim::run::Options o;
  Page p;
  sim::reports::TimeWindow w = sim::cli::choose_window(s, o, std::nullopt);
  sim::run::Simulation sim(s, o);
  p.timeline = sim::cli::make_timeline(sim, s, w);
  sim.add_sink(p.timeline.get());
  p.results = sim.run();
  sim::reports::HtmlOptions ho;
  ho.title = s.name;
  ho.description = s.description;
  p.html = sim::reports::render_html({sim::reports::HtmlPanel{p.results.policy, &p.results, p.timeline.get()}}, ho);
  return p;
}

// Nothing the page loads from elsewhere: no scripts, styles, images or fonts by address.
void check_self_contained(const std::string& html) {
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.size() > 20);
  CHECK(html.substr(html.size() - 8) == "</html>\n");
  std::string rest = html;
  for (size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;) rest.erase(at, 26);
  CHECK(count(rest, "http:") == 0);
  CHECK(count(rest, "https:") == 0);
  CHECK(count(rest, " src=") == 0);
  CHECK(count(rest, "<link") == 0);
  CHECK(count(rest, "@import") == 0);
  CHECK(count(html, "<script>") == 1);
}

}  // namespace

TEST_CASE("html: every bundled scenario renders under its policy with its lanes and tables", "[reports][unit]") {
  std::vector<fs::path> files = testing::bundled_scenario_files();
  REQUIRE(files.size() >= 20);
  for (const fs::path& f : files) {
    INFO(f.string());
    sim::scenario::LoadResult loaded = sim::scenario::load_scenario_file(f.string());
    REQUIRE(loaded.scenario);
    const sim::scenario::Scenario& s = *loaded.scenario;
    Page p = render(s);
    check_self_contained(p.html);
    CHECK(p.html.size() < 5'000'000);
    CHECK(count(p.html, "<svg class=\"tl\"") == 1);
    CHECK(count(p.html, "data-kind=\"cpu\"") == static_cast<size_t>(s.machine.cpus));
    size_t threads = p.results.threads.size();
    size_t lanes = count(p.html, "data-kind=\"thread\"");
    // A thread with nothing in the window (xnu's scheduler tick thread before its first tick, or
    // asleep through it) gets no lane; the page lists it under the timeline instead.
    size_t quiet = 0;
    if (size_t at = p.html.find("<summary>"); at != std::string::npos && p.html.find("without a lane", at) != std::string::npos)
      quiet = std::stoul(p.html.substr(at + 9));
    if (threads <= 24) CHECK(lanes + quiet == threads);
    // A run stopped early by a simulated panic ("-panic" scenarios) may leave more threads idle.
    bool panics = f.stem().string().ends_with("-panic");
    if (threads <= 24 && !panics) CHECK(quiet <= 1);
    else CHECK((lanes >= 1 && lanes <= threads));
    CHECK(count(p.html, "data-kind=\"inversion\"") == (p.results.locks.empty() ? 0U : 1U));
    CHECK(count(p.html, "<svg class=\"prio\"") == 1);
    CHECK(table_rows(p.html, "threads") == threads);
    CHECK(table_rows(p.html, "cpus") == static_cast<size_t>(s.machine.cpus));
    CHECK(table_rows(p.html, "locks") == p.results.locks.size());
    CHECK(table_rows(p.html, "workloops") == p.results.workloops.size());
    CHECK(table_rows(p.html, "interrupts") == p.results.interrupts.size());
    int64_t misses = 0;
    for (const auto& t : p.results.threads) misses += t.deadline_misses;
    CHECK(p.timeline->miss_count() == misses);
    CHECK(table_rows(p.html, "misses") == std::min<size_t>(static_cast<size_t>(misses), sim::reports::Timeline::kMaxMisses));
  }
}

TEST_CASE("html: the same run gives the same page, byte for byte", "[reports][unit]") {
  sim::scenario::LoadResult loaded =
      sim::scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/iokit/interrupt-to-workloop.json");
  REQUIRE(loaded.scenario);
  std::string a = render(*loaded.scenario).html, b = render(*loaded.scenario).html;
  CHECK(a == b);
  // Interrupts reach the work loop: handler spans on the CPU lanes and dashed links to actions.
  CHECK(count(a, "class=\"irq\"") > 0);
  CHECK(count(a, "class=\"lk\"") > 0);
  // The work loop's action latency has its histogram and CDF.
  CHECK(count(a, "id=\"lat-0-w0\"") == 1);
  CHECK(count(a, "class=\"cdf\"") >= 1);
}

TEST_CASE("html: the default window of a long run surrounds its worst moment", "[reports][unit]") {
  sim::scenario::LoadResult loaded =
      sim::scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/scenarios/inversion/pathfinder.json");
  REQUIRE(loaded.scenario);
  sim::run::Options o;
  o.duration = sim::core::Duration{10'000'000'000};
  sim::reports::TimeWindow w = sim::cli::choose_window(*loaded.scenario, o, std::nullopt);
  // The first miss of bc_dist is inside, and the window is between 100 ms and 1 s wide.
  sim::run::Simulation sim(*loaded.scenario, o);
  sim::reports::Timeline whole(sim.names(), 1, o.duration->ns, sim::reports::TimeWindow{-1, -1});
  sim.add_sink(&whole);
  sim.run();
  REQUIRE_FALSE(whole.misses().empty());
  int64_t first = whole.misses().front().time;
  CHECK(w.from <= first);
  CHECK(w.to >= first);
  CHECK(w.to - w.from >= 100'000'000);
  CHECK(w.to - w.from <= 1'000'000'000);
  // A short run is shown whole.
  o.duration = sim::core::Duration{200'000'000};
  sim::reports::TimeWindow s = sim::cli::choose_window(*loaded.scenario, o, std::nullopt);
  CHECK((s.from == 0 && s.to == 200'000'000));
}

TEST_CASE("html cli: run --html writes the page; --window is checked", "[reports][cli]") {
  std::string out = testing::temp_path("run.html");
  std::remove(out.c_str());
  auto r = xnusim("run scenarios/inversion/three-threads-none.json -q --html " + out + " --window 0..80ms");
  REQUIRE(r.code == 0);
  std::string html = testing::slurp(out);
  check_self_contained(html);
  CHECK(count(html, "data-from=\"0\" data-to=\"80000000\"") == 1);
  CHECK(count(html, "high blocked by low, medium ran instead") >= 1);
  // The worst responses of high and of low (71 ms each: low's unlock hands the CPU to high, low
  // finishes after it) link to the moment they ended in the timeline.
  CHECK(count(html, "<a class=\"jump\" href=\"#tl-0\" data-t=\"71000000\" data-p=\"0\" title=\"at 0.071000000, job 0: "
                    "show in the timeline\">71.000 ms</a>") == 2);
  // Latency plots: response and wakeup latency of each of the three threads, each with its
  // quantile lines; high's and low's responses are one sample each, so p50, p90, p99 and max
  // share one line.
  CHECK(count(html, "<figure class=\"lat\"") == 6);
  CHECK(count(html, "<title>p50 = 71.000 ms, p90 = 71.000 ms, p99 = 71.000 ms, max = 71.000 ms</title>") == 2);
  // Deterministic from the command line too.
  REQUIRE(xnusim("run scenarios/inversion/three-threads-none.json -q --html " + out + " --window 0..80ms").code == 0);
  CHECK(testing::slurp(out) == html);
  std::remove(out.c_str());

  for (const char* bad : {"80ms..10ms", "soon..later", "5ms"}) {
    INFO(bad);
    auto b = xnusim(fmt::format("run scenarios/inversion/three-threads-none.json -q --html {} --window {}", out, bad));
    CHECK(b.code == 2);
    CHECK(b.err.find("--window") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
  auto past = xnusim("run scenarios/inversion/three-threads-none.json -q --html " + out + " --window 1s..2s");
  CHECK(past.code == 2);
  CHECK(past.err == "xnusim: error: --window: it starts at 1.000 s, but the run ends at 100.000 ms; give a window "
                    "inside the run (e.g. 0..100ms)\n");
  CHECK_FALSE(fs::exists(out));
  auto alone = xnusim("run scenarios/inversion/three-threads-none.json -q --window 0..10ms");
  CHECK(alone.code == 2);
  CHECK(alone.err.find("--window: only with --html") != std::string::npos);
  auto unwritable = xnusim("run scenarios/inversion/three-threads-none.json -q --html /nonexistent-dir/x.html");
  CHECK(unwritable.code == 2);
  CHECK(unwritable.err.find("/nonexistent-dir/x.html") != std::string::npos);
  auto twice = xnusim("run scenarios/inversion/three-threads-none.json -q --html " + out + " --json " + out);
  CHECK(twice.code == 2);
}

TEST_CASE("html cli: report re-runs the results' configuration and refuses a changed scenario", "[reports][cli]") {
  std::string dir = testing::temp_path("report-dir");
  fs::create_directories(dir);
  std::string scenario = dir + "/s.json";
  fs::copy_file(fs::path(XNUSIM_SOURCE_DIR) / "scenarios/inversion/three-threads-none.json", scenario,
                fs::copy_options::overwrite_existing);
  std::string results = dir + "/r.json", from_run = dir + "/run.html", from_report = dir + "/report.html";
  REQUIRE(xnusim(fmt::format("run {} -q --set threads.medium.priority=25 --json {} --html {}", scenario, results,
                             from_run)).code == 0);
  auto r = xnusim(fmt::format("report {} --html {}", results, from_report));
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());  // the re-run's results are the recorded ones
  // The same timeline as the run drew (the header names the command, so compare from the timeline).
  std::string a = testing::slurp(from_run), b = testing::slurp(from_report);
  REQUIRE(a.find("<h2 id=\"timeline\">") != std::string::npos);
  CHECK(a.substr(a.find("<h2 id=\"timeline\">")) == b.substr(b.find("<h2 id=\"timeline\">")));
  CHECK(count(b, "sched_pri 25") > 0);  // the --set edit was applied again

  // The scenario changed: refused, nothing written.
  fs::remove(from_report);
  {
    std::string text = testing::slurp(scenario);
    text.insert(text.rfind('}'), " ");
    std::ofstream(scenario, std::ios::trunc) << text;
  }
  auto changed = xnusim(fmt::format("report {} --html {}", results, from_report));
  CHECK(changed.code == 2);
  CHECK(changed.err.find("has changed since") != std::string::npos);
  CHECK_FALSE(fs::exists(from_report));
  // The scenario is gone.
  fs::remove(scenario);
  auto missing = xnusim(fmt::format("report {} --html {}", results, from_report));
  CHECK(missing.code == 2);
  CHECK(missing.err.find("is missing") != std::string::npos);
  CHECK_FALSE(fs::exists(from_report));
  // Not a results document.
  std::string junk = testing::write_temp("junk.json", "{\"format\": \"something\"}");
  auto wrong = xnusim(fmt::format("report {} --html {}", junk, from_report));
  CHECK(wrong.code == 2);
  CHECK(wrong.err.find("not an xnusim results document") != std::string::npos);
  // Hostile configurations: each refused with a line naming the key, never a crash.
  struct Bad {
    const char* json;
    const char* says;
  };
  const Bad bads[] = {
      {"{\"format\": 5}", "not an xnusim results document"},
      {"[1, 2]", "not a JSON object"},
      {"{\"format\": \"xnusim-compare\"}", "a compare document"},
      {"{\"format\": \"xnusim-results\", \"configuration\": {\"file\": \"<stdin>\", \"policy\": \"xnu\", "
       "\"seed\": 1, \"duration_ns\": 5, \"sets\": []}}",
       "read from standard input"},
      {"{\"format\": \"xnusim-results\", \"configuration\": {\"file\": "
       "\"scenarios/inversion/three-threads-none.json\", \"policy\": \"nope\", \"seed\": 1, \"duration_ns\": 5, "
       "\"sets\": []}}",
       "configuration.policy: unknown policy \"nope\""},
      {"{\"format\": \"xnusim-results\", \"configuration\": {\"file\": "
       "\"scenarios/inversion/three-threads-none.json\", \"policy\": \"xnu\", \"seed\": 1, \"duration_ns\": 5, "
       "\"sets\": [\"bad\"]}}",
       "configuration.sets: \"bad\": expected PATH=VALUE"},
      {"{\"format\": \"xnusim-results\", \"configuration\": {\"file\": "
       "\"scenarios/inversion/three-threads-none.json\", \"policy\": \"xnu\", \"seed\": -1, \"duration_ns\": 5, "
       "\"sets\": []}}",
       "its configuration lacks"},
  };
  for (const Bad& b : bads) {
    INFO(b.json);
    std::string f = testing::write_temp("bad-results.json", b.json);
    auto res = xnusim(fmt::format("report {} --html {}", f, from_report));
    CHECK(res.code == 2);
    CHECK(res.err.find(b.says) != std::string::npos);
    CHECK_FALSE(fs::exists(from_report));
    std::remove(f.c_str());
  }
  fs::remove_all(dir);
  std::remove(junk.c_str());
}

TEST_CASE("html cli: compare --html puts the four protocols on one time axis", "[reports][cli]") {
  std::string out = testing::temp_path("compare.html");
  auto r = xnusim(
      "compare scenarios/inversion/three-threads-none.json --policies xnu -q --html " + out +
      " --vary 'locks.m={\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"none\"},{\"id\":\"m\",\"kind\":\"mutex\","
      "\"protocol\":\"inherit\"},{\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"ceiling\",\"ceiling\":30},"
      "{\"id\":\"m\",\"kind\":\"mutex\",\"protocol\":\"xnu\"}'");
  REQUIRE(r.code == 0);
  std::string html = testing::slurp(out);
  check_self_contained(html);
  CHECK(count(html, "<svg class=\"tl\"") == 4);
  CHECK(count(html, "data-from=\"0\" data-to=\"100000000\"") == 4);  // one axis for all
  CHECK(count(html, "<section class=\"panel\" data-panel=\"2\"><h3>xnu, protocol ceiling, ceiling 30</h3>") == 1);
  CHECK(count(html, "data-table=\"threads\"") == 4);
  // Only "none" has an inversion interval.
  CHECK(count(html, "<rect class=\"inv\" x=") == 2);  // the inversion lane and high's underline
  // The page does not depend on how many runs went at once.
  std::string first;
  for (const char* jobs : {"1", "4"}) {
    INFO(jobs);
    REQUIRE(xnusim(fmt::format("compare scenarios/inversion/three-threads-none.json --policies xnu,fixed,edf -q -j {} "
                               "--html {}",
                               jobs, out + ".j"))
                .code == 0);
    std::string again = testing::slurp(out + ".j");
    if (first.empty()) first = again;
    CHECK(again == first);
    CHECK(count(again, "<svg class=\"tl\"") == 3);
  }
  std::remove((out + ".j").c_str());
  std::remove(out.c_str());
}

TEST_CASE("html cli: an hour of idle desktop gives a page under 5 MB", "[reports][cli]") {
  std::string out = testing::temp_path("idle.html");
  auto r = xnusim("run scenarios/basics/idle-desktop.json -q --duration 1h --html " + out);
  REQUIRE(r.code == 0);
  auto size = fs::file_size(out);
  CHECK(size < 5'000'000);
  CHECK(size > 50'000);
  std::remove(out.c_str());
}
