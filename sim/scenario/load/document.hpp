// A read-only JSON document for the loader: every value in one flat array, object members in
// file order, strings and keys in pools. Built from nlohmann's SAX events by DocumentBuilder
// (text_positions.hpp) in time and memory linear in the text; nlohmann's own ordered_json costs
// time quadratic in the size of an array when JSON_DIAGNOSTICS is on (every insertion re-parents
// every sibling), which made a 300,000-op program take most of a minute to load.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sim::scenario::load {

class Document;

class Value {
 public:
  enum class Type : uint8_t { null, boolean, integer, unsigned_integer, floating, string, array, object };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_boolean() const { return type_ == Type::boolean; }
  bool is_string() const { return type_ == Type::string; }
  bool is_array() const { return type_ == Type::array; }
  bool is_object() const { return type_ == Type::object; }
  bool is_primitive() const { return !is_array() && !is_object(); }
  bool is_number() const {
    return type_ == Type::integer || type_ == Type::unsigned_integer || type_ == Type::floating;
  }
  // As in nlohmann::json: an integer of either sign; "unsigned" is a non-negative integer.
  bool is_number_integer() const { return type_ == Type::integer || type_ == Type::unsigned_integer; }
  bool is_number_unsigned() const { return type_ == Type::unsigned_integer; }

  bool as_bool() const { return v_.b; }
  // The integer value (an unsigned one above INT64_MAX wraps; check is_number_unsigned first).
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_double() const;
  const std::string& str() const;

  // Arrays and objects: the number of elements or members; 0 for scalars.
  size_t size() const { return is_array() || is_object() ? v_.span.count : 0; }
  bool empty() const { return size() == 0; }
  // The i-th element of an array, or member of an object, in file order.
  const Value& operator[](size_t i) const;
  // An object's member by key, or nullptr (also for non-objects).
  const Value* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // The key of this value in its object ("" for array elements and the root).
  const std::string& key() const;

  // A scalar as JSON text, numbers formatted as nlohmann::json::dump does.
  std::string dump() const;

  static constexpr uint32_t kNoKeyId = 0xffffffffU;  // not an object member

  class Iterator {
   public:
    Iterator(const Value* c, size_t i) : c_(c), i_(i) {}
    const Value& operator*() const { return (*c_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const Value* c_;
    size_t i_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  friend class Document;
  static constexpr uint32_t kNoKey = kNoKeyId;
  const Document* doc_ = nullptr;
  Type type_ = Type::null;
  uint32_t key_ = kNoKey;
  union Payload {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    uint32_t str;
    struct {
      uint32_t first;  // into Document::children_
      uint32_t count;
    } span;
  } v_{};
};

class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  bool has_root() const { return root_ != kNone; }
  const Value& root() const { return nodes_[root_]; }
  size_t value_count() const { return nodes_.size(); }

  // Building, in SAX order: scalars and containers are appended; a container's children are the
  // values added between open() and close() at depth one below it.
  uint32_t add_null(uint32_t key);
  uint32_t add_bool(uint32_t key, bool b);
  uint32_t add_int(uint32_t key, int64_t i);
  uint32_t add_uint(uint32_t key, uint64_t u);
  uint32_t add_double(uint32_t key, double d);
  uint32_t add_string(uint32_t key, std::string s);
  uint32_t open(uint32_t key, bool object);  // returns the container's index
  void close(uint32_t container, size_t first_pending);
  // Children collected so far for the innermost open container start at this pending index.
  size_t pending_size() const { return pending_.size(); }
  // Interns a key; keys are compared by id.
  uint32_t intern(const std::string& key);
  const std::string& key_text(uint32_t id) const { return keys_[id]; }
  uint32_t key_of_pending(size_t i) const { return nodes_[pending_[i]].key_; }
  void set_root(uint32_t index) { root_ = index; }
  const Value& node(uint32_t index) const { return nodes_[index]; }

 private:
  friend class Value;
  static constexpr uint32_t kNone = 0xffffffffU;
  uint32_t add(Value v);

  std::vector<Value> nodes_;
  std::vector<uint32_t> children_;  // per container, its children's node indices, contiguous
  std::vector<uint32_t> pending_;   // children of the open containers, innermost last
  std::vector<std::string> strings_;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, uint32_t> key_ids_;  // lookups only; never iterated
  uint32_t root_ = kNone;
};

}  // namespace sim::scenario::load
