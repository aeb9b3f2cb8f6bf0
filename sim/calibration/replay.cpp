// `xnusim replay`: real threads for a scenario's threads (see replay.hpp).
//
// Each thread writes what it does into its own buffer (no locks, no sharing) with the
// monotonic clock, relative to a common start. After the run the buffers are merged by time and
// turned into the simulator's trace events by `reconstruct`: a thread that records anything was
// on its CPU at that instant, so the switches between threads are inferred per CPU (the thread
// that was running and did not block was preempted; when a thread blocks, the preempted thread
// with the highest effective priority, counting priority inheritance and ceilings, resumes, as
// SCHED_FIFO does). A wakeup is dated when it was due (a timer's intended expiry, a period's
// release) or when the waker acted (the unlock or the signal), so latency is measured as the
// simulator defines it: woken to running.
#include "sim/calibration/replay.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "sim/core/rng.hpp"
#include "sim/model/op_table.hpp"

namespace sim::calibration {
namespace {

using core::TraceKind;
using model::Op;
using model::OpKind;
using scenario::Scenario;

constexpr int kFifoLow = 10, kFifoHigh = 89;   // replay threads; the watchdog is at 99
constexpr size_t kBufferRecords = 1 << 16;     // per thread (more are counted as lost)
constexpr int kRealtimeSimPriority = 97;        // BASEPRI_RTQUEUES (xnu-facts.md 4.1)

int sim_priority(const scenario::ThreadSpec& t) {
  return t.mode == model::ThreadMode::realtime ? kRealtimeSimPriority : t.priority;
}

// The SCHED_OTHER nice of a timeshare thread at base priority `base`: the default base, 31, is
// nice 0, and each level above it one step of nice lower; the task's nice adds.
int timeshare_nice(int base, const scenario::ThreadSpec& t) {
  return std::clamp(31 - base + t.nice.value_or(0), -20, 19);
}

bool fifo_mode(const scenario::ThreadSpec& t) {
  return t.kernel || t.mode != model::ThreadMode::timeshare;
}

// The base priorities a program's `set_priority` ops ask for.
void set_priority_targets(const std::vector<Op>& ops, std::set<int>& out) {
  for (const Op& op : ops) {
    if (op.kind == OpKind::set_priority) out.insert(op.priority);
    set_priority_targets(op.body, out);
  }
}

// Every priority that must map to SCHED_FIFO, in increasing order: fixed and realtime threads'
// priorities, those their `set_priority` ops give them, and lock ceilings.
std::vector<int> fifo_levels(const Scenario& s) {
  std::set<int> levels;
  for (const auto& t : s.threads) {
    if (!fifo_mode(t)) continue;
    levels.insert(sim_priority(t));
    // A realtime thread's set_priority changes its base, not the realtime band it runs in.
    if (t.mode != model::ThreadMode::realtime) set_priority_targets(t.program, levels);
  }
  for (const auto& l : s.locks)
    if (l.protocol == scenario::LockProtocol::ceiling && l.ceiling) levels.insert(*l.ceiling);
  return {levels.begin(), levels.end()};
}

int fifo_of(const std::vector<int>& levels, int p) {
  auto it = std::lower_bound(levels.begin(), levels.end(), p);
  int rank = static_cast<int>(it - levels.begin());
  int n = static_cast<int>(levels.size());
  int step = n <= 1 ? 0 : std::min(5, (kFifoHigh - kFifoLow) / (n - 1));
  return std::min(kFifoHigh, kFifoLow + rank * step);
}

void refuse_ops(const std::vector<Op>& ops, std::vector<std::string>& out) {
  for (const Op& op : ops) {
    std::string name(model::to_string(op.kind));
    switch (op.kind) {
      case OpKind::run:
      case OpKind::sleep:
      case OpKind::yield:
      case OpKind::set_priority:
        break;
      case OpKind::loop:
        refuse_ops(op.body, out);
        break;
      case OpKind::lock:
      case OpKind::unlock:
        if (op.lock_mode != model::LockMode::exclusive)
          out.push_back(fmt::format("{}: op \"{}\" of a rw lock: replay has plain mutexes only", op.pointer, name));
        break;
      case OpKind::wait:
        break;
      case OpKind::signal:
        if (op.thread >= 0)
          out.push_back(fmt::format("{}: op \"signal\" with \"thread\": a condition variable cannot wake one named thread", op.pointer));
        break;
      default:
        out.push_back(fmt::format("{}: op \"{}\" has no real counterpart in replay", op.pointer, name));
    }
  }
}

// --- the run ----------------------------------------------------------------------------------

struct LockState {
  pthread_mutex_t m;
  std::atomic<int> holder{-1};
  std::atomic<int64_t> last_unlock{0};  // relative ns
};

struct EventState {
  pthread_mutex_t m;
  pthread_cond_t cv;
  int64_t count = -1;    // semaphore count, -1 plain event
  int64_t waiters = 0;
  int64_t pending = 0;   // wakeups handed out, not yet taken
  std::atomic<int64_t> last_signal{0};
};

struct Shared {
  const Scenario* s = nullptr;
  std::vector<std::unique_ptr<LockState>> locks;
  std::vector<std::unique_ptr<EventState>> events;
  std::vector<int> cpus;  // real CPU of each simulated CPU
  std::vector<int> levels;  // fifo_levels of the scenario
  int64_t t0 = 0;         // monotonic ns of relative time 0
  int64_t end = 0;        // relative end
};

bool stopped() { return stop_flag().load(std::memory_order_relaxed); }

class Worker {
 public:
  Worker(Shared& sh, int32_t index, uint64_t seed)
      : sh_(sh), index_(index), spec_(sh.s->threads[static_cast<size_t>(index)]),
        rng_(seed, static_cast<uint64_t>(index)), pri_(sim_priority(spec_)) {
    buf_.reserve(kBufferRecords);
  }

  void body() {
    if (spec_.cpu) {
      pin_self(sh_.cpus[static_cast<size_t>(*spec_.cpu)]);
    } else {
      std::vector<int> set(sh_.cpus.begin(), sh_.cpus.begin() + sh_.s->machine.cpus);
      pin_self_to(set);
    }
    int64_t start = spec_.start.ns;
    log_at(start, TraceKind::created, 0, -1, spec_.kernel ? 1 : 0, pri_);
    sleep_to(start);
    std::optional<int64_t> period;
    if (spec_.period && spec_.period->ns > 0) period = spec_.period->ns;
    int64_t job = 0;
    int64_t release = start;
    while (!stopped() && release < sh_.end) {
      int64_t deadline = spec_.deadline && spec_.deadline->ns > 0 ? release + spec_.deadline->ns : -1;
      log_at(release, TraceKind::released, 0, -1, job, deadline);
      log_at(release, TraceKind::woke, static_cast<uint8_t>(job == 0 ? core::WakeReason::start
                                                                     : core::WakeReason::release),
             -1, 0, pri_);
      mark();
      exec(spec_.program);
      if (stopped()) break;
      int64_t finish = rel();
      log(TraceKind::completed, 0, -1, job, finish - release);
      if (deadline >= 0 && finish > deadline)
        log(TraceKind::deadline_missed, 0, -1, job, finish - deadline);
      if (!period) break;
      ++job;
      release += *period;
      if (release >= sh_.end) break;
      if (rel() < release) {
        log(TraceKind::blocked, static_cast<uint8_t>(core::BlockReason::period), -1, 0, 0);
        sleep_to(release);
      }
    }
    // Whatever ended the run, leave no mutex held.
    for (int32_t l : held_) pthread_mutex_unlock(&sh_.locks[static_cast<size_t>(l)]->m);
    held_.clear();
    if (!stopped()) log(TraceKind::exited, 0, -1, 0, 0);
  }

  std::vector<Record>& records() { return buf_; }
  int64_t dropped() const { return dropped_; }
  std::string error;

 private:
  int64_t rel() const { return now_ns() - sh_.t0; }
  void sleep_to(int64_t t) { sleep_until(sh_.t0 + std::min(t, sh_.end)); }

  int16_t sim_cpu() const {
    int c = sched_getcpu();
    for (size_t i = 0; i < sh_.cpus.size(); ++i)
      if (sh_.cpus[i] == c) return static_cast<int16_t>(i);
    return 0;
  }

  void push(Record r) {
    if (buf_.size() >= kBufferRecords) {
      ++dropped_;
      return;
    }
    buf_.push_back(r);
  }
  // An event at the current time: the thread is on its CPU.
  void log(TraceKind k, uint8_t reason, int32_t other, int64_t a, int64_t b) {
    push(Record{rel(), index_, sim_cpu(), k, reason, other, a, b, true});
  }
  // An event dated at another time (an intended expiry or release, a waker's act).
  void log_at(int64_t t, TraceKind k, uint8_t reason, int32_t other, int64_t a, int64_t b) {
    push(Record{t, index_, sim_cpu(), k, reason, other, a, b, false});
  }
  // The thread runs now (after a block or a preemption).
  void mark() { log(TraceKind::switched, 0, -1, 0, 0); }

  int64_t draw(const model::DurationSpec& d) {
    using K = model::DurationSpec::Kind;
    switch (d.kind) {
      case K::fixed: return d.a.ns;
      case K::uniform: return rng_.uniform_int(d.a.ns, d.b.ns);
      case K::exponential: return rng_.exponential(d.a).ns;
      case K::normal: return rng_.normal(d.a, d.b).ns;
    }
    return d.a.ns;
  }

  void exec(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      if (stopped()) return;
      switch (op.kind) {
        case OpKind::run:
          busy_run(draw(op.duration));
          break;
        case OpKind::sleep: {
          int64_t until = rel() + draw(op.duration);
          log(TraceKind::blocked, static_cast<uint8_t>(core::BlockReason::sleep), -1, 0, 0);
          sleep_to(until);
          if (stopped()) return;
          log_at(until, TraceKind::woke, static_cast<uint8_t>(core::WakeReason::timer), -1, 0,
                 pri_);
          mark();
          break;
        }
        case OpKind::yield:
          sched_yield();
          mark();
          break;
        case OpKind::set_priority:
          set_priority(op.priority);
          break;
        case OpKind::loop:
          for (int64_t i = 0; (op.forever || i < op.times) && !stopped(); ++i) exec(op.body);
          break;
        case OpKind::lock:
          lock(op.ref);
          break;
        case OpKind::unlock:
          unlock(op.ref);
          break;
        case OpKind::wait:
          wait(op);
          break;
        case OpKind::signal:
          signal(op);
          break;
        default:
          break;  // refused before the run
      }
    }
  }

  // thread_set_priority / set_base_pri: a fixed or kernel thread's SCHED_FIFO priority follows
  // its new base through the same ranking as at start; a timeshare thread's nice does; a
  // realtime thread keeps running in the realtime band (its sched_pri does not follow the base).
  void set_priority(int p) {
    int old = pri_;
    if (spec_.mode == model::ThreadMode::realtime) return;
    pri_ = p;
    if (fifo_mode(spec_)) {
      sched_param sp{};
      sp.sched_priority = fifo_of(sh_.levels, p);
      // Refused only where SCHED_FIFO was refused at start (then the thread is SCHED_OTHER).
      if (int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp); rc != 0 && rc != EPERM && error.empty())
        error = fmt::format("pthread_setschedparam for \"{}\": {}", spec_.id, std::strerror(rc));
    } else {
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), timeshare_nice(p, spec_));  // lowering nice may be refused
    }
    log(TraceKind::priority_changed, static_cast<uint8_t>(core::PriorityReason::set_priority), -1, old, p);
  }

  void lock(int32_t l) {
    LockState& ls = *sh_.locks[static_cast<size_t>(l)];
    int rc = pthread_mutex_trylock(&ls.m);
    int64_t waited = 0;
    if (rc == EBUSY) {
      int64_t from = rel();
      log(TraceKind::lock_contended, 0, l, ls.holder.load(), 0);
      log(TraceKind::blocked, static_cast<uint8_t>(core::BlockReason::lock), l, 0, 0);
      for (;;) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50'000'000;
        if (ts.tv_nsec >= 1'000'000'000) {
          ts.tv_sec += 1;
          ts.tv_nsec -= 1'000'000'000;
        }
        rc = pthread_mutex_timedlock(&ls.m, &ts);
        if (rc == 0 || rc != ETIMEDOUT || stopped()) break;
      }
      if (rc != 0) {
        if (rc != ETIMEDOUT && error.empty())
          error = fmt::format("pthread_mutex_lock on \"{}\": {}", sh_.s->locks[static_cast<size_t>(l)].id, std::strerror(rc));
        return;
      }
      int64_t woke = std::max(from, ls.last_unlock.load());
      log_at(woke, TraceKind::woke, static_cast<uint8_t>(core::WakeReason::lock), -1, 0,
             pri_);
      mark();
      waited = rel() - from;
    } else if (rc != 0) {
      if (error.empty())
        error = fmt::format("pthread_mutex_lock on \"{}\": {}", sh_.s->locks[static_cast<size_t>(l)].id, std::strerror(rc));
      return;
    }
    ls.holder.store(index_);
    held_.push_back(l);
    acquired_at_[l] = rel();
    log(TraceKind::lock_acquired, 0, l, waited, 0);
  }

  void unlock(int32_t l) {
    auto it = std::find(held_.begin(), held_.end(), l);
    if (it == held_.end()) return;
    held_.erase(it);
    LockState& ls = *sh_.locks[static_cast<size_t>(l)];
    int64_t t = rel();
    push(Record{t, index_, sim_cpu(), TraceKind::lock_released, 0, l, t - acquired_at_[l], 0, true});
    ls.holder.store(-1);
    ls.last_unlock.store(t);
    pthread_mutex_unlock(&ls.m);
    mark();  // a waiter of higher priority runs first; this thread resumes after it
  }

  void wait(const Op& op) {
    EventState& ev = *sh_.events[static_cast<size_t>(op.ref)];
    pthread_mutex_lock(&ev.m);
    log(TraceKind::event_waited, 0, op.ref, 0, 0);
    if (ev.count > 0) {
      --ev.count;
      pthread_mutex_unlock(&ev.m);
      return;
    }
    int64_t from = rel();
    int64_t give_up = op.timeout.ns > 0 ? from + op.timeout.ns : -1;
    log(TraceKind::blocked, static_cast<uint8_t>(core::BlockReason::event), op.ref, 0, 0);
    ++ev.waiters;
    bool woken = false, timed_out = false;
    while (!stopped()) {
      if (ev.pending > 0) {
        --ev.pending;
        woken = true;
        break;
      }
      int64_t now = rel();
      if (give_up >= 0 && now >= give_up) {
        timed_out = true;
        break;
      }
      int64_t until = now + 50'000'000;
      if (give_up >= 0) until = std::min(until, give_up);
      until = std::min(until, sh_.end + 1);
      int64_t abs = sh_.t0 + until;
      timespec ts{static_cast<time_t>(abs / 1'000'000'000), static_cast<long>(abs % 1'000'000'000)};
      pthread_cond_timedwait(&ev.cv, &ev.m, &ts);
    }
    --ev.waiters;
    int64_t at = woken ? std::max(from, ev.last_signal.load()) : give_up;
    pthread_mutex_unlock(&ev.m);
    if (stopped()) return;
    log_at(at, TraceKind::woke,
           static_cast<uint8_t>(timed_out ? core::WakeReason::timed_out : core::WakeReason::event), -1,
           0, pri_);
    mark();
  }

  void signal(const Op& op) {
    EventState& ev = *sh_.events[static_cast<size_t>(op.ref)];
    pthread_mutex_lock(&ev.m);
    int64_t free = ev.waiters - ev.pending;
    int64_t n = op.all ? free : std::min<int64_t>(free, 1);
    if (n > 0) {
      ev.pending += n;
      ev.last_signal.store(rel());
      if (op.all)
        pthread_cond_broadcast(&ev.cv);
      else
        pthread_cond_signal(&ev.cv);
    } else if (ev.count >= 0) {
      ++ev.count;  // a semaphore keeps the signal
    }
    log(TraceKind::event_signaled, 0, op.ref, n, 0);
    pthread_mutex_unlock(&ev.m);
    mark();
  }

  Shared& sh_;
  int32_t index_;
  const scenario::ThreadSpec& spec_;
  core::Rng rng_;
  std::vector<Record> buf_;
  int64_t dropped_ = 0;
  std::vector<int32_t> held_;
  std::map<int32_t, int64_t> acquired_at_;
  int pri_;  // the priority the simulator would report (its sched_pri without promotions)
};

}  // namespace

std::vector<std::string> replay_refusals(const Scenario& s) {
  std::vector<std::string> out;
  if (!s.interrupts.empty())
    out.push_back("/interrupts: primary interrupts have no real counterpart in replay");
  if (!s.workloops.empty())
    out.push_back("/workloops: IOKit work loops have no real counterpart in replay");
  if (!s.timers.empty()) out.push_back("/timers: IOKit timer event sources have no real counterpart in replay");
  if (!s.devices.empty()) out.push_back("/devices: IOKit devices have no real counterpart in replay");
  for (const auto& l : s.locks)
    if (l.kind != scenario::LockKind::mutex)
      out.push_back(fmt::format("{}: a {} lock: replay has pthread mutexes only", l.pointer,
                                l.kind == scenario::LockKind::spin ? "spin" : "rw"));
  for (const auto& t : s.threads) refuse_ops(t.program, out);
  return out;
}

std::vector<RealPolicy> map_priorities(const Scenario& s) {
  std::vector<int> levels = fifo_levels(s);
  std::vector<RealPolicy> out;
  for (const auto& t : s.threads) {
    RealPolicy p;
    if (fifo_mode(t)) {
      p.fifo = true;
      p.priority = fifo_of(levels, sim_priority(t));
    } else {
      p.nice = timeshare_nice(t.priority, t);
    }
    out.push_back(p);
  }
  return out;
}

int map_ceiling(const Scenario& s, int sim_priority) { return fifo_of(fifo_levels(s), sim_priority); }

ReplayRun replay(const Scenario& s, const ReplayOptions& o) {
  ReplayRun run;
  StopHandlers handlers;  // Ctrl-C ends the run cleanly, with what was recorded
  AffinityGuard affinity;
  Shared sh;
  sh.s = &s;
  sh.cpus = o.cpus;
  sh.end = o.duration.ns;
  sh.levels = fifo_levels(s);
  for (const auto& l : s.locks) {
    auto ls = std::make_unique<LockState>();
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    switch (l.protocol) {
      case scenario::LockProtocol::none:
        pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_NONE);
        break;
      case scenario::LockProtocol::inherit:
      case scenario::LockProtocol::xnu:
        pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
        break;
      case scenario::LockProtocol::ceiling:
        pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_PROTECT);
        pthread_mutexattr_setprioceiling(&ma, map_ceiling(s, l.ceiling.value_or(kRealtimeSimPriority)));
        break;
    }
    pthread_mutex_init(&ls->m, &ma);
    pthread_mutexattr_destroy(&ma);
    sh.locks.push_back(std::move(ls));
  }
  for (const auto& e : s.events) {
    auto es = std::make_unique<EventState>();
    pthread_mutex_init(&es->m, nullptr);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&es->cv, &ca);
    pthread_condattr_destroy(&ca);
    es->count = e.count;
    sh.events.push_back(std::move(es));
  }
  bool locked_memory = mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
  std::vector<RealPolicy> pol = map_priorities(s);
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t i = 0; i < s.threads.size(); ++i)
    workers.push_back(std::make_unique<Worker>(sh, static_cast<int32_t>(i), s.seed));
  pin_self_to(o.spare.empty() ? o.cpus : o.spare);
  // Relative time 0 is published once every thread exists (creating them, with their stacks
  // locked in memory, takes milliseconds here), so that none starts late; until then each waits.
  std::atomic<int64_t> t0{0};
  Watchdog dog(now_ns() + 60'000'000'000, 2'000'000'000, o.spare);  // re-armed below
  std::vector<std::unique_ptr<RtThread>> threads;
  for (size_t i = 0; i < s.threads.size(); ++i) {
    auto t = std::make_unique<RtThread>();
    std::string err;
    Worker* w = workers[i].get();
    int cpu = s.threads[i].cpu ? o.cpus[static_cast<size_t>(*s.threads[i].cpu)] : o.cpus[0];
    if (!t->start([w, &t0] {
          while (t0.load() == 0 && !stopped()) sleep_until(now_ns() + 1'000'000);
          if (stopped()) return;
          sleep_until(t0.load());
          w->body();
        }, cpu, pol[i].fifo ? pol[i].priority : 0,
                  pol[i].nice, err)) {
      run.warnings.push_back(fmt::format("thread \"{}\" could not start: {}", s.threads[i].id, err));
      stop_flag().store(true);
      break;
    }
    if (pol[i].fifo && !t->fifo()) run.sched_fifo = false;
    while (t->tid() == 0) sched_yield();
    dog.watch(t->tid());
    threads.push_back(std::move(t));
  }
  sh.t0 = now_ns() + 5'000'000;
  dog.rearm(sh.t0 + sh.end + 2'000'000'000);
  t0.store(sh.t0);
  bool completed = sleep_until(sh.t0 + sh.end);
  stop_flag().store(true);
  for (auto& t : threads) t->join();
  run.watchdog = dog.fired();
  run.interrupted = !completed || handlers.interrupted();
  int64_t end = completed ? sh.end : std::min(sh.end, now_ns() - sh.t0);
  run.end_ns = std::max<int64_t>(end, 0);
  if (locked_memory) munlockall();
  for (auto& l : sh.locks) pthread_mutex_destroy(&l->m);
  for (auto& e : sh.events) {
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->m);
  }
  if (!run.sched_fifo)
    run.warnings.push_back("SCHED_FIFO was refused (not root, no CAP_SYS_NICE): fixed and realtime "
                           "threads ran at SCHED_OTHER, so their order is not kept");
  std::vector<Record> all;
  for (auto& w : workers) {
    if (!w->error.empty()) run.warnings.push_back(w->error);
    run.dropped += w->dropped();
    all.insert(all.end(), w->records().begin(), w->records().end());
  }
  if (run.dropped > 0)
    run.warnings.push_back(fmt::format("{} records were lost to full per-thread buffers", run.dropped));
  run.events = reconstruct(std::move(all), s, run.end_ns);
  return run;
}

std::vector<core::TraceEvent> reconstruct(std::vector<Record> records, const Scenario& s,
                                          int64_t end_ns) {
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& x, const Record& y) { return x.t < y.t; });
  size_t n = s.threads.size();
  int cpus = s.machine.cpus;
  std::vector<int> pri(n);
  for (size_t i = 0; i < n; ++i) pri[i] = sim_priority(s.threads[i]);
  std::vector<int32_t> running(static_cast<size_t>(cpus), -1);
  std::vector<std::vector<int32_t>> preempted(static_cast<size_t>(cpus));
  std::vector<int32_t> holder(s.locks.size(), -1);
  std::vector<std::vector<int32_t>> waiters(s.locks.size());
  std::vector<core::TraceEvent> out;

  auto effective = [&](int32_t t) {
    int p = pri[static_cast<size_t>(t)];
    for (size_t l = 0; l < holder.size(); ++l) {
      if (holder[l] != t) continue;
      const auto& spec = s.locks[l];
      if (spec.protocol == scenario::LockProtocol::ceiling && spec.ceiling)
        p = std::max(p, *spec.ceiling);
      if (spec.protocol == scenario::LockProtocol::inherit || spec.protocol == scenario::LockProtocol::xnu)
        for (int32_t w : waiters[l]) p = std::max(p, pri[static_cast<size_t>(w)]);
    }
    return p;
  };
  auto emit = [&](int64_t t, TraceKind k, uint8_t reason, int c, int32_t th, int32_t other,
                  int64_t a, int64_t b) {
    core::TraceEvent e;
    e.time = core::SimTime{t};
    e.kind = k;
    e.reason = reason;
    e.cpu = static_cast<int16_t>(c);
    e.thread = th;
    e.other = other;
    e.a = a;
    e.b = b;
    out.push_back(e);
  };
  auto forget = [&](int32_t t) {
    for (auto& p : preempted) p.erase(std::remove(p.begin(), p.end(), t), p.end());
  };
  // The CPU gives itself to the preempted thread of highest effective priority, or idles.
  auto leave = [&](int64_t t, int c, int32_t th, core::SwitchReason why) {
    auto& p = preempted[static_cast<size_t>(c)];
    int32_t next = -1;
    for (int32_t x : p)
      if (next < 0 || effective(x) > effective(next)) next = x;
    if (next >= 0) p.erase(std::find(p.begin(), p.end(), next));
    emit(t, TraceKind::switched, static_cast<uint8_t>(why), c, th, next, 0,
         next >= 0 ? pri[static_cast<size_t>(next)] : 0);
    running[static_cast<size_t>(c)] = next;
  };
  for (const Record& r : records) {
    if (r.t > end_ns) continue;
    int c = std::clamp<int>(r.cpu, 0, cpus - 1);
    if (r.runs && running[static_cast<size_t>(c)] != r.thread) {
      for (int c2 = 0; c2 < cpus; ++c2)  // it moved from another CPU
        if (c2 != c && running[static_cast<size_t>(c2)] == r.thread)
          leave(r.t, c2, r.thread, core::SwitchReason::preempt);
      int32_t prev = running[static_cast<size_t>(c)];
      forget(r.thread);
      if (prev >= 0) preempted[static_cast<size_t>(c)].push_back(prev);
      emit(r.t, TraceKind::switched,
           static_cast<uint8_t>(prev >= 0 ? core::SwitchReason::preempt : core::SwitchReason::none), c,
           prev, r.thread, 0, pri[static_cast<size_t>(r.thread)]);
      running[static_cast<size_t>(c)] = r.thread;
    }
    switch (r.kind) {
      case TraceKind::switched:
        break;  // only a "running now" mark
      case TraceKind::blocked:
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        leave(r.t, c, r.thread, core::SwitchReason::block);
        break;
      case TraceKind::exited:
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        forget(r.thread);
        leave(r.t, c, r.thread, core::SwitchReason::exit);
        break;
      case TraceKind::lock_contended:
        waiters[static_cast<size_t>(r.other)].push_back(r.thread);
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        break;
      case TraceKind::lock_acquired: {
        auto& w = waiters[static_cast<size_t>(r.other)];
        w.erase(std::remove(w.begin(), w.end(), r.thread), w.end());
        holder[static_cast<size_t>(r.other)] = r.thread;
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        break;
      }
      case TraceKind::priority_changed:
        pri[static_cast<size_t>(r.thread)] = static_cast<int>(r.b);
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        break;
      case TraceKind::lock_released:
        holder[static_cast<size_t>(r.other)] = -1;
        emit(r.t, r.kind, r.reason, c, r.thread, r.other, r.a, r.b);
        break;
      default:
        emit(r.t, r.kind, r.reason, r.runs ? c : -1, r.thread, r.other, r.a, r.b);
    }
  }
  // Sinks expect time order; records dated in the past (intended wakeups) were sorted with
  // the rest, but the switches inferred from a later record may precede them: sort once more.
  std::stable_sort(out.begin(), out.end(), [](const core::TraceEvent& x, const core::TraceEvent& y) {
    return x.time.ns < y.time.ns;
  });
  return out;
}

}  // namespace sim::calibration
