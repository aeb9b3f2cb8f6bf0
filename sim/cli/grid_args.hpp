// The arguments that describe a grid of runs, shared by `compare` and `sweep`: --policies,
// --seeds, --vary (docs/compare.md has the syntax), and the helpers they use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/overrides.hpp"
#include "sim/core/time.hpp"

namespace CLI {
class App;
}

namespace sim::cli {

// A limit on the runs one command may ask for: far above any useful comparison, it only stops a
// typo such as --seeds 1..1000000000 from queueing work for days.
inline constexpr size_t kMaxRuns = 100'000;

// A whole decimal integer, or nullopt.
std::optional<uint64_t> parse_u64(std::string_view text);

// Splits at the commas outside strings, brackets and braces (a VALUE may be JSON).
std::vector<std::string> split_values(const std::string& s);

// --policies: names from the registry, each once; "" means every registered policy.
std::optional<std::vector<std::string>> parse_policies(const std::string& text, std::string& error);

// --seeds: N, A..B (A <= B) or a comma list; every seed a decimal integer.
std::optional<std::vector<uint64_t>> parse_seeds(const std::string& text, std::string& error);

// --vary PATH=V1,V2,...
struct Vary {
  std::string path;
  std::vector<std::string> values;
};
std::optional<Vary> parse_vary(const std::string& arg, std::string& error);

// A --vary value as a heading: PATH=VALUE, or for a JSON object (a whole lock, say) its members
// but "id" and "kind".
std::string vary_label(const std::string& path, const std::string& value);

// Every combination of value indices, the first --vary outermost (one empty combination when
// nothing varies).
std::vector<std::vector<size_t>> vary_combinations(const std::vector<Vary>& varies);

// The grid options as given: --policies, --set/--cpus, --vary, --seeds, --duration.
struct GridArgs {
  std::string policies;
  std::vector<std::string> sets;
  std::optional<std::string> cpus;
  std::vector<std::string> varies;
  std::optional<std::string> seeds;
  std::optional<std::string> duration;
};

// Registers them on `app` (`verb`: what the command does with the policies, e.g. "compare").
void add_grid_options(CLI::App& app, GridArgs& g, std::string_view verb);

// The grid options checked: the policies (every registered one when none is given), the edits,
// the varied paths (each path once), the seeds (nullopt: the scenario's own) and the duration.
struct Grid {
  std::vector<std::string> policies;
  std::vector<Override> edits;
  std::vector<Vary> varies;
  std::optional<std::vector<uint64_t>> seeds;
  std::optional<core::Duration> duration;
};
// nullopt with `error` set ("xnusim: error: ...") when an option is wrong.
std::optional<Grid> parse_grid(const GridArgs& g, std::string& error);

}  // namespace sim::cli
