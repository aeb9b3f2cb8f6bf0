// Trace events -> Chrome JSON trace-event format, streamed (see perfetto.hpp for the layout).
#include "reports/perfetto.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "sim/metrics/names.hpp"

namespace sim::reports {

using core::TraceKind;

namespace {

// Interrupts of one source remembered for coalesced work-loop actions (arrows drawn per action).
constexpr size_t kInterruptsRemembered = 16;
// Events waiting for a lane's open slice to end, at most.
constexpr size_t kAttachedLimit = 1024;

std::string quote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Clamps a wanted time strictly inside [start, end] when the slice allows it, so that a flow end
// or instant binds to that slice and not to a neighbour that touches it.
int64_t inside(int64_t at, int64_t start, int64_t end) {
  if (end - start < 2) return start;
  return std::clamp(at, start + 1, end - 1);
}

std::string block_name(const core::TraceEvent& e, const core::NameTable& n, std::string& object) {
  using core::BlockReason;
  switch (static_cast<BlockReason>(e.reason)) {
    case BlockReason::sleep:
      return "sleeping";
    case BlockReason::period:
      return "waiting for next period";
    case BlockReason::event:
      object = std::string(core::NameTable::at(n.events, e.other));
      return "waiting for event " + object;
    case BlockReason::lock:
      object = std::string(core::NameTable::at(n.locks, e.other));
      return "blocked on lock " + object;
    case BlockReason::funnel:
      object = e.other == 1 ? "network" : "kernel";
      return "waiting for funnel " + object;
    case BlockReason::io:
      object = std::string(core::NameTable::at(n.devices, e.other));
      return "waiting for I/O on " + object;
    case BlockReason::command:
      object = std::string(core::NameTable::at(n.workloops, e.other));
      return "sleeping in command gate of " + object;
    case BlockReason::exit:
      return "exiting";
    case BlockReason::thread_wait:
      object = std::string(core::NameTable::at(n.threads, e.other));
      return "waiting for " + object + " to stop (thread_terminate)";
  }
  return "blocked";
}

}  // namespace

std::string perfetto_us(int64_t ns) {
  if (ns < 0) return fmt::format("-{}", perfetto_us(-ns));
  return fmt::format("{}.{:03}", ns / 1000, ns % 1000);
}

PerfettoWriter::PerfettoWriter(std::FILE* out, const core::NameTable& names, PerfettoConfig config)
    : out_(out), names_(names), config_(std::move(config)) {
  const int cpus = std::max(config_.cpus, 1);
  const int nthreads = static_cast<int>(names_.threads.size());
  // Perfetto keys threads by tid alone and gives an event without a tid the tid of its pid, so
  // every lane's tid differs from every pid (counters, which have no tid, stay process-level).
  threads_pid_ = cpus + 1;
  cpu_running_.resize(static_cast<size_t>(cpus));
  cpu_interrupts_.resize(static_cast<size_t>(cpus));
  running_.assign(static_cast<size_t>(cpus), -1);
  thread_lanes_.resize(static_cast<size_t>(nthreads));
  threads_.resize(static_cast<size_t>(nthreads));
  interrupts_.resize(names_.interrupts.size());
  for (int c = 0; c < cpus; ++c) {
    cpu_running_[static_cast<size_t>(c)].pid = c + 1;
    cpu_running_[static_cast<size_t>(c)].tid = threads_pid_ + 1 + 2 * c;
    cpu_interrupts_[static_cast<size_t>(c)].pid = c + 1;
    cpu_interrupts_[static_cast<size_t>(c)].tid = threads_pid_ + 2 + 2 * c;
  }
  for (int i = 0; i < nthreads; ++i) {
    thread_lanes_[static_cast<size_t>(i)].pid = threads_pid_;
    thread_lanes_[static_cast<size_t>(i)].tid = threads_pid_ + 1 + 2 * cpus + i;
    quoted_threads_.push_back(quote(names_.threads[static_cast<size_t>(i)]));
  }

  buffer_ = "{\"traceEvents\":[\n";
  // Names and order of the processes and lanes.
  auto arg_key = [](std::string_view what) {
    return what.ends_with("index") ? "sort_index" : what == "process_labels" ? "labels" : "name";
  };
  auto meta = [&](const char* what, int pid, int tid, const std::string& value) {
    if (tid < 0)
      emit(fmt::format(R"({{"ph":"M","name":"{}","pid":{},"args":{{"{}":{}}}}})", what, pid, arg_key(what), value));
    else
      emit(fmt::format(R"({{"ph":"M","name":"{}","pid":{},"tid":{},"args":{{"{}":{}}}}})", what, pid, tid,
                       arg_key(what), value));
  };
  for (int c = 0; c < cpus; ++c) {
    const Lane& run = cpu_running_[static_cast<size_t>(c)];
    const Lane& irq = cpu_interrupts_[static_cast<size_t>(c)];
    meta("process_name", run.pid, -1, quote(fmt::format("cpu{}", c)));
    meta("process_sort_index", run.pid, -1, std::to_string(c));
    meta("thread_name", run.pid, run.tid, quote("running"));
    meta("thread_sort_index", run.pid, run.tid, "0");
    meta("thread_name", irq.pid, irq.tid, quote("interrupts"));
    meta("thread_sort_index", irq.pid, irq.tid, "1");
  }
  meta("process_name", threads_pid_, -1, quote("threads"));
  meta("process_sort_index", threads_pid_, -1, std::to_string(cpus));
  meta("process_labels", threads_pid_, -1,
       quote(fmt::format("{} / {} / seed {}", config_.scenario, config_.policy, config_.seed)));
  for (int i = 0; i < nthreads; ++i) {
    const Lane& l = thread_lanes_[static_cast<size_t>(i)];
    meta("thread_name", l.pid, l.tid, quoted_threads_[static_cast<size_t>(i)]);
    meta("thread_sort_index", l.pid, l.tid, std::to_string(i));
  }
}

PerfettoWriter::~PerfettoWriter() { close(); }

void PerfettoWriter::emit(const std::string& text) {
  if (!first_) buffer_ += ",\n";
  first_ = false;
  buffer_ += text;
  if (buffer_.size() > (1 << 16)) flush_buffer();
}

void PerfettoWriter::flow_start(int pid, int tid, int64_t ts, const char* name, uint64_t id) {
  emit(fmt::format(R"({{"ph":"s","pid":{},"tid":{},"ts":{},"name":"{}","cat":"flow","id":{}}})", pid, tid,
                   perfetto_us(ts), name, id));
}

void PerfettoWriter::flush_buffer() {
  std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
}

PerfettoWriter::Lane* PerfettoWriter::thread_lane(int32_t thread) {
  return thread >= 0 && static_cast<size_t>(thread) < thread_lanes_.size() ? &thread_lanes_[static_cast<size_t>(thread)]
                                                                           : nullptr;
}

PerfettoWriter::Lane* PerfettoWriter::cpu_lane(int cpu, bool interrupts) {
  std::vector<Lane>& v = interrupts ? cpu_interrupts_ : cpu_running_;
  return cpu >= 0 && static_cast<size_t>(cpu) < v.size() ? &v[static_cast<size_t>(cpu)] : nullptr;
}

PerfettoWriter::ThreadInfo* PerfettoWriter::info(int32_t thread) {
  return thread >= 0 && static_cast<size_t>(thread) < threads_.size() ? &threads_[static_cast<size_t>(thread)]
                                                                      : nullptr;
}

std::string PerfettoWriter::thread_json(int32_t thread) const {
  return thread >= 0 && static_cast<size_t>(thread) < quoted_threads_.size()
             ? quoted_threads_[static_cast<size_t>(thread)]
             : quote(names_.thread(thread));
}

void PerfettoWriter::open_slice(Lane& lane, int64_t t, std::string name, std::string cat, std::string args) {
  if (lane.open) close_slice(lane, t);
  lane.open = true;
  lane.keep = false;
  lane.start = t;
  lane.name = std::move(name);
  lane.cat = std::move(cat);
  lane.args = std::move(args);
}

void PerfettoWriter::close_slice(Lane& lane, int64_t t) {
  if (!lane.open) return;
  lane.open = false;
  // An empty slice says nothing unless something binds to it (a flow end, an instant).
  if (t > lane.start || lane.keep || !lane.attached.empty())
    emit(fmt::format(R"({{"ph":"X","pid":{},"tid":{},"ts":{},"dur":{},"name":{},"cat":"{}","args":{{{}}}}})", lane.pid,
                     lane.tid, perfetto_us(lane.start), perfetto_us(t - lane.start), quote(lane.name), lane.cat,
                     lane.args));
  for (const Attached& a : lane.attached) {
    const std::string ts = perfetto_us(inside(a.at, lane.start, t));
    if (a.ph == 'i')
      emit(fmt::format(R"({{"ph":"i","s":"t","pid":{},"tid":{},"ts":{},"name":"{}","cat":"event","args":{{{}}}}})",
                       lane.pid, lane.tid, ts, a.name, a.args));
    else
      emit(fmt::format(R"({{"ph":"{}",{}"pid":{},"tid":{},"ts":{},"name":"{}","cat":"flow","id":{}}})", a.ph,
                       a.ph == 'f' ? R"("bp":"e",)" : "", lane.pid, lane.tid, ts, a.name, a.id));
  }
  lane.attached.clear();
}

void PerfettoWriter::attach(Lane& lane, Attached a) {
  if (lane.open) {
    // A slice that lasts (a thread that runs for ever, missing deadline after deadline) is cut
    // in two now and then, so that what waits for it to end stays bounded.
    // Many at the instant the slice began (the jobs still pending at the end of an overloaded
    // run) are written at once instead.
    if (lane.attached.size() >= kAttachedLimit && a.at > lane.start) {
      std::string name = lane.name, cat = lane.cat, args = lane.args;
      close_slice(lane, a.at);
      open_slice(lane, a.at, std::move(name), std::move(cat), std::move(args));
    }
    if (lane.attached.size() < kAttachedLimit || a.ph != 'i') {
      lane.attached.push_back(std::move(a));
      return;
    }
  }
  // No slice to wait for: an instant is written at once (a flow always has its slice).
  if (a.ph == 'i')
    emit(fmt::format(R"({{"ph":"i","s":"t","pid":{},"tid":{},"ts":{},"name":"{}","cat":"event","args":{{{}}}}})",
                     lane.pid, lane.tid, perfetto_us(a.at), a.name, a.args));
}

// Perfetto names a counter track "<name> <series>"; Chrome draws counter <name> with its series.
void PerfettoWriter::counter(int pid, const std::string& name, const char* series, int64_t t, int64_t value) {
  emit(fmt::format(R"({{"ph":"C","pid":{},"ts":{},"name":{},"args":{{"{}":{}}}}})", pid, perfetto_us(t), name, series,
                   value));
}

void PerfettoWriter::sched_pri(int32_t thread, int64_t t, int64_t pri) {
  ThreadInfo* ti = info(thread);
  if (!ti || ti->sched_pri == pri) return;
  ti->sched_pri = pri;
  counter(threads_pid_, thread_json(thread), "sched_pri", t, pri);
}

void PerfettoWriter::ready_count(int64_t t, int delta) {
  ready_ += delta;
  counter(threads_pid_, "\"run queue\"", "ready threads", t, ready_);
}

void PerfettoWriter::instant(int32_t thread, int64_t t, const char* name, std::string args) {
  Lane* lane = thread_lane(thread);
  if (!lane) return;
  Attached a;
  a.ph = 'i';
  a.at = t;
  a.name = name;
  a.args = std::move(args);
  attach(*lane, std::move(a));
}

void PerfettoWriter::thread_state(int32_t thread, int64_t t, ThreadState s, std::string name, std::string cat,
                                  std::string args) {
  Lane* lane = thread_lane(thread);
  ThreadInfo* ti = info(thread);
  if (!lane || !ti) return;
  const bool was_ready = ti->state == ThreadState::ready;
  const bool is_ready = s == ThreadState::ready;
  ti->state = s;
  if (s == ThreadState::none)
    close_slice(*lane, t);
  else
    open_slice(*lane, t, std::move(name), std::move(cat), std::move(args));
  if (was_ready != is_ready) ready_count(t, is_ready ? 1 : -1);
}

void PerfettoWriter::on_event(const core::TraceEvent& e) {
  if (closed_) return;
  const int64_t t = e.time.ns;
  last_time_ = t;
  switch (e.kind) {
    case TraceKind::created:
      sched_pri(e.thread, t, e.b);
      break;
    case TraceKind::woke: {
      ThreadInfo* ti = info(e.thread);
      if (!ti) break;
      sched_pri(e.thread, t, e.b);
      const auto reason = static_cast<core::WakeReason>(e.reason);
      // Every wakeup gets an arrow to the thread's next run. It starts in the lane that caused it
      // (an unlock, a signal, an interrupt, an I/O completion at this instant), else at the end
      // of the thread's own blocked slice (a timer, a release); 1 ns before the wakeup when the
      // slice allows, so that it binds to that slice and not to the one after it.
      const bool caused = waker_.at == t && waker_.lane && waker_.lane->open && reason != core::WakeReason::timer &&
                          reason != core::WakeReason::release && reason != core::WakeReason::start;
      Lane* own = thread_lane(e.thread);
      Lane* from = caused ? waker_.lane : own && own->open && t - own->start >= 2 ? own : nullptr;
      ti->wake_pending = from != nullptr;
      if (from) {
        ti->wake_pid = from->pid;
        ti->wake_tid = from->tid;
        ti->wake_ts = t - 1 > from->start ? t - 1 : t;
        ti->wake_name = caused ? waker_.flow_name : "wakeup";
        from->keep = true;
      }
      thread_state(e.thread, t, ThreadState::ready, "ready", "ready",
                   fmt::format(R"("reason":"{}","sched_pri":{})", core::to_string(reason), e.b));
      break;
    }
    case TraceKind::switched: {
      Lane* run = cpu_lane(e.cpu, false);
      if (run) close_slice(*run, t);
      if (ThreadInfo* prev = info(e.thread)) {
        if (prev->state == ThreadState::running || prev->state == ThreadState::spinning) {
          const auto reason = static_cast<core::SwitchReason>(e.reason);
          if (reason == core::SwitchReason::block || reason == core::SwitchReason::exit)
            thread_state(e.thread, t, ThreadState::none, "", "", "");
          else
            thread_state(e.thread, t, ThreadState::ready, "ready", "ready",
                         fmt::format(R"("reason":"{}")", core::to_string(reason)));
        }
      }
      if (ThreadInfo* next = info(e.other)) {
        sched_pri(e.other, t, e.b);
        next->cpu = e.cpu;
        if (e.cpu >= 0 && static_cast<size_t>(e.cpu) < running_.size()) running_[static_cast<size_t>(e.cpu)] = e.other;
        thread_state(e.other, t, ThreadState::running, "running", "running",
                     fmt::format(R"("cpu":{},"sched_pri":{})", e.cpu, e.b));
        if (run)
          open_slice(*run, t, std::string(names_.thread(e.other)), "running",
                     fmt::format(R"("thread":{},"sched_pri":{},"switch_cost_ns":{},"prev":{},"prev_state":"{}")",
                                 thread_json(e.other), e.b, e.a, thread_json(e.thread),
                                 core::to_string(static_cast<core::SwitchReason>(e.reason))));
        if (next->wake_pending) {
          const uint64_t id = next_flow_++;
          flow_start(next->wake_pid, next->wake_tid, next->wake_ts, next->wake_name, id);
          Attached f;
          f.ph = 'f';
          f.at = t;
          f.id = id;
          f.name = next->wake_name;
          attach(*thread_lane(e.other), std::move(f));
          next->wake_pending = false;
        }
      }
      break;
    }
    case TraceKind::blocked: {
      std::string object;
      std::string name = block_name(e, names_, object);
      if (static_cast<core::BlockReason>(e.reason) == core::BlockReason::exit) {
        thread_state(e.thread, t, ThreadState::none, "", "", "");
        break;
      }
      std::string args = fmt::format(R"("reason":"{}")", core::to_string(static_cast<core::BlockReason>(e.reason)));
      if (!object.empty()) args += fmt::format(R"(,"object":{})", quote(object));
      thread_state(e.thread, t, ThreadState::blocked, std::move(name), "blocked", std::move(args));
      if (ThreadInfo* ti = info(e.thread)) ti->wake_pending = false;
      break;
    }
    case TraceKind::exited:
      thread_state(e.thread, t, ThreadState::none, "", "", "");
      break;
    case TraceKind::spin_began: {
      ThreadInfo* ti = info(e.thread);
      if (ti && ti->state == ThreadState::running) {
        std::string lock(core::NameTable::at(names_.locks, e.other));
        thread_state(e.thread, t, ThreadState::spinning, "spinning on lock " + lock, "running",
                     fmt::format(R"("cpu":{},"lock":{})", ti->cpu, quote(lock)));
      }
      break;
    }
    case TraceKind::spin_ended: {
      ThreadInfo* ti = info(e.thread);
      if (ti && ti->state == ThreadState::spinning)
        thread_state(e.thread, t, ThreadState::running, "running", "running",
                     fmt::format(R"("cpu":{},"sched_pri":{})", ti->cpu, ti->sched_pri));
      break;
    }
    case TraceKind::priority_changed:
      sched_pri(e.thread, t, e.b);
      break;
    case TraceKind::lock_released:
      waker_ = {t, thread_lane(e.thread), "unlock"};
      break;
    case TraceKind::io_completed: {
      Lane* irq = cpu_lane(e.cpu, true);
      Lane* run = cpu_lane(e.cpu, false);
      const int32_t on_cpu = run && run->open && e.cpu >= 0 ? running_[static_cast<size_t>(e.cpu)] : -1;
      waker_ = {t, irq && irq->open ? irq : thread_lane(on_cpu), "I/O done"};
      break;
    }
    case TraceKind::event_signaled:
      waker_ = {t, e.thread >= 0 ? thread_lane(e.thread) : cpu_lane(e.cpu, true), "signal"};
      break;
    case TraceKind::interrupt_began: {
      Lane* irq = cpu_lane(e.cpu, true);
      if (!irq) break;
      open_slice(*irq, t, std::string(core::NameTable::at(names_.interrupts, e.other)), "interrupt",
                 fmt::format(R"("latency_ns":{},"entry_ns":{},"interrupted":{})", e.a, e.b, thread_json(e.thread)));
      irq->keep = true;  // an interrupt -> action arrow may start from it later
      if (e.other >= 0 && static_cast<size_t>(e.other) < interrupts_.size()) {
        std::vector<Irq>& recent = interrupts_[static_cast<size_t>(e.other)].recent;
        if (recent.size() == kInterruptsRemembered) recent.erase(recent.begin());
        recent.push_back({e.cpu, t, -1});
      }
      waker_ = {t, irq, "interrupt"};
      break;
    }
    case TraceKind::interrupt_ended:
      if (Lane* irq = cpu_lane(e.cpu, true)) close_slice(*irq, t);
      if (e.other >= 0 && static_cast<size_t>(e.other) < interrupts_.size()) {
        std::vector<Irq>& recent = interrupts_[static_cast<size_t>(e.other)].recent;
        for (auto it = recent.rbegin(); it != recent.rend(); ++it)
          if (it->cpu == e.cpu && it->ended < 0) {
            it->ended = t;
            break;
          }
      }
      break;
    case TraceKind::workloop_action: {
      Lane* lane = thread_lane(e.thread);
      if (!lane || e.a < 0 || static_cast<size_t>(e.a) >= interrupts_.size()) break;
      std::vector<Irq>& recent = interrupts_[static_cast<size_t>(e.a)].recent;
      // One arrow per interrupt this action handles (the last ones, when coalesced), from inside
      // the interrupt's slice to inside the action's running slice.
      const size_t n = std::min(recent.size(), static_cast<size_t>(std::max<int64_t>(e.b, 1)));
      for (size_t k = recent.size() - n; lane->open && k < recent.size(); ++k) {
        const Irq& irq = recent[k];
        Lane* irq_lane = cpu_lane(irq.cpu, true);
        if (!irq_lane) continue;
        const uint64_t id = next_flow_++;
        const int64_t end = irq.ended >= 0 ? irq.ended : t;
        flow_start(irq_lane->pid, irq_lane->tid, inside(irq.began + 1, irq.began, end), "interrupt", id);
        Attached f;
        f.ph = 'f';
        f.at = t;
        f.id = id;
        f.name = "interrupt";
        attach(*lane, std::move(f));
      }
      recent.clear();
      instant(
          e.thread, t, "workloop action",
          fmt::format(R"("workloop":{},"source":{},"count":{})", quote(core::NameTable::at(names_.workloops, e.other)),
                      quote(core::NameTable::at(names_.interrupts, static_cast<int32_t>(e.a))), e.b));
      break;
    }
    case TraceKind::deadline_missed:
      instant(e.thread, t, "deadline miss", fmt::format(R"("job":{},"late_ns":{})", e.a, e.b));
      break;
    case TraceKind::demoted:
      instant(e.thread, t, "demoted (fail-safe)", fmt::format(R"("metered_ns":{},"release_tick":{})", e.a, e.b));
      break;
    case TraceKind::undemoted:
      instant(e.thread, t, "undemoted", "");
      break;
    case TraceKind::depressed:
      instant(e.thread, t, "depressed", fmt::format(R"("until_ns":{})", e.a));
      break;
    case TraceKind::undepressed:
      instant(e.thread, t, "undepressed", "");
      break;
    case TraceKind::mode_changed:
      instant(e.thread, t, "mode changed",
              fmt::format(R"("mode":"{}","base":{})", metrics::mode_name(static_cast<int>(e.a)), e.b));
      break;
    case TraceKind::set_mode_failed:
      instant(e.thread, t, "set_mode failed",
              fmt::format(R"("kern_return":{},"call":"{}")", e.a,
                          core::to_string(static_cast<core::PolicyCall>(e.reason))));
      break;
    case TraceKind::inversion_began:
      instant(
          e.thread, t, "priority inversion begins",
          fmt::format(R"("holder":{},"ran_instead":{})", thread_json(e.other), thread_json(static_cast<int32_t>(e.a))));
      break;
    case TraceKind::inversion_ended:
      instant(e.thread, t, "priority inversion ends", fmt::format(R"("lasted_ns":{})", e.a));
      break;
    case TraceKind::command_refused:
      instant(
          e.thread, t, "commandSleep refused",
          fmt::format(R"("workloop":{},"ioreturn":{})", quote(core::NameTable::at(names_.workloops, e.other)), e.a));
      break;
    case TraceKind::lock_held_at_exit:
      instant(e.thread, t, "exited holding lock",
              fmt::format(R"("lock":{},"waiters":{})", quote(core::NameTable::at(names_.locks, e.other)), e.b));
      break;
    case TraceKind::panicked:
      emit(fmt::format(R"({{"ph":"i","s":"g","pid":{},"ts":{},"name":"panic","cat":"event","args":{{"culprit":{}}}}})",
                       threads_pid_, perfetto_us(t), thread_json(e.thread)));
      break;
    default:
      break;
  }
}

void PerfettoWriter::finish(core::SimTime end) {
  if (closed_) return;
  last_time_ = std::max(last_time_, end.ns);
  close();
}

void PerfettoWriter::close() {
  if (closed_) return;
  closed_ = true;
  const int64_t end = last_time_;
  for (std::vector<Lane>* v : {&cpu_running_, &cpu_interrupts_, &thread_lanes_})
    for (Lane& l : *v) close_slice(l, end);
  std::string sets = "[";
  for (size_t i = 0; i < config_.sets.size(); ++i) sets += (i ? "," : "") + quote(config_.sets[i]);
  sets += "]";
  buffer_ += fmt::format(
      "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{{\"generator\":\"xnusim\",\"scenario\":{},\"policy\":{},"
      "\"seed\":\"{}\",\"xnu\":{},\"duration_ns\":{},\"cpus\":{},\"scenario_sha256\":{},\"sets\":{},\"end_ns\":{}}}}}"
      "\n",
      quote(config_.scenario), quote(config_.policy), config_.seed, quote(config_.xnu), config_.duration_ns,
      config_.cpus, quote(config_.scenario_sha256), sets, end);
  flush_buffer();
  std::fflush(out_);
}

}  // namespace sim::reports
