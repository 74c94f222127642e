// Losses. mse_loss is composed of differentiable ops; cross_entropy records one node whose
// backward is softmax - onehot, computed from the probabilities saved by the forward pass.

#include "wick/core/loss.h"

#include <limits>

#include "autograd_impl.h"
#include "ops_common.h"
#include "wick/core/ops.h"
#include "wick/core/reduce.h"

namespace wick {

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  detail::check_defined(input, "mse_loss", "input");
  detail::check_defined(target, "mse_loss", "target");
  WICK_CHECK(input.shape() == target.shape(), ShapeError, "mse_loss: input shape ",
             shape_str(input.shape()), " and target shape ", shape_str(target.shape()),
             " must match");
  WICK_CHECK(is_floating(input.dtype()) && is_floating(target.dtype()), ArgumentError,
             "mse_loss: input and target must be floating point, got ", dtype_name(input.dtype()),
             " and ", dtype_name(target.dtype()));
  const Tensor d = input - target;
  return mean(d * d);
}

namespace {

void check_cross_entropy(const Tensor& logits, const Tensor& target) {
  detail::check_defined(logits, "cross_entropy", "logits");
  detail::check_defined(target, "cross_entropy", "target");
  WICK_CHECK(logits.dim() == 2, ShapeError, "cross_entropy: logits must be 2-d [N, C], got shape ",
             shape_str(logits.shape()));
  WICK_CHECK(is_floating(logits.dtype()), ArgumentError,
             "cross_entropy: logits must be floating point, got ", dtype_name(logits.dtype()));
  WICK_CHECK(target.dtype() == kInt64, ArgumentError,
             "cross_entropy: target must hold int64 class indices, got ",
             dtype_name(target.dtype()));
  WICK_CHECK(target.dim() == 1 && target.size(0) == logits.size(0), ShapeError,
             "cross_entropy: target shape ", shape_str(target.shape()),
             " does not match logits shape ", shape_str(logits.shape()), " (expected [",
             logits.size(0), "])");
}

// Mean over rows of log-sum-exp(row) - row[target]; fills `probs` with the softmax.
template <class T>
double mean_nll(const Tensor& x, const int64_t* target, Tensor& probs) {
  const int64_t n = x.size(0);
  const Tensor shifted = x - max(x, 1, true);  // every exponent <= 0: no overflow
  const Tensor e = exp(shifted);
  const Tensor total = sum(e, 1, true);
  const Tensor lse = log(total);
  probs = e / total;
  const T* ps = shifted.data<T>();
  const T* pl = lse.data<T>();
  const int64_t c = x.size(1);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i)
    loss += static_cast<double>(pl[i]) - static_cast<double>(ps[i * c + target[i]]);
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : loss / static_cast<double>(n);
}

template <class T>
void subtract_onehot(Tensor& probs, const int64_t* target) {
  T* p = probs.data<T>();
  const int64_t c = probs.size(1);
  for (int64_t i = 0; i < probs.size(0); ++i)
    p[i * c + target[i]] -= T(1);
}

template <class F>
void visit_float(DType cd, F&& f) {
  if (cd == kFloat64) {
    f(double{});
  } else {
    f(float{});
  }
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target_classes) {
  check_cross_entropy(logits, target_classes);
  const Tensor target = target_classes.contiguous();
  const int64_t n = logits.size(0);
  const int64_t c = logits.size(1);
  const int64_t* pt = target.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    WICK_CHECK(pt[i] >= 0 && pt[i] < c, ArgumentError, "cross_entropy: target ", pt[i],
               " at index ", i, " is out of bounds for ", c, " classes (expected 0 <= target < ", c,
               ")");
  }
  const DType cd = detail::compute_dtype(logits.dtype());
  Tensor probs;
  double value = 0;
  {
    NoGradGuard no_grad;
    const Tensor x = logits.detach().to(cd).contiguous();
    if (n > 0) {
      visit_float(cd, [&](auto tag) { value = mean_nll<decltype(tag)>(x, pt, probs); });
    } else {
      value = std::numeric_limits<double>::quiet_NaN();  // mean over nothing, as PyTorch
      probs = x;
    }
  }
  Tensor loss = scalar_tensor(value, logits.dtype());
  if (!detail::needs_grad(logits)) return loss;
  return detail::record(
      std::move(loss), "cross_entropy", {logits},
      [probs, target, n, cd, dtype = logits.dtype()](const Tensor& g,
                                                     const std::vector<bool>&) mutable {
        // d loss / d logits = (softmax - onehot) / N; probs is ours to modify.
        const int64_t* tp = target.data<int64_t>();
        visit_float(cd, [&](auto tag) { subtract_onehot<decltype(tag)>(probs, tp); });
        const double scale = n > 0 ? g.item<double>() / static_cast<double>(n) : 0;
        return std::vector<Tensor>{(probs * scale).to(dtype)};
      });
}

}  // namespace wick
