// `xnusim report RESULTS.json --html FILE`: the HTML report of a run already made. The results'
// "configuration" names the scenario file, its digest and every edit, policy, seed and duration;
// the run is made again from them (runs are deterministic), after checking the file is unchanged.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/console.hpp"
#include "sim/cli/html_output.hpp"
#include "sim/cli/output_file.hpp"
#include "sim/cli/overrides.hpp"
#include "sim/cli/sha256.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/time.hpp"
#include "sim/run/simulation.hpp"

namespace sim::cli {

namespace {

struct ReportArgs {
  std::string results;
  std::string html_path;
  std::optional<std::string> window;
};

// An error line of another command without its "xnusim: error: --option: " lead, to be quoted
// under the results file's key instead.
std::string strip_prefix(std::string e) {
  const std::string lead = "xnusim: error: ";
  if (e.rfind(lead, 0) == 0) e.erase(0, lead.size());
  if (e.rfind("--", 0) == 0) {
    size_t colon = e.find(": ");
    if (colon != std::string::npos) e.erase(0, colon + 2);
  }
  return e;
}

int report_command(const ReportArgs& a) {
  auto fail = [](const std::string& e) {
    eprint("{}\n", e);
    return kExitBadInput;
  };
  if (a.html_path.empty())
    return fail("xnusim: error: report: nothing to write; give --html FILE");
  std::string error;
  std::optional<reports::TimeWindow> window = parse_window_option(a.window, error);
  if (!error.empty()) return fail(error);

  // The results document and its configuration.
  std::ifstream in(a.results, std::ios::binary);
  if (!in) return fail(fmt::format("xnusim: error: report: cannot read {}: {}", a.results, std::strerror(errno)));
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(buf.str(), nullptr, false);
  auto bad = [&](const std::string& why) {
    return fail(fmt::format("xnusim: error: report: {}: {}; give the file `xnusim run S.json --json FILE` wrote",
                            a.results, why));
  };
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  std::string format = doc.contains("format") && doc["format"].is_string() ? doc["format"].get<std::string>() : "";
  if (format != "xnusim-results")
    return bad(format == "xnusim-compare"
                   ? "a compare document (use `xnusim compare ... --html FILE` instead)"
                   : "not an xnusim results document (\"format\" is not \"xnusim-results\")");
  if (!doc.contains("configuration") || !doc["configuration"].is_object()) return bad("no \"configuration\" object");
  const nlohmann::json& c = doc["configuration"];
  auto str = [&](const char* key) { return c.contains(key) && c[key].is_string() ? c[key].get<std::string>() : ""; };
  std::string file = str("file"), digest = str("sha256"), policy = str("policy");
  if (file.empty() || policy.empty() || !c.contains("seed") || !c["seed"].is_number_unsigned() ||
      !c.contains("duration_ns") || !c["duration_ns"].is_number_integer() || !c.contains("sets") || !c["sets"].is_array())
    return bad("its configuration lacks file, policy, seed, duration_ns or sets");
  if (file == "<stdin>")
    return fail(fmt::format("xnusim: error: report: {}: the scenario was read from standard input and cannot be read "
                            "again; run `xnusim run FILE --html OUT` on the scenario file instead",
                            a.results));
  std::vector<std::string> sets;
  for (const nlohmann::json& s : c["sets"]) {
    if (!s.is_string()) return bad("configuration.sets holds a value that is not a string");
    sets.push_back(s.get<std::string>());
  }

  // The scenario file: as named (relative to here), else beside the results file.
  std::filesystem::path path = file;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && path.is_relative()) {
    std::filesystem::path beside = std::filesystem::path(a.results).parent_path() / path;
    if (std::filesystem::exists(beside, ec)) path = beside;
  }
  std::string text;
  {
    std::ifstream sf(path, std::ios::binary);
    if (!sf)
      return fail(fmt::format("xnusim: error: report: the scenario file {} named in {} is missing; run the report "
                              "from the directory the run was made in, or re-run `xnusim run` with --html",
                              file, a.results));
    std::stringstream sb;
    sb << sf.rdbuf();
    text = sb.str();
  }
  std::string now = sha256_hex(text);
  if (!digest.empty() && now != digest)
    return fail(fmt::format("xnusim: error: report: the scenario file {} has changed since {} was made (sha256 {} "
                            "recorded, {} now); re-run `xnusim run {} --html FILE` to report on it as it is",
                            path.string(), a.results, digest, now, file));

  std::vector<Override> edits;
  for (const std::string& s : sets) {
    std::optional<Override> o = parse_override(s, "--set", error);
    if (!o)
      return fail(fmt::format("xnusim: error: report: {}: configuration.sets: \"{}\": {}", a.results, s,
                              strip_prefix(error)));
    edits.push_back(std::move(*o));
  }
  ScenarioInput loaded = load_scenario_input_text(text, file, edits);
  if (!loaded.scenario) {
    eprint("{}", loaded.diagnostics.format());
    return kExitBadInput;
  }
  const scenario::Scenario& s = *loaded.scenario;
  if (std::string e = run::check_policy_name(s, policy); !e.empty())
    return fail(fmt::format("xnusim: error: report: {}: configuration.policy: {}", a.results, strip_prefix(e)));
  if (std::string e = run::check_supported(s); !e.empty()) {
    eprint("{}", e);
    return kExitBadInput;
  }
  run::Options options;
  options.policy = policy;
  options.seed = c["seed"].get<uint64_t>();
  int64_t duration_ns = c["duration_ns"].get<int64_t>();
  if (duration_ns <= 0) return bad("configuration.duration_ns is not positive");
  options.duration = core::Duration{duration_ns};
  options.scenario_sha256 = loaded.sha256;
  options.sets = loaded.sets;

  if (std::string e = check_window(window, duration_ns); !e.empty()) return fail(e);
  OutputFile html;
  install_signal_handlers();
  if (std::string e = html.open(a.html_path); !e.empty()) return fail(e);
  std::unique_ptr<run::Simulation> sim;
  std::unique_ptr<reports::Timeline> timeline;
  std::optional<run::Results> ran;
  try {
    reports::TimeWindow shown = choose_window(s, options, window);
    sim = std::make_unique<run::Simulation>(s, options);
    timeline = make_timeline(*sim, s, shown);
    sim->add_sink(timeline.get());
    ran.emplace(sim->run());
  } catch (const core::TimeOverflow& e) {
    return fail(fmt::format("{}: error: {}", file, e.what()));
  }
  run::Results& r = *ran;
  r.configuration.file = file;
  // The same configuration gives the same results; a difference means another xnusim made them.
  nlohmann::json again = nlohmann::json::parse(reports::results_to_json_text(r), nullptr, false);
  if (again != doc)
    eprint("xnusim: note: report: the re-run's results differ from {} (made by another version of xnusim?); the "
           "report shows the re-run\n",
           a.results);
  reports::HtmlOptions ho;
  ho.title = s.name;
  ho.description = s.description;
  std::string edits_text;
  for (const std::string& e : sets) edits_text += " --set " + e;
  ho.command = fmt::format("xnusim report {} (the run of {} --policy {} --seed {} --duration {}{})", a.results, file,
                           r.policy, r.seed, core::format_duration(core::Duration{r.duration_ns}), edits_text);
  html.write(reports::render_html({reports::HtmlPanel{r.policy, &r, timeline.get()}}, ho));
  if (std::string e = html.finish(); !e.empty()) return fail(e);
  {
    SignalBlock block;
    if (std::string e = html.commit(); !e.empty()) return fail(e);
  }
  return kExitOk;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  auto a = std::make_shared<ReportArgs>();
  Command c;
  c.app = parent.add_subcommand("report",
                                "Write the HTML report of a finished run from its results JSON (the run is made "
                                "again from the configuration it records).");
  c.app->add_option("results", a->results, "Results JSON written by `xnusim run S.json --json FILE`")->required();
  c.app->add_option("--html", a->html_path, "Write the self-contained HTML report to FILE")->required();
  c.app->add_option("--window", a->window,
                    "The time the timeline shows, START..END (e.g. 4.2s..4.3s); default as for run --html");
  c.run = [a] { return report_command(*a); };
  return c;
}

}  // namespace sim::cli
