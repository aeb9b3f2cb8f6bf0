// Scenario loader: JSON text -> validated plain structs (format v1), or diagnostics that point at
// the offending line:column (syntax) or JSON Pointer (everything else), with did-you-mean notes.
#include "sim/scenario/loader.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/model/op_table.hpp"
#include "sim/model/priorities.hpp"
#include "sim/scenario/load/document.hpp"
#include "sim/scenario/metric_catalog.hpp"

namespace sim::scenario {
namespace {

// Members are kept in file order, so unknown keys are reported in the order written.
using Json = load::Value;
using NJson = nlohmann::json;
using core::Diagnostic;
using core::Diagnostics;
using model::FunnelName;
using model::LockMode;
using model::OpKind;
using model::RealtimeParams;
using model::ThreadMode;

constexpr int kMaxCpus = 256;
// Both limits only guard the loader against absurd input; no real scenario comes near them.
constexpr size_t kMaxJsonDepth = 256;
constexpr int kMaxLoopDepth = 32;
// The most op executions a finite loop may imply at one simulated instant (nested loops
// multiply): when no op of its body takes time or may block, every iteration can run at the same
// instant, and a thread spinning there would stop the whole simulation. 100,000 is far above any
// burst of signals or priority changes a scenario needs at one instant, and still only a few
// milliseconds of simulator time.
constexpr uint64_t kMaxZeroTimeOps = 100'000;
// xnu-792 thread_policy.c: THREAD_TIME_CONSTRAINT_POLICY admission (xnu-facts 4.1).
constexpr Duration kMinRtQuantum = Duration::microseconds(50);
constexpr Duration kMaxRtQuantum = Duration::milliseconds(50);
constexpr std::string_view kRtRejected = "thread_policy_set would return KERN_INVALID_ARGUMENT (4)";

// ---------------------------------------------------------------------------------------------
// Text helpers

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
  std::string out = base;
  out += '/';
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

std::string at(const std::string& base, size_t index) { return fmt::format("{}/{}", base, index); }

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// "\"a\", \"b\" or \"c\"", for messages listing the allowed spellings.
std::string one_of(const std::vector<std::string>& names, std::string_view last = " or ") {
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

const Json* member(const Json& obj, const std::string& key) { return obj.find(key); }

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

// ---------------------------------------------------------------------------------------------
// Syntax: nlohmann's SAX parser feeding our own document builder

// Builds the document from SAX events rather than with json::parse, because the DOM parser
// silently keeps the last of two equal keys, and the builder's state makes syntax messages
// precise ("expected ':' after the key \"cpus\"").
class DocumentBuilder {
 public:
  struct Failure {
    size_t byte = 0;    // characters read when the parser gave up
    std::string token;  // nlohmann's token string (control characters as <U+XXXX>)
    std::string what;   // nlohmann's message
    int id = 0;         // nlohmann's exception id (101 syntax, 406 number overflow)
  };

  DocumentBuilder(load::Document& doc, const std::string& file, Diagnostics& diag)
      : doc_(doc), file_(file), diag_(diag) {}

  bool null() { return scalar([&](uint32_t k) { doc_.add_null(k); }); }
  bool boolean(bool b) { return scalar([&](uint32_t k) { doc_.add_bool(k, b); }); }
  bool number_integer(NJson::number_integer_t v) {
    return scalar([&](uint32_t k) { doc_.add_int(k, v); });
  }
  bool number_unsigned(NJson::number_unsigned_t v) {
    return scalar([&](uint32_t k) { doc_.add_uint(k, v); });
  }
  bool number_float(NJson::number_float_t v, const std::string&) {
    return scalar([&](uint32_t k) { doc_.add_double(k, v); });
  }
  bool string(std::string& s) {
    return scalar([&](uint32_t k) { doc_.add_string(k, std::move(s)); });
  }
  bool binary(NJson::binary_t&) { return true; }  // never produced by the JSON reader
  bool start_object(size_t) { return open(true); }
  bool end_object() { return close(); }
  bool start_array(size_t) { return open(false); }
  bool end_array() { return close(); }

  bool key(std::string& k) {
    if (skip_depth_ > 0) return true;
    Frame& f = frames_.back();
    uint32_t id = doc_.intern(k);
    if (f.seen(doc_, id)) {
      // The later value is read and dropped, so that the rest of the file is still checked.
      diag_.error(
          file_, at(container_pointer(), k),
          fmt::format("duplicate key {}; a key may appear only once in an object", quote(k)));
      skip_next_ = true;
    }
    f.key = id;
    f.token = k;
    return true;
  }

  bool parse_error(size_t byte, const std::string& token, const NJson::exception& ex) {
    failure = Failure{byte, token, ex.what(), ex.id};
    return false;
  }

  // After a failure: whether the parser was inside an object (the innermost container), and
  // the key it last read there.
  bool in_object() const { return !frames_.empty() && frames_.back().object; }
  const std::string& last_key() const { return frames_.back().token; }

  std::optional<Failure> failure;
  bool too_deep = false;

 private:
  struct Frame {
    uint32_t index;        // the open container's node
    size_t first_pending;  // where its children start on the document's pending stack
    bool object;
    uint32_t key = load::Value::kNoKeyId;  // key of the member being read
    size_t count = 0;                      // children added so far
    std::string token;     // pointer token of the child being read: its key or index
    std::unordered_set<uint32_t> keys;  // an object's keys, once it has more than a few

    // Whether an object already has `id`; records it otherwise. Small objects are scanned, so
    // only large ones pay for a set: linear either way.
    bool seen(const load::Document& doc, uint32_t id) {
      constexpr size_t kScan = 8;
      size_t n = doc.pending_size() - first_pending;
      if (n < kScan) {
        for (size_t i = first_pending; i < doc.pending_size(); ++i)
          if (doc.key_of_pending(i) == id) return true;
        return false;
      }
      if (keys.empty())
        for (size_t i = first_pending; i < doc.pending_size(); ++i) keys.insert(doc.key_of_pending(i));
      return !keys.insert(id).second;
    }
  };

  // The JSON Pointer of the innermost open container.
  std::string container_pointer() const {
    std::string p;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) p = at(p, frames_[i].token);
    return p;
  }

  // The key (objects) for the value about to be added, after setting the array index token.
  uint32_t next_key() {
    if (frames_.empty()) return load::Value::kNoKeyId;
    Frame& f = frames_.back();
    if (!f.object) {
      f.token = std::to_string(f.count);
      ++f.count;
      return load::Value::kNoKeyId;
    }
    return f.key;
  }

  template <typename Add>
  bool scalar(Add add) {
    if (skip_depth_ > 0) return true;
    if (skip_next_) {
      skip_next_ = false;
      return true;
    }
    bool root = frames_.empty();
    add(next_key());
    if (root) doc_.set_root(static_cast<uint32_t>(doc_.value_count() - 1));
    return true;
  }

  bool open(bool object) {
    if (skip_depth_ > 0 || skip_next_) {
      skip_next_ = false;
      ++skip_depth_;
      return true;
    }
    if (frames_.size() >= kMaxJsonDepth) {
      diag_.error(file_, container_pointer(),
                  fmt::format("values are nested more than {} levels deep", kMaxJsonDepth));
      too_deep = true;
      return false;
    }
    uint32_t key = next_key();
    uint32_t index = doc_.open(key, object);
    if (frames_.empty()) doc_.set_root(index);
    frames_.push_back(Frame{index, doc_.pending_size(), object, load::Value::kNoKeyId, 0, "", {}});
    return true;
  }

  bool close() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    doc_.close(frames_.back().index, frames_.back().first_pending);
    frames_.pop_back();
    return true;
  }

  load::Document& doc_;
  const std::string& file_;
  Diagnostics& diag_;
  std::vector<Frame> frames_;
  bool skip_next_ = false;  // the value after a duplicate key is dropped
  int skip_depth_ = 0;      // open containers inside a dropped value
};

struct LineColumn {
  int line = 1;
  int column = 1;
};

// 1-based line and column of a byte offset; columns count characters, not UTF-8 bytes.
LineColumn line_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  LineColumn lc;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      line_start = i + 1;
    }
  }
  for (size_t i = line_start; i < offset; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++lc.column;
  return lc;
}

// Length in the file of nlohmann's token string, where each control character is shown as
// "<U+XXXX>".
size_t raw_length(std::string_view token) {
  size_t n = 0;
  for (size_t i = 0; i < token.size(); ++n) {
    if (token.substr(i, 3) == "<U+" && i + 8 <= token.size() && token[i + 7] == '>')
      i += 8;
    else
      ++i;
  }
  return n;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The pieces of nlohmann's message "syntax error while parsing CONTEXT - unexpected TOKEN;
// expected TOKEN" or "... - LEXER ERROR; last read: 'TOKEN'; expected TOKEN".
struct ParserMessage {
  std::string context;
  std::string unexpected;  // token type name, empty for a lexer error
  std::string lexer_error;
  std::string expected;
};

ParserMessage split_parser_message(const std::string& what, const std::string& token) {
  ParserMessage m;
  constexpr std::string_view kWhile = "while parsing ";
  size_t w = what.find(kWhile);
  size_t dash = what.find(" - ", w == std::string::npos ? 0 : w);
  if (w != std::string::npos && dash != std::string::npos)
    m.context = what.substr(w + kWhile.size(), dash - w - kWhile.size());
  if (dash == std::string::npos) return m;
  std::string rest = what.substr(dash + 3);
  constexpr std::string_view kUnexpected = "unexpected ";
  constexpr std::string_view kExpected = "; expected ";
  if (rest.rfind(kUnexpected, 0) == 0) {
    size_t e = rest.find(kExpected);
    m.unexpected = rest.substr(kUnexpected.size(),
                               e == std::string::npos ? std::string::npos : e - kUnexpected.size());
    if (e != std::string::npos) m.expected = rest.substr(e + kExpected.size());
    return m;
  }
  std::string last_read = "; last read: '" + token + "'";
  size_t lr = rest.find(last_read);
  m.lexer_error = rest.substr(0, lr);
  if (lr != std::string::npos) {
    std::string after = rest.substr(lr + last_read.size());
    if (after.rfind(kExpected, 0) == 0) m.expected = after.substr(kExpected.size());
  }
  return m;
}

// The word starting at `offset`, up to the next space or JSON punctuation, for "(got nope)".
std::string word_at(std::string_view text, size_t offset) {
  size_t end = offset;
  while (end < text.size() && end - offset < 24 && !is_space(text[end]) &&
         std::string_view(",:[]{}\"").find(text[end]) == std::string_view::npos)
    ++end;
  if (end == offset && offset < text.size()) ++end;
  // Stray bytes outside strings are shown escaped, so a message stays printable text.
  std::string w;
  for (char ch : text.substr(offset, end - offset)) {
    auto c = static_cast<unsigned char>(ch);
    w += c < 0x20 || c >= 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, ch);
  }
  if (end < text.size() && end - offset >= 24) w += "...";
  return w;
}

// Turns nlohmann's failure into one diagnostic that points at the start of the offending token
// and says what was expected there in plain words.
void report_syntax_error(std::string_view text, const std::string& file,
                         const DocumentBuilder& builder, Diagnostics& diag) {
  const DocumentBuilder::Failure& f = *builder.failure;
  size_t read_end = std::min(f.byte, text.size());  // one past the last character read
  auto emit = [&](size_t offset, const std::string& message) -> Diagnostic& {
    LineColumn lc = line_column(text, offset);
    return diag.syntax(file, lc.line, lc.column, message);
  };
  // Offset of the last non-space character before `offset`, or npos.
  auto previous = [&](size_t offset) {
    while (offset > 0) {
      --offset;
      if (!is_space(text[offset])) return offset;
    }
    return std::string_view::npos;
  };
  auto end_of_content = [&]() {
    size_t p = previous(text.size());
    return p == std::string_view::npos ? 0 : p + 1;
  };
  auto token_start = [&]() { return read_end - std::min(read_end, raw_length(f.token)); };

  if (f.id == 406) {
    size_t start = token_start();
    emit(start, fmt::format("number {} is too large", word_at(text, start)));
    return;
  }

  ParserMessage m = split_parser_message(f.what, f.token);
  size_t offset = read_end;
  std::string got_text;  // what was found, for "(got ...)"
  std::vector<std::string> notes;
  bool at_eof = false;
  bool is_value_token = false;  // a string, number, literal, '{' or '[': a new value began

  if (!m.lexer_error.empty()) {
    const std::string& e = m.lexer_error;
    if (e.rfind("invalid string", 0) == 0 || e.rfind("invalid number", 0) == 0) {
      size_t start = token_start();
      std::string msg;
      if (e.find("missing closing quote") != std::string::npos)
        msg = "unterminated string: the file ends before the closing '\"'";
      else if (e.find("U+000A (LF)") != std::string::npos ||
               e.find("U+000D (CR)") != std::string::npos)
        msg =
            "unterminated string: the line ends before the closing '\"' (a line break inside a "
            "string is written \\n)";
      else if (e.rfind("invalid number; ", 0) == 0)
        msg = fmt::format("invalid number: {}", e.substr(16));
      else
        msg = e;  // e.g. "invalid string: ill-formed UTF-8 byte"
      emit(start, msg);
      return;
    }
    if (e.rfind("invalid BOM", 0) == 0) {
      emit(0, "the file starts with an invalid byte order mark");
      return;
    }
    // "invalid literal": an unquoted word, a comment or single quotes. The lexer stops at the
    // first wrong character; the word began at the letters before it.
    offset = read_end == 0 ? 0 : read_end - 1;
    auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    while (offset > 0 && offset < text.size() && is_letter(text[offset - 1]) &&
           is_letter(text[offset]))
      --offset;
    if (offset < text.size() && text[offset] == '/') {
      emit(offset,
           "comments are not allowed in JSON; put text in \"description\" or an op's \"note\"");
      return;
    }
    if (offset < text.size() && text[offset] == '\'') {
      emit(offset, "strings and keys must be in double quotes, not single quotes");
      return;
    }
    got_text = word_at(text, offset);
    std::string l = lower(got_text);
    if ((l == "true" || l == "false" || l == "null") && l != got_text)
      notes.push_back("JSON literals are written in lower case: true, false, null");
    is_value_token = true;
  } else if (m.unexpected == "end of input") {
    at_eof = true;
    offset = end_of_content();
  } else if (m.unexpected == "string literal" || m.unexpected == "number literal") {
    offset = token_start();
    if (m.unexpected == "string literal") {
      // The lexer accepted the string, so it is valid UTF-8; cut it at a character boundary.
      size_t len = read_end - offset;
      size_t cut = std::min<size_t>(len, 40);
      while (cut < len && (static_cast<unsigned char>(text[offset + cut]) & 0xC0) == 0x80) --cut;
      got_text = std::string(text.substr(offset, cut));
      if (cut < len) got_text += "...";
    } else {
      got_text = word_at(text, offset);
    }
    is_value_token = true;
  } else if (m.unexpected.find(" literal") != std::string::npos) {  // true, false, null
    got_text = m.unexpected.substr(0, m.unexpected.find(' '));
    offset = read_end - std::min(read_end, got_text.size());
    is_value_token = true;
  } else {  // a structural character, named like "'}'"
    offset = read_end == 0 ? 0 : read_end - 1;
    got_text = m.unexpected;
    is_value_token = got_text == "'{'" || got_text == "'['";
  }

  size_t prev = previous(offset);
  bool after_comma = prev != std::string_view::npos && text[prev] == ',';
  auto got_or_eof = [&](const std::string& expected) {
    return at_eof ? fmt::format("{}, but the file ended", expected)
                  : fmt::format("{} (got {})", expected, got_text);
  };

  std::string msg;
  if (m.expected == "end of input") {
    msg = fmt::format(
        "extra text after the end of the top-level value (got {}); a scenario is "
        "one JSON object",
        got_text);
  } else if (m.context == "object key") {
    if (got_text == "'}'" && after_comma) {
      emit(prev, "trailing comma before '}' (JSON does not allow one)");
      return;
    }
    msg = got_or_eof("expected a key in double quotes");
  } else if (m.context == "object separator") {
    msg = got_or_eof(fmt::format("expected ':' after the key {}",
                                 builder.in_object() ? quote(builder.last_key()) : "\"\""));
  } else if (m.context == "object") {
    msg = got_or_eof("expected ',' or '}' after an object member");
    if (is_value_token) notes.push_back("is a ',' missing before it?");
  } else if (m.context == "array") {
    msg = got_or_eof("expected ',' or ']' after an array element");
    if (is_value_token) notes.push_back("is a ',' missing before it?");
  } else {  // "value"
    if (at_eof && end_of_content() == 0) {
      msg =
          "the file is empty; a scenario is a JSON object such as "
          "{\"format\": \"xnusim-scenario\", \"version\": 1, ...}";
    } else if ((got_text == "']'" || got_text == "'}'") && after_comma) {
      emit(prev, fmt::format("trailing comma before {} (JSON does not allow one)", got_text));
      return;
    } else {
      msg = got_or_eof("expected a value");
    }
  }
  Diagnostic& d = emit(offset, msg);
  d.notes = std::move(notes);
}

// ---------------------------------------------------------------------------------------------
// Semantics

// The ids declared in one section, by position (an entry without a valid id has "").
struct Ids {
  explicit Ids(std::string k) : kind(std::move(k)) {}
  std::string kind;  // "lock", "work loop", ... for messages
  std::vector<std::string> names;
  std::vector<std::string> pointers;
  // An entry could not be read (no id, not an object, section not an array): references that do
  // not resolve are then not reported, since they may name that entry.
  bool incomplete = false;

  // Adds an entry whose id is not known yet (or never will be).
  void add(std::string pointer) {
    names.emplace_back();
    pointers.push_back(std::move(pointer));
  }
  // Names the last entry added.
  void name_last(const std::string& name) {
    names.back() = name;
    index.emplace(name, static_cast<int32_t>(names.size() - 1));
    sorted.reset();
  }
  int32_t find(const std::string& name) const {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  }
  // The declared names, sorted (computed once, for messages).
  const std::vector<std::string>& declared() const {
    if (!sorted) {
      sorted.emplace();
      for (const std::string& n : names)
        if (!n.empty()) sorted->push_back(n);
      std::sort(sorted->begin(), sorted->end());
    }
    return *sorted;
  }

 private:
  std::unordered_map<std::string, int32_t> index;  // lookups only; never iterated
  mutable std::optional<std::vector<std::string>> sorted;
};

enum class Sign : uint8_t { non_negative, positive };

// Totals from reading a list of ops, for the checks that look at a whole loop body.
struct OpsSummary {
  bool takes_time = false;  // some op computes or blocks, so simulated time passes
  bool complete = true;     // every op was read without error
  // Op executions the list implies when none takes time (loops multiplied, saturating).
  uint64_t executions = 0;
  bool spin_reported = false;  // a loop inside was refused for spinning at one instant
};

uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}

struct ThreadScope {
  bool has_period = false;
};

template <typename T>
using Choices = std::initializer_list<std::pair<std::string_view, T>>;

class Checker {
 public:
  Checker(const std::string& file, Diagnostics& diag) : file_(file), diag_(diag) {}

  Scenario run(const Json& root);

 private:
  Diagnostic& error(const std::string& pointer, std::string message) {
    return diag_.error(file_, pointer, std::move(message));
  }

  // --- generic readers: each reports what is wrong and returns nullopt on error
  void check_keys(const Json& obj, const std::string& ptr, const std::vector<std::string>& known,
                  std::string_view where);
  const Json* require(const Json& obj, const std::string& ptr, const std::string& key);
  bool require_object(const Json& v, const std::string& ptr);
  std::optional<std::string> read_string(const Json& v, const std::string& ptr);
  std::optional<std::string> read_nonempty(const Json& v, const std::string& ptr);
  // A display string (scenario name, description, note, policy, calibration): no control
  // characters, since reports and traces print it as it is.
  std::optional<std::string> read_text(const Json& v, const std::string& ptr, bool may_be_empty);
  std::optional<std::string> read_name(const Json& v, const std::string& ptr,
                                       std::string_view what);
  std::optional<bool> read_bool(const Json& v, const std::string& ptr);
  std::optional<int64_t> read_int(const Json& v, const std::string& ptr, int64_t lo, int64_t hi,
                                  std::string_view range);
  std::optional<int> read_priority(const Json& v, const std::string& ptr);
  std::optional<int> read_cpu(const Json& v, const std::string& ptr);
  std::optional<Duration> read_duration(const Json& v, const std::string& ptr, Sign sign);
  std::optional<DurationSpec> read_duration_spec(const Json& v, const std::string& ptr);
  template <typename T>
  std::optional<T> read_enum(const Json& v, const std::string& ptr, Choices<T> choices);
  std::optional<int32_t> resolve(const Json& v, const std::string& ptr, const Ids& ids);
  std::optional<int32_t> resolve_name(const std::string& name, const std::string& ptr,
                                      const Ids& ids);
  // Whether the last error is kept in the report (past the limit errors are only counted).
  bool shown() const { return diag_.count() <= core::Diagnostics::kLimit; }
  bool implicit_target(ExpectTarget target, const std::string& name) const;

  // Optional key helpers: leave `out` untouched when the key is absent or wrong.
  template <typename T, typename Read>
  void optional_key(const Json& obj, const std::string& ptr, const std::string& key, T& out,
                    Read read) {
    if (const Json* v = member(obj, key))
      if (auto r = read(*v, at(ptr, key))) out = *r;
  }

  // --- sections
  bool header(const Json& root);
  void machine(const Json& m, const std::string& ptr);
  const Json* declare(const Json& root, const std::string& key, Ids& ids);
  void lock(const Json& e, const std::string& ptr, size_t i);
  void workloop(const Json& e, const std::string& ptr, size_t i);
  void timer(const Json& e, const std::string& ptr, size_t i);
  void device(const Json& e, const std::string& ptr, size_t i);
  void check_device_graph();
  void interrupt(const Json& e, const std::string& ptr, size_t i);
  bool arrival(const Json& a, const std::string& ptr, ArrivalSpec& out);
  void thread(const Json& e, const std::string& ptr, size_t i);
  std::optional<RealtimeParams> realtime(const Json& v, const std::string& ptr, bool admission);
  std::vector<Op> ops(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
                      OpsSummary& sum);
  Op op(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
        OpsSummary& sum);

  // What an op reader gets: the op's object and pointer, the op being filled, and the context.
  struct OpArgs {
    const Json& v;
    const std::string& ptr;
    Op& out;
    const ThreadScope& scope;
    int depth;
    OpsSummary& sum;
  };
 public:
  using OpReader = void (Checker::*)(const OpArgs&);
  // The reader of each op, by OpKind; internal ops have none (they have no spelling). Every
  // public op having one is checked at compile time below.
  static constexpr std::array<OpReader, model::kOpCount> op_readers() {
    std::array<OpReader, model::kOpCount> r{};
    auto set = [&](OpKind k, OpReader f) { r[static_cast<size_t>(k)] = f; };
    set(OpKind::run, &Checker::read_run);
    set(OpKind::sleep, &Checker::read_run);
    set(OpKind::sleep_until_next_period, &Checker::read_sleep_until_next_period);
    set(OpKind::loop, &Checker::read_loop);
    set(OpKind::lock, &Checker::read_lock);
    set(OpKind::unlock, &Checker::read_lock);
    set(OpKind::wait, &Checker::read_wait);
    set(OpKind::signal, &Checker::read_signal);
    set(OpKind::funnel, &Checker::read_funnel);
    set(OpKind::yield, &Checker::read_yield);
    set(OpKind::swtch_pri, &Checker::read_nothing);
    set(OpKind::set_priority, &Checker::read_set_priority);
    set(OpKind::set_mode, &Checker::read_set_mode);
    set(OpKind::run_action, &Checker::read_run_action);
    set(OpKind::command_sleep, &Checker::read_command_sleep);
    set(OpKind::command_wakeup, &Checker::read_command_wakeup);
    set(OpKind::io, &Checker::read_io);
    set(OpKind::timer_arm, &Checker::read_timer_arm);
    set(OpKind::timer_cancel, &Checker::read_timer_cancel);
    set(OpKind::terminate, &Checker::read_terminate);
    return r;
  }

 private:
  void duration_spec_key(const OpArgs& a, const char* key);
  void fixed_duration_key(const OpArgs& a, const char* key);
  void ref_key(const OpArgs& a, const char* key, const Ids& ids, int32_t& index);
  void all_key(const OpArgs& a);
  void read_run(const OpArgs& a);
  void read_sleep_until_next_period(const OpArgs& a);
  void read_loop(const OpArgs& a);
  void read_lock(const OpArgs& a);
  void read_wait(const OpArgs& a);
  void read_signal(const OpArgs& a);
  void read_funnel(const OpArgs& a);
  void read_yield(const OpArgs& a);
  void read_nothing(const OpArgs& a);
  void read_set_priority(const OpArgs& a);
  void read_set_mode(const OpArgs& a);
  void read_run_action(const OpArgs& a);
  void read_command_sleep(const OpArgs& a);
  void read_command_wakeup(const OpArgs& a);
  void read_io(const OpArgs& a);
  void read_timer_arm(const OpArgs& a);
  void read_timer_cancel(const OpArgs& a);
  void read_terminate(const OpArgs& a);
  void expect(const Json& e, const std::string& ptr);

  const std::string& file_;
  Diagnostics& diag_;
  Scenario s_;
  int cpus_ = 1;
  bool cpus_known_ = true;  // false when machine.cpus was wrong: skip CPU index range checks
  Ids locks_{"lock"};
  Ids events_{"event"};
  Ids workloops_{"work loop"};
  Ids timers_{"timer"};
  Ids devices_{"device"};
  Ids interrupts_{"interrupt"};
  Ids threads_{"thread"};
  std::vector<std::optional<LockKind>> lock_kinds_;
  std::vector<Ids> sources_;            // per work loop
  std::vector<bool> device_ref_error_;  // provider or workloop did not resolve
};

constexpr std::array<Checker::OpReader, model::kOpCount> kOpReaders = Checker::op_readers();

constexpr bool every_public_op_has_a_reader() {
  for (const model::OpInfo& op : model::kOpTable)
    if (!op.internal && kOpReaders[static_cast<size_t>(op.kind)] == nullptr) return false;
  return true;
}
static_assert(every_public_op_has_a_reader(), "add the new op's reader to Checker::op_readers()");

void Checker::check_keys(const Json& obj, const std::string& ptr,
                         const std::vector<std::string>& known, std::string_view where) {
  for (const Json& m : obj) {
    const std::string& k = m.key();
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    Diagnostic& d = error(at(ptr, k), fmt::format("unknown key {}", quote(k)));
    std::string near = suggest(k, known);
    if (!near.empty())
      d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
    else if (known.empty())
      d.notes.push_back(fmt::format("{} takes no keys", where));
    else
      d.notes.push_back(fmt::format("valid keys {}: {}", where, join(known)));
  }
}

const Json* Checker::require(const Json& obj, const std::string& ptr, const std::string& key) {
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
  auto p = read_int(v, ptr, model::MINPRI, model::MAXPRI,
                    fmt::format("a priority from {} to {}", model::MINPRI, model::MAXPRI));
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

template <typename T>
std::optional<T> Checker::read_enum(const Json& v, const std::string& ptr, Choices<T> choices) {
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (v.is_string() && v.str() == name) return value;
    names.emplace_back(name);
  }
  Diagnostic& d = error(
      ptr, fmt::format("must be {} (got {})", one_of(names), v.is_string() ? written(v) : got(v)));
  if (v.is_string()) {
    std::string near = suggest(v.str(), names);
    if (!near.empty()) d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
  }
  return std::nullopt;
}

// Results the simulator adds for objects the scenario implies: the funnels' mutexes
// ("kernel_funnel", "network_funnel"), each work loop's gate ("<workloop>.gate") and work thread
// ("workloop:<workloop>").
bool Checker::implicit_target(ExpectTarget target, const std::string& name) const {
  if (target == ExpectTarget::lock) {
    if (name == "kernel_funnel" || name == "network_funnel") return true;
    const std::string suffix = ".gate";
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           workloops_.find(name.substr(0, name.size() - suffix.size())) >= 0;
  }
  if (target == ExpectTarget::thread) {
    const std::string prefix = "workloop:";
    return name.rfind(prefix, 0) == 0 && workloops_.find(name.substr(prefix.size())) >= 0;
  }
  return false;
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

// --- top level -------------------------------------------------------------------------------

Scenario Checker::run(const Json& root) {
  s_.file = file_;
  s_.name = std::filesystem::path(file_).stem().string();
  if (!root.is_object()) {
    error("", fmt::format("a scenario must be a JSON object (got {})", got(root)));
    return std::move(s_);
  }
  // Another format or a later version would only produce a flood of misleading errors.
  if (!header(root)) return std::move(s_);
  check_keys(
      root, "",
      {"format", "version", "name", "description", "seed", "duration", "machine", "policy", "locks",
       "events", "workloops", "interrupts", "timers", "devices", "threads", "expect"},
      "at the top level");

  optional_key(root, "", "name", s_.name,
               [&](const Json& v, const std::string& p) { return read_text(v, p, false); });
  optional_key(root, "", "description", s_.description,
               [&](const Json& v, const std::string& p) { return read_text(v, p, true); });
  if (const Json* v = member(root, "seed")) {
    if (v->is_number_unsigned())
      s_.seed = v->as_uint();
    else if (v->is_number_integer() && v->as_int() >= 0)
      s_.seed = static_cast<uint64_t>(v->as_int());
    else
      error("/seed", fmt::format("must be a non-negative integer (got {})",
                                 v->is_number() ? v->dump() : got(*v)));
  }
  if (const Json* v = require(root, "", "duration"))
    if (auto d = read_duration(*v, "/duration", Sign::positive)) s_.duration = *d;
  if (const Json* v = member(root, "policy"))
    if (auto p = read_text(*v, "/policy", false)) s_.policy = *p;
  if (const Json* m = member(root, "machine")) machine(*m, "/machine");

  // Each section declares its ids before its entries are read, so references may point forward
  // (a device's provider declared after it); sections are read in dependency order.
  if (const Json* a = declare(root, "locks", locks_)) {
    s_.locks.resize(a->size());
    lock_kinds_.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) lock((*a)[i], at("/locks", i), i);
  }
  if (const Json* a = declare(root, "events", events_)) {
    s_.events.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      const Json& e = (*a)[i];
      std::string p = at("/events", i);
      s_.events[i].id = events_.names[i];
      s_.events[i].pointer = p;
      if (e.is_object()) check_keys(e, p, {"id"}, "in an event");
    }
  }
  if (const Json* a = declare(root, "workloops", workloops_)) {
    s_.workloops.resize(a->size());
    sources_.assign(a->size(), Ids("event source"));
    for (size_t i = 0; i < a->size(); ++i) workloop((*a)[i], at("/workloops", i), i);
  }
  if (const Json* a = declare(root, "timers", timers_)) {
    s_.timers.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) timer((*a)[i], at("/timers", i), i);
  }
  if (const Json* a = declare(root, "devices", devices_)) {
    s_.devices.resize(a->size());
    device_ref_error_.assign(a->size(), false);
    for (size_t i = 0; i < a->size(); ++i) device((*a)[i], at("/devices", i), i);
    check_device_graph();
  }
  if (const Json* a = declare(root, "interrupts", interrupts_)) {
    s_.interrupts.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) interrupt((*a)[i], at("/interrupts", i), i);
  }
  if (const Json* a = declare(root, "threads", threads_)) {
    s_.threads.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) thread((*a)[i], at("/threads", i), i);
  }
  if (const Json* a = member(root, "expect")) {
    if (!a->is_array()) {
      error("/expect", fmt::format("must be an array (got {})", got(*a)));
    } else {
      for (size_t i = 0; i < a->size(); ++i) expect((*a)[i], at("/expect", i));
    }
  }
  return std::move(s_);
}

bool Checker::header(const Json& root) {
  bool readable = true;
  if (const Json* f = member(root, "format")) {
    if (!f->is_string() || f->str() != "xnusim-scenario") {
      Diagnostic& d = error("/format", fmt::format("must be \"xnusim-scenario\" (got {})",
                                                   f->is_string() ? written(*f) : got(*f)));
      if (f->is_string() && f->str() == "xnusim-results")
        d.notes.push_back("this is a results file written by `xnusim run --json`, not a scenario");
      readable = false;
    }
  } else {
    error("", "missing required key \"format\"")
        .notes.push_back("a scenario starts with \"format\": \"xnusim-scenario\", \"version\": 1");
  }
  if (const Json* v = member(root, "version")) {
    if (!v->is_number_integer()) {
      error("/version", fmt::format("must be the integer 1 (got {})", got(*v)));
    } else if (v->is_number_unsigned() && v->as_uint() > 1) {
      error("/version", fmt::format("this build of xnusim reads version 1 of the scenario format "
                                    "(got version {})",
                                    v->dump()))
          .notes.push_back("use the xnusim release that wrote this scenario, or a newer one");
      readable = false;
    } else if (!v->is_number_unsigned() || v->as_uint() != 1) {
      error("/version", fmt::format("must be 1 (got {})", v->dump()));
    }
  } else {
    error("", "missing required key \"version\"")
        .notes.push_back("this build reads \"version\": 1");
  }
  return readable;
}

void Checker::machine(const Json& m, const std::string& ptr) {
  if (!require_object(m, ptr)) return;
  check_keys(m, ptr, {"cpus", "xnu", "quantum", "costs", "calibration", "funnels"},
             "in \"machine\"");
  MachineSpec& out = s_.machine;
  if (const Json* v = member(m, "cpus")) {
    if (auto c = read_int(*v, at(ptr, "cpus"), 1, kMaxCpus,
                          fmt::format("an integer from 1 to {}", kMaxCpus))) {
      out.cpus = static_cast<int>(*c);
      cpus_ = out.cpus;
    } else {
      cpus_known_ = false;
    }
  }
  if (const Json* v = member(m, "xnu")) {
    std::string p = at(ptr, "xnu");
    // Users often know a release by its Mac OS X version rather than by xnu's.
    std::string text = v->is_string() ? v->str() : "";
    std::string_view os =
        text == "10.3" || text == "10.3.9"    ? "Mac OS X 10.3 (Panther) is xnu \"517\""
        : text == "10.4" || text == "10.4.11" ? "Mac OS X 10.4 (Tiger) is xnu \"792\""
                                              : "";
    if (!os.empty())
      error(p, fmt::format("must be \"517\" or \"792\" (got {})", quote(text)))
          .notes.emplace_back(os);
    else if (auto x = read_enum<XnuRelease>(*v, p,
                                            {{"517", XnuRelease::r517}, {"792", XnuRelease::r792}}))
      out.xnu = *x;
  }
  optional_key(m, ptr, "quantum", out.quantum, [&](const Json& v, const std::string& p) {
    return read_duration(v, p, Sign::positive);
  });
  if (const Json* c = member(m, "costs")) {
    std::string cp = at(ptr, "costs");
    if (require_object(*c, cp)) {
      check_keys(*c, cp, {"context_switch", "interrupt_entry", "interrupt_exit", "thread_wakeup"},
                 "in \"costs\"");
      auto cost = [&](const char* key, Duration& d) {
        optional_key(*c, cp, key, d, [&](const Json& v, const std::string& p) {
          return read_duration(v, p, Sign::non_negative);
        });
      };
      cost("context_switch", out.costs.context_switch);
      cost("interrupt_entry", out.costs.interrupt_entry);
      cost("interrupt_exit", out.costs.interrupt_exit);
      cost("thread_wakeup", out.costs.thread_wakeup);
    }
  }
  optional_key(m, ptr, "calibration", out.calibration,
               [&](const Json& v, const std::string& p) { return read_text(v, p, false); });
  optional_key(m, ptr, "funnels", out.funnels, [&](const Json& v, const std::string& p) {
    return read_enum<FunnelSetup>(v, p,
                                  {{"split", FunnelSetup::split}, {"merged", FunnelSetup::merged}});
  });
}

// Records the ids of one section's entries; returns the array, or nullptr when it is absent or
// not an array.
const Json* Checker::declare(const Json& root, const std::string& key, Ids& ids) {
  const Json* a = member(root, key);
  if (!a) return nullptr;
  std::string ptr = at("", key);
  if (!a->is_array()) {
    error(ptr, fmt::format("must be an array (got {})", got(*a)));
    ids.incomplete = true;
    return nullptr;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    const Json& e = (*a)[i];
    std::string p = at(ptr, i);
    ids.add(p);
    if (!e.is_object()) {
      Diagnostic& d = error(p, fmt::format("must be an object (got {})", got(e)));
      if (e.is_string()) d.notes.push_back(fmt::format("write {{\"id\": {}, ...}}", written(e)));
      ids.incomplete = true;
      continue;
    }
    const Json* idv = require(e, p, "id");
    std::optional<std::string> id;
    if (idv) id = read_name(*idv, at(p, "id"), "id");
    if (!id) {
      ids.incomplete = true;
      continue;
    }
    if (int32_t first = ids.find(*id); first >= 0) {
      error(at(p, "id"), fmt::format("duplicate {} id {}", ids.kind, quote(*id)))
          .notes.push_back(
              fmt::format("first declared at {}", ids.pointers[static_cast<size_t>(first)]));
      continue;
    }
    ids.name_last(*id);
  }
  return a;
}

// --- locks, work loops, timers, devices, interrupts ------------------------------------------

void Checker::lock(const Json& e, const std::string& ptr, size_t i) {
  LockSpec& out = s_.locks[i];
  out.id = locks_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "kind", "protocol", "ceiling"}, "in a lock");
  if (const Json* k = require(e, ptr, "kind")) {
    lock_kinds_[i] = read_enum<LockKind>(
        *k, at(ptr, "kind"),
        {{"mutex", LockKind::mutex}, {"spin", LockKind::spin}, {"rw", LockKind::rw}});
    if (lock_kinds_[i]) out.kind = *lock_kinds_[i];
  }
  bool wants_ceiling = false;  // protocol "ceiling" was written, whether or not it is allowed
  bool mutex = !lock_kinds_[i] || *lock_kinds_[i] == LockKind::mutex;
  if (const Json* p = member(e, "protocol")) {
    std::string pp = at(ptr, "protocol");
    auto protocol = read_enum<LockProtocol>(*p, pp,
                                            {{"xnu", LockProtocol::xnu},
                                             {"none", LockProtocol::none},
                                             {"inherit", LockProtocol::inherit},
                                             {"ceiling", LockProtocol::ceiling}});
    if (!mutex)
      error(pp, fmt::format("only a mutex takes a protocol (this lock's kind is \"{}\")",
                            *lock_kinds_[i] == LockKind::spin ? "spin" : "rw"));
    else if (protocol)
      out.protocol = *protocol;
    wants_ceiling = protocol && *protocol == LockProtocol::ceiling;
  }
  const Json* c = member(e, "ceiling");
  if (wants_ceiling && mutex && !c)
    error(ptr, "missing required key \"ceiling\": protocol \"ceiling\" needs the ceiling priority");
  else if (c && !wants_ceiling)
    error(at(ptr, "ceiling"), "only allowed with \"protocol\": \"ceiling\"");
  else if (c)
    out.ceiling = read_priority(*c, at(ptr, "ceiling"));
}

void Checker::workloop(const Json& e, const std::string& ptr, size_t i) {
  WorkloopSpec& out = s_.workloops[i];
  out.id = workloops_.names[i];
  out.pointer = ptr;
  Ids& ids = sources_[i];
  if (!e.is_object()) {
    ids.incomplete = true;
    return;
  }
  check_keys(e, ptr, {"id", "priority", "sources"}, "in a work loop");
  out.priority = model::BASEPRI_KERNEL;
  optional_key(e, ptr, "priority", out.priority,
               [&](const Json& v, const std::string& p) { return read_priority(v, p); });
  const Json* srcs = member(e, "sources");
  if (!srcs) return;
  std::string sp = at(ptr, "sources");
  if (!srcs->is_array()) {
    error(sp, fmt::format("must be an array (got {})", got(*srcs)));
    ids.incomplete = true;
    return;
  }
  out.sources.resize(srcs->size());
  for (size_t j = 0; j < srcs->size(); ++j) {
    const Json& s = (*srcs)[j];
    std::string p = at(sp, j);
    EventSourceSpec& src = out.sources[j];
    src.pointer = p;
    ids.add(p);
    if (!s.is_object()) {
      error(p, fmt::format("must be an object (got {})", got(s)));
      ids.incomplete = true;
      continue;
    }
    check_keys(s, p, {"id", "kind", "action", "filter", "accept", "wakeup"}, "in an event source");
    if (const Json* wk = member(s, "wakeup"))
      if (auto r = resolve(*wk, at(p, "wakeup"), events_)) src.wakeup = *r;
    if (const Json* idv = require(s, p, "id")) {
      if (auto id = read_name(*idv, at(p, "id"), "id")) {
        if (int32_t first = ids.find(*id); first >= 0) {
          error(at(p, "id"), fmt::format("duplicate event source id {} in work loop {}", quote(*id),
                                         quote(out.id)))
              .notes.push_back(
                  fmt::format("first declared at {}", ids.pointers[static_cast<size_t>(first)]));
        } else {
          ids.name_last(*id);
          src.id = *id;
        }
      } else {
        ids.incomplete = true;
      }
    } else {
      ids.incomplete = true;
    }
    std::optional<EventSourceKind> kind;
    if (const Json* k = require(s, p, "kind")) {
      kind = read_enum<EventSourceKind>(*k, at(p, "kind"),
                                        {{"interrupt", EventSourceKind::interrupt},
                                         {"filter_interrupt", EventSourceKind::filter_interrupt}});
      if (kind) src.kind = *kind;
    }
    if (const Json* a = require(s, p, "action"))
      if (auto d = read_duration(*a, at(p, "action"), Sign::positive)) src.action = *d;
    const Json* filter = member(s, "filter");
    const Json* accept = member(s, "accept");
    bool filtered = kind == EventSourceKind::filter_interrupt;
    if (kind == EventSourceKind::interrupt) {
      // An IOInterruptEventSource has no filter routine.
      if (filter) error(at(p, "filter"), "only a \"filter_interrupt\" source has a filter");
      if (accept) error(at(p, "accept"), "only a \"filter_interrupt\" source has \"accept\"");
    }
    if (filtered && !filter)
      error(p,
            "missing required key \"filter\": a \"filter_interrupt\" source needs the time its "
            "filter routine runs in primary interrupt context");
    if (filter && kind != EventSourceKind::interrupt)
      if (auto d = read_duration(*filter, at(p, "filter"), Sign::positive)) src.filter = *d;
    if (accept && kind != EventSourceKind::interrupt) {
      if (accept->is_number() && accept->as_double() >= 0.0 && accept->as_double() <= 1.0)
        src.accept = accept->as_double();
      else
        error(at(p, "accept"), fmt::format("must be a probability from 0 to 1 (got {})",
                                           accept->is_number() ? accept->dump() : got(*accept)));
    }
  }
}

void Checker::timer(const Json& e, const std::string& ptr, size_t i) {
  TimerSpec& out = s_.timers[i];
  out.id = timers_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "workloop", "action"}, "in a timer");
  if (const Json* w = require(e, ptr, "workloop"))
    if (auto r = resolve(*w, at(ptr, "workloop"), workloops_)) out.workloop = *r;
  if (const Json* a = require(e, ptr, "action"))
    if (auto d = read_duration(*a, at(ptr, "action"), Sign::positive)) out.action = *d;
}

void Checker::device(const Json& e, const std::string& ptr, size_t i) {
  DeviceSpec& out = s_.devices[i];
  out.id = devices_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) {
    device_ref_error_[i] = true;
    return;
  }
  check_keys(e, ptr, {"id", "provider", "workloop", "service"}, "in a device");
  if (const Json* p = member(e, "provider")) {
    if (auto r = resolve(*p, at(ptr, "provider"), devices_))
      out.provider = *r;
    else
      device_ref_error_[i] = true;
  }
  if (const Json* w = member(e, "workloop")) {
    if (auto r = resolve(*w, at(ptr, "workloop"), workloops_))
      out.workloop = *r;
    else
      device_ref_error_[i] = true;
  }
  if (const Json* s = require(e, ptr, "service"))
    if (auto d = read_duration(*s, at(ptr, "service"), Sign::positive)) out.service = *d;
}

// Provider chains must be acyclic, and every device must reach a work loop (its own or the
// nearest provider's) because its I/O completes there.
void Checker::check_device_graph() {
  const std::vector<DeviceSpec>& ds = s_.devices;
  size_t n = ds.size();
  // Each device has at most one provider, so following providers from every device in turn,
  // never re-walking a device already settled, finds every cycle in linear time.
  enum : uint8_t { unvisited, on_path, settled };
  std::vector<uint8_t> state(n, unvisited);
  std::vector<bool> in_cycle(n, false);
  std::vector<std::pair<size_t, std::vector<size_t>>> cycles;  // (smallest index, chain from it)
  std::vector<size_t> path;
  for (size_t i = 0; i < n; ++i) {
    if (state[i] != unvisited) continue;
    path.clear();
    int32_t cur = static_cast<int32_t>(i);
    while (cur >= 0 && state[static_cast<size_t>(cur)] == unvisited) {
      state[static_cast<size_t>(cur)] = on_path;
      path.push_back(static_cast<size_t>(cur));
      cur = ds[static_cast<size_t>(cur)].provider;
    }
    if (cur >= 0 && state[static_cast<size_t>(cur)] == on_path) {
      auto from = std::find(path.begin(), path.end(), static_cast<size_t>(cur));
      std::vector<size_t> cycle(from, path.end());
      for (size_t c : cycle) in_cycle[c] = true;
      auto smallest = std::min_element(cycle.begin(), cycle.end());
      std::rotate(cycle.begin(), smallest, cycle.end());
      cycles.emplace_back(cycle.front(), std::move(cycle));
    }
    for (size_t p : path) state[p] = settled;
  }
  std::sort(cycles.begin(), cycles.end());
  for (const auto& [first, chain] : cycles) {
    std::vector<std::string> names;
    for (size_t c : chain) names.push_back(ds[c].id);
    names.push_back(ds[first].id);
    error(at(ds[first].pointer, "provider"),
          fmt::format("device providers form a cycle: {}", join(names, " -> ")));
  }
  // Whether each device reaches a work loop: memoised along each walk, so linear as well.
  enum : uint8_t { unknown, skip, has_workloop, missing };
  std::vector<uint8_t> reach(n, unknown);
  for (size_t i = 0; i < n; ++i) {
    path.clear();
    size_t cur = i;
    uint8_t result = unknown;
    while (result == unknown) {
      if (reach[cur] != unknown) {
        result = reach[cur];
      } else if (in_cycle[cur] || device_ref_error_[cur]) {
        result = skip;  // already reported
      } else if (ds[cur].workloop >= 0) {
        result = has_workloop;
      } else if (ds[cur].provider < 0) {
        result = missing;
      } else {
        path.push_back(cur);
        cur = static_cast<size_t>(ds[cur].provider);
      }
    }
    reach[cur] = result;
    for (size_t p : path) reach[p] = result;
    if (result != missing) continue;
    error(ds[i].pointer, fmt::format("device {} has no work loop: give it \"workloop\" or a "
                                     "\"provider\" that has one",
                                     quote(ds[i].id)));
  }
}

void Checker::interrupt(const Json& e, const std::string& ptr, size_t i) {
  InterruptSpec& out = s_.interrupts[i];
  out.id = interrupts_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr, {"id", "cpu", "arrival", "handler", "source"}, "in an interrupt");
  optional_key(e, ptr, "cpu", out.cpu,
               [&](const Json& v, const std::string& p) { return read_cpu(v, p); });
  if (const Json* a = require(e, ptr, "arrival")) arrival(*a, at(ptr, "arrival"), out.arrival);
  if (const Json* h = require(e, ptr, "handler"))
    if (auto d = read_duration(*h, at(ptr, "handler"), Sign::positive)) out.handler = *d;
  if (const Json* s = member(e, "source")) {
    std::string sp = at(ptr, "source");
    auto text = read_string(*s, sp);
    if (!text) return;
    size_t dot = text->find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == text->size() ||
        text->find('.', dot + 1) != std::string::npos) {
      error(sp,
            fmt::format("must be \"<work loop>.<event source>\", e.g. \"disk_wl.intr\" (got {})",
                        quote(*text)));
      return;
    }
    std::string wl_name = text->substr(0, dot);
    std::string src_name = text->substr(dot + 1);
    auto wl = resolve_name(wl_name, sp, workloops_);
    if (!wl) return;
    const Ids& srcs = sources_[static_cast<size_t>(*wl)];
    int32_t si = srcs.find(src_name);
    if (si < 0) {
      if (srcs.incomplete) return;
      const std::vector<std::string>& declared = srcs.declared();
      Diagnostic& d = error(sp, fmt::format("work loop {} has no event source {}",
                                            quote(wl_name), quote(src_name)));
      std::string near = suggest(src_name, declared);
      if (!near.empty()) d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
      d.notes.push_back(declared.empty() ? std::string("it has no \"sources\"")
                                         : fmt::format("its sources: {}", join(declared)));
      return;
    }
    out.workloop = *wl;
    out.source = si;
  }
}

bool Checker::arrival(const Json& a, const std::string& ptr, ArrivalSpec& out) {
  if (!require_object(a, ptr)) return false;
  check_keys(a, ptr, {"periodic", "jitter", "poisson", "at"}, "in \"arrival\"");
  std::vector<std::string> kinds;
  for (const char* k : {"periodic", "poisson", "at"})
    if (a.contains(k)) kinds.emplace_back(k);
  if (kinds.size() != 1) {
    if (kinds.empty())
      error(ptr, "needs one of \"periodic\", \"poisson\" or \"at\"")
          .notes.push_back(
              "e.g. {\"periodic\": \"1ms\"}, {\"poisson\": \"2000/s\"} or {\"at\": [\"5ms\"]}");
    else
      error(ptr, fmt::format("give only one of \"periodic\", \"poisson\" or \"at\" (got {})",
                             one_of(kinds, " and ")));
    return false;
  }
  const Json* jitter = member(a, "jitter");
  if (kinds[0] == "periodic") {
    out.kind = ArrivalSpec::Kind::periodic;
    auto period = read_duration(*a.find("periodic"), at(ptr, "periodic"), Sign::positive);
    if (period) out.period = *period;
    if (jitter) {
      auto j = read_duration(*jitter, at(ptr, "jitter"), Sign::non_negative);
      if (j && period && *j >= *period)
        error(at(ptr, "jitter"), fmt::format("must be less than the period {} (got {})",
                                             written(*a.find("periodic")), written(*jitter)));
      else if (j)
        out.jitter = *j;
    }
    return true;
  }
  if (jitter) error(at(ptr, "jitter"), "only applies to \"periodic\" arrivals");
  if (kinds[0] == "poisson") {
    out.kind = ArrivalSpec::Kind::poisson;
    std::string pp = at(ptr, "poisson");
    const Json& r = *a.find("poisson");
    if (!r.is_string()) {
      error(pp, fmt::format("must be a rate such as \"2000/s\" (got {})", got(r)));
      return false;
    }
    core::ParsedDuration mean = core::parse_rate(r.str());
    if (!mean.value) {
      error(pp, mean.error);
      return false;
    }
    out.mean = *mean.value;
    return true;
  }
  out.kind = ArrivalSpec::Kind::at;
  std::string ap = at(ptr, "at");
  const Json& times = *a.find("at");
  if (!times.is_array()) {
    error(ap,
          fmt::format("must be an array of times such as [\"1ms\", \"5ms\"] (got {})", got(times)));
    return false;
  }
  size_t last = 0;  // index of the last valid time
  for (size_t k = 0; k < times.size(); ++k) {
    auto t = read_duration(times[k], at(ap, k), Sign::non_negative);
    if (!t) continue;
    if (!out.times.empty() && *t < out.times.back())
      error(at(ap, k), fmt::format("must not be earlier than the time before it (got {} after {})",
                                   written(times[k]), written(times[last])));
    out.times.push_back(*t);
    last = k;
  }
  return true;
}

// --- threads and their programs ---------------------------------------------------------------

void Checker::thread(const Json& e, const std::string& ptr, size_t i) {
  ThreadSpec& out = s_.threads[i];
  out.id = threads_.names[i];
  out.pointer = ptr;
  if (!e.is_object()) return;
  check_keys(e, ptr,
             {"id", "task", "kernel", "mode", "priority", "realtime", "cpu", "start", "period",
              "deadline", "program"},
             "in a thread");
  optional_key(e, ptr, "task", out.task,
               [&](const Json& v, const std::string& p) { return read_name(v, p, "task name"); });
  optional_key(e, ptr, "kernel", out.kernel,
               [&](const Json& v, const std::string& p) { return read_bool(v, p); });

  std::optional<ThreadMode> mode = out.kernel ? ThreadMode::fixed : ThreadMode::timeshare;
  if (const Json* m = member(e, "mode"))
    mode = read_enum<ThreadMode>(*m, at(ptr, "mode"),
                                 {{"timeshare", ThreadMode::timeshare},
                                  {"fixed", ThreadMode::fixed},
                                  {"realtime", ThreadMode::realtime}});
  if (mode) out.mode = *mode;

  out.priority = out.kernel ? model::BASEPRI_KERNEL : model::BASEPRI_DEFAULT;
  const Json* pri = member(e, "priority");
  const Json* rt = member(e, "realtime");
  if (mode == ThreadMode::realtime) {
    // xnu runs every time-constraint thread at BASEPRI_RTQUEUES; there is no priority to give.
    out.priority = model::BASEPRI_RTQUEUES;
    if (pri)
      error(
          at(ptr, "priority"),
          fmt::format("not allowed with \"mode\": \"realtime\" (xnu runs every real-time thread at "
                      "BASEPRI_RTQUEUES, {})",
                      model::BASEPRI_RTQUEUES));
    if (!rt)
      error(ptr,
            "missing required key \"realtime\": mode \"realtime\" needs "
            "{\"computation\", \"constraint\"} (THREAD_TIME_CONSTRAINT_POLICY)");
    else
      out.realtime = realtime(*rt, at(ptr, "realtime"), true);
  } else {
    if (pri)
      if (auto p = read_priority(*pri, at(ptr, "priority"))) out.priority = *p;
    if (rt && mode)
      error(at(ptr, "realtime"), fmt::format("only allowed with \"mode\": \"realtime\" (this "
                                             "thread's mode is \"{}\")",
                                             model::to_string(*mode)));
  }

  if (const Json* c = member(e, "cpu")) out.cpu = read_cpu(*c, at(ptr, "cpu"));
  optional_key(e, ptr, "start", out.start, [&](const Json& v, const std::string& p) {
    return read_duration(v, p, Sign::non_negative);
  });
  const Json* period = member(e, "period");
  if (period) out.period = read_duration(*period, at(ptr, "period"), Sign::positive);
  if (const Json* d = member(e, "deadline"))
    out.deadline = read_duration(*d, at(ptr, "deadline"), Sign::positive);
  else
    out.deadline = out.period;

  if (const Json* prog = require(e, ptr, "program")) {
    // A wrong "period" still counts as given, so its ops are not blamed for it.
    ThreadScope scope{period != nullptr};
    OpsSummary sum;
    out.program = ops(*prog, at(ptr, "program"), scope, 0, sum);
  }
}

// THREAD_TIME_CONSTRAINT_POLICY parameters. With `admission`, the checks thread_policy_set
// makes (xnu-facts 4.1) are applied, since a thread declared real-time that xnu would refuse is
// a scenario error; a later set_mode is runtime behaviour and is only type-checked.
std::optional<RealtimeParams> Checker::realtime(const Json& v, const std::string& ptr,
                                                bool admission) {
  if (!require_object(v, ptr)) return std::nullopt;
  check_keys(v, ptr, {"period", "computation", "constraint", "preemptible"}, "in \"realtime\"");
  RealtimeParams rp;
  bool ok = true;
  Sign sign = admission ? Sign::positive : Sign::non_negative;
  if (const Json* p = member(v, "period")) {
    if (auto d = read_duration(*p, at(ptr, "period"), Sign::non_negative))
      rp.period = *d;
    else
      ok = false;
  }
  const Json* comp = require(v, ptr, "computation");
  const Json* cons = require(v, ptr, "constraint");
  std::optional<Duration> computation, constraint;
  if (comp) computation = read_duration(*comp, at(ptr, "computation"), sign);
  if (cons) constraint = read_duration(*cons, at(ptr, "constraint"), sign);
  if (!computation || !constraint) ok = false;
  if (const Json* pre = member(v, "preemptible")) {
    if (auto b = read_bool(*pre, at(ptr, "preemptible")))
      rp.preemptible = *b;
    else
      ok = false;
  }
  if (computation) rp.computation = *computation;
  if (constraint) rp.constraint = *constraint;
  if (admission && computation) {
    std::string cp = at(ptr, "computation");
    std::string note =
        fmt::format("xnu accepts {} <= computation <= {} and constraint >= computation",
                    core::format_duration(kMinRtQuantum), core::format_duration(kMaxRtQuantum));
    if (*computation > kMaxRtQuantum) {
      error(cp, fmt::format("{} exceeds max_rt_quantum ({}); {}", comp->str(),
                            core::format_duration(kMaxRtQuantum), kRtRejected))
          .notes.push_back(note);
      ok = false;
    } else if (*computation < kMinRtQuantum) {
      error(cp, fmt::format("{} is below min_rt_quantum ({}); {}", comp->str(),
                            core::format_duration(kMinRtQuantum), kRtRejected))
          .notes.push_back(note);
      ok = false;
    }
    if (constraint && *constraint < *computation) {
      error(at(ptr, "constraint"),
            fmt::format("{} is less than the computation ({}); {}", cons->str(),
                        comp->str(), kRtRejected))
          .notes.push_back(note);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return rp;
}

std::vector<Op> Checker::ops(const Json& v, const std::string& ptr, const ThreadScope& scope,
                             int depth, OpsSummary& sum) {
  std::vector<Op> out;
  if (!v.is_array()) {
    error(ptr, fmt::format("must be an array of ops (got {})", got(v)));
    sum.complete = false;
    return out;
  }
  if (v.empty()) {
    error(ptr,
          "must not be empty; give at least one op such as {\"op\": \"run\", \"for\": \"1ms\"}");
    sum.complete = false;
    return out;
  }
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    out.push_back(op(v[i], at(ptr, i), scope, depth, sum));
    if (out.back().kind != OpKind::loop) sum.executions = saturating_add(sum.executions, 1);
  }
  return out;
}

Op Checker::op(const Json& v, const std::string& ptr, const ThreadScope& scope, int depth,
               OpsSummary& sum) {
  Op out;
  out.pointer = ptr;
  if (!v.is_object()) {
    error(ptr,
          fmt::format("must be an op object such as {{\"op\": \"run\", \"for\": \"1ms\"}} (got {})",
                      got(v)));
    sum.complete = false;
    return out;
  }
  const Json* name = require(v, ptr, "op");
  std::optional<std::string> n;
  if (name) n = read_string(*name, at(ptr, "op"));
  std::optional<OpKind> kind = n ? model::op_from_name(*n) : std::nullopt;
  if (!kind) {
    if (n) {
      const std::vector<std::string>& names = model::public_op_names();
      Diagnostic& d = error(at(ptr, "op"), fmt::format("unknown op {}", quote(*n)));
      std::string near = suggest(*n, names);
      d.notes.push_back(near.empty() ? fmt::format("ops: {}", join(names))
                                     : fmt::format("did you mean {}?", quote(near)));
    }
    sum.complete = false;
    return out;
  }
  out.kind = *kind;
  const model::OpInfo& info = model::op_info(out.kind);
  std::vector<std::string> keys = {"op", "note"};
  for (std::string& k : model::op_keys(out.kind)) keys.push_back(std::move(k));
  check_keys(v, ptr, keys, fmt::format("in op {}", quote(*n)));
  optional_key(v, ptr, "note", out.note,
               [&](const Json& x, const std::string& p) { return read_text(x, p, true); });

  size_t errors_before = diag_.count();
  OpArgs args{v, ptr, out, scope, depth, sum};
  (this->*kOpReaders[static_cast<size_t>(out.kind)])(args);
  if (info.takes_time || info.may_block) sum.takes_time = true;
  if (diag_.count() != errors_before) sum.complete = false;
  return out;
}

// --- one reader per op, found through kOpReaders; each records an error on failure -----------

void Checker::duration_spec_key(const OpArgs& a, const char* key) {
  if (const Json* f = require(a.v, a.ptr, key))
    if (auto d = read_duration_spec(*f, at(a.ptr, key))) a.out.duration = *d;
}

void Checker::fixed_duration_key(const OpArgs& a, const char* key) {
  if (const Json* f = require(a.v, a.ptr, key))
    if (auto d = read_duration(*f, at(a.ptr, key), Sign::positive)) a.out.duration.a = *d;
}

void Checker::ref_key(const OpArgs& a, const char* key, const Ids& ids, int32_t& index) {
  if (const Json* f = require(a.v, a.ptr, key))
    if (auto r = resolve(*f, at(a.ptr, key), ids)) index = *r;
}

void Checker::all_key(const OpArgs& a) {
  optional_key(a.v, a.ptr, "all", a.out.all,
               [&](const Json& x, const std::string& p) { return read_bool(x, p); });
}

void Checker::read_run(const OpArgs& a) { duration_spec_key(a, "for"); }

void Checker::read_sleep_until_next_period(const OpArgs& a) {
  if (!a.scope.has_period)
    error(a.ptr, "sleep_until_next_period is only allowed in a thread with \"period\"")
        .notes.push_back("it ends the current job early and waits for the next release");
}

void Checker::read_loop(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  OpsSummary& sum = a.sum;
  const Json* times = member(v, "times");
  const Json* forever = member(v, "forever");
  if (times && forever)
    error(ptr, "give either \"times\" or \"forever\": true, not both");
  else if (!times && !forever)
    error(ptr, "a loop needs \"times\" (an integer of at least 1) or \"forever\": true");
  if (times)
    if (auto t = read_int(*times, at(ptr, "times"), 1, std::numeric_limits<int64_t>::max(),
                          "an integer of at least 1"))
      out.times = *t;
  if (forever) {
    auto f = read_bool(*forever, at(ptr, "forever"));
    if (f == false)
      error(at(ptr, "forever"), "must be true (for a bounded loop give \"times\" instead)");
    out.forever = f.value_or(false);
  }
  const Json* body = require(v, ptr, "body");
  if (!body) {
    sum.complete = false;
    return;
  }
  if (a.depth >= kMaxLoopDepth) {
    error(at(ptr, "body"), fmt::format("loops are nested more than {} deep", kMaxLoopDepth));
    sum.complete = false;
    return;
  }
  OpsSummary inner;
  out.body = ops(*body, at(ptr, "body"), a.scope, a.depth + 1, inner);
  if (out.forever && inner.complete && !inner.takes_time)
    error(ptr, "this loop would repeat forever without simulated time passing")
        .notes.push_back(fmt::format("its body needs an op that takes time or blocks: {}",
                                     model::time_passing_op_list()));
  if (!out.forever && !inner.takes_time) {
    // Every iteration may run at the same instant: bound what the loop implies there.
    uint64_t n = saturating_mul(static_cast<uint64_t>(out.times), inner.executions);
    if (n > kMaxZeroTimeOps && inner.complete && !inner.spin_reported) {
      error(ptr, fmt::format("this loop would execute {}{} ops without simulated time passing "
                             "(the limit is {})",
                             n == std::numeric_limits<uint64_t>::max() ? "more than " : "", n,
                             kMaxZeroTimeOps))
          .notes.push_back(fmt::format("add an op that takes time, or lower \"times\" (ops that "
                                       "take time or block: {})",
                                       model::time_passing_op_list()));
      sum.spin_reported = true;
    }
    sum.executions = saturating_add(sum.executions, n);
  }
  sum.spin_reported = sum.spin_reported || inner.spin_reported;
  // An endless loop ends the program there, so it counts as taking time for enclosing loops
  // (and when it does not, it was reported just above).
  sum.takes_time = sum.takes_time || inner.takes_time || out.forever;
  sum.complete = sum.complete && inner.complete;
}

void Checker::read_lock(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  const Json* l = require(v, ptr, "lock");
  std::optional<int32_t> idx;
  if (l) idx = resolve(*l, at(ptr, "lock"), locks_);
  if (idx) out.ref = *idx;
  std::optional<LockKind> kind;
  if (idx) kind = lock_kinds_[static_cast<size_t>(*idx)];
  const Json* mode = member(v, "mode");
  auto read_mode = [&]() {
    if (auto m = read_enum<LockMode>(*mode, at(ptr, "mode"),
                                     {{"read", LockMode::read}, {"write", LockMode::write}}))
      out.lock_mode = *m;
  };
  if (kind == LockKind::rw) {
    if (mode)
      read_mode();
    else
      error(ptr, fmt::format("missing required key \"mode\": lock {} is an rw lock; give \"read\" "
                             "or \"write\"",
                             quote(locks_.names[static_cast<size_t>(*idx)])));
  } else if (mode) {
    if (kind)
      error(at(ptr, "mode"), fmt::format("only rw locks take a mode (lock {} is a {})",
                                         quote(locks_.names[static_cast<size_t>(*idx)]),
                                         *kind == LockKind::mutex ? "mutex" : "spin lock"));
    else
      read_mode();  // the lock's kind is unknown: at least check the spelling
  }
}

void Checker::read_wait(const OpArgs& a) { ref_key(a, "event", events_, a.out.ref); }

void Checker::read_signal(const OpArgs& a) {
  ref_key(a, "event", events_, a.out.ref);
  all_key(a);
}

void Checker::read_funnel(const OpArgs& a) {
  if (const Json* f = require(a.v, a.ptr, "funnel"))
    if (auto fn = read_enum<FunnelName>(*f, at(a.ptr, "funnel"),
                                        {{"kernel", FunnelName::kernel},
                                         {"network", FunnelName::network},
                                         {"none", FunnelName::none}}))
      a.out.funnel = *fn;
}

void Checker::read_yield(const OpArgs& a) {
  // Optional hand-off target (thread_switch to a named thread).
  if (const Json* to = member(a.v, "to"))
    if (auto r = resolve(*to, at(a.ptr, "to"), threads_)) a.out.ref = *r;
}

void Checker::read_nothing(const OpArgs&) {}

void Checker::read_set_priority(const OpArgs& a) {
  if (const Json* p = require(a.v, a.ptr, "priority"))
    if (auto pr = read_priority(*p, at(a.ptr, "priority"))) {
      a.out.priority = *pr;
      a.out.has_priority = true;
    }
}

void Checker::read_set_mode(const OpArgs& a) {
  const Json& v = a.v;
  const std::string& ptr = a.ptr;
  Op& out = a.out;
  std::optional<ThreadMode> mode;
  if (const Json* m = require(v, ptr, "mode"))
    mode = read_enum<ThreadMode>(*m, at(ptr, "mode"),
                                 {{"timeshare", ThreadMode::timeshare},
                                  {"fixed", ThreadMode::fixed},
                                  {"realtime", ThreadMode::realtime}});
  if (mode) out.mode = *mode;
  const Json* pri = member(v, "priority");
  const Json* rt = member(v, "realtime");
  if (mode == ThreadMode::realtime) {
    if (pri) error(at(ptr, "priority"), "not allowed with \"mode\": \"realtime\"");
    if (!rt)
      error(ptr,
            "missing required key \"realtime\": mode \"realtime\" needs "
            "{\"computation\", \"constraint\"}");
    else if (auto r = realtime(*rt, at(ptr, "realtime"), false))
      out.realtime = *r;
  } else {
    if (pri)
      if (auto p = read_priority(*pri, at(ptr, "priority"))) {
        out.priority = *p;
        out.has_priority = true;
      }
    if (rt && mode) error(at(ptr, "realtime"), "only allowed with \"mode\": \"realtime\"");
  }
}

void Checker::read_run_action(const OpArgs& a) {
  ref_key(a, "workloop", workloops_, a.out.ref);
  fixed_duration_key(a, "for");
}

void Checker::read_command_sleep(const OpArgs& a) {
  ref_key(a, "workloop", workloops_, a.out.ref);
  ref_key(a, "event", events_, a.out.event);
}

void Checker::read_command_wakeup(const OpArgs& a) {
  read_command_sleep(a);
  all_key(a);
}

void Checker::read_io(const OpArgs& a) {
  ref_key(a, "device", devices_, a.out.ref);
  fixed_duration_key(a, "for");
}

void Checker::read_timer_arm(const OpArgs& a) {
  ref_key(a, "timer", timers_, a.out.ref);
  fixed_duration_key(a, "after");
}

void Checker::read_timer_cancel(const OpArgs& a) { ref_key(a, "timer", timers_, a.out.ref); }

void Checker::read_terminate(const OpArgs& a) { ref_key(a, "device", devices_, a.out.ref); }



// --- expect -----------------------------------------------------------------------------------

std::string target_name(ExpectTarget t) {
  switch (t) {
    case ExpectTarget::system: return "system";
    case ExpectTarget::thread: return "thread";
    case ExpectTarget::lock: return "lock";
    case ExpectTarget::cpu: return "cpu";
    case ExpectTarget::workloop: return "work loop";
    case ExpectTarget::interrupt: return "interrupt";
    case ExpectTarget::device: return "device";
  }
  return "?";
}

// "cpu_time_ns, jobs, response_ns.{count,min,...}": the known paths with summaries folded.
std::string metric_list(ExpectTarget t) {
  std::vector<std::string> out;
  std::string group;
  std::vector<std::string> members;
  auto flush = [&]() {
    if (!group.empty()) out.push_back(fmt::format("{}.{{{}}}", group, join(members, ",")));
    group.clear();
    members.clear();
  };
  for (const std::string& m : known_metrics(t)) {
    size_t dot = m.find('.');
    if (dot == std::string::npos) {
      flush();
      out.push_back(m);
      continue;
    }
    std::string head = m.substr(0, dot);
    if (head != group) flush();
    group = head;
    members.push_back(m.substr(dot + 1));
  }
  flush();
  return join(out);
}

void Checker::expect(const Json& e, const std::string& ptr) {
  if (!require_object(e, ptr)) return;
  check_keys(
      e, ptr,
      {"thread", "lock", "cpu", "workloop", "interrupt", "device", "metric", "min", "max", "eq"},
      "in an expect");
  ExpectSpec out;
  out.pointer = ptr;
  static const std::vector<std::pair<std::string, ExpectTarget>> targets = {
      {"thread", ExpectTarget::thread},
      {"lock", ExpectTarget::lock},
      {"cpu", ExpectTarget::cpu},
      {"workloop", ExpectTarget::workloop},
      {"interrupt", ExpectTarget::interrupt},
      {"device", ExpectTarget::device}};
  std::vector<std::string> given;
  for (const auto& [key, t] : targets)
    if (e.contains(key)) {
      given.push_back(key);
      out.target = t;
    }
  bool target_ok = true;
  if (given.size() > 1) {
    error(ptr, fmt::format("names {} targets ({}); give at most one", given.size(),
                           one_of(given, " and ")));
    target_ok = false;
  } else if (given.size() == 1) {
    std::string tp = at(ptr, given[0]);
    const Json& tv = *e.find(given[0]);
    if (out.target == ExpectTarget::cpu) {
      if (auto c = read_cpu(tv, tp)) {
        out.target_index = *c;
        out.target_id = std::to_string(*c);
      }
    } else if (tv.is_string() && implicit_target(out.target, tv.str())) {
      // An object the simulator adds itself: its results are named like this.
      out.target_id = tv.str();
    } else {
      const Ids& ids = out.target == ExpectTarget::thread      ? threads_
                       : out.target == ExpectTarget::lock      ? locks_
                       : out.target == ExpectTarget::workloop  ? workloops_
                       : out.target == ExpectTarget::interrupt ? interrupts_
                                                               : devices_;
      if (auto r = resolve(tv, tp, ids)) {
        out.target_index = *r;
        out.target_id = ids.names[static_cast<size_t>(*r)];
      }
    }
  }

  if (const Json* m = require(e, ptr, "metric")) {
    std::string mp = at(ptr, "metric");
    if (auto path = read_nonempty(*m, mp)) {
      out.metric = *path;
      if (target_ok && !is_known_metric(out.target, *path)) {
        Diagnostic& d =
            error(mp, fmt::format("unknown {} metric {}", target_name(out.target), quote(*path)));
        std::vector<std::string> known = known_metrics(out.target);
        std::string near = suggest(*path, known);
        bool is_summary = std::any_of(known.begin(), known.end(), [&](const std::string& k) {
          return k.size() > path->size() && k.compare(0, path->size(), *path) == 0 &&
                 k[path->size()] == '.';
        });
        if (is_summary)
          d.notes.push_back(fmt::format("{} is a summary; name one of its keys, e.g. \"{}.p99\"",
                                        quote(*path), *path));
        else if (!near.empty())
          d.notes.push_back(fmt::format("did you mean {}?", quote(near)));
        else
          d.notes.push_back(
              fmt::format("{} metrics: {}", target_name(out.target), metric_list(out.target)));
      }
    }
  }

  std::vector<std::string> ops;
  for (const char* k : {"min", "max", "eq"})
    if (e.contains(k)) ops.emplace_back(k);
  if (ops.size() != 1) {
    if (ops.empty())
      error(ptr, "missing the bound: give one of \"min\", \"max\" or \"eq\"");
    else
      error(ptr, fmt::format("give only one of \"min\", \"max\" or \"eq\" (got {}); write one "
                             "expect per bound",
                             one_of(ops, " and ")));
    return;
  }
  out.op = ops[0] == "min" ? ExpectOp::min : ops[0] == "max" ? ExpectOp::max : ExpectOp::eq;
  std::string vp = at(ptr, ops[0]);
  const Json& v = *e.find(ops[0]);
  bool duration = !out.metric.empty() && is_duration_metric(out.metric);
  if (v.is_string() && duration) {
    if (auto d = read_duration(v, vp, Sign::non_negative)) {
      out.value = d->ns;
      out.value_text = v.str();
    }
  } else if (v.is_string() && !out.metric.empty()) {
    error(vp, fmt::format("must be a number: {} is not a time (got {})", quote(out.metric),
                          written(v)));
  } else if (v.is_number_unsigned() &&
             v.as_uint() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    out.value = v.as_int();
    out.value_text = v.dump();
  } else if (v.is_number_integer() && !v.is_number_unsigned() && v.as_int() >= 0) {
    out.value = v.as_int();
    out.value_text = v.dump();
  } else if (!v.is_string()) {
    error(vp, fmt::format("must be {} (got {})",
                          duration ? "a non-negative integer (ns) or a duration such as \"3ms\""
                                   : "a non-negative integer",
                          v.is_number() ? v.dump() : got(v)));
  }
  s_.expects.push_back(std::move(out));
}

// Runs the whole pipeline on text; every failure, even an unexpected exception, becomes a
// diagnostic, so callers never see a throw for bad input.
void load_into(LoadResult& result, const std::string& text, const std::string& file) {
  Diagnostics& diag = result.diagnostics;
  try {
    load::Document doc;
    DocumentBuilder builder(doc, file, diag);
    bool parsed = NJson::sax_parse(text, &builder, NJson::input_format_t::json, true, false);
    if (builder.failure) {
      report_syntax_error(text, file, builder, diag);
      return;
    }
    if (!parsed || builder.too_deep) {
      if (!diag.has_errors()) diag.syntax(file, 0, 0, "the file is not valid JSON");
      return;
    }
    Checker checker(file, diag);
    if (!doc.has_root()) {
      if (!diag.has_errors()) diag.syntax(file, 0, 0, "the file is not valid JSON");
      return;
    }
    Scenario s = checker.run(doc.root());
    if (!diag.has_errors()) result.scenario = std::move(s);
  } catch (const std::exception& ex) {
    result.scenario.reset();
    diag.syntax(file, 0, 0,
                fmt::format("internal error while reading the scenario: {}", ex.what()));
  } catch (...) {
    result.scenario.reset();
    diag.syntax(file, 0, 0, "internal error while reading the scenario");
  }
}

}  // namespace

LoadResult load_scenario_text(const std::string& text, const std::string& file) {
  LoadResult result;
  load_into(result, text, file);
  return result;
}

LoadResult load_scenario_file(const std::string& path) {
  LoadResult result;
  std::string text;
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      result.diagnostics.syntax(path, 0, 0, "cannot read the scenario: it is a directory");
      return result;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      result.diagnostics.syntax(path, 0, 0,
                                fmt::format("cannot open the scenario: {}", std::strerror(errno)));
      return result;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      result.diagnostics.syntax(path, 0, 0, "cannot read the scenario: read error");
      return result;
    }
  } catch (const std::exception& ex) {
    result.diagnostics.syntax(path, 0, 0, fmt::format("cannot read the scenario: {}", ex.what()));
    return result;
  }
  load_into(result, text, path);
  return result;
}

}  // namespace sim::scenario
