// Scenario loader: JSON text -> validated plain structs (format v1), or diagnostics that point at
// the offending line:column (syntax) or JSON Pointer (everything else), with did-you-mean notes.
// The pieces are in sim/scenario/load/: document (the parsed JSON), text_positions (syntax and
// positions), readers, world_checks, program_checks and expect_checks.
#include "sim/scenario/loader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "sim/scenario/load/checker.hpp"
#include "sim/scenario/load/text_positions.hpp"

namespace sim::scenario {
namespace {

// Runs the whole pipeline on text; every failure, even an unexpected exception, becomes a
// diagnostic, so callers never see a throw for bad input.
void load_into(LoadResult& result, const std::string& text, const std::string& file) {
  core::Diagnostics& diag = result.diagnostics;
  try {
    load::Document doc;
    if (!load::parse_document(text, file, doc, diag)) return;
    load::Checker checker(file, diag);
    Scenario s = checker.run(doc.root());
    if (!diag.has_errors()) result.scenario = std::move(s);
  } catch (const std::exception& ex) {
    result.scenario.reset();
    diag.syntax(file, 0, 0,
                fmt::format("internal error while reading the scenario: {}", ex.what()));
  } catch (...) {
    result.scenario.reset();
    diag.syntax(file, 0, 0, "internal error while reading the scenario");
  }
}

}  // namespace

LoadResult load_scenario_text(const std::string& text, const std::string& file) {
  LoadResult result;
  load_into(result, text, file);
  return result;
}

bool read_scenario_file(const std::string& path, std::string& text, core::Diagnostics& diag) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      diag.syntax(path, 0, 0, "cannot read the scenario: it is a directory");
      return false;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      diag.syntax(path, 0, 0, fmt::format("cannot open the scenario: {}", std::strerror(errno)));
      return false;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      diag.syntax(path, 0, 0, "cannot read the scenario: read error");
      return false;
    }
  } catch (const std::exception& ex) {
    diag.syntax(path, 0, 0, fmt::format("cannot read the scenario: {}", ex.what()));
    return false;
  }
  return true;
}

LoadResult load_scenario_file(const std::string& path) {
  LoadResult result;
  std::string text;
  if (!read_scenario_file(path, text, result.diagnostics)) return result;
  load_into(result, text, path);
  return result;
}

}  // namespace sim::scenario
