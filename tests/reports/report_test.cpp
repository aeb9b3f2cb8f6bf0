// Unit tests for the JSON, CSV and text renderers of Results, on small hand-built Results.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/csv_report.hpp"
#include "reports/json_report.hpp"
#include "reports/text_report.hpp"
#include "sim/metrics/results.hpp"

using nlohmann::ordered_json;
using sim::metrics::Results;
using sim::metrics::Summary;
using sim::metrics::ThreadResult;

namespace {

Summary summary(int64_t count, int64_t min, int64_t p50, int64_t p90, int64_t p99, int64_t p999,
                int64_t max, int64_t mean) {
  Summary s;
  s.count = count;
  s.min = min;
  s.p50 = p50;
  s.p90 = p90;
  s.p99 = p99;
  s.p999 = p999;
  s.max = max;
  s.mean = mean;
  return s;
}

// Two threads on one CPU for 10 ms: a periodic "high" and a one-shot "low" that never finished.
Results two_threads() {
  Results r;
  r.scenario = "demo";
  r.policy = "xnu";
  r.seed = 7;
  r.xnu = "517";
  r.duration_ns = 10'000'000;

  ThreadResult high;
  high.id = "high";
  high.task = "app";
  high.mode = "fixed";
  high.base_priority = 47;
  high.cpu_time_ns = 3'000'000;
  high.jobs = 3;
  high.response_ns = summary(3, 1'000'000, 1'000'000, 1'000'000, 1'000'000, 1'000'000, 1'000'000,
                             1'000'000);
  high.latency_ns = summary(3, 0, 1'500, 2'000, 2'000, 2'000, 2'000, 1'167);
  high.jitter_ns = 2'000;
  high.preemptions = 2;
  high.context_switches = 6;
  high.min_sched_pri = 47;
  high.max_sched_pri = 47;

  ThreadResult low;
  low.id = "low";
  low.task = "app";
  low.mode = "timeshare";
  low.base_priority = 31;
  low.cpu_time_ns = 6'500'000;
  low.jobs = 1;
  low.deadline_misses = 1;
  low.latency_ns = summary(1, 250, 250, 250, 250, 250, 250, 250);
  low.context_switches = 1;
  low.min_sched_pri = 25;
  low.max_sched_pri = 31;

  r.threads = {high, low};
  sim::metrics::CpuResult cpu;
  cpu.busy_ns = 9'500'000;
  cpu.idle_ns = 500'000;
  cpu.overhead_ns = 12'000;
  cpu.by_band_ns[3] = 3'000'000;  // raised
  cpu.by_band_ns[1] = 6'500'000;  // lowered
  r.cpus = {cpu};
  r.system.context_switches = 7;
  r.system.events = 42;
  r.expect = {{"thread \"high\" response_ns.max <= 3 ms: got 1 ms", true},
              {"thread \"low\" deadline_misses == 0: got 1", false}};
  return r;
}

std::vector<std::string> keys_of(const ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

using Keys = std::vector<std::string>;

}  // namespace

TEST_CASE("json report: the documented keys appear in the documented order", "[reports][unit]") {
  const ordered_json j = sim::reports::results_to_json(two_threads());
  CHECK(keys_of(j) == Keys{"format", "version", "scenario", "policy", "seed", "xnu", "duration_ns",
                           "configuration", "threads", "cpus", "locks", "interrupts", "workloops", "devices",
                           "system", "expect"});
  CHECK(j["format"] == "xnusim-results");
  CHECK(j["version"] == 1);
  CHECK(j["seed"] == 7);
  CHECK(j["xnu"] == "517");
  CHECK(keys_of(j["threads"]) == Keys{"high", "low"});
  CHECK(keys_of(j["threads"]["high"]) ==
        Keys{"cpu_time_ns", "jobs", "deadline_misses", "response_ns", "latency_ns", "jitter_ns",
             "blocked_ns", "inversion_ns", "preemptions", "context_switches", "migrations",
             "demotions", "min_sched_pri", "max_sched_pri", "task", "mode", "base_priority",
             "band", "kernel", "spin_ns", "created_ns", "ended_ns"});
  // The eight v1 keys in order, then the extension keys (issue 10).
  const Keys summary_keys{"count", "min", "p50", "p90", "p99", "p999", "max", "mean",
                          "max_at_ns", "max_job", "histogram"};
  CHECK(keys_of(j["threads"]["high"]["response_ns"]) == summary_keys);
  CHECK(keys_of(j["threads"]["low"]["latency_ns"]) == summary_keys);
  CHECK(j["threads"]["high"]["latency_ns"]["mean"] == 1'167);
  CHECK(j["threads"]["high"]["band"] == "raised");
  CHECK(j["threads"]["low"]["band"] == "default");
  CHECK(j["threads"]["low"]["deadline_misses"] == 1);

  REQUIRE(j["cpus"].is_array());
  REQUIRE(j["cpus"].size() == 1);
  CHECK(keys_of(j["cpus"][0]) ==
        Keys{"busy_ns", "interrupt_ns", "idle_ns", "by_band_ns", "overhead_ns"});
  CHECK(keys_of(j["cpus"][0]["by_band_ns"]) == Keys{"aged", "lowered", "default", "raised",
                                                    "elevated", "system", "kernel", "realtime"});
  CHECK(j["cpus"][0]["by_band_ns"]["raised"] == 3'000'000);
  CHECK(j["cpus"][0]["by_band_ns"]["lowered"] == 6'500'000);

  CHECK(keys_of(j["system"]) == Keys{"context_switches", "events", "panics", "locks_held_at_exit"});
  CHECK(j["expect"].dump() ==
        R"([{"text":"thread \"high\" response_ns.max <= 3 ms: got 1 ms","ok":true},)"
        R"({"text":"thread \"low\" deadline_misses == 0: got 1","ok":false}])");
}

TEST_CASE("json report: empty collections are present as {} and []", "[reports][unit]") {
  Results r;
  r.scenario = "empty";
  r.policy = "xnu";
  CHECK(sim::reports::results_to_json(r).dump() ==
        R"({"format":"xnusim-results","version":1,"scenario":"empty","policy":"xnu","seed":1,)"
        R"("xnu":"517","duration_ns":0,)"
        R"("configuration":{"policy":"","xnu":"517","cpus":1,"quantum_ns":0,"costs_ns":{"context_switch":0,)"
        R"("interrupt_entry":0,"interrupt_exit":0,"thread_wakeup":0},"funnels":"split","calibration":"",)"
        R"("seed":1,"duration_ns":0,"scenario":"","file":"","sha256":"","sets":[]},"threads":{},"cpus":[],"locks":{},"interrupts":{},)"
        R"("workloops":{},"devices":{},"system":{"context_switches":0,"events":0,"panics":[],"locks_held_at_exit":0},)"
        R"("expect":[]})");
}

TEST_CASE("json report: the other collections are keyed by id in declaration order",
          "[reports][unit]") {
  Results r;
  r.locks = {{"m2", 4, 1, summary(1, 5, 5, 5, 5, 5, 5, 5), summary(4, 1, 2, 3, 3, 3, 3, 2)},
             {"m1", 0, 0, {}, {}}};
  r.interrupts = {{"eth", 2, summary(2, 10, 10, 20, 20, 20, 20, 15)}};
  r.workloops = {{"wl", 3, 5, {}, {}}};
  r.devices = {{"disk", 2, 1, 1, {}}};
  r.system.panics = {"thread a asked for a second funnel"};
  const ordered_json j = sim::reports::results_to_json(r);
  CHECK(keys_of(j["locks"]) == Keys{"m2", "m1"});
  CHECK(keys_of(j["locks"]["m2"]) ==
        Keys{"acquisitions", "contended", "wait_ns", "hold_ns", "held_at_exit", "waiting_at_end", "try_failed",
             "upgrades_failed"});
  CHECK(j["locks"]["m2"]["hold_ns"]["p50"] == 2);
  CHECK(keys_of(j["interrupts"]["eth"]) == Keys{"count", "latency_ns"});
  CHECK(j["interrupts"]["eth"]["latency_ns"]["mean"] == 15);
  CHECK(keys_of(j["workloops"]["wl"]) ==
        Keys{"actions", "interrupts_delivered", "action_latency_ns", "gate_wait_ns"});
  CHECK(j["workloops"]["wl"]["interrupts_delivered"] == 5);
  CHECK(keys_of(j["devices"]["disk"]) == Keys{"ios", "completed", "offline", "io_ns"});
  CHECK(j["system"]["panics"] == ordered_json::array({"thread a asked for a second funnel"}));
}

TEST_CASE("json report: the text form is indented by two and ends with a newline",
          "[reports][unit]") {
  const Results r = two_threads();
  const std::string text = sim::reports::results_to_json_text(r);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  CHECK(text.rfind("{\n  \"format\": \"xnusim-results\",\n  \"version\": 1,\n", 0) == 0);
  CHECK(ordered_json::parse(text) == sim::reports::results_to_json(r));
}

TEST_CASE("csv report: one header row and one row per thread", "[reports][unit]") {
  const std::string csv = sim::reports::results_to_csv(two_threads());
  const std::string header =
      "id,task,mode,base_priority,cpu_time_ns,jobs,deadline_misses,"
      "response_ns.count,response_ns.min,response_ns.p50,response_ns.p90,response_ns.p99,"
      "response_ns.p999,response_ns.max,response_ns.mean,"
      "latency_ns.count,latency_ns.min,latency_ns.p50,latency_ns.p90,latency_ns.p99,"
      "latency_ns.p999,latency_ns.max,latency_ns.mean,"
      "jitter_ns,blocked_ns,inversion_ns,preemptions,context_switches,migrations,demotions,"
      "min_sched_pri,max_sched_pri\n";
  CHECK(csv == header +
                   "high,app,fixed,47,3000000,3,0,"
                   "3,1000000,1000000,1000000,1000000,1000000,1000000,1000000,"
                   "3,0,1500,2000,2000,2000,2000,1167,2000,0,0,2,6,0,0,47,47\n"
                   "low,app,timeshare,31,6500000,1,1,0,0,0,0,0,0,0,0,"
                   "1,250,250,250,250,250,250,250,0,0,0,0,1,0,0,25,31\n");
}

TEST_CASE("csv report: fields with commas, quotes or newlines are quoted as RFC 4180 says",
          "[reports][unit]") {
  Results r;
  ThreadResult t;
  t.id = "a,b";
  t.task = "say \"hi\"";
  t.mode = "two\nlines";
  r.threads = {t};
  const std::string csv = sim::reports::results_to_csv(r);
  const std::string row = csv.substr(csv.find('\n') + 1);
  CHECK(row.rfind("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",0,", 0) == 0);
}

TEST_CASE("text report: a small run renders exactly, narrow by default", "[reports][unit]") {
  const std::string expected =
      "scenario demo, policy xnu, xnu-517, seed 7, simulated 10.000 ms\n"
      "\n"
      "thread  band     pri     cpu time  missed  resp p99  resp max  lat max  blocked  inversion\n"
      "high    raised   47..47   3.00 ms     0/3   1.00 ms   1.00 ms  2.00 us        0          0\n"
      "low     default  25..31   6.50 ms     1/1         -         -   250 ns        0          0\n"
      "\n"
      "cpu    busy  interrupt  idle  overhead\n"
      "cpu0  95.0%          0  5.0%   12.0 us\n"
      "\n"
      "system: 7 context switches, 42 events, no panics\n"
      "\n"
      "PASS thread \"high\" response_ns.max <= 3 ms: got 1 ms\n"
      "FAIL thread \"low\" deadline_misses == 0: got 1\n";
  CHECK(sim::reports::text_summary(two_threads()) == expected);
}

TEST_CASE("text report: --wide shows every column at full precision", "[reports][unit]") {
  const std::string expected =
      "scenario demo, policy xnu, xnu-517, seed 7, simulated 10.000 ms\n"
      "\n"
      "thread  band     pri     cpu time  jobs  misses  resp p50  resp p99  resp max   lat p99"
      "   lat max    jitter  preempts  switches  migrations  blocked  inversion  demotions\n"
      "high    raised   47..47  3.000 ms     3       0  1.000 ms  1.000 ms  1.000 ms  2.000 us"
      "  2.000 us  2.000 us         2         6           0     0 ns       0 ns          0\n"
      "low     default  25..31  6.500 ms     1       1         -         -         -    250 ns"
      "    250 ns      0 ns         0         1           0     0 ns       0 ns          0\n"
      "\n"
      "cpu    busy  interrupt  idle   overhead\n"
      "cpu0  95.0%       0 ns  5.0%  12.000 us\n"
      "\n"
      "system: 7 context switches, 42 events, no panics\n"
      "\n"
      "PASS thread \"high\" response_ns.max <= 3 ms: got 1 ms\n"
      "FAIL thread \"low\" deadline_misses == 0: got 1\n";
  CHECK(sim::reports::text_summary(two_threads(), {.wide = true}) == expected);
}

TEST_CASE("text report: the columns do not depend on the values", "[reports][unit]") {
  Results a = two_threads();
  Results b = two_threads();
  b.threads[1].blocked_ns = 1'500'000;
  b.threads[1].inversion_ns = 1'200'000;
  b.threads[1].demotions = 2;
  b.threads[0].demotions = 1;
  // The header's words: the column names.
  auto header = [](const std::string& text) {
    const size_t at = text.find("\nthread ") + 1;
    std::istringstream words(text.substr(at, text.find('\n', at) - at));
    std::vector<std::string> out;
    for (std::string w; words >> w;) out.push_back(w);
    return out;
  };
  for (bool wide : {false, true}) {
    const std::string sa = sim::reports::text_summary(a, {.wide = wide});
    const std::string sb = sim::reports::text_summary(b, {.wide = wide});
    CHECK(header(sa) == header(sb));
    const auto names = header(sa);
    CHECK(std::find(names.begin(), names.end(), "inversion") != names.end());  // there even when it is zero
  }
  const std::string narrow = sim::reports::text_summary(b);
  CHECK(narrow.find("low     default  25..31   6.50 ms     1/1         -         -   250 ns  1.50 ms    1.20 ms\n"
                    "note: high was demoted 1 time by the real-time fail-safe\n"
                    "note: low was demoted 2 times by the real-time fail-safe\n") != std::string::npos);
  CHECK(sim::reports::text_summary(a).find("note:") == std::string::npos);
  CHECK(sim::reports::text_summary(b, {.wide = true}).find("  1.500 ms   1.200 ms          2\n") != std::string::npos);
}

TEST_CASE("text report: fixed-priority threads are not labelled aged or lowered", "[reports][unit]") {
  Results r = two_threads();
  r.threads.resize(1);
  auto row = [&](const std::string& mode, int base) {
    Results one = r;
    one.threads[0].id = "t";
    one.threads[0].mode = mode;
    one.threads[0].base_priority = base;
    const std::string s = sim::reports::text_summary(one);
    const size_t at = s.find("\nt ");
    std::istringstream words(s.substr(at + 1, s.find('\n', at + 1) - at - 1));
    std::string name, band;
    words >> name >> band;
    return band;
  };
  CHECK(row("fixed", 10) == "fixed");
  CHECK(row("fixed", 20) == "fixed");
  CHECK(row("timeshare", 10) == "aged");
  CHECK(row("timeshare", 20) == "lowered");
  CHECK(row("fixed", 31) == "default");
  CHECK(row("fixed", 47) == "raised");
  CHECK(row("realtime", 97) == "realtime");
  // Under the fixed and edf policies nothing decays: a timeshare thread at 20 is fixed too.
  r.policy = "fixed";
  CHECK(row("timeshare", 20) == "fixed");
  r.policy = "edf";
  CHECK(row("timeshare", 10) == "fixed");
  r.policy = "bsd44";
  CHECK(row("timeshare", 20) == "lowered");
}

TEST_CASE("text report: times in the narrow summary have three significant digits", "[reports][unit]") {
  auto cpu_cell = [](int64_t ns) {
    Results r = two_threads();
    r.threads.resize(1);
    r.threads[0].cpu_time_ns = ns;
    const std::string s = sim::reports::text_summary(r);
    const size_t at = s.find("\nhigh ");
    std::string line = s.substr(at + 1, s.find('\n', at + 1) - at - 1);
    // thread, band and pri, then the cpu time right-aligned in its column.
    std::string rest = line.substr(line.find("47..47") + 6);
    rest.erase(0, rest.find_first_not_of(' '));
    return rest.substr(0, rest.find("  "));
  };
  CHECK(cpu_cell(0) == "0");
  CHECK(cpu_cell(250) == "250 ns");
  CHECK(cpu_cell(12'345) == "12.3 us");
  CHECK(cpu_cell(100'000'000) == "100 ms");
  CHECK(cpu_cell(9'999'000) == "10.0 ms");
  CHECK(cpu_cell(999'600'000) == "1.00 s");
  CHECK(cpu_cell(1'341'091'824) == "1.34 s");
  CHECK(cpu_cell(3'600'000'000'000) == "3600 s");
}

TEST_CASE("text report: long names give way so the summary fits 100 columns", "[reports][unit]") {
  Results r = two_threads();
  r.threads[0].id = "com.apple.audio.CoreAudio.HALC_ShellDriver_worker_1";
  r.threads[1].id = "com.apple.audio.CoreAudio.HALC_ShellDriver_worker_2";
  r.system.panics = {"panic at 0.002000000 s: thread \"nfsd\" on cpu0 at /threads/0/program/2: thread_funnel_set: "
                     "asked for the network funnel while holding the kernel funnel (both funnels are never held at once)"};
  const std::string narrow = sim::reports::text_summary(r);
  size_t longest = 0;
  for (size_t start = 0; start < narrow.size();) {
    const size_t end = narrow.find('\n', start);
    longest = std::max(longest, end - start);
    start = end + 1;
  }
  CHECK(longest <= 100);
  // The middle gives way: the numbers that tell the threads apart stay.
  CHECK(narrow.find("\ncom.appl~orker_1  raised ") != std::string::npos);
  CHECK(narrow.find("\ncom.appl~orker_2  default") != std::string::npos);
  CHECK(narrow.find("panic: panic at 0.002000000 s: thread \"nfsd\" on cpu0 at /threads/0/program/2: thread_funnel_set:\n"
                    "  asked for the network funnel while holding the kernel funnel (both funnels are never held at once)\n") !=
        std::string::npos);
  const std::string wide = sim::reports::text_summary(r, {.wide = true});
  CHECK(wide.find("\ncom.apple.audio.CoreAudio.HALC_ShellDriver_worker_1  raised ") != std::string::npos);
}

TEST_CASE("text report: other tables appear when the scenario has their objects", "[reports][unit]") {
  Results r = two_threads();
  const std::string plain = sim::reports::text_summary(r);
  CHECK(plain.find("acquisitions") == std::string::npos);

  r.threads[1].blocked_ns = 1'500'000;
  r.locks = {{"m", 4, 1, summary(1, 1'500'000, 1'500'000, 1'500'000, 1'500'000, 1'500'000,
                                 1'500'000, 1'500'000),
              summary(4, 100, 200, 300, 300, 300, 300, 200)}};
  r.interrupts = {{"eth", 2, summary(2, 10, 10, 20, 20, 20, 20, 15)}};
  r.workloops = {{"wl", 3, 5, {}, {}}};
  r.devices = {{"disk", 2, 1, 1, {}}};
  r.system.panics = {"second funnel"};
  const std::string full = sim::reports::text_summary(r);
  CHECK(full.find("lock  acquisitions  contended  wait p99  wait max  hold p99  hold max\n"
                  "m                4          1   1.50 ms   1.50 ms    300 ns    300 ns\n") !=
        std::string::npos);
  CHECK(full.find("interrupt  count  lat p50  lat p99  lat max\n"
                  "eth            2    10 ns    20 ns    20 ns\n") != std::string::npos);
  CHECK(full.find("workloop  actions  delivered  action p99  action max  gate wait p99"
                  "  gate wait max\n"
                  "wl              3          5           -           -              -"
                  "              -\n") != std::string::npos);
  CHECK(full.find("device  ios  completed  offline  io p50  io p99  io max\n"
                  "disk      2          1        1       -       -       -\n") !=
        std::string::npos);
  CHECK(full.find("system: 7 context switches, 42 events, 1 panic\npanic: second funnel\n") !=
        std::string::npos);
  const std::string wide = sim::reports::text_summary(r, {.wide = true});
  CHECK(wide.find("m                4          1  1.500 ms  1.500 ms    300 ns    300 ns\n") != std::string::npos);
  // No line ends in a space.
  CHECK(full.find(" \n") == std::string::npos);
  CHECK(wide.find(" \n") == std::string::npos);
}
