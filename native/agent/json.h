// A small JSON reader and writer for the guest agent, which has no Node to lean on. The reader is
// bounded (input size by the caller's frame limit, nesting by kMaxDepth) and never trusts its
// input: every malformed text ends in ParseError, never in undefined behaviour. The writer
// produces what JavaScript's JSON.stringify produces for the same value (numbers in ECMAScript's
// shortest form, the same escapes), so that the C++ session server's messages and error reasons
// match the TypeScript server's byte for byte (docs/protocol.md, test/fixtures/protocol/).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqb::json {

enum class Type { null, boolean, number, string, array, object };

// Nesting deeper than this is refused as not JSON (recursion bound; JavaScript has none).
constexpr int kMaxDepth = 256;

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::boolean), b_(b) {}
  Value(double n) : type_(Type::number), n_(n) {}
  Value(int n) : type_(Type::number), n_(n) {}
  Value(unsigned n) : type_(Type::number), n_(n) {}
  Value(long n) : type_(Type::number), n_(static_cast<double>(n)) {}
  Value(unsigned long n) : type_(Type::number), n_(static_cast<double>(n)) {}
  Value(long long n) : type_(Type::number), n_(static_cast<double>(n)) {}
  Value(unsigned long long n) : type_(Type::number), n_(static_cast<double>(n)) {}
  Value(std::string s) : type_(Type::string), s_(std::move(s)) {}
  Value(const char* s) : type_(Type::string), s_(s) {}
  static Value array() { return Value(Type::array); }
  static Value object() { return Value(Type::object); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_bool() const { return type_ == Type::boolean; }
  bool is_number() const { return type_ == Type::number; }
  bool is_string() const { return type_ == Type::string; }
  bool is_array() const { return type_ == Type::array; }
  bool is_object() const { return type_ == Type::object; }
  // A finite number with no fraction (JavaScript's Number.isInteger).
  bool is_integer() const;

  bool boolean() const { return b_; }
  double number() const { return n_; }
  const std::string& str() const { return s_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }

  // Object member by key; the last of duplicate keys wins, as in JSON.parse. nullptr if absent.
  const Value* get(std::string_view key) const;
  // Builders: set() replaces an existing key in place (JavaScript keeps the first position).
  Value& set(std::string key, Value v);
  Value& push(Value v);

 private:
  explicit Value(Type t) : type_(t) {}
  Type type_ = Type::null;
  bool b_ = false;
  double n_ = 0;
  std::string s_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one JSON text (RFC 8259; surrounding whitespace allowed). Strings must be valid UTF-8;
// a lone surrogate escape (\ud800) is kept as its 3-byte form so the writer can give it back.
Value parse(std::string_view text);

// JSON.stringify(v) without indentation.
std::string write(const Value& v);
// JSON.stringify of one number ("null" for NaN and infinities) and of one string.
std::string number_text(double n);
std::string quote(std::string_view s);

// The length JavaScript gives the string (UTF-16 code units), and its first n units as
// String.prototype.slice(0, n) cuts them (a pair cut in half leaves its high surrogate).
size_t utf16_length(std::string_view s);
std::string utf16_prefix(std::string_view s, size_t n);

// Bytes that are not valid UTF-8 replaced by U+FFFD, as TextDecoder does (command output).
std::string sanitize_utf8(std::string_view s);
bool valid_utf8(std::string_view s);

}  // namespace mqb::json
