// Helpers for tests: build scenarios in code, record trace events, run under a policy.
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/json_report.hpp"
#include "reports/trace_text.hpp"
#include "sim/core/trace.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::sync {}
namespace sim::iokit_model {}

namespace testing {

// Every bundled scenario (scenarios/**/*.json), absolute paths, sorted.
inline std::vector<std::filesystem::path> bundled_scenario_files() {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(XNUSIM_SOURCE_DIR) / "scenarios"))
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
// The same, relative to the source tree ("scenarios/basics/bw-c.json").
inline std::vector<std::string> bundled_scenario_names() {
  std::vector<std::string> out;
  for (const auto& f : bundled_scenario_files())
    out.push_back(std::filesystem::relative(f, std::filesystem::path(XNUSIM_SOURCE_DIR)).generic_string());
  return out;
}

// The layers by their short names. Not `using namespace sim`: that would make the namespace
// sim::run collide with testing::run below.
namespace core = sim::core;
namespace model = sim::model;
namespace policies = sim::policies;
namespace dispatcher = sim::dispatcher;
namespace sync = sim::sync;
namespace iokit_model = sim::iokit_model;
namespace scenario = sim::scenario;
namespace metrics = sim::metrics;
namespace reports = sim::reports;
using core::Duration;

inline Duration ms(int64_t v) { return Duration::milliseconds(v); }
inline Duration us(int64_t v) { return Duration::microseconds(v); }

inline model::Op run_op(Duration d) {
  model::Op op;
  op.kind = model::OpKind::run;
  op.duration.a = d;
  return op;
}
inline model::Op sleep_op(Duration d) {
  model::Op op;
  op.kind = model::OpKind::sleep;
  op.duration.a = d;
  return op;
}
inline model::Op simple_op(model::OpKind k) {
  model::Op op;
  op.kind = k;
  return op;
}
inline model::Op loop_op(std::vector<model::Op> body, int64_t times = 0) {
  model::Op op;
  op.kind = model::OpKind::loop;
  op.body = std::move(body);
  op.forever = times == 0;
  op.times = times == 0 ? 1 : times;
  return op;
}
inline model::Op set_priority_op(int pri) {
  model::Op op;
  op.kind = model::OpKind::set_priority;
  op.priority = pri;
  return op;
}

inline scenario::ThreadSpec thread(std::string id, int priority, std::vector<model::Op> program,
                                   model::ThreadMode mode = model::ThreadMode::fixed) {
  scenario::ThreadSpec t;
  t.id = std::move(id);
  t.priority = priority;
  t.mode = mode;
  t.program = std::move(program);
  return t;
}

// A scenario from JSON text that must load; otherwise the test fails with the diagnostics.
inline scenario::Scenario load_text(const std::string& text, const std::string& file = "test.json") {
  scenario::LoadResult r = scenario::load_scenario_text(text, file);
  if (!r.scenario) throw std::runtime_error("the scenario does not load:\n" + r.diagnostics.format());
  return *r.scenario;
}

// A file under the repository (e.g. "scenarios/locks/interrupt-spinlock.json") that must load.
inline scenario::Scenario load_bundled(const std::string& relative) {
  std::string path = (std::filesystem::path(XNUSIM_SOURCE_DIR) / relative).string();
  scenario::LoadResult r = scenario::load_scenario_file(path);
  if (!r.scenario) throw std::runtime_error(path + " does not load:\n" + r.diagnostics.format());
  return *r.scenario;
}

inline scenario::Scenario scenario_of(std::vector<scenario::ThreadSpec> threads, Duration duration, int cpus = 1) {
  scenario::Scenario s;
  s.file = "test.json";
  s.name = "test";
  s.duration = duration;
  s.machine.cpus = cpus;
  s.threads = std::move(threads);
  return s;
}

// Keeps every event (tests only: a real run streams them).
class RecordingSink final : public core::TraceSink {
 public:
  void on_event(const core::TraceEvent& e) override { events.push_back(e); }
  std::vector<core::TraceEvent> of(core::TraceKind k) const {
    std::vector<core::TraceEvent> out;
    for (const auto& e : events)
      if (e.kind == k) out.push_back(e);
    return out;
  }
  std::vector<core::TraceEvent> events;
};

// One run through the run layer, with its results JSON for tests that compare documents.
struct RunOutput {
  metrics::Results results;
  nlohmann::ordered_json json;
  bool expects_ok = true;

  // The result of the thread or lock with that id (throws when there is none).
  const metrics::ThreadResult& thread(const std::string& id) const { return by_id(results.threads, id, "thread"); }
  const metrics::LockResult& lock(const std::string& id) const { return by_id(results.locks, id, "lock"); }

 private:
  template <typename T>
  static const T& by_id(const std::vector<T>& v, const std::string& id, const char* what) {
    for (const T& x : v)
      if (x.id == id) return x;
    throw std::runtime_error(std::string("no ") + what + " " + id);
  }
};

// Runs `s` through sim::run::Simulation; `sinks` see every event after the metric sinks, and
// `trace`, when given, receives the text trace.
inline RunOutput run_scenario(const scenario::Scenario& s, const sim::run::Options& options = {},
                              std::vector<core::TraceSink*> sinks = {}, std::FILE* trace = nullptr) {
  sim::run::Simulation simulation(s, options);
  std::optional<reports::TextTraceWriter> writer;
  if (trace) {
    writer.emplace(trace, simulation.names());
    simulation.add_sink(&*writer);
  }
  for (core::TraceSink* k : sinks) simulation.add_sink(k);
  RunOutput out;
  out.results = simulation.run();
  out.json = reports::results_to_json(out.results);
  out.expects_ok = sim::run::expects_ok(out.results);
  return out;
}

struct Run {
  RunOutput out;
  RecordingSink trace;
  const metrics::ThreadResult& thread(const std::string& id) const { return out.thread(id); }
  // "time cpu prev->next" for every switch, to compare schedules compactly.
  std::vector<std::string> switches(const scenario::Scenario& s) const {
    std::vector<std::string> out;
    // Threads past the scenario's are the policy's own (xnu's scheduler tick thread).
    auto name = [&](int32_t i) {
      if (i < 0) return std::string("idle");
      return static_cast<size_t>(i) < s.threads.size() ? s.threads[static_cast<size_t>(i)].id : std::string("tick");
    };
    for (const auto& e : trace.of(core::TraceKind::switched))
      out.push_back(std::to_string(e.time.ns / 1000) + "us cpu" + std::to_string(e.cpu) + " " + name(e.thread) +
                    "->" + name(e.other));
    return out;
  }
};

// Runs `s` with `options` and returns the text trace as well as the output.
struct Traced {
  RunOutput out;
  std::string trace;
};
inline Traced run_traced(const scenario::Scenario& s, const sim::run::Options& options) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  Traced t;
  t.out = run_scenario(s, options, {}, mem);
  std::fclose(mem);
  t.trace.assign(buf, len);
  std::free(buf);
  return t;
}

// The same under the policy named `policy`.
inline Traced run_traced(const scenario::Scenario& s, const std::string& policy) {
  sim::run::Options o;
  o.policy = policy;
  return run_traced(s, o);
}

// The lines of a text trace that contain any of `words`, in order.
inline std::vector<std::string> lines_with(const std::string& trace, const std::vector<std::string>& words) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < trace.size()) {
    size_t end = trace.find('\n', at);
    if (end == std::string::npos) end = trace.size();
    std::string line = trace.substr(at, end - at);
    for (const std::string& w : words)
      if (line.find(w) != std::string::npos) {
        out.push_back(line);
        break;
      }
    at = end + 1;
  }
  return out;
}

inline Run run(const scenario::Scenario& s, const std::string& policy = "fixed") {
  Run r;
  sim::run::Options o;
  o.policy = policy;
  r.out = run_scenario(s, o, {&r.trace});
  return r;
}

}  // namespace testing
