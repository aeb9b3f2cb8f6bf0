// The data of `xnusim sweep` and `xnusim merge` (docs/sweep.md): the grid a sweep describes (its
// manifest, sweep.json), one record per point (a line of points.jsonl), the identity of a point
// for resuming, and the files of an output folder, rendered from the manifest and the records
// alone, so that a folder merged from shards is byte for byte the folder one machine writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/cli/grid_args.hpp"
#include "sim/metrics/catalog.hpp"
#include "sim/metrics/results.hpp"

namespace sim::cli {

// --metric NAME: `system.PATH`, or KIND.ID.PATH with KIND one of threads, locks, cpus (ID the
// CPU number), workloops, interrupts, devices, and PATH a metric of that object
// (`threads.audio.latency_ns.p99`).
struct SweepMetric {
  std::string name;  // as given
  metrics::TargetKind kind = metrics::TargetKind::system;
  std::string id;
  int64_t index = -1;  // cpus
  std::string path;
};
std::optional<SweepMetric> parse_sweep_metric(const std::string& text, std::string& error);
// The metric's value in one run's results; nullopt when the object does not exist there.
std::optional<int64_t> sweep_metric_value(const metrics::Results& r, const SweepMetric& m);

// What a sweep is: everything the points and their order depend on (sweep.json).
struct SweepManifest {
  std::string scenario;     // the scenario's name
  std::string description;  // the scenario's description
  std::string file;         // as given on the command line
  std::string sha256;       // of the file's bytes
  std::vector<std::string> policies;
  std::vector<Vary> varies;
  std::vector<uint64_t> seeds;
  std::vector<std::string> sets;   // --cpus / --set edits, "PATH=VALUE", in order
  std::string duration;            // --duration as given, "" for the scenario's own
  std::vector<std::string> metrics;
  bool ignore_expects = false;
  // --shard K/N (K from 1); absent in a whole sweep and in a merged folder.
  std::optional<std::pair<size_t, size_t>> shard;

  // Points: configurations (every --vary combination, the first --vary outermost, then each
  // policy) times seeds, seeds innermost.
  size_t configurations() const;
  size_t points() const;
  nlohmann::ordered_json to_json() const;
  // nullopt with `error` set when the JSON is not a sweep manifest of this version.
  static std::optional<SweepManifest> from_json(const nlohmann::ordered_json& j, std::string& error);
};

// One point of the grid by its index.
struct SweepPoint {
  size_t index = 0;
  size_t configuration = 0;
  size_t combo = 0;  // index into vary_combinations()
  std::string policy;
  std::vector<std::string> vary_values;  // one per --vary
  uint64_t seed = 0;
};
SweepPoint sweep_point(const SweepManifest& m, const std::vector<std::vector<size_t>>& combos, size_t index);

// The shard (K of N, K from 1) a point belongs to: points are dealt round robin, so each shard
// gets a similar mix of policies, values and seeds.
inline bool in_shard(size_t index, size_t k, size_t n) { return index % n == k - 1; }

// The identity of a point: a digest of the scenario file's digest, the edits, the policy, the
// --vary values, the duration, the seed and whether expects count. A re-run skips a point whose
// key is already recorded (with every metric asked for).
std::string sweep_point_key(const SweepManifest& m, const SweepPoint& p);

// `s` as one word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
std::string shell_word(const std::string& s);

// One line of points.jsonl.
struct SweepRecord {
  size_t index = 0;
  std::string key;
  std::string policy;
  std::vector<std::string> vary_values;
  uint64_t seed = 0;
  int exit = 0;          // 0 ok, 1 an expect failed, 2 bad combination, 3 internal error, 4 panic
  std::string message;   // why it failed ("" when ok)
  std::vector<std::optional<int64_t>> metrics;  // one per manifest metric
  // The full results as compact JSON text ("null" when the run did not finish); kept as text,
  // which takes several times less memory than a parsed document.
  std::string results = "null";
  bool ok() const { return exit == 0; }
};
// One line of points.jsonl with its '\n' ("results" last).
std::string record_line(const SweepRecord& r, const SweepManifest& m);
// nullopt for a line that is not a whole record for this manifest (a torn last line, say); a
// record that lacks one of the manifest's metrics is also refused (it is run again).
std::optional<SweepRecord> record_from_line(const std::string& line, const SweepManifest& m);

// The files of an output folder, in the order they are written.
struct SweepFiles {
  std::string manifest;  // sweep.json
  std::string points_jsonl;
  std::string points_csv;
  std::string summary_csv;
  std::string summary_html;
};
// Renders every file; `records` are in index order, one per index at most.
SweepFiles render_sweep(const SweepManifest& m, const std::vector<SweepRecord>& records);

// Writes the files into `dir` (each atomically: a temporary renamed over the target) and
// removes the journal. Returns an error line or "".
std::string write_sweep_folder(const std::string& dir, const SweepFiles& files);

// The journal a running sweep appends each finished point to (in the order they finish).
inline constexpr const char* kJournalName = "journal.jsonl";

// The records already in `dir` (points.jsonl, then the journal) that belong to manifest `m`,
// in file order. A torn last line of the journal is skipped and, when `cut_torn_line` (a sweep
// about to append), cut off the file so appends stay whole; merge leaves its inputs untouched.
std::vector<SweepRecord> read_existing_records(const std::string& dir, const SweepManifest& m, bool cut_torn_line);

}  // namespace sim::cli
