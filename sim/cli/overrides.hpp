// `--set PATH=VALUE`: edits of a scenario's JSON made on the command line before it is validated,
// and the one way the commands load a scenario argument (file or "-") with its digest and edits.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/core/diag.hpp"
#include "sim/scenario/scenario.hpp"

namespace sim::cli {

// One edit, as given ("machine.cpus=4") and split at its first '='.
struct Override {
  std::string text;   // "PATH=VALUE" as given, for the results' configuration
  std::string label;  // how messages name it: "--set machine.cpus=4", "--vary machine.xnu=792"
  std::string path;   // dotted path or JSON Pointer
  std::string value;  // JSON text, else a string
};

// Splits "PATH=VALUE" given to `option` ("--set"); on a malformed argument returns nullopt and
// sets `error` to a message naming the option and the argument.
std::optional<Override> parse_override(const std::string& arg, const std::string& option, std::string& error);
// The edits of a command line: `--cpus N` first (as "machine.cpus=N"), then every --set in order.
// On a malformed one, returns nullopt with `error` set.
std::optional<std::vector<Override>> parse_overrides(const std::vector<std::string>& sets,
                                                     const std::optional<std::string>& cpus, std::string& error);

// A scenario argument read, edited and validated.
struct ScenarioInput {
  std::optional<scenario::Scenario> scenario;  // set only when there are no errors
  core::Diagnostics diagnostics;
  std::string sha256;              // of the file's bytes as read (before any edit); "" if unread
  std::vector<std::string> sets;   // every edit applied, as given, in order
};

// Reads `arg` (a path, or "-" for standard input, named "<stdin>"), applies `edits` in order to
// its JSON and validates the result as the file would be. A diagnostic caused by an edit, or an
// edit that cannot be applied (its parent does not exist, an index out of range, no element with
// that id), names the edit: `file: error: --set machine.cpus=x: /machine/cpus: ...`.
ScenarioInput load_scenario_input(const std::string& arg, const std::vector<Override>& edits);

// The same on text already read (tests; compare loads once and edits per configuration).
ScenarioInput load_scenario_input_text(const std::string& text, const std::string& file,
                                       const std::vector<Override>& edits);

}  // namespace sim::cli
