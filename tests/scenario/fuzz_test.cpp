// Property test: seeded random mutations of valid scenarios never crash or throw the loader, and
// every load yields a scenario or diagnostics, never both and never neither.
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/scenario/loader.hpp"

namespace {

using Json = nlohmann::ordered_json;

// Valid starting points that together use every section, op and value kind.
const std::vector<std::string>& fixtures() {
  static const std::vector<std::string> f = {
      R"({
  "format": "xnusim-scenario", "version": 1, "name": "rt", "seed": 7, "duration": "100ms",
  "machine": {"cpus": 2, "xnu": "792", "quantum": "10ms",
              "costs": {"context_switch": "5us", "thread_wakeup": "1us"}, "funnels": "split"},
  "locks": [{"id": "m", "kind": "mutex", "protocol": "inherit"},
            {"id": "c", "kind": "mutex", "protocol": "ceiling", "ceiling": 90},
            {"id": "r", "kind": "rw"}, {"id": "s", "kind": "spin"}],
  "events": [{"id": "go"}],
  "threads": [
    {"id": "audio", "mode": "realtime", "period": "5ms", "deadline": "4ms", "cpu": 1,
     "realtime": {"period": "5ms", "computation": "1ms", "constraint": "4ms", "preemptible": true},
     "program": [{"op": "run", "for": {"uniform": ["200us", "800us"]}},
                 {"op": "lock", "lock": "c"}, {"op": "unlock", "lock": "c"},
                 {"op": "sleep_until_next_period", "note": "done"}]},
    {"id": "bg", "task": "batch", "priority": 20, "start": "1ms", "program": [
      {"op": "loop", "forever": true, "body": [
        {"op": "lock", "lock": "r", "mode": "write"}, {"op": "run", "for": "3ms"},
        {"op": "unlock", "lock": "r", "mode": "write"},
        {"op": "signal", "event": "go", "all": false}, {"op": "swtch_pri"}]}]},
    {"id": "k", "kernel": true, "program": [
      {"op": "loop", "times": 10, "body": [{"op": "wait", "event": "go"}, {"op": "yield"},
        {"op": "funnel", "funnel": "network"}, {"op": "set_priority", "priority": 90},
        {"op": "set_mode", "mode": "realtime", "realtime": {"computation": "1ms", "constraint": "2ms"}},
        {"op": "sleep", "for": {"normal": {"mean": "2ms", "stddev": "500us"}}}]}]}
  ],
  "expect": [{"thread": "audio", "metric": "deadline_misses", "eq": 0},
             {"thread": "audio", "metric": "latency_ns.p99", "max": "200us"},
             {"lock": "m", "metric": "contended", "max": 3},
             {"cpu": 0, "metric": "idle_ns", "min": "1ms"},
             {"metric": "events", "min": 1}]
})",
      R"({
  "format": "xnusim-scenario", "version": 1, "duration": "2s", "policy": "edf",
  "events": [{"id": "cmd"}],
  "workloops": [{"id": "wl", "priority": 81, "sources": [
      {"id": "i", "kind": "interrupt", "action": "10us"},
      {"id": "f", "kind": "filter_interrupt", "action": "20us", "filter": "1us", "accept": 0.25}]}],
  "interrupts": [
    {"id": "p", "cpu": 0, "arrival": {"periodic": "1ms", "jitter": "10us"}, "handler": "2us", "source": "wl.i"},
    {"id": "q", "arrival": {"poisson": "500/s"}, "handler": "1us", "source": "wl.f"},
    {"id": "a", "arrival": {"at": ["1ms", "2ms"]}, "handler": "1us"}],
  "timers": [{"id": "t", "workloop": "wl", "action": "5us"}],
  "devices": [{"id": "disk", "provider": "bus", "service": "4ms"},
              {"id": "bus", "workloop": "wl", "service": "50us"}],
  "threads": [{"id": "io", "program": [
      {"op": "io", "device": "disk", "for": "1ms"},
      {"op": "run_action", "workloop": "wl", "for": "30us"},
      {"op": "timer_arm", "timer": "t", "after": "1ms"}, {"op": "timer_cancel", "timer": "t"},
      {"op": "command_wakeup", "workloop": "wl", "event": "cmd", "all": true},
      {"op": "command_sleep", "workloop": "wl", "event": "cmd"},
      {"op": "set_mode", "mode": "fixed", "priority": 40},
      {"op": "sleep", "for": {"exponential": "3ms"}},
      {"op": "terminate", "device": "disk"}]}],
  "expect": [{"device": "disk", "metric": "io_ns.p50", "max": "10ms"},
             {"workloop": "wl", "metric": "gate_wait_ns.max", "max": "1ms"},
             {"interrupt": "q", "metric": "count", "min": 1}]
})"};
  return f;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  // Raw engine output only: std distributions differ between standard libraries.
  size_t pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  bool coin() { return (rng_() & 1) != 0; }

  std::string mutate(const std::string& text) {
    switch (pick(5)) {
      case 0: return mutate_bytes(text);
      case 1: return mutate_tree(text);
      case 2: return mutate_tree(mutate_tree(text));
      case 3: return zero_time_loops();
      default: return deep_nesting(text);
    }
  }

 private:
  std::string mutate_bytes(std::string s) {
    static const std::string kBytes = "{}[]:,\"\\ -.0123456789eE+abcnrtu\n\t/x\x01\xff\xc3";
    size_t n = 1 + pick(4);
    for (size_t k = 0; k < n && !s.empty(); ++k) {
      size_t at = pick(s.size());
      switch (pick(3)) {
        case 0: s.erase(at, 1 + pick(8)); break;
        case 1: s.insert(at, 1, kBytes[pick(kBytes.size())]); break;
        default: s[at] = kBytes[pick(kBytes.size())]; break;
      }
    }
    return s;
  }

  static void collect(Json& j, std::vector<Json*>& out) {
    out.push_back(&j);
    if (j.is_structured())
      for (Json& child : j) collect(child, out);
  }

  Json other_value() {
    switch (pick(26)) {
      case 16: return 1'000'000'000'000LL;  // huge loop counts
      case 17: return "9223372036854775000ns";  // durations at and past the limit
      case 18: return "1000000000s";
      case 19: return "1000000000.000000001s";
      case 20: return "300000h";
      case 21: return "1.5min";
      case 22: return "a\u001bb";  // control characters (C0, DEL, C1)
      case 23: return "tab\there";
      case 24: return "del\u007f";
      case 25: return "c1\u0085";
      case 0: return nullptr;
      case 1: return coin();
      case 2: return -1;
      case 3: return 0;
      case 4: return 2.5;
      case 5: return 1e300;
      case 6: return std::numeric_limits<uint64_t>::max();
      case 7: return std::numeric_limits<int64_t>::min();
      case 8: return "";
      case 9: return "-5ms";
      case 10: return "0ns";
      case 11: return "1.5x";
      case 12: return Json::array();
      case 13: return Json::object();
      case 14: return Json::array({"1ms", "2ms"});
      default: return "m";
    }
  }

  std::string mutate_tree(const std::string& text) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded()) return mutate_bytes(text);
    std::vector<Json*> nodes;
    collect(j, nodes);
    Json& n = *nodes[pick(nodes.size())];
    switch (pick(6)) {
      case 0: n = other_value(); break;  // swap a value for another type
      case 1:                            // drop a key
        if (n.is_object() && !n.empty()) {
          auto it = n.begin();
          std::advance(it, static_cast<long>(pick(n.size())));
          n.erase(it.key());
        }
        break;
      case 2:  // numbers negative or huge
        if (n.is_number())
          n = coin() ? Json(-n.get<double>()) : Json(std::numeric_limits<int64_t>::max());
        else
          n = other_value();
        break;
      case 3:  // duplicate an array element (duplicate ids, repeated ops)
        if (n.is_array() && !n.empty()) n.push_back(n[pick(n.size())]);
        break;
      case 4:  // copy one node over another (wrong references, wrong shapes)
        n = *nodes[pick(nodes.size())];
        break;
      default:  // unknown key
        if (n.is_object()) n["unexpected_key"] = other_value();
        break;
    }
    return j.dump();
  }

  // Nested finite loops of zero-time ops (sometimes with one that takes time) with counts around
  // the 100,000-execution bound, and huge ones.
  std::string zero_time_loops() {
    static const char* kOps[] = {R"({"op": "signal", "event": "e"})", R"({"op": "yield"})",
                                 R"({"op": "swtch_pri"})", R"({"op": "set_priority", "priority": 40})",
                                 R"({"op": "run", "for": "1us"})", R"({"op": "sleep", "for": "9223372036854775000ns"})"};
    static const int64_t kTimes[] = {1, 2, 1000, 99'999, 100'000, 100'001, 1'000'000'000'000LL,
                                     std::numeric_limits<int64_t>::max()};
    std::string op = kOps[pick(std::size(kOps))];
    for (size_t depth = 1 + pick(4); depth > 0; --depth) {
      std::string body = op;
      if (coin()) body += std::string(", ") + kOps[pick(4)];
      op = fmt::format(R"({{"op": "loop", "times": {}, "body": [{}]}})", kTimes[pick(std::size(kTimes))], body);
    }
    return R"({"format": "xnusim-scenario", "version": 1, "duration": "1s", "events": [{"id": "e"}], )"
           R"("threads": [{"id": "t", "program": [)" +
           op + "]}]}";
  }

  std::string deep_nesting(const std::string& text) {
    size_t depth = 1 + pick(600);
    if (coin()) {
      // Loops nested inside loops, then a valid scenario around them.
      std::string op = R"({"op": "run", "for": "1ms"})";
      for (size_t i = 0; i < depth; ++i) op = R"({"op": "loop", "times": 2, "body": [)" + op + "]}";
      return R"({"format": "xnusim-scenario", "version": 1, "duration": "1s", "threads": [{"id": "t", "program": [)" +
             op + "]}]}";
    }
    size_t at = pick(text.size());
    return text.substr(0, at) + std::string(depth, coin() ? '[' : '{') + text.substr(at);
  }

  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("scenario: mutated scenarios never crash the loader and always give a verdict",
          "[scenario][property]") {
  for (const std::string& f : fixtures()) {
    sim::scenario::LoadResult r = sim::scenario::load_scenario_text(f, "fixture.json");
    INFO(r.diagnostics.format());
    REQUIRE(r.scenario.has_value());
  }

  Mutator m(0x5eed'2004'0517'0792ULL);
  constexpr int kCases = 3000;
  int loaded = 0;
  int rejected = 0;
  std::string first_failure;
  for (int i = 0; i < kCases; ++i) {
    const std::string& base = fixtures()[m.pick(fixtures().size())];
    std::string text = m.mutate(base);
    try {
      sim::scenario::LoadResult r = sim::scenario::load_scenario_text(text, "fuzz.json");
      bool has_scenario = r.scenario.has_value();
      bool has_errors = r.diagnostics.has_errors() && !r.diagnostics.items().empty();
      if (has_scenario == has_errors && first_failure.empty())
        first_failure = "scenario and diagnostics disagree for:\n" + text;
      (has_scenario ? loaded : rejected)++;
    } catch (const std::exception& e) {
      if (first_failure.empty())
        first_failure = std::string("threw ") + e.what() + " for:\n" + text;
    }
  }
  INFO(first_failure);
  CHECK(first_failure.empty());
  // The mutations must exercise both outcomes to mean anything.
  CHECK(loaded > 50);
  CHECK(rejected > 1000);
}
