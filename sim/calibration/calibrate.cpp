// `xnusim calibrate`: the measurements (see calibrate.hpp and docs/calibration.md).
#include "sim/calibration/calibrate.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sim::calibration {
namespace {

// Waits while *addr == val, at most 50 ms (so that the stop flag is seen).
void futex_wait(std::atomic<int>& a, int val) {
  timespec ts{0, 50'000'000};
  syscall(SYS_futex, reinterpret_cast<int*>(&a), FUTEX_WAIT_PRIVATE, val, &ts, nullptr, 0);
}
void futex_wake(std::atomic<int>& a) {
  syscall(SYS_futex, reinterpret_cast<int*>(&a), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool stopped() { return stop_flag().load(std::memory_order_relaxed); }

// The priorities the measurements use (SCHED_FIFO, below the watchdog's 99).
constexpr int kLow = 40, kMid = 50, kHigh = 60, kTimer = 80;
constexpr size_t kMaxSamples = 2'000'000;

struct Env {
  int a = 0;        // the CPU of same-CPU measurements
  int b = -1;       // a second CPU for the cross-CPU one, or -1
  bool fifo = true; // every thread got SCHED_FIFO so far
  Watchdog* dog = nullptr;
};

bool start(RtThread& t, std::function<void()> fn, int cpu, int prio, Env& env) {
  std::string err;
  if (!t.start(std::move(fn), cpu, prio, 0, err)) return false;
  if (!t.fifo()) env.fifo = false;
  while (t.tid() == 0) sched_yield();
  if (env.dog) env.dog->watch(t.tid());
  return true;
}

// Two threads on one CPU pass a turn through a futex; half a round trip is one switch (plus
// the futex calls), as `perf bench sched pipe` and lat_ctx count it.
std::vector<int64_t> context_switch(Env& env, int64_t budget) {
  std::vector<int64_t> samples;
  std::atomic<int> turn{0};
  std::atomic<bool> done{false};
  RtThread a, b;
  start(b, [&] {
    for (;;) {
      while (turn.load() != 1 && !done.load()) futex_wait(turn, 0);
      if (done.load()) return;
      turn.store(0);
      futex_wake(turn);
    }
  }, env.a, kMid, env);
  start(a, [&] {
    int64_t end = now_ns() + budget;
    while (now_ns() < end && !stopped() && samples.size() < kMaxSamples) {
      int64_t t0 = now_ns();
      turn.store(1);
      futex_wake(turn);
      while (turn.load() != 0 && !stopped()) futex_wait(turn, 1);
      samples.push_back((now_ns() - t0) / 2);
    }
    done.store(true);
    turn.store(1);
    futex_wake(turn);
  }, env.a, kMid, env);
  a.join();
  b.join();
  return samples;
}

// A waker stamps the time and wakes a sleeper through a futex; the sleeper takes the difference
// when it runs. Same CPU: the sleeper has the higher priority, so it preempts the waker.
std::vector<int64_t> wakeup(Env& env, int64_t budget, int waker_cpu, int sleeper_cpu) {
  std::vector<int64_t> samples;
  std::atomic<int> seq{0}, ack{0};
  std::atomic<int64_t> stamp{0};
  std::atomic<bool> done{false};
  std::atomic<size_t> n{0};
  RtThread sleeper, waker;
  start(sleeper, [&] {
    int last = 0;
    for (;;) {
      while (seq.load() == last && !done.load()) futex_wait(seq, last);
      if (done.load()) return;
      int64_t t = now_ns();
      samples.push_back(t - stamp.load());
      n.store(samples.size());
      last = seq.load();
      ack.store(last);
    }
  }, sleeper_cpu, kHigh, env);
  start(waker, [&] {
    int64_t end = now_ns() + budget;
    int i = 0;
    while (now_ns() < end && !stopped() && n.load() < kMaxSamples) {
      sleep_until(now_ns() + 100'000);  // the sleeper is surely asleep
      ++i;
      stamp.store(now_ns());
      seq.store(i);
      futex_wake(seq);
      int64_t give_up = now_ns() + 100'000'000;
      while (ack.load() != i && now_ns() < give_up && !stopped()) sched_yield();
    }
    done.store(true);
    seq.store(-1);
    futex_wake(seq);
  }, waker_cpu, kLow, env);
  waker.join();
  sleeper.join();
  return samples;
}

// cyclictest's method: absolute clock_nanosleep at a period; latency = actual - intended.
std::vector<int64_t> timer(Env& env, int64_t budget, int64_t period) {
  std::vector<int64_t> samples;
  RtThread t;
  start(t, [&] {
    int64_t end = now_ns() + budget;
    int64_t next = now_ns() + period;
    while (next < end && !stopped() && samples.size() < kMaxSamples) {
      timespec ts{static_cast<time_t>(next / 1'000'000'000), static_cast<long>(next % 1'000'000'000)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      }
      int64_t now = now_ns();
      samples.push_back(now - next);
      next += period;
      while (next < now) next += period;  // overran a period: skip to the next one ahead
    }
  }, env.a, kTimer, env);
  t.join();
  return samples;
}

// Mutex hand-off: the holder (lower priority) stamps the time and unlocks; the waiter (higher
// priority, blocked in pthread_mutex_lock) takes the difference when it holds the mutex.
std::vector<int64_t> handoff(Env& env, int64_t budget, int protocol) {
  std::vector<int64_t> samples;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setprotocol(&ma, protocol);
  pthread_mutex_t m;
  pthread_mutex_init(&m, &ma);
  pthread_mutexattr_destroy(&ma);
  std::atomic<int> seq{0}, ack{0}, ready{0};
  std::atomic<int64_t> stamp{0};
  std::atomic<bool> done{false};
  std::atomic<size_t> n{0};
  RtThread waiter, holder;
  start(waiter, [&] {
    int last = 0;
    for (;;) {
      while (seq.load() == last && !done.load()) futex_wait(seq, last);
      if (done.load()) return;
      last = seq.load();
      ready.store(last);
      pthread_mutex_lock(&m);
      samples.push_back(now_ns() - stamp.load());
      n.store(samples.size());
      pthread_mutex_unlock(&m);
      ack.store(last);
    }
  }, env.a, kHigh, env);
  start(holder, [&] {
    int64_t end = now_ns() + budget;
    int i = 0;
    while (now_ns() < end && !stopped() && n.load() < kMaxSamples) {
      ++i;
      pthread_mutex_lock(&m);
      seq.store(i);
      futex_wake(seq);
      int64_t give_up = now_ns() + 100'000'000;
      while (ready.load() != i && now_ns() < give_up && !stopped()) sched_yield();
      if (!env.fifo) busy_run(50'000);  // without SCHED_FIFO the waiter may not be blocked yet
      stamp.store(now_ns());
      pthread_mutex_unlock(&m);
      while (ack.load() != i && now_ns() < give_up && !stopped()) sched_yield();
      sleep_until(now_ns() + 50'000);
    }
    done.store(true);
    seq.store(-1);
    futex_wake(seq);
  }, env.a, kLow, env);
  holder.join();
  waiter.join();
  pthread_mutex_destroy(&m);
  return samples;
}

// The busy loop replay uses for `run`: how much longer than asked a 1 ms run takes here.
std::vector<int64_t> run_cost(Env& env, int64_t budget) {
  std::vector<int64_t> samples;
  RtThread t;
  start(t, [&] {
    int64_t end = now_ns() + budget;
    while (now_ns() < end && !stopped()) {
      int64_t wall = busy_run(1'000'000);
      samples.push_back(wall - 1'000'000);
      sleep_until(now_ns() + 1'000'000);  // leave the CPU to others half the time
    }
  }, env.a, kMid, env);
  t.join();
  return samples;
}

Stats stats_from_histogram(const std::map<int64_t, int64_t>& hist_us, int64_t overflow,
                           int64_t max_us) {
  Stats s;
  int64_t n = overflow;
  for (const auto& [k, v] : hist_us) n += v;
  s.count = n;
  if (n == 0) return s;
  auto rank = [&](double q) {
    int64_t r = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * double(n))));
    int64_t seen = 0;
    for (const auto& [k, v] : hist_us) {
      seen += v;
      if (seen >= r) return k * 1000;
    }
    return max_us * 1000;
  };
  double sum = 0;
  for (const auto& [k, v] : hist_us) sum += double(k) * double(v);
  s.min = hist_us.empty() ? max_us * 1000 : hist_us.begin()->first * 1000;
  s.p50 = rank(0.5);
  s.p99 = rank(0.99);
  s.p999 = rank(0.999);
  s.max = max_us * 1000;
  s.mean = (sum + double(overflow) * double(max_us)) * 1000.0 / double(n);
  return s;
}

CyclictestResult run_cyclictest(int cpu, int64_t budget, int64_t period) {
  CyclictestResult r;
  std::string exe = find_cyclictest();
  if (exe.empty()) {
    r.error = "cyclictest is not installed (Debian: apt-get install rt-tests)";
    return r;
  }
  int64_t secs = std::max<int64_t>(1, (budget + 500'000'000) / 1'000'000'000);
  char tmpl[] = "/tmp/xnusim-cyclictest-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) {
    r.error = "cannot create a temporary file for cyclictest's JSON";
    return r;
  }
  close(fd);
  std::string json_path = tmpl;
  r.command = fmt::format("{} -m -q -p {} -i {} -a {} -t 1 -D {} -h 10000 --json={}", exe, kTimer,
                          period / 1000, cpu, secs, json_path);
  std::string cmd = fmt::format("timeout -s INT {} {} >/dev/null 2>&1", secs + 10, r.command);
  int rc = std::system(cmd.c_str());
  std::ifstream in(json_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(json_path);
  if (rc != 0 && text.empty()) {
    r.error = fmt::format("cyclictest failed (status {})", rc);
    return r;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    const nlohmann::json& t = j.at("thread").at("0");
    std::map<int64_t, int64_t> hist;
    int64_t in_hist = 0;
    for (auto it = t.at("histogram").begin(); it != t.at("histogram").end(); ++it) {
      hist[std::stoll(it.key())] = it.value().get<int64_t>();
      in_hist += it.value().get<int64_t>();
    }
    int64_t cycles = t.at("cycles").get<int64_t>();
    r.overflow = std::max<int64_t>(0, cycles - in_hist);
    r.stats = stats_from_histogram(hist, r.overflow, t.at("max").get<int64_t>());
    r.stats.min = t.at("min").get<int64_t>() * 1000;
    r.stats.mean = t.at("avg").get<double>() * 1000.0;
    r.ran = true;
  } catch (const std::exception& e) {
    r.error = fmt::format("cannot read cyclictest's JSON: {}", e.what());
  }
  return r;
}

std::string ns_text(int64_t ns) {
  if (ns >= 10'000'000) return fmt::format("{:.1f} ms", double(ns) / 1e6);
  return fmt::format("{:.1f} us", double(ns) / 1e3);
}

}  // namespace

Stats stats_of(std::vector<int64_t>& v) {
  Stats s;
  s.count = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t r = static_cast<size_t>(std::ceil(q * double(v.size())));
    return v[std::clamp<size_t>(r, 1, v.size()) - 1];
  };
  s.min = v.front();
  s.max = v.back();
  s.p50 = rank(0.5);
  s.p99 = rank(0.99);
  s.p999 = rank(0.999);
  double sum = 0;
  for (int64_t x : v) sum += double(x);
  s.mean = sum / double(v.size());
  return s;
}

std::string find_cyclictest() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/cyclictest";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

void derive_costs(CalibrationResult& r) {
  auto find = [&](const std::string& key) -> const Measurement* {
    for (const Measurement& m : r.measurements)
      if (m.key == key && m.measured && m.stats.count > 0) return &m;
    return nullptr;
  };
  const Measurement* cs = find("context_switch");
  const Measurement* wake = find("wakeup_same_cpu");
  const Measurement* tim = find("timer_latency");
  r.context_switch_ns = cs ? cs->stats.p50 : 0;
  r.thread_wakeup_ns = wake ? std::max<int64_t>(0, wake->stats.p50 - r.context_switch_ns) : 0;
  int64_t irq = tim ? std::max<int64_t>(0, tim->stats.min - r.context_switch_ns - r.thread_wakeup_ns)
                    : 0;
  r.interrupt_entry_ns = irq / 2;
  r.interrupt_exit_ns = irq - irq / 2;
}

std::string calibrate(const CalibrateOptions& o, CalibrationResult& out) {
  CpuChoice choice;
  if (std::string e = choose_cpus(o.cpus, o.all_cpus, 2, choice); !e.empty()) return e;
  out.machine = machine_identity();
  out.cpus = choice.cpus;
  Env env;
  env.a = choice.cpus.front();
  env.b = choice.cpus.size() > 1 ? choice.cpus[1] : -1;
  int64_t start = now_ns();
  AffinityGuard affinity;
  StopHandlers handlers;
  // The watchdog ends the run at its duration plus a margin, whatever happens.
  Watchdog dog(start + o.duration_ns + o.duration_ns / 2 + 2'000'000'000, 2'000'000'000,
               choice.spare);
  env.dog = &dog;
  pin_self_to(choice.spare.empty() ? choice.cpus : choice.spare);
  out.sched_fifo = sched_fifo_allowed();
  if (!out.sched_fifo)
    out.warnings.push_back("SCHED_FIFO was refused (not root, no CAP_SYS_NICE): every thread ran "
                           "at SCHED_OTHER, so the figures include the fair scheduler's delays");
  out.ns_per_iteration = measure_loop_ns_per_iteration();
  int64_t d = o.duration_ns;
  bool cross = env.b >= 0;
  int64_t share = d / 100;
  auto add = [&](std::string key, std::string what, std::vector<int64_t> samples) {
    Measurement m;
    m.key = std::move(key);
    m.what = std::move(what);
    m.measured = !samples.empty();
    if (!m.measured) m.skipped = "no sample (stopped)";
    m.stats = stats_of(samples);
    out.measurements.push_back(std::move(m));
  };
  add("context_switch", fmt::format("context switch on CPU {} (futex ping-pong, half a round trip)", env.a),
      context_switch(env, share * 15));
  add("wakeup_same_cpu", fmt::format("wakeup latency on CPU {} (futex wake to running)", env.a),
      wakeup(env, share * 15, env.a, env.a));
  if (cross) {
    add("wakeup_cross_cpu", fmt::format("wakeup latency CPU {} -> CPU {}", env.a, env.b),
        wakeup(env, share * 15, env.a, env.b));
  } else {
    Measurement m;
    m.key = "wakeup_cross_cpu";
    m.what = "wakeup latency across CPUs";
    m.skipped = "needs two CPUs in --cpus (with --all-cpus on a 2-CPU machine)";
    out.measurements.push_back(m);
  }
  int64_t timer_budget = share * (cross ? 30 : 45);
  std::vector<int64_t> tsamples = timer(env, timer_budget, o.timer_period_ns);
  // The histogram: 1 us buckets up to 10 ms, as cyclictest -h 10000.
  out.timer_histogram.bucket_ns = 1000;
  out.timer_histogram.counts.assign(10000, 0);
  for (int64_t x : tsamples) {
    int64_t b = std::max<int64_t>(0, x) / 1000;
    if (b >= 10000)
      ++out.timer_histogram.overflow;
    else
      ++out.timer_histogram.counts[static_cast<size_t>(b)];
  }
  while (!out.timer_histogram.counts.empty() && out.timer_histogram.counts.back() == 0)
    out.timer_histogram.counts.pop_back();
  add("timer_latency",
      fmt::format("timer wakeup latency on CPU {} (absolute clock_nanosleep, period {} us)", env.a,
                  o.timer_period_ns / 1000),
      tsamples);
  if (o.vs_cyclictest && !stopped()) out.cyclictest = run_cyclictest(env.a, timer_budget, o.timer_period_ns);
  add("mutex_handoff_none", fmt::format("mutex hand-off on CPU {}, PTHREAD_PRIO_NONE", env.a),
      handoff(env, share * 10, PTHREAD_PRIO_NONE));
  add("mutex_handoff_inherit", fmt::format("mutex hand-off on CPU {}, PTHREAD_PRIO_INHERIT", env.a),
      handoff(env, share * 10, PTHREAD_PRIO_INHERIT));
  add("run_1ms_overrun", "a 1 ms `run` (busy loop on thread CPU time): wall time minus 1 ms",
      run_cost(env, share * 5));
  if (!env.fifo && out.sched_fifo) out.sched_fifo = false;
  out.interrupted = stopped();
  if (dog.fired()) out.warnings.push_back("the watchdog ended the calibration early");
  else if (handlers.interrupted()) out.warnings.push_back("interrupted: the figures cover only what was measured");
  out.duration_ns = now_ns() - start;
  derive_costs(out);
  return "";
}

std::string calibration_json(const CalibrationResult& r) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["format"] = "xnusim-calibration";
  j["version"] = 1;
  j["machine"] = {{"cpu_model", r.machine.cpu_model},
                  {"kernel", r.machine.kernel},
                  {"governor", r.machine.governor},
                  {"online_cpus", r.machine.online_cpus},
                  {"sched_rt_runtime_us", r.machine.rt_runtime_us},
                  {"sched_rt_period_us", r.machine.rt_period_us},
                  {"sched_fifo", r.sched_fifo},
                  {"cpus", r.cpus}};
  j["duration_ns"] = r.duration_ns;
  j["interrupted"] = r.interrupted;
  j["costs_ns"] = {{"context_switch", r.context_switch_ns},
                   {"interrupt_entry", r.interrupt_entry_ns},
                   {"interrupt_exit", r.interrupt_exit_ns},
                   {"thread_wakeup", r.thread_wakeup_ns}};
  ordered_json ms = ordered_json::object();
  ms["busy_loop"] = {{"ns_per_iteration", r.ns_per_iteration}};
  for (const Measurement& m : r.measurements) {
    ordered_json e;
    e["what"] = m.what;
    if (!m.measured) {
      e["skipped"] = m.skipped;
    } else {
      e["samples"] = m.stats.count;
      e["min_ns"] = m.stats.min;
      e["p50_ns"] = m.stats.p50;
      e["p99_ns"] = m.stats.p99;
      e["p999_ns"] = m.stats.p999;
      e["max_ns"] = m.stats.max;
      e["mean_ns"] = std::llround(m.stats.mean);
    }
    if (m.key == "timer_latency" && m.measured)
      e["histogram"] = {{"bucket_ns", r.timer_histogram.bucket_ns},
                        {"counts", r.timer_histogram.counts},
                        {"overflow", r.timer_histogram.overflow}};
    ms[m.key] = e;
  }
  j["measurements"] = ms;
  if (r.cyclictest.ran || !r.cyclictest.error.empty()) {
    ordered_json c;
    if (r.cyclictest.ran) {
      c["command"] = r.cyclictest.command;
      c["samples"] = r.cyclictest.stats.count;
      c["min_ns"] = r.cyclictest.stats.min;
      c["p50_ns"] = r.cyclictest.stats.p50;
      c["p99_ns"] = r.cyclictest.stats.p99;
      c["p999_ns"] = r.cyclictest.stats.p999;
      c["max_ns"] = r.cyclictest.stats.max;
      c["mean_ns"] = std::llround(r.cyclictest.stats.mean);
      c["overflow"] = r.cyclictest.overflow;
    } else {
      c["error"] = r.cyclictest.error;
    }
    j["cyclictest"] = c;
  }
  j["warnings"] = r.warnings;
  return j.dump(2) + "\n";
}

std::string calibration_text(const CalibrationResult& r) {
  std::string s;
  s += fmt::format("machine: {} | {} | governor {} | {} CPUs online | RT throttling {}/{} us\n",
                   r.machine.cpu_model, r.machine.kernel, r.machine.governor, r.machine.online_cpus,
                   r.machine.rt_runtime_us, r.machine.rt_period_us);
  s += fmt::format("CPUs used: {} | SCHED_FIFO: {} | took {:.1f} s | busy loop {:.2f} ns/iteration\n\n",
                   fmt::join(r.cpus, ","), r.sched_fifo ? "granted" : "REFUSED (SCHED_OTHER)",
                   double(r.duration_ns) / 1e9, r.ns_per_iteration);
  s += fmt::format("{:<22} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "measurement", "samples",
                   "min", "p50", "p99", "p99.9", "max");
  for (const Measurement& m : r.measurements) {
    if (!m.measured) {
      s += fmt::format("{:<22} skipped: {}\n", m.key, m.skipped);
      continue;
    }
    s += fmt::format("{:<22} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}\n", m.key, m.stats.count,
                     ns_text(m.stats.min), ns_text(m.stats.p50), ns_text(m.stats.p99),
                     ns_text(m.stats.p999), ns_text(m.stats.max));
  }
  if (r.cyclictest.ran) {
    const Stats& c = r.cyclictest.stats;
    s += fmt::format("{:<22} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "cyclictest (same CPU)",
                     c.count, ns_text(c.min), ns_text(c.p50), ns_text(c.p99), ns_text(c.p999),
                     ns_text(c.max));
    s += fmt::format("  ({})\n", r.cyclictest.command);
  } else if (!r.cyclictest.error.empty()) {
    s += fmt::format("cyclictest: not run: {}\n", r.cyclictest.error);
  }
  // A coarse histogram of the timer latency: powers of two of microseconds.
  const TimerHistogram& h = r.timer_histogram;
  int64_t total = h.overflow;
  for (int64_t c : h.counts) total += c;
  if (total > 0) {
    s += "\ntimer latency histogram:\n";
    int64_t lo = 0;
    for (int64_t hi = 8; lo < 10000; lo = hi, hi *= 2) {
      int64_t n = 0;
      for (int64_t i = lo; i < std::min<int64_t>(hi, int64_t(h.counts.size())); ++i)
        n += h.counts[static_cast<size_t>(i)];
      if (n == 0) continue;
      int bar = static_cast<int>(std::lround(40.0 * double(n) / double(total)));
      s += fmt::format("  {:>6}-{:<6} us {:>7} {}\n", lo, std::min<int64_t>(hi, 10000), n,
                       std::string(static_cast<size_t>(std::max(bar, 1)), '#'));
    }
    if (h.overflow > 0) s += fmt::format("  >= 10000 us   {:>7}\n", h.overflow);
  }
  s += fmt::format("\ncosts for machine.costs: context_switch {} ns, thread_wakeup {} ns, "
                   "interrupt_entry {} ns, interrupt_exit {} ns\n",
                   r.context_switch_ns, r.thread_wakeup_ns, r.interrupt_entry_ns,
                   r.interrupt_exit_ns);
  for (const std::string& w : r.warnings) s += fmt::format("warning: {}\n", w);
  return s;
}

}  // namespace sim::calibration
