// JSON text to a Document: nlohmann's SAX parser feeding our own builder (duplicate keys are
// errors at their pointer; nesting is bounded), and syntax errors turned into one diagnostic at
// the line and column of the offending token, saying in plain words what was expected there.
#pragma once

#include <string>
#include <string_view>

#include "sim/core/diag.hpp"
#include "sim/scenario/load/document.hpp"

namespace sim::scenario::load {

// Parses `text` into `doc`; false (with diagnostics) when it is not one valid JSON value.
// Duplicate keys are reported too, but do not make it return false.
bool parse_document(std::string_view text, const std::string& file, Document& doc, core::Diagnostics& diag);

}  // namespace sim::scenario::load
