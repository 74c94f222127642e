#pragma once
/// \file
/// Reverse-mode automatic differentiation: grad mode and NoGradGuard.
///
/// When grad mode is on and an input of a differentiable op requires grad, the op records a node
/// holding what its backward pass needs; Tensor::backward() walks those nodes in reverse
/// topological order (iteratively, so deep graphs cannot overflow the stack), sums the
/// gradients of tensors used several times, reduces broadcast dimensions back to each input's
/// shape and accumulates (`grad += ...`) into the grad() of every leaf reached, keeping each
/// leaf's dtype. The graph's saved tensors are freed afterwards.
///
/// Differentiable: add, sub, mul, div (tensor-tensor with broadcasting, and with Scalar), neg,
/// relu, exp, log, tanh, sigmoid, matmul, linear, sum, mean (all and along a dimension),
/// mse_loss, cross_entropy, and the views and copies view, reshape, flatten, transpose, t,
/// permute, slice, select, unsqueeze, squeeze, expand, clone, contiguous and to(dtype).

namespace wick {

/// True when operations record the autograd graph on this thread (the default).
bool grad_enabled() noexcept;

/// Turns grad mode off on this thread for its lifetime (RAII; nests, restoring the previous
/// mode). Nothing is recorded inside and results do not require grad; in-place updates of
/// leaves that require grad (optimizer steps) are allowed.
class NoGradGuard {
 public:
  NoGradGuard() noexcept;
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace wick
