#pragma once
/// \file
/// Loss functions (differentiable, see autograd.h).

#include "wick/core/tensor.h"

namespace wick {

/// Mean of (input - target)^2 over all elements, as a 0-d tensor. The shapes must match
/// (ShapeError naming both) and both must be floating point.
Tensor mse_loss(const Tensor& input, const Tensor& target);

/// Mean over N of -log softmax(logits)[n, target[n]], as a 0-d tensor of the logits' dtype.
/// logits [N, C] floating point, target [N] int64 class indices in [0, C). Computed with the
/// log-sum-exp trick (the row maximum is subtracted first), so large logits do not overflow.
Tensor cross_entropy(const Tensor& logits, const Tensor& target_classes);

}  // namespace wick
