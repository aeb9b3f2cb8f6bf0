// Exact duration parsing and time formatting.
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "sim/core/time.hpp"

using namespace sim::core;

TEST_CASE("core: durations parse exactly to integer nanoseconds", "[core][unit]") {
  CHECK(parse_duration("1.5ms").value->ns == 1'500'000);
  CHECK(parse_duration("0.1us").value->ns == 100);
  CHECK(parse_duration("800ns").value->ns == 800);
  CHECK(parse_duration("10ms").value->ns == 10'000'000);
  CHECK(parse_duration("1.5s").value->ns == 1'500'000'000);
  CHECK(parse_duration("0ns").value->ns == 0);
  CHECK(parse_duration("-5ms").value->ns == -5'000'000);
  CHECK(parse_duration(".5us").value->ns == 500);
  CHECK(parse_duration("2.000000001s").value->ns == 2'000'000'001);
  // 0.1 is not representable in binary floating point; the parser never uses it.
  CHECK(parse_duration("0.3ms").value->ns == 300'000);
}

TEST_CASE("core: malformed durations are rejected with a reason", "[core][unit]") {
  CHECK(parse_duration("0.5ns").error == "\"0.5ns\" is finer than 1 ns");
  CHECK(parse_duration("10").error == "\"10\" has no unit; use ns, us, ms, s, min or h, e.g. \"10ms\"");
  CHECK(parse_duration("10d").error == "\"10d\" has an unknown unit \"d\"; use ns, us, ms, s, min or h");
  CHECK(parse_duration("10m").error ==
        "\"10m\" has an unknown unit \"m\"; use ns, us, ms, s, min or h (minutes are \"min\")");
  CHECK_FALSE(parse_duration("ms").value);
  CHECK_FALSE(parse_duration("").value);
  CHECK_FALSE(parse_duration("1.2.3ms").value);
  CHECK_FALSE(parse_duration("99999999999999999999s").value);
}

TEST_CASE("core: minutes and hours are duration units (issue 8, defect 1.6)", "[core][unit][regression]") {
  CHECK(parse_duration("1h").value->ns == 3'600'000'000'000);
  CHECK(parse_duration("1.5min").value->ns == 90'000'000'000);
  CHECK(parse_duration("0.25h").value->ns == 900'000'000'000);
  CHECK(parse_duration("2min").value->ns == 120'000'000'000);
  // Exactness still holds: a sixtieth of a nanosecond is refused, not rounded.
  CHECK(parse_duration("0.000000000001min").error == "\"0.000000000001min\" is finer than 1 ns");
}

TEST_CASE("core: a duration literal may be at most 10^9 s (issue 8, defect 1.3)", "[core][unit][regression]") {
  CHECK(parse_duration("1000000000s").value->ns == kMaxDuration.ns);
  CHECK(parse_duration("277777.5h").value->ns == 999'999'000'000'000'000);
  const std::string limit = "a duration may be at most 1000000000s (about 31.7 years)";
  CHECK(parse_duration("1000000000.000000001s").error == "\"1000000000.000000001s\" is too large: " + limit);
  CHECK(parse_duration("9223372036854775000ns").error == "\"9223372036854775000ns\" is too large: " + limit);
  // Past int64 too: the same limit, not a parser's message.
  CHECK(parse_duration("99999999999999999999s").error ==
        "\"99999999999999999999s\" is too large: a duration may be at most 1000000000s (about 31.7 years)");
  CHECK(parse_duration("9223372036854775808ns").error ==
        "\"9223372036854775808ns\" is too large: a duration may be at most 1000000000s (about 31.7 years)");
  CHECK(parse_duration("300000h").error == "\"300000h\" is too large: " + limit);
}

TEST_CASE("core: time arithmetic past the limit throws TimeOverflow instead of wrapping (issue 8, defect 1.3)",
          "[core][unit][regression]") {
  const SimTime t{1'000'000};  // 1 ms
  const Duration huge{9'223'372'036'854'775'000};
  CHECK_THROWS_AS(t + huge, TimeOverflow);
  CHECK_THROWS_WITH(t + huge,
                    "simulated time overflow: 0.001000000s + 9223372036.854775s is past the limit of "
                    "simulated time (9223372036.854775807s, about 292 years)");
  SimTime u = t;
  CHECK_THROWS_AS(u += huge, TimeOverflow);
  CHECK(u == t);  // unchanged
  CHECK_THROWS_AS(huge + huge, TimeOverflow);
  CHECK_THROWS_AS(huge * 2, TimeOverflow);
  CHECK_THROWS_AS(Duration{-huge.ns} - huge, TimeOverflow);
  CHECK_THROWS_AS(Duration::seconds(9'300'000'000), TimeOverflow);
  CHECK_THROWS_AS(SimTime{-5} - SimTime::never(), TimeOverflow);
  // "never" and "infinite" are sentinels that absorb non-negative durations.
  CHECK(SimTime::never() + Duration{5} == SimTime::never());
  CHECK(t + Duration::infinite() == SimTime::never());
  // Up to the limit exactly is fine.
  CHECK((SimTime{1} + Duration{9'223'372'036'854'775'806}).ns == 9'223'372'036'854'775'807);
  try {
    (void)(t + huge);
  } catch (const TimeOverflow& e) {
    CHECK(e.pointer().empty());
    TimeOverflow named = e.with_pointer("/threads/0/program/1");
    CHECK(named.pointer() == "/threads/0/program/1");
    CHECK(std::string(named.what()) == e.what());
  }
}

TEST_CASE("core: rates give the mean interval between events", "[core][unit]") {
  CHECK(parse_rate("2000/s").value->ns == 500'000);
  CHECK(parse_rate("0.5/s").value->ns == 2'000'000'000);
  CHECK(parse_rate("3/s").value->ns == 333'333'333);
  CHECK_FALSE(parse_rate("0/s").value);
  CHECK_FALSE(parse_rate("5").value);
}

TEST_CASE("core: times and durations format exactly", "[core][unit]") {
  CHECK(format_time(SimTime{12'345'678}) == "0.012345678");
  CHECK(format_time(SimTime{3'000'000'001}) == "3.000000001");
  CHECK(format_duration(Duration{1'500'000}) == "1.5ms");
  CHECK(format_duration(Duration{250'000}) == "250us");
  CHECK(format_duration(Duration{0}) == "0ns");
  CHECK(format_duration(Duration{2'000'000'001}) == "2.000000001s");
  CHECK(format_duration_human(3'000'000) == "3.000 ms");
  // The extremes print without overflowing.
  CHECK(format_time(SimTime{std::numeric_limits<int64_t>::min()}) == "-9223372036.854775808");
  CHECK(format_duration(Duration{std::numeric_limits<int64_t>::min()}) == "-9223372036.854775808s");
  // Minutes and hours are read, but durations are written in seconds at most (outputs unchanged).
  CHECK(format_duration(Duration{3'600'000'000'000}) == "3600s");
}
