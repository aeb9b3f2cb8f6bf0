// `xnusim calibrate`: measures this machine (sim/calibration) and writes a calibration file
// (docs/calibration.md). Built on Linux only.
#include <optional>
#include <string>

#include <fmt/format.h>

#include "sim/calibration/calibrate.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/core/time.hpp"

namespace sim::cli {

Command add_calibrate_command(CLI::App& parent) {
  struct Args {
    std::string output;
    std::string duration = "10s";
    std::optional<std::string> cpus;
    bool all_cpus = false;
    bool vs_cyclictest = false;
  };
  auto args = std::make_shared<Args>();
  Command c;
  c.app = parent.add_subcommand(
      "calibrate",
      "Measure this machine with pinned SCHED_FIFO threads (context switch, wakeup, timer and "
      "mutex hand-off latency, the busy loop) and write a calibration file that a scenario's "
      "machine.calibration names (docs/calibration.md). Linux only.");
  c.app->add_option("-o,--output", args->output, "Write the calibration file here (xnusim-calibration v1)");
  c.app->add_option("--duration", args->duration, "Total measuring time, e.g. 10s (default 10s)");
  c.app->add_option("--cpus", args->cpus,
                    "Real CPUs to measure on, e.g. 1 or 0,1 (default: the last CPU; one CPU is "
                    "always left to SCHED_OTHER unless --all-cpus)");
  c.app->add_flag("--all-cpus", args->all_cpus, "Allow --cpus to take every CPU");
  c.app->add_flag("--vs-cyclictest", args->vs_cyclictest,
                  "Run cyclictest (rt-tests) on the same CPU right after the timer measurement "
                  "and print both side by side");
  c.run = [args] {
    core::ParsedDuration d = core::parse_duration(args->duration);
    if (!d.value || d.value->ns <= 0 || d.value->ns > 3600LL * 1'000'000'000) {
      eprint("xnusim: error: --duration: {}\n  note: write e.g. 2s or 500ms (at most 1h)\n",
             d.value ? fmt::format("must be a positive duration of at most 1h (got \"{}\")",
                                   args->duration)
                     : d.error);
      return kExitBadInput;
    }
    calibration::CalibrateOptions o;
    o.duration_ns = d.value->ns;
    o.cpus = args->cpus;
    o.all_cpus = args->all_cpus;
    o.vs_cyclictest = args->vs_cyclictest;
    // Refuse an unwritable output before measuring for seconds.
    OutputFile out;
    if (!args->output.empty()) {
      if (std::string e = out.open(args->output); !e.empty()) {
        eprint("xnusim: error: {}\n", e);
        return kExitBadInput;
      }
    }
    calibration::CalibrationResult r;
    if (std::string e = calibration::calibrate(o, r); !e.empty()) {
      eprint("xnusim: error: --cpus: {}\n  note: list real CPUs as 0,1 or 0-1; see `nproc`\n", e);
      return kExitBadInput;
    }
    oprint("{}", calibration::calibration_text(r));
    if (out.is_open()) {
      out.write(calibration::calibration_json(r));
      if (std::string e = out.commit(); !e.empty()) {
        eprint("xnusim: error: {}\n", e);
        return kExitBadInput;
      }
      oprint("calibration written to {}\n", args->output);
    }
    return kExitOk;
  };
  return c;
}

}  // namespace sim::cli
