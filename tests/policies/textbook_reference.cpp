// The textbook reference simulation (see the header). Written for obviousness, not speed: at
// each event instant the ready jobs are sorted by the rule's key and the first m run until the
// next release or completion.
#include "tests/policies/textbook_reference.hpp"

#include <algorithm>
#include <deque>
#include <numeric>
#include <stdexcept>
#include <tuple>

namespace textbook {

namespace {

struct Job {
  int64_t release;
  int64_t remaining;
};

// Global scheduling of `idx` (indices into `tasks`) on `cpus` CPUs; results go to out[idx[k]].
void run_global(const std::vector<Task>& tasks, const std::vector<size_t>& idx, int cpus, Rule rule,
                int64_t horizon, std::vector<TaskResult>& out) {
  size_t n = idx.size();
  std::vector<std::deque<Job>> pending(n);
  std::vector<int64_t> next_release(n);
  for (size_t k = 0; k < n; ++k) next_release[k] = tasks[idx[k]].offset;
  int64_t now = 0;
  for (;;) {
    for (size_t k = 0; k < n; ++k) {
      const Task& tk = tasks[idx[k]];
      while (next_release[k] <= now) {
        pending[k].push_back(Job{next_release[k], tk.c});
        next_release[k] += tk.t;
      }
    }
    if (now >= horizon) break;
    // The ready jobs: the oldest pending job of each task.
    std::vector<size_t> ready;
    for (size_t k = 0; k < n; ++k)
      if (!pending[k].empty()) ready.push_back(k);
    auto key = [&](size_t k) {
      const Task& tk = tasks[idx[k]];
      const Job& j = pending[k].front();
      // Lower sorts first. FP: priority descending; EDF: absolute deadline ascending. Then the
      // earlier release, then the task declared first.
      int64_t primary = rule == Rule::edf ? j.release + tk.d : -static_cast<int64_t>(tk.priority);
      return std::make_tuple(primary, j.release, idx[k]);
    };
    std::sort(ready.begin(), ready.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
    size_t running = std::min(ready.size(), static_cast<size_t>(cpus));
    int64_t next = horizon;
    for (size_t k = 0; k < n; ++k) next = std::min(next, next_release[k]);
    for (size_t r = 0; r < running; ++r) next = std::min(next, now + pending[ready[r]].front().remaining);
    int64_t dt = next - now;
    for (size_t r = 0; r < running; ++r) {
      size_t k = ready[r];
      Job& j = pending[k].front();
      j.remaining -= dt;
      if (j.remaining == 0) {
        const Task& tk = tasks[idx[k]];
        TaskResult& res = out[idx[k]];
        res.completions.push_back(next);
        res.worst_response = std::max(res.worst_response, next - j.release);
        if (next > j.release + tk.d) ++res.misses;
        pending[k].pop_front();
      }
    }
    now = next;
  }
  // Unfinished jobs whose deadline is within the horizon are misses too.
  for (size_t k = 0; k < n; ++k)
    for (const Job& j : pending[k])
      if (j.release + tasks[idx[k]].d <= horizon) ++out[idx[k]].misses;
}

}  // namespace

std::vector<TaskResult> simulate(const std::vector<Task>& tasks, int cpus, Rule rule, int64_t horizon) {
  if (cpus < 1) throw std::invalid_argument("textbook::simulate: cpus must be at least 1");
  size_t bound = 0;
  for (const Task& tk : tasks) {
    if (tk.c < 1 || tk.d < 1 || tk.t < 1 || tk.offset < 0)
      throw std::invalid_argument("textbook::simulate: C, D, T must be positive and the offset not negative");
    if (tk.cpu >= cpus) throw std::invalid_argument("textbook::simulate: a task is bound to a missing CPU");
    if (tk.cpu >= 0) ++bound;
  }
  if (bound != 0 && bound != tasks.size())
    throw std::invalid_argument("textbook::simulate: either every task is bound or none is");
  std::vector<TaskResult> out(tasks.size());
  if (bound == 0) {
    std::vector<size_t> all(tasks.size());
    std::iota(all.begin(), all.end(), size_t{0});
    run_global(tasks, all, cpus, rule, horizon, out);
    return out;
  }
  for (int c = 0; c < cpus; ++c) {
    std::vector<size_t> mine;
    for (size_t k = 0; k < tasks.size(); ++k)
      if (tasks[k].cpu == c) mine.push_back(k);
    if (!mine.empty()) run_global(tasks, mine, 1, rule, horizon, out);
  }
  return out;
}

int64_t hyperperiod(const std::vector<Task>& tasks) {
  int64_t h = 1;
  for (const Task& tk : tasks) h = std::lcm(h, tk.t);
  return h;
}

}  // namespace textbook
