#pragma once
// Private helpers shared by ops*.cpp, reduce.cpp and linalg.cpp: dtype rules, operand checks,
// and the row loop that feeds strided operands to the SIMD kernel table.

#include <array>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "simd/kernels.h"
#include "strided.h"
#include "wick/core/creation.h"
#include "wick/core/tensor.h"

namespace wick::detail {

/// Throws ArgumentError unless `t` is defined; `what` names the operand ("first operand").
inline void check_defined(const Tensor& t, const char* op, const char* what) {
  WICK_CHECK(t.defined(), ArgumentError, op, ": ", what, " is undefined (default-constructed)");
}

/// float16 and bfloat16 are computed in float32 and rounded once per result.
constexpr bool is_half_like(DType d) noexcept {
  return d == DType::Float16 || d == DType::BFloat16;
}
constexpr DType compute_dtype(DType d) noexcept {
  return is_half_like(d) ? DType::Float32 : d;
}

/// PyTorch's rule for a Python number next to a tensor: the scalar only matters when its
/// category (bool < integer < floating) is higher; then int gives int64, float gives float32.
inline DType scalar_result_dtype(DType tensor, const Scalar& s) noexcept {
  const int tc = tensor == DType::Bool ? 0 : is_integral(tensor) ? 1 : 2;
  const int sc = s.is_bool() ? 0 : s.is_integral() ? 1 : 2;
  if (sc <= tc) return tensor;
  return sc == 1 ? DType::Int64 : DType::Float32;
}

/// `t` converted to `result` (rounding like PyTorch's cast to the common dtype) and then to the
/// compute dtype of `result` (exact).
inline Tensor to_compute(const Tensor& t, DType result) {
  return t.to(result).to(compute_dtype(result));
}

/// The kernels of the active SIMD level for T (float or double).
template <class T>
const simd::detail::TypedKernels<T>& kernels_for(const simd::detail::KernelTable& table) {
  if constexpr (std::is_same_v<T, float>) {
    return table.f32;
  } else {
    return table.f64;
  }
}

/// Strides of `t` broadcast to `shape` (0 for new or expanded dimensions).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  const std::size_t lead = shape.size() - static_cast<std::size_t>(t.dim());
  for (std::size_t i = 0; i < static_cast<std::size_t>(t.dim()); ++i)
    out[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return out;
}

/// Returns a pointer to `n` elements of a row with stride `stride`: the row itself when
/// stride == 1, else a gathered copy in `buf`.
template <class T>
const T* contiguous_row(const T* p, int64_t stride, int64_t n, std::vector<T>& buf) {
  if (stride == 1) return p;
  buf.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    buf[static_cast<std::size_t>(i)] = p[i * stride];
  return buf.data();
}

/// Calls `row(out_row, a_row_ptr, a_stride, b_row_ptr, b_stride, n)` for each innermost row of
/// a contiguous output `out` with operands `a`, `b` broadcast to its shape.
template <class TO, class TA, class TB, class F>
void for_each_binary_row(Tensor& out, const Tensor& a, const Tensor& b, F&& row) {
  const Shape sa = broadcast_strides(a, out.shape());
  const Shape sb = broadcast_strides(b, out.shape());
  TO* po = static_cast<TO*>(out.raw_data());
  const TA* pa = static_cast<const TA*>(a.raw_data());
  const TB* pb = static_cast<const TB*>(b.raw_data());
  for_each_row<3>(
      out.shape(), {std::span<const int64_t>(out.strides()), sa, sb},
      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
        row(po + off[0], pa + off[1], st[1], pb + off[2], st[2], n);
      });
}

/// Same for one operand.
template <class TO, class TA, class F>
void for_each_unary_row(Tensor& out, const Tensor& a, F&& row) {
  const Shape sa = broadcast_strides(a, out.shape());
  TO* po = static_cast<TO*>(out.raw_data());
  const TA* pa = static_cast<const TA*>(a.raw_data());
  for_each_row<2>(
      out.shape(), {std::span<const int64_t>(out.strides()), sa},
      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
        row(po + off[0], pa + off[1], st[1], n);
      });
}

/// Integer arithmetic that wraps (two's complement) instead of overflowing into UB.
template <class T>
using WideUnsigned = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;

template <class T>
T wrap_add(T a, T b) {
  return static_cast<T>(static_cast<WideUnsigned<T>>(a) + static_cast<WideUnsigned<T>>(b));
}
template <class T>
T wrap_sub(T a, T b) {
  return static_cast<T>(static_cast<WideUnsigned<T>>(a) - static_cast<WideUnsigned<T>>(b));
}
template <class T>
T wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<WideUnsigned<T>>(a) * static_cast<WideUnsigned<T>>(b));
}

}  // namespace wick::detail
