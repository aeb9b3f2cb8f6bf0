// `xnusim policies`: the policy registry, one line each.
#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/policies/registry.hpp"

namespace sim::cli {

Command add_policies_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("policies", "List the scheduling policies, one line each.");
  c.run = [] {
    size_t width = 0;
    for (const policies::PolicyInfo& p : policies::registry()) width = std::max(width, p.name.size());
    for (const policies::PolicyInfo& p : policies::registry()) {
      bool is_default = p.name == policies::default_policy_name();
      oprint("{:<{}}  {}{}\n", p.name, width, p.summary, is_default ? " (default)" : "");
    }
    return kExitOk;
  };
  return c;
}

}  // namespace sim::cli
