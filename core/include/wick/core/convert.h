#pragma once
/// \file
/// Element conversion rules shared by Tensor::to, Scalar and every op that changes dtype.
///
/// - floating -> floating: round to nearest, ties to even; NaN, inf and signed zero preserved.
/// - floating -> integer: truncate toward zero; values beyond the target range saturate;
///   NaN becomes 0 (C++ leaves this undefined; PyTorch gives platform-dependent garbage).
/// - integer -> narrower integer: two's-complement wrap-around, as in C++ and PyTorch.
/// - anything -> bool: non-zero (NaN included) is true.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "wick/core/half.h"

namespace wick {

namespace detail {
template <class T>
inline constexpr bool is_half_like_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <class To>
To float_to_int(double v) noexcept {
  if (std::isnan(v)) return 0;
  // The bounds -2^(n-1), 2^(n-1) and 2^n are exact in double, so the comparisons are exact.
  const double t = std::trunc(v);
  if constexpr (std::is_signed_v<To>) {
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::min());
    if (t < lo) return std::numeric_limits<To>::min();
    if (t >= -lo) return std::numeric_limits<To>::max();
  } else {
    constexpr double hi = 2.0 * static_cast<double>(std::numeric_limits<To>::max() / 2 + 1);
    if (t < 0) return 0;
    if (t >= hi) return std::numeric_limits<To>::max();
  }
  return static_cast<To>(t);
}
}  // namespace detail

/// Converts one element value between wick element types (see the file comment for the rules).
template <class To, class From>
To convert_value(From v) noexcept {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>) {
    return convert_value<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From{0};
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    if constexpr (std::is_floating_point_v<From>) {
      return To(v);
    } else if constexpr (std::is_same_v<From, bool>) {
      return To(v ? 1.0f : 0.0f);
    } else {
      // Integers above 2^24 would round twice through float; go through double instead.
      return To(static_cast<double>(v));
    }
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(v);
  } else if constexpr (std::is_floating_point_v<From>) {
    return detail::float_to_int<To>(static_cast<double>(v));
  } else {
    // Integer to integer: two's-complement wrap (well defined since C++20).
    return static_cast<To>(v);
  }
}

}  // namespace wick
