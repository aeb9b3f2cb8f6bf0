// `--csv DIR`: one OutputFile per table, opened before the run, committed after it.
#include "sim/cli/csv_directory.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "reports/csv_report.hpp"

namespace sim::cli {

bool csv_is_directory(const std::string& path) {
  if (path.empty() || path == "-") return false;
  if (path.back() == '/') return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> CsvDirectory::paths(const std::string& dir) {
  std::string base = dir;
  if (base.back() != '/') base += '/';
  std::vector<std::string> out;
  for (const std::string& name : reports::csv_table_names()) out.push_back(base + name);
  return out;
}

std::string CsvDirectory::open(const std::string& dir) {
  static_assert(kTables > 1);
  if (reports::csv_table_names().size() != kTables || reports::csv_table_names()[1] != "jobs.csv")
    return "xnusim: internal error: the --csv tables changed";
  dir_ = dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (::mkdir(dir.c_str(), 0777) != 0)
      return fmt::format("xnusim: error: --csv: cannot create directory \"{}\": {} (create its parent first, "
                         "or give a file name without a final '/' for the one-table CSV)",
                         dir, std::strerror(errno));
    created_ = true;
  } else if (!S_ISDIR(st.st_mode)) {
    return fmt::format("xnusim: error: --csv: \"{}\" exists and is not a directory (remove the final '/' to write "
                       "the one-table CSV to that file)",
                       dir);
  }
  std::vector<std::string> p = paths(dir);
  for (size_t i = 0; i < kTables; ++i) {
    if (std::string e = files_[i].open(p[i]); !e.empty()) {
      discard();
      return fmt::format("{} (--csv {})", e, dir);
    }
  }
  open_ = true;
  return "";
}

void CsvDirectory::write_tables(const metrics::Results& results) {
  for (const reports::CsvTable& t : reports::results_to_csv_tables(results)) {
    for (size_t i = 0; i < kTables; ++i)
      if (reports::csv_table_names()[i] == t.name) files_[i].write(t.text);
  }
}

std::string CsvDirectory::finish() {
  for (OutputFile& f : files_)
    if (std::string e = f.finish(); !e.empty()) return e;
  return "";
}

std::string CsvDirectory::commit() {
  for (OutputFile& f : files_)
    if (std::string e = f.commit(); !e.empty()) return e;
  committed_ = true;
  return "";
}

void CsvDirectory::discard() {
  for (OutputFile& f : files_) f.discard();
  if (created_ && !committed_) ::rmdir(dir_.c_str());  // only if empty: nothing else is lost
  created_ = false;
  open_ = false;
}

}  // namespace sim::cli
