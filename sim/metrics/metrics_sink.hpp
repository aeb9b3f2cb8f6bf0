// MetricsSink: turns the trace event stream into Results (per thread, per CPU, system).
// Streams: memory does not grow with simulated time beyond the distributions' bounded samples.
#pragma once

#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/metrics/distribution.hpp"
#include "sim/metrics/results.hpp"
#include "sim/model/thread.hpp"

namespace sim::metrics {

class MetricsSink final : public core::TraceSink {
 public:
  MetricsSink(const std::vector<model::Thread>& threads, int cpus);

  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

  // Threads, CPUs and system counters; the caller fills scenario/policy/seed/events.
  Results results() const;
  // Copies what results() reads from the threads (id, task, declared mode, kernel), so that the
  // threads may be destroyed before results() is called (Simulation frees its world after the
  // run, before collecting: issue 13, memory per thread).
  void keep_thread_identities();

 private:
  // Only what changes during the run: names, mode and base priority are read from the threads
  // when the results are made (issue 13: memory per thread).
  // The fields an event reads come first, in the first two cache lines; each distribution is
  // line-aligned and a repeated sample touches only its first line (issue 13).
  struct PerThread {
    ThreadCounters r;  // becomes the result's counters as they are
    int64_t latency_from = -1;  // runnable since (ns), -1 when not waiting for a CPU
    int64_t latency_job = -1;   // the job in progress when it became runnable, -1 when none
    int64_t open_job = -1;      // released and not yet completed, -1 when none
    int last_cpu = -1;
    int running_on = -1;
    int sched_pri = 0;
    int declared_base = 0;  // base priority at the start of the run
    Distribution response;
    Distribution latency;
  };
  struct PerCpu {
    CpuResult r;
    int32_t thread = -1;      // running thread, -1 idle
    int64_t cost_from = 0;    // switch instant: the switch cost is paid over [cost_from, cost_end)
    int64_t cost_end = 0;
    int64_t run_from = 0;     // the thread's own time not yet charged starts here (>= cost_end)
    bool in_interrupt = false;
    int64_t interrupt_from = 0;
    int64_t cost_owed = 0;    // switch cost left when an interrupt came
  };
  void leave_interrupt(PerCpu& c, int64_t at);
  void close_segment(PerCpu& c, int64_t at);
  void charge_thread(PerCpu& c, int64_t at);

  SampleBudget budget_;  // shared by every distribution here: memory stays bounded
  // What results() reads from a thread besides the counters.
  struct Identity {
    std::string id;
    std::string task;
    model::ThreadMode mode = model::ThreadMode::timeshare;
    bool kernel = false;
  };
  Identity identity(size_t i) const;

  // Borrowed: ids, tasks, declared modes; nullptr once keep_thread_identities() copied them.
  const std::vector<model::Thread>* model_threads_;
  std::vector<Identity> identities_;
  std::vector<PerThread> threads_;
  std::vector<PerCpu> cpus_;
  int64_t context_switches_ = 0;
  int64_t end_ = 0;
};

}  // namespace sim::metrics
