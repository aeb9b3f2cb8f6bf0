// Lists derived from the op table.
#include "sim/model/op_table.hpp"

namespace sim::model {

std::optional<OpKind> op_from_name(std::string_view name) {
  for (const OpInfo& op : kOpTable)
    if (!op.internal && op.name == name) return op.kind;
  return std::nullopt;
}

const std::vector<std::string>& public_op_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const OpInfo& op : kOpTable)
      if (!op.internal) v.emplace_back(op.name);
    return v;
  }();
  return names;
}

std::vector<std::string> op_keys(OpKind k) {
  std::vector<std::string> keys;
  for (std::string_view key : op_info(k).required) keys.emplace_back(key);
  for (std::string_view key : op_info(k).optional) keys.emplace_back(key);
  return keys;
}

const std::string& time_passing_op_list() {
  static const std::string text = [] {
    std::vector<std::string_view> names;
    for (const OpInfo& op : kOpTable)
      if (!op.internal && (op.takes_time || op.may_block)) names.push_back(op.name);
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
      out += names[i];
    }
    return out;
  }();
  return text;
}

}  // namespace sim::model
