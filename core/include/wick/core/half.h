#pragma once
/// \file
/// 16-bit floating-point storage types: IEEE binary16 (`Half`) and bfloat16 (`BFloat16`).
/// Arithmetic happens in float; these types only store bits and convert with
/// round-to-nearest-even, keeping NaN quiet and signed, inf as inf, and subnormals exact.

#include <cstdint>

namespace wick {

/// Converts a float to IEEE binary16 bits, round-to-nearest-even; overflow gives +-inf.
uint16_t float_to_half_bits(float value) noexcept;
/// Converts a double to IEEE binary16 bits with a single rounding (no double rounding via float).
uint16_t double_to_half_bits(double value) noexcept;
/// Converts IEEE binary16 bits to float exactly.
float half_bits_to_float(uint16_t bits) noexcept;
/// Converts a float to bfloat16 bits, round-to-nearest-even; NaN stays a quiet NaN.
uint16_t float_to_bfloat16_bits(float value) noexcept;
/// Converts a double to bfloat16 bits with a single rounding.
uint16_t double_to_bfloat16_bits(double value) noexcept;
/// Converts bfloat16 bits to float exactly.
float bfloat16_bits_to_float(uint16_t bits) noexcept;

/// IEEE 754 binary16 value (wick.float16).
struct Half {
  uint16_t bits = 0;  ///< the binary16 bit pattern

  Half() = default;
  /// Rounds `value` to the nearest binary16 (ties to even).
  explicit Half(float value) noexcept : bits(float_to_half_bits(value)) {}
  /// Rounds `value` to the nearest binary16 (ties to even).
  explicit Half(double value) noexcept : bits(double_to_half_bits(value)) {}
  /// Exact widening conversion.
  operator float() const noexcept { return half_bits_to_float(bits); }
  /// Wraps raw bits without conversion.
  static Half from_bits(uint16_t raw) noexcept {
    Half h;
    h.bits = raw;
    return h;
  }
};

/// Brain floating point value (wick.bfloat16): the top 16 bits of a float32.
struct BFloat16 {
  uint16_t bits = 0;  ///< the bfloat16 bit pattern (a float32's top half)

  BFloat16() = default;
  /// Rounds `value` to the nearest bfloat16 (ties to even).
  explicit BFloat16(float value) noexcept : bits(float_to_bfloat16_bits(value)) {}
  /// Rounds `value` to the nearest bfloat16 (ties to even).
  explicit BFloat16(double value) noexcept : bits(double_to_bfloat16_bits(value)) {}
  /// Exact widening conversion.
  operator float() const noexcept { return bfloat16_bits_to_float(bits); }
  /// Wraps raw bits without conversion.
  static BFloat16 from_bits(uint16_t raw) noexcept {
    BFloat16 b;
    b.bits = raw;
    return b;
  }
};

static_assert(sizeof(Half) == 2 && sizeof(BFloat16) == 2);

}  // namespace wick
