// `xnusim sweep` and `xnusim merge` (docs/sweep.md): the folder against separate runs, the
// same bytes whatever -j, the summary's statistics recomputed here, resuming (after a re-run, a
// torn journal and a real SIGKILL), failed points, shards merged into the single-machine folder,
// --emit, and every bad argument.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/cli/compare_table.hpp"
#include "tests/cli/cli_support.hpp"

using testing::slurp;
using testing::temp_path;
using testing::xnusim;

namespace {

namespace fs = std::filesystem;

const char* const kFiles[] = {"sweep.json", "points.jsonl", "points.csv", "summary.csv", "summary.html"};

// A small deterministic scenario (no random durations) for failures and bad arguments.
const std::string kScenario = "scenarios/inversion/three-threads-none.json";
// The grid of most cases: 2 policies x 2 CPU counts x 3 seeds = 12 points of half a second of the
// idle desktop, whose sleep and job lengths are random, so the seeds differ. Its expects
// describe a minute on two CPUs, hence --ignore-expects.
const std::string kGridScenario = "scenarios/basics/idle-desktop.json";
const std::string kGrid = kGridScenario +
                          " --policies xnu,fixed --vary machine.cpus=1,2 --seeds 1..3 --duration 500ms "
                          "--metric system.context_switches --metric threads.ws_events.latency_ns.max --ignore-expects -q";

struct Scratch {
  std::string dir;
  explicit Scratch(const std::string& name) : dir(temp_path(name)) { fs::remove_all(dir); }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string& sub) const { return dir + "/" + sub; }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : row) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool sd_differs(const std::vector<double>& v) { return v[0] != v[1] || v[1] != v[2]; }

testing::CliResult sweep(const std::string& args) { return xnusim("sweep " + args); }

void require_same_folder(const std::string& a, const std::string& b) {
  for (const char* f : kFiles) {
    INFO(f);
    REQUIRE(fs::exists(a + "/" + f));
    REQUIRE(slurp(a + "/" + f) == slurp(b + "/" + f));
  }
  REQUIRE(testing::files_in(a) == testing::files_in(b));
}

}  // namespace

TEST_CASE("sweep: the folder has one row per point, equal to separate runs, whatever -j", "[sweep]") {
  Scratch s("sweep-basic");
  auto r1 = sweep(kGrid + " -j 1 -o " + (s / "j1"));
  REQUIRE(r1.code == 0);
  REQUIRE(r1.err.empty());  // -q
  auto r2 = sweep(kGrid + " -j 2 -o " + (s / "j2"));
  REQUIRE(r2.code == 0);
  auto r0 = sweep(kGrid + " -j 0 -o " + (s / "j0"));
  REQUIRE(r0.code == 0);
  require_same_folder(s / "j1", s / "j2");
  require_same_folder(s / "j1", s / "j0");
  REQUIRE(testing::files_in(s / "j1") ==
          std::vector<std::string>{"points.csv", "points.jsonl", "summary.csv", "summary.html", "sweep.json"});

  std::vector<std::string> rows = lines(slurp(s / "j1/points.csv"));
  REQUIRE(rows.size() == 13);
  REQUIRE(rows[0] ==
          "index,policy,machine.cpus,seed,status,exit,system.context_switches,threads.ws_events.latency_ns.max,message");
  // Order: --vary values outermost, then policies, then seeds: point 7 is configuration 2
  // (cpus 2, xnu), seed 2.
  std::vector<std::string> p7 = cells(rows[8]);
  REQUIRE(p7[0] == "7");
  REQUIRE(p7[1] == "xnu");
  REQUIRE(p7[2] == "2");
  REQUIRE(p7[3] == "2");
  REQUIRE(p7[4] == "ok");
  REQUIRE(p7[5] == "0");
  // Its metrics are those of the same run made alone.
  auto run = xnusim("run " + kGridScenario + " --policy xnu --seed 2 --set machine.cpus=2 --duration 500ms --json -");
  REQUIRE(run.code == 0);
  nlohmann::json j = nlohmann::json::parse(run.out);
  int64_t switches = j.at("system").at("context_switches").get<int64_t>();
  int64_t latency_max = j.at("threads").at("ws_events").at("latency_ns").at("max").get<int64_t>();
  REQUIRE(p7[6] == std::to_string(switches));
  REQUIRE(p7[7] == std::to_string(latency_max));
  // points.jsonl holds the same run's full results.
  std::vector<std::string> jl = lines(slurp(s / "j1/points.jsonl"));
  REQUIRE(jl.size() == 12);
  nlohmann::json rec = nlohmann::json::parse(jl[7]);
  REQUIRE(rec.at("index") == 7);
  REQUIRE(rec.at("vary").at("machine.cpus") == "2");
  REQUIRE(rec.at("results").at("system").at("context_switches") == switches);

  // summary.csv: context switches of configuration 0 (xnu, 1 CPU) over seeds 1..3, recomputed
  // here (they differ between seeds): mean, sample
  // standard deviation (n - 1), and mean -/+ t(0.975, 2) * sd / sqrt(3) with t = 4.303.
  std::vector<double> v;
  for (size_t i = 1; i <= 3; ++i) v.push_back(std::stod(cells(rows[i])[6]));
  REQUIRE(sd_differs(v));
  double mean = (v[0] + v[1] + v[2]) / 3;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  double sd = std::sqrt(ss / 2);
  double half = 4.303 * sd / std::sqrt(3.0);
  std::vector<std::string> sum = lines(slurp(s / "j1/summary.csv"));
  REQUIRE(sum.size() == 5);  // 4 configurations
  REQUIRE(sum[0] ==
          "policy,machine.cpus,points,ok,failed,system.context_switches.n,system.context_switches.mean,"
          "system.context_switches.sd,system.context_switches.ci95_low,system.context_switches.ci95_high,"
          "threads.ws_events.latency_ns.max.n,threads.ws_events.latency_ns.max.mean,threads.ws_events.latency_ns.max.sd,"
          "threads.ws_events.latency_ns.max.ci95_low,threads.ws_events.latency_ns.max.ci95_high");
  std::vector<std::string> c0 = cells(sum[1]);
  REQUIRE(c0[0] == "xnu");
  REQUIRE(c0[1] == "1");
  REQUIRE(c0[2] == "3");
  REQUIRE(c0[3] == "3");
  REQUIRE(c0[4] == "0");
  REQUIRE(c0[5] == "3");
  REQUIRE(std::stod(c0[6]) == Approx(mean).epsilon(1e-9));
  REQUIRE(std::stod(c0[7]) == Approx(sd).epsilon(1e-9));
  REQUIRE(std::stod(c0[8]) == Approx(mean - half).epsilon(1e-9));
  REQUIRE(std::stod(c0[9]) == Approx(mean + half).epsilon(1e-9));
  REQUIRE(sim::cli::t_quantile_975(2) == 4.303);

  // The page: self-contained, one plot per metric and varied parameter (2 x 1), each with a line
  // per policy.
  std::string html = slurp(s / "j1/summary.html");
  REQUIRE(html.rfind("<!DOCTYPE html>", 0) == 0);
  size_t figures = 0;
  for (size_t at = html.find("<figure class=\"sp\">"); at != std::string::npos; at = html.find("<figure class=\"sp\">", at + 1))
    ++figures;
  REQUIRE(figures == 2);
  REQUIRE(html.find("http://") == std::string::npos);
  REQUIRE(html.find("https://") == std::string::npos);
  REQUIRE(html.find("<script") == std::string::npos);
  REQUIRE(html.find("<figcaption>threads.ws_events.latency_ns.max</figcaption>") != std::string::npos);
  REQUIRE(html.find("12 points (4 configurations x 3 seeds): 12 recorded, 12 ok, 0 failed") != std::string::npos);
}

TEST_CASE("sweep: a re-run skips the points already recorded", "[sweep]") {
  Scratch s("sweep-resume");
  REQUIRE(sweep(kGrid + " -j 2 -o " + (s / "full")).code == 0);
  std::string grid = kGrid.substr(0, kGrid.size() - 3);  // without -q, for the closing line

  SECTION("the same arguments again run nothing and rewrite the same bytes") {
    fs::copy(s / "full", s / "again");
    auto r = sweep(grid + " -o " + (s / "again"));
    REQUIRE(r.code == 0);
    REQUIRE(r.err.find("12 points (0 run now, 12 already done), 0 failed") != std::string::npos);
    require_same_folder(s / "full", s / "again");
  }
  SECTION("a torn journal (a sweep killed while writing) keeps its whole lines") {
    std::vector<std::string> jl = lines(slurp(s / "full/points.jsonl"));
    fs::create_directories(s / "torn");
    {
      std::ofstream j(s / "torn/journal.jsonl", std::ios::binary);
      for (size_t i : {4, 0, 9, 2, 11}) j << jl[i] << "\n";  // in the order they finished
      j << jl[5].substr(0, jl[5].size() / 2);                 // cut in the middle
    }
    auto r = sweep(grid + " -j 2 -o " + (s / "torn"));
    REQUIRE(r.code == 0);
    REQUIRE(r.err.find("12 points (7 run now, 5 already done), 0 failed") != std::string::npos);
    require_same_folder(s / "full", s / "torn");
    REQUIRE_FALSE(fs::exists(s / "torn/journal.jsonl"));
  }
  SECTION("more seeds run only the new points") {
    std::string more = grid;
    more.replace(more.find("--seeds 1..3"), 12, "--seeds 1..4");
    auto r = sweep(more + " -o " + (s / "full"));
    REQUIRE(r.code == 0);
    REQUIRE(r.err.find("16 points (4 run now, 12 already done), 0 failed") != std::string::npos);
    auto fresh = sweep(more + " -o " + (s / "fresh"));
    REQUIRE(fresh.code == 0);
    require_same_folder(s / "full", s / "fresh");
  }
  SECTION("an edited scenario runs every point again") {
    std::string text = slurp(std::string(XNUSIM_SOURCE_DIR) + "/" + kGridScenario);
    fs::create_directories(s / "edited");
    std::string copy = s / "edited.json";
    std::ofstream(copy) << text << "\n";  // same scenario, other bytes: another digest
    std::string g = grid;
    g.replace(0, kGridScenario.size(), copy);
    REQUIRE(sweep(g + " -o " + (s / "edited")).code == 0);
    fs::copy_file(s / "full/points.jsonl", s / "edited/points.jsonl", fs::copy_options::overwrite_existing);
    auto r = sweep(g + " -o " + (s / "edited"));
    REQUIRE(r.err.find("12 points (12 run now, 0 already done)") != std::string::npos);
  }
}

TEST_CASE("sweep: a sweep killed with SIGKILL loses only the points in flight", "[sweep]") {
  Scratch s("sweep-kill");
  // 40 points of 2 s of the idle desktop, one at a time (several seconds): killed in the middle.
  std::vector<std::string> args = {"sweep", fs::absolute(fs::path(XNUSIM_SOURCE_DIR) / kGridScenario).string(),
                                   "--policies", "xnu,fixed", "--seeds", "1..20", "--duration", "2s", "--ignore-expects",
                                   "--metric", "system.context_switches", "-j", "1", "-q", "-o", s / "out"};
  fs::create_directories(s.dir);
  testing::Spawned p = testing::spawn_xnusim(s.dir, args);
  std::string journal = s / "out/journal.jsonl";
  for (int i = 0; i < 600 && lines(slurp(journal)).size() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(p.kill_and_wait(SIGKILL) == 128 + SIGKILL);
  size_t kept = lines(slurp(journal)).size();
  REQUIRE(kept >= 3);
  REQUIRE(kept < 40);
  REQUIRE_FALSE(fs::exists(s / "out/points.csv"));

  std::string cmd;
  for (const std::string& arg : args) cmd += " " + (arg == "-q" ? std::string() : arg);
  auto r = xnusim(cmd);
  REQUIRE(r.code == 0);
  // Every recorded line is kept; a line cut by the kill (if any) is run again.
  size_t reused = 40;
  size_t at = r.err.find("xnusim: sweep: 40 points (");  // after the progress lines
  REQUIRE(at != std::string::npos);
  REQUIRE(sscanf(r.err.c_str() + at, "xnusim: sweep: 40 points (%*u run now, %zu already done)", &reused) == 1);
  REQUIRE(reused >= kept - 1);
  REQUIRE(reused <= kept);
  args[args.size() - 1] = s / "whole";
  std::string whole;
  for (const std::string& arg : args) whole += " " + arg;
  REQUIRE(xnusim(whole).code == 0);
  require_same_folder(s / "out", s / "whole");
}

TEST_CASE("sweep: failed points are recorded with their exit status and message", "[sweep]") {
  Scratch s("sweep-failed");
  SECTION("a bad combination (exit 2) does not stop the others") {
    auto r = sweep(kScenario + " --policies xnu --vary machine.cpus=1,0 --seeds 1..2 --ignore-expects -o " + (s / "o"));
    REQUIRE(r.code == 0);
    REQUIRE(r.err.find("4 points (4 run now, 0 already done), 2 failed") != std::string::npos);
    std::vector<std::string> rows = lines(slurp(s / "o/points.csv"));
    REQUIRE(rows.size() == 5);
    REQUIRE(rows[1].rfind("0,xnu,1,1,ok,0,", 0) == 0);
    REQUIRE(rows[3].rfind("2,xnu,0,1,failed,2,", 0) == 0);
    REQUIRE(rows[3].find("--vary machine.cpus=0: /machine/cpus:") != std::string::npos);
    std::vector<std::string> sum = lines(slurp(s / "o/summary.csv"));
    REQUIRE(sum[2].rfind("xnu,0,2,0,2,0,,,,", 0) == 0);
    std::string html = slurp(s / "o/summary.html");
    REQUIRE(html.find("<h2>Failed points</h2>") != std::string::npos);
    REQUIRE(html.find("<td class=\"bad\">2</td><td>2</td><td class=\"l\">xnu machine.cpus=0 seed 1</td>") != std::string::npos);
  }
  SECTION("a simulated panic (exit 4) and a failed expect (exit 1)") {
    auto r = sweep("scenarios/funnels/both-funnels-panic.json --policies xnu --seeds 1..2 -o " + (s / "p"));
    REQUIRE(r.code == 0);
    std::vector<std::string> rows = lines(slurp(s / "p/points.csv"));
    REQUIRE(rows.size() == 3);
    REQUIRE(rows[1].rfind("0,xnu,1,failed,4,", 0) == 0);
    REQUIRE(rows[1].find("funnel") != std::string::npos);
    // three-threads-none expects exact times under xnu on one CPU; on two CPUs the inversion
    // the expects describe cannot happen (low and high run side by side), so they fail.
    auto e = sweep(kScenario + " --policies xnu --vary machine.cpus=1,2 -o " + (s / "e"));
    REQUIRE(e.code == 0);
    std::vector<std::string> erows = lines(slurp(s / "e/points.csv"));
    REQUIRE(erows.size() == 3);
    REQUIRE(erows[1].rfind("0,xnu,1,1,ok,0,", 0) == 0);
    REQUIRE(erows[2].rfind("1,xnu,2,1,failed,1,", 0) == 0);
    REQUIRE(erows[2].find("expect failed: thread \"\"high\"\"") != std::string::npos);
  }
}

TEST_CASE("sweep: shards merge into the folder one machine writes", "[sweep]") {
  Scratch s("sweep-shards");
  REQUIRE(sweep(kGrid + " -o " + (s / "whole")).code == 0);
  for (int k = 1; k <= 3; ++k) REQUIRE(sweep(kGrid + fmt::format(" --shard {}/3 -o ", k) + (s / std::to_string(k))).code == 0);
  // Shard 2 holds points 1, 4, 7, 10 (dealt round robin).
  std::vector<std::string> rows = lines(slurp(s / "2/points.csv"));
  REQUIRE(rows.size() == 5);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cells(rows[i + 1])[0] == std::to_string(1 + 3 * i));
  REQUIRE(nlohmann::json::parse(slurp(s / "2/sweep.json")).at("shard") == nlohmann::json{{"k", 2}, {"n", 3}});

  auto m = xnusim("merge " + (s / "3") + " " + (s / "1") + " " + (s / "2") + " -o " + (s / "merged"));
  REQUIRE(m.code == 0);
  REQUIRE(m.err == "xnusim: merge: 12 points from 3 folders into " + (s / "merged") + "\n");
  require_same_folder(s / "whole", s / "merged");

  auto missing = xnusim("merge " + (s / "1") + " " + (s / "3") + " -o " + (s / "bad"));
  REQUIRE(missing.code == 2);
  REQUIRE(missing.err == "xnusim: error: merge: 4 of 12 points are missing (the first is point 1); merge the folders "
                         "of every shard, after each has finished\n");
  REQUIRE(sweep(kGridScenario + " --policies xnu --seeds 1 --duration 100ms --ignore-expects -q -o " + (s / "other")).code == 0);
  auto other = xnusim("merge " + (s / "1") + " " + (s / "other") + " -o " + (s / "bad"));
  REQUIRE(other.code == 2);
  REQUIRE(other.err == "xnusim: error: merge: " + (s / "other") + " is from a different sweep than " + (s / "1") +
                           " (scenario, grid, seeds or metrics differ); merge only the shards of one sweep\n");
  auto none = xnusim("merge " + (s / "nothing") + " -o " + (s / "bad"));
  REQUIRE(none.code == 2);
  REQUIRE(none.err.rfind("xnusim: error: merge: " + (s / "nothing") + "/sweep.json: cannot read (", 0) == 0);
}

TEST_CASE("sweep: --emit prints the Slurm script and the GNU parallel command line", "[sweep]") {
  auto slurm = xnusim("sweep " + kGrid + " --emit slurm --shards 4 -o out");
  REQUIRE(slurm.code == 0);
  REQUIRE(slurm.out.rfind("#!/bin/bash\n", 0) == 0);
  REQUIRE(slurm.out.find("sbatch --parsable --job-name=xnusim-sweep --array=1-4 ") != std::string::npos);
  REQUIRE(slurm.out.find(" -j 1 --shard \"$SLURM_ARRAY_TASK_ID/4\" -o out.shards/\"$SLURM_ARRAY_TASK_ID\" -q\n") !=
          std::string::npos);
  REQUIRE(slurm.out.find("--dependency=afterok:$array ") != std::string::npos);
  REQUIRE(slurm.out.find(" merge out.shards/1 out.shards/2 out.shards/3 out.shards/4 -o out -q\n") != std::string::npos);
  REQUIRE(slurm.out.find(" --vary machine.cpus=1,2 --seeds 1..3 ") != std::string::npos);
  REQUIRE_FALSE(std::filesystem::exists(std::string(XNUSIM_SOURCE_DIR) + "/out"));  // ran nothing

  auto par = xnusim("sweep " + kGrid + " --emit parallel --shards 2 --hosts 2/:,node7 -o out");
  REQUIRE(par.code == 0);
  REQUIRE(par.out.find("parallel --will-cite --halt soon,fail=1 -j 1 -S 2/:,node7 ") != std::string::npos);
  REQUIRE(par.out.find(" --shard {}/2 -o out.shards/{} -q' ::: 1 2 && ") != std::string::npos);
  REQUIRE(par.out.find(" merge out.shards/1 out.shards/2 -o out -q\n") != std::string::npos);
}

TEST_CASE("sweep: bad arguments are refused before anything runs", "[sweep]") {
  auto err = [](const std::string& args) {
    auto r = xnusim("sweep " + args);
    CHECK(r.code == 2);
    return r.err;
  };
  const std::string f = kScenario;
  REQUIRE(err(f + " --shard 0/3 -o x") ==
          "xnusim: error: --shard 0/3: expected K/N with 1 <= K <= N (e.g. 2/8: the second of eight slices)\n");
  REQUIRE(err(f + " --shard 4/3 -o x") ==
          "xnusim: error: --shard 4/3: expected K/N with 1 <= K <= N (e.g. 2/8: the second of eight slices)\n");
  REQUIRE(err(f + " -j x -o x") == "xnusim: error: -j x: must be an integer from 0 (every core) to 1024\n");
  REQUIRE(err(f + " --emit pbs --shards 2 -o x") == "xnusim: error: --emit pbs: expected slurm or parallel\n");
  REQUIRE(err(f + " --emit slurm -o x") ==
          "xnusim: error: --emit slurm: give the number of shards with --shards N (e.g. --shards 8)\n");
  REQUIRE(err(f + " --shards 3 -o x") ==
          "xnusim: error: --shards: only with --emit slurm|parallel (a single slice is --shard K/N)\n");
  REQUIRE(err(f + " --hosts a,b -o x") == "xnusim: error: --hosts: only with --emit parallel\n");
  REQUIRE(err(f + " --metric threads.hgh.latency_ns.p99 -o x") ==
          "xnusim: error: --metric threads.hgh.latency_ns.p99: the scenario has no thread \"hgh\"\n  note: did you mean "
          "\"high\"?\n");
  REQUIRE(err(f + " --metric thread.high.latency_ns.p99 -o x").rfind(
              "xnusim: error: --metric thread.high.latency_ns.p99: expected system.PATH or KIND.ID.PATH with KIND one "
              "of system, threads, locks, cpus, workloops, interrupts, devices (e.g. threads.audio.latency_ns.p99)\n  "
              "note: did you mean \"threads\"?\n",
              0) == 0);
  REQUIRE(err(f + " --metric threads.high.latency_ns.p98 -o x").find("\"latency_ns.p98\" is not a metric of threads; valid: ") !=
          std::string::npos);
  REQUIRE(err(f + " --vary machine.cpus=1 --vary machine.cpus=2 -o x") ==
          "xnusim: error: --vary machine.cpus=2: machine.cpus is varied twice; give all its values in one --vary\n");
  REQUIRE(err(f + " --vary machine.cpus=0,-1 -o x").find("/machine/cpus") != std::string::npos);  // every one bad
  REQUIRE(err("- -o x") == "xnusim: error: sweep: the scenario must be a file (shards and re-runs read it again)\n");
  REQUIRE_FALSE(std::filesystem::exists(std::string(XNUSIM_SOURCE_DIR) + "/x"));
}

TEST_CASE("sweep: a bar on a terminal, plain lines otherwise", "[sweep]") {
  Scratch s("sweep-progress");
  // Plain: stderr is a file here; the last line before the closing one has every point.
  auto plain = sweep(kScenario + " --policies xnu,fixed --seeds 1..2 --ignore-expects -o " + (s / "plain"));
  REQUIRE(plain.code == 0);
  REQUIRE(plain.err.find("xnusim: sweep: 4/4 points, 0 failed, ") != std::string::npos);
  REQUIRE(plain.err.find('\r') == std::string::npos);
  // A terminal: util-linux `script` runs the sweep on a pseudo-terminal.
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    WARN("skipped the terminal half: `script` (util-linux) not found");
    return;
  }
  std::string log = s / "tty.log";
  fs::create_directories(s.dir);
  std::string cmd = "cd '" + std::string(XNUSIM_SOURCE_DIR) + "' && script -qec \"'" + XNUSIM_BINARY + "' sweep " +
                    kScenario + " --policies xnu,fixed --seeds 1..2 --ignore-expects -o " + (s / "tty") + "\" /dev/null >" + log;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string out = slurp(log);
  REQUIRE(out.find("\r\033[Kxnusim: sweep [##############################] 4/4 points, 0 failed, ") != std::string::npos);
  require_same_folder(s / "plain", s / "tty");
}
