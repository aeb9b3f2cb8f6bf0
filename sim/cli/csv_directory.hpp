// `--csv DIR`: the tidy tables of a run (threads.csv, jobs.csv, ...) written into a directory,
// each file atomically like every other output (OutputFile), all committed together.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/cli/output_file.hpp"
#include "sim/metrics/results.hpp"

namespace sim::cli {

// The rule for `--csv PATH`: a directory of tables when PATH ends in '/' or names an existing
// directory; otherwise one per-thread CSV file (the original form; "-" is stdout).
bool csv_is_directory(const std::string& path);

class CsvDirectory {
 public:
  CsvDirectory() = default;
  CsvDirectory(const CsvDirectory&) = delete;
  CsvDirectory& operator=(const CsvDirectory&) = delete;
  ~CsvDirectory() { discard(); }

  // The file paths the tables will have in `dir` (for the check that outputs are distinct).
  static std::vector<std::string> paths(const std::string& dir);
  // Creates `dir` if it does not exist (its parent must) and opens every table. Returns an error
  // line naming --csv, or "" on success.
  std::string open(const std::string& dir);
  bool is_open() const { return open_; }
  // jobs.csv, streamed during the run (JobsCsvWriter).
  std::FILE* jobs() const { return files_[1].file(); }
  // Writes the other tables from the results.
  void write_tables(const metrics::Results& results);
  // Flushes and closes every table; then renames each over its target. "" on success.
  std::string finish();
  std::string commit();
  // Removes the temporaries and, if open() created it, the directory.
  void discard();

 private:
  static constexpr size_t kTables = 8;  // reports::csv_table_names()
  std::array<OutputFile, kTables> files_;
  std::string dir_;
  bool created_ = false;
  bool open_ = false;
  bool committed_ = false;
};

}  // namespace sim::cli
