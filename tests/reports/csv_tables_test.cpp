// `--csv DIR` tables (issue 10, 3): jobs.csv streamed during the run and histograms.csv reproduce
// the results JSON's percentiles exactly; the directory rule, and --csv FILE unchanged.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "reports/csv_report.hpp"
#include "tests/cli/cli_support.hpp"
#include "tests/support.hpp"

namespace {

using namespace testing;
using Row = std::vector<std::string>;

// A CSV whose fields hold no comma, quote or line break (ids and numbers): header and rows.
std::vector<Row> parse(const std::string& text) {
  std::vector<Row> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    Row r;
    size_t start = 0;
    for (size_t comma = line.find(','); ; comma = line.find(',', start)) {
      r.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

size_t column(const Row& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  REQUIRE(it != header.end());
  return static_cast<size_t>(it - header.begin());
}

// Nearest-rank percentiles 50, 90, 99, 99.9 of the samples.
std::vector<int64_t> percentiles(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const auto n = static_cast<int64_t>(v.size());
  std::vector<int64_t> out;
  for (int64_t k : {2, 10, 100, 1000}) out.push_back(v[static_cast<size_t>(n - n / k - 1)]);
  return out;
}

std::vector<int64_t> of(const metrics::Summary& s) { return {s.p50, s.p90, s.p99, s.p999}; }

struct Tables {
  RunOutput out;
  std::string jobs;
  std::map<std::string, std::string> other;  // by file name
};

Tables run_with_tables(const std::string& file, const std::string& policy, int64_t duration_ms = 0) {
  scenario::LoadResult loaded = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + file);
  REQUIRE(loaded.scenario);
  sim::run::Options o;
  o.policy = policy;
  if (duration_ms > 0) o.duration = core::Duration::milliseconds(duration_ms);
  sim::run::Simulation simulation(*loaded.scenario, o);
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  Tables t;
  {
    reports::JobsCsvWriter jobs(mem, simulation.names());
    simulation.add_sink(&jobs);
    t.out.results = simulation.run();
  }
  std::fclose(mem);
  t.jobs.assign(buf, len);
  std::free(buf);
  for (reports::CsvTable& table : reports::results_to_csv_tables(t.out.results)) t.other[table.name] = table.text;
  return t;
}

// The checks on one run: jobs.csv against the threads' results, histograms.csv against every
// summary.
void check_tables(const Tables& t) {
  const metrics::Results& r = t.out.results;
  std::vector<Row> jobs = parse(t.jobs);
  REQUIRE(!jobs.empty());
  REQUIRE(jobs[0] == Row{"thread", "job", "release", "start", "end", "response", "latency", "missed"});
  std::map<std::string, std::vector<int64_t>> responses;
  std::map<std::string, int64_t> missed, rows;
  for (size_t i = 1; i < jobs.size(); ++i) {
    const Row& j = jobs[i];
    REQUIRE(j.size() == 8);
    ++rows[j[0]];
    if (j[7] == "true") ++missed[j[0]];
    else CHECK(j[7] == "false");
    if (!j[4].empty()) {
      const int64_t release = std::stoll(j[2]), end = std::stoll(j[4]), response = std::stoll(j[5]);
      CHECK(response == end - release);
      responses[j[0]].push_back(response);
      REQUIRE(!j[3].empty());
      CHECK(std::stoll(j[6]) == std::stoll(j[3]) - release);
      CHECK(std::stoll(j[3]) >= release);
      CHECK(std::stoll(j[3]) <= end);
    }
  }
  int64_t checked = 0;
  for (const metrics::ThreadResult& th : r.threads) {
    INFO("thread " << th.id);
    CHECK(static_cast<int64_t>(responses[th.id].size()) == th.jobs);
    CHECK(missed[th.id] == th.deadline_misses);
    CHECK(rows[th.id] >= th.jobs);
    if (th.response_ns.count == 0) continue;
    CHECK(percentiles(responses[th.id]) == of(th.response_ns));
    CHECK(*std::max_element(responses[th.id].begin(), responses[th.id].end()) == th.response_ns.max);
    ++checked;
  }
  CHECK(checked > 0);

  // histograms.csv: every exact summary's percentiles from its buckets.
  std::vector<Row> h = parse(t.other.at("histograms.csv"));
  REQUIRE(h[0] == Row{"kind", "id", "metric", "lo", "hi", "count"});
  std::map<std::string, std::vector<int64_t>> samples;  // "kind/id/metric" -> values (exact only)
  std::map<std::string, int64_t> counts;
  for (size_t i = 1; i < h.size(); ++i) {
    const std::string key = h[i][0] + "/" + h[i][1] + "/" + h[i][2];
    const int64_t lo = std::stoll(h[i][3]), hi = std::stoll(h[i][4]), n = std::stoll(h[i][5]);
    counts[key] += n;
    REQUIRE(lo == hi);  // these runs are small: every histogram is exact
    samples[key].insert(samples[key].end(), static_cast<size_t>(n), lo);
  }
  auto check_summary = [&](const std::string& key, const metrics::Summary& s) {
    INFO(key);
    CHECK(counts[key] == s.count);
    if (s.count == 0) return;
    CHECK(percentiles(samples[key]) == of(s));
    CHECK(samples[key].front() == s.min);
  };
  for (const auto& th : r.threads) {
    check_summary("thread/" + th.id + "/response_ns", th.response_ns);
    check_summary("thread/" + th.id + "/latency_ns", th.latency_ns);
  }
  for (const auto& l : r.locks) {
    check_summary("lock/" + l.id + "/wait_ns", l.wait_ns);
    check_summary("lock/" + l.id + "/hold_ns", l.hold_ns);
  }
  for (const auto& w : r.workloops) {
    check_summary("workloop/" + w.id + "/action_latency_ns", w.action_latency_ns);
    check_summary("workloop/" + w.id + "/gate_wait_ns", w.gate_wait_ns);
  }
  for (const auto& x : r.interrupts) check_summary("interrupt/" + x.id + "/latency_ns", x.latency_ns);
  for (const auto& d : r.devices) check_summary("device/" + d.id + "/io_ns", d.io_ns);

  // threads.csv: one row per thread with the JSON's values.
  std::vector<Row> th = parse(t.other.at("threads.csv"));
  REQUIRE(th.size() == r.threads.size() + 1);
  const size_t p99 = column(th[0], "response_ns.p99"), at = column(th[0], "response_ns.max_at_ns");
  for (size_t i = 0; i < r.threads.size(); ++i) {
    CHECK(th[i + 1][0] == r.threads[i].id);
    CHECK(std::stoll(th[i + 1][p99]) == r.threads[i].response_ns.p99);
    CHECK(std::stoll(th[i + 1][at]) == r.threads[i].response_ns.max_at_ns);
  }
  CHECK(parse(t.other.at("cpus.csv")).size() == r.cpus.size() + 1);
  CHECK(parse(t.other.at("locks.csv")).size() == r.locks.size() + 1);
  CHECK(parse(t.other.at("workloops.csv")).size() == r.workloops.size() + 1);
  CHECK(parse(t.other.at("interrupts.csv")).size() == r.interrupts.size() + 1);
  CHECK(parse(t.other.at("devices.csv")).size() == r.devices.size() + 1);
}

}  // namespace

TEST_CASE("csv tables: jobs.csv and histograms.csv reproduce the JSON's percentiles exactly", "[reports][csv]") {
  struct Case {
    const char* file;
    const char* policy;
    int64_t ms;
  };
  for (const Case& c : {Case{"scenarios/realtime/audio.json", "xnu", 2000}, Case{"scenarios/realtime/audio.json", "edf", 1000},
                        Case{"scenarios/inversion/three-threads-none.json", "xnu", 0},
                        Case{"scenarios/inversion/pathfinder.json", "fixed", 0},
                        Case{"scenarios/iokit/interrupt-to-workloop.json", "xnu", 0},
                        Case{"scenarios/iokit/driver-stack.json", "xnu", 0},
                        Case{"scenarios/basics/bw-c.json", "cfs", 0}}) {
    INFO(c.file << " " << c.policy);
    check_tables(run_with_tables(c.file, c.policy, c.ms));
  }
}

TEST_CASE("csv tables: jobs.csv rows of a periodic thread, and unfinished jobs at the end", "[reports][csv]") {
  // 1 ms of work every 10 ms; the run ends at 31.5 ms, half way through job 3 of "late", which
  // is unfinished (no end, no response) and past its 1 ms deadline.
  scenario::Scenario s = load_text(R"({"format": "xnusim-scenario", "version": 1, "name": "p", "duration": "31.5ms",
    "threads": [{"id": "p", "mode": "fixed", "priority": 40, "period": "10ms", "deadline": "10ms",
                 "program": [{"op": "run", "for": "1ms"}]},
                {"id": "late", "mode": "fixed", "priority": 30, "period": "10ms", "deadline": "1ms",
                 "program": [{"op": "run", "for": "1ms"}]}]})");
  sim::run::Simulation simulation(s, {});
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  {
    reports::JobsCsvWriter jobs(mem, simulation.names());
    simulation.add_sink(&jobs);
    simulation.run();
  }
  std::fclose(mem);
  std::string text(buf, len);
  std::free(buf);
  // "late" waits 1 ms for "p" each period, so it completes at 2 ms, 1 ms after its deadline.
  CHECK(text ==
        "thread,job,release,start,end,response,latency,missed\n"
        "p,0,0,0,1000000,1000000,0,false\n"
        "late,0,0,1000000,2000000,2000000,1000000,true\n"
        "p,1,10000000,10000000,11000000,1000000,0,false\n"
        "late,1,10000000,11000000,12000000,2000000,1000000,true\n"
        "p,2,20000000,20000000,21000000,1000000,0,false\n"
        "late,2,20000000,21000000,22000000,2000000,1000000,true\n"
        "p,3,30000000,30000000,31000000,1000000,0,false\n"
        "late,3,30000000,31000000,,,1000000,true\n");
}

TEST_CASE("csv tables: --csv DIR/ writes every table, --csv FILE the one table, bad paths exit 2", "[reports][csv][cli]") {
  namespace fs = std::filesystem;
  const std::string dir = temp_path("csvdir");
  fs::remove_all(dir);
  CliResult r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + dir + "/");
  INFO(r.err);
  REQUIRE(r.code == 0);
  for (const std::string& name : reports::csv_table_names()) CHECK(fs::is_regular_file(dir + "/" + name));
  CHECK(slurp(dir + "/jobs.csv").rfind("thread,job,release,start,end,response,latency,missed\n", 0) == 0);
  // An existing directory without the final slash is a directory too; the files are replaced.
  r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + dir);
  CHECK(r.code == 0);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  CHECK(left.size() == reports::csv_table_names().size());  // no temporaries left behind
  fs::remove_all(dir);

  // A file path: today's per-thread CSV.
  const std::string file = temp_path("one.csv");
  r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + file);
  CHECK(r.code == 0);
  CHECK(slurp(file).rfind("id,task,mode,base_priority,", 0) == 0);
  std::remove(file.c_str());

  // A directory whose parent does not exist: one line naming --csv, exit 2, nothing created.
  r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + dir + "/a/b/");
  CHECK(r.code == 2);
  CHECK(r.err.find("--csv") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir));

  // A final slash on an existing file is refused rather than written into.
  const std::string plain = write_temp("plain", "x");
  r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + plain + "/");
  CHECK(r.code == 2);
  CHECK(r.err.find("--csv") != std::string::npos);
  CHECK(slurp(plain) == "x");
  std::remove(plain.c_str());

  // --json into the directory under a table's name is two outputs on one file.
  fs::create_directory(dir);
  r = xnusim("run scenarios/inversion/three-threads-none.json -q --csv " + dir + " --json " + dir + "/jobs.csv");
  CHECK(r.code == 2);
  fs::remove_all(dir);
}
