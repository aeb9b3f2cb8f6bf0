// Simulated time: int64 nanoseconds in two strong types, and exact parsing of "1.5ms"-style text.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace sim::core {

struct Duration {
  int64_t ns = 0;

  static constexpr Duration nanoseconds(int64_t v) { return Duration{v}; }
  static constexpr Duration microseconds(int64_t v) { return Duration{v * 1'000}; }
  static constexpr Duration milliseconds(int64_t v) { return Duration{v * 1'000'000}; }
  static constexpr Duration seconds(int64_t v) { return Duration{v * 1'000'000'000}; }
  static constexpr Duration infinite() { return Duration{std::numeric_limits<int64_t>::max()}; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration{ns + o.ns}; }
  constexpr Duration operator-(Duration o) const { return Duration{ns - o.ns}; }
  constexpr Duration operator*(int64_t k) const { return Duration{ns * k}; }
  constexpr Duration operator/(int64_t k) const { return Duration{ns / k}; }
  constexpr Duration& operator+=(Duration o) { ns += o.ns; return *this; }
  constexpr Duration& operator-=(Duration o) { ns -= o.ns; return *this; }
  constexpr bool is_zero() const { return ns == 0; }
};

struct SimTime {
  int64_t ns = 0;

  static constexpr SimTime zero() { return SimTime{0}; }
  static constexpr SimTime never() { return SimTime{std::numeric_limits<int64_t>::max()}; }

  constexpr auto operator<=>(const SimTime&) const = default;
  constexpr SimTime operator+(Duration d) const { return SimTime{ns + d.ns}; }
  constexpr SimTime operator-(Duration d) const { return SimTime{ns - d.ns}; }
  constexpr Duration operator-(SimTime o) const { return Duration{ns - o.ns}; }
  constexpr SimTime& operator+=(Duration d) { ns += d.ns; return *this; }
};

// Result of parsing a duration or rate: a value, or a message saying what is wrong.
struct ParsedDuration {
  std::optional<Duration> value;
  std::string error;  // empty when value is set
};

// Parses "<decimal><unit>" with unit ns, us, ms or s, exactly (no floating point).
// A leading '-' is accepted so that callers can report "must be positive (got -5ms)".
// A value finer than 1 ns ("0.5ns", "1.0000000001s") is an error.
ParsedDuration parse_duration(std::string_view text);

// Parses a rate "<decimal>/s" into the mean interval between events, rounded to the nearest ns.
ParsedDuration parse_rate(std::string_view text);

// "0.012345678": seconds with nine decimals, as used in traces.
std::string format_time(SimTime t);
// Shortest exact form with a unit: "1.5ms", "250us", "0ns".
std::string format_duration(Duration d);
// Human form with three significant decimals for reports: "1.234 ms".
std::string format_duration_human(int64_t ns);

}  // namespace sim::core
