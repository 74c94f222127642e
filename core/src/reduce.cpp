// Reductions. Inputs are made contiguous and seen as [outer, n, inner] with n the reduced
// dimension: inner == 1 reduces each row with one kernel call; otherwise whole rows of `inner`
// elements are combined with the elementwise kernels (add, NaN-propagating max).
//
// float32/float64 sums use the kernel table's blocked multi-accumulator sum, so the rounding
// differs slightly from a naive left-to-right loop (it is usually more accurate); sums along a
// non-innermost dimension add rows in order. Half types accumulate in float32 and round once.

#include "wick/core/reduce.h"

#include <cmath>
#include <cstring>

#include "autograd_impl.h"
#include "ops_common.h"

namespace wick {

namespace {

using simd::detail::BinaryOp;

struct Plan {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
  int64_t dim = 0;
  Shape out_shape;
};

Plan plan_dim(const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  Plan p;
  p.dim = normalize_dim(dim, x.dim(), op);
  if (x.dim() == 0) return p;  // a 0-d tensor reduces to itself
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t s = x.shape()[static_cast<std::size_t>(d)];
    if (d < p.dim) p.outer *= s;
    if (d == p.dim) p.n = s;
    if (d > p.dim) p.inner *= s;
    if (d != p.dim) p.out_shape.push_back(s);
    if (d == p.dim && keepdim) p.out_shape.push_back(1);
  }
  return p;
}

Plan plan_all(const Tensor& x) {
  Plan p;
  p.n = x.numel();
  return p;
}

template <class T>
constexpr bool is_simd_type = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}

// ---- sum / mean -------------------------------------------------------------------------------

// Sums of a contiguous [outer, n, inner] float/double buffer into `out` (outer * inner values).
template <class T>
void simd_sums(const T* x, const Plan& p, T* out) {
  if (p.outer * p.inner == 0) return;  // empty result: nothing to write (and out may be null)
  const auto& k = detail::kernels_for<T>(simd::detail::active_kernels());
  const auto add = k.binary_vv[static_cast<int>(BinaryOp::Add)];
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.n * p.inner;
    if (p.inner == 1) {
      out[o] = k.sum(block, p.n);
      continue;
    }
    T* row = out + o * p.inner;
    if (p.n == 0) {
      for (int64_t j = 0; j < p.inner; ++j)
        row[j] = T(0);
      continue;
    }
    std::memcpy(row, block, sizeof(T) * static_cast<std::size_t>(p.inner));
    for (int64_t r = 1; r < p.n; ++r)
      add(row, block + r * p.inner, row, p.inner);
  }
}

template <class T>
void int_sums(const T* x, const Plan& p, int64_t* out) {
  for (int64_t o = 0; o < p.outer; ++o) {
    int64_t* row = out + o * p.inner;
    for (int64_t j = 0; j < p.inner; ++j)
      row[j] = 0;
    for (int64_t r = 0; r < p.n; ++r) {
      const T* src = x + (o * p.n + r) * p.inner;
      for (int64_t j = 0; j < p.inner; ++j)
        row[j] = detail::wrap_add(row[j], static_cast<int64_t>(src[j]));
    }
  }
}

// Sum (or mean) of x over the plan into a new tensor of out_shape.
Tensor sum_impl(const Tensor& x, const Plan& p, bool mean, const char* op) {
  detail::check_defined(x, op, "input");
  if (mean) {
    WICK_CHECK(is_floating(x.dtype()), ArgumentError, op,
               ": input dtype must be floating point (float16, bfloat16, float32 or float64), "
               "got ",
               dtype_name(x.dtype()));
  }
  if (!is_floating(x.dtype())) {
    const Tensor xc = x.contiguous();
    Tensor out = empty(p.out_shape, kInt64);
    visit_dtype(xc.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_floating_point_v<T> && !detail::is_half_like_v<T>) {
        int_sums<T>(static_cast<const T*>(xc.raw_data()), p, out.data<int64_t>());
      }
    });
    return out;
  }
  const DType cd = detail::compute_dtype(x.dtype());
  const Tensor xc = x.to(cd).contiguous();
  Tensor out = empty(p.out_shape, cd);
  visit_dtype(cd, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_simd_type<T>) {
      T* po = out.data<T>();
      simd_sums<T>(static_cast<const T*>(xc.raw_data()), p, po);
      if (mean) {
        const auto div = detail::kernels_for<T>(simd::detail::active_kernels())
                             .binary_vs[static_cast<int>(BinaryOp::Div)];
        div(po, static_cast<T>(p.n), po, out.numel());
      }
    }
  });
  return out.to(x.dtype());
}

// ---- max / argmax -----------------------------------------------------------------------------

// Running max of `v` into `best` with NaN propagation and first-wins ties; returns true when
// `v` replaced `best`.
template <class C>
bool take_max(C& best, C v) {
  if (is_nan(best) || !(v > best || is_nan(v))) return false;
  best = v;
  return true;
}

template <class T>
auto compute_value(T v) {
  if constexpr (detail::is_half_like_v<T>) {
    return static_cast<float>(v);
  } else {
    return v;
  }
}

template <class T>
void simd_maxes(const T* x, const Plan& p, T* out) {
  if (p.outer * p.inner == 0) return;
  const auto& k = detail::kernels_for<T>(simd::detail::active_kernels());
  const auto max = k.binary_vv[static_cast<int>(BinaryOp::Max)];
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.n * p.inner;
    if (p.inner == 1) {
      out[o] = k.max(block, p.n);
      continue;
    }
    T* row = out + o * p.inner;
    std::memcpy(row, block, sizeof(T) * static_cast<std::size_t>(p.inner));
    for (int64_t r = 1; r < p.n; ++r)
      max(row, block + r * p.inner, row, p.inner);
  }
}

// Half and integer types: a plain scan, comparing in float for the half types.
template <class T>
void plain_maxes(const T* x, const Plan& p, T* out) {
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.n * p.inner;
    T* row = out + o * p.inner;
    for (int64_t j = 0; j < p.inner; ++j) {
      auto best = compute_value(block[j]);
      T best_raw = block[j];
      for (int64_t r = 1; r < p.n; ++r) {
        if (take_max(best, compute_value(block[r * p.inner + j])))
          best_raw = block[r * p.inner + j];
      }
      row[j] = best_raw;
    }
  }
}

Tensor max_impl(const Tensor& x, const Plan& p) {
  Tensor out = empty(p.out_shape, x.dtype());
  const Tensor xc = x.contiguous();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_simd_type<T>) {
      simd_maxes<T>(xc.data<T>(), p, out.data<T>());
    } else {
      plain_maxes<T>(xc.data<T>(), p, out.data<T>());
    }
  });
  return out;
}

// Index of the first NaN, else of the first element equal to m (the row's max).
template <class T>
int64_t index_of(const T* x, int64_t n, T m) {
  const bool nan = is_nan(m);
  for (int64_t i = 0; i < n; ++i) {
    if (nan ? is_nan(x[i]) : x[i] == m) return i;
  }
  return 0;
}

template <class T>
void argmaxes(const T* x, const Plan& p, int64_t* out) {
  std::vector<decltype(compute_value(T{}))> best;
  [[maybe_unused]] const auto& table = simd::detail::active_kernels();
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.n * p.inner;
    int64_t* row = out + o * p.inner;
    if constexpr (is_simd_type<T>) {
      if (p.inner == 1) {
        row[0] = index_of(block, p.n, detail::kernels_for<T>(table).max(block, p.n));
        continue;
      }
    }
    best.assign(static_cast<std::size_t>(p.inner), {});
    for (int64_t j = 0; j < p.inner; ++j) {
      best[static_cast<std::size_t>(j)] = compute_value(block[j]);
      row[j] = 0;
    }
    for (int64_t r = 1; r < p.n; ++r) {
      const T* src = block + r * p.inner;
      for (int64_t j = 0; j < p.inner; ++j) {
        if (take_max(best[static_cast<std::size_t>(j)], compute_value(src[j]))) row[j] = r;
      }
    }
  }
}

Tensor argmax_impl(const Tensor& x, const Plan& p) {
  Tensor out = empty(p.out_shape, kInt64);
  const Tensor xc = x.contiguous();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) argmaxes<T>(xc.data<T>(), p, out.data<int64_t>());
  });
  return out;
}

void check_max_input(const Tensor& x, const char* op) {
  detail::check_defined(x, op, "input");
  WICK_CHECK(x.numel() > 0, ArgumentError, op, ": expected a non-empty tensor, got shape ",
             shape_str(x.shape()), " (specify a dim to reduce along a non-empty dimension)");
}

void check_max_dim(const Tensor& x, const Plan& p, const char* op) {
  WICK_CHECK(p.n > 0, ArgumentError, op, ": expected reduction dim ", p.dim,
             " to have non-zero size, got shape ", shape_str(x.shape()));
}

void check_not_bool(const Tensor& x, const char* op) {
  WICK_CHECK(x.dtype() != kBool, ArgumentError, op,
             ": bool tensors are not supported (expected a numeric dtype, got bool)");
}

}  // namespace

Tensor sum(const Tensor& x) {
  detail::check_defined(x, "sum", "input");
  if (detail::needs_grad(x)) return detail::grad_reduce(x, detail::kAllDims, false, false);
  return sum_impl(x, plan_all(x), false, "sum");
}

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(x, "sum", "input");
  if (detail::needs_grad(x)) return detail::grad_reduce(x, dim, keepdim, false);
  return sum_impl(x, plan_dim(x, dim, keepdim, "sum"), false, "sum");
}

Tensor mean(const Tensor& x) {
  detail::check_defined(x, "mean", "input");
  if (detail::needs_grad(x)) return detail::grad_reduce(x, detail::kAllDims, false, true);
  return sum_impl(x, plan_all(x), true, "mean");
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(x, "mean", "input");
  if (detail::needs_grad(x)) return detail::grad_reduce(x, dim, keepdim, true);
  return sum_impl(x, plan_dim(x, dim, keepdim, "mean"), true, "mean");
}

Tensor max(const Tensor& x) {
  check_max_input(x, "max");
  return max_impl(x, plan_all(x));
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(x, "max", "input");
  const Plan p = plan_dim(x, dim, keepdim, "max");
  check_max_dim(x, p, "max");
  return max_impl(x, p);
}

Tensor argmax(const Tensor& x) {
  check_max_input(x, "argmax");
  check_not_bool(x, "argmax");
  return argmax_impl(x, plan_all(x));
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(x, "argmax", "input");
  check_not_bool(x, "argmax");
  const Plan p = plan_dim(x, dim, keepdim, "argmax");
  check_max_dim(x, p, "argmax");
  return argmax_impl(x, p);
}

}  // namespace wick
