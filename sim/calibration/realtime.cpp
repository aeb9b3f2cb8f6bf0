// Real threads on Linux: see realtime.hpp.
#include "sim/calibration/realtime.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace sim::calibration {
namespace {

std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_signalled = 0;
struct sigaction g_old_int, g_old_term;

extern "C" void on_stop_signal(int) {
  g_signalled = 1;
  g_stop.store(true);
}

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

timespec to_timespec(int64_t ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

}  // namespace

int64_t now_ns() { return clock_ns(CLOCK_MONOTONIC); }
int64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

bool sleep_until(int64_t t_ns) {
  for (;;) {
    if (g_stop.load(std::memory_order_relaxed)) return false;
    int64_t now = now_ns();
    if (now >= t_ns) return true;
    int64_t target = std::min(t_ns, now + 50'000'000);
    timespec ts = to_timespec(target);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    if (target == t_ns) return !g_stop.load(std::memory_order_relaxed) || now_ns() >= t_ns;
  }
}

std::atomic<bool>& stop_flag() { return g_stop; }

StopHandlers::StopHandlers() {
  g_stop.store(false);
  g_signalled = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopHandlers::~StopHandlers() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopHandlers::interrupted() const { return g_signalled != 0; }

std::string parse_cpu_list(const std::string& text, std::vector<int>& out) {
  out.clear();
  std::set<int> seen;
  std::stringstream ss(text);
  std::string part;
  if (text.empty()) return "empty CPU list";
  while (std::getline(ss, part, ',')) {
    int lo = 0, hi = 0;
    char extra = 0;
    if (std::sscanf(part.c_str(), "%d-%d%c", &lo, &hi, &extra) == 2) {
    } else if (std::sscanf(part.c_str(), "%d%c", &lo, &extra) == 1) {
      hi = lo;
    } else {
      return fmt::format("\"{}\" is not a CPU number or range (write e.g. 0,1 or 0-1)", part);
    }
    if (part.find_first_not_of("0123456789-") != std::string::npos || lo < 0 || hi < lo)
      return fmt::format("\"{}\" is not a CPU number or range (write e.g. 0,1 or 0-1)", part);
    for (int c = lo; c <= hi; ++c) {
      if (!seen.insert(c).second) return fmt::format("CPU {} is listed twice", c);
      out.push_back(c);
    }
  }
  return "";
}

std::string choose_cpus(const std::optional<std::string>& text, bool all_cpus, size_t wanted,
                        CpuChoice& out) {
  std::vector<int> allowed = allowed_cpus();
  if (allowed.empty()) return "cannot read the CPUs this process may run on (sched_getaffinity)";
  std::vector<int> list;
  if (text) {
    if (std::string e = parse_cpu_list(*text, list); !e.empty()) return e;
    for (int c : list)
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end())
        return fmt::format("CPU {} is not one this process may run on (allowed: {})", c,
                           fmt::join(allowed, ","));
  } else {
    // Default: the last CPUs, leaving the first to SCHED_OTHER unless --all-cpus.
    size_t usable = all_cpus ? allowed.size() : allowed.size() - 1;
    size_t n = std::min(std::max<size_t>(wanted, 1), usable);
    for (size_t i = allowed.size() - n; i < allowed.size(); ++i) list.push_back(allowed[i]);
  }
  if (list.empty())
    return fmt::format("this machine lets xnusim use {} CPU(s) and one must stay free for "
                       "SCHED_OTHER; pass --all-cpus to use it anyway",
                       allowed.size());
  out.cpus = list;
  out.spare.clear();
  for (int c : allowed)
    if (std::find(list.begin(), list.end(), c) == list.end()) out.spare.push_back(c);
  if (out.spare.empty() && !all_cpus)
    return fmt::format("the CPU list {} takes every CPU this process may use; leave one to "
                       "SCHED_OTHER work or pass --all-cpus",
                       fmt::join(list, ","));
  return "";
}

AffinityGuard::AffinityGuard() : saved_(allowed_cpus()) {}
AffinityGuard::~AffinityGuard() { pin_self_to(saved_); }

int fifo_max() { return sched_get_priority_max(SCHED_FIFO); }

bool pin_self(int cpu) { return pin_self_to({cpu}); }

bool pin_self_to(const std::vector<int>& cpus) {
  if (cpus.empty()) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

bool fifo_self(int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
}

bool sched_fifo_allowed() {
  bool ok = false;
  std::string err;
  RtThread t;
  if (!t.start([] {}, -1, 1, 0, err)) return false;
  ok = t.fifo();
  t.join();
  return ok;
}

RtThread::~RtThread() { join(); }

void* RtThread::trampoline(void* self) {
  auto* t = static_cast<RtThread*>(self);
  t->tid_.store(static_cast<int>(syscall(SYS_gettid)));
  if (!t->fifo_ && t->nice_ != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(t->tid_.load()), t->nice_);
  t->fn_();
  return nullptr;
}

bool RtThread::start(std::function<void()> fn, int cpu, int fifo_priority, int nice,
                     std::string& error) {
  fn_ = std::move(fn);
  nice_ = nice;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool want_fifo = attempt == 0 && fifo_priority > 0;
    if (attempt == 1 && !(fifo_priority > 0)) break;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
    if (want_fifo) {
      pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
      pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
      sched_param sp{};
      sp.sched_priority = fifo_priority;
      pthread_attr_setschedparam(&attr, &sp);
    } else {
      pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
      pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
      sched_param sp{};
      pthread_attr_setschedparam(&attr, &sp);
    }
    fifo_ = want_fifo;
    pthread_t h;
    int rc = pthread_create(&h, &attr, &RtThread::trampoline, this);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
      handle_ = h;
      started_ = true;
      return true;
    }
    if (rc != EPERM || !want_fifo) {
      error = std::strerror(rc);
      return false;
    }
    // EPERM for SCHED_FIFO: fall back to SCHED_OTHER (the caller reports it).
  }
  // fifo_priority was 0 and creation failed above, or the fallback failed.
  if (!started_ && error.empty()) error = "pthread_create failed";
  return started_;
}

void RtThread::join() {
  if (!started_) return;
  pthread_join(static_cast<pthread_t>(handle_), nullptr);
  started_ = false;
}

namespace {
// The spin kernel: a dependent chain the compiler cannot remove.
inline uint64_t spin(uint64_t x, int n) {
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
  return x;
}
constexpr int kChunk = 256;
}  // namespace

int64_t busy_run(int64_t ns) {
  int64_t start = now_ns();
  int64_t until = thread_cpu_ns() + ns;
  uint64_t x = 1;
  while (thread_cpu_ns() < until) {
    x = spin(x, kChunk);
    if (g_stop.load(std::memory_order_relaxed)) break;
  }
  asm volatile("" ::"r"(x));
  return now_ns() - start;
}

double measure_loop_ns_per_iteration() {
  double best = 1e18;
  uint64_t x = 1;
  for (int rep = 0; rep < 7; ++rep) {
    int64_t t0 = thread_cpu_ns();
    x = spin(x, 200'000);
    int64_t t1 = thread_cpu_ns();
    best = std::min(best, double(t1 - t0) / 200'000.0);
  }
  asm volatile("" ::"r"(x));
  return best;
}

Watchdog::Watchdog(int64_t deadline_ns, int64_t grace_ns, const std::vector<int>& spare_cpus)
    : deadline_(deadline_ns), grace_(grace_ns), spare_(spare_cpus) {
  std::string err;
  thread_.start([this] { body(); }, -1, fifo_max(), 0, err);
}

Watchdog::~Watchdog() {
  done_.store(true);
  thread_.join();
}

void Watchdog::watch(int tid) {
  std::lock_guard<std::mutex> g(mu_);
  tids_.push_back(tid);
}

void Watchdog::body() {
  pin_self_to(spare_);
  auto wait_until = [&](int64_t t) {
    while (!done_.load()) {
      int64_t now = now_ns();
      if (now >= t) return true;
      timespec ts = to_timespec(std::min(t, now + 10'000'000));
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    return false;
  };
  // The deadline may move (rearm) while it waits: wait again until the current one has passed.
  for (;;) {
    if (!wait_until(deadline_.load())) return;
    if (now_ns() >= deadline_.load()) break;
  }
  fired_.store(true);
  g_stop.store(true);
  if (!wait_until(deadline_.load() + grace_)) return;
  // Still running: take every watched thread out of SCHED_FIFO.
  std::lock_guard<std::mutex> g(mu_);
  for (int tid : tids_) {
    sched_param sp{};
    sched_setscheduler(tid, SCHED_OTHER, &sp);
  }
}

MachineIdentity machine_identity() {
  MachineIdentity m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(colon + 2);
      break;
    }
  }
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  utsname u{};
  if (uname(&u) == 0) m.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  m.governor = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (m.governor.empty()) m.governor = "unknown";
  m.online_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  std::string rt = first_line("/proc/sys/kernel/sched_rt_runtime_us");
  std::string rp = first_line("/proc/sys/kernel/sched_rt_period_us");
  if (!rt.empty()) m.rt_runtime_us = std::stoll(rt);
  if (!rp.empty()) m.rt_period_us = std::stoll(rp);
  return m;
}

}  // namespace sim::calibration
