// The loader's flat JSON document.
#include "sim/scenario/load/document.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sim::scenario::load {

int64_t Value::as_int() const {
  switch (type_) {
    case Type::integer: return v_.i;
    case Type::unsigned_integer: return static_cast<int64_t>(v_.u);
    case Type::floating: return static_cast<int64_t>(v_.d);
    default: return 0;
  }
}

uint64_t Value::as_uint() const {
  switch (type_) {
    case Type::integer: return static_cast<uint64_t>(v_.i);
    case Type::unsigned_integer: return v_.u;
    case Type::floating: return static_cast<uint64_t>(v_.d);
    default: return 0;
  }
}

double Value::as_double() const {
  switch (type_) {
    case Type::integer: return static_cast<double>(v_.i);
    case Type::unsigned_integer: return static_cast<double>(v_.u);
    case Type::floating: return v_.d;
    default: return 0.0;
  }
}

const std::string& Value::str() const {
  static const std::string empty;
  return type_ == Type::string ? doc_->strings_[v_.str] : empty;
}

const Value& Value::operator[](size_t i) const {
  return doc_->nodes_[doc_->children_[v_.span.first + i]];
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  // Objects are small and lookups are by a fixed set of known keys, so a scan is linear overall.
  for (size_t i = 0; i < v_.span.count; ++i) {
    const Value& m = (*this)[i];
    if (doc_->keys_[m.key_] == key) return &m;
  }
  return nullptr;
}

const std::string& Value::key() const {
  static const std::string empty;
  return key_ == kNoKey ? empty : doc_->keys_[key_];
}

std::string Value::dump() const {
  switch (type_) {
    case Type::null: return "null";
    case Type::boolean: return v_.b ? "true" : "false";
    case Type::integer: return fmt::format("{}", v_.i);
    case Type::unsigned_integer: return fmt::format("{}", v_.u);
    case Type::floating: return nlohmann::json(v_.d).dump();
    case Type::string: return nlohmann::json(str()).dump();
    case Type::array: return "[...]";
    case Type::object: return "{...}";
  }
  return "";
}

uint32_t Document::add(Value v) {
  v.doc_ = this;
  auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(v);
  pending_.push_back(index);
  return index;
}

uint32_t Document::add_null(uint32_t key) {
  Value v;
  v.key_ = key;
  return add(v);
}

uint32_t Document::add_bool(uint32_t key, bool b) {
  Value v;
  v.type_ = Value::Type::boolean;
  v.key_ = key;
  v.v_.b = b;
  return add(v);
}

uint32_t Document::add_int(uint32_t key, int64_t i) {
  Value v;
  v.type_ = Value::Type::integer;
  v.key_ = key;
  v.v_.i = i;
  return add(v);
}

uint32_t Document::add_uint(uint32_t key, uint64_t u) {
  Value v;
  v.type_ = Value::Type::unsigned_integer;
  v.key_ = key;
  v.v_.u = u;
  return add(v);
}

uint32_t Document::add_double(uint32_t key, double d) {
  Value v;
  v.type_ = Value::Type::floating;
  v.key_ = key;
  v.v_.d = d;
  return add(v);
}

uint32_t Document::add_string(uint32_t key, std::string s) {
  Value v;
  v.type_ = Value::Type::string;
  v.key_ = key;
  v.v_.str = static_cast<uint32_t>(strings_.size());
  strings_.push_back(std::move(s));
  return add(v);
}

uint32_t Document::open(uint32_t key, bool object) {
  Value v;
  v.type_ = object ? Value::Type::object : Value::Type::array;
  v.key_ = key;
  v.v_.span = {0, 0};
  uint32_t index = add(v);
  pending_.pop_back();  // the container joins its parent's children when it closes
  return index;
}

void Document::close(uint32_t container, size_t first_pending) {
  Value& c = nodes_[container];
  c.v_.span.first = static_cast<uint32_t>(children_.size());
  c.v_.span.count = static_cast<uint32_t>(pending_.size() - first_pending);
  children_.insert(children_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(first_pending),
                   pending_.end());
  pending_.resize(first_pending);
  pending_.push_back(container);
}

uint32_t Document::intern(const std::string& key) {
  auto [it, added] = key_ids_.try_emplace(key, static_cast<uint32_t>(keys_.size()));
  if (added) keys_.push_back(key);
  return it->second;
}

}  // namespace sim::scenario::load
