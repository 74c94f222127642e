#pragma once
/// \file
/// Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum,
/// with PyTorch 1.13's update (torch.optim.SGD, single-tensor path), for g = grad:
///
///     g = g + weight_decay * p                                  (when weight_decay != 0)
///     b = g (first step);  b = momentum * b + (1 - dampening) * g  (when momentum != 0)
///     g = g + momentum * b (nesterov)  or  g = b
///     p = p - lr * g
///
/// Arithmetic is done in the parameter's dtype with the hyperparameters rounded to it, in
/// PyTorch's order of operations.
///
/// state_dict() keys: param_groups.0.{lr, momentum, dampening, weight_decay} (0-d float64),
/// param_groups.0.nesterov (0-d bool), param_groups.0.params, and state.<i>.momentum_buffer for
/// every parameter that has one (only when momentum != 0).

#include <vector>

#include "wick/nn/optimizer.h"

namespace wick::nn {

/// SGD hyperparameters (PyTorch's defaults, except lr which PyTorch requires).
struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

/// torch.optim.SGD over one parameter group.
class SGD : public Optimizer {
 public:
  /// ArgumentError for a negative lr, momentum or weight_decay, or nesterov without a positive
  /// momentum and zero dampening (PyTorch's checks), and for bad parameters (see Optimizer).
  explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});

  void step() override;
  TensorDict state_dict() const override;
  double lr() const noexcept override { return options_.lr; }
  void set_lr(double lr) override;
  /// The current hyperparameters.
  const SGDOptions& options() const noexcept { return options_; }

 protected:
  std::vector<HyperSpec> hyper_specs() const override;
  HyperValues hyper_values() const override;
  void check_hyper(const HyperValues& values, std::vector<std::string>& problems) const override;
  std::vector<std::string> buffer_names(const HyperValues& values) const override;
  bool has_step() const noexcept override { return false; }
  void apply_loaded(const HyperValues& values, std::vector<LoadedParamState> state) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // undefined until the parameter's first update
};

}  // namespace wick::nn
