// wick::Value accessors, printing (Python's repr, repr.h) and structural equality.
//
// Printing and operator== recurse once per nesting level. That is bounded in practice: the file
// reader rejects trees deeper than 512 levels, and a tree built in C++ is as deep as its author
// made it (its destructor recurses just the same).

#include "wick/core/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

#include "repr.h"
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
    out += (shown++ == 0 ? "" : ", ") + key.repr();
  }
  return out;
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

const Tuple& Value::tuple() const {
  return get_or_throw<Tuple>(v_, Kind::Tuple, "Value::tuple");
}
Tuple& Value::tuple() {
  return const_cast<Tuple&>(std::as_const(*this).tuple());
}

const Dict& Value::dict() const {
  return get_or_throw<Dict>(v_, Kind::Dict, "Value::dict");
}
Dict& Value::dict() {
  return const_cast<Dict&>(std::as_const(*this).dict());
}

const Value& Value::operator[](std::size_t i) const {
  const std::vector<Value>* items = std::get_if<List>(&v_);
  if (items == nullptr) items = std::get_if<Tuple>(&v_);
  if (items == nullptr) throw_kind(detail::cat("Value[", i, "]"), "a list or tuple", kind());
  WICK_CHECK(i < items->size(), ArgumentError, "Value[", i, "]: index ", i, " out of range for a ",
             kind_name(kind()), " of ", items->size(), items->size() == 1 ? " item" : " items");
  return (*items)[i];
}
Value& Value::operator[](std::size_t i) {
  return const_cast<Value&>(std::as_const(*this)[i]);
}

const Value& Value::at(const Key& key) const {
  const std::string op = key.is_string() ? detail::cat("Value[\"", key.str(), "\"]")
                                         : detail::cat("Value.at(", key.as_int(), ")");
  const Dict& entries = get_or_throw<Dict>(v_, Kind::Dict, op);
  if (const Value* v = entries.find(key)) return *v;
  throw ArgumentError(detail::cat(op, ": no key ", key, " (keys: ", quoted_keys(entries), ")"));
}
Value& Value::at(const Key& key) {
  return const_cast<Value&>(std::as_const(*this).at(key));
}

std::size_t Value::size() const {
  if (const auto* l = std::get_if<List>(&v_)) return l->size();
  if (const auto* d = std::get_if<Dict>(&v_)) return d->size();
  if (const auto* t = std::get_if<Tuple>(&v_)) return t->size();
  throw_kind("Value::size", "a list, tuple or dict", kind());
}

TensorDict Value::to_tensor_dict() const {
  constexpr std::string_view kOp = "Value::to_tensor_dict";
  constexpr std::string_view kWant = "expected a dict of tensors (a state_dict)";
  const auto* entries = std::get_if<Dict>(&v_);
  WICK_CHECK(entries != nullptr, ArgumentError, kOp, ": ", kWant, ", got ", kind_name(kind()));
  TensorDict out;
  for (const auto& [key, value] : *entries) {
    WICK_CHECK(key.is_string(), ArgumentError, kOp, ": ", kWant, ", but key ", key,
               " is an int; a state_dict is keyed by name");
    WICK_CHECK(value.is_tensor(), ArgumentError, kOp, ": ", kWant, ", but entry ", key, " is ",
               kind_name(value.kind()), ", not a tensor");
    out.insert(key.str(), value.tensor());
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
    case Value::Kind::Tuple:
      return "tuple";
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
      detail::write_float_repr(out, v.as_float());
      return out;
    case Value::Kind::String:
      detail::write_string_repr(out, v.as_string());
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
      for (const auto& [key, item] : v.dict())
        out << std::exchange(sep, ", ") << key << ": " << item;
      return out << '}';
    }
    case Value::Kind::Tuple: {
      // Python's repr: (a, b), (a,) for one item, () for none.
      out << '(';
      const char* sep = "";
      for (const Value& item : v.tuple())
        out << std::exchange(sep, ", ") << item;
      return out << (v.tuple().size() == 1 ? ",)" : ")");
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
    case Value::Kind::List:
      return a.list() == b.list();
    case Value::Kind::Tuple:
      return static_cast<const std::vector<Value>&>(a.tuple()) ==
             static_cast<const std::vector<Value>&>(b.tuple());
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
