#pragma once
// The --json reports, written as they are produced: no document is built in memory, so a report
// costs the time of its own bytes and the memory of its deepest nesting, however many keys or
// entries the file has (an ordered JSON object with keyed inserts made 200k metadata keys
// take 31 s).

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/shape.h"
#include "wick/core/value.h"

namespace wick::cli {

/// Writes one JSON document to a stream, indented by 2. Strings are escaped so the output is
/// safe on a terminal as well as exact: controls, DEL, C1 and bidi/format characters as \uNNNN.
/// JSON cannot hold bytes that are not UTF-8: each such byte becomes U+FFFD.
class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next member's name (inside an object).
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T v) { return raw(std::to_string(v)); }
  /// Shortest round-trip digits, always with a '.' or exponent; NaN and infinities as null
  /// (JSON has neither).
  JsonWriter& value(double d);
  JsonWriter& value(const Shape& shape);
  JsonWriter& null();
  /// A scalar Value as JSON (none -> null); anything else as its repr string.
  JsonWriter& value(const Value& v);

  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  /// Ends the document with a newline; every container must be closed.
  void finish();

 private:
  struct Level {
    bool object;
    bool empty;
  };
  void before_value();
  JsonWriter& raw(std::string_view text);
  JsonWriter& close(char bracket);
  void newline_indent(std::size_t depth);

  std::ostream& out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

/// `s` as a JSON string literal, quotes included (see JsonWriter for the escaping).
std::string json_string(std::string_view s);

}  // namespace wick::cli
