#pragma once
/// \file
/// wick::Value: what a wick file holds. A tree of none, bool, int, float, string, Tensor, list,
/// tuple and dict (string or int keys, insertion order): enough for a tensor, a list or dict of
/// tensors, a state_dict, an optimizer's state or a whole training checkpoint, and nothing that
/// could run code on load. It lives in core, beside Tensor, because it is not a file concept:
/// io reads and writes these trees, and nn builds them (PyTorch's optimizer state is one).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "wick/core/key.h"
#include "wick/core/ordered_dict.h"
#include "wick/core/tensor.h"
#include "wick/core/tensor_dict.h"

namespace wick {

class Value;
/// A list of values.
using List = std::vector<Value>;
/// Insertion-ordered Key -> Value map; keys are strings or ints.
using Dict = OrderedDict<Value, Key>;

/// A tuple of values: a List that stays a tuple through every format that has them (Python's
/// `(0.9, 0.999)`, the `betas` of Adam). A distinct type, so a Value knows which it holds.
class Tuple : public std::vector<Value> {
 public:
  using std::vector<Value>::vector;
  Tuple() = default;
  // Defined after Value: clang instantiates the body here, where Value is still incomplete.
  /// A tuple of `items`.
  explicit Tuple(std::vector<Value> items);
};

// GCC's -Wshadow flags the scoped enumerators Kind::List and Kind::Dict against wick::List and
// wick::Dict in every file that includes this header, though they cannot be confused.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
/// One node of a value tree. Copies are deep for lists, tuples and dicts; tensors are handles, so a
/// copied tree shares tensor storage with the original (like copying a Python list of tensors).
class Value {
 public:
  /// What a Value holds. The order matches the file format's tags loosely; do not rely on it.
  enum class Kind : uint8_t { None, Bool, Int, Float, String, Tensor, List, Dict, Tuple };

  /// none.
  Value() = default;
  /// None, a bool, an int (any integer type), a float, a string, a tensor, a list, a dict or
  /// a tuple, held by value (implicit, as Python values convert).
  ///@{
  Value(std::nullptr_t) {}  // NOLINT: implicit by design, like Python's None
  Value(bool v) : v_(v) {}  // NOLINT
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Value(T v)
      : v_(static_cast<int64_t>(v)) {}  // NOLINT
  template <class T>
  requires std::is_floating_point_v<T> Value(T v) : v_(static_cast<double>(v)) {}  // NOLINT
  Value(const char* v) : v_(std::string(v)) {}                                     // NOLINT
  Value(std::string v) : v_(std::move(v)) {}                                       // NOLINT
  Value(std::string_view v) : v_(std::string(v)) {}                                // NOLINT
  Value(Tensor v) : v_(std::move(v)) {}                                            // NOLINT
  Value(List v) : v_(std::move(v)) {}                                              // NOLINT
  Value(Dict v) : v_(std::move(v)) {}                                              // NOLINT
  Value(Tuple v) : v_(std::move(v)) {}                                             // NOLINT
  ///@}
  /// A list: `wick::save({x, y}, path)` saves a list of two tensors.
  Value(std::initializer_list<Value> items) : v_(List(items)) {}
  /// A dict of tensors (a state_dict), keeping its order.
  Value(const TensorDict& dict);  // NOLINT

  /// What this holds.
  ///@{
  Kind kind() const noexcept { return static_cast<Kind>(v_.index()); }
  bool is_none() const noexcept { return kind() == Kind::None; }
  bool is_bool() const noexcept { return kind() == Kind::Bool; }
  bool is_int() const noexcept { return kind() == Kind::Int; }
  bool is_float() const noexcept { return kind() == Kind::Float; }
  bool is_string() const noexcept { return kind() == Kind::String; }
  bool is_tensor() const noexcept { return kind() == Kind::Tensor; }
  bool is_list() const noexcept { return kind() == Kind::List; }
  bool is_dict() const noexcept { return kind() == Kind::Dict; }
  bool is_tuple() const noexcept { return kind() == Kind::Tuple; }
  ///@}

  /// The held value; ArgumentError naming the expected and actual kind otherwise.
  ///@{
  bool as_bool() const;
  int64_t as_int() const;
  ///@}
  /// A float, or an int converted to double (as Python accepts an int where a float is wanted).
  double as_float() const;
  /// The held value; ArgumentError naming the expected and actual kind otherwise.
  ///@{
  const std::string& as_string() const;
  const Tensor& tensor() const;
  Tensor& tensor();
  const List& list() const;
  List& list();
  const Dict& dict() const;
  Dict& dict();
  const Tuple& tuple() const;
  Tuple& tuple();
  ///@}

  /// Item `i` of a list or tuple; ArgumentError for another kind or an index out of range.
  ///@{
  const Value& operator[](std::size_t i) const;
  Value& operator[](std::size_t i);
  ///@}
  /// Entry `key` (a string key) of a dict; ArgumentError for another kind or a missing key.
  ///@{
  const Value& operator[](std::string_view key) const { return at(key); }
  Value& operator[](std::string_view key) { return at(key); }
  ///@}
  /// Entry `key` of a dict, a string or an int key: `state.at(0)` is the entry keyed by the
  /// int 0 (where `state[0]` would be item 0 of a list). ArgumentError for another kind or a
  /// missing key.
  ///@{
  const Value& at(const Key& key) const;
  Value& at(const Key& key);
  ///@}
  /// Number of items of a list, tuple or dict; ArgumentError for other kinds.
  std::size_t size() const;

  /// The value as a TensorDict: it must be a dict whose values are all tensors. ArgumentError
  /// otherwise, naming the first offending key and its kind.
  TensorDict to_tensor_dict() const;
  /// to_tensor_dict(), so `model.load_state_dict(wick::load(path))` reads naturally.
  operator TensorDict() const { return to_tensor_dict(); }  // NOLINT

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, List, Dict, Tuple> v_;
};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

inline Tuple::Tuple(std::vector<Value> items) : std::vector<Value>(std::move(items)) {}

/// "none", "bool", "int", "float", "string", "tensor", "list", "dict", "tuple".
std::string_view kind_name(Value::Kind kind) noexcept;

/// Prints like Python's repr of the equivalent object: `{'x': tensor([0, 1, 2, 3])}`,
/// `[tensor([0., 0.]), None, True, 3, 0.5, 'text']`, `{0: (0.9, 0.999)}`.
std::ostream& operator<<(std::ostream& out, const Value& v);

/// Structural equality: same kinds (so 1 != 1.0 != true, and a list is no tuple), same scalars,
/// same dict keys (the int 0 is not the string "0") in the same order, and
/// tensors equal in dtype, shape and bits (NaN payloads included). Floats compare by bits too, so
/// a value read back from a file equals what was written even when it holds NaN or -0.0.
bool operator==(const Value& a, const Value& b);

}  // namespace wick
