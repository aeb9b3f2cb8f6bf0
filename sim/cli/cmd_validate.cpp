// `xnusim validate FILE...`: diagnostics only; exit 2 if any file has an error.
#include <cstdio>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/run/simulation.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

scenario::LoadResult load_scenario_argument(const std::string& arg) {
  if (arg != "-") return scenario::load_scenario_file(arg);
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
  return scenario::load_scenario_text(text, "<stdin>");
}

Command add_validate_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("validate", "Check scenario files and print every problem found.");
  auto files = std::make_shared<std::vector<std::string>>();
  c.app->add_option("files", *files, "Scenario files (JSON, format v1); - reads standard input")->required();
  c.run = [files] {
    bool bad = false;
    for (const std::string& f : *files) {
      scenario::LoadResult r = load_scenario_argument(f);
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
