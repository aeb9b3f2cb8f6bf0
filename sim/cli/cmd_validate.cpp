// `xnusim validate FILE...`: diagnostics only; exit 2 if any file has an error.
#include <cstdio>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

void add_edit_options(CLI::App& app, std::vector<std::string>& sets, std::optional<std::string>* cpus) {
  app.add_option("--set", sets,
                 "Edit the scenario before it is validated: PATH=VALUE, PATH a dotted path "
                 "(machine.cpus, threads.audio.priority: a name in an array selects the element with "
                 "that id) or a JSON Pointer (/locks/0/protocol), VALUE JSON or else a string; repeatable")
      ->allow_extra_args(false);  // one PATH=VALUE per --set
  if (cpus) app.add_option("--cpus", *cpus, "Number of CPUs: short for --set machine.cpus=N");
}

Command add_validate_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("validate", "Check scenario files and print every problem found.");
  auto files = std::make_shared<std::vector<std::string>>();
  auto sets = std::make_shared<std::vector<std::string>>();
  c.app->add_option("files", *files, "Scenario files (JSON, format v1); - reads standard input")->required();
  add_edit_options(*c.app, *sets, nullptr);
  c.run = [files, sets] {
    std::string edit_error;
    std::optional<std::vector<Override>> edits = parse_overrides(*sets, std::nullopt, edit_error);
    if (!edits) {
      eprint("{}\n", edit_error);
      return kExitBadInput;
    }
    bool bad = false;
    for (const std::string& f : *files) {
      ScenarioInput r = load_scenario_input(f, *edits);
      if (!r.scenario) {
        eprint("{}", r.diagnostics.format());
        bad = true;
        continue;
      }
      std::string policy_error = run::check_policy_name(*r.scenario, "");
      if (!policy_error.empty()) {
        eprint("{}\n", policy_error);
        bad = true;
        continue;
      }
      oprint("{}: ok ({} thread{}, {} simulated)\n", f == "-" ? "<stdin>" : f, r.scenario->threads.size(),
             r.scenario->threads.size() == 1 ? "" : "s", core::format_duration(r.scenario->duration));
    }
    return bad ? kExitBadInput : kExitOk;
  };
  return c;
}

}  // namespace sim::cli
