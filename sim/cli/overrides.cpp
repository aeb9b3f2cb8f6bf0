// `--set`: edits applied to the scenario's JSON, then validated as the file would be.
// The text is validated unedited first, only for what no edit can fix (syntax, duplicate keys,
// nesting): those diagnostics keep their line and column. The edits are applied to an
// nlohmann::ordered_json (member order as in the file, so diagnostics keep the file's order),
// which is re-serialised and validated; a diagnostic at or under an edited value names the edit.
#include "sim/cli/overrides.hpp"

#include <cstdio>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/cli/sha256.hpp"
#include "sim/scenario/load/readers.hpp"
#include "sim/scenario/loader.hpp"

namespace sim::cli {

namespace {

using Json = nlohmann::ordered_json;

std::string unescape_token(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~' && i + 1 < s.size() && (s[i + 1] == '0' || s[i + 1] == '1')) {
      out += s[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// A decimal array index without sign or leading zeros.
std::optional<size_t> array_index(const std::string& s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

std::string type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    default: return "a number";
  }
}

// The VALUE of an edit: JSON when it reads as JSON, else the text as a string. A number or
// true/false replacing a string stays the text as a string (`machine.xnu=792` gives "792").
// The same holds for a key that is new to the file when the format only has strings there
// (`machine.xnu=792` on a file without "xnu").
bool string_only_key(const std::string& key) {
  static const std::set<std::string> keys = {"xnu", "id", "task", "name", "description", "policy", "note"};
  return keys.count(key) > 0;
}

Json edit_value(const std::string& text, const Json* replaced, const std::string& key) {
  Json v = Json::parse(text, nullptr, false);
  if (v.is_discarded()) return Json(text);
  bool string_there = replaced->is_string() || (replaced->is_null() && string_only_key(key));
  if (string_there && (v.is_number() || v.is_boolean())) return Json(text);
  return v;
}

struct Failure {
  std::string pointer;  // where the walk stopped ("/" for the root)
  std::string message;
};

// Applies one edit to `root`; returns the JSON Pointer of the value set, or a failure.
// Missing object members on the way are created as objects (so `machine.cpus` works on a file
// without "machine"; a misspelt key is then reported by validation as an unknown key).
std::optional<Failure> apply_edit(Json& root, const Override& e, std::string& pointer) {
  bool is_pointer = !e.path.empty() && e.path[0] == '/';
  std::vector<std::string> segments = is_pointer ? split(e.path.substr(1), '/') : split(e.path, '.');
  if (!is_pointer)
    for (const std::string& s : segments)
      if (s.empty())
        return Failure{"/", fmt::format("the path \"{}\" has an empty segment (write a dotted path such as "
                                        "machine.cpus, or a JSON Pointer such as /machine/cpus)", e.path)};
  Json* cur = &root;
  pointer.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    std::string seg = is_pointer ? unescape_token(segments[i]) : segments[i];
    std::string here = pointer.empty() ? "/" : pointer;
    if (cur->is_array()) {
      std::optional<size_t> index = array_index(seg);
      if (!index && !is_pointer) {
        // A name selects the element whose "id" is that name.
        std::vector<std::string> ids;
        for (size_t k = 0; k < cur->size(); ++k) {
          const Json& el = (*cur)[k];
          if (el.is_object() && el.contains("id") && el["id"].is_string()) {
            if (el["id"].get<std::string>() == seg && !index) index = k;
            ids.push_back(el["id"].get<std::string>());
          }
        }
        if (!index)
          return Failure{here, fmt::format("no element has id \"{}\"{}", seg,
                                           ids.empty() ? std::string(" (the array has no ids)")
                                                       : fmt::format("; ids: {}", fmt::join(ids, ", ")))};
      }
      if (!index) return Failure{here, fmt::format("\"{}\" is not an array index", seg)};
      if (*index >= cur->size())
        return Failure{here, fmt::format("index {} is out of range (the array has {} element{})", *index,
                                         cur->size(), cur->size() == 1 ? "" : "s")};
      pointer = scenario::load::at(pointer, *index);
      cur = &(*cur)[*index];
    } else if (cur->is_object()) {
      pointer = scenario::load::at(pointer, seg);
      if (!cur->contains(seg) && i + 1 < segments.size()) {
        // An index or an id needs an array that is there; anything else may be created.
        if (array_index(segments[i + 1]) || segments[i + 1] == "-")
          return Failure{pointer, "does not exist, so it has no element to set"};
        (*cur)[seg] = Json::object();
      }
      cur = &(*cur)[seg];
    } else {
      return Failure{here, fmt::format("is {}, so there is nothing inside it to set", type_name(*cur))};
    }
  }
  if (pointer.empty()) return Failure{"/", "cannot replace the whole scenario; name a value inside it"};
  *cur = edit_value(e.value, cur, is_pointer ? unescape_token(segments.back()) : segments.back());
  return std::nullopt;
}

// True when one pointer is the other or lies under it ("/a/b" and "/a/b/c"), the root excepted.
bool related(const std::string& a, const std::string& b) {
  if (a == "/" || b == "/") return false;
  const std::string& shorter = a.size() <= b.size() ? a : b;
  const std::string& longer = a.size() <= b.size() ? b : a;
  return longer.compare(0, shorter.size(), shorter) == 0 &&
         (longer.size() == shorter.size() || longer[shorter.size()] == '/');
}

// Parses `text` with nlohmann (member order kept); nullopt when it is not JSON or has a
// duplicate key (the unedited load reports both with their positions).
std::optional<Json> parse_plain(const std::string& text) {
  std::vector<std::optional<std::set<std::string>>> open;  // per open container: keys, for objects
  bool duplicate = false;
  Json::parser_callback_t cb = [&](int, Json::parse_event_t ev, Json& parsed) {
    switch (ev) {
      case Json::parse_event_t::object_start: open.emplace_back(std::set<std::string>{}); break;
      case Json::parse_event_t::array_start: open.emplace_back(std::nullopt); break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open.empty() && open.back() && !open.back()->insert(parsed.get<std::string>()).second)
          duplicate = true;
        break;
      default: break;
    }
    return true;
  };
  Json j = Json::parse(text, cb, false);
  if (j.is_discarded() || duplicate) return std::nullopt;
  return j;
}

void copy_diagnostic(core::Diagnostics& to, const core::Diagnostic& d, const std::string& prefix) {
  core::Diagnostic& c = d.pointer.empty() ? to.syntax(d.file, d.line, d.column, d.message)
                                          : to.error(d.file, prefix + d.pointer, d.message);
  c.notes = d.notes;
}

}  // namespace

std::optional<Override> parse_override(const std::string& arg, const std::string& option, std::string& error) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    error = fmt::format("xnusim: error: {} {}: expected PATH=VALUE, e.g. machine.cpus=4, "
                        "threads.audio.priority=63 or /locks/0/protocol=inherit",
                        option, arg);
    return std::nullopt;
  }
  Override o;
  o.text = arg;
  o.label = fmt::format("{} {}", option, arg);
  o.path = arg.substr(0, eq);
  o.value = arg.substr(eq + 1);
  return o;
}

std::optional<std::vector<Override>> parse_overrides(const std::vector<std::string>& sets,
                                                     const std::optional<std::string>& cpus, std::string& error) {
  std::vector<Override> out;
  if (cpus) {
    std::optional<size_t> n = array_index(*cpus);
    if (!n || *n == 0) {
      error = fmt::format("xnusim: error: --cpus: must be a positive integer (got \"{}\")", *cpus);
      return std::nullopt;
    }
    Override o;
    o.path = "machine.cpus";
    o.value = *cpus;
    o.text = "machine.cpus=" + *cpus;
    o.label = "--cpus " + *cpus;
    out.push_back(std::move(o));
  }
  for (const std::string& s : sets) {
    std::optional<Override> o = parse_override(s, "--set", error);
    if (!o) return std::nullopt;
    out.push_back(std::move(*o));
  }
  return out;
}

ScenarioInput load_scenario_input_text(const std::string& text, const std::string& file,
                                       const std::vector<Override>& edits) {
  ScenarioInput in;
  in.sha256 = sha256_hex(text);
  for (const Override& e : edits) in.sets.push_back(e.text);
  scenario::LoadResult plain = scenario::load_scenario_text(text, file);
  if (edits.empty()) {
    in.scenario = std::move(plain.scenario);
    in.diagnostics = std::move(plain.diagnostics);
    return in;
  }
  // What no edit can fix: the unedited file's syntax errors, with their positions.
  bool syntax = false;
  for (const core::Diagnostic& d : plain.diagnostics.items()) syntax = syntax || d.pointer.empty();
  std::optional<Json> root = syntax ? std::nullopt : parse_plain(text);
  if (!root) {
    in.diagnostics = std::move(plain.diagnostics);
    return in;
  }
  std::vector<std::string> pointers;
  for (const Override& e : edits) {
    std::string pointer;
    if (std::optional<Failure> f = apply_edit(*root, e, pointer))
      in.diagnostics.error(file, fmt::format("{}: {}", e.label, f->pointer), f->message);
    pointers.push_back(pointer);
  }
  if (in.diagnostics.has_errors()) return in;
  std::string edited = root->dump(-1, ' ', false, Json::error_handler_t::replace);
  scenario::LoadResult r = scenario::load_scenario_text(edited, file);
  for (const core::Diagnostic& d : r.diagnostics.items()) {
    // The last edit that touched this value is the one to blame.
    std::string prefix;
    for (size_t i = edits.size(); i-- > 0;)
      if (!d.pointer.empty() && related(d.pointer, pointers[i])) {
        prefix = edits[i].label + ": ";
        break;
      }
    copy_diagnostic(in.diagnostics, d, prefix);
  }
  // Keep the count of errors past the limit ("N more errors not shown").
  for (size_t i = r.diagnostics.items().size(); i < r.diagnostics.count(); ++i)
    in.diagnostics.error(file, "/", "");
  in.scenario = std::move(r.scenario);
  return in;
}

ScenarioInput load_scenario_input(const std::string& arg, const std::vector<Override>& edits) {
  std::string text;
  if (arg == "-") {
    char buf[65536];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
    return load_scenario_input_text(text, "<stdin>", edits);
  }
  ScenarioInput in;
  if (!scenario::read_scenario_file(arg, text, in.diagnostics)) {
    for (const Override& e : edits) in.sets.push_back(e.text);
    return in;
  }
  return load_scenario_input_text(text, arg, edits);
}

}  // namespace sim::cli
