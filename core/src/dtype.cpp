#include "wick/core/dtype.h"

#include <array>
#include <ostream>

namespace wick {

namespace {
constexpr std::array<std::string_view, kNumDTypes> kNames = {
    "bool",  "uint8",   "int8",     "int16",   "int32",
    "int64", "float16", "bfloat16", "float32", "float64"};

// Category order used by promotion: bool < integers < floating.
constexpr int category(DType d) noexcept {
  return d == DType::Bool ? 0 : is_integral(d) ? 1 : 2;
}
}  // namespace

std::string_view dtype_name(DType d) noexcept {
  const auto code = static_cast<std::size_t>(d);
  return code < kNames.size() ? kNames[code] : std::string_view("invalid");
}

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_code(uint8_t code) noexcept {
  if (code >= kNumDTypes) return std::nullopt;
  return static_cast<DType>(code);
}

std::ostream& operator<<(std::ostream& out, DType d) {
  return out << "wick." << dtype_name(d);
}

DType promote_types(DType a, DType b) noexcept {
  if (a == b) return a;
  const int ca = category(a);
  const int cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  if (ca == 2) {
    // float16 with bfloat16 has no common 16-bit type: PyTorch gives float32.
    if ((a == DType::Float16 && b == DType::BFloat16) ||
        (a == DType::BFloat16 && b == DType::Float16))
      return DType::Float32;
    return dtype_size(a) >= dtype_size(b) ? a : b;
  }
  // Integers: uint8 with a signed type needs the next wider signed type (uint8 + int8 -> int16).
  const bool a_unsigned = a == DType::UInt8;
  const bool b_unsigned = b == DType::UInt8;
  if (a_unsigned || b_unsigned) {
    const DType other = a_unsigned ? b : a;
    return other == DType::Int8 ? DType::Int16 : other;
  }
  return dtype_size(a) >= dtype_size(b) ? a : b;
}

}  // namespace wick
