// `xnusim compare`: its tables against separate runs, determinism whatever -j, seeds (mean and
// confidence interval), --json and --csv, failures in one column, and every bad argument.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/cli/compare_table.hpp"
#include "sim/policies/registry.hpp"
#include "tests/cli/cli_support.hpp"

using testing::xnusim;
using Result = testing::CliResult;

namespace {

// The rows of the table titled `title`: thread -> one cell per column (marks included; a
// "±half" joined to its mean). Empty when the table has no rows.
std::map<std::string, std::vector<std::string>> table(const std::string& out, const std::string& title,
                                                      size_t header_lines = 1) {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line) && line != title) {
  }
  for (size_t i = 0; i < header_lines && std::getline(in, line);) {
    if (line.rfind("  0 (or no value)", 0) == 0) return rows;
    ++i;
  }
  while (std::getline(in, line) && !line.empty() && line.rfind("  (", 0) != 0) {
    std::istringstream ls(line);
    std::string thread, tok;
    ls >> thread;
    std::vector<std::string> cells;
    while (ls >> tok) {
      if (tok.rfind("±", 0) == 0 && !cells.empty())
        cells.back() += " " + tok;
      else
        cells.push_back(tok);
    }
    rows[thread] = cells;
  }
  return rows;
}

std::string ms(int64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); }

std::string strip_mark(std::string s) {
  while (!s.empty() && (s.back() == '*' || s.back() == '!')) s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("compare: the tables hold exactly what separate runs of each policy report", "[cli][cli]") {
  const std::string f = "scenarios/inversion/three-threads-none.json";
  const std::vector<std::string> policies = {"xnu", "fixed"};
  Result c = xnusim("compare " + f + " --policies xnu,fixed");
  REQUIRE(c.code == 0);
  CHECK(c.out.rfind("xnusim compare: three-threads-none (" + f + "), 2 configurations x 1 seed = 2 runs, "
                    "100ms simulated each\n", 0) == 0);
  CHECK(c.out.find("  thread      xnu     fixed\n") != std::string::npos);
  std::vector<nlohmann::json> runs;
  for (const std::string& p : policies) {
    Result r = xnusim("run " + f + " --policy " + p + " --json -");
    REQUIRE(r.code == 0);
    runs.push_back(nlohmann::json::parse(r.out));
  }
  struct Metric {
    std::string title;
    std::function<std::optional<std::string>(const nlohmann::json& thread, const nlohmann::json& run)> cell;
  };
  auto summary = [](const char* which, const char* key) {
    return [which, key](const nlohmann::json& t, const nlohmann::json&) -> std::optional<std::string> {
      if (t[which]["count"] == 0) return std::nullopt;
      return ms(t[which][key].get<int64_t>());
    };
  };
  std::vector<Metric> metrics = {
      {"response time p99 (ms)", summary("response_ns", "p99")},
      {"response time max (ms)", summary("response_ns", "max")},
      {"wakeup latency p99 (ms)", summary("latency_ns", "p99")},
      {"wakeup latency max (ms)", summary("latency_ns", "max")},
      {"deadline misses", [](const nlohmann::json& t, const nlohmann::json&) -> std::optional<std::string> {
         return fmt::format("{}", t["deadline_misses"].get<int64_t>());
       }},
      {"blocked on locks (ms)", [](const nlohmann::json& t, const nlohmann::json&) -> std::optional<std::string> {
         return ms(t["blocked_ns"].get<int64_t>());
       }},
      {"priority inversion (ms)", [](const nlohmann::json& t, const nlohmann::json&) -> std::optional<std::string> {
         return ms(t["inversion_ns"].get<int64_t>());
       }},
      {"CPU share (% of the machine)", [](const nlohmann::json& t, const nlohmann::json& r) -> std::optional<std::string> {
         double cap = r["duration_ns"].get<double>() * r["configuration"]["cpus"].get<double>();
         return fmt::format("{:.1f}", 100.0 * t["cpu_time_ns"].get<double>() / cap);
       }},
  };
  int compared = 0;
  for (const Metric& m : metrics) {
    INFO(m.title);
    auto rows = table(c.out, m.title);
    for (std::string thread : {"low", "medium", "high"}) {
      INFO(thread);
      std::vector<std::string> want;
      bool all_zero = true;
      for (const nlohmann::json& run : runs) {
        std::optional<std::string> v = m.cell(run["threads"][thread], run);
        want.push_back(v.value_or("-"));
        if (v && std::stod(*v) != 0) all_zero = false;
      }
      if (all_zero) {  // rows that are 0 or empty everywhere are left out
        CHECK(rows.count(thread) == 0);
        continue;
      }
      REQUIRE(rows.count(thread) == 1);
      REQUIRE(rows[thread].size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) CHECK(strip_mark(rows[thread][i]) == want[i]);
      ++compared;
    }
  }
  // The inversion of three-threads-none.json: high blocked 65 ms, 48 of them inverted.
  CHECK(table(c.out, "blocked on locks (ms)")["high"] == std::vector<std::string>{"65.000", "65.000"});
  CHECK(table(c.out, "priority inversion (ms)")["high"] == std::vector<std::string>{"48.000", "48.000"});
  CHECK(compared == 11);  // response p99 and max (3 + 3), blocked, inversion, CPU share (3)
}

TEST_CASE("compare: the output does not depend on -j, nor on the run", "[cli][cli]") {
  const std::string f = "scenarios/basics/idle-desktop.json";
  std::string json1 = testing::temp_path("cmp-j1.json"), json2 = testing::temp_path("cmp-j2.json");
  std::string csv1 = testing::temp_path("cmp-j1.csv"), csv2 = testing::temp_path("cmp-j2.csv");
  std::string args = " --policies xnu,fixed --vary machine.quantum=10ms,5ms --seeds 1..2 --duration 2s";
  Result a = xnusim("compare " + f + args + " -j 1 --json " + json1 + " --csv " + csv1);
  Result b = xnusim("compare " + f + args + " -j 2 --json " + json2 + " --csv " + csv2);
  Result c = xnusim("compare " + f + args + " -j 3");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out == c.out);
  CHECK(testing::slurp(json1) == testing::slurp(json2));
  CHECK(testing::slurp(csv1) == testing::slurp(csv2));
  CHECK(!testing::slurp(json1).empty());
  for (const std::string& p : {json1, json2, csv1, csv2}) std::remove(p.c_str());
}

TEST_CASE("compare: across seeds each cell is the mean with a 95% confidence interval", "[cli][cli]") {
  const std::string f = "scenarios/basics/idle-desktop.json";
  Result c = xnusim("compare " + f + " --policies xnu,fixed --vary machine.xnu=517,792 --seeds 1..3");
  REQUIRE(c.code == 0);
  CHECK(c.out.rfind("xnusim compare: idle-desktop (" + f + "), 4 configurations x 3 seeds = 12 runs, 60s simulated each\n",
                    0) == 0);
  CHECK(c.out.find("across seeds: mean ±half-width of the 95% confidence interval (Student t)\n") != std::string::npos);
  CHECK(c.out.find("  machine.xnu                       517              517              792              792\n") !=
        std::string::npos);
  // display_wl's worst response under xnu-517, recomputed from three separate runs.
  std::vector<double> samples;
  for (int seed = 1; seed <= 3; ++seed) {
    Result r = xnusim("run " + f + " --set machine.xnu=517 --seed " + std::to_string(seed) + " --json -");
    REQUIRE(r.code == 0);
    samples.push_back(nlohmann::json::parse(r.out)["threads"]["display_wl"]["response_ns"]["max"].get<double>());
  }
  double mean = (samples[0] + samples[1] + samples[2]) / 3;
  double ss = 0;
  for (double s : samples) ss += (s - mean) * (s - mean);
  double half = 4.303 * std::sqrt(ss / 2) / std::sqrt(3.0);  // t(0.975, 2) = 4.303
  std::string want = fmt::format("{:.3f} ±{:.3f}", mean / 1e6, half / 1e6);
  auto rows = table(c.out, "response time max (ms)", 2);
  REQUIRE(rows.count("display_wl") == 1);
  REQUIRE(rows["display_wl"].size() == 4);
  CHECK(strip_mark(rows["display_wl"][0]) == want);
  CHECK(half > 0);  // the seeds do differ here, so the interval is not empty
}

TEST_CASE("compare: --json holds every run's configuration and results, --csv a row per run and thread",
          "[cli][cli]") {
  const std::string f = "scenarios/inversion/three-threads-none.json";
  Result j = xnusim("compare " + f + " --policies fixed,xnu --vary /locks/0/protocol=none,inherit --seeds 4,9 "
                    "--set machine.cpus=1 --json -");
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["format"] == "xnusim-compare");
  CHECK(doc["policies"] == nlohmann::json::array({"fixed", "xnu"}));
  CHECK(doc["seeds"] == nlohmann::json::array({4, 9}));
  CHECK(doc["sets"] == nlohmann::json::array({"machine.cpus=1"}));
  REQUIRE(doc["runs"].size() == 8);  // 2 protocols x 2 policies x 2 seeds, protocol outermost
  const auto& last = doc["runs"][7];
  CHECK(last["policy"] == "xnu");
  CHECK(last["vary"]["/locks/0/protocol"] == "inherit");
  CHECK(last["configuration"]["seed"] == 9);
  CHECK(last["configuration"]["sets"] == nlohmann::json::array({"machine.cpus=1", "/locks/0/protocol=inherit"}));
  CHECK(last["results"]["configuration"] == last["configuration"]);
  CHECK(last["results"]["threads"]["high"]["inversion_ns"] == 0);           // inherit
  CHECK(doc["runs"][0]["results"]["threads"]["high"]["inversion_ns"] == 48'000'000);  // none
  // The tables go to stderr when stdout carries the JSON.
  CHECK(j.err.find("priority inversion (ms)") != std::string::npos);

  Result c = xnusim("compare " + f + " --policies fixed,xnu --vary /locks/0/protocol=none,inherit --seeds 4,9 --csv -");
  REQUIRE(c.code == 0);
  std::istringstream lines(c.out);
  std::string header, line;
  std::getline(lines, header);
  CHECK(header.rfind("policy,/locks/0/protocol,seed,id,task,mode,", 0) == 0);
  int rows = 0;
  while (std::getline(lines, line)) ++rows;
  CHECK(rows == 4 * 3 + 4 * 4);  // fixed: 3 threads per run; xnu: and its scheduler tick thread
  CHECK(c.out.find("\nxnu,inherit,9,high,") != std::string::npos);
}

TEST_CASE("compare: a panic in one configuration is reported in its column, the others still print, exit 4",
          "[cli][cli]") {
  // With split funnels, nfsd asks for the network funnel while holding the kernel funnel: xnu
  // panics; merged funnels are one lock, so it does not.
  Result c = xnusim("compare scenarios/funnels/both-funnels-panic.json --policies xnu --vary machine.funnels=split,merged");
  CHECK(c.code == 4);
  auto rows = table(c.out, "response time max (ms)", 2);
  CHECK(rows["nfsd"] == std::vector<std::string>{"panic", "3.000"});
  CHECK(c.out.find("failed runs\n  xnu machine.funnels=split: panic at 0.002000000 s: thread \"nfsd\"") != std::string::npos);
  CHECK(c.err == "xnusim: compare: 1 of 2 runs failed (see \"failed runs\"); the other results are complete\n");
}

TEST_CASE("compare: every bad argument is exit 2 before anything runs, naming the argument", "[cli][cli]") {
  const std::string f = "scenarios/inversion/three-threads-none.json";
  Result unknown = xnusim("compare " + f + " --policies xnu,nosuch");
  CHECK(unknown.code == 2);
  CHECK(unknown.err == "xnusim: error: --policies xnu,nosuch: unknown policy \"nosuch\"; valid: " +
                           sim::policies::policy_names_joined() + "\n");
  Result typo = xnusim("compare " + f + " --policies fxed");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("note: did you mean \"fixed\"?") != std::string::npos);
  CHECK(xnusim("compare " + f + " --policies xnu,,fixed").code == 2);
  Result twice = xnusim("compare " + f + " --policies xnu,xnu");
  CHECK(twice.code == 2);
  CHECK(twice.err == "xnusim: error: --policies xnu,xnu: \"xnu\" is listed twice\n");

  Result no_values = xnusim("compare " + f + " --vary machine.xnu=");
  CHECK(no_values.code == 2);
  CHECK(no_values.err == "xnusim: error: --vary machine.xnu=: no values; give them separated by commas, e.g. "
                         "machine.xnu=1,2\n");
  Result no_eq = xnusim("compare " + f + " --vary machine.xnu");
  CHECK(no_eq.code == 2);
  CHECK(no_eq.err.rfind("xnusim: error: --vary machine.xnu: expected PATH=VALUE1,VALUE2", 0) == 0);
  CHECK(xnusim("compare " + f + " --vary machine.xnu=517,,792").code == 2);
  Result bad_value = xnusim("compare " + f + " --vary machine.xnu=517,800");
  CHECK(bad_value.code == 2);
  CHECK(bad_value.err == f + ": error: --vary machine.xnu=800: /machine/xnu: must be \"517\" or \"792\" "
                             "(got \"800\")\n");

  Result reversed = xnusim("compare " + f + " --seeds 5..1");
  CHECK(reversed.code == 2);
  CHECK(reversed.err == "xnusim: error: --seeds 5..1: the range is empty (5 > 1); write the smaller seed first; "
                        "write one seed (7), a range (1..5) or a list (1,4,9)\n");
  for (std::string s : {"1..x", "abc", "1,,2", "-1", "1..", "1,1"}) {
    Result r = xnusim("compare " + f + " --seeds '" + s + "'");
    INFO(s);
    CHECK(r.code == 2);
    CHECK(r.err.rfind("xnusim: error: --seeds " + s + ": ", 0) == 0);
  }
  CHECK(xnusim("compare " + f + " -j 0").code == 2);
  Result set = xnusim("compare " + f + " --set machine.cpus=x");
  CHECK(set.code == 2);
  CHECK(set.err.find("--set machine.cpus=x: /machine/cpus:") != std::string::npos);
  CHECK(xnusim("compare " + f + " --set threads.nobody.priority=1").code == 2);
  CHECK(xnusim("compare scenarios/nonexistent.json").code == 2);
  // Nothing ran: no table on stdout.
  CHECK(unknown.out.empty());
  CHECK(reversed.out.empty());
}

TEST_CASE("compare table: the best of a row is starred, a difference that matters flagged", "[cli][unit]") {
  auto run = [](const std::string& policy, int64_t p99) {
    sim::metrics::Results r;
    r.policy = policy;
    r.duration_ns = 1'000'000'000;
    sim::metrics::ThreadResult t;
    t.id = "a";
    t.jobs = 1;
    t.response_ns.count = 10;
    t.response_ns.p99 = p99;
    t.response_ns.max = p99;
    r.threads.push_back(t);
    return r;
  };
  // 1 ms best; 1.05 ms is within 10%; 2 ms is 100% and 1 ms worse: it matters.
  sim::metrics::Results a = run("p", 1'000'000), b = run("q", 1'050'000), c = run("r", 2'000'000);
  sim::cli::CompareTable t;
  t.columns = {{"p", {}, {&a}, {}}, {"q", {}, {&b}, {}}, {"r", {}, {&c}, {}}};
  std::string out = sim::cli::render_compare_tables(t);
  auto rows = table(out, "response time p99 (ms)");
  CHECK(rows["a"] == std::vector<std::string>{"1.000*", "1.050", "2.000!"});
  // 10% but only 50 us worse: below the 0.1 ms floor, so not flagged.
  sim::metrics::Results d = run("p", 500'000), e = run("q", 550'001);
  t.columns = {{"p", {}, {&d}, {}}, {"q", {}, {&e}, {}}};
  CHECK(table(sim::cli::render_compare_tables(t), "response time p99 (ms)")["a"] ==
        std::vector<std::string>{"0.500*", "0.550"});
}

TEST_CASE("compare statistics: Student t quantiles and the confidence interval", "[cli][unit]") {
  // t(0.975, df) from the standard table (NIST/SEMATECH e-Handbook, 1.3.6.7.2).
  CHECK(sim::cli::t_quantile_975(1) == 12.706);
  CHECK(sim::cli::t_quantile_975(2) == 4.303);
  CHECK(sim::cli::t_quantile_975(4) == 2.776);
  CHECK(sim::cli::t_quantile_975(30) == 2.042);
  CHECK(sim::cli::t_quantile_975(35) == 2.042);  // between rows: the smaller df, wider
  CHECK(sim::cli::t_quantile_975(1000) == 1.980);
  sim::cli::Estimate e = sim::cli::estimate({1, 2, 3});
  CHECK(e.mean == 2);
  CHECK(e.half == Approx(4.303 / std::sqrt(3.0)));  // s = 1
  CHECK(sim::cli::estimate({5}).half == 0);
}

TEST_CASE("compare: a path varied twice is refused, as sweep refuses it (the grid options are shared)",
          "[cli][regression]") {
  Result r = xnusim("compare scenarios/basics/bw-c.json --vary machine.cpus=1 --vary machine.cpus=2");
  CHECK(r.code == 2);
  CHECK(r.err == "xnusim: error: --vary machine.cpus=2: machine.cpus is varied twice; give all its values in one --vary\n");
  CHECK(r.out.empty());
}
