#pragma once
/// \file
/// Element types of wick tensors, their sizes and names, and the PyTorch type-promotion rules.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>
#include <type_traits>

#include "wick/core/half.h"

namespace wick {

/// Element type of a tensor. The numeric codes are stable: the file format stores them.
enum class DType : uint8_t {
  Bool = 0,
  UInt8 = 1,
  Int8 = 2,
  Int16 = 3,
  Int32 = 4,
  Int64 = 5,
  Float16 = 6,
  BFloat16 = 7,
  Float32 = 8,
  Float64 = 9,
};

/// Short names for the dtypes, as torch.bool, torch.uint8, ... (wick::kFloat32).
///@{
inline constexpr DType kBool = DType::Bool;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kInt8 = DType::Int8;
inline constexpr DType kInt16 = DType::Int16;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kBFloat16 = DType::BFloat16;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
///@}

/// Number of dtypes; codes are 0 .. kNumDTypes - 1.
inline constexpr int kNumDTypes = 10;

/// Bytes per element.
constexpr std::size_t dtype_size(DType d) noexcept {
  switch (d) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8:
      return 1;
    case DType::Int16:
    case DType::Float16:
    case DType::BFloat16:
      return 2;
    case DType::Int32:
    case DType::Float32:
      return 4;
    case DType::Int64:
    case DType::Float64:
      return 8;
  }
  return 0;
}

/// True for float16, bfloat16, float32, float64.
constexpr bool is_floating(DType d) noexcept {
  return d == DType::Float16 || d == DType::BFloat16 || d == DType::Float32 || d == DType::Float64;
}

/// True for the integer dtypes (bool excluded).
constexpr bool is_integral(DType d) noexcept {
  return d == DType::UInt8 || d == DType::Int8 || d == DType::Int16 || d == DType::Int32 ||
         d == DType::Int64;
}

/// PyTorch's name without prefix: "float32", "int64", "bool", ...
std::string_view dtype_name(DType d) noexcept;

/// Parses a name produced by dtype_name(); nullopt for anything else.
std::optional<DType> dtype_from_name(std::string_view name) noexcept;

/// Validates a stored dtype code; nullopt when it names no dtype.
std::optional<DType> dtype_from_code(uint8_t code) noexcept;

/// Streams "wick.float32" style names, as PyTorch prints "torch.float32".
std::ostream& operator<<(std::ostream& out, DType d);

/// The dtype of `a op b` for two tensors (PyTorch's promote_types).
DType promote_types(DType a, DType b) noexcept;

/// C++ element type for each dtype.
template <DType D>
struct dtype_traits;
/// dtype_traits for DType::Bool.
template <>
struct dtype_traits<DType::Bool> {
  using type = bool;  ///< the C++ element type
};
/// dtype_traits for DType::UInt8.
template <>
struct dtype_traits<DType::UInt8> {
  using type = uint8_t;  ///< the C++ element type
};
/// dtype_traits for DType::Int8.
template <>
struct dtype_traits<DType::Int8> {
  using type = int8_t;  ///< the C++ element type
};
/// dtype_traits for DType::Int16.
template <>
struct dtype_traits<DType::Int16> {
  using type = int16_t;  ///< the C++ element type
};
/// dtype_traits for DType::Int32.
template <>
struct dtype_traits<DType::Int32> {
  using type = int32_t;  ///< the C++ element type
};
/// dtype_traits for DType::Int64.
template <>
struct dtype_traits<DType::Int64> {
  using type = int64_t;  ///< the C++ element type
};
/// dtype_traits for DType::Float16.
template <>
struct dtype_traits<DType::Float16> {
  using type = Half;  ///< the C++ element type
};
/// dtype_traits for DType::BFloat16.
template <>
struct dtype_traits<DType::BFloat16> {
  using type = BFloat16;  ///< the C++ element type
};
/// dtype_traits for DType::Float32.
template <>
struct dtype_traits<DType::Float32> {
  using type = float;  ///< the C++ element type
};
/// dtype_traits for DType::Float64.
template <>
struct dtype_traits<DType::Float64> {
  using type = double;  ///< the C++ element type
};

/// The dtype whose element type is exactly T (compile error for anything else).
template <class T>
constexpr DType dtype_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>)
    return DType::Bool;
  else if constexpr (std::is_same_v<U, uint8_t>)
    return DType::UInt8;
  else if constexpr (std::is_same_v<U, int8_t>)
    return DType::Int8;
  else if constexpr (std::is_same_v<U, int16_t>)
    return DType::Int16;
  else if constexpr (std::is_same_v<U, int32_t>)
    return DType::Int32;
  else if constexpr (std::is_same_v<U, int64_t>)
    return DType::Int64;
  else if constexpr (std::is_same_v<U, Half>)
    return DType::Float16;
  else if constexpr (std::is_same_v<U, BFloat16>)
    return DType::BFloat16;
  else if constexpr (std::is_same_v<U, float>)
    return DType::Float32;
  else if constexpr (std::is_same_v<U, double>)
    return DType::Float64;
  else
    static_assert(sizeof(T) == 0, "no wick dtype for this C++ type");
}

/// Tag carrying an element type through visit_dtype.
template <class T>
struct TypeTag {
  using type = T;  ///< the element type
};

/// Calls f(TypeTag<T>{}) with the element type of `d`.
template <class F>
decltype(auto) visit_dtype(DType d, F&& f) {
  switch (d) {
    case DType::Bool:
      return f(TypeTag<bool>{});
    case DType::UInt8:
      return f(TypeTag<uint8_t>{});
    case DType::Int8:
      return f(TypeTag<int8_t>{});
    case DType::Int16:
      return f(TypeTag<int16_t>{});
    case DType::Int32:
      return f(TypeTag<int32_t>{});
    case DType::Int64:
      return f(TypeTag<int64_t>{});
    case DType::Float16:
      return f(TypeTag<Half>{});
    case DType::BFloat16:
      return f(TypeTag<BFloat16>{});
    case DType::Float32:
      return f(TypeTag<float>{});
    case DType::Float64:
      return f(TypeTag<double>{});
  }
  return f(TypeTag<float>{});  // unreachable for valid enum values
}

}  // namespace wick
