// Unit tests for run::evaluate_expects on Results: bounds, every target kind, nested summary
// paths, and what a missing metric reports.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/run/expects.hpp"

using sim::run::evaluate_expects;
using sim::scenario::ExpectOp;
using sim::scenario::ExpectSpec;
using sim::scenario::ExpectTarget;

namespace {

const sim::metrics::Results& results() {
  static const sim::metrics::Results r = [] {
    sim::metrics::Results r;
    r.scenario = "t";
    r.policy = "xnu";
    r.duration_ns = 10'000'000;
    sim::metrics::ThreadResult high;
    high.id = "high";
    high.cpu_time_ns = 3'000'000;
    high.jobs = 3;
    high.response_ns = {3, 1000, 2000, 2500, 2900, 3'000'000, 3'000'000, 1'001'000};
    sim::metrics::ThreadResult low;
    low.id = "low";
    low.cpu_time_ns = 7'000'000;
    low.jobs = 1;
    low.deadline_misses = 2;
    r.threads = {high, low};
    sim::metrics::CpuResult c0;
    c0.busy_ns = 9'000'000;
    c0.by_band_ns[2] = 7'000'000;  // "default"
    sim::metrics::CpuResult c1;
    c1.busy_ns = 4'000'000;
    r.cpus = {c0, c1};
    sim::metrics::LockResult m;
    m.id = "m";
    m.acquisitions = 4;
    m.contended = 1;
    m.wait_ns.max = 500;
    r.locks = {m};
    sim::metrics::InterruptResult eth;
    eth.id = "eth";
    eth.count = 12;
    eth.latency_ns.p99 = 40;
    r.interrupts = {eth};
    sim::metrics::WorkloopResult wl;
    wl.id = "wl";
    wl.actions = 5;
    wl.interrupts_delivered = 9;
    r.workloops = {wl};
    sim::metrics::DeviceResult disk;
    disk.id = "disk";
    disk.ios = 2;
    disk.completed = 2;
    r.devices = {disk};
    r.system.context_switches = 17;
    r.system.events = 300;
    return r;
  }();
  return r;
}

ExpectSpec spec(ExpectTarget target, std::string id, std::string metric, ExpectOp op,
                int64_t value, std::string value_text = "") {
  ExpectSpec e;
  e.target = target;
  e.target_id = std::move(id);
  e.metric = std::move(metric);
  e.op = op;
  e.value = value;
  e.value_text = value_text.empty() ? std::to_string(value) : std::move(value_text);
  return e;
}

sim::metrics::ExpectResult check_one(const ExpectSpec& e) {
  const auto out = evaluate_expects(results(), {e});
  REQUIRE(out.size() == 1);
  return out[0];
}

}  // namespace

TEST_CASE("expect check: max passes at the bound and fails above it", "[cli][unit]") {
  auto r = check_one(spec(ExpectTarget::thread, "high", "response_ns.max", ExpectOp::max,
                          3'000'000, "3ms"));
  CHECK(r.ok);
  CHECK(r.text == "thread \"high\" response_ns.max <= 3 ms: got 3 ms");
  r = check_one(spec(ExpectTarget::thread, "high", "response_ns.max", ExpectOp::max, 2'999'999));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "thread \"high\" response_ns.max <= 2.999999 ms: got 3 ms");
}

TEST_CASE("expect check: min passes at the bound and fails below it", "[cli][unit]") {
  auto r = check_one(spec(ExpectTarget::thread, "low", "jobs", ExpectOp::min, 1));
  CHECK(r.ok);
  CHECK(r.text == "thread \"low\" jobs >= 1: got 1");
  r = check_one(spec(ExpectTarget::thread, "low", "jobs", ExpectOp::min, 2));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "thread \"low\" jobs >= 2: got 1");
}

TEST_CASE("expect check: eq passes only on the exact value", "[cli][unit]") {
  CHECK(check_one(spec(ExpectTarget::thread, "high", "deadline_misses", ExpectOp::eq, 0)).ok);
  const auto r = check_one(spec(ExpectTarget::thread, "low", "deadline_misses", ExpectOp::eq, 0));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "thread \"low\" deadline_misses == 0: got 2");
  CHECK_FALSE(check_one(spec(ExpectTarget::thread, "low", "deadline_misses", ExpectOp::eq, 3)).ok);
}

TEST_CASE("expect check: nested summary paths reach each percentile", "[cli][unit]") {
  CHECK(check_one(spec(ExpectTarget::thread, "high", "response_ns.p50", ExpectOp::eq, 2000)).ok);
  CHECK(check_one(spec(ExpectTarget::thread, "high", "response_ns.p99", ExpectOp::max, 2900)).ok);
  CHECK(check_one(spec(ExpectTarget::thread, "high", "response_ns.p999", ExpectOp::min, 3'000'000))
            .ok);
  CHECK(check_one(spec(ExpectTarget::thread, "high", "response_ns.mean", ExpectOp::eq, 1'001'000))
            .ok);
}

TEST_CASE("expect check: every target kind finds its object", "[cli][unit]") {
  auto r = check_one(spec(ExpectTarget::system, "", "context_switches", ExpectOp::max, 20));
  CHECK(r.ok);
  CHECK(r.text == "system context_switches <= 20: got 17");

  ExpectSpec cpu = spec(ExpectTarget::cpu, "1", "busy_ns", ExpectOp::max, 4'000'000, "4ms");
  cpu.target_index = 1;
  r = check_one(cpu);
  CHECK(r.ok);
  CHECK(r.text == "cpu 1 busy_ns <= 4 ms: got 4 ms");
  // Without a resolved index, the id text is the index.
  cpu = spec(ExpectTarget::cpu, "0", "by_band_ns.default", ExpectOp::min, 7'000'000);
  CHECK(check_one(cpu).ok);

  r = check_one(spec(ExpectTarget::lock, "m", "wait_ns.max", ExpectOp::max, 400));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "lock \"m\" wait_ns.max <= 400 ns: got 500 ns");

  r = check_one(spec(ExpectTarget::interrupt, "eth", "latency_ns.p99", ExpectOp::max, 40));
  CHECK(r.ok);
  CHECK(r.text == "interrupt \"eth\" latency_ns.p99 <= 40 ns: got 40 ns");

  r = check_one(spec(ExpectTarget::workloop, "wl", "interrupts_delivered", ExpectOp::min, 10));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "workloop \"wl\" interrupts_delivered >= 10: got 9");

  r = check_one(spec(ExpectTarget::device, "disk", "completed", ExpectOp::eq, 2));
  CHECK(r.ok);
  CHECK(r.text == "device \"disk\" completed == 2: got 2");
}

TEST_CASE("expect check: a missing target or metric fails with no such metric", "[cli][unit]") {
  auto r = check_one(spec(ExpectTarget::thread, "nobody", "jobs", ExpectOp::min, 0));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "thread \"nobody\" jobs >= 0: no such metric");

  r = check_one(spec(ExpectTarget::thread, "high", "response_ns.p42", ExpectOp::min, 0));
  CHECK_FALSE(r.ok);
  CHECK(r.text == "thread \"high\" response_ns.p42 >= 0 ns: no such metric");

  // A path that stops at an object is not a metric either.
  CHECK_FALSE(check_one(spec(ExpectTarget::thread, "high", "response_ns", ExpectOp::min, 0)).ok);

  ExpectSpec cpu = spec(ExpectTarget::cpu, "5", "busy_ns", ExpectOp::min, 0);
  cpu.target_index = 5;
  r = check_one(cpu);
  CHECK_FALSE(r.ok);
  CHECK(r.text == "cpu 5 busy_ns >= 0 ns: no such metric");
}

TEST_CASE("expect check: descriptive attributes are not metrics", "[cli][unit]") {
  // base_priority is a number in the results JSON, but it describes the thread: not expectable.
  CHECK_FALSE(check_one(spec(ExpectTarget::thread, "high", "base_priority", ExpectOp::min, 0)).ok);
  CHECK_FALSE(check_one(spec(ExpectTarget::thread, "high", "task", ExpectOp::min, 0)).ok);
}

TEST_CASE("expect check: results come back one per spec, in order", "[cli][unit]") {
  const std::vector<ExpectSpec> specs{
      spec(ExpectTarget::system, "", "events", ExpectOp::min, 1),
      spec(ExpectTarget::system, "", "events", ExpectOp::max, 1),
      spec(ExpectTarget::thread, "high", "jobs", ExpectOp::eq, 3),
  };
  const auto out = evaluate_expects(results(), specs);
  REQUIRE(out.size() == 3);
  CHECK(out[0].ok);
  CHECK_FALSE(out[1].ok);
  CHECK(out[2].ok);
  CHECK(evaluate_expects(results(), {}).empty());
}

TEST_CASE("expect check: times read with their unit, counts stay plain", "[cli][unit]") {
  sim::metrics::Results r;
  sim::metrics::ThreadResult t;
  t.id = "app";
  t.cpu_time_ns = 1'341'091'824;
  t.jobs = 1'341;
  r.threads = {t};
  auto one = [&](const ExpectSpec& e) { return evaluate_expects(r, {e}).at(0); };
  // The example of issue 10: 1.341 s, not 1341091824.
  auto e = one(spec(ExpectTarget::thread, "app", "cpu_time_ns", ExpectOp::min, 1'000'000'000, "1s"));
  CHECK(e.ok);
  CHECK(e.text == "thread \"app\" cpu_time_ns >= 1 s: got 1.341 s");
  // Rounded, the value would read like the bound it misses: the exact ns follow.
  e = one(spec(ExpectTarget::thread, "app", "cpu_time_ns", ExpectOp::max, 1'341'000'000, "1.341s"));
  CHECK_FALSE(e.ok);
  CHECK(e.text == "thread \"app\" cpu_time_ns <= 1.341 s: got 1.341 s (1341091824 ns)");
  // A bound finer than the display is shown exactly.
  e = one(spec(ExpectTarget::thread, "app", "cpu_time_ns", ExpectOp::eq, 1'341'091'824));
  CHECK(e.ok);
  CHECK(e.text == "thread \"app\" cpu_time_ns == 1.341091824 s: got 1.341 s");
  e = one(spec(ExpectTarget::thread, "app", "cpu_time_ns", ExpectOp::min, 1'500'250, "1500250ns"));
  CHECK(e.text == "thread \"app\" cpu_time_ns >= 1.50025 ms: got 1.341 s");
  e = one(spec(ExpectTarget::thread, "app", "cpu_time_ns", ExpectOp::min, 850'000, "850us"));
  CHECK(e.text == "thread \"app\" cpu_time_ns >= 850 us: got 1.341 s");
  e = one(spec(ExpectTarget::thread, "app", "jobs", ExpectOp::max, 1'000'000));
  CHECK(e.text == "thread \"app\" jobs <= 1000000: got 1341");
}
