// Renders the per-thread part of Results as CSV: one header row, one row per thread.
#pragma once

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "sim/core/trace.hpp"
#include "sim/metrics/results.hpp"

namespace sim::reports {

// Columns: id, task, mode, base_priority, cpu_time_ns, jobs, deadline_misses,
// response_ns.{count,min,p50,p90,p99,p999,max,mean}, latency_ns.{same}, jitter_ns, blocked_ns,
// inversion_ns, preemptions, context_switches, migrations, demotions, min_sched_pri,
// max_sched_pri. Fields are quoted as RFC 4180 requires; rows end in "\n".
std::string results_to_csv(const metrics::Results& results);

// The tidy tables of `--csv DIR` (docs/results-format.md, "CSV tables"), each one header row then
// one row per object, RFC 4180. jobs.csv is not here: JobsCsvWriter streams it during the run.
struct CsvTable {
  std::string name;  // file name in the directory, e.g. "threads.csv"
  std::string text;
};
// threads.csv, locks.csv, workloops.csv, interrupts.csv, devices.csv, cpus.csv, histograms.csv.
std::vector<CsvTable> results_to_csv_tables(const metrics::Results& results);
// The file names of every table of `--csv DIR`, jobs.csv included, in the order above.
const std::vector<std::string>& csv_table_names();

// jobs.csv: one row per job, written as the run goes (rows of completed jobs in completion
// order, then at the end the jobs still unfinished, thread by thread), so memory does not grow
// with the number of jobs. Columns: thread, job, release, start, end, response, latency, missed.
class JobsCsvWriter final : public core::TraceSink {
 public:
  // `out` and `names` are borrowed; writes the header at once.
  JobsCsvWriter(std::FILE* out, const core::NameTable& names);
  ~JobsCsvWriter() override { flush(); }
  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;
  void flush();

 private:
  struct Job {
    int64_t release = 0;
    int64_t deadline = -1;  // absolute, -1 when none
  };
  struct PerThread {
    std::deque<Job> open;    // released, not completed: normally one, more only when overrun
    int64_t next_job = 0;    // number of open.front()
    int64_t start = -1;      // when open.front() first ran, -1 if it has not yet
  };
  PerThread& thread(int32_t i);
  void row(int32_t thread, int64_t job, const Job& j, int64_t start, int64_t end, bool missed);

  std::FILE* out_;
  const core::NameTable& names_;
  std::vector<PerThread> threads_;
  std::string buffer_;
};

}  // namespace sim::reports
