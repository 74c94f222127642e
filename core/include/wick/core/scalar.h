#pragma once
/// \file
/// A number of any kind (bool, integer, floating) passed to or returned from tensor ops.

#include <cstdint>
#include <iosfwd>
#include <type_traits>

#include "wick/core/dtype.h"

namespace wick {

/// Holds a bool, an int64 or a double exactly, so `t + 1` on an int64 tensor stays exact.
class Scalar {
 public:
  /// The kind of number held.
  enum class Kind : uint8_t { Bool, Int, Float };

  /// The int 0.
  Scalar() noexcept : kind_(Kind::Int), i_(0) {}
  /// From a C++ bool, integer or floating-point number (implicit, as a Python number would be).
  ///@{
  Scalar(bool v) noexcept : kind_(Kind::Bool), i_(v ? 1 : 0) {}  // NOLINT: implicit by design
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Scalar(T v)
  noexcept : kind_(Kind::Int), i_(static_cast<int64_t>(v)) {}  // NOLINT
  template <class T>
  requires std::is_floating_point_v<T> Scalar(T v)
  noexcept : kind_(Kind::Float), d_(static_cast<double>(v)) {}                    // NOLINT
  Scalar(Half v) noexcept : kind_(Kind::Float), d_(static_cast<float>(v)) {}      // NOLINT
  Scalar(BFloat16 v) noexcept : kind_(Kind::Float), d_(static_cast<float>(v)) {}  // NOLINT
  ///@}

  /// Which kind of number this holds.
  ///@{
  Kind kind() const noexcept { return kind_; }
  bool is_bool() const noexcept { return kind_ == Kind::Bool; }
  bool is_integral() const noexcept { return kind_ == Kind::Int; }
  bool is_floating() const noexcept { return kind_ == Kind::Float; }
  ///@}

  /// The value as double (exact for bools, floats, and integers up to 2^53).
  double to_double() const noexcept { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  /// The value as int64: floats truncate toward zero, saturate at the int64 range, NaN gives 0.
  int64_t to_int64() const noexcept;
  /// The value as bool: non-zero is true (NaN is true).
  bool to_bool() const noexcept { return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0; }

  /// Converts to element type T with wick's conversion rules (see Tensor::to).
  template <class T>
  T to() const noexcept;

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

/// Prints the value as Python would ("True", "3", "2.5").
std::ostream& operator<<(std::ostream& out, const Scalar& s);

}  // namespace wick

#include "wick/core/convert.h"

namespace wick {
template <class T>
T Scalar::to() const noexcept {
  switch (kind_) {
    case Kind::Bool:
      return convert_value<T>(i_ != 0);
    case Kind::Int:
      return convert_value<T>(i_);
    case Kind::Float:
      return convert_value<T>(d_);
  }
  return T{};
}
}  // namespace wick
