#include "json_writer.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include <stdexcept>
#include "text.h"

namespace wick::cli {

namespace {
// Misuse of the writer is a bug in the tool, not a problem with a file.
void expect(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("JsonWriter: ") + what);
}

void append_json_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default:
      text_detail::append_u_escape(out, c);
  }
}
}  // namespace

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
        append_json_escape(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    bool truncated = false;
    const std::size_t len = text_detail::utf8_sequence(s, i, cp, truncated);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: JSON text is Unicode and cannot hold the byte
      ++i;
    } else {
      if (text_detail::is_hazard(cp)) {
        text_detail::append_u_escape(out, cp);
      } else {
        out.append(s.substr(i, len));
      }
      i += len;
    }
  }
  out += '"';
  return out;
}

void JsonWriter::newline_indent(std::size_t depth) {
  out_ << '\n';
  for (std::size_t i = 0; i < depth; ++i)
    out_ << "  ";
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  Level& level = stack_.back();
  expect(!level.object, "a value inside an object needs a key");
  if (!level.empty) out_ << ',';
  level.empty = false;
  newline_indent(stack_.size());
}

JsonWriter& JsonWriter::key(std::string_view k) {
  expect(!stack_.empty() && stack_.back().object && !after_key_, "a key outside an object");
  Level& level = stack_.back();
  if (!level.empty) out_ << ',';
  level.empty = false;
  newline_indent(stack_.size());
  out_ << json_string(k) << ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view text) {
  before_value();
  out_ << text;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ << '{';
  stack_.push_back(Level{true, true});
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ << '[';
  stack_.push_back(Level{false, true});
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  expect(!stack_.empty() && !after_key_ && stack_.back().object == (bracket == '}'),
         "unbalanced brackets");
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) newline_indent(stack_.size());
  out_ << bracket;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  return close('}');
}

JsonWriter& JsonWriter::end_array() {
  return close(']');
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  out_ << json_string(s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  return raw(b ? "true" : "false");
}

JsonWriter& JsonWriter::value(double d) {
  if (!std::isfinite(d)) return null();
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string text(buf, res.ptr);
  // Keep a float a float for readers that tell 1 from 1.0.
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return raw(text);
}

JsonWriter& JsonWriter::value(const Shape& shape) {
  begin_array();
  for (const int64_t d : shape)
    value(d);
  return end_array();
}

JsonWriter& JsonWriter::null() {
  return raw("null");
}

JsonWriter& JsonWriter::value(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None:
      return null();
    case Value::Kind::Bool:
      return value(v.as_bool());
    case Value::Kind::Int:
      return value(v.as_int());
    case Value::Kind::Float:
      return value(v.as_float());
    case Value::Kind::String:
      return value(std::string_view(v.as_string()));
    default: {
      std::ostringstream repr;
      repr << v;
      return value(std::string_view(repr.str()));
    }
  }
}

void JsonWriter::finish() {
  expect(stack_.empty() && !after_key_, "unclosed document");
  out_ << '\n';
}

}  // namespace wick::cli
