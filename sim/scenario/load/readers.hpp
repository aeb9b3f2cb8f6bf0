// Generic helpers of the scenario loader: JSON Pointer building, quoting values for messages,
// "(got ...)" descriptions, did-you-mean suggestions and control-character detection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/scenario/load/document.hpp"

namespace sim::scenario::load {

using Json = Value;

// A string as JSON would write it, cut after 40 characters so one bad value cannot flood a
// report; control characters (C0, DEL, C1) are escaped as \uXXXX.
std::string quote(std::string_view s);
// RFC 6901: "~" and "/" inside a reference token are written "~0" and "~1".
std::string at(const std::string& base, std::string_view key);
std::string at(const std::string& base, size_t index);
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");
// "\"a\", \"b\" or \"c\"", for messages listing the allowed spellings.
std::string one_of(const std::vector<std::string>& names, std::string_view last = " or ");
// What a value is, for "(got ...)": the value itself for scalars, the kind for containers.
std::string got(const Json& v);
// A scalar as written in the file (strings quoted), for "(got -5)" after a type was accepted.
std::string written(const Json& v);
const Json* member(const Json& obj, std::string_view key);
bool is_id_char(char c);
std::string lower(std::string s);
// The candidate a misspelt word most likely meant, or "".
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);
// The first control character in UTF-8 text (C0, DEL or C1: U+0000-U+001F, U+007F-U+009F) as
// (code point, 1-based character position), or nullopt.
std::optional<std::pair<uint32_t, size_t>> control_character(std::string_view s);

}  // namespace sim::scenario::load
