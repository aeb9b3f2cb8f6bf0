// `xnusim lessons`: the teaching scenarios of scenarios/lessons/, in order, one line each.
#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace fs = std::filesystem;

namespace {

// The first sentence of a description (up to the first ". " or the end).
std::string first_sentence(const std::string& text) {
  size_t end = text.find(". ");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

// Where the lessons are: --dir, else scenarios/lessons under the working directory, else the
// copy in the source tree the binary was built from.
std::string find_lessons_dir(const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  if (fs::is_directory("scenarios/lessons", ec)) return "scenarios/lessons";
#ifdef XNUSIM_LESSONS_DIR
  if (fs::is_directory(XNUSIM_LESSONS_DIR, ec)) return XNUSIM_LESSONS_DIR;
#endif
  return "";
}

int lessons_command(const std::string& dir_arg) {
  std::string dir = find_lessons_dir(dir_arg);
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) {
    if (dir_arg.empty())
      eprint("xnusim: error: no scenarios/lessons directory here; run from the xnusim source tree or give "
             "--dir DIR\n");
    else
      eprint("xnusim: error: --dir: \"{}\" is not a directory; give the folder that holds the lessons "
             "(scenarios/lessons)\n", dir_arg);
    return kExitBadInput;
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  if (ec) {
    eprint("xnusim: error: --dir: cannot read \"{}\": {}\n", dir, ec.message());
    return kExitBadInput;
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    eprint("xnusim: error: --dir: no lesson (*.json) in \"{}\"\n", dir);
    return kExitBadInput;
  }
  size_t width = 0;
  for (const fs::path& f : files) width = std::max(width, f.stem().string().size());
  std::string out;
  bool bad = false;
  for (const fs::path& f : files) {
    scenario::LoadResult r = scenario::load_scenario_file(f.string());
    if (!r.scenario) {
      eprint("{}", r.diagnostics.format());
      bad = true;
      continue;
    }
    std::string line = first_sentence(r.scenario->description);
    size_t room = 100 - width - 2;
    if (line.size() > room) line = line.substr(0, room - 3) + "...";
    out += fmt::format("{:<{}}  {}\n", f.stem().string(), width, line);
  }
  out += fmt::format("\nEach is a scenario in {}; `xnusim explain` tells what happens in one:\n  xnusim explain {}\n",
                     fs::path(dir).generic_string(), files.front().generic_string());
  write_text(stdout, out);
  return bad ? kExitBadInput : kExitOk;
}

}  // namespace

Command add_lessons_command(CLI::App& parent) {
  auto dir = std::make_shared<std::string>();
  Command c;
  c.app = parent.add_subcommand("lessons", "List the teaching scenarios (scenarios/lessons), in order, one line each.");
  c.app->add_option("--dir", *dir, "Folder of the lessons (default: scenarios/lessons)");
  c.run = [dir] { return lessons_command(*dir); };
  return c;
}

}  // namespace sim::cli
