// The dispatcher's mechanism: event loop, thread_setrun, thread_select, quanta, ASTs, block and
// wake, and the program interpreter. Rules are those of xnu-facts.md section 5; each function
// that models an xnu routine names it.
#include "sim/dispatcher/dispatcher.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sim::dispatcher {

using core::BlockReason;
using core::PriorityReason;
using core::SwitchReason;
using core::TraceEvent;
using core::TraceKind;
using core::WakeReason;
using model::ThreadState;
using model::OpKind;

Dispatcher::Dispatcher(const model::MachineConfig& machine, std::vector<Thread> threads,
                       PolicyFactory make_policy, core::TraceBus* bus)
    : machine_(machine), threads_(std::move(threads)), bus_(bus) {
  cpus_.resize(static_cast<size_t>(machine_.cpus));
  free_cpus_.resize(machine_.cpus);
  current_pri_.assign(cpus_.size(), -1);
  for (size_t i = 0; i < cpus_.size(); ++i) {
    cpus_[i].index = static_cast<int>(i);
    note_free(cpus_[i]);
  }
  policies::PolicyContext ctx;
  ctx.machine = machine_;
  ctx.threads = &threads_;
  ctx.cpus = &cpus_;
  ctx.free_cpus = &free_cpus_;
  ctx.current_pri = current_pri_.data();
  ctx.host = this;
  policy_ = make_policy(ctx);
  for (Thread& t : threads_) {
    t.sched_pri = policy_->compute_sched_pri(t);
    refresh_urgency(t);
  }
  stop_waiters_.resize(threads_.size());
  ended_at_.assign(threads_.size(), SimTime::never());
}

// ---------------------------------------------------------------------------------------------
// Event loop

void Dispatcher::run(SimTime end) {
  end_ = end;
  for (Thread& t : threads_)
    if (t.start < end) queue_.push(t.start, kRankStart, kEvStart, t.index);
  if (Duration tick = policy_->tick_period(); tick.ns > 0 && SimTime{tick.ns} < end && !policy_->tick_in_thread())
    queue_.push(SimTime{tick.ns}, kRankTick, kEvTick, -1);

  try {
    for (;;) {
      // The external model (a platform's disks and links) catches up to the next instant
      // first: its completions up to then join the queue. Without one: one test per instant.
      if (clock_) clock_->sync(!queue_.empty() && queue_.top_time() < end ? queue_.top_time() : end);
      if (queue_.empty() || queue_.top_time() >= end) break;
      if (queue_.top_time() != now_) instant_steps_ = 0;
      now_ = queue_.top_time();
      do {
        step_instant("events");
        core::Event e = queue_.pop();
        event_seq_ = e.seq;
        handle(e);
      } while (!queue_.empty() && queue_.top_time() == now_);
      dispatch_pass();
      if (step_hook_) step_hook_();
      if (progress_every_ && ++instants_ % progress_every_ == 0) progress_(now_);
    }
  } catch (const core::SimulatedPanic&) {
    // The simulated machine stopped: results cover the run up to the panic.
    for (Processor& p : cpus_)
      if (p.active && p.active->state == ThreadState::running) account(p);
    bus_->finish(now_);
    return;
  }

  now_ = end;
  for (Processor& p : cpus_)
    if (p.active && p.active->state == ThreadState::running) account(p);
  // Released jobs still unfinished at the end whose deadline has passed are misses too.
  for (Thread& t : threads_) {
    if (t.deadline.ns <= 0) continue;
    // A thread that ended (terminate_thread) left its job unfinished: a miss only if its
    // deadline came while it was alive.
    SimTime until = std::min(end, ended_at_[static_cast<size_t>(t.index)]);
    for (int64_t j = t.jobs_completed; j < t.jobs_released; ++j) {
      SimTime due = t.release_time(j) + t.deadline;
      if (due >= until) break;
      emit(TraceEvent{end, TraceKind::deadline_missed, 0, -1, t.index, -1, j, (end - due).ns});
    }
  }
  bus_->finish(end);
}

void Dispatcher::handle(const core::Event& e) {
  switch (e.kind) {
    case kEvStart:
      ++events_handled_;
      on_start(threads_[static_cast<size_t>(e.target)], -1);
      break;
    case kEvRelease:
      ++events_handled_;
      on_release(threads_[static_cast<size_t>(e.target)]);
      break;
    case kEvTimer: {
      Thread& t = threads_[static_cast<size_t>(e.target)];
      if (e.generation != t.timer_generation) return;
      ++events_handled_;
      wake(t, WakeReason::timer);
      break;
    }
    case kEvCpu: {
      Processor& p = cpus_[static_cast<size_t>(e.target)];
      if (e.generation != p.generation) return;
      ++events_handled_;
      on_cpu_event(p);
      break;
    }
    case kEvDepressEnd: {
      Thread& t = threads_[static_cast<size_t>(e.target)];
      if (e.generation != t.depress_generation || !t.depressed) return;
      ++events_handled_;
      undepress(t);
      break;
    }
    case kEvInterrupt: {
      Processor& p = cpus_[static_cast<size_t>(e.target)];
      if (e.generation != 0 && e.generation != p.handler_spin) return;  // a handler spin ended first
      ++events_handled_;
      on_interrupt_step(p, e.arg);
      break;
    }
    case kEvTick: {
      ++events_handled_;
      policy_->tick();
      SimTime next = now_ + policy_->tick_period();
      if (next < end_) queue_.push(next, kRankTick, kEvTick, -1);
      break;
    }
    default: {
      size_t i = static_cast<size_t>(e.kind) - kFirstExtensionKind;
      if (e.kind < kFirstExtensionKind || i >= event_handlers_.size())
        throw internal_error(fmt::format("unknown event kind {}", e.kind));
      ++events_handled_;
      event_handlers_[i]->on_event(e);
      break;
    }
  }
}

void Dispatcher::on_start(Thread& t, int32_t creator) {
  emit(TraceEvent{now_, TraceKind::created, 0, -1, t.index, creator, t.kernel ? 1 : 0, t.sched_pri});
  t.state = ThreadState::blocked;
  t.block_reason = BlockReason::period;
  on_release(t);
}

void Dispatcher::on_release(Thread& t) {
  if (t.state == ThreadState::done) return;  // it ended early (exit_thread, terminate_thread)
  int64_t job = t.jobs_released++;
  int64_t due = t.deadline.ns > 0 ? (t.release_time(job) + t.deadline).ns : -1;
  emit(TraceEvent{now_, TraceKind::released, 0, -1, t.index, -1, job, due});
  if (t.period.ns > 0) {
    SimTime next = t.release_time(job + 1);
    if (next < end_) queue_.push(next, kRankRelease, kEvRelease, t.index);
  }
  if (!t.job_active && t.state == ThreadState::blocked && t.block_reason == BlockReason::period) {
    start_job(t);
    wake(t, job == 0 ? WakeReason::start : WakeReason::release);
  }
}

void Dispatcher::on_cpu_event(Processor& p) {
  Thread* t = p.active;
  if (!t || t->state != ThreadState::running) return;
  account(p);
  if (t->in_run && t->run_remaining.ns == 0) {
    t->in_run = false;
    if (t->spinning) end_spin(*t);
    p.advance = true;
  } else if (!t->in_run && now_ >= p.progress_from) {
    p.advance = true;  // the switch cost is paid: start interpreting
  }
  if (now_ >= p.quantum_end) thread_quantum_expire(p);
  if (!p.advance) schedule_cpu_event(p);
}

// Apply-then-dispatch: after every event of an instant has been applied, threads whose work
// ended at this instant first interpret their zero-time ops (a job that ends exactly when a
// higher thread is released has ended), then CPUs with a pending AST run thread_select (by
// index); repeat until nothing is pending, so that wakeups caused by ops are dispatched in the
// same instant.
void Dispatcher::dispatch_pass() {
  for (;;) {
    step_instant("dispatch rounds");
    bool pending = false;
    for (Processor& p : cpus_) {
      if (p.advance && !p.in_interrupt) {
        p.advance = false;
        if (p.active && p.active->state == ThreadState::running) advance(p);
      }
    }
    for (Processor& p : cpus_) {
      if (p.ast_pending && !p.in_interrupt) {
        p.ast_pending = false;
        thread_select(p);
      }
    }
    // A CPU in interrupt context keeps its AST and interpreter work for the return.
    for (const Processor& p : cpus_) pending |= !p.in_interrupt && (p.ast_pending || p.advance);
    if (!pending) return;
  }
}

core::InternalError Dispatcher::internal_error(const std::string& what) const {
  return core::InternalError(now_, event_seq_, what);
}

// The no-progress guard: names the instant, and the threads involved: those on a CPU (running,
// or handed and not yet switched to) and those that executed ops at this instant.
void Dispatcher::no_progress(const char* what) const {
  std::string who;
  size_t named = 0, more = 0;
  for (const Thread& t : threads_) {
    const Processor* on = nullptr;
    for (const Processor& p : cpus_)
      if ((p.active == &t && t.state == ThreadState::running) || p.handed == &t) on = &p;
    bool ran_ops = t.ops_instant == now_ && t.ops_at_instant > 0;
    if (!on && !ran_ops) continue;
    if (named == 16) {
      ++more;
      continue;
    }
    ++named;
    if (!who.empty()) who += ", ";
    who += fmt::format("\"{}\"", t.name);
    if (on) who += fmt::format(" ({} cpu{})", on->handed == &t ? "handed to" : "on", on->index);
    if (ran_ops) who += fmt::format(" ({} ops)", t.ops_at_instant);
  }
  if (more) who += fmt::format(" and {} more", more);
  if (who.empty()) who = "none";
  throw internal_error(fmt::format("no progress: more than {} steps ({}) at this instant without simulated time "
                                   "passing; threads involved: {}",
                                   max_steps_per_instant_, what, who));
}

// ---------------------------------------------------------------------------------------------
// CPUs, quanta and context switches

void Dispatcher::account(Processor& p) {
  Thread& t = *p.active;
  if (now_ <= p.progress_from) return;
  Duration ran = now_ - p.progress_from;
  SimTime from = p.progress_from;
  p.progress_from = now_;
  if (t.in_run) t.run_remaining -= std::min(ran, t.run_remaining);
  t.computation_metered_ns += ran.ns;
  policy_->charge(t, from, now_);
}

void Dispatcher::schedule_cpu_event(Processor& p) {
  const Thread& t = *p.active;
  SimTime at = p.quantum_end;
  if (t.in_run) at = std::min(at, std::max(p.progress_from, now_) + t.run_remaining);
  else at = std::min(at, p.progress_from);
  ++p.generation;
  queue_.push(at, kRankCpu, kEvCpu, p.index, p.generation);
}

// models xnu-792 osfmk/kern/priority.c thread_quantum_expire (the dispatcher's part: the new
// quantum and timeslice; usage and priority belong to the policy)
void Dispatcher::thread_quantum_expire(Processor& p) {
  Thread& t = *p.active;
  emit(TraceEvent{now_, TraceKind::quantum_expired, 0, static_cast<int16_t>(p.index), t.index, -1, 0, 0});
  policy_->quantum_expire(t);
  t.current_quantum = policy_->quantum_for(t);
  p.quantum_end = now_ + t.current_quantum;
  if (p.timeslice > 0) --p.timeslice;
  p.ast_reason = SwitchReason::quantum;
  post_ast(p);
}

// A still-runnable thread leaves its CPU: the policy sets its remaining quantum and says where
// it goes back (thread_dispatch); it is put back by thread_setrun.
void Dispatcher::requeue_preempted(Processor& p, Thread& t, SwitchReason why) {
  policies::Requeue r = policy_->requeue(t, p, why);
  t.cpu = -1;
  t.last_cpu = p.index;
  t.waiting_for_reschedule = !r.check;
  t.state = ThreadState::runnable;  // p's active thread no longer runs: p is free to choose
  note_free(p);
  thread_setrun(t, r.head, r.check, p.index);
}

// models xnu-792 osfmk/kern/sched_prim.c thread_select (with the AST check of ast_taken)
void Dispatcher::thread_select(Processor& p) {
  // The thread whose wakeup sent this AST may not be the one chosen (a higher one re-queued
  // without a preemption check can take the CPU); then it waits for another reschedule, or the
  // policy pushes it elsewhere at once.
  Thread* claimant = nullptr;
  if (p.claimed_by >= 0) {
    Thread& c = threads_[static_cast<size_t>(p.claimed_by)];
    p.claimed_by = -1;
    if (c.queued != model::QueueKind::none) {
      c.waiting_for_reschedule = true;
      claimant = &c;
    }
  }
  choose_and_switch(p);
  if (claimant && claimant->queued != model::QueueKind::none && policy_->push_overtaken()) preempt_check(*claimant);
}

void Dispatcher::choose_and_switch(Processor& p) {
  Thread* cur = p.active;
  SwitchReason why = SwitchReason::none;
  if (cur && cur->state == ThreadState::running && at_safe_point(*cur)) {
    // ast_taken with AST_APC: the special handler ends a thread marked by thread_terminate.
    account(p);
    terminate_self(*cur);
  }
  if (cur && cur->state == ThreadState::running) {
    account(p);
    policy_->update_priority(*cur, PriorityReason::decay);  // the running thread catches up if stale
    if (cur->preemption_level > 0) {
      // Preemption is disabled (a simple lock is held or spun for): the CPU stays with it.
      set_current(p, cur);
      if (!cur->in_run && now_ >= p.progress_from) p.advance = true;
      return;
    }
    if (p.yield_pending) {
      p.yield_pending = false;
      Thread* target = p.handoff_to >= 0 ? &threads_[static_cast<size_t>(p.handoff_to)] : nullptr;
      p.handoff_to = -1;
      if (target && target != cur && target->queued != model::QueueKind::none &&
          (target->bound_cpu < 0 || target->bound_cpu == p.index)) {
        // models xnu-792 osfmk/kern/syscall_subr.c thread_switch with a thread: thread_run hands
        // the CPU to it directly, with the rest of the caller's quantum (xnu-facts.md 5.3); the
        // caller goes to the tail of its level, with a preemption check, like a yield.
        Duration rest = p.first_timeslice() && p.quantum_end > now_ ? p.quantum_end - now_ : Duration{};
        p.timeslice = 0;  // the remainder goes to the target, not back to the caller
        requeue_preempted(p, *cur, SwitchReason::yield);
        policy_->remove(*target);
        if (rest.ns > 0) target->current_quantum = rest;
        switch_to(p, cur, target, SwitchReason::handoff);
        return;
      }
      p.timeslice = 0;  // a yield first ends the timeslice (xnu-facts.md 5.3)
      why = SwitchReason::yield;
    } else {
      policies::Preemption c = policy_->should_preempt(p, *cur);
      bool keep = !c.preempt;
      // Kernel-mode code is preempted only by urgent ASTs (xnu-facts.md 5.6).
      if (c.preempt && cur->kernel_mode() && !c.urgent) {
        keep = true;
        if (!p.deferred_traced) {
          p.deferred_traced = true;
          emit(TraceEvent{now_, TraceKind::preempt_deferred, 0, static_cast<int16_t>(p.index), cur->index, -1, 0, 0});
        }
      }
      if (keep) {
        set_current(p, cur);
        if (!cur->in_run && now_ >= p.progress_from) p.advance = true;  // it stopped interpreting to let us decide
        return;
      }
      why = p.first_timeslice() ? SwitchReason::preempt : SwitchReason::quantum;
    }
    // The policy picks the next thread *before* the outgoing one is re-queued, as xnu's
    // thread_invoke does (xnu-facts.md 5.2, 5.3): picking after the re-queue let a bound thread
    // win the tie of its CPU-local queue (5.1) against a shared one, and an RT thread with no
    // quantum left then expired again at once, forever (issue 8, 1.1).
    // The timeslice of the chosen thread is counted then too: xnu's choose_thread computes
    // timeshare_quanta once it has dequeued the next thread and thread_begin uses it before
    // thread_dispatch re-queues the outgoing one, which is therefore not counted
    // (xnu-facts.md 5.3: 4 spinners on 2 CPUs get 20 ms per dispatch).
    Thread* first = policy_->choose_over(p.index, *cur);
    int slice = first ? policy_->timeslice(*first) : -1;
    requeue_preempted(p, *cur, why);
    Thread* next = first ? first : policy_->choose(p.index);
    if (next == cur) resume_same(p, *cur);
    else switch_to(p, cur, next, why, slice);
    return;
  } else if (cur) {
    why = cur->state == ThreadState::done ? SwitchReason::exit : SwitchReason::block;
    if (cur->state == ThreadState::blocked) {
      emit(TraceEvent{now_, TraceKind::blocked, static_cast<uint8_t>(cur->block_reason),
                      static_cast<int16_t>(p.index), cur->index, cur->block_object, 0, 0});
    }
    cur->cpu = -1;
    cur->last_cpu = p.index;
  }

  Thread* next = nullptr;
  if (p.handed) {
    Thread* h = p.handed;
    p.handed = nullptr;
    note_free(p);
    if (policy_->queue_beats(p.index, *h)) {
      // models xnu-792 osfmk/kern/sched_prim.c idle_thread: a DISPATCHING CPU whose next_thread is
      // beaten puts it back with thread_setrun(SCHED_HEADQ), which may hand it to another idle
      // CPU (the CPU may have been handed it before an interrupt and a bound wakeup came).
      release_handed(p, *h);
    } else {
      next = h;
    }
  }
  if (!next) next = policy_->choose(p.index);
  if (next == cur && cur) resume_same(p, *cur);
  else switch_to(p, cur, next, why);
}

// The thread chosen again is the one that was running: no context switch, no cost.
// sim: xnu's thread_block returns without thread_invoke's switch; we restart its quantum from
// the remainder computed as it was re-queued, like a dispatch without the switch.
void Dispatcher::resume_same(Processor& p, Thread& t) {
  t.state = ThreadState::running;
  t.waiting_for_reschedule = false;
  t.cpu = p.index;
  set_current(p, &t);
  note_free(p);
  if (t.abort_pending && !t.spinning && t.kernel_depth == 0) t.in_run = false;
  // As at any dispatch, a thread with no quantum left gets a fresh one (xnu-facts.md 5.3); an RT
  // thread that used its whole quantum must not expire again at once (issue 8, 1.1).
  if (t.current_quantum.ns == 0) t.current_quantum = policy_->quantum_for(t);
  p.quantum_end = now_ + t.current_quantum;
  p.timeslice = policy_->timeslice(t);
  p.deferred_traced = false;
  if (t.in_run) schedule_cpu_event(p);
  else p.advance = true;
}

// models xnu-792 osfmk/kern/sched_prim.c thread_invoke (the switch) + the dispatch quantum setup
void Dispatcher::switch_to(Processor& p, Thread* prev, Thread* next, SwitchReason why, int timeslice) {
  ++p.generation;  // cancels the CPU event of the previous thread
  p.active = next;
  if (prev && switch_observer_) switch_observer_->left_cpu(*prev, p.index);
  p.handed = nullptr;
  p.deferred_traced = false;
  p.yield_pending = false;
  p.handoff_to = -1;
  p.advance = false;
  if (!next) {
    emit(TraceEvent{now_, TraceKind::switched, static_cast<uint8_t>(why), static_cast<int16_t>(p.index),
                    prev ? prev->index : -1, -1, 0, -1});
    set_current(p, nullptr);
    note_free(p);
    p.quantum_end = SimTime::never();
    p.timeslice = 0;
    return;
  }
  Duration cost = machine_.context_switch;
  if (next->wakeup_cost_pending) cost += machine_.thread_wakeup;
  next->wakeup_cost_pending = false;
  emit(TraceEvent{now_, TraceKind::switched, static_cast<uint8_t>(why), static_cast<int16_t>(p.index),
                  prev ? prev->index : -1, next->index, cost.ns, next->sched_pri});
  next->state = ThreadState::running;
  next->cpu = p.index;
  next->waiting_for_reschedule = false;
  // A thread marked by thread_terminate returns to user mode into its special handler: the
  // computation it was in is abandoned (not while it spins inside the kernel for a lock).
  if (next->abort_pending && !next->spinning && next->kernel_depth == 0) next->in_run = false;
  set_current(p, next);
  note_free(p);
  p.progress_from = now_ + cost;
  if (next->current_quantum.ns == 0) next->current_quantum = policy_->quantum_for(*next);
  p.quantum_end = now_ + next->current_quantum;
  p.timeslice = timeslice >= 0 ? timeslice : policy_->timeslice(*next);
  if (!next->in_run && cost.ns == 0) p.advance = true;
  else schedule_cpu_event(p);
}

// ---------------------------------------------------------------------------------------------
// Making threads runnable

#ifndef NDEBUG
void Dispatcher::check_cpu_caches() const {
  const bool count_refs = cpus_.size() <= 64;  // quadratic: only on small machines
  for (const Processor& p : cpus_) {
    int refs = 0;
    if (count_refs)
      for (const Processor& q : cpus_) refs += q.current && q.current == p.current;
    if (free_cpus_.contains(p.index) != p.free() ||
        current_pri_[static_cast<size_t>(p.index)] != (p.current ? p.current->sched_pri : -1) ||
        (count_refs && p.current && p.current->current_of != refs))
      throw internal_error(fmt::format("cpu{}: the free set, current_pri or current_of is stale", p.index));
  }
}
#endif

void Dispatcher::hand_to(Processor& p, Thread& t) {
  p.handed = &t;
  t.cpu = p.index;
  set_current(p, &t);
  note_free(p);
  post_ast(p);
}

// A thread handed to `p` will not run there after all: it goes back to the head of its queue
// without a preemption check, or to another idle CPU.
void Dispatcher::release_handed(Processor& p, Thread& h) {
  h.cpu = -1;
  h.waiting_for_reschedule = true;
  // xnu puts it back without a preemption check; a policy that pushes overtaken threads gives it
  // one at once.
  thread_setrun(h, true, policy_->push_overtaken(), p.index);
}

// models xnu-792 osfmk/kern/sched_prim.c thread_setrun: `head` = SCHED_HEADQ, `preempt` =
// SCHED_PREEMPT; `exclude` is a CPU that is choosing right now (the one `t` just left). The
// policy chooses an idle CPU to hand `t` to, or queues it and chooses the CPU to preempt.
void Dispatcher::thread_setrun(Thread& t, bool head, bool preempt, int exclude) {
  t.state = ThreadState::runnable;
  check_cpu_caches();
  if (int cpu = policy_->select_idle_cpu(t, exclude); cpu >= 0) {
    Processor& p = cpus_[static_cast<size_t>(cpu)];
    if (!p.can_take(exclude)) throw internal_error(fmt::format("policy handed \"{}\" to busy cpu{}", t.name, cpu));
    return hand_to(p, t);
  }
  policy_->enqueue(t, head);
  if (preempt) preempt_check(t);
}

// Sends an AST to the CPU whose current thread `t` (just queued) should displace, if the policy
// names one.
void Dispatcher::preempt_check(Thread& t) {
  check_cpu_caches();
  int cpu = policy_->preempt_target(t);
  if (cpu < 0) return;
  Processor* target = &cpus_[static_cast<size_t>(cpu)];
  // The target is now claimed by `t`: a second wakeup in the same instant looks elsewhere
  // rather than at a CPU that is already about to switch (thread_select restores the value
  // if the CPU keeps its thread).
  Thread* displaced = nullptr;
  if (target->claimed_by >= 0 && target->claimed_by != t.index) {
    displaced = &threads_[static_cast<size_t>(target->claimed_by)];
    displaced->waiting_for_reschedule = true;
  }
  target->claimed_by = t.index;
  set_current(*target, &t);
  if (!t.urgent && target->active && target->active->state == ThreadState::running &&
      target->active->kernel_mode())
    t.waiting_for_reschedule = true;  // a non-urgent AST to kernel-mode code waits
  post_ast(*target);
  // The displaced claimant ranks below `t`, so a chain of pushes ends.
  if (displaced && displaced->queued != model::QueueKind::none && policy_->push_overtaken()) preempt_check(*displaced);
}

void Dispatcher::wake(Thread& t, WakeReason why) {
  if (t.state != ThreadState::blocked) return;
  if (t.cpu >= 0 && cpus_[static_cast<size_t>(t.cpu)].active == &t) {
    // Woken before it left the CPU (between assert_wait and thread_block): it simply goes on.
    Processor& p = cpus_[static_cast<size_t>(t.cpu)];
    t.state = ThreadState::running;
    set_current(p, &t);
    Thread* h = p.handed;
    p.handed = nullptr;
    note_free(p);
    if (h) release_handed(p, *h);
    post_ast(p);
    return;
  }
  // models xnu-792 osfmk/kern/sched_prim.c thread_unblock: fresh quantum, RT deadline, metering
  t.current_quantum = Duration{};
  t.computation_metered_ns = 0;
  policy_->on_wakeup(t);
  t.wakeup_cost_pending = true;
  t.waiting_for_reschedule = false;
  emit(TraceEvent{now_, TraceKind::woke, static_cast<uint8_t>(why), -1, t.index, -1, 0, t.sched_pri});
  policy_->update_priority(t, PriorityReason::wake);
  thread_setrun(t, false, true, -1);
}

void Dispatcher::block(Thread& t, BlockReason why, int32_t object) {
  if (t.preemption_level > 0) {
    std::string held = block_hook_ ? block_hook_->preemption_disabled_by(t) : std::string();
    panic(&t, fmt::format("thread_invoke: blocking ({}) with preemption disabled ({})", core::to_string(why),
                          held.empty() ? "a simple lock is held" : held));
  }
  Processor& p = cpus_[static_cast<size_t>(t.cpu)];
  if (block_hook_) {
    block_hook_->on_voluntary_block(t);
    t.must_continue_hook = true;
  }
  t.state = ThreadState::blocked;
  t.block_reason = why;
  t.block_object = object;
  set_current(p, nullptr);  // the CPU is about to choose again
  note_free(p);
  post_ast(p);
  stopped(t);
}

void Dispatcher::exit_thread(Thread& t, int how, int32_t by) {
  Processor& p = cpus_[static_cast<size_t>(t.cpu)];
  if (block_hook_) block_hook_->on_voluntary_block(t);
  if (switch_observer_) switch_observer_->exiting(t);
  t.state = ThreadState::done;
  ended_at_[static_cast<size_t>(t.index)] = now_;
  emit(TraceEvent{now_, TraceKind::exited, 0, static_cast<int16_t>(p.index), t.index, by, how, 0});
  set_current(p, nullptr);
  note_free(p);
  post_ast(p);
  stopped(t);
}

// ---------------------------------------------------------------------------------------------
// Priorities

void Dispatcher::refresh_urgency(Thread& t) { t.urgent = policy_->is_urgent(t); }

void Dispatcher::set_sched_pri(Thread& t, int pri, PriorityReason why, bool check) {
  if (pri == t.sched_pri) {
    if (t.queued == model::QueueKind::none) refresh_urgency(t);  // the mode may have changed
    return;
  }
  int old = t.sched_pri;
  bool queued = t.queued != model::QueueKind::none;
  if (queued) policy_->remove(t);
  t.sched_pri = pri;
  if (t.current_of > 0)
    for (Processor& c : cpus_)
      if (c.current == &t) current_pri_[static_cast<size_t>(c.index)] = static_cast<int16_t>(pri);
  refresh_urgency(t);
  emit(TraceEvent{now_, TraceKind::priority_changed, static_cast<uint8_t>(why), -1, t.index, -1, old, pri});
  if (queued) {
    if (!check) return thread_setrun(t, false, false, -1);  // SCHED_TAILQ, no SCHED_PREEMPT
    policy_->enqueue(t, false);
    if (pri > old) preempt_check(t);
    return;
  }
  if (t.cpu >= 0) {
    Processor& p = cpus_[static_cast<size_t>(t.cpu)];
    if (p.active == &t && t.state == ThreadState::running) {
      set_current(p, &t);
      if (pri < old) post_ast(p);
    } else if (p.handed == &t) {
      set_current(p, &t);
      post_ast(p);
    }
  }
}

void Dispatcher::set_base_pri(Thread& t, int pri) {
  t.base_pri = pri;
  set_sched_pri(t, policy_->compute_sched_pri(t), PriorityReason::set_priority);
}

void Dispatcher::depress(Thread& t, Duration how_long) {
  t.depressed = true;
  ++t.depress_generation;
  emit(TraceEvent{now_, TraceKind::depressed, 0, static_cast<int16_t>(t.cpu), t.index, -1, (now_ + how_long).ns, 0});
  set_sched_pri(t, policy_->compute_sched_pri(t), PriorityReason::depress);
  queue_.push(now_ + how_long, kRankTimer, kEvDepressEnd, t.index, t.depress_generation);
}

void Dispatcher::undepress(Thread& t) {
  if (!t.depressed) return;
  t.depressed = false;
  ++t.depress_generation;
  emit(TraceEvent{now_, TraceKind::undepressed, 0, static_cast<int16_t>(t.cpu), t.index, -1, 0, 0});
  set_sched_pri(t, policy_->compute_sched_pri(t), PriorityReason::depress);
}

// ---------------------------------------------------------------------------------------------
// Jobs and the program interpreter

void Dispatcher::start_job(Thread& t) {
  t.frames.clear();
  t.frames.push_back(model::Frame{t.program, 0, 0, false});
  t.job_active = true;
  policy_->job_started(t);
}

bool Dispatcher::job_done(Thread& t) {
  t.job_active = false;
  int64_t job = t.jobs_completed++;
  SimTime release = t.release_time(job);
  emit(TraceEvent{now_, TraceKind::completed, 0, static_cast<int16_t>(t.cpu), t.index, -1, job, (now_ - release).ns});
  if (t.deadline.ns > 0 && now_ > release + t.deadline)
    emit(TraceEvent{now_, TraceKind::deadline_missed, 0, static_cast<int16_t>(t.cpu), t.index, -1, job,
                    (now_ - (release + t.deadline)).ns});
  if (t.period.ns == 0) {
    exit_thread(t);
    return false;
  }
  if (t.jobs_released > t.jobs_completed) {
    start_job(t);  // the next release already came: it starts at once
    return true;
  }
  block(t, BlockReason::period, -1);
  return false;
}

Duration Dispatcher::draw(Thread& t, const model::DurationSpec& d) {
  using Kind = model::DurationSpec::Kind;
  switch (d.kind) {
    case Kind::fixed: return d.a;
    case Kind::uniform: return Duration{t.rng.uniform_int(d.a.ns, d.b.ns)};
    case Kind::exponential: return t.rng.exponential(d.a);
    case Kind::normal: return t.rng.normal(d.a, d.b);
  }
  return d.a;
}

void Dispatcher::advance(Processor& p) {
  Thread& t = *p.active;
  if (t.must_continue_hook && block_hook_) {
    t.must_continue_hook = false;
    if (!block_hook_->before_continue(t)) return;  // it blocked again (e.g. on its funnel)
    if (t.in_run || p.ast_pending) return;
  }
  if (t.undepress_on_resume) {
    // swtch_pri returns: its depression is aborted (thread_depress_abort_internal).
    t.undepress_on_resume = false;
    undepress(t);
    if (p.ast_pending) return;
  }
  for (;;) {
    if (at_safe_point(t)) {
      terminate_self(t);
      return;
    }
    if (t.frames.empty()) {
      if (!job_done(t)) return;
      continue;
    }
    model::Frame& f = t.frames.back();
    if (f.pc >= f.ops->size()) {
      if (f.forever || f.repeats_left > 0) {
        if (!f.forever) --f.repeats_left;
        f.pc = 0;
      } else {
        t.frames.pop_back();
      }
      continue;
    }
    const model::Op& op = (*f.ops)[f.pc++];
    t.retrying = false;  // repeat_op sets it again if this op has to be retried
    if (t.ops_instant != now_) {
      t.ops_instant = now_;
      t.ops_at_instant = 0;
    }
    if (++t.ops_at_instant > kMaxOpsPerInstant)
      panic(&t, fmt::format("more than {} ops at this instant without simulated time passing (op \"{}\"); "
                            "a loop of zero-time ops",
                            kMaxOpsPerInstant, model::to_string(op.kind)));
    if (op_started_) {
      uint8_t& retried = op_retried_[static_cast<size_t>(t.index)];
      if (retried)
        retried = 0;
      else
        op_started_(t, op);
    }
    // A time past the int64 limit (a random duration drawn for this op, or one an extension
    // layer computes from it) names the op: the CLI reports it as bad input (exit 2).
    try {
      switch (op.kind) {
        case OpKind::run: {
          Duration d = draw(t, op.duration);
          if (d.ns <= 0) continue;
          t.in_run = true;
          t.run_remaining = d;
          schedule_cpu_event(p);
          return;
        }
        case OpKind::sleep: {
          Duration d = draw(t, op.duration);
          if (d.ns <= 0) continue;
          block(t, BlockReason::sleep, -1);
          queue_.push(now_ + d, kRankTimer, kEvTimer, t.index, ++t.timer_generation);
          return;
        }
        case OpKind::sleep_until_next_period:
          t.frames.clear();
          continue;
        case OpKind::create_thread:
          // models xnu-792 iokit/Kernel/IOLib.c IOCreateThread -> osfmk/kern/thread.c
          // kernel_thread_start: the new thread is made runnable at once (clear_wait,
          // started = TRUE), with the priority it was declared with (docs/threads.md).
          start_thread(threads_[static_cast<size_t>(op.thread)], t.index);
          if (p.ast_pending || t.state != ThreadState::running) return;  // it may preempt us
          continue;
        case OpKind::exit_thread: {
          // models xnu-792 iokit/Kernel/IOLib.c IOExitThread = thread_terminate(current_thread()):
          // the thread ends at once (a kernel thread forces its AST, thread_terminate); the job
          // it was running counts as completed, as if its function had returned.
          t.job_active = false;
          int64_t job = t.jobs_completed++;
          SimTime release = t.release_time(job);
          emit(TraceEvent{now_, TraceKind::completed, 0, static_cast<int16_t>(t.cpu), t.index, -1, job,
                          (now_ - release).ns});
          if (t.deadline.ns > 0 && now_ > release + t.deadline)
            emit(TraceEvent{now_, TraceKind::deadline_missed, 0, static_cast<int16_t>(t.cpu), t.index, -1, job,
                            (now_ - (release + t.deadline)).ns});
          t.frames.clear();
          exit_thread(t, 1, -1);
          return;
        }
        case OpKind::internal_sched_tick: {
          // models xnu-792 osfmk/kern/sched_prim.c sched_tick_continue: the tick's work (the
          // policy's compute_averages and thread_update_scan), then clock_deadline_for_periodic_event
          // (osfmk/kern/clock.c): the next deadline is one period on; if that has passed already
          // (the thread could not run), one period from now, so missed ticks are dropped.
          // sim: the tick thread's own CPU time is zero.
          policy_->tick();
          Duration period = policy_->tick_period();
          if (tick_deadline_ == SimTime::never()) tick_deadline_ = t.start;
          tick_deadline_ = tick_deadline_ + period;
          if (tick_deadline_ <= now_) tick_deadline_ = now_ + period;
          block(t, BlockReason::sleep, -1);
          if (tick_deadline_ < end_) queue_.push(tick_deadline_, kRankTimer, kEvTimer, t.index, ++t.timer_generation);
          return;
        }
        case OpKind::loop:
          t.frames.push_back(model::Frame{&op.body, 0, op.forever ? 0 : op.times - 1, op.forever});
          continue;
        case OpKind::yield:
          if (block_hook_) {
            block_hook_->on_voluntary_block(t);
            t.must_continue_hook = true;
          }
          p.yield_pending = true;
          p.handoff_to = op.ref;  // -1: a plain yield
          post_ast(p);
          return;
        case OpKind::set_priority:
          set_base_pri(t, op.priority);
          if (p.ast_pending) return;  // lowered below a queued thread: let thread_select decide
          continue;
        case OpKind::set_mode:
          policy_->set_mode(t, op);
          if (p.ast_pending) return;
          continue;
        case OpKind::thread_policy:
          policy_->thread_policy(t, op);
          if (p.ast_pending) return;
          continue;
        case OpKind::task_policy:
          policy_->task_policy(t, op);
          if (p.ast_pending) return;
          continue;
        case OpKind::setpriority:
          policy_->setpriority(t, op);
          if (p.ast_pending) return;
          continue;
        case OpKind::pthread_setschedparam:
          policy_->pthread_setschedparam(t, op);
          if (p.ast_pending) return;
          continue;
        case OpKind::swtch_pri: {
          // models xnu-792 osfmk/kern/syscall_subr.c swtch_pri: with nothing else runnable it
          // returns at once; otherwise depress to DEPRESSPRI for one quantum and yield.
          if (!policy_->has_queued(p.index)) continue;
          depress(t, machine_.quantum);
          t.undepress_on_resume = true;
          p.yield_pending = true;
          post_ast(p);
          return;
        }
        default: {
          OpHandler* h = static_cast<size_t>(op.kind) < op_handlers_.size() ? op_handlers_[static_cast<size_t>(op.kind)]
                                                                            : nullptr;
          if (!h)
            throw internal_error(fmt::format("op \"{}\" reached the interpreter but is not supported (at {})",
                                             model::to_string(op.kind), op.pointer));
          t.op_frame = static_cast<int32_t>(t.frames.size()) - 1;
          if (!h->execute(t, op)) return;
          if (t.state != ThreadState::running || p.active != &t) return;
          continue;
        }
      }
    } catch (const core::TimeOverflow& e) {
      throw e.with_pointer(op.pointer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Extension API

void Dispatcher::register_op_handler(model::OpKind kind, OpHandler* handler) {
  size_t i = static_cast<size_t>(kind);
  if (op_handlers_.size() <= i) op_handlers_.resize(i + 1, nullptr);
  op_handlers_[i] = handler;
}

uint16_t Dispatcher::register_event_handler(EventHandler* handler) {
  event_handlers_.push_back(handler);
  return static_cast<uint16_t>(kFirstExtensionKind + event_handlers_.size() - 1);
}

void Dispatcher::start_thread(Thread& t, int32_t creator) {
  if (t.state != ThreadState::unstarted) return;
  t.start = now_;  // its job (the thread's whole life) is released now
  on_start(t, creator);
}

int Dispatcher::abort_thread(Thread& caller, Thread& target) {
  int kr = 0;
  if (target.kernel) kr = 5;                                    // KERN_FAILURE
  else if (target.state == ThreadState::unstarted) kr = 4;      // sim: nothing to name yet
  else if (target.state == ThreadState::done || target.abort_pending) kr = 37;  // KERN_TERMINATED
  emit(TraceEvent{now_, TraceKind::terminate_asked, 0, static_cast<int16_t>(caller.cpu), caller.index, target.index, kr, 0});
  if (kr != 0) return kr;
  target.abort_pending = true;
  target.terminator = caller.index;
  switch (target.state) {
    case ThreadState::running:
      // act_set_apc on another CPU: cause_ast_check makes it take the AST now.
      post_ast(cpus_[static_cast<size_t>(target.cpu)]);
      break;
    case ThreadState::blocked:
      // Waiting for its next period (a user thread sleeps interruptibly there): clear_wait with
      // THREAD_INTERRUPTED ends the wait. Other waits are the sync layer's, or uninterruptible.
      if (target.block_reason == BlockReason::period) wake(target, WakeReason::interrupted);
      break;
    default:
      break;  // runnable: it ends when it is next dispatched
  }
  return 0;
}

bool Dispatcher::wait_until_stopped(Thread& caller, Thread& target) {
  if (target.state != ThreadState::running && target.state != ThreadState::runnable) return false;
  stop_waiters_[static_cast<size_t>(target.index)].push_back(caller.index);
  block(caller, BlockReason::thread_wait, target.index);
  return true;
}

void Dispatcher::stopped(Thread& t) {
  std::vector<int32_t>& w = stop_waiters_[static_cast<size_t>(t.index)];
  if (w.empty()) return;
  std::vector<int32_t> waiters;
  waiters.swap(w);
  for (int32_t c : waiters) wake(threads_[static_cast<size_t>(c)], WakeReason::event);
}

// models xnu-792 osfmk/kern/thread_act.c special_handler -> thread_terminate_self for a thread
// marked by thread_terminate: what it was computing is abandoned; its held locks stay held
// (SwitchObserver::exiting reports them) and its funnel is dropped as at any exit.
void Dispatcher::terminate_self(Thread& t) {
  t.in_run = false;
  t.run_remaining = Duration{};
  t.frames.clear();
  t.job_active = false;
  exit_thread(t, 2, t.terminator);
}

void Dispatcher::repeat_op(Thread& t) {
  if (t.op_frame >= 0 && static_cast<size_t>(t.op_frame) < t.frames.size() && t.frames[static_cast<size_t>(t.op_frame)].pc > 0) {
    t.retrying = true;
    --t.frames[static_cast<size_t>(t.op_frame)].pc;
    if (op_started_) op_retried_[static_cast<size_t>(t.index)] = 1;
  }
}

void Dispatcher::push_ops(Thread& t, const std::vector<model::Op>* ops) {
  t.frames.push_back(model::Frame{ops, 0, 0, false});
}

void Dispatcher::compute(Thread& t, Duration d) {
  if (d.ns <= 0) return;
  t.in_run = true;
  t.run_remaining = d;
  schedule_cpu_event(cpus_[static_cast<size_t>(t.cpu)]);
}

void Dispatcher::spin(Thread& t, Duration limit, int32_t lock) {
  t.spinning = true;
  t.spin_lock = lock;
  t.spin_limit = limit;
  emit(TraceEvent{now_, TraceKind::spin_began, 0, static_cast<int16_t>(t.cpu), t.index, lock, 0, 0});
  t.in_run = true;
  t.run_remaining = limit;
  schedule_cpu_event(cpus_[static_cast<size_t>(t.cpu)]);
}

void Dispatcher::end_spin(Thread& t) {
  t.spinning = false;
  Duration spun = t.spin_limit - t.run_remaining;
  emit(TraceEvent{now_, TraceKind::spin_ended, 0, static_cast<int16_t>(t.cpu), t.index, t.spin_lock, spun.ns, 0});
  t.spin_lock = -1;
}

void Dispatcher::stop_spin(Thread& t) {
  if (!t.spinning) return;
  bool on_cpu = t.state == ThreadState::running && t.cpu >= 0 && cpus_[static_cast<size_t>(t.cpu)].active == &t;
  if (on_cpu) account(cpus_[static_cast<size_t>(t.cpu)]);
  end_spin(t);
  t.in_run = false;
  t.run_remaining = Duration{};
  if (!on_cpu) return;  // preempted while spinning: it continues when dispatched again
  Processor& p = cpus_[static_cast<size_t>(t.cpu)];
  if (now_ >= p.progress_from) {
    ++p.generation;  // its spin-end event is moot; the interpreter reschedules
    p.advance = true;
  } else {
    schedule_cpu_event(p);
  }
}

void Dispatcher::exit_kernel(Thread& t) {
  if (t.kernel_depth > 0) --t.kernel_depth;
  if (t.kernel_depth == 0 && !t.kernel && t.cpu >= 0 && t.state == ThreadState::running)
    post_ast(cpus_[static_cast<size_t>(t.cpu)]);  // return to user mode: all ASTs are handled
}

// ---------------------------------------------------------------------------------------------
// Primary interrupts (xnu-facts.md 5.6; interrupt time is the CPU's, not the thread's)

// kStepProgram: the next op of the handler's program; kStepSpinTimeout: a handler's spin for a
// lock reached LockTimeOut (the event's generation is the CPU's handler_spin); kStepEnabled: a
// thread enabled interrupts again, take any that waited.
enum InterruptStep : int64_t {
  kStepHandlerStart = 0, kStepHandlerDone = 1, kStepExit = 2, kStepProgram = 3, kStepSpinTimeout = 4,
  kStepEnabled = 5
};

// The simple-lock timeout (ppc hw_lock.s LockTimeOut, xnu-facts.md 7), for handlers' spins.
constexpr Duration kHandlerLockTimeOut = Duration::milliseconds(250);

void Dispatcher::raise_interrupt(int cpu, int32_t source, Duration handler, InterruptClient* client,
                                 const std::vector<model::Op>* program) {
  Processor& p = cpus_[static_cast<size_t>(cpu)];
  emit(TraceEvent{now_, TraceKind::interrupt_arrived, 0, static_cast<int16_t>(cpu), -1, source, 0, 0});
  // The dispatcher keeps the client of each source itself: the model's pending interrupt only
  // names the source (no upward pointer from sim/model).
  if (source >= 0) {
    if (interrupt_clients_.size() <= static_cast<size_t>(source))
      interrupt_clients_.resize(static_cast<size_t>(source) + 1, nullptr);
    interrupt_clients_[static_cast<size_t>(source)] = client;
  }
  p.interrupts.push_back(model::PendingInterrupt{source, now_, handler, program});
  // With interrupts disabled by the thread running here the arrival waits (kStepEnabled).
  if (!p.in_interrupt && p.interrupts_disabled == 0) begin_interrupt(p);
}

void Dispatcher::disable_interrupts(Thread& t) {
  if (t.cpu < 0) throw internal_error(fmt::format("disable_interrupts: thread \"{}\" has no CPU", t.name));
  ++cpus_[static_cast<size_t>(t.cpu)].interrupts_disabled;
}

void Dispatcher::enable_interrupts(Thread& t) {
  if (t.cpu < 0) throw internal_error(fmt::format("enable_interrupts: thread \"{}\" has no CPU", t.name));
  Processor& p = cpus_[static_cast<size_t>(t.cpu)];
  if (p.interrupts_disabled > 0) --p.interrupts_disabled;
  // Not at once: the running thread is inside its interpreter; the waiting interrupts are taken
  // by an event at this instant, as an arrival now would be.
  if (p.interrupts_disabled == 0 && !p.interrupts.empty())
    queue_.push(now_, kRankCpu, kEvInterrupt, p.index, 0, kStepEnabled);
}

void Dispatcher::interrupt_lock_granted(int cpu) {
  Processor& p = cpus_[static_cast<size_t>(cpu)];
  ++p.handler_spin;  // its LockTimeOut is cancelled
  queue_.push(now_, kRankCpu, kEvInterrupt, p.index, 0, kStepProgram);
}

// A handler's program: `run` computes in interrupt context, `lock` and `unlock` go to the
// InterruptLocks (a lock held elsewhere makes the handler spin, with interrupts off, until it is
// granted or LockTimeOut). At its end the handler is done, as a duration handler would be.
void Dispatcher::run_handler_program(Processor& p) {
  const model::PendingInterrupt& irq = p.interrupts.front();
  const std::vector<model::Op>& ops = *irq.program;
  while (p.handler_pc < ops.size()) {
    step_instant("interrupt handler");
    const model::Op& op = ops[p.handler_pc++];
    switch (op.kind) {
      case OpKind::run:
        queue_.push(now_ + op.duration.a, kRankCpu, kEvInterrupt, p.index, 0, kStepProgram);
        return;
      case OpKind::lock:
        if (!interrupt_locks_) throw internal_error("an interrupt handler takes a lock, but no layer handles it");
        if (interrupt_locks_->irq_lock(p.index, irq.source, op.ref)) break;
        ++p.handler_spin;
        queue_.push(now_ + kHandlerLockTimeOut, kRankCpu, kEvInterrupt, p.index, p.handler_spin, kStepSpinTimeout);
        return;
      case OpKind::unlock:
        if (!interrupt_locks_) throw internal_error("an interrupt handler releases a lock, but no layer handles it");
        interrupt_locks_->irq_unlock(p.index, irq.source, op.ref);
        break;
      default:
        throw internal_error(fmt::format("interrupt handler op \"{}\" ({})", model::to_string(op.kind), op.pointer));
    }
  }
  queue_.push(now_, kRankCpu, kEvInterrupt, p.index, 0, kStepHandlerDone);
}

void Dispatcher::begin_interrupt(Processor& p) {
  const model::PendingInterrupt& irq = p.interrupts.front();
  if (!p.in_interrupt) {
    // The interrupted thread's progress stops; so does any switch cost it was paying.
    if (p.active && p.active->state == ThreadState::running) account(p);
    p.saved_cost = p.progress_from > now_ ? p.progress_from - now_ : Duration{};
    ++p.generation;
    p.in_interrupt = true;
  }
  p.interrupt_began = now_;
  Duration latency = (now_ - irq.arrived) + machine_.interrupt_entry;
  emit(TraceEvent{now_, TraceKind::interrupt_began, 0, static_cast<int16_t>(p.index),
                  p.active ? p.active->index : -1, irq.source, latency.ns, machine_.interrupt_entry.ns});
  queue_.push(now_ + machine_.interrupt_entry, kRankCpu, kEvInterrupt, p.index, 0, kStepHandlerStart);
}

void Dispatcher::on_interrupt_step(Processor& p, int64_t step) {
  if (step == kStepEnabled) {
    if (!p.in_interrupt && p.interrupts_disabled == 0 && !p.interrupts.empty()) begin_interrupt(p);
    return;
  }
  const model::PendingInterrupt irq = p.interrupts.front();
  InterruptClient* client = irq.source >= 0 && static_cast<size_t>(irq.source) < interrupt_clients_.size()
                                ? interrupt_clients_[static_cast<size_t>(irq.source)]
                                : nullptr;
  switch (step) {
    case kStepHandlerStart:
      if (client) client->handler_started(irq.source, p.index, now_ - irq.arrived);
      if (irq.program) {
        p.handler_pc = 0;
        return run_handler_program(p);
      }
      queue_.push(now_ + irq.handler, kRankCpu, kEvInterrupt, p.index, 0, kStepHandlerDone);
      return;
    case kStepProgram:
      return run_handler_program(p);
    case kStepSpinTimeout: {
      const model::Op& op = (*irq.program)[p.handler_pc - 1];
      interrupt_locks_->irq_spin_timed_out(p.index, irq.source, op.ref);  // panics
      return;
    }
    case kStepHandlerDone:
      if (client) client->handler_done(irq.source, p.index);
      queue_.push(now_ + machine_.interrupt_exit, kRankCpu, kEvInterrupt, p.index, 0, kStepExit);
      return;
    default:
      break;
  }
  bool last = p.interrupts.size() == 1;  // b = 1: back to thread context
  emit(TraceEvent{now_, TraceKind::interrupt_ended, 0, static_cast<int16_t>(p.index), p.active ? p.active->index : -1,
                  irq.source, (now_ - p.interrupt_began).ns, last ? 1 : 0});
  p.interrupts.pop_front();
  // Not nested: the next one waited till now. (A thread cannot have disabled interrupts here
  // meanwhile: none ran on this CPU.)
  if (!p.interrupts.empty()) return begin_interrupt(p);
  // Return from interrupt: the thread resumes (its remaining switch cost first), and any AST
  // posted meanwhile is taken by the usual rules in this instant's dispatch pass.
  p.in_interrupt = false;
  Thread* t = p.active;
  if (!t || t->state != ThreadState::running) {
    if (p.active || p.handed) post_ast(p);
    return;
  }
  p.progress_from = now_ + p.saved_cost;
  if (now_ >= p.quantum_end) thread_quantum_expire(p);
  if (t->in_run || now_ < p.progress_from) schedule_cpu_event(p);
  else p.advance = true;
}

void Dispatcher::enable_preemption(Thread& t) {
  if (t.preemption_level > 0) --t.preemption_level;
  if (t.preemption_level == 0 && t.cpu >= 0 && t.state == ThreadState::running) post_ast(cpus_[static_cast<size_t>(t.cpu)]);
}

void Dispatcher::panic(const Thread* culprit, const std::string& what) {
  std::string who = culprit ? fmt::format("thread \"{}\"", culprit->name) : std::string("the kernel");
  std::string where = culprit && culprit->cpu >= 0 ? fmt::format(" on cpu{}", culprit->cpu) : "";
  std::string op;
  if (culprit && !culprit->frames.empty()) {
    const model::Frame& f = culprit->frames.back();
    if (f.pc > 0 && f.pc <= f.ops->size()) op = fmt::format(" at {}", (*f.ops)[f.pc - 1].pointer);
  }
  panic_report_ = fmt::format("panic at {} s: {}{}{}: {}", core::format_time(now_), who, where, op, what);
  emit(TraceEvent{now_, TraceKind::panicked, 0, static_cast<int16_t>(culprit ? culprit->cpu : -1),
                  culprit ? culprit->index : -1, -1, 0, 0});
  throw core::SimulatedPanic(panic_report_);
}

}  // namespace sim::dispatcher
