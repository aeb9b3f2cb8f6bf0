// Syntax: nlohmann's SAX parser feeding our own document builder, and syntax diagnostics with
// line and column.
#include "sim/scenario/load/text_positions.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/scenario/load/readers.hpp"

namespace sim::scenario::load {

namespace {

using core::Diagnostic;
using core::Diagnostics;
using NJson = nlohmann::json;

// Only guards the loader against absurd input; no real scenario comes near it.
constexpr size_t kMaxJsonDepth = 256;

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

}  // namespace

bool parse_document(std::string_view text, const std::string& file, Document& doc, Diagnostics& diag) {
  DocumentBuilder builder(doc, file, diag);
  bool parsed = NJson::sax_parse(text, &builder, NJson::input_format_t::json, true, false);
  if (builder.failure) {
    report_syntax_error(text, file, builder, diag);
    return false;
  }
  if (!parsed || builder.too_deep || !doc.has_root()) {
    if (!diag.has_errors()) diag.syntax(file, 0, 0, "the file is not valid JSON");
    return false;
  }
  return true;
}

}  // namespace sim::scenario::load
