// The tables of `xnusim compare`: configurations side by side per thread, one table per metric,
// the best value marked and differences that matter highlighted; across seeds, the mean and a
// 95% confidence interval (Student's t). Rules in docs/compare.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/metrics/results.hpp"

namespace sim::cli {

// One column: a policy and one value of every --vary, run once per seed.
struct CompareColumn {
  std::string policy;
  std::vector<std::string> vary_values;          // one per --vary path, as given
  std::vector<const metrics::Results*> runs;     // one per seed that finished (panicked ones included)
  std::vector<std::string> failures;             // "seed 3: <panic or error>", one per failed run
};

struct CompareTable {
  std::vector<std::string> vary_paths;
  std::vector<CompareColumn> columns;
};

// Two-sided 95% Student t quantile for `df` degrees of freedom (df >= 1); between tabulated
// values, the one of the next smaller df (wider, so conservative).
double t_quantile_975(int df);

// Mean and the half-width of its 95% confidence interval (0 for one sample).
struct Estimate {
  double mean = 0;
  double half = 0;
  int n = 0;
};
Estimate estimate(const std::vector<double>& samples);

// Every table, in the order of docs/compare.md.
std::string render_compare_tables(const CompareTable& table);

}  // namespace sim::cli
