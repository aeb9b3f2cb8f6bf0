// `xnusim sweep FILE --vary PATH=V1,V2 --policies a,b --seeds 1..20 -j 0 -o DIR`: every point of a
// grid run in parallel, each finished point appended to a journal at once (so a killed sweep loses
// only the points in flight and a re-run skips the rest), then the folder's tables, summary and
// page written from the records; `--shard K/N` runs one slice, `--emit slurm|parallel` prints the
// script that runs the slices elsewhere, and `xnusim merge DIR... -o DIR` joins them
// (docs/sweep.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/json_report.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/grid_args.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/cli/sweep_data.hpp"
#include "sim/core/diag.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/time.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace {

using Json = nlohmann::ordered_json;

struct SweepArgs {
  std::string file;
  GridArgs grid;
  std::optional<std::string> jobs;
  std::vector<std::string> metrics;
  std::string out;
  std::optional<std::string> shard;
  std::optional<std::string> emit;
  std::optional<std::string> shards;
  std::string hosts = ":";
  bool ignore_expects = false;
  bool quiet = false;
};

std::string trim_newlines(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// "K/N" with 1 <= K <= N.
std::optional<std::pair<size_t, size_t>> parse_shard(const std::string& text, std::string& error) {
  size_t slash = text.find('/');
  std::optional<uint64_t> k, n;
  if (slash != std::string::npos) {
    k = parse_u64(std::string_view(text).substr(0, slash));
    n = parse_u64(std::string_view(text).substr(slash + 1));
  }
  if (!k || !n || *n == 0 || *n > kMaxRuns || *k < 1 || *k > *n) {
    error = fmt::format("xnusim: error: --shard {}: expected K/N with 1 <= K <= N (e.g. 2/8: the second of eight "
                        "slices)", text);
    return std::nullopt;
  }
  return std::pair{static_cast<size_t>(*k), static_cast<size_t>(*n)};
}

// Progress on stderr: a bar that redraws itself on a terminal, plain lines (at most one every
// five seconds, and one at the end) otherwise.
class Progress {
 public:
  Progress(bool enabled, bool tty, size_t total, size_t skipped)
      : enabled_(enabled && total > 0), tty_(tty), total_(total), skipped_(skipped) {}
  void report(size_t done, size_t failed, bool last) {
    if (!enabled_) return;
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - started_).count();
    if (!last && now - printed_at_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5))) return;
    if (!last && !tty_ && done == 0) return;
    printed_at_ = now;
    double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    std::string left;
    if (done > 0 && done < total_ && rate > 0)
      // In whole seconds: an estimate, not a measurement ("about 661.864 ms left" claimed more).
      left = fmt::format(", about {} left",
                         core::format_duration_brief(
                             std::max<int64_t>(1, std::llround(static_cast<double>(total_ - done) / rate)) * 1'000'000'000));
    std::string stats = fmt::format("{}/{} points, {} failed, {:.1f}/s{}", done, total_, failed, rate, left);
    if (skipped_ > 0) stats += fmt::format(" ({} already done)", skipped_);
    if (tty_) {
      constexpr size_t kWidth = 30;
      size_t fill = total_ ? done * kWidth / total_ : kWidth;
      eprint("\r\033[Kxnusim: sweep [{}{}] {}", std::string(fill, '#'), std::string(kWidth - fill, '.'), stats);
      if (last) eprint("\n");
    } else {
      eprint("xnusim: sweep: {}\n", stats);
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_, tty_;
  size_t total_, skipped_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point printed_at_{};
};

// A --vary combination loaded and checked, or why not.
struct Variant {
  ScenarioInput input;
  std::string error;  // the diagnostics, when the combination is bad
};

SweepRecord run_point(const SweepManifest& m, const SweepPoint& p, const Variant& v,
                      const std::vector<SweepMetric>& metrics, const std::optional<core::Duration>& duration) {
  SweepRecord r;
  r.index = p.index;
  r.key = sweep_point_key(m, p);
  r.policy = p.policy;
  r.vary_values = p.vary_values;
  r.seed = p.seed;
  r.metrics.assign(metrics.size(), std::nullopt);
  if (!v.input.scenario) {
    r.exit = kExitBadInput;
    r.message = v.error;
    return r;
  }
  const scenario::Scenario& s = *v.input.scenario;
  run::Options o;
  o.policy = p.policy;
  o.seed = p.seed;
  o.duration = duration;
  o.scenario_sha256 = v.input.sha256;
  o.sets = v.input.sets;
  try {
    run::Results res = run::run_scenario(s, o);
    for (size_t i = 0; i < metrics.size(); ++i) r.metrics[i] = sweep_metric_value(res, metrics[i]);
    r.results = reports::results_to_json(res).dump();
    if (!res.system.panics.empty()) {
      r.exit = kExitPanic;
      r.message = fmt::format("{}", fmt::join(res.system.panics, "; "));
    } else if (!m.ignore_expects && !run::expects_ok(res)) {
      r.exit = kExitExpectFailed;
      std::vector<std::string> bad;
      for (const metrics::ExpectResult& e : res.expect)
        if (!e.ok) bad.push_back(e.text);
      r.message = fmt::format("expect failed: {}", fmt::join(bad, "; "));
    }
  } catch (const core::TimeOverflow& e) {
    r.exit = kExitBadInput;
    r.message = e.pointer().empty() ? fmt::format("{}: error: {}", m.file, e.what())
                                    : fmt::format("{}: error: {}: {}", m.file, e.pointer(), e.what());
  } catch (const core::InternalError& e) {
    r.exit = kExitInternal;
    r.message = e.what();
  } catch (const std::exception& e) {
    r.exit = kExitInternal;
    r.message = fmt::format("internal error: {}", e.what());
  }
  return r;
}

// The metrics a sweep records when none is asked for: every metric the scenario's expects name
// (the numbers its author cared about), then the system's context switches, and the energy
// (system.energy_mj) when the scenario has a platform.
std::vector<std::string> default_metrics(const scenario::Scenario& s) {
  std::vector<std::string> out;
  for (const scenario::ExpectSpec& e : s.expects) {
    std::string name;
    switch (e.target) {
      case scenario::ExpectTarget::system: name = "system." + e.metric; break;
      case scenario::ExpectTarget::thread: name = "threads." + e.target_id + "." + e.metric; break;
      case scenario::ExpectTarget::lock: name = "locks." + e.target_id + "." + e.metric; break;
      case scenario::ExpectTarget::cpu: name = fmt::format("cpus.{}.{}", e.target_index, e.metric); break;
      case scenario::ExpectTarget::workloop: name = "workloops." + e.target_id + "." + e.metric; break;
      case scenario::ExpectTarget::interrupt: name = "interrupts." + e.target_id + "." + e.metric; break;
      case scenario::ExpectTarget::device: name = "devices." + e.target_id + "." + e.metric; break;
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  if (std::find(out.begin(), out.end(), "system.context_switches") == out.end()) out.emplace_back("system.context_switches");
  // With a platform, the run's energy too (docs/platforms.md).
  if (s.machine.platform && std::find(out.begin(), out.end(), "system.energy_mj") == out.end())
    out.emplace_back("system.energy_mj");
  return out;
}

// An error line when a --metric names an object the scenario does not declare.
template <typename Specs>
std::string check_id(const SweepMetric& m, const Specs& specs, const char* what) {
  std::vector<std::string> ids;
  for (const auto& s : specs) ids.push_back(s.id);
  if (std::find(ids.begin(), ids.end(), m.id) != ids.end()) return "";
  std::string hint = core::closest_match(m.id, ids);
  return fmt::format("xnusim: error: --metric {}: the scenario has no {} \"{}\"{}", m.name, what, m.id,
                     hint.empty() ? "" : fmt::format("\n  note: did you mean \"{}\"?", hint));
}

std::string check_metric_object(const SweepMetric& m, const scenario::Scenario& s) {
  switch (m.kind) {
    case metrics::TargetKind::thread: return check_id(m, s.threads, "thread");
    case metrics::TargetKind::lock: return check_id(m, s.locks, "lock");
    case metrics::TargetKind::workloop: return check_id(m, s.workloops, "work loop");
    case metrics::TargetKind::interrupt: return check_id(m, s.interrupts, "interrupt source");
    case metrics::TargetKind::device: return check_id(m, s.devices, "device");
    default: return "";  // system; a CPU may exist in some configurations only
  }
}

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "xnusim";
  return std::string(buf, static_cast<size_t>(n));
}

std::string current_dir() {
  std::error_code ec;
  std::string d = std::filesystem::current_path(ec).string();
  return ec ? "." : d;
}

// The sweep's own arguments, for the shard commands (-o, --shard, --emit and the like left out).
std::string grid_arguments(const SweepArgs& a) {
  std::string c = shell_word(a.file);
  const GridArgs& g = a.grid;
  if (!g.policies.empty()) c += " --policies " + shell_word(g.policies);
  if (g.cpus) c += " --cpus " + shell_word(*g.cpus);
  for (const std::string& s : g.sets) c += " --set " + shell_word(s);
  for (const std::string& v : g.varies) c += " --vary " + shell_word(v);
  if (g.seeds) c += " --seeds " + shell_word(*g.seeds);
  if (g.duration) c += " --duration " + shell_word(*g.duration);
  for (const std::string& m : a.metrics) c += " --metric " + shell_word(m);
  if (a.ignore_expects) c += " --ignore-expects";
  return c;
}

std::string shards_dir(const std::string& out) {
  std::string o = out;
  while (o.size() > 1 && o.back() == '/') o.pop_back();
  return o + ".shards";
}

std::string emit_slurm(const SweepArgs& a, size_t n, const std::string& jobs) {
  std::string exe = shell_word(self_path()), cwd = shell_word(current_dir());
  std::string sd = shards_dir(a.out);
  std::string merge_dirs;
  for (size_t k = 1; k <= n; ++k) merge_dirs += " " + shell_word(fmt::format("{}/{}", sd, k));
  std::string cpus = jobs == "0" ? "" : fmt::format(" --cpus-per-task={}", jobs);
  return fmt::format(
      "#!/bin/bash\n"
      "# xnusim sweep on Slurm: a job array of {n} tasks, each running one shard of the grid into\n"
      "# {sd}/K, then a merge job (after every task succeeded) that writes {out}.\n"
      "# Submit with: bash THIS_FILE   (prints the array's and the merge job's ids)\n"
      "set -euo pipefail\n"
      "cd {cwd}\n"
      "mkdir -p {sdq}\n"
      "array=$(sbatch --parsable --job-name=xnusim-sweep --array=1-{n}{cpus} --output={sdq}/slurm-%A_%a.log <<'XNUSIM_SHARD'\n"
      "#!/bin/bash\n"
      "cd {cwd} && exec {exe} sweep {args} -j {jobs} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" -o {sdq}/\"$SLURM_ARRAY_TASK_ID\" -q\n"
      "XNUSIM_SHARD\n"
      ")\n"
      "array=${{array%%;*}}\n"
      "merge=$(sbatch --parsable --job-name=xnusim-merge --dependency=afterok:$array --output={sdq}/slurm-merge-%j.log <<'XNUSIM_MERGE'\n"
      "#!/bin/bash\n"
      "cd {cwd} && exec {exe} merge{dirs} -o {outq} -q\n"
      "XNUSIM_MERGE\n"
      ")\n"
      "merge=${{merge%%;*}}\n"
      "echo \"$array $merge\"\n",
      fmt::arg("n", n), fmt::arg("sd", sd), fmt::arg("out", a.out), fmt::arg("cwd", cwd), fmt::arg("sdq", shell_word(sd)),
      fmt::arg("cpus", cpus), fmt::arg("exe", exe), fmt::arg("args", grid_arguments(a)), fmt::arg("jobs", jobs),
      fmt::arg("dirs", merge_dirs), fmt::arg("outq", shell_word(a.out)));
}

std::string emit_parallel(const SweepArgs& a, size_t n, const std::string& jobs) {
  std::string exe = shell_word(self_path()), cwd = shell_word(current_dir());
  std::string sd = shards_dir(a.out);
  std::string shard_cmd = fmt::format("cd {} && {} sweep {} -j {} --shard {{}}/{} -o {}/{{}} -q", cwd, exe,
                                      grid_arguments(a), jobs, n, shell_word(sd), shell_word(sd));
  std::string ks, dirs;
  for (size_t k = 1; k <= n; ++k) {
    ks += fmt::format(" {}", k);
    dirs += " " + shell_word(fmt::format("{}/{}", sd, k));
  }
  return fmt::format("cd {} && parallel --will-cite --halt soon,fail=1 -j 1 -S {} {} :::{} && {} merge{} -o {} -q\n", cwd,
                     shell_word(a.hosts), shell_word(shard_cmd), ks, exe, dirs, shell_word(a.out));
}

int sweep_command(const SweepArgs& a) {
  std::string error;
  auto fail = [&](const std::string& e) {
    eprint("{}\n", trim_newlines(e));
    return kExitBadInput;
  };
  std::optional<Grid> parsed = parse_grid(a.grid, error);
  if (!parsed) return fail(error);
  Grid& grid = *parsed;
  const std::vector<Vary>& varies = grid.varies;
  const std::optional<std::vector<uint64_t>>& seeds = grid.seeds;
  const std::optional<core::Duration>& duration = grid.duration;
  size_t cores = std::max(1U, std::thread::hardware_concurrency());
  size_t jobs_wanted = cores;
  std::string jobs_text = "0";
  if (a.jobs) {
    std::optional<uint64_t> j = parse_u64(*a.jobs);
    if (!j || *j > 1024)
      return fail(fmt::format("xnusim: error: -j {}: must be an integer from 0 (every core) to 1024", *a.jobs));
    jobs_wanted = *j == 0 ? cores : static_cast<size_t>(*j);
    jobs_text = *a.jobs;
  }
  std::optional<std::pair<size_t, size_t>> shard;
  if (a.shard) {
    shard = parse_shard(*a.shard, error);
    if (!shard) return fail(error);
  }
  std::optional<std::string> emit;
  size_t emit_shards = 0;
  if (a.emit) {
    if (*a.emit != "slurm" && *a.emit != "parallel")
      return fail(fmt::format("xnusim: error: --emit {}: expected slurm or parallel", *a.emit));
    if (a.shard) return fail("xnusim: error: --emit: not with --shard (the emitted script runs every shard)");
    if (!a.shards)
      return fail(fmt::format("xnusim: error: --emit {}: give the number of shards with --shards N (e.g. --shards 8)", *a.emit));
    std::optional<uint64_t> n = parse_u64(*a.shards);
    if (!n || *n == 0 || *n > 10000)
      return fail(fmt::format("xnusim: error: --shards {}: must be an integer from 1 to 10000", *a.shards));
    emit = a.emit;
    emit_shards = static_cast<size_t>(*n);
  } else if (a.shards) {
    return fail("xnusim: error: --shards: only with --emit slurm|parallel (a single slice is --shard K/N)");
  }
  if (a.hosts != ":" && (!emit || *emit != "parallel"))
    return fail("xnusim: error: --hosts: only with --emit parallel");
  if (a.file == "-") return fail("xnusim: error: sweep: the scenario must be a file (shards and re-runs read it again)");

  // The scenario: read once; the base (every --set, no --vary) names the defaults.
  std::string text;
  {
    core::Diagnostics diag;
    if (!scenario::read_scenario_file(a.file, text, diag)) {
      eprint("{}", diag.format());
      return kExitBadInput;
    }
  }
  // --ignore-expects drops the scenario's expects before validation (an expect about CPU 1 is
  // bad input on one CPU), as one more edit; the default metrics still come from them.
  std::vector<std::string> expect_metrics;
  {
    ScenarioInput with_expects = load_scenario_input_text(text, a.file, grid.edits);
    if (with_expects.scenario) expect_metrics = default_metrics(*with_expects.scenario);
  }
  if (a.ignore_expects) {
    Override o;
    o.path = "expect";
    o.value = "[]";
    o.text = "expect=[]";
    o.label = "--ignore-expects";
    grid.edits.push_back(std::move(o));
  }
  ScenarioInput base = load_scenario_input_text(text, a.file, grid.edits);
  if (!base.scenario) {
    eprint("{}", base.diagnostics.format());
    return kExitBadInput;
  }
  std::vector<SweepMetric> metrics;
  std::vector<std::string> metric_names = a.metrics.empty() ? (expect_metrics.empty() ? default_metrics(*base.scenario) : expect_metrics) : a.metrics;
  for (const std::string& name : metric_names) {
    std::optional<SweepMetric> m = parse_sweep_metric(name, error);
    if (!m) return fail(error);
    if (std::string e = check_metric_object(*m, *base.scenario); !e.empty()) return fail(e);
    if (std::any_of(metrics.begin(), metrics.end(), [&](const SweepMetric& x) { return x.name == name; }))
      return fail(fmt::format("xnusim: error: --metric {}: listed twice", name));
    metrics.push_back(std::move(*m));
  }

  SweepManifest man;
  man.scenario = base.scenario->name;
  man.description = base.scenario->description;
  man.file = a.file;
  man.sha256 = base.sha256;
  man.policies = grid.policies;
  man.varies = varies;
  man.seeds = seeds ? *seeds : std::vector<uint64_t>{base.scenario->seed};
  for (const Override& o : grid.edits)
    if (o.label != "--ignore-expects") man.sets.push_back(o.text);
  man.duration = a.grid.duration.value_or("");
  man.metrics = metric_names;
  man.ignore_expects = a.ignore_expects;
  man.shard = shard;
  if (man.points() > kMaxRuns)
    return fail(fmt::format("xnusim: error: sweep: {} points asked for (policies x --vary values x seeds); the limit "
                            "is {}", man.points(), kMaxRuns));

  // Every combination, loaded and checked; a bad one fails its points (recorded), unless every
  // one is bad, which is bad input.
  std::vector<std::vector<size_t>> combos = vary_combinations(varies);
  std::vector<Variant> variants;
  size_t bad_variants = 0;
  for (const auto& combo : combos) {
    std::vector<Override> all = grid.edits;
    for (size_t v = 0; v < varies.size(); ++v) {
      Override o;
      o.path = varies[v].path;
      o.value = varies[v].values[combo[v]];
      o.text = o.path + "=" + o.value;
      o.label = "--vary " + o.text;
      all.push_back(std::move(o));
    }
    Variant var;
    var.input = load_scenario_input_text(text, a.file, all);
    if (!var.input.scenario) {
      var.error = trim_newlines(var.input.diagnostics.format());
    } else if (std::string e = run::check_supported(*var.input.scenario); !e.empty()) {
      var.error = trim_newlines(e);
      var.input.scenario.reset();
    }
    if (!var.input.scenario) ++bad_variants;
    variants.push_back(std::move(var));
  }
  if (bad_variants == variants.size()) {
    eprint("{}\n", variants.front().error);
    return kExitBadInput;
  }

  if (emit) {
    if (a.out.empty()) return fail(fmt::format("xnusim: error: --emit {}: give the output folder with -o DIR", *emit));
    std::string script = *emit == "slurm" ? emit_slurm(a, emit_shards, a.jobs ? jobs_text : "1")
                                          : emit_parallel(a, emit_shards, jobs_text);
    write_text(stdout, script);
    return kExitOk;
  }

  // The output folder, and what it already holds.
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec || !std::filesystem::is_directory(a.out))
    return fail(fmt::format("xnusim: error: -o {}: cannot create the folder ({})", a.out,
                            ec ? ec.message() : "a file of that name exists"));
  std::map<std::string, SweepRecord> existing;
  for (SweepRecord& r : read_existing_records(a.out, man, true)) existing[r.key] = std::move(r);

  std::vector<size_t> mine;  // the indices of this slice, in order
  for (size_t i = 0; i < man.points(); ++i)
    if (!shard || in_shard(i, shard->first, shard->second)) mine.push_back(i);
  std::vector<std::optional<SweepRecord>> records(mine.size());
  std::vector<size_t> todo;  // positions in `mine`
  std::vector<SweepPoint> points;
  for (size_t pos = 0; pos < mine.size(); ++pos) {
    points.push_back(sweep_point(man, combos, mine[pos]));
    auto it = existing.find(sweep_point_key(man, points.back()));
    if (it != existing.end()) {
      records[pos] = it->second;
      records[pos]->index = mine[pos];
    } else {
      todo.push_back(pos);
    }
  }
  existing.clear();

  install_signal_handlers();
  std::string journal_path = a.out + "/" + kJournalName;
  int journal = ::open(journal_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (journal < 0) return fail(fmt::format("xnusim: error: -o {}: cannot write {} ({})", a.out, journal_path, std::strerror(errno)));

  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0, failed = 0;
  std::string write_error;
  auto worker = [&] {
    for (size_t t = next++; t < todo.size(); t = next++) {
      size_t pos = todo[t];
      SweepRecord r = run_point(man, points[pos], variants[points[pos].combo], metrics, duration);
      std::string line = record_line(r, man);
      std::lock_guard<std::mutex> lock(mu);
      // One write(2) of the whole line on an O_APPEND descriptor: the line lands whole or (when
      // the process dies inside the call) is cut off at the end, which the next run removes.
      for (size_t off = 0; off < line.size() && write_error.empty();) {
        ssize_t w = ::write(journal, line.data() + off, line.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) write_error = fmt::format("xnusim: error: writing {}: {}", journal_path, std::strerror(errno));
        else off += static_cast<size_t>(w);
      }
      if (!r.ok()) ++failed;
      records[pos] = std::move(r);
      ++done;
      cv.notify_one();
    }
  };
  Progress progress(!a.quiet, isatty(fileno(stderr)) != 0, todo.size(), mine.size() - todo.size());
  size_t workers = std::min(jobs_wanted, todo.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(worker);
  {
    std::unique_lock<std::mutex> lock(mu);
    while (done < todo.size()) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      progress.report(done, failed, false);
    }
  }
  for (std::thread& t : threads) t.join();
  progress.report(done, failed, true);
  ::close(journal);
  if (!write_error.empty()) return fail(write_error);

  std::vector<SweepRecord> ordered;
  for (auto& r : records) ordered.push_back(std::move(*r));
  if (std::string e = write_sweep_folder(a.out, render_sweep(man, ordered)); !e.empty()) return fail(e);

  size_t total_failed = 0;
  std::map<std::string, size_t> why;
  for (const SweepRecord& r : ordered)
    if (!r.ok()) {
      ++total_failed;
      ++why[fmt::format("exit {}: {}", r.exit, r.message.substr(0, r.message.find('\n')))];
    }
  if (!a.quiet) {
    eprint("xnusim: sweep: {} points ({} run now, {} already done), {} failed; wrote {}/summary.html\n", ordered.size(),
           todo.size(), ordered.size() - todo.size(), total_failed, a.out);
    size_t shown = 0;
    for (const auto& [message, count] : why) {
      if (++shown > 10) {
        eprint("  ... and {} other messages (summary.html lists them all)\n", why.size() - 10);
        break;
      }
      eprint("  {} x {}\n", count, message);
    }
  }
  return kExitOk;
}

struct MergeArgs {
  std::vector<std::string> dirs;
  std::string out;
  bool quiet = false;
};

int merge_command(const MergeArgs& a) {
  auto fail = [&](const std::string& e) {
    eprint("{}\n", e);
    return kExitBadInput;
  };
  std::optional<SweepManifest> whole;
  std::vector<std::optional<SweepRecord>> by_index;
  std::vector<std::string> shards_seen;
  for (const std::string& dir : a.dirs) {
    std::string path = dir + "/sweep.json", text;
    {
      std::FILE* f = std::fopen(path.c_str(), "rb");
      if (!f) return fail(fmt::format("xnusim: error: merge: {}: cannot read ({}); is {} the output folder of a sweep?", path,
                                      std::strerror(errno), dir));
      char buf[65536];
      size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
    }
    std::string error;
    Json j = Json::parse(text, nullptr, false);
    std::optional<SweepManifest> m = SweepManifest::from_json(j, error);
    if (!m) return fail(fmt::format("xnusim: error: merge: {}: {}", path, error));
    std::optional<std::pair<size_t, size_t>> shard = m->shard;
    m->shard.reset();
    if (!whole) {
      whole = m;
      by_index.assign(whole->points(), std::nullopt);
    } else if (m->to_json() != whole->to_json()) {
      return fail(fmt::format("xnusim: error: merge: {} is from a different sweep than {} (scenario, grid, seeds or "
                              "metrics differ); merge only the shards of one sweep", dir, a.dirs.front()));
    }
    for (const SweepRecord& r : read_existing_records(dir, *whole, false)) {
      if (r.index >= by_index.size()) continue;
      if (by_index[r.index] && by_index[r.index]->key != r.key)
        return fail(fmt::format("xnusim: error: merge: point {} is recorded twice with different configurations", r.index));
      by_index[r.index] = r;
    }
    (void)shard;
  }
  if (!whole) return fail("xnusim: error: merge: no folders given");
  // Every point must be there, and be the point of that index.
  std::vector<std::vector<size_t>> combos = vary_combinations(whole->varies);
  size_t missing = 0;
  size_t first_missing = 0;
  std::vector<SweepRecord> ordered;
  for (size_t i = 0; i < by_index.size(); ++i) {
    if (!by_index[i] || by_index[i]->key != sweep_point_key(*whole, sweep_point(*whole, combos, i))) {
      if (missing++ == 0) first_missing = i;
      continue;
    }
    ordered.push_back(std::move(*by_index[i]));
  }
  if (missing > 0)
    return fail(fmt::format("xnusim: error: merge: {} of {} points are missing (the first is point {}); merge the "
                            "folders of every shard, after each has finished", missing, by_index.size(), first_missing));
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec || !std::filesystem::is_directory(a.out))
    return fail(fmt::format("xnusim: error: -o {}: cannot create the folder", a.out));
  if (std::string e = write_sweep_folder(a.out, render_sweep(*whole, ordered)); !e.empty()) return fail(e);
  if (!a.quiet)
    eprint("xnusim: merge: {} points from {} folder{} into {}\n", ordered.size(), a.dirs.size(),
           a.dirs.size() == 1 ? "" : "s", a.out);
  return kExitOk;
}

}  // namespace

Command add_sweep_command(CLI::App& parent) {
  auto a = std::make_shared<SweepArgs>();
  Command c;
  c.app = parent.add_subcommand("sweep",
                                "Run every point of a grid (policies x --vary values x seeds) in parallel into a "
                                "folder: points.csv, points.jsonl, summary.csv, summary.html; resumable, shardable.");
  c.app->add_option("scenario", a->file, "Scenario file (JSON, format v1)")->required();
  add_grid_options(*c.app, a->grid, "run");
  c.app->add_option("--metric", a->metrics,
                    "A metric to tabulate and plot, e.g. threads.audio.latency_ns.p99 or cpus.0.idle_ns; repeatable "
                    "(default: those the scenario's expects name, and system.context_switches)")
      ->allow_extra_args(false);
  c.app->add_option("-j,--jobs", a->jobs, "Runs at a time; 0 = every core (default)");
  c.app->add_option("-o,--output", a->out, "Output folder (created; a re-run skips the points already in it)")->required();
  c.app->add_option("--shard", a->shard, "K/N: run only the K-th of N slices of the grid (join them with xnusim merge)");
  c.app->add_option("--emit", a->emit,
                    "slurm: print a Slurm script (a job array of --shards tasks and a merge job); parallel: print a "
                    "GNU parallel command line for --hosts. Runs nothing.");
  c.app->add_option("--shards", a->shards, "With --emit: the number of slices");
  c.app->add_option("--hosts", a->hosts,
                    "With --emit parallel: the hosts, as parallel's -S takes them (default \":\", this machine)");
  c.app->add_flag("--ignore-expects", a->ignore_expects,
                  "Drop the scenario's expects (e.g. written for another machine): they are neither validated nor "
                  "checked");
  c.app->add_flag("--quiet,-q", a->quiet, "No progress and no closing lines on stderr");
  c.run = [a] { return sweep_command(*a); };
  return c;
}

Command add_merge_command(CLI::App& parent) {
  auto a = std::make_shared<MergeArgs>();
  Command c;
  c.app = parent.add_subcommand("merge", "Join the output folders of the shards of one sweep into one folder, the same "
                                         "as a sweep on one machine writes.");
  c.app->add_option("dirs", a->dirs, "The shards' output folders")->required();
  c.app->add_option("-o,--output", a->out, "The merged folder (created)")->required();
  c.app->add_flag("--quiet,-q", a->quiet, "No closing line on stderr");
  c.run = [a] { return merge_command(*a); };
  return c;
}

}  // namespace sim::cli
