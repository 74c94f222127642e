// Backward passes of the differentiable ops. Forward passes call the public ops with grad mode
// off; backward passes are written with the same public ops (running under the engine's
// NoGradGuard), so every gradient goes through the existing kernels.

#include "autograd_impl.h"
#include "wick/core/linalg.h"
#include "wick/core/ops.h"
#include "wick/core/reduce.h"

namespace wick::detail {

namespace {

const char* name_of(GradOp op) {
  switch (op) {
    case GradOp::Add:
      return "add";
    case GradOp::Sub:
      return "sub";
    case GradOp::Mul:
      return "mul";
    case GradOp::Div:
      return "div";
    case GradOp::Neg:
      return "neg";
    case GradOp::Relu:
      return "relu";
    case GradOp::Exp:
      return "exp";
    case GradOp::Log:
      return "log";
    case GradOp::Tanh:
      return "tanh";
    case GradOp::Abs:
      return "abs";
    default:
      return "sigmoid";
  }
}

Tensor forward_binary(const Tensor& a, const Tensor& b, GradOp op) {
  switch (op) {
    case GradOp::Add:
      return add(a, b);
    case GradOp::Sub:
      return sub(a, b);
    case GradOp::Mul:
      return mul(a, b);
    default:
      return div(a, b);
  }
}

Tensor forward_scalar(const Tensor& t, Scalar s, GradOp op, bool scalar_first) {
  if (!scalar_first) {
    switch (op) {
      case GradOp::Add:
        return add(t, s);
      case GradOp::Sub:
        return sub(t, s);
      case GradOp::Mul:
        return mul(t, s);
      default:
        return div(t, s);
    }
  }
  switch (op) {
    case GradOp::Add:
      return s + t;
    case GradOp::Sub:
      return s - t;
    case GradOp::Mul:
      return s * t;
    default:
      return s / t;
  }
}

Tensor forward_unary(const Tensor& x, GradOp op) {
  switch (op) {
    case GradOp::Neg:
      return -x;
    case GradOp::Relu:
      return relu(x);
    case GradOp::Exp:
      return exp(x);
    case GradOp::Log:
      return log(x);
    case GradOp::Tanh:
      return tanh(x);
    case GradOp::Abs:
      return abs(x);
    default:
      return sigmoid(x);
  }
}

std::vector<Tensor> one(Tensor g) {
  std::vector<Tensor> out;
  out.push_back(std::move(g));
  return out;
}

}  // namespace

Tensor grad_binary(const Tensor& a, const Tensor& b, GradOp op) {
  Tensor out = no_grad([&] { return forward_binary(a, b, op); });
  const bool saves = op == GradOp::Mul || op == GradOp::Div;
  // Only products and quotients need the operands; sums need just their shapes and dtypes.
  const Tensor sa = saves ? a.detach() : Tensor();
  const Tensor sb = saves ? b.detach() : Tensor();
  return record(std::move(out), name_of(op), {a, b},
                [op, sa, sb, shape_a = a.shape(), shape_b = b.shape(), dtype_a = a.dtype(),
                 dtype_b = b.dtype()](const Tensor& g, const std::vector<bool>& need) {
                  std::vector<Tensor> r(2);
                  Tensor ga;
                  Tensor gb;
                  switch (op) {
                    case GradOp::Add:
                      ga = gb = g;
                      break;
                    case GradOp::Sub:
                      ga = g;
                      if (need[1]) gb = -g;
                      break;
                    case GradOp::Mul:
                      if (need[0]) ga = g * sb;
                      if (need[1]) gb = g * sa;
                      break;
                    default:
                      if (need[0]) ga = g / sb;
                      if (need[1]) gb = -(g * sa / (sb * sb));
                      break;
                  }
                  if (need[0]) r[0] = reduce_to(ga, shape_a, dtype_a);
                  if (need[1]) r[1] = reduce_to(gb, shape_b, dtype_b);
                  return r;
                });
}

Tensor grad_scalar(const Tensor& t, Scalar s, GradOp op, bool scalar_first) {
  Tensor out = no_grad([&] { return forward_scalar(t, s, op, scalar_first); });
  const bool reciprocal = op == GradOp::Div && scalar_first;  // s / t
  const Tensor st = reciprocal ? t.detach() : Tensor();
  return record(
      std::move(out), name_of(op), {t},
      [op, s, scalar_first, st, dtype = t.dtype()](const Tensor& g, const std::vector<bool>&) {
        Tensor r;
        switch (op) {
          case GradOp::Add:
            r = g;
            break;
          case GradOp::Sub:
            r = scalar_first ? -g : g;
            break;
          case GradOp::Mul:
            r = g * s;
            break;
          default:
            r = scalar_first ? -(g * s / (st * st)) : g / s;
            break;
        }
        return one(r.to(dtype));
      });
}

Tensor grad_unary(const Tensor& x, GradOp op) {
  Tensor out = no_grad([&] { return forward_unary(x, op); });
  // relu, exp, tanh and sigmoid differentiate through their output, log and abs through their
  // input.
  const bool by_input = op == GradOp::Log || op == GradOp::Abs;
  const Tensor saved = op == GradOp::Neg ? Tensor() : by_input ? x.detach() : out.detach();
  return record(std::move(out), name_of(op), {x},
                [op, saved, dtype = x.dtype()](const Tensor& g, const std::vector<bool>&) {
                  Tensor r;
                  switch (op) {
                    case GradOp::Neg:
                      r = -g;
                      break;
                    case GradOp::Relu:
                      r = g * (saved > 0);  // zero at 0, as PyTorch
                      break;
                    case GradOp::Exp:
                      r = g * saved;
                      break;
                    case GradOp::Log:
                      r = g / saved;
                      break;
                    case GradOp::Tanh:
                      r = g * (1.0 - saved * saved);
                      break;
                    case GradOp::Abs:  // sign(x): zero at 0, as PyTorch
                      r = g * (saved > 0) - g * (saved < 0);
                      break;
                    default:
                      r = g * saved * (1.0 - saved);
                      break;
                  }
                  return one(r.to(dtype));
                });
}

Tensor grad_matmul(const Tensor& a, const Tensor& b) {
  Tensor out = no_grad([&] { return matmul(a, b); });
  const Tensor sa = a.detach();
  const Tensor sb = b.detach();
  return record(std::move(out), "matmul", {a, b},
                [sa, sb](const Tensor& g, const std::vector<bool>& need) {
                  // As [batch..., m, k] x [batch..., k, n] = [batch..., m, n], 1-d operands
                  // becoming a row (left) or a column (right).
                  const Tensor A = sa.dim() == 1 ? sa.unsqueeze(0) : sa;
                  const Tensor B = sb.dim() == 1 ? sb.unsqueeze(1) : sb;
                  Tensor G = g;
                  if (sb.dim() == 1) G = G.unsqueeze(G.dim());
                  if (sa.dim() == 1) G = G.unsqueeze(G.dim() - 1);
                  std::vector<Tensor> r(2);
                  if (need[0]) {
                    const Tensor ga = matmul(G, B.transpose(-1, -2));
                    r[0] = reduce_to(ga, A.shape(), sa.dtype()).reshape(sa.shape());
                  }
                  if (need[1]) {
                    const Tensor gb = matmul(A.transpose(-1, -2), G);
                    r[1] = reduce_to(gb, B.shape(), sb.dtype()).reshape(sb.shape());
                  }
                  return r;
                });
}

Tensor grad_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor out = no_grad([&] { return linear(x, weight, bias); });
  const Tensor sx = x.detach();
  const Tensor sw = weight.detach();
  return record(std::move(out), "linear", {x, weight, bias},
                [sx, sw](const Tensor& g, const std::vector<bool>& need) {
                  const int64_t rows = shape_numel(Shape(sx.shape().begin(), sx.shape().end() - 1));
                  const Tensor G = g.reshape({rows, sw.size(0)});
                  std::vector<Tensor> r(3);
                  if (need[0]) r[0] = matmul(G, sw).reshape(sx.shape());
                  if (need[1]) r[1] = matmul(G.t(), sx.reshape({rows, sw.size(1)}));
                  if (need[2]) r[2] = sum(G, 0);
                  return r;
                });
}

Tensor grad_reduce(const Tensor& x, int64_t dim, bool keepdim, bool mean_of) {
  const bool all = dim == kAllDims;
  Tensor out = no_grad([&] {
    if (all) return mean_of ? mean(x) : sum(x);
    return mean_of ? mean(x, dim, keepdim) : sum(x, dim, keepdim);
  });
  if (!all && dim < 0) dim += x.dim();  // valid: the forward pass checked it
  const char* name = mean_of ? "mean" : "sum";
  return record(std::move(out), name, {x},
                [all, dim, keepdim, mean_of, shape = x.shape(), dtype = x.dtype()](
                    const Tensor& g, const std::vector<bool>&) {
                  Tensor r = g;
                  if (!all && !keepdim && !shape.empty()) r = r.unsqueeze(dim);
                  if (mean_of) {
                    const int64_t n = all ? shape_numel(shape) : shape.empty() ? 1 : shape[dim];
                    r = r / static_cast<double>(n);
                  }
                  return one(r.expand(shape).contiguous().to(dtype));
                });
}

}  // namespace wick::detail
