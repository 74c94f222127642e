// Elementwise unary ops: negation, abs, relu and the transcendentals.

#include "autograd_impl.h"
#include "ops_common.h"
#include "wick/core/ops.h"

namespace wick {

namespace {

using simd::detail::UnaryOp;

const char* op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg:
      return "neg";
    case UnaryOp::Relu:
      return "relu";
    case UnaryOp::Exp:
      return "exp";
    case UnaryOp::Log:
      return "log";
    case UnaryOp::Tanh:
      return "tanh";
    case UnaryOp::Abs:
      return "abs";
    default:
      return "sigmoid";
  }
}

template <class T>
void simd_unary(Tensor& out, const Tensor& x, UnaryOp op) {
  const auto f = detail::kernels_for<T>(simd::detail::active_kernels()).unary[static_cast<int>(op)];
  std::vector<T> buf;
  detail::for_each_unary_row<T, T>(out, x, [&](T* po, const T* px, int64_t sx, int64_t n) {
    if (sx == 0) {  // an expanded input: one value for the whole row
      f(px, po, 1);
      for (int64_t i = 1; i < n; ++i)
        po[i] = po[0];
    } else {
      f(detail::contiguous_row(px, sx, n, buf), po, n);
    }
  });
}

// Integral inputs reach here only for neg, abs and relu (the others compute in float32). abs of
// the most negative value wraps to itself, as in PyTorch.
template <class T>
void int_unary(Tensor& out, const Tensor& x, UnaryOp op) {
  detail::for_each_unary_row<T, T>(out, x, [op](T* po, const T* px, int64_t sx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const T v = px[i * sx];
      if (op == UnaryOp::Neg) {
        po[i] = detail::wrap_sub(T(0), v);
      } else if (op == UnaryOp::Abs) {
        po[i] = v < T(0) ? detail::wrap_sub(T(0), v) : v;
      } else if constexpr (std::is_signed_v<T>) {
        po[i] = v < 0 ? T(0) : v;
      } else {
        po[i] = v;
      }
    }
  });
}

Tensor unary(const Tensor& x, UnaryOp op) {
  const char* name = op_name(op);
  detail::check_defined(x, name, "input");
  WICK_CHECK(!(op == UnaryOp::Neg && x.dtype() == kBool), ArgumentError,
             "neg: negation of a bool tensor is not supported (expected a numeric dtype, got "
             "bool); use logical_not to invert a mask");
  WICK_CHECK(!((op == UnaryOp::Relu || op == UnaryOp::Abs) && x.dtype() == kBool), ArgumentError,
             name, ": bool inputs are not supported (expected a numeric dtype, got bool)");
  const bool transcendental = op != UnaryOp::Neg && op != UnaryOp::Relu && op != UnaryOp::Abs;
  const DType result = transcendental && !is_floating(x.dtype()) ? kFloat32 : x.dtype();
  const DType cd = detail::compute_dtype(result);
  const Tensor in = detail::to_compute(x, result);
  Tensor out = empty(x.shape(), cd);
  if (out.numel() > 0) {
    visit_dtype(cd, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        simd_unary<T>(out, in, op);
      } else if constexpr (!detail::is_half_like_v<T> && !std::is_same_v<T, bool>) {
        int_unary<T>(out, in, op);
      }
    });
  }
  return cd == result ? out : out.to(result);
}

}  // namespace

Tensor operator-(const Tensor& a) {
  if (detail::needs_grad(a)) return detail::grad_unary(a, detail::GradOp::Neg);
  return unary(a, UnaryOp::Neg);
}
Tensor abs(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Abs);
  return unary(x, UnaryOp::Abs);
}
Tensor relu(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Relu);
  return unary(x, UnaryOp::Relu);
}
Tensor exp(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Exp);
  return unary(x, UnaryOp::Exp);
}
Tensor log(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Log);
  return unary(x, UnaryOp::Log);
}
Tensor tanh(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Tanh);
  return unary(x, UnaryOp::Tanh);
}
Tensor sigmoid(const Tensor& x) {
  if (detail::needs_grad(x)) return detail::grad_unary(x, detail::GradOp::Sigmoid);
  return unary(x, UnaryOp::Sigmoid);
}

}  // namespace wick
