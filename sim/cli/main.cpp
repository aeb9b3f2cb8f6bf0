// xnusim: the command-line entry point.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "xnusim_version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"xnusim: a deterministic simulator of the Mac OS X (xnu/Mach) scheduler and IOKit "
               "synchronisation.\nRuns JSON workload scenarios and reports latency, jitter, deadline "
               "misses and priority inversion."};
  app.set_version_flag("--version", std::string("xnusim ") + XNUSIM_VERSION);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 an expect failed (--check), 2 bad input or usage, "
             "3 internal error, 4 the simulated system panicked.");

  std::vector<sim::cli::Command> commands = {
      sim::cli::add_run_command(app),
      sim::cli::add_validate_command(app),
      sim::cli::add_policies_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : sim::cli::kExitBadInput;
  }
  try {
    for (const sim::cli::Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "xnusim: internal error: {}\n", e.what());
    return sim::cli::kExitInternal;
  }
  return sim::cli::kExitBadInput;
}
