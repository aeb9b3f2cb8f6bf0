// The xnusim subcommands; each registers its options on the CLI11 app and runs when chosen.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/scenario/loader.hpp"

namespace sim::cli {

// Exit codes (ARCHITECTURE.md): 0 ok, 1 an expect failed, 2 bad input or usage,
// 3 internal invariant broken, 4 the simulated system panicked.
inline constexpr int kExitOk = 0;
inline constexpr int kExitExpectFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInternal = 3;
inline constexpr int kExitPanic = 4;

// Each returns a callable that runs the command and returns its exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Registers --set PATH=VALUE (repeatable) and, when `cpus` is given, --cpus N.
void add_edit_options(CLI::App& app, std::vector<std::string>& sets, std::optional<std::string>* cpus);

// The subcommand names, for "did you mean" on an unknown one.
std::vector<std::string> subcommand_names();

Command add_run_command(CLI::App& parent);
Command add_validate_command(CLI::App& parent);
Command add_policies_command(CLI::App& parent);
Command add_compare_command(CLI::App& parent);
Command add_explain_command(CLI::App& parent);
Command add_lessons_command(CLI::App& parent);
Command add_report_command(CLI::App& parent);
Command add_sweep_command(CLI::App& parent);
Command add_merge_command(CLI::App& parent);
#ifdef XNUSIM_HAVE_CALIBRATION
// The real-hardware backend (Linux only: sim/calibration).
Command add_calibrate_command(CLI::App& parent);
Command add_replay_command(CLI::App& parent);
#endif

}  // namespace sim::cli
