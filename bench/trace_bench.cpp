// xnusim-trace-bench: the cost of the text trace per line on a bundled scenario. Runs it once
// without a trace, once with the trace written to /dev/null, and formats the recorded events
// alone; prints nanoseconds per line for each. Not a test: nothing here is asserted.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "reports/trace_text.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

using namespace sim;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class Counter final : public core::TraceSink {
 public:
  void on_event(const core::TraceEvent&) override { ++n; }
  int64_t n = 0;
};

class Recorder final : public core::TraceSink {
 public:
  void on_event(const core::TraceEvent& e) override { events.push_back(e); }
  std::vector<core::TraceEvent> events;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Text trace speed: ns per line on a bundled scenario"};
  std::string file = "scenarios/iokit/workloop-vs-audio.json";
  std::string policy;
  std::string duration = "20s";
  int repeat = 3;
  app.add_option("--scenario", file, "Scenario, relative to the source tree");
  app.add_option("--policy", policy, "Policy (default: the scenario's)");
  app.add_option("--duration", duration, "Simulated time");
  app.add_option("--repeat", repeat, "Runs of each measurement; the fastest is printed");
  CLI11_PARSE(app, argc, argv);

  scenario::LoadResult loaded = scenario::load_scenario_file(std::string(XNUSIM_SOURCE_DIR) + "/" + file);
  if (!loaded.scenario) {
    std::fputs(loaded.diagnostics.format().c_str(), stderr);
    return 2;
  }
  run::Options options;
  options.policy = policy;
  options.duration = core::parse_duration(duration).value;

  double plain = 1e30, traced = 1e30, format_only = 1e30;
  int64_t lines = 0;
  for (int i = 0; i < repeat; ++i) {
    {
      run::Simulation sim(*loaded.scenario, options);
      Counter c;
      sim.add_sink(&c);
      auto t0 = Clock::now();
      sim.run();
      plain = std::min(plain, seconds_since(t0));
      lines = c.n;
    }
    {
      run::Simulation sim(*loaded.scenario, options);
      std::FILE* null = std::fopen("/dev/null", "wb");
      reports::TextTraceWriter w(null, sim.names());
      sim.add_sink(&w);
      auto t0 = Clock::now();
      sim.run();
      w.flush();
      traced = std::min(traced, seconds_since(t0));
      std::fclose(null);
    }
    {
      run::Simulation sim(*loaded.scenario, options);
      Recorder r;
      sim.add_sink(&r);
      sim.run();
      std::FILE* null = std::fopen("/dev/null", "wb");
      auto t0 = Clock::now();
      {
        reports::TextTraceWriter w(null, sim.names());
        for (const core::TraceEvent& e : r.events) w.on_event(e);
        w.flush();
      }
      format_only = std::min(format_only, seconds_since(t0));
      std::fclose(null);
    }
  }
  const double n = static_cast<double>(lines);
  fmt::print("{} ({}), {} trace lines, fastest of {}\n", file, duration, lines, repeat);
  fmt::print("  run without trace      {:8.3f} s  {:7.1f} ns per line\n", plain, plain * 1e9 / n);
  fmt::print("  run with trace         {:8.3f} s  {:7.1f} ns per line (trace adds {:.1f})\n", traced,
             traced * 1e9 / n, (traced - plain) * 1e9 / n);
  fmt::print("  formatting alone       {:8.3f} s  {:7.1f} ns per line\n", format_only, format_only * 1e9 / n);
  return 0;
}
