#pragma once
/// \file
/// Fused optimizer updates: the elementwise arithmetic of an optimizer step in one pass over
/// the parameter and its state, vectorised at the active SIMD level (wick/core/simd.h) with
/// the same result at every level (bit for bit; where a NaN comes in, a NaN comes out, though
/// not always with the same sign and payload). nn's optimizers call these; they are public for
/// optimizers written outside wick.

#include "wick/core/tensor.h"

namespace wick {

/// Hyper-parameters of one Adam or AdamW step (PyTorch's names and defaults).
struct AdamStep {
  /// Learning rate.
  double lr = 1e-3;
  /// Decay of the running mean of the gradient.
  double beta1 = 0.9;
  /// Decay of the running mean of its square.
  double beta2 = 0.999;
  /// Added to the denominator.
  double eps = 1e-8;
  /// L2 penalty (Adam: added to the gradient; AdamW: decays the parameter).
  double weight_decay = 0;
  /// Ascend instead of descend.
  bool maximize = false;
  /// AdamW's decoupled weight decay instead of Adam's.
  bool decoupled = false;
  /// The step number, counting this one (1 on the first step): the bias corrections use it.
  double step = 1;
};

/// One Adam (or AdamW) step, in place: PyTorch 1.13's single-tensor arithmetic in its order of
/// operations, so the result is bit-identical to torch.optim.Adam (foreach=False) at every
/// SIMD level. `max_exp_avg_sq` is amsgrad's buffer, or an undefined tensor without amsgrad.
/// All tensors must be contiguous, of one shape and of one floating dtype, float32 or float64
/// (ArgumentError, ShapeError otherwise), and must not overlap one another.
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                Tensor& max_exp_avg_sq, const AdamStep& step);

}  // namespace wick
