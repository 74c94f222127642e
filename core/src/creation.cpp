#include "wick/core/creation.h"

#include <cmath>

namespace wick {

Tensor empty(const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  const auto bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
  WICK_CHECK(n == 0 || bytes / static_cast<std::size_t>(n) == dtype_size(dtype), ShapeError,
             "empty: ", shape_str(shape), " of ", dtype, " overflows the address space");
  return Tensor(Storage::allocate(bytes), shape, contiguous_strides(shape), 0, dtype);
}

Tensor zeros(const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  return Tensor(Storage::allocate_zeroed(static_cast<std::size_t>(n) * dtype_size(dtype)), shape,
                contiguous_strides(shape), 0, dtype);
}

Tensor ones(const Shape& shape, DType dtype) {
  return full(shape, 1, dtype);
}

Tensor full(const Shape& shape, Scalar value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor empty_like(const Tensor& like) {
  return empty(like.shape(), like.dtype());
}
Tensor zeros_like(const Tensor& like) {
  return zeros(like.shape(), like.dtype());
}
Tensor ones_like(const Tensor& like) {
  return ones(like.shape(), like.dtype());
}

namespace {

bool integral_arg(Scalar s) {
  return !s.is_floating();
}

// Exact int64 arithmetic: 2^62 + 1 in int64 stays exact, as in PyTorch. The range is taken in
// uint64, where end - start cannot overflow; start + i * step wraps there to the exact value,
// which lies between start and end.
Tensor arange_int(int64_t start, int64_t end, int64_t step, DType dtype) {
  WICK_CHECK(step != 0, ArgumentError, "arange: step must be finite and nonzero, got ", step);
  WICK_CHECK((step > 0 && end >= start) || (step < 0 && end <= start), ArgumentError,
             "arange: upper bound and larger bound inconsistent with step sign (start ", start,
             ", end ", end, ", step ", step, ")");
  const auto ustart = static_cast<uint64_t>(start);
  const uint64_t span =
      step > 0 ? static_cast<uint64_t>(end) - ustart : ustart - static_cast<uint64_t>(end);
  const uint64_t stride = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  const uint64_t count = span / stride + (span % stride != 0);  // ceil(span / stride)
  WICK_CHECK(count < uint64_t{9'000'000'000'000'000}, ArgumentError, "arange: ", count,
             " elements is too many");
  Tensor out = empty({static_cast<int64_t>(count)}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (uint64_t i = 0; i < count; ++i)
      p[i] = convert_value<T>(static_cast<int64_t>(ustart + i * static_cast<uint64_t>(step)));
  });
  return out;
}

Tensor arange_double(double start, double end, double step, DType dtype) {
  WICK_CHECK(step != 0.0 && std::isfinite(step), ArgumentError,
             "arange: step must be finite and nonzero, got ", step);
  WICK_CHECK(std::isfinite(start) && std::isfinite(end), ArgumentError,
             "arange: unsupported range: ", start, " -> ", end);
  WICK_CHECK((step > 0 && end >= start) || (step < 0 && end <= start), ArgumentError,
             "arange: upper bound and larger bound inconsistent with step sign (start ", start,
             ", end ", end, ", step ", step, ")");
  const double count = std::ceil((end - start) / step);
  WICK_CHECK(count < 9.0e15, ArgumentError, "arange: ", count, " elements is too many");
  const auto n = static_cast<int64_t>(count);
  Tensor out = empty({n}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = convert_value<T>(start + static_cast<double>(i) * step);
  });
  return out;
}

}  // namespace

Tensor arange(Scalar end) {
  return arange(0, end, 1);
}

Tensor arange(Scalar start, Scalar end, Scalar step) {
  const bool ints = integral_arg(start) && integral_arg(end) && integral_arg(step);
  return arange(start, end, step, ints ? kInt64 : kFloat32);
}

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype) {
  const bool ints = integral_arg(start) && integral_arg(end) && integral_arg(step);
  if (ints && (is_integral(dtype) || dtype == kBool))
    return arange_int(start.to_int64(), end.to_int64(), step.to_int64(), dtype);
  return arange_double(start.to_double(), end.to_double(), step.to_double(), dtype);
}

namespace {
template <class V>
Tensor tensor_from_values(const std::vector<V>& values, const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  WICK_CHECK(n == static_cast<int64_t>(values.size()), ShapeError, "tensor: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", n, " elements)");
  Tensor t = empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = convert_value<T>(values[i]);
  });
  return t;
}
}  // namespace

namespace detail {
Tensor tensor_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return tensor_from_values(values, shape, dtype);
}
Tensor tensor_from_int64s(const std::vector<int64_t>& values, const Shape& shape, DType dtype) {
  return tensor_from_values(values, shape, dtype);
}
}  // namespace detail

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  WICK_CHECK(n == static_cast<int64_t>(values.size()), ShapeError, "from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", n, " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  T* p = t.data<T>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = values[i];
  return t;
}

template Tensor from_vector(const std::vector<bool>&, const Shape&);
template Tensor from_vector(const std::vector<uint8_t>&, const Shape&);
template Tensor from_vector(const std::vector<int8_t>&, const Shape&);
template Tensor from_vector(const std::vector<int16_t>&, const Shape&);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector(const std::vector<Half>&, const Shape&);
template Tensor from_vector(const std::vector<BFloat16>&, const Shape&);
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);

Tensor scalar_tensor(Scalar value, DType dtype) {
  return full({}, value, dtype);
}

}  // namespace wick
