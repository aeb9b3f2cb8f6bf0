// Generic value readers of the loader (Checker methods) and the text helpers they use.
#include "sim/scenario/load/readers.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "sim/core/time.hpp"
#include "sim/model/priorities.hpp"
#include "sim/scenario/load/checker.hpp"

namespace sim::scenario::load {

// A string as JSON would write it, cut after 40 characters so one bad value cannot flood a report.
std::string quote(std::string_view s) {
  constexpr size_t kMaxChars = 40;
  std::string out = "\"";
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    auto c = static_cast<unsigned char>(ch);
    bool starts_char = (c & 0xC0) != 0x80;  // not a UTF-8 continuation byte
    if (starts_char && chars == kMaxChars) {
      out += "...";
      break;
    }
    if (starts_char) ++chars;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[i + 1]));  // C1 control
          ++i;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// RFC 6901: "~" and "/" inside a reference token are written "~0" and "~1".
std::string at(const std::string& base, std::string_view key) {
  std::string out;
  out.reserve(base.size() + 1 + key.size());
  out += base;
  out += '/';
  if (key.find_first_of("~/") == std::string_view::npos) {
    out += key;  // the usual case: nothing to escape
    return out;
  }
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string at(const std::string& base, size_t index) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, index);
  std::string out;
  out.reserve(base.size() + 1 + static_cast<size_t>(end - digits));
  out += base;
  out += '/';
  out.append(digits, end);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// "\"a\", \"b\" or \"c\"", for messages listing the allowed spellings.
std::string one_of(const std::vector<std::string>& names, std::string_view last) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last : ", ";
    out += quote(names[i]);
  }
  return out;
}

// What a value is, for "(got ...)": the value itself for scalars, the kind for containers.
std::string got(const Json& v) {
  switch (v.type()) {
    case Json::Type::null: return "null";
    case Json::Type::boolean: return v.as_bool() ? "true" : "false";
    case Json::Type::integer:
    case Json::Type::unsigned_integer:
    case Json::Type::floating: return fmt::format("the number {}", v.dump());
    case Json::Type::string: return fmt::format("the string {}", quote(v.str()));
    case Json::Type::object: return "an object";
    case Json::Type::array: return "an array";
  }
  return "a value";
}

// A scalar as written in the file (strings quoted), for "(got -5)" after a type was accepted.
std::string written(const Json& v) {
  if (v.is_string()) return quote(v.str());
  if (v.is_primitive()) return v.dump();
  return got(v);
}

const Json* member(const Json& obj, std::string_view key) { return obj.find(key); }

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The candidate a misspelt word most likely meant: a different case, then an abbreviation
// ("prio" for "priority", which edit distance alone would take for "period"), then the closest
// by edit distance. "" when nothing is close.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string w = lower(word);
  for (const std::string& c : candidates)
    if (lower(c) == w) return c;
  if (w.size() >= 3) {
    std::string best;
    for (const std::string& c : candidates)
      if (lower(c).rfind(w, 0) == 0 && (best.empty() || c.size() < best.size())) best = c;
    if (!best.empty()) return best;
  }
  return core::closest_match(word, candidates);
}

// The first control character in UTF-8 text (C0, DEL or C1: U+0000-U+001F, U+007F-U+009F) as
// (code point, 1-based character position), or nullopt.
std::optional<std::pair<uint32_t, size_t>> control_character(std::string_view s) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    ++chars;
    if (c < 0x20 || c == 0x7f) return std::make_pair(uint32_t{c}, chars);
    // C1 controls are U+0080-U+009F: 0xC2 0x80-0x9F in UTF-8.
    if (c == 0xC2 && i + 1 < s.size()) {
      auto n = static_cast<unsigned char>(s[i + 1]);
      if (n >= 0x80 && n <= 0x9f) return std::make_pair(uint32_t{n}, chars);
    }
  }
  return std::nullopt;
}

void Checker::check_keys(const Json& obj, const std::string& ptr,
                         const std::vector<std::string>& known, std::string_view where) {
  for (const Json& m : obj)
    if (std::find(known.begin(), known.end(), m.key()) == known.end()) unknown_key(m, ptr, known, where);
}

void Checker::check_keys(const Json& obj, const std::string& ptr,
                         std::initializer_list<std::string_view> known, std::string_view where) {
  for (const Json& m : obj)
    if (std::find(known.begin(), known.end(), std::string_view(m.key())) == known.end())
      unknown_key(m, ptr, std::vector<std::string>(known.begin(), known.end()), where);
}

void Checker::unknown_key(const Json& m, const std::string& ptr, const std::vector<std::string>& known,
                          std::string_view where) {
  const std::string& k = m.key();
  Diagnostic& d = error(at(ptr, k), fmt::format("unknown key {}", quote(k)));
  std::string near = suggest(k, known);
  if (!near.empty())
    d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
  else if (known.empty())
    d.notes.push_back(fmt::format("{} takes no keys", where));
  else
    d.notes.push_back(fmt::format("valid keys {}: {}", where, join(known)));
}

const Json* Checker::require(const Json& obj, const std::string& ptr, std::string_view key) {
  const Json* v = member(obj, key);
  if (!v) error(ptr, fmt::format("missing required key {}", quote(key)));
  return v;
}

bool Checker::require_object(const Json& v, const std::string& ptr) {
  if (v.is_object()) return true;
  error(ptr, fmt::format("must be an object (got {})", got(v)));
  return false;
}

std::optional<std::string> Checker::read_string(const Json& v, const std::string& ptr) {
  if (v.is_string()) return v.str();
  error(ptr, fmt::format("must be a string (got {})", got(v)));
  return std::nullopt;
}

std::optional<std::string> Checker::read_nonempty(const Json& v, const std::string& ptr) {
  auto s = read_string(v, ptr);
  if (s && s->empty()) {
    error(ptr, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> Checker::read_text(const Json& v, const std::string& ptr,
                                              bool may_be_empty) {
  auto s = may_be_empty ? read_string(v, ptr) : read_nonempty(v, ptr);
  if (!s) return s;
  if (auto cc = control_character(*s)) {
    error(ptr, fmt::format("must not contain control characters (found \"\\u{:04x}\" at character {})",
                           cc->first, cc->second))
        .notes.push_back(
            "names, descriptions, notes, policy and calibration names are printed as they are in "
            "reports and traces; remove the character (a line break or tab too)");
    return std::nullopt;
  }
  return s;
}

// Ids and task names appear in reports and Perfetto traces, which split on these characters.
std::optional<std::string> Checker::read_name(const Json& v, const std::string& ptr,
                                              std::string_view what) {
  auto s = read_nonempty(v, ptr);
  if (!s) return s;
  if (!std::all_of(s->begin(), s->end(), is_id_char)) {
    error(ptr, fmt::format("{} is not a valid {}: use only letters, digits, '_' and '-' (reports "
                           "and traces split names at spaces, '=', '.' and '/')",
                           quote(*s), what));
    return std::nullopt;
  }
  return s;
}

std::optional<bool> Checker::read_bool(const Json& v, const std::string& ptr) {
  if (v.is_boolean()) return v.as_bool();
  error(ptr, fmt::format("must be true or false (got {})", got(v)));
  return std::nullopt;
}

std::optional<int64_t> Checker::read_int(const Json& v, const std::string& ptr, int64_t lo,
                                         int64_t hi, std::string_view range) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.as_uint();
    if (u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo)
      return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    int64_t i = v.as_int();
    if (i >= lo && i <= hi) return i;
  }
  error(ptr, fmt::format("must be {} (got {})", range, v.is_number() ? v.dump() : got(v)));
  return std::nullopt;
}

std::optional<int> Checker::read_priority(const Json& v, const std::string& ptr) {
  static const std::string kRange = fmt::format("a priority from {} to {}", model::MINPRI, model::MAXPRI);
  auto p = read_int(v, ptr, model::MINPRI, model::MAXPRI, kRange);
  if (!p) return std::nullopt;
  return static_cast<int>(*p);
}

std::optional<int> Checker::read_cpu(const Json& v, const std::string& ptr) {
  int64_t hi = cpus_known_ ? cpus_ - 1 : kMaxCpus - 1;
  std::string range =
      cpus_known_ ? fmt::format("a CPU index from 0 to {} on this {}-CPU machine", hi, cpus_)
                  : fmt::format("a CPU index from 0 to {}", hi);
  auto c = read_int(v, ptr, 0, hi, range);
  if (!c) return std::nullopt;
  return static_cast<int>(*c);
}

std::optional<Duration> Checker::read_duration(const Json& v, const std::string& ptr, Sign sign) {
  if (!v.is_string()) {
    if (v.is_number())
      error(ptr, fmt::format("must be a duration string with a unit, such as \"{}ms\" (got {})",
                             v.dump(), got(v)));
    else
      error(ptr, fmt::format("must be a duration string such as \"10ms\" (got {})", got(v)));
    return std::nullopt;
  }
  const std::string& text = v.str();
  core::ParsedDuration p = core::parse_duration(text);
  if (!p.value) {
    Diagnostic& d =
        !p.error.empty() && p.error.front() == '"'
            ? error(ptr, p.error)
            : error(ptr, fmt::format("{} is not a valid duration: {}", quote(text), p.error));
    std::string packed = text;
    packed.erase(std::remove(packed.begin(), packed.end(), ' '), packed.end());
    if (packed != text && core::parse_duration(packed).value)
      d.notes.push_back(fmt::format("write it without spaces: {}", quote(packed)));
    return std::nullopt;
  }
  if (sign == Sign::positive && p.value->ns <= 0) {
    error(ptr, fmt::format("must be a positive duration (got {})", quote(text)));
    return std::nullopt;
  }
  if (sign == Sign::non_negative && p.value->ns < 0) {
    error(ptr, fmt::format("must be a non-negative duration (got {})", quote(text)));
    return std::nullopt;
  }
  return p.value;
}

// A positive duration, or a random one: {"uniform": [lo, hi]}, {"exponential": mean},
// {"normal": {"mean", "stddev"}}.
std::optional<DurationSpec> Checker::read_duration_spec(const Json& v, const std::string& ptr) {
  DurationSpec spec;
  if (v.is_string()) {
    auto d = read_duration(v, ptr, Sign::positive);
    if (!d) return std::nullopt;
    spec.a = *d;
    return spec;
  }
  if (v.is_number()) {
    error(ptr, fmt::format("must be a duration string with a unit, such as \"{}ms\", or a random "
                           "duration (got {})",
                           v.dump(), got(v)));
    return std::nullopt;
  }
  if (!v.is_object()) {
    error(ptr, fmt::format("must be a duration such as \"1ms\" or a random duration such as "
                           "{{\"uniform\": [\"1ms\", \"2ms\"]}} (got {})",
                           got(v)));
    return std::nullopt;
  }
  static const std::vector<std::string> kinds = {"uniform", "exponential", "normal"};
  check_keys(v, ptr, kinds, "in a random duration");
  std::vector<std::string> present;
  for (const std::string& k : kinds)
    if (v.contains(k)) present.push_back(k);
  if (present.size() != 1) {
    if (present.empty() && v.empty())
      error(ptr, "a random duration needs one of \"uniform\", \"exponential\" or \"normal\"");
    else if (present.size() > 1)
      error(ptr, fmt::format("give only one of \"uniform\", \"exponential\" or \"normal\" (got {})",
                             one_of(present, " and ")));
    return std::nullopt;
  }
  const std::string& kind = present.front();
  std::string p = at(ptr, kind);
  const Json& body = *v.find(kind);
  if (kind == "uniform") {
    spec.kind = DurationSpec::Kind::uniform;
    if (!body.is_array() || body.size() != 2) {
      error(p, fmt::format("must be an array of two durations [low, high] (got {})",
                           body.is_array() ? fmt::format("{} element{}", body.size(),
                                                         body.size() == 1 ? "" : "s")
                                           : got(body)));
      return std::nullopt;
    }
    auto lo = read_duration(body[0], at(p, 0), Sign::positive);
    auto hi = read_duration(body[1], at(p, 1), Sign::positive);
    if (!lo || !hi) return std::nullopt;
    if (*lo > *hi) {
      error(p, fmt::format("the low bound {} is above the high bound {}", written(body[0]),
                           written(body[1])));
      return std::nullopt;
    }
    spec.a = *lo;
    spec.b = *hi;
  } else if (kind == "exponential") {
    spec.kind = DurationSpec::Kind::exponential;
    auto mean = read_duration(body, p, Sign::positive);
    if (!mean) return std::nullopt;
    spec.a = *mean;
  } else {
    spec.kind = DurationSpec::Kind::normal;
    if (!require_object(body, p)) return std::nullopt;
    check_keys(body, p, {"mean", "stddev"}, "in \"normal\"");
    const Json* mean = require(body, p, "mean");
    const Json* sd = require(body, p, "stddev");
    std::optional<Duration> m, s;
    if (mean) m = read_duration(*mean, at(p, "mean"), Sign::positive);
    if (sd) s = read_duration(*sd, at(p, "stddev"), Sign::non_negative);
    if (!m || !s) return std::nullopt;
    spec.a = *m;
    spec.b = *s;
  }
  return spec;
}

std::optional<int32_t> Checker::resolve(const Json& v, const std::string& ptr, const Ids& ids) {
  auto name = read_string(v, ptr);
  if (!name) return std::nullopt;
  return resolve_name(*name, ptr, ids);
}

std::optional<int32_t> Checker::resolve_name(const std::string& name_text, const std::string& ptr,
                                             const Ids& ids) {
  const std::string* name = &name_text;
  int32_t i = ids.find(*name);
  if (i >= 0) return i;
  if (ids.incomplete) return std::nullopt;  // the entry it names may be the broken one
  Diagnostic& d = error(ptr, fmt::format("undeclared {} {}", ids.kind, quote(*name)));
  // Past the report's limit the error is only counted: skip the costly notes.
  if (!shown()) return std::nullopt;
  const std::vector<std::string>& declared = ids.declared();
  std::string near = suggest(*name, declared);
  if (!near.empty()) d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
  d.notes.push_back(declared.empty() ? fmt::format("{} {} is not declared; none are declared",
                                                   ids.kind, quote(*name))
                                     : fmt::format("{} {} is not declared; declared: {}", ids.kind,
                                                   quote(*name), join(declared)));
  return std::nullopt;
}

}  // namespace sim::scenario::load
