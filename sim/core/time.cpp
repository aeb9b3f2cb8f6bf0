// Exact duration parsing and formatting.
#include "sim/core/time.hpp"

#include "sim/core/int128.hpp"

#include <fmt/format.h>

namespace sim::core {
namespace {

struct Decimal {
  bool negative = false;
  int64_t integer = 0;     // digits before the point
  int64_t fraction = 0;    // digits after the point, as an integer
  int fraction_digits = 0;
};

// Parses a plain decimal prefix; returns the number of characters consumed, 0 when there is none.
size_t parse_decimal(std::string_view s, Decimal& out, std::string& error) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    out.negative = s[i] == '-';
    ++i;
  }
  size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    // Past int64 the number is over every limit anyway: saturate and let the caller say so.
    if (out.integer > (std::numeric_limits<int64_t>::max() - 9) / 10)
      out.integer = std::numeric_limits<int64_t>::max();
    else
      out.integer = out.integer * 10 + (s[i] - '0');
    ++i;
  }
  bool have_int = i > digits_start;
  bool have_frac = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (out.fraction_digits >= 18) {
        // Further digits must be zero to stay exact.
        if (s[i] != '0') {
          error = "more than 18 decimal places";
          return 0;
        }
      } else {
        out.fraction = out.fraction * 10 + (s[i] - '0');
        ++out.fraction_digits;
      }
      have_frac = true;
      ++i;
    }
  }
  if (!have_int && !have_frac) return 0;
  return i;
}

int64_t pow10(int n) {
  int64_t r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

// value * scale_ns exactly, or an error when it is finer than 1 ns or overflows.
ParsedDuration scale(const Decimal& d, int64_t scale_ns, std::string_view text) {
  ParsedDuration r;
  auto too_large = [&] {
    r.error = fmt::format("\"{}\" is too large: a duration may be at most {} (about 31.7 years)",
                          text, format_duration(kMaxDuration));
    return r;
  };
  if (d.integer > kMaxDuration.ns / scale_ns) return too_large();
  int64_t whole = d.integer * scale_ns;
  // fraction * scale_ns / 10^digits must be an integer.
  int128 num = static_cast<int128>(d.fraction) * scale_ns;
  int128 den = pow10(d.fraction_digits);
  if (num % den != 0) {
    r.error = fmt::format("\"{}\" is finer than 1 ns", text);
    return r;
  }
  int64_t frac = static_cast<int64_t>(num / den);
  int64_t v = whole + frac;
  if (v > kMaxDuration.ns) return too_large();
  r.value = Duration{d.negative ? -v : v};
  return r;
}

}  // namespace

void throw_time_overflow(const char* what, int64_t a, char op, int64_t b) {
  std::string left = std::string_view(what) == "simulated time" ? format_time(SimTime{a}) + "s"
                                                                 : format_duration(Duration{a});
  std::string right = op == '*' ? fmt::format("{}", b) : format_duration(Duration{b});
  throw TimeOverflow(fmt::format("{} overflow: {} {} {} is past the limit of simulated time "
                                 "(9223372036.854775807s, about 292 years)",
                                 what, left, op, right));
}

ParsedDuration parse_duration(std::string_view text) {
  ParsedDuration r;
  Decimal d;
  size_t n = parse_decimal(text, d, r.error);
  if (n == 0) {
    if (r.error.empty())
      r.error = fmt::format("\"{}\" is not a duration; write a number and a unit, e.g. \"10ms\"", text);
    return r;
  }
  std::string_view unit = text.substr(n);
  int64_t s;
  if (unit == "ns") s = 1;
  else if (unit == "us") s = 1'000;
  else if (unit == "ms") s = 1'000'000;
  else if (unit == "s") s = 1'000'000'000;
  else if (unit == "min") s = 60'000'000'000;
  else if (unit == "h") s = 3'600'000'000'000;
  else {
    if (unit.empty())
      r.error = fmt::format("\"{}\" has no unit; use ns, us, ms, s, min or h, e.g. \"{}ms\"", text,
                            text);
    else if (unit == "m")
      r.error = fmt::format("\"{}\" has an unknown unit \"m\"; use ns, us, ms, s, min or h (minutes "
                            "are \"min\")",
                            text);
    else
      r.error =
          fmt::format("\"{}\" has an unknown unit \"{}\"; use ns, us, ms, s, min or h", text, unit);
    return r;
  }
  return scale(d, s, text);
}

ParsedDuration parse_rate(std::string_view text) {
  ParsedDuration r;
  Decimal d;
  size_t n = parse_decimal(text, d, r.error);
  if (n == 0 || text.substr(n) != "/s") {
    if (r.error.empty())
      r.error = fmt::format("\"{}\" is not a rate; write events per second, e.g. \"2000/s\"", text);
    return r;
  }
  if (d.negative || (d.integer == 0 && d.fraction == 0)) {
    r.error = fmt::format("rate must be positive (got \"{}\")", text);
    return r;
  }
  // interval = 1e9 / (integer + fraction/10^k) = 1e9 * 10^k / (integer*10^k + fraction)
  int128 den = static_cast<int128>(d.integer) * pow10(d.fraction_digits) + d.fraction;
  int128 num = static_cast<int128>(1'000'000'000) * pow10(d.fraction_digits);
  int128 q = (num + den / 2) / den;
  if (q <= 0) {
    r.error = fmt::format("rate \"{}\" is faster than one event per ns", text);
    return r;
  }
  r.value = Duration{static_cast<int64_t>(q)};
  return r;
}

std::string format_time(SimTime t) {
  // The magnitude as unsigned, so that the most negative time prints too.
  uint64_t v = t.ns < 0 ? 0 - static_cast<uint64_t>(t.ns) : static_cast<uint64_t>(t.ns);
  return fmt::format("{}{}.{:09d}", t.ns < 0 ? "-" : "", v / 1'000'000'000, v % 1'000'000'000);
}

std::string format_duration(Duration d) {
  if (d.ns == 0) return "0ns";
  std::string sign = d.ns < 0 ? "-" : "";
  uint64_t v = d.ns < 0 ? 0 - static_cast<uint64_t>(d.ns) : static_cast<uint64_t>(d.ns);
  struct Unit { uint64_t scale; const char* name; };
  static constexpr Unit units[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}, {1, "ns"}};
  for (const Unit& u : units) {
    if (v >= u.scale) {
      uint64_t whole = v / u.scale, rest = v % u.scale;
      if (rest == 0) return fmt::format("{}{}{}", sign, whole, u.name);
      // Print the fraction without trailing zeros.
      int digits = 0;
      for (uint64_t s = u.scale; s > 1; s /= 10) ++digits;
      std::string frac = fmt::format("{:0{}d}", rest, digits);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      return fmt::format("{}{}.{}{}", sign, whole, frac, u.name);
    }
  }
  return fmt::format("{}{}ns", sign, v);
}

std::string format_duration_human(int64_t ns) {
  int64_t a = ns < 0 ? -ns : ns;
  if (a < 1'000) return fmt::format("{} ns", ns);
  if (a < 1'000'000) return fmt::format("{:.3f} us", static_cast<double>(ns) / 1e3);
  if (a < 1'000'000'000) return fmt::format("{:.3f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.3f} s", static_cast<double>(ns) / 1e9);
}

std::string format_duration_brief(int64_t ns) {
  std::string s = format_duration_human(ns);
  const size_t space = s.find(' ');
  const size_t dot = s.find('.');
  if (dot == std::string::npos || dot > space) return s;
  size_t end = space;
  while (end > dot + 1 && s[end - 1] == '0') --end;
  if (end == dot + 1) --end;  // "3." -> "3"
  return s.substr(0, end) + s.substr(space);
}

}  // namespace sim::core
