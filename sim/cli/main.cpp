// xnusim: the command-line entry point.
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/core/errors.hpp"
#include "sim/cli/console.hpp"
#include "sim/core/diag.hpp"
#include "xnusim_version.hpp"

int main(int argc, char** argv) {
  using namespace sim::cli;
  try {
    CLI::App app{"xnusim: a deterministic simulator of the Mac OS X (xnu/Mach) scheduler and IOKit "
                 "synchronisation.\nRuns JSON workload scenarios and reports latency, jitter, deadline "
                 "misses and priority inversion."};
    app.set_version_flag("--version", std::string("xnusim ") + XNUSIM_VERSION);
    app.require_subcommand(1);
    app.footer("Exit codes: 0 ok, 1 an expect failed (--check), 2 bad input or usage, "
               "3 internal error, 4 the simulated system panicked.");

    std::vector<Command> commands = {
        add_run_command(app),
        add_validate_command(app),
        add_compare_command(app),
        add_policies_command(app),
        add_explain_command(app),
        add_lessons_command(app),
        add_report_command(app),
        add_sweep_command(app),
        add_merge_command(app),
#ifdef XNUSIM_HAVE_CALIBRATION
        add_calibrate_command(app),
        add_replay_command(app),
#endif
    };

    // The first word that is not an option names the subcommand; CLI11 would only say that one
    // is required, so name the unknown one and suggest the closest.
    std::vector<std::string> names;
    for (const Command& c : commands) names.push_back(c.app->get_name());
    for (int i = 1; i < argc; ++i) {
      std::string word = argv[i];
      if (!word.empty() && word[0] == '-') continue;
      if (std::find(names.begin(), names.end(), word) != names.end()) break;
      std::string hint = sim::core::closest_match(word, names);
      eprint("xnusim: error: unknown command \"{}\"; valid: {}\n", word, fmt::join(names, ", "));
      if (!hint.empty()) eprint("  note: did you mean \"{}\"?\n", hint);
      return kExitBadInput;
    }

    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      int code = app.exit(e);
      return code == 0 ? kExitOk : kExitBadInput;
    }
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const sim::core::InternalError& e) {
    // what() already reads "internal error at <time> s (event <n>): ..."
    eprint("xnusim: {}\n  note: this is a bug in xnusim; please report it with the scenario\n", e.what());
    return kExitInternal;
  } catch (const std::exception& e) {
    eprint("xnusim: internal error: {}\n", e.what());
    return kExitInternal;
  } catch (...) {
    eprint("xnusim: internal error: unknown exception\n");
    return kExitInternal;
  }
  return kExitBadInput;
}
