// The calibration file (format `xnusim-calibration` version 1, docs/calibration.md): what
// `xnusim calibrate` writes and `machine.calibration` names. The loader reads only the costs it
// derives for the simulation; the measurements are for people and for `xnusim replay`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/scenario/scenario.hpp"

namespace sim::scenario {

// What the simulation takes from a calibration file.
struct CalibrationValues {
  Costs costs;
  double busy_loop_ns_per_iteration = 0;  // measurements.busy_loop.ns_per_iteration
};

// The largest cost a calibration file may give (1 s): beyond it the file is certainly wrong.
inline constexpr int64_t kMaxCalibratedCostNs = 1'000'000'000;

struct CalibrationRead {
  std::optional<CalibrationValues> values;  // set when the file is valid
  std::string pointer;  // inside the calibration file, when it is malformed
  std::string message;  // what is wrong (empty when valid)
  std::string fix;      // how to fix it
};

// Reads and checks a calibration file; never throws for bad input.
CalibrationRead read_calibration_file(const std::string& path);
// The same for text already read (tests).
CalibrationRead read_calibration_text(const std::string& text);

// Where a scenario's `machine.calibration` points: relative paths are taken from the folder of
// the scenario file.
std::string resolve_calibration_path(const std::string& scenario_file, const std::string& path);

}  // namespace sim::scenario
