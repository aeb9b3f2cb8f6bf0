// Exact duration parsing and time formatting.
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
  CHECK(parse_duration("10").error == "\"10\" has no unit; use ns, us, ms or s, e.g. \"10ms\"");
  CHECK(parse_duration("10min").error == "\"10min\" has an unknown unit \"min\"; use ns, us, ms or s");
  CHECK_FALSE(parse_duration("ms").value);
  CHECK_FALSE(parse_duration("").value);
  CHECK_FALSE(parse_duration("1.2.3ms").value);
  CHECK_FALSE(parse_duration("99999999999999999999s").value);
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
}
