// wick::Value accessors, printing (Python's repr) and structural equality.
//
// Printing and operator== recurse once per nesting level. That is bounded in practice: the file
// reader rejects trees deeper than 512 levels, and a tree built in C++ is as deep as its author
// made it (its destructor recurses just the same).

#include "wick/io/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

#include "wick/core/error.h"
#include "wick/core/ops.h"
#include "wick/core/print.h"

namespace wick {
namespace {

// Dict lookups list the keys present; a state_dict can have thousands, so the message stops here.
constexpr std::size_t kMaxKeysInMessage = 20;

// "a tensor", "an int": the kind with its article, for "expected ..." messages.
std::string with_article(Value::Kind kind) {
  const std::string_view name = kind_name(kind);
  const bool vowel = name.front() == 'i';  // only "int" among the kind names
  return std::string(vowel ? "an " : "a ") + std::string(name);
}

[[noreturn]] void throw_kind(std::string_view op, std::string_view expected, Value::Kind got) {
  throw ArgumentError(detail::cat(op, ": expected ", expected, ", got ", kind_name(got)));
}

template <class T, class Variant>
const T& get_or_throw(const Variant& v, Value::Kind want, std::string_view op) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw_kind(op, with_article(want), static_cast<Value::Kind>(v.index()));
}

std::string quoted_keys(const Dict& dict) {
  if (dict.empty()) return "none";
  std::string out;
  std::size_t shown = 0;
  for (const auto& [key, value] : dict) {
    if (shown == kMaxKeysInMessage) {
      out += detail::cat(", ... (", dict.size() - shown, " more)");
      break;
    }
    out += (shown++ == 0 ? "'" : ", '") + key + "'";
  }
  return out;
}

void write_hex_escape(std::ostream& out, unsigned value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out << "\\x" << kHex[(value >> 4) & 0xF] << kHex[value & 0xF];
}

// Length of the valid UTF-8 sequence starting at s[i] (2 to 4 bytes) and its code point, or 0
// when the bytes there are not one (overlong, surrogate, out of range or truncated).
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned lead = byte(i);
  std::size_t len = 0;
  char32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Python's str repr. Strings are taken as UTF-8: valid multi-byte characters print as they are,
// except the Latin-1 ones Python does not consider printable (C1 controls, no-break space, soft
// hyphen), which print as \xNN like Python; bytes that are not valid UTF-8 print as \xNN too.
// (Python also escapes rarer non-printable code points as \uNNNN; those pass through here.)
void write_string_repr(std::ostream& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out << quote;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out << '\\' << s[i++];
    } else if (c == '\n') {
      out << "\\n", ++i;
    } else if (c == '\r') {
      out << "\\r", ++i;
    } else if (c == '\t') {
      out << "\\t", ++i;
    } else if (c < 0x20 || c == 0x7F) {
      write_hex_escape(out, c), ++i;
    } else if (c < 0x80) {
      out << s[i++];
    } else {
      char32_t cp = 0;
      const std::size_t len = utf8_sequence(s, i, cp);
      if (len == 0) {
        write_hex_escape(out, c), ++i;
      } else if (cp <= 0xA0 || cp == 0xAD) {
        write_hex_escape(out, static_cast<unsigned>(cp)), i += len;
      } else {
        out << s.substr(i, len), i += len;
      }
    }
  }
  out << quote;
}

// Python's float repr: the shortest digits that round-trip, positional when the decimal exponent
// is in [-4, 16), scientific ("1e+16", "1e-05") otherwise, and ".0" on integral values.
void write_float_repr(std::ostream& out, double x) {
  if (std::isnan(x)) {
    out << "nan";
    return;
  }
  if (std::isinf(x)) {
    out << (x < 0 ? "-inf" : "inf");
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci is "[-]d[.ddd]e(+|-)XX".
  const std::size_t e_pos = sci.find('e');
  const bool negative = sci.front() == '-';
  std::string digits;
  for (char c : sci.substr(negative ? 1 : 0, e_pos - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  const std::string_view exp_text = sci.substr(e_pos + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0),
                  exp_text.data() + exp_text.size(), exponent);

  if (negative) out << '-';
  if (exponent < -4 || exponent >= 16) {
    out << digits.front();
    if (digits.size() > 1) out << '.' << std::string_view(digits).substr(1);
    out << 'e' << (exponent < 0 ? '-' : '+');
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out << '0';
    out << magnitude;
  } else if (exponent < 0) {
    out << "0." << std::string(static_cast<std::size_t>(-exponent - 1), '0') << digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out << digits << std::string(int_len - digits.size(), '0') << ".0";
    } else {
      out << std::string_view(digits).substr(0, int_len) << '.'
          << std::string_view(digits).substr(int_len);
    }
  }
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool tensors_equal(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return bitwise_equal(a, b);
}

}  // namespace

Value::Value(const TensorDict& dict) : v_(Dict()) {
  Dict& out = std::get<Dict>(v_);
  for (const auto& [key, tensor] : dict)
    out.insert(key, Value(tensor));
}

bool Value::as_bool() const {
  return get_or_throw<bool>(v_, Kind::Bool, "Value::as_bool");
}

int64_t Value::as_int() const {
  return get_or_throw<int64_t>(v_, Kind::Int, "Value::as_int");
}

double Value::as_float() const {
  if (const auto* d = std::get_if<double>(&v_)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v_)) return static_cast<double>(*i);
  throw_kind("Value::as_float", "a float or int", kind());
}

const std::string& Value::as_string() const {
  return get_or_throw<std::string>(v_, Kind::String, "Value::as_string");
}

const Tensor& Value::tensor() const {
  return get_or_throw<Tensor>(v_, Kind::Tensor, "Value::tensor");
}
Tensor& Value::tensor() {
  return const_cast<Tensor&>(std::as_const(*this).tensor());
}

const List& Value::list() const {
  return get_or_throw<List>(v_, Kind::List, "Value::list");
}
List& Value::list() {
  return const_cast<List&>(std::as_const(*this).list());
}

const Dict& Value::dict() const {
  return get_or_throw<Dict>(v_, Kind::Dict, "Value::dict");
}
Dict& Value::dict() {
  return const_cast<Dict&>(std::as_const(*this).dict());
}

const Value& Value::operator[](std::size_t i) const {
  const List& items = get_or_throw<List>(v_, Kind::List, detail::cat("Value[", i, "]"));
  WICK_CHECK(i < items.size(), ArgumentError, "Value[", i, "]: index ", i,
             " out of range for a list of ", items.size(), items.size() == 1 ? " item" : " items");
  return items[i];
}
Value& Value::operator[](std::size_t i) {
  return const_cast<Value&>(std::as_const(*this)[i]);
}

const Value& Value::operator[](std::string_view key) const {
  const std::string op = detail::cat("Value[\"", key, "\"]");
  const Dict& entries = get_or_throw<Dict>(v_, Kind::Dict, op);
  if (const Value* v = entries.find(key)) return *v;
  throw ArgumentError(detail::cat(op, ": no key '", key, "' (keys: ", quoted_keys(entries), ")"));
}
Value& Value::operator[](std::string_view key) {
  return const_cast<Value&>(std::as_const(*this)[key]);
}

std::size_t Value::size() const {
  if (const auto* l = std::get_if<List>(&v_)) return l->size();
  if (const auto* d = std::get_if<Dict>(&v_)) return d->size();
  throw_kind("Value::size", "a list or dict", kind());
}

TensorDict Value::to_tensor_dict() const {
  constexpr std::string_view kOp = "Value::to_tensor_dict";
  constexpr std::string_view kWant = "expected a dict of tensors (a state_dict)";
  const auto* entries = std::get_if<Dict>(&v_);
  WICK_CHECK(entries != nullptr, ArgumentError, kOp, ": ", kWant, ", got ", kind_name(kind()));
  TensorDict out;
  for (const auto& [key, value] : *entries) {
    WICK_CHECK(value.is_tensor(), ArgumentError, kOp, ": ", kWant, ", but entry '", key, "' is ",
               kind_name(value.kind()), ", not a tensor");
    out.insert(key, value.tensor());
  }
  return out;
}

std::string_view kind_name(Value::Kind kind) noexcept {
  switch (kind) {
    case Value::Kind::None:
      return "none";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "string";
    case Value::Kind::Tensor:
      return "tensor";
    case Value::Kind::List:
      return "list";
    case Value::Kind::Dict:
      return "dict";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None:
      return out << "None";
    case Value::Kind::Bool:
      return out << (v.as_bool() ? "True" : "False");
    case Value::Kind::Int:
      return out << v.as_int();
    case Value::Kind::Float:
      write_float_repr(out, v.as_float());
      return out;
    case Value::Kind::String:
      write_string_repr(out, v.as_string());
      return out;
    case Value::Kind::Tensor:
      return out << v.tensor();
    case Value::Kind::List: {
      out << '[';
      const char* sep = "";
      for (const Value& item : v.list())
        out << std::exchange(sep, ", ") << item;
      return out << ']';
    }
    case Value::Kind::Dict: {
      out << '{';
      const char* sep = "";
      for (const auto& [key, item] : v.dict()) {
        out << std::exchange(sep, ", ");
        write_string_repr(out, key);
        out << ": " << item;
      }
      return out << '}';
    }
  }
  return out;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::None:
      return true;
    case Value::Kind::Bool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::Int:
      return a.as_int() == b.as_int();
    case Value::Kind::Float:
      // Bitwise, like tensors: a NaN equals itself and -0.0 differs from 0.0, so a value read
      // back from a file compares equal to what was written.
      return same_bits(a.as_float(), b.as_float());
    case Value::Kind::String:
      return a.as_string() == b.as_string();
    case Value::Kind::Tensor:
      return tensors_equal(a.tensor(), b.tensor());
    case Value::Kind::List: {
      const List& x = a.list();
      const List& y = b.list();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!(x[i] == y[i])) return false;
      }
      return true;
    }
    case Value::Kind::Dict: {
      const Dict& x = a.dict();
      const Dict& y = b.dict();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first || !(i->second == j->second)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace wick
