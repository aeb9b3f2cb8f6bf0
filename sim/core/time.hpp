// Simulated time: int64 nanoseconds in two strong types, and exact parsing of "1.5ms"-style text.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sim::core {

// A time or duration that would pass the representable limit (int64 nanoseconds: about 292
// years) is never produced: every addition, subtraction and multiplication below is checked and
// throws this instead. SimTime::never() and Duration::infinite() are sentinels, not times: adding
// a non-negative duration to "never" (or "infinite" to a time) gives "never" again.
//
// `pointer` is the JSON Pointer of the scenario op that asked for the time, when the code that
// catches the error knows it (the op interpreter should add it, see with_pointer()); the CLI
// reports a TimeOverflow as bad input (exit 2): the scenario asked for a time past the limit.
class TimeOverflow : public std::overflow_error {
 public:
  explicit TimeOverflow(const std::string& what, std::string pointer = "")
      : std::overflow_error(what), pointer_(std::move(pointer)) {}
  const std::string& pointer() const { return pointer_; }
  // The same error naming the op at `pointer` (the first pointer given wins).
  TimeOverflow with_pointer(std::string pointer) const {
    return TimeOverflow(what(), pointer_.empty() ? std::move(pointer) : pointer_);
  }

 private:
  std::string pointer_;
};

// Throws TimeOverflow for `a op b` (defined in time.cpp, so that the operators stay small).
[[noreturn]] void throw_time_overflow(const char* what, int64_t a, char op, int64_t b);

namespace detail {
inline constexpr int64_t kMaxNs = std::numeric_limits<int64_t>::max();
constexpr int64_t checked_add(const char* what, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw_time_overflow(what, a, '+', b);
  return r;
}
constexpr int64_t checked_sub(const char* what, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) throw_time_overflow(what, a, '-', b);
  return r;
}
constexpr int64_t checked_mul(const char* what, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw_time_overflow(what, a, '*', b);
  return r;
}
}  // namespace detail

struct Duration {
  int64_t ns = 0;

  static constexpr Duration nanoseconds(int64_t v) { return Duration{v}; }
  static constexpr Duration microseconds(int64_t v) { return Duration{detail::checked_mul("duration", v, 1'000)}; }
  static constexpr Duration milliseconds(int64_t v) { return Duration{detail::checked_mul("duration", v, 1'000'000)}; }
  static constexpr Duration seconds(int64_t v) { return Duration{detail::checked_mul("duration", v, 1'000'000'000)}; }
  static constexpr Duration infinite() { return Duration{detail::kMaxNs}; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration{detail::checked_add("duration", ns, o.ns)}; }
  constexpr Duration operator-(Duration o) const { return Duration{detail::checked_sub("duration", ns, o.ns)}; }
  constexpr Duration operator*(int64_t k) const { return Duration{detail::checked_mul("duration", ns, k)}; }
  constexpr Duration operator/(int64_t k) const { return Duration{ns / k}; }
  constexpr Duration& operator+=(Duration o) { return *this = *this + o; }
  constexpr Duration& operator-=(Duration o) { return *this = *this - o; }
  constexpr bool is_zero() const { return ns == 0; }
};

struct SimTime {
  int64_t ns = 0;

  static constexpr SimTime zero() { return SimTime{0}; }
  static constexpr SimTime never() { return SimTime{detail::kMaxNs}; }

  constexpr auto operator<=>(const SimTime&) const = default;
  constexpr SimTime operator+(Duration d) const {
    if ((ns == detail::kMaxNs || d.ns == detail::kMaxNs) && ns >= 0 && d.ns >= 0) return never();
    return SimTime{detail::checked_add("simulated time", ns, d.ns)};
  }
  constexpr SimTime operator-(Duration d) const { return SimTime{detail::checked_sub("simulated time", ns, d.ns)}; }
  constexpr Duration operator-(SimTime o) const { return Duration{detail::checked_sub("duration", ns, o.ns)}; }
  constexpr SimTime& operator+=(Duration d) { return *this = *this + d; }
};

// The longest duration a scenario or the command line may write: 10^9 s (about 31.7 years).
// With every duration, start and run length at most this, a run's time stays far below the
// 292-year limit however the fixed durations add up within it (now + a duration, a release
// + a deadline, ...); only a random draw can still pass the limit, as a TimeOverflow.
inline constexpr Duration kMaxDuration = Duration{1'000'000'000'000'000'000};

// Result of parsing a duration or rate: a value, or a message saying what is wrong.
struct ParsedDuration {
  std::optional<Duration> value;
  std::string error;  // empty when value is set
};

// Parses "<decimal><unit>" with unit ns, us, ms, s, min or h, exactly (no floating point).
// A leading '-' is accepted so that callers can report "must be positive (got -5ms)".
// A value finer than 1 ns ("0.5ns", "1.0000000001s") or longer than kMaxDuration is an error.
ParsedDuration parse_duration(std::string_view text);

// Parses a rate "<decimal>/s" into the mean interval between events, rounded to the nearest ns.
ParsedDuration parse_rate(std::string_view text);

// "0.012345678": seconds with nine decimals, as used in traces.
std::string format_time(SimTime t);
// Shortest exact form with a unit: "1.5ms", "250us", "0ns".
std::string format_duration(Duration d);
// Human form with three significant decimals for reports: "1.234 ms".
std::string format_duration_human(int64_t ns);
// The human form without trailing zeros: "1.341 s", "3 ms", "1.2 ms", "850 us", "0 ns".
std::string format_duration_brief(int64_t ns);

}  // namespace sim::core
