// Comparisons to bool, and the whole-tensor predicates equal, bitwise_equal and allclose.

#include <cmath>
#include <cstring>

#include "ops_common.h"
#include "wick/core/ops.h"

namespace wick {

namespace {

using simd::detail::CompareOp;

const char* op_name(CompareOp op) {
  switch (op) {
    case CompareOp::Eq:
      return "eq";
    case CompareOp::Ne:
      return "ne";
    case CompareOp::Lt:
      return "lt";
    case CompareOp::Le:
      return "le";
    case CompareOp::Gt:
      return "gt";
    default:
      return "ge";
  }
}

template <class T>
void simd_compare(Tensor& out, const Tensor& a, const Tensor& b, CompareOp op) {
  const auto& k = detail::kernels_for<T>(simd::detail::active_kernels());
  const auto vv = k.compare_vv[static_cast<int>(op)];
  const auto vs = k.compare_vs[static_cast<int>(op)];
  const auto sv = k.compare_vs[static_cast<int>(simd::detail::mirror(op))];
  std::vector<T> abuf;
  std::vector<T> bbuf;
  detail::for_each_binary_row<bool, T, T>(
      out, a, b, [&](bool* po, const T* pa, int64_t sa, const T* pb, int64_t sb, int64_t n) {
        if (sa == 0 && sb == 0) {
          vs(pa, *pb, po, 1);
          std::memset(po + 1, po[0], static_cast<std::size_t>(n - 1));
        } else if (sb == 0) {
          vs(detail::contiguous_row(pa, sa, n, abuf), *pb, po, n);
        } else if (sa == 0) {
          sv(detail::contiguous_row(pb, sb, n, bbuf), *pa, po, n);
        } else {
          vv(detail::contiguous_row(pa, sa, n, abuf), detail::contiguous_row(pb, sb, n, bbuf), po,
             n);
        }
      });
}

template <class T, CompareOp Op>
void plain_compare_op(Tensor& out, const Tensor& a, const Tensor& b) {
  detail::for_each_binary_row<bool, T, T>(
      out, a, b, [](bool* po, const T* pa, int64_t sa, const T* pb, int64_t sb, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const T x = pa[i * sa];
          const T y = pb[i * sb];
          if constexpr (Op == CompareOp::Eq) po[i] = x == y;
          if constexpr (Op == CompareOp::Ne) po[i] = x != y;
          if constexpr (Op == CompareOp::Lt) po[i] = x < y;
          if constexpr (Op == CompareOp::Le) po[i] = x <= y;
          if constexpr (Op == CompareOp::Gt) po[i] = x > y;
          if constexpr (Op == CompareOp::Ge) po[i] = x >= y;
        }
      });
}

template <class T>
void plain_compare(Tensor& out, const Tensor& a, const Tensor& b, CompareOp op) {
  switch (op) {
    case CompareOp::Eq:
      return plain_compare_op<T, CompareOp::Eq>(out, a, b);
    case CompareOp::Ne:
      return plain_compare_op<T, CompareOp::Ne>(out, a, b);
    case CompareOp::Lt:
      return plain_compare_op<T, CompareOp::Lt>(out, a, b);
    case CompareOp::Le:
      return plain_compare_op<T, CompareOp::Le>(out, a, b);
    case CompareOp::Gt:
      return plain_compare_op<T, CompareOp::Gt>(out, a, b);
    default:
      return plain_compare_op<T, CompareOp::Ge>(out, a, b);
  }
}

// a and b already hold the same compute dtype.
Tensor compare_impl(const Tensor& a, const Tensor& b, CompareOp op, const Shape& shape) {
  Tensor out = empty(shape, kBool);
  if (out.numel() == 0) return out;
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      simd_compare<T>(out, a, b, op);
    } else if constexpr (!detail::is_half_like_v<T>) {
      plain_compare<T>(out, a, b, op);
    }
  });
  return out;
}

Tensor compare(const Tensor& a, const Tensor& b, CompareOp op) {
  const char* name = op_name(op);
  detail::check_defined(a, name, "first operand");
  detail::check_defined(b, name, "second operand");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  const DType result = promote_types(a.dtype(), b.dtype());
  return compare_impl(detail::to_compute(a, result), detail::to_compute(b, result), op, shape);
}

Tensor compare_scalar(const Tensor& a, Scalar s, CompareOp op) {
  detail::check_defined(a, op_name(op), "first operand");
  const DType result = detail::scalar_result_dtype(a.dtype(), s);
  return compare_impl(detail::to_compute(a, result),
                      detail::to_compute(scalar_tensor(s, result), result), op, a.shape());
}

// Calls pred(x, y) on every element pair of two tensors of one shape until it returns false.
template <class T, class Pred>
bool all_pairs(const Tensor& a, const Tensor& b, Pred pred) {
  bool ok = true;
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  detail::for_each_row<2>(
      a.shape(), {std::span<const int64_t>(a.strides()), b.strides()},
      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
        for (int64_t i = 0; ok && i < n; ++i)
          ok = pred(pa[off[0] + i * st[0]], pb[off[1] + i * st[1]]);
      });
  return ok;
}

// Half types compare by value, not bits.
template <class T>
auto value_of(T v) {
  if constexpr (detail::is_half_like_v<T>) {
    return static_cast<float>(v);
  } else {
    return v;
  }
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Eq);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Ne);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Lt);
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Le);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Gt);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(a, b, CompareOp::Ge);
}
Tensor operator==(const Tensor& a, const Tensor& b) {
  return eq(a, b);
}
Tensor operator!=(const Tensor& a, const Tensor& b) {
  return ne(a, b);
}
Tensor operator<(const Tensor& a, const Tensor& b) {
  return lt(a, b);
}
Tensor operator<=(const Tensor& a, const Tensor& b) {
  return le(a, b);
}
Tensor operator>(const Tensor& a, const Tensor& b) {
  return gt(a, b);
}
Tensor operator>=(const Tensor& a, const Tensor& b) {
  return ge(a, b);
}
Tensor operator==(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Eq);
}
Tensor operator!=(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Ne);
}
Tensor operator<(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Lt);
}
Tensor operator<=(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Le);
}
Tensor operator>(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Gt);
}
Tensor operator>=(const Tensor& a, Scalar b) {
  return compare_scalar(a, b, CompareOp::Ge);
}

bool equal(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "equal", "first operand");
  detail::check_defined(b, "equal", "second operand");
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return all_pairs<T>(a, b, [](T x, T y) { return value_of(x) == value_of(y); });
  });
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "bitwise_equal", "first operand");
  detail::check_defined(b, "bitwise_equal", "second operand");
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return all_pairs<T>(a, b,
                        [](const T& x, const T& y) { return std::memcmp(&x, &y, sizeof(T)) == 0; });
  });
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  detail::check_defined(a, "allclose", "first operand");
  detail::check_defined(b, "allclose", "second operand");
  WICK_CHECK(a.dtype() == b.dtype(), ArgumentError, "allclose: dtypes must match, got ",
             dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  WICK_CHECK(rtol >= 0 && atol >= 0, ArgumentError,
             "allclose: rtol and atol must be non-negative, got rtol=", rtol, " atol=", atol);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "allclose");
  return visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return all_pairs<T>(a.expand(shape), b.expand(shape), [&](T x, T y) {
      const double u = static_cast<double>(value_of(x));
      const double v = static_cast<double>(value_of(y));
      if (u == v) return true;  // also equal infinities
      if (std::isnan(u) || std::isnan(v)) return equal_nan && std::isnan(u) && std::isnan(v);
      if (std::isinf(u) || std::isinf(v)) return false;
      return std::fabs(u - v) <= atol + rtol * std::fabs(v);
    });
  });
}

}  // namespace wick
