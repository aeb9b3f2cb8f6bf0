// Real threads on this machine (Linux only): CPU lists, pinned SCHED_FIFO threads with a
// SCHED_OTHER fallback, the monotonic clock, the calibrated busy loop, and the safety net shared
// by `xnusim calibrate` and `xnusim replay` (a stop flag set by Ctrl-C or the watchdog).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sim::calibration {

// Monotonic time in ns (CLOCK_MONOTONIC) and this thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
int64_t now_ns();
int64_t thread_cpu_ns();
// Sleeps until an absolute CLOCK_MONOTONIC time (clock_nanosleep with TIMER_ABSTIME); wakes
// every 50 ms to look at the stop flag. False when stopped before the time.
bool sleep_until(int64_t t_ns);

// Set by SIGINT/SIGTERM (install_stop_handlers) or by the watchdog; every loop looks at it.
std::atomic<bool>& stop_flag();
// Installs SIGINT and SIGTERM handlers that only set the stop flag; restores the old ones when
// the returned guard ends.
class StopHandlers {
 public:
  StopHandlers();
  ~StopHandlers();
  StopHandlers(const StopHandlers&) = delete;
  StopHandlers& operator=(const StopHandlers&) = delete;
  bool interrupted() const;  // a signal set the flag
};

// The CPUs a run may use. Parsed from "0,1" or "2-3"; checked against the CPUs this process may
// run on. Unless `all_cpus`, at least one of them must stay outside the list (left to
// SCHED_OTHER work, the watchdog and the shell). Returns an error message, or "" when fine.
struct CpuChoice {
  std::vector<int> cpus;   // the real CPUs to use, in order
  std::vector<int> spare;  // allowed CPUs outside the list (the watchdog and main thread run here)
};
std::string parse_cpu_list(const std::string& text, std::vector<int>& out);
std::string choose_cpus(const std::optional<std::string>& text, bool all_cpus, size_t wanted,
                        CpuChoice& out);

// Whether this process may use SCHED_FIFO (tries it on a short-lived thread).
bool sched_fifo_allowed();
// The highest SCHED_FIFO priority (99 on Linux).
int fifo_max();

// A pinned thread at SCHED_FIFO `fifo_priority` (1..99), or SCHED_OTHER with `nice` when
// fifo_priority is 0 or SCHED_FIFO is refused (then `fifo()` is false).
class RtThread {
 public:
  RtThread() = default;
  RtThread(const RtThread&) = delete;
  RtThread& operator=(const RtThread&) = delete;
  ~RtThread();
  // Starts fn; false (with errno text in `error`) when no thread could be created at all.
  bool start(std::function<void()> fn, int cpu, int fifo_priority, int nice, std::string& error);
  void join();
  bool fifo() const { return fifo_; }
  bool running() const { return started_; }
  // The kernel thread id, once the thread has started (0 before).
  int tid() const { return tid_.load(); }

 private:
  static void* trampoline(void* self);
  std::function<void()> fn_;
  unsigned long handle_ = 0;
  bool started_ = false;
  bool fifo_ = false;
  int nice_ = 0;
  std::atomic<int> tid_{0};
};

// Saves the calling thread's CPU affinity and restores it when it ends (a run pins the calling
// thread to the spare CPUs; its callers, and the processes they start, must not stay pinned).
class AffinityGuard {
 public:
  AffinityGuard();
  ~AffinityGuard();
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  std::vector<int> saved_;
};

// Pins the calling thread (false when refused).
bool pin_self(int cpu);
bool pin_self_to(const std::vector<int>& cpus);
// Puts the calling thread at SCHED_FIFO priority p (false when refused).
bool fifo_self(int priority);

// The busy loop: spins until this thread has used `ns` of CPU time (so a preemption stretches
// it, as a `run` in the simulation), or the stop flag is set. Returns the wall time it took.
int64_t busy_run(int64_t ns);
// ns per iteration of the spin kernel busy_run uses, the minimum of several measurements.
double measure_loop_ns_per_iteration();

// The watchdog: a thread at the highest SCHED_FIFO priority on a spare CPU that sets the stop
// flag at `deadline_ns` (monotonic) and, if the run is still not over `grace_ns` later, moves
// every registered thread to SCHED_OTHER so that the machine stays usable.
class Watchdog {
 public:
  Watchdog(int64_t deadline_ns, int64_t grace_ns, const std::vector<int>& spare_cpus);
  ~Watchdog();  // stops the watchdog thread
  void watch(int tid);
  // Moves the deadline (before it has passed).
  void rearm(int64_t deadline_ns) { deadline_.store(deadline_ns); }
  bool fired() const { return fired_.load(); }

 private:
  void body();
  std::atomic<int64_t> deadline_;
  int64_t grace_;
  std::atomic<bool> done_{false};
  std::atomic<bool> fired_{false};
  std::vector<int> spare_;
  std::mutex mu_;
  std::vector<int> tids_;
  RtThread thread_;
};

// The machine's identity for the calibration file and replay results.
struct MachineIdentity {
  std::string cpu_model;
  std::string kernel;
  std::string governor;  // "unknown" when cpufreq is absent (VMs)
  int online_cpus = 0;
  int64_t rt_runtime_us = -1;  // /proc/sys/kernel/sched_rt_runtime_us, -1 when unreadable
  int64_t rt_period_us = -1;
};
MachineIdentity machine_identity();

}  // namespace sim::calibration
