// Elementwise arithmetic: + - * / with broadcasting and type promotion.

#include "wick/core/ops.h"

#include "autograd_impl.h"
#include "ops_common.h"

namespace wick {

namespace {

using simd::detail::BinaryOp;

// float/double: whole rows through the active kernel table; strided rows are gathered first so
// every layout runs the same instructions.
template <class T>
void simd_binary(Tensor& out, const Tensor& a, const Tensor& b, BinaryOp op) {
  const auto& k = detail::kernels_for<T>(simd::detail::active_kernels());
  const auto vv = k.binary_vv[static_cast<int>(op)];
  const auto vs = k.binary_vs[static_cast<int>(op)];
  const auto sv = k.binary_sv[static_cast<int>(op)];
  std::vector<T> abuf;
  std::vector<T> bbuf;
  detail::for_each_binary_row<T, T, T>(
      out, a, b, [&](T* po, const T* pa, int64_t sa, const T* pb, int64_t sb, int64_t n) {
        if (sa == 0 && sb == 0) {
          vs(pa, *pb, po, 1);
          for (int64_t i = 1; i < n; ++i)
            po[i] = po[0];
        } else if (sb == 0) {
          vs(detail::contiguous_row(pa, sa, n, abuf), *pb, po, n);
        } else if (sa == 0) {
          sv(*pa, detail::contiguous_row(pb, sb, n, bbuf), po, n);
        } else {
          vv(detail::contiguous_row(pa, sa, n, abuf), detail::contiguous_row(pb, sb, n, bbuf), po,
             n);
        }
      });
}

template <class T, BinaryOp Op>
T int_apply(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    // Sub is rejected and Div never integral; max is `or` and min `and` on bools, as in PyTorch.
    return Op == BinaryOp::Add || Op == BinaryOp::Max ? (a || b) : (a && b);
  } else if constexpr (Op == BinaryOp::Max) {
    return a < b ? b : a;
  } else if constexpr (Op == BinaryOp::Min) {
    return b < a ? b : a;
  } else if constexpr (Op == BinaryOp::Add) {
    return detail::wrap_add(a, b);
  } else if constexpr (Op == BinaryOp::Sub) {
    return detail::wrap_sub(a, b);
  } else {
    return detail::wrap_mul(a, b);
  }
}

template <class T, BinaryOp Op>
void int_binary_op(Tensor& out, const Tensor& a, const Tensor& b) {
  detail::for_each_binary_row<T, T, T>(
      out, a, b, [](T* po, const T* pa, int64_t sa, const T* pb, int64_t sb, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          po[i] = int_apply<T, Op>(pa[i * sa], pb[i * sb]);
      });
}

template <class T>
void int_binary(Tensor& out, const Tensor& a, const Tensor& b, BinaryOp op) {
  switch (op) {
    case BinaryOp::Add:
      return int_binary_op<T, BinaryOp::Add>(out, a, b);
    case BinaryOp::Sub:
      return int_binary_op<T, BinaryOp::Sub>(out, a, b);
    case BinaryOp::Max:
      return int_binary_op<T, BinaryOp::Max>(out, a, b);
    case BinaryOp::Min:
      return int_binary_op<T, BinaryOp::Min>(out, a, b);
    default:
      return int_binary_op<T, BinaryOp::Mul>(out, a, b);
  }
}

// a and b already hold the compute dtype of `result`.
Tensor arith(const Tensor& a, const Tensor& b, BinaryOp op, DType result, const char* name) {
  const DType cd = detail::compute_dtype(result);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), cd);
  if (out.numel() > 0) {
    visit_dtype(cd, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        simd_binary<T>(out, a, b, op);
      } else if constexpr (!detail::is_half_like_v<T>) {
        int_binary<T>(out, a, b, op);
      }
    });
  }
  return cd == result ? out : out.to(result);
}

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add:
      return "add";
    case BinaryOp::Sub:
      return "sub";
    case BinaryOp::Mul:
      return "mul";
    case BinaryOp::Max:
      return "maximum";
    case BinaryOp::Min:
      return "minimum";
    default:
      return "div";
  }
}

DType finish_result_dtype(DType result, BinaryOp op, DType a, DType b) {
  WICK_CHECK(!(op == BinaryOp::Sub && result == kBool), ArgumentError,
             "sub: subtraction with bool operands is not supported (got ", dtype_name(a), " and ",
             dtype_name(b), "); use logical_xor instead");
  return op == BinaryOp::Div && !is_floating(result) ? kFloat32 : result;
}

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op) {
  const char* name = op_name(op);
  detail::check_defined(a, name, "first operand");
  detail::check_defined(b, name, "second operand");
  broadcast_shapes(a.shape(), b.shape(), name);  // shape errors before any conversion work
  const DType result =
      finish_result_dtype(promote_types(a.dtype(), b.dtype()), op, a.dtype(), b.dtype());
  return arith(detail::to_compute(a, result), detail::to_compute(b, result), op, result, name);
}

// The scalar is first cast to the result dtype, like a tensor operand (PyTorch rounds it to
// half too: half(1) + 2049 gives 2048).
Tensor binary_scalar(const Tensor& t, Scalar s, BinaryOp op, bool scalar_first) {
  const char* name = op_name(op);
  detail::check_defined(t, name, scalar_first ? "second operand" : "first operand");
  const DType s_dtype = s.is_bool() ? kBool : s.is_integral() ? kInt64 : kFloat64;
  const DType result =
      finish_result_dtype(detail::scalar_result_dtype(t.dtype(), s), op,
                          scalar_first ? s_dtype : t.dtype(), scalar_first ? t.dtype() : s_dtype);
  const Tensor st = detail::to_compute(scalar_tensor(s, result), result);
  const Tensor tt = detail::to_compute(t, result);
  return scalar_first ? arith(st, tt, op, result, name) : arith(tt, st, op, result, name);
}

// No backward pass yet: refusing beats returning a result that silently drops the graph.
Tensor extremum(const Tensor& a, const Tensor& b, BinaryOp op) {
  WICK_CHECK(!detail::needs_grad(a, b), ArgumentError, op_name(op),
             ": autograd is not supported (expected inputs that do not require grad, got one "
             "that does); detach() them first");
  return binary(a, b, op);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  if (detail::needs_grad(a, b)) return detail::grad_binary(a, b, detail::GradOp::Add);
  return binary(a, b, BinaryOp::Add);
}
Tensor sub(const Tensor& a, const Tensor& b) {
  if (detail::needs_grad(a, b)) return detail::grad_binary(a, b, detail::GradOp::Sub);
  return binary(a, b, BinaryOp::Sub);
}
Tensor mul(const Tensor& a, const Tensor& b) {
  if (detail::needs_grad(a, b)) return detail::grad_binary(a, b, detail::GradOp::Mul);
  return binary(a, b, BinaryOp::Mul);
}
Tensor div(const Tensor& a, const Tensor& b) {
  if (detail::needs_grad(a, b)) return detail::grad_binary(a, b, detail::GradOp::Div);
  return binary(a, b, BinaryOp::Div);
}

Tensor add(const Tensor& a, Scalar b) {
  if (detail::needs_grad(a)) return detail::grad_scalar(a, b, detail::GradOp::Add, false);
  return binary_scalar(a, b, BinaryOp::Add, false);
}
Tensor sub(const Tensor& a, Scalar b) {
  if (detail::needs_grad(a)) return detail::grad_scalar(a, b, detail::GradOp::Sub, false);
  return binary_scalar(a, b, BinaryOp::Sub, false);
}
Tensor mul(const Tensor& a, Scalar b) {
  if (detail::needs_grad(a)) return detail::grad_scalar(a, b, detail::GradOp::Mul, false);
  return binary_scalar(a, b, BinaryOp::Mul, false);
}
Tensor div(const Tensor& a, Scalar b) {
  if (detail::needs_grad(a)) return detail::grad_scalar(a, b, detail::GradOp::Div, false);
  return binary_scalar(a, b, BinaryOp::Div, false);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum(a, b, BinaryOp::Max);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum(a, b, BinaryOp::Min);
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator+(const Tensor& a, Scalar b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, Scalar b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, Scalar b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, Scalar b) {
  return div(a, b);
}
Tensor operator+(Scalar a, const Tensor& b) {
  if (detail::needs_grad(b)) return detail::grad_scalar(b, a, detail::GradOp::Add, true);
  return binary_scalar(b, a, BinaryOp::Add, true);
}
Tensor operator-(Scalar a, const Tensor& b) {
  if (detail::needs_grad(b)) return detail::grad_scalar(b, a, detail::GradOp::Sub, true);
  return binary_scalar(b, a, BinaryOp::Sub, true);
}
Tensor operator*(Scalar a, const Tensor& b) {
  if (detail::needs_grad(b)) return detail::grad_scalar(b, a, detail::GradOp::Mul, true);
  return binary_scalar(b, a, BinaryOp::Mul, true);
}
Tensor operator/(Scalar a, const Tensor& b) {
  if (detail::needs_grad(b)) return detail::grad_scalar(b, a, detail::GradOp::Div, true);
  return binary_scalar(b, a, BinaryOp::Div, true);
}

}  // namespace wick
