// Diagnostic formatting and "did you mean" suggestions.
#include "sim/core/diag.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sim::core {

std::string Diagnostic::format() const {
  std::string out;
  if (pointer.empty() && line > 0)
    out = fmt::format("{}:{}:{}: error: {}", file, line, column, message);
  else if (pointer.empty())
    out = fmt::format("{}: error: {}", file, message);
  else
    out = fmt::format("{}: error: {}: {}", file, pointer, message);
  for (const std::string& n : notes) out += fmt::format("\n  note: {}", n);
  return out;
}

Diagnostic& Diagnostics::keep(Diagnostic d) {
  ++count_;
  if (items_.size() >= kLimit) {
    overflow_ = std::move(d);
    return overflow_;
  }
  items_.push_back(std::move(d));
  return items_.back();
}

Diagnostic& Diagnostics::error(std::string file, std::string pointer, std::string message) {
  Diagnostic d;
  d.file = std::move(file);
  d.pointer = pointer.empty() ? "/" : std::move(pointer);
  d.message = std::move(message);
  return keep(std::move(d));
}

Diagnostic& Diagnostics::syntax(std::string file, int line, int column, std::string message) {
  Diagnostic d;
  d.file = std::move(file);
  d.line = line;
  d.column = column;
  d.message = std::move(message);
  return keep(std::move(d));
}

std::string Diagnostics::format() const {
  std::string out;
  for (const Diagnostic& d : items_) {
    out += d.format();
    out += '\n';
  }
  if (count_ > items_.size())
    out += fmt::format("{} more error{} not shown\n", count_ - items_.size(),
                       count_ - items_.size() == 1 ? "" : "s");
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = static_cast<size_t>(-1);
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t allowed = std::max<size_t>(2, word.size() / 3);
  return best_d <= allowed ? best : std::string();
}

}  // namespace sim::core
