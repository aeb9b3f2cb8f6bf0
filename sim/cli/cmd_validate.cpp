// `xnusim validate FILE...`: diagnostics only; exit 2 if any file has an error.
#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/run_support.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

Command add_validate_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("validate", "Check scenario files and print every problem found.");
  auto files = std::make_shared<std::vector<std::string>>();
  c.app->add_option("files", *files, "Scenario files (JSON, format v1)")->required();
  c.run = [files] {
    bool bad = false;
    for (const std::string& f : *files) {
      scenario::LoadResult r = scenario::load_scenario_file(f);
      if (!r.scenario) {
        fmt::print(stderr, "{}", r.diagnostics.format());
        bad = true;
        continue;
      }
      std::string policy_error = check_policy_name(*r.scenario, "");
      if (!policy_error.empty()) {
        fmt::print(stderr, "{}\n", policy_error);
        bad = true;
        continue;
      }
      fmt::print("{}: ok ({} thread{}, {} simulated)\n", f, r.scenario->threads.size(),
                 r.scenario->threads.size() == 1 ? "" : "s",
                 core::format_duration(r.scenario->duration));
    }
    return bad ? kExitBadInput : kExitOk;
  };
  return c;
}

}  // namespace sim::cli
