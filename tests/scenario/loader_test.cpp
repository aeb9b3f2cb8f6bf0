// Unit tests of the scenario loader: values, defaults, references and diagnostics.
#include <algorithm>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/scenario/loader.hpp"
#include "sim/scenario/metric_catalog.hpp"

namespace {

using namespace sim::scenario;
using sim::core::Duration;
using sim::model::DurationSpec;
using sim::model::FunnelName;
using sim::model::LockMode;
using sim::model::OpKind;
using sim::model::ThreadMode;

// Every section and every op, with values chosen so that each one is distinguishable.
constexpr const char* kFull = R"({
  "format": "xnusim-scenario",
  "version": 1,
  "name": "everything",
  "description": "every section",
  "seed": 42,
  "duration": "1.5s",
  "policy": "xnu",
  "machine": {
    "cpus": 2, "xnu": "792", "quantum": "5ms",
    "costs": {"context_switch": "0.1us", "interrupt_entry": "2us", "interrupt_exit": "1500ns",
              "thread_wakeup": "3us"},
    "calibration": "basics/example-vm.calibration", "funnels": "merged"
  },
  "locks": [
    {"id": "m", "kind": "mutex"},
    {"id": "bus", "kind": "mutex", "protocol": "ceiling", "ceiling": 90},
    {"id": "rw1", "kind": "rw"},
    {"id": "sp", "kind": "spin"},
    {"id": "pi", "kind": "mutex", "protocol": "inherit"}
  ],
  "events": [{"id": "ev"}, {"id": "done"}],
  "workloops": [
    {"id": "disk_wl", "sources": [
      {"id": "intr", "kind": "interrupt", "action": "20us"},
      {"id": "fintr", "kind": "filter_interrupt", "action": "30us", "filter": "2us", "accept": 0.5}
    ]},
    {"id": "net_wl", "priority": 80}
  ],
  "interrupts": [
    {"id": "disk_irq", "cpu": 1, "arrival": {"periodic": "1ms", "jitter": "100us"},
     "handler": "5us", "source": "disk_wl.fintr"},
    {"id": "net_irq", "arrival": {"poisson": "2000/s"}, "handler": "3us"},
    {"id": "once", "arrival": {"at": ["0ns", "5ms", "5ms", "9ms"]}, "handler": "1us",
     "source": "disk_wl.intr"}
  ],
  "timers": [{"id": "tick", "workloop": "net_wl", "action": "10us"}],
  "devices": [
    {"id": "disk", "provider": "ata", "service": "2ms"},
    {"id": "ata", "workloop": "disk_wl", "service": "100us"}
  ],
  "threads": [
    {"id": "audio", "task": "coreaudio", "mode": "realtime",
     "realtime": {"period": "2900us", "computation": "500us", "constraint": "2900us",
                  "preemptible": false},
     "cpu": 0, "start": "1ms", "period": "2.9ms",
     "program": [
       {"op": "run", "for": {"uniform": ["100us", "400us"]}, "note": "mix"},
       {"op": "lock", "lock": "bus"}, {"op": "run", "for": "10us"}, {"op": "unlock", "lock": "bus"},
       {"op": "sleep_until_next_period"}
     ]},
    {"id": "kt", "kernel": true, "program": [
       {"op": "loop", "forever": true, "body": [
         {"op": "wait", "event": "ev"},
         {"op": "lock", "lock": "rw1", "mode": "read"}, {"op": "unlock", "lock": "rw1", "mode": "write"},
         {"op": "run_action", "workloop": "disk_wl", "for": "50us"},
         {"op": "command_sleep", "workloop": "disk_wl", "event": "done"}
       ]}
     ]},
    {"id": "user", "deadline": "20ms", "program": [
       {"op": "loop", "times": 3, "body": [
         {"op": "sleep", "for": {"exponential": "1ms"}},
         {"op": "run", "for": {"normal": {"mean": "1ms", "stddev": "100us"}}},
         {"op": "signal", "event": "ev", "all": true}
       ]},
       {"op": "funnel", "funnel": "kernel"}, {"op": "funnel", "funnel": "none"},
       {"op": "yield"}, {"op": "swtch_pri"},
       {"op": "set_priority", "priority": 47},
       {"op": "set_mode", "mode": "fixed", "priority": 50},
       {"op": "set_mode", "mode": "realtime",
        "realtime": {"computation": "60ms", "constraint": "10ms"}},
       {"op": "set_mode", "mode": "timeshare"},
       {"op": "command_wakeup", "workloop": "disk_wl", "event": "done", "all": true},
       {"op": "io", "device": "disk", "for": "1ms"},
       {"op": "timer_arm", "timer": "tick", "after": "250us"},
       {"op": "timer_cancel", "timer": "tick"},
       {"op": "terminate", "device": "disk"},
       {"op": "lock", "lock": "sp"}, {"op": "unlock", "lock": "sp"}
     ]},
    {"id": "fixed_user", "mode": "fixed", "program": [{"op": "signal", "event": "done"}]},
    {"id": "kts", "kernel": true, "mode": "timeshare", "priority": 70,
     "program": [{"op": "run", "for": "1ms"}]}
  ],
  "expect": [
    {"thread": "audio", "metric": "deadline_misses", "eq": 0},
    {"thread": "audio", "metric": "response_ns.p99", "max": "2.5ms"},
    {"thread": "user", "metric": "response_ns.count", "min": 3},
    {"cpu": 1, "metric": "by_band_ns.realtime", "min": 1000},
    {"lock": "bus", "metric": "wait_ns.max", "max": "100us"},
    {"workloop": "disk_wl", "metric": "actions", "min": 1},
    {"interrupt": "net_irq", "metric": "latency_ns.p50", "max": "10us"},
    {"device": "disk", "metric": "completed", "min": 1},
    {"metric": "context_switches", "max": 1000000}
  ]
})";

// A scenario with one user thread whose program is `program`, plus optional extra top-level
// members (a JSON fragment ending in a comma).
std::string with_program(const std::string& program, const std::string& extra = "") {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "1s", )" + extra +
         R"( "threads": [{"id": "t", "program": )" + program + "}]}";
}

std::string with_thread(const std::string& keys) {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "1s", "threads": [{"id": "t", )" +
         keys + R"(, "program": [{"op": "run", "for": "1ms"}]}]})";
}

LoadResult load(const std::string& text, const std::string& file = "scenarios/test.json") {
  return load_scenario_text(text, file);
}

const Scenario& ok(const LoadResult& r) {
  INFO(r.diagnostics.format());
  REQUIRE(r.scenario.has_value());
  REQUIRE_FALSE(r.diagnostics.has_errors());
  return *r.scenario;
}

// The only diagnostic of a failed load (a copy: callers pass temporaries).
sim::core::Diagnostic single_error(const LoadResult& r) {
  INFO(r.diagnostics.format());
  REQUIRE_FALSE(r.scenario.has_value());
  REQUIRE(r.diagnostics.count() == 1);
  return r.diagnostics.items().front();
}

bool has_note(const sim::core::Diagnostic& d, const std::string& note) {
  return std::find(d.notes.begin(), d.notes.end(), note) != d.notes.end();
}

}  // namespace

TEST_CASE("scenario: a scenario using every section loads into the expected values",
          "[scenario][unit]") {
  LoadResult r = load(kFull, "scenarios/full.json");
  const Scenario& s = ok(r);

  CHECK(s.file == "scenarios/full.json");
  CHECK(s.name == "everything");
  CHECK(s.description == "every section");
  CHECK(s.seed == 42);
  CHECK(s.duration.ns == 1'500'000'000);
  REQUIRE(s.policy.has_value());
  CHECK(*s.policy == "xnu");

  CHECK(s.machine.cpus == 2);
  CHECK(s.machine.xnu == XnuRelease::r792);
  CHECK(s.machine.quantum.ns == 5'000'000);
  CHECK(s.machine.costs.context_switch.ns == 100);
  CHECK(s.machine.costs.interrupt_entry.ns == 2'000);
  CHECK(s.machine.costs.interrupt_exit.ns == 1'500);
  CHECK(s.machine.costs.thread_wakeup.ns == 3'000);
  // Resolved from the scenario's folder (scenarios/); every cost is explicit, so the file's lose.
  CHECK(s.machine.calibration == "basics/example-vm.calibration");
  CHECK(s.machine.funnels == FunnelSetup::merged);

  REQUIRE(s.locks.size() == 5);
  CHECK(s.locks[0].id == "m");
  CHECK(s.locks[0].kind == LockKind::mutex);
  CHECK(s.locks[0].protocol == LockProtocol::xnu);
  CHECK_FALSE(s.locks[0].ceiling.has_value());
  CHECK(s.locks[1].protocol == LockProtocol::ceiling);
  CHECK(s.locks[1].ceiling == 90);
  CHECK(s.locks[2].kind == LockKind::rw);
  CHECK(s.locks[3].kind == LockKind::spin);
  CHECK(s.locks[4].protocol == LockProtocol::inherit);
  CHECK(s.locks[4].pointer == "/locks/4");

  REQUIRE(s.events.size() == 2);
  CHECK(s.events[1].id == "done");
  CHECK(s.events[1].pointer == "/events/1");

  REQUIRE(s.workloops.size() == 2);
  CHECK(s.workloops[0].priority == 81);
  CHECK(s.workloops[1].priority == 80);
  REQUIRE(s.workloops[0].sources.size() == 2);
  const EventSourceSpec& fintr = s.workloops[0].sources[1];
  CHECK(fintr.id == "fintr");
  CHECK(fintr.kind == EventSourceKind::filter_interrupt);
  CHECK(fintr.action.a.ns == 30'000);
  CHECK(fintr.filter.a.ns == 2'000);
  CHECK(fintr.accept == 0.5);
  CHECK(fintr.pointer == "/workloops/0/sources/1");
  CHECK(s.workloops[0].sources[0].accept == 1.0);

  REQUIRE(s.interrupts.size() == 3);
  const InterruptSpec& disk_irq = s.interrupts[0];
  CHECK(disk_irq.cpu == 1);
  CHECK(disk_irq.arrival.kind == ArrivalSpec::Kind::periodic);
  CHECK(disk_irq.arrival.period.ns == 1'000'000);
  CHECK(disk_irq.arrival.jitter.ns == 100'000);
  CHECK(disk_irq.handler.a.ns == 5'000);
  CHECK(disk_irq.workloop == 0);
  CHECK(disk_irq.source == 1);
  CHECK(s.interrupts[1].cpu == 0);
  CHECK(s.interrupts[1].arrival.kind == ArrivalSpec::Kind::poisson);
  CHECK(s.interrupts[1].arrival.mean.ns == 500'000);
  CHECK(s.interrupts[1].workloop == -1);
  CHECK(s.interrupts[1].source == -1);
  CHECK(s.interrupts[2].arrival.kind == ArrivalSpec::Kind::at);
  CHECK(s.interrupts[2].arrival.times == std::vector<Duration>{Duration{0}, Duration{5'000'000},
                                                               Duration{5'000'000},
                                                               Duration{9'000'000}});
  CHECK(s.interrupts[2].source == 0);

  REQUIRE(s.timers.size() == 1);
  CHECK(s.timers[0].workloop == 1);
  CHECK(s.timers[0].action.a.ns == 10'000);

  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].provider == 1);  // a forward reference
  CHECK(s.devices[0].workloop == -1);
  CHECK(s.devices[0].service.a.ns == 2'000'000);
  CHECK(s.devices[1].provider == -1);
  CHECK(s.devices[1].workloop == 0);

  REQUIRE(s.threads.size() == 5);
  const ThreadSpec& audio = s.threads[0];
  CHECK(audio.id == "audio");
  CHECK(audio.task == "coreaudio");
  CHECK_FALSE(audio.kernel);
  CHECK(audio.mode == ThreadMode::realtime);
  CHECK(audio.priority == 97);  // BASEPRI_RTQUEUES, as xnu runs every RT thread
  REQUIRE(audio.realtime.has_value());
  CHECK(audio.realtime->period.ns == 2'900'000);
  CHECK(audio.realtime->computation.ns == 500'000);
  CHECK(audio.realtime->constraint.ns == 2'900'000);
  CHECK_FALSE(audio.realtime->preemptible);
  CHECK(audio.cpu == 0);
  CHECK(audio.start.ns == 1'000'000);
  CHECK(audio.period == Duration{2'900'000});
  CHECK(audio.deadline == Duration{2'900'000});  // defaults to the period
  CHECK(audio.pointer == "/threads/0");
  REQUIRE(audio.program.size() == 5);
  CHECK(audio.program[0].kind == OpKind::run);
  CHECK(audio.program[0].duration.kind == DurationSpec::Kind::uniform);
  CHECK(audio.program[0].duration.a.ns == 100'000);
  CHECK(audio.program[0].duration.b.ns == 400'000);
  CHECK(audio.program[0].note == "mix");
  CHECK(audio.program[0].pointer == "/threads/0/program/0");
  CHECK(audio.program[1].kind == OpKind::lock);
  CHECK(audio.program[1].ref == 1);
  CHECK(audio.program[1].lock_mode == LockMode::exclusive);
  CHECK(audio.program[2].duration.kind == DurationSpec::Kind::fixed);
  CHECK(audio.program[2].duration.a.ns == 10'000);
  CHECK(audio.program[3].kind == OpKind::unlock);
  CHECK(audio.program[4].kind == OpKind::sleep_until_next_period);

  const ThreadSpec& kt = s.threads[1];
  CHECK(kt.kernel);
  CHECK(kt.mode == ThreadMode::fixed);
  CHECK(kt.priority == 81);
  CHECK(kt.task == "user");
  CHECK_FALSE(kt.cpu.has_value());
  CHECK_FALSE(kt.period.has_value());
  CHECK_FALSE(kt.deadline.has_value());
  REQUIRE(kt.program.size() == 1);
  const sim::model::Op& loop = kt.program[0];
  CHECK(loop.kind == OpKind::loop);
  CHECK(loop.forever);
  REQUIRE(loop.body.size() == 5);
  CHECK(loop.body[0].kind == OpKind::wait);
  CHECK(loop.body[0].ref == 0);
  CHECK(loop.body[1].lock_mode == LockMode::read);
  CHECK(loop.body[1].ref == 2);
  CHECK(loop.body[2].lock_mode == LockMode::write);
  CHECK(loop.body[3].kind == OpKind::run_action);
  CHECK(loop.body[3].ref == 0);
  CHECK(loop.body[3].duration.a.ns == 50'000);
  CHECK(loop.body[4].kind == OpKind::command_sleep);
  CHECK(loop.body[4].ref == 0);
  CHECK(loop.body[4].event == 1);
  CHECK(loop.body[4].pointer == "/threads/1/program/0/body/4");

  const ThreadSpec& user = s.threads[2];
  CHECK_FALSE(user.kernel);
  CHECK(user.mode == ThreadMode::timeshare);
  CHECK(user.priority == 31);
  CHECK(user.deadline == Duration{20'000'000});
  const std::vector<sim::model::Op>& p = user.program;
  REQUIRE(p.size() == 16);
  CHECK(p[0].times == 3);
  CHECK_FALSE(p[0].forever);
  CHECK(p[0].body[0].duration.kind == DurationSpec::Kind::exponential);
  CHECK(p[0].body[0].duration.a.ns == 1'000'000);
  CHECK(p[0].body[1].duration.kind == DurationSpec::Kind::normal);
  CHECK(p[0].body[1].duration.a.ns == 1'000'000);
  CHECK(p[0].body[1].duration.b.ns == 100'000);
  CHECK(p[0].body[2].kind == OpKind::signal);
  CHECK(p[0].body[2].all);
  CHECK(p[1].funnel == FunnelName::kernel);
  CHECK(p[2].funnel == FunnelName::none);
  CHECK(p[3].kind == OpKind::yield);
  CHECK(p[4].kind == OpKind::swtch_pri);
  CHECK(p[5].kind == OpKind::set_priority);
  CHECK(p[5].priority == 47);
  CHECK(p[6].kind == OpKind::set_mode);
  CHECK(p[6].mode == ThreadMode::fixed);
  CHECK(p[6].has_priority);
  CHECK(p[6].priority == 50);
  // set_mode is not admission-checked: xnu refuses it at run time.
  CHECK(p[7].mode == ThreadMode::realtime);
  CHECK(p[7].realtime.computation.ns == 60'000'000);
  CHECK(p[7].realtime.constraint.ns == 10'000'000);
  CHECK(p[7].realtime.preemptible);
  CHECK(p[8].mode == ThreadMode::timeshare);
  CHECK_FALSE(p[8].has_priority);
  CHECK(p[9].kind == OpKind::command_wakeup);
  CHECK(p[9].all);
  CHECK(p[9].event == 1);
  CHECK(p[10].kind == OpKind::io);
  CHECK(p[10].ref == 0);
  CHECK(p[10].duration.a.ns == 1'000'000);
  CHECK(p[11].kind == OpKind::timer_arm);
  CHECK(p[11].ref == 0);
  CHECK(p[11].duration.a.ns == 250'000);
  CHECK(p[12].kind == OpKind::timer_cancel);
  CHECK(p[13].kind == OpKind::terminate);
  CHECK(p[13].ref == 0);
  CHECK(p[14].ref == 3);

  CHECK(s.threads[3].mode == ThreadMode::fixed);
  CHECK(s.threads[3].priority == 31);
  CHECK(s.threads[4].mode == ThreadMode::timeshare);
  CHECK(s.threads[4].priority == 70);

  REQUIRE(s.expects.size() == 9);
  CHECK(s.expects[0].target == ExpectTarget::thread);
  CHECK(s.expects[0].target_id == "audio");
  CHECK(s.expects[0].target_index == 0);
  CHECK(s.expects[0].op == ExpectOp::eq);
  CHECK(s.expects[0].value == 0);
  CHECK(s.expects[1].op == ExpectOp::max);
  CHECK(s.expects[1].value == 2'500'000);
  CHECK(s.expects[1].value_text == "2.5ms");
  CHECK(s.expects[2].op == ExpectOp::min);
  CHECK(s.expects[2].metric == "response_ns.count");
  CHECK(s.expects[2].target_index == 2);
  CHECK(s.expects[3].target == ExpectTarget::cpu);
  CHECK(s.expects[3].target_id == "1");
  CHECK(s.expects[3].target_index == 1);
  CHECK(s.expects[3].value_text == "1000");
  CHECK(s.expects[4].target == ExpectTarget::lock);
  CHECK(s.expects[4].target_index == 1);
  CHECK(s.expects[5].target == ExpectTarget::workloop);
  CHECK(s.expects[6].target == ExpectTarget::interrupt);
  CHECK(s.expects[6].target_index == 1);
  CHECK(s.expects[7].target == ExpectTarget::device);
  CHECK(s.expects[8].target == ExpectTarget::system);
  CHECK(s.expects[8].target_index == -1);
  CHECK(s.expects[8].value == 1'000'000);
  CHECK(s.expects[8].pointer == "/expect/8");
}

TEST_CASE("scenario: omitted keys take the documented defaults", "[scenario][unit]") {
  LoadResult r = load(R"({"version": 1, "duration": "10ms", "format": "xnusim-scenario",
    "threads": [{"id": "k", "kernel": true, "program": [{"op": "run", "for": "1ms"}]},
                {"id": "u", "period": "5ms", "program": [{"op": "run", "for": "1ms"}]}]})",
                      "some/dir/my-scenario.json");
  const Scenario& s = ok(r);
  CHECK(s.name == "my-scenario");
  CHECK(s.description.empty());
  CHECK(s.seed == 1);
  CHECK_FALSE(s.policy.has_value());
  CHECK(s.machine.cpus == 1);
  CHECK(s.machine.xnu == XnuRelease::r517);
  CHECK(s.machine.quantum.ns == 10'000'000);
  CHECK(s.machine.costs.context_switch.ns == 0);
  CHECK(s.machine.calibration.empty());
  CHECK(s.machine.funnels == FunnelSetup::split);
  CHECK(s.threads[0].mode == ThreadMode::fixed);
  CHECK(s.threads[0].priority == 81);
  CHECK(s.threads[1].mode == ThreadMode::timeshare);
  CHECK(s.threads[1].priority == 31);
  CHECK(s.threads[1].task == "user");
  CHECK(s.threads[1].start.ns == 0);
  CHECK(s.threads[1].deadline == Duration{5'000'000});
  CHECK(s.threads[1].program[0].note.empty());
  CHECK(s.expects.empty());
}

TEST_CASE("scenario: durations are parsed exactly through the loader", "[scenario][unit]") {
  auto run_for = [](const std::string& d) {
    LoadResult r = load(with_program(R"([{"op": "run", "for": ")" + d + R"("}])"));
    return ok(r).threads[0].program[0].duration.a.ns;
  };
  CHECK(run_for("1.5ms") == 1'500'000);
  CHECK(run_for("0.1us") == 100);
  CHECK(run_for("250us") == 250'000);
  CHECK(run_for("800ns") == 800);
  CHECK(run_for("2s") == 2'000'000'000);
  CHECK(run_for("0.000000001s") == 1);

  const auto d = single_error(load(with_program(R"([{"op": "run", "for": "0.5ns"}])")));
  CHECK(d.pointer == "/threads/0/program/0/for");
  CHECK(d.message == "\"0.5ns\" is finer than 1 ns");
  const auto nounit = single_error(load(with_program(R"([{"op": "run", "for": "5"}])")));
  CHECK(nounit.message == "\"5\" has no unit; use ns, us, ms, s, min or h, e.g. \"5ms\"");
}

TEST_CASE("scenario: zero and negative durations are rejected where a positive one is needed",
          "[scenario][unit]") {
  const auto neg = single_error(load(with_program(R"([{"op": "sleep", "for": "-5ms"}])")));
  CHECK(neg.format() ==
        "scenarios/test.json: error: /threads/0/program/0/for: must be a positive duration (got "
        "\"-5ms\")");
  const auto zero = single_error(load(with_program(
      R"([{"op": "io", "device": "d", "for": "0ms"}])",
      R"("workloops": [{"id": "w"}], "devices": [{"id": "d", "workloop": "w", "service": "1ms"}],)")));
  CHECK(zero.message == "must be a positive duration (got \"0ms\")");
  // A start time may be zero, a random stddev too.
  ok(load(with_thread(R"("start": "0ns")")));
  ok(load(with_program(R"([{"op": "run", "for": {"normal": {"mean": "1ms", "stddev": "0ns"}}}])")));
}

TEST_CASE("scenario: every error in a file is reported in one run", "[scenario][unit]") {
  LoadResult r = load(R"({"format": "xnusim-scenario", "version": 1, "duration": "-1s",
    "machine": {"cpus": 0, "quantum": "5"},
    "locks": [{"id": "m", "kind": "mutx"}],
    "threads": [{"id": "t", "priority": 200, "program": [{"op": "lock", "lock": "n"}]}]})");
  CHECK_FALSE(r.scenario.has_value());
  REQUIRE(r.diagnostics.count() == 6);
  std::vector<std::string> pointers;
  for (const auto& d : r.diagnostics.items()) pointers.push_back(d.pointer);
  CHECK(pointers == std::vector<std::string>{"/duration", "/machine/cpus", "/machine/quantum",
                                             "/locks/0/kind", "/threads/0/priority",
                                             "/threads/0/program/0/lock"});
}

TEST_CASE("scenario: at most 20 errors are kept and the rest are counted", "[scenario][unit]") {
  std::string program = "[";
  for (int i = 0; i < 25; ++i)
    program += std::string(i ? ", " : "") + R"({"op": "run", "for": "1d"})";
  program += "]";
  LoadResult r = load(with_program(program));
  CHECK_FALSE(r.scenario.has_value());
  CHECK(r.diagnostics.count() == 25);
  CHECK(r.diagnostics.items().size() == 20);
  std::string text = r.diagnostics.format();
  CHECK(text.substr(text.size() - 24) == "5 more errors not shown\n");
}

TEST_CASE("scenario: unknown keys get a did-you-mean note or the list of valid keys",
          "[scenario][unit]") {
  const auto d = single_error(load(with_thread(R"("priorty": 40)")));
  CHECK(d.pointer == "/threads/0/priorty");
  CHECK(d.message == "unknown key \"priorty\"");
  CHECK(d.notes == std::vector<std::string>{"did you mean \"priority\"?"});

  const auto abbrev = single_error(load(with_thread(R"("prio": 40)")));
  CHECK(abbrev.notes == std::vector<std::string>{"did you mean \"priority\"?"});

  const auto far =
      single_error(load(with_program(R"([{"op": "yield"}])", R"("machine": {"zzzzzz": 1},)")));
  CHECK(far.pointer == "/machine/zzzzzz");
  CHECK(far.notes ==
        std::vector<std::string>{
            "valid keys in \"machine\": cpus, xnu, quantum, costs, calibration, funnels, platform"});

  const auto op =
      single_error(load(with_program(R"([{"op": "run", "fro": "1ms", "for": "1ms"}])")));
  CHECK(op.pointer == "/threads/0/program/0/fro");
  CHECK(op.notes == std::vector<std::string>{"did you mean \"for\"?"});

  const auto opname = single_error(load(with_program(R"([{"op": "slep", "for": "1ms"}])")));
  CHECK(opname.pointer == "/threads/0/program/0/op");
  CHECK(opname.message == "unknown op \"slep\"");
  CHECK(opname.notes == std::vector<std::string>{"did you mean \"sleep\"?"});

  const auto metric = single_error(load(
      with_program(R"([{"op": "yield"}])",
                   R"("expect": [{"thread": "t", "metric": "respone_ns.p99", "max": "1ms"}],)")));
  CHECK(metric.message == "unknown thread metric \"respone_ns.p99\"");
  CHECK(metric.notes == std::vector<std::string>{"did you mean \"response_ns.p99\"?"});
}

TEST_CASE("scenario: references resolve in declaration order and undeclared ones are errors",
          "[scenario][unit]") {
  const auto d = single_error(load(
      with_program(R"([{"op": "lock", "lock": "m2"}])",
                   R"("locks": [{"id": "m", "kind": "mutex"}, {"id": "bus", "kind": "spin"}],)")));
  CHECK(d.format() ==
        "scenarios/test.json: error: /threads/0/program/0/lock: undeclared lock \"m2\"\n"
        "  note: did you mean \"m\"?\n"
        "  note: lock \"m2\" is not declared; declared: bus, m");

  const auto none = single_error(load(with_program(R"([{"op": "wait", "event": "e"}])")));
  CHECK(has_note(none, "event \"e\" is not declared; none are declared"));

  const auto src = single_error(load(with_program(
      R"([{"op": "yield"}])",
      R"("workloops": [{"id": "wl", "sources": [{"id": "a", "kind": "interrupt", "action": "1us"}]}],
         "interrupts": [{"id": "i", "arrival": {"periodic": "1ms"}, "handler": "1us", "source": "wl.b"}],)")));
  CHECK(src.pointer == "/interrupts/0/source");
  CHECK(src.message == "work loop \"wl\" has no event source \"b\"");

  // A reference to an entry whose declaration is itself broken is not reported twice.
  LoadResult r =
      load(with_program(R"([{"op": "lock", "lock": "m"}])", R"("locks": [{"kind": "mutex"}],)"));
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(r.diagnostics.items()[0].message == "missing required key \"id\"");
}

TEST_CASE("scenario: duplicate ids point back at the first declaration", "[scenario][unit]") {
  const auto d = single_error(load(R"({"format": "xnusim-scenario", "version": 1, "duration": "1s",
    "events": [{"id": "a"}, {"id": "b"}, {"id": "a"}]})"));
  CHECK(d.pointer == "/events/2/id");
  CHECK(d.message == "duplicate event id \"a\"");
  CHECK(d.notes == std::vector<std::string>{"first declared at /events/0"});
  // Ids are unique within their kind only.
  ok(load(with_program(R"([{"op": "wait", "event": "t"}])", R"("events": [{"id": "t"}],)")));
}

TEST_CASE("scenario: real-time admission follows thread_policy_set", "[scenario][unit]") {
  auto rt = [](const std::string& computation, const std::string& constraint) {
    return load(with_thread(R"("mode": "realtime", "realtime": {"computation": ")" + computation +
                            R"(", "constraint": ")" + constraint + R"("})"));
  };
  // xnu-facts 4.1: KERN_INVALID_ARGUMENT if constraint < computation, computation > 50 ms or
  // computation < 50 us; the limits themselves are accepted.
  ok(rt("50us", "50us"));
  ok(rt("50ms", "100ms"));
  CHECK(single_error(rt("60ms", "100ms")).format() ==
        "scenarios/test.json: error: /threads/0/realtime/computation: 60ms exceeds max_rt_quantum "
        "(50ms); thread_policy_set would return KERN_INVALID_ARGUMENT (4)\n"
        "  note: xnu accepts 50us <= computation <= 50ms and constraint >= computation");
  const auto small = single_error(rt("40us", "1ms"));
  CHECK(small.pointer == "/threads/0/realtime/computation");
  CHECK(small.message ==
        "40us is below min_rt_quantum (50us); thread_policy_set would return KERN_INVALID_ARGUMENT "
        "(4)");
  const auto cons = single_error(rt("2ms", "1ms"));
  CHECK(cons.pointer == "/threads/0/realtime/constraint");
  CHECK(cons.message ==
        "1ms is less than the computation (2ms); thread_policy_set would return "
        "KERN_INVALID_ARGUMENT (4)");

  const auto pri = single_error(load(with_thread(
      R"("mode": "realtime", "priority": 90, "realtime": {"computation": "1ms", "constraint": "1ms"})")));
  CHECK(pri.pointer == "/threads/0/priority");
  const auto missing = single_error(load(with_thread(R"("mode": "realtime")")));
  CHECK(missing.pointer == "/threads/0");
  const auto stray = single_error(load(
      with_thread(R"("mode": "fixed", "realtime": {"computation": "1ms", "constraint": "1ms"})")));
  CHECK(stray.pointer == "/threads/0/realtime");
}

TEST_CASE("scenario: program rules about loops and periods are enforced", "[scenario][unit]") {
  const auto spin = single_error(load(with_program(
      R"([{"op": "loop", "forever": true, "body": [{"op": "yield"}, {"op": "set_priority", "priority": 3}]}])")));
  CHECK(spin.pointer == "/threads/0/program/0");
  CHECK(spin.message == "this loop would repeat forever without simulated time passing");

  // Only the innermost endless loop is at fault.
  const auto nested = single_error(load(with_program(
      R"([{"op": "loop", "forever": true, "body": [{"op": "loop", "forever": true, "body": [{"op": "yield"}]}]}])")));
  CHECK(nested.pointer == "/threads/0/program/0/body/0");

  // Time inside a nested bounded loop counts.
  ok(load(with_program(
      R"([{"op": "loop", "forever": true, "body": [{"op": "loop", "times": 2, "body": [{"op": "sleep", "for": "1ms"}]}]}])")));

  const auto period = single_error(load(with_program(R"([{"op": "sleep_until_next_period"}])")));
  CHECK(period.pointer == "/threads/0/program/0");
  ok(load(with_thread(R"("period": "10ms")")));

  const auto empty = single_error(load(with_program("[]")));
  CHECK(empty.pointer == "/threads/0/program");
}

TEST_CASE("scenario: syntax errors give line and column and a readable message",
          "[scenario][unit]") {
  const auto comma =
      single_error(load("{\n  \"format\": \"xnusim-scenario\"\n  \"version\": 1\n}"));
  CHECK(comma.format() ==
        "scenarios/test.json:3:3: error: expected ',' or '}' after an object member (got "
        "\"version\")\n"
        "  note: is a ',' missing before it?");
  const auto trailing = single_error(load("{\"a\": [1, 2, ]}"));
  CHECK(trailing.line == 1);
  CHECK(trailing.column == 12);
  CHECK(trailing.message == "trailing comma before ']' (JSON does not allow one)");
  const auto empty = single_error(load(""));
  CHECK(empty.line == 1);
  CHECK(empty.column == 1);
  // Columns count characters, not UTF-8 bytes.
  const auto utf8 = single_error(load("{\"d\": \"\xc3\xa9t\xc3\xa9\" x}"));
  CHECK(utf8.column == 13);
  CHECK(utf8.message.find("json.exception") == std::string::npos);
}

TEST_CASE("scenario: a key given twice in one object is an error at its pointer",
          "[scenario][unit]") {
  LoadResult r = load(R"({"format": "xnusim-scenario", "version": 1, "duration": "1s",
    "threads": [{"id": "t", "program": [{"op": "run", "for": "1ms", "for": "2ms"}]}]})");
  const auto d = single_error(r);
  CHECK(d.pointer == "/threads/0/program/0/for");
  CHECK(d.message == "duplicate key \"for\"; a key may appear only once in an object");
}

TEST_CASE("scenario: key order never matters", "[scenario][unit]") {
  LoadResult a = load(R"({"format": "xnusim-scenario", "version": 1, "duration": "1s",
    "locks": [{"id": "m", "kind": "mutex"}],
    "threads": [{"id": "t", "program": [{"op": "lock", "lock": "m"}, {"op": "unlock", "lock": "m"}]}]})");
  LoadResult b = load(
      R"({"threads": [{"program": [{"lock": "m", "op": "lock"}, {"op": "unlock", "lock": "m"}], "id": "t"}],
    "locks": [{"kind": "mutex", "id": "m"}], "duration": "1s", "version": 1, "format": "xnusim-scenario"})");
  const Scenario& sa = ok(a);
  const Scenario& sb = ok(b);
  CHECK(sa.threads[0].program[0].ref == sb.threads[0].program[0].ref);
  CHECK(sa.locks[0].kind == sb.locks[0].kind);
}

TEST_CASE("scenario: another format or a later version stops with one clear error",
          "[scenario][unit]") {
  const auto v2 = single_error(
      load(R"({"format": "xnusim-scenario", "version": 2, "duration": "1s", "shiny": true})"));
  CHECK(v2.pointer == "/version");
  CHECK(v2.message ==
        "this build of xnusim reads version 1 of the scenario format (got version 2)");
  const auto fmt = single_error(load(R"({"format": "other", "version": 1})"));
  CHECK(fmt.pointer == "/format");
}

TEST_CASE("scenario: a missing file is a diagnostic, not an exception", "[scenario][unit]") {
  LoadResult r = load_scenario_file("/nonexistent/dir/nothing.json");
  CHECK_FALSE(r.scenario.has_value());
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(r.diagnostics.items()[0].format().rfind("/nonexistent/dir/nothing.json: error: cannot open",
                                                0) == 0);
}

TEST_CASE("scenario: the metric catalog knows each target's paths", "[scenario][unit]") {
  CHECK(is_known_metric(ExpectTarget::thread, "response_ns.p999"));
  CHECK(is_known_metric(ExpectTarget::thread, "max_sched_pri"));
  CHECK_FALSE(is_known_metric(ExpectTarget::thread, "response_ns"));
  CHECK_FALSE(is_known_metric(ExpectTarget::thread, "jobs.count"));
  CHECK(is_known_metric(ExpectTarget::cpu, "by_band_ns.default"));
  CHECK_FALSE(is_known_metric(ExpectTarget::cpu, "by_band_ns.normal"));
  CHECK(is_known_metric(ExpectTarget::system, "events"));
  CHECK_FALSE(is_known_metric(ExpectTarget::system, "panics"));
  CHECK(is_known_metric(ExpectTarget::device, "io_ns.mean"));
  CHECK(known_metrics(ExpectTarget::thread).size() == 15 + 2 * 8);  // 15 leaves incl. spin_ns, created_ns, ended_ns
  CHECK(known_metrics(ExpectTarget::cpu).size() == 4 + 8);
  CHECK(known_metrics(ExpectTarget::workloop).size() == 2 + 2 * 8);

  CHECK(is_duration_metric("response_ns.p99"));
  CHECK(is_duration_metric("blocked_ns"));
  CHECK(is_duration_metric("by_band_ns.realtime"));
  CHECK_FALSE(is_duration_metric("response_ns.count"));
  CHECK_FALSE(is_duration_metric("deadline_misses"));
  CHECK_FALSE(is_duration_metric("min_sched_pri"));
}

// Loading must be linear in the size of the scenario (issue 8, defect 1.8: a 300,000-op program
// took 43 s, 100,000 threads more than a minute). No time is asserted here; the sizes are chosen
// so that a quadratic loader makes this test take minutes instead of a fraction of a second,
// and bench/loader_bench.cpp gives the figures.
namespace {

std::string scale_header() {
  return R"({"format": "xnusim-scenario", "version": 1, "duration": "10ms", )";
}

}  // namespace

TEST_CASE("scenario: a 100,000-op program and 30,000 threads load with every op and thread",
          "[scenario][unit][regression]") {
  std::string ops = scale_header() + R"("threads": [{"id": "t", "program": [)";
  for (int i = 0; i < 100'000; ++i)
    ops += i % 2 == 0 ? R"({"op": "run", "for": "1us"},)" : R"({"op": "sleep", "for": "2us"},)";
  ops.back() = ']';
  ops += "}]}";
  LoadResult a = load_scenario_text(ops, "ops.json");
  INFO(a.diagnostics.format());
  REQUIRE(a.scenario);
  REQUIRE(a.scenario->threads[0].program.size() == 100'000);
  CHECK(a.scenario->threads[0].program[99'999].kind == OpKind::sleep);
  CHECK(a.scenario->threads[0].program[99'999].pointer == "/threads/0/program/99999");

  std::string threads = scale_header() + R"("locks": [{"id": "m", "kind": "mutex"}], "threads": [)";
  for (int i = 0; i < 30'000; ++i)
    threads += fmt::format(
        R"({{"id": "t{}", "program": [{{"op": "lock", "lock": "m"}}, {{"op": "unlock", "lock": "m"}}, {{"op": "yield", "to": "t{}"}}]}},)",
        i, (i + 1) % 30'000);
  threads.back() = ']';
  threads += "}";
  LoadResult b = load_scenario_text(threads, "threads.json");
  INFO(b.diagnostics.format());
  REQUIRE(b.scenario);
  REQUIRE(b.scenario->threads.size() == 30'000);
  CHECK(b.scenario->threads[29'999].id == "t29999");
  CHECK(b.scenario->threads[29'999].program[2].ref == 0);  // yields to t0
}

TEST_CASE("scenario: 20,000 chained devices and 50,000 bad references are checked in one pass",
          "[scenario][unit][regression]") {
  std::string chain = scale_header() + R"("workloops": [{"id": "wl"}], "devices": [)";
  for (int i = 0; i < 20'000; ++i)
    chain += i + 1 < 20'000 ? fmt::format(R"({{"id": "d{}", "provider": "d{}", "service": "1us"}},)", i, i + 1)
                            : fmt::format(R"({{"id": "d{}", "service": "1us"}}])", i);
  chain += R"(, "threads": [{"id": "t", "program": [{"op": "io", "device": "d0", "for": "1ms"}]}]})";
  LoadResult a = load_scenario_text(chain, "chain.json");
  // No device reaches a work loop: each of the 20,000 is reported (20 shown).
  CHECK(a.diagnostics.count() == 20'000);
  CHECK(a.diagnostics.items()[0].message ==
        "device \"d0\" has no work loop: give it \"workloop\" or a \"provider\" that has one");

  std::string refs = scale_header() + R"("locks": [)";
  for (int i = 0; i < 10'000; ++i) refs += fmt::format(R"({{"id": "m{}", "kind": "mutex"}},)", i);
  refs.back() = ']';
  refs += R"(, "threads": [{"id": "t", "program": [)";
  for (int i = 0; i < 50'000; ++i) refs += fmt::format(R"({{"op": "lock", "lock": "x{}"}},)", i);
  refs.back() = ']';
  refs += "}]}";
  LoadResult b = load_scenario_text(refs, "refs.json");
  CHECK(b.diagnostics.count() == 50'000);
  CHECK(b.diagnostics.items().size() == sim::core::Diagnostics::kLimit);
}
