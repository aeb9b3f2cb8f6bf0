// A small exact simulation of the textbook scheduling rules, independent of xnusim's engine:
// periodic tasks (C, D, T, offset, optional CPU) on m identical CPUs under global fixed priority
// or global EDF, integer time, zero switch costs, event driven (releases and completions). The
// fidelity tests of `fixed` and `edf` compare xnusim against it (policy-facts.md 3.1).
#pragma once

#include <cstdint>
#include <vector>

namespace textbook {

struct Task {
  int64_t c = 1;         // computation per job
  int64_t d = 1;         // relative deadline
  int64_t t = 1;         // period: jobs released at offset + k*t
  int64_t offset = 0;
  int cpu = -1;          // bound CPU (partitioned), -1 = global
  int priority = 0;      // fixed priority: higher runs first (ignored by EDF)
};

enum class Rule {
  fixed_priority,  // the m ready jobs of highest priority run (ties: earlier release, lower index)
  edf,             // the m ready jobs with the earliest absolute deadlines run (ties: earlier
                   // release, then the task declared first)
};

struct TaskResult {
  int64_t worst_response = 0;          // over the jobs completed within the horizon
  int64_t misses = 0;                  // completed late, or unfinished with deadline <= horizon
  std::vector<int64_t> completions;    // completion time of each completed job, in job order
};

// Simulates [0, horizon]: jobs released at times <= horizon, completions at times <= horizon
// count. A job of a task waits for the task's previous job (jobs of one task run in order).
// Either every task is global or every task is bound (partitioned: each CPU runs its own tasks
// as a uniprocessor); a mix throws std::invalid_argument.
std::vector<TaskResult> simulate(const std::vector<Task>& tasks, int cpus, Rule rule, int64_t horizon);

// Least common multiple of the periods.
int64_t hyperperiod(const std::vector<Task>& tasks);

}  // namespace textbook
