#pragma once
/// \file
/// Factory functions: empty, zeros, ones, full, arange, and tensors from C++ values.

#include <initializer_list>
#include <type_traits>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// Uninitialised contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = kFloat32);
/// Tensor of zeros.
Tensor zeros(const Shape& shape, DType dtype = kFloat32);
/// Tensor of ones.
Tensor ones(const Shape& shape, DType dtype = kFloat32);
/// Tensor filled with `value` converted to `dtype`.
Tensor full(const Shape& shape, Scalar value, DType dtype = kFloat32);
/// empty/zeros/ones with the shape and dtype of `like`.
///@{
Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
///@}

/// 0, 1, ..., end-1 (torch.arange(end)): int64 for an integer `end`, float32 for a floating one.
Tensor arange(Scalar end);
/// start, start+step, ... < end (> end for a negative step), with ceil((end-start)/step) elements,
/// as torch.arange: int64 when all three are integers (`arange(0, 6)`), float32 (the default
/// dtype) when any is floating (`arange(0, 1, 0.25)`). ArgumentError for a zero or non-finite
/// step, a non-finite bound, or a range whose sign disagrees with step.
Tensor arange(Scalar start, Scalar end, Scalar step = 1);
/// The same with an explicit dtype. All-integer arguments with an integral dtype are computed
/// exactly in int64 (then wrapped to the dtype, as PyTorch); anything else in double, then
/// converted to `dtype`.
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype);

/// A tensor of `shape` holding `values` (row-major), dtype from T. ShapeError when the counts
/// differ.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);

/// A 1-d tensor holding `values`, dtype from T exactly (int32_t gives int32, double gives
/// float64, ...).
template <class T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}

namespace detail {
// libtorch's convention for literals: integer literals make int64, floating literals make the
// default float32, bool makes bool.
template <class T>
constexpr DType literal_dtype() {
  if constexpr (std::is_same_v<T, bool>)
    return kBool;
  else if constexpr (std::is_integral_v<T>)
    return kInt64;
  else
    return kFloat32;
}
Tensor tensor_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype);
Tensor tensor_from_int64s(const std::vector<int64_t>& values, const Shape& shape, DType dtype);
template <class T>
Tensor tensor_from(const std::vector<T>& flat, const Shape& shape, DType dtype) {
  if constexpr (std::is_floating_point_v<T>) {
    return tensor_from_doubles(std::vector<double>(flat.begin(), flat.end()), shape, dtype);
  } else {
    return tensor_from_int64s(std::vector<int64_t>(flat.begin(), flat.end()), shape, dtype);
  }
}
}  // namespace detail

/// A 1-d tensor from a literal list, as torch::tensor: `tensor({1, 2})` is int64,
/// `tensor({1.5, 2.5})` float32, `tensor({true, false})` bool, unless `dtype` is given.
template <class T>
Tensor tensor(std::initializer_list<T> values, DType dtype = detail::literal_dtype<T>()) {
  return detail::tensor_from(std::vector<T>(values), Shape{static_cast<int64_t>(values.size())},
                             dtype);
}

/// A 2-d tensor from nested literal lists; ShapeError when the rows differ in length.
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> rows,
              DType dtype = detail::literal_dtype<T>()) {
  std::vector<T> flat;
  const auto cols = rows.size() == 0 ? std::size_t{0} : rows.begin()->size();
  for (const auto& row : rows) {
    WICK_CHECK(row.size() == cols, ShapeError, "tensor(): rows must have equal lengths, expected ",
               cols, " got ", row.size());
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return detail::tensor_from(
      flat, Shape{static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols)}, dtype);
}

/// A 0-d tensor holding one value.
Tensor scalar_tensor(Scalar value, DType dtype);

}  // namespace wick
