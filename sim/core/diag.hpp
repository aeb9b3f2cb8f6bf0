// Diagnostics for bad input: file:line:col for syntax, file + JSON Pointer for semantics,
// with `note:` lines. Errors are collected (up to a limit) and printed together.
#pragma once

#include <string>
#include <vector>

namespace sim::core {

struct Diagnostic {
  std::string file;
  std::string pointer;  // JSON Pointer; empty for syntax errors
  int line = 0;         // 1-based; 0 when unknown
  int column = 0;
  std::string message;
  std::vector<std::string> notes;

  // "file:3:7: error: msg" or "file: error: /a/b: msg", then "  note: ..." lines.
  std::string format() const;
};

class Diagnostics {
 public:
  static constexpr size_t kLimit = 20;

  // Returns the added diagnostic so that callers can attach notes; past the limit the extra
  // errors are counted but not kept.
  Diagnostic& error(std::string file, std::string pointer, std::string message);
  Diagnostic& syntax(std::string file, int line, int column, std::string message);

  bool has_errors() const { return count_ > 0; }
  size_t count() const { return count_; }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Every kept diagnostic, then "N more errors not shown" when the limit was hit.
  std::string format() const;

 private:
  Diagnostic& keep(Diagnostic d);
  std::vector<Diagnostic> items_;
  Diagnostic overflow_;
  size_t count_ = 0;
};

// Levenshtein distance, for "did you mean" notes.
size_t edit_distance(const std::string& a, const std::string& b);
// The closest candidate within a distance that scales with the length, or "" when none is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace sim::core
