// Printing on stdout and stderr that never throws: a closed or full terminal stream must not turn
// a documented exit code into an abort (fmt::print throws when a write fails).
#pragma once

#include <cstdio>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace sim::cli {

// Writes `text` to `f`; returns false when the write failed (callers that only inform may ignore it).
inline bool write_text(std::FILE* f, std::string_view text) {
  if (text.empty()) return true;
  return std::fwrite(text.data(), 1, text.size(), f) == text.size();
}

// fmt::print to stderr / stdout, ignoring write errors.
template <typename... Args>
void eprint(fmt::format_string<Args...> format, Args&&... args) {
  write_text(stderr, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void oprint(fmt::format_string<Args...> format, Args&&... args) {
  write_text(stdout, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace sim::cli
