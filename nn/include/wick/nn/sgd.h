#pragma once
/// \file
/// Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum,
/// with PyTorch 1.13's update (torch.optim.SGD, single-tensor path), for g = grad (-grad with
/// maximize):
///
///     g = g + weight_decay * p                                  (when weight_decay != 0)
///     b = g (first step);  b = momentum * b + (1 - dampening) * g  (when momentum != 0)
///     g = g + momentum * b (nesterov)  or  g = b
///     p = p - lr * g
///
/// Arithmetic is done in the parameter's dtype with the hyperparameters rounded to it, in
/// PyTorch's order of operations.
///
/// state_dict() (torch 1.13's, see optimizer.h): param_groups[0] holds lr (float), momentum,
/// dampening, weight_decay (float, or the int 0), nesterov, maximize (bool), foreach (None),
/// differentiable (False) and params; state[i] is {'momentum_buffer': tensor}, or None when
/// momentum is 0, for every parameter a step() has updated.

#include <vector>

#include "wick/nn/optimizer.h"

namespace wick::nn {

/// SGD hyperparameters (PyTorch's defaults, except lr which PyTorch requires).
struct SGDOptions {
  double lr = 0.01;           ///< learning rate
  double momentum = 0.0;      ///< momentum factor (0: plain SGD)
  double dampening = 0.0;     ///< dampening of the momentum
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  bool nesterov = false;      ///< Nesterov momentum
  /// Maximize the objective: step along the gradient instead of against it.
  bool maximize = false;
};

/// torch.optim.SGD over one parameter group.
class SGD : public Optimizer {
 public:
  /// ArgumentError for a negative lr, momentum or weight_decay, or nesterov without a positive
  /// momentum and zero dampening (PyTorch's checks), and for bad parameters (see Optimizer).
  explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});

  void step() override;
  double lr() const noexcept override { return options_.lr; }
  void set_lr(double lr) override;
  /// The current hyperparameters.
  const SGDOptions& options() const noexcept { return options_; }

 protected:
  std::vector<HyperSpec> hyper_specs() const override;
  HyperValues hyper_values() const override;
  void check_hyper(const HyperValues& values, std::vector<std::string>& problems) const override;
  std::vector<SlotSpec> state_slots(const HyperValues& values) const override;
  Dict param_state(std::size_t i) const override;
  void apply_loaded(const HyperValues& values, std::vector<LoadedParamState> state) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined: None (momentum 0, or no update yet)
};

}  // namespace wick::nn
