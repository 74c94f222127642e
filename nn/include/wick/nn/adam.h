#pragma once
/// \file
/// Adam and AdamW with PyTorch 1.13's updates (torch.optim.Adam / AdamW, single-tensor path).
/// For parameter p with gradient g (-grad with maximize), per step t = state.step + 1:
///
///     Adam:  g = g + weight_decay * p                      (L2 penalty in the gradient)
///     AdamW: p = p * (1 - lr * weight_decay)               (decoupled weight decay)
///     m = beta1 * m + (1 - beta1) * g
///     v = beta2 * v + (1 - beta2) * g * g
///     vmax = max(vmax, v)                                   (amsgrad; then v = vmax below)
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps
///     p = p - (lr / (1 - beta1^t)) * m / denom
///
/// Element arithmetic is done in the parameter's dtype; the bias corrections in double, as
/// PyTorch does with its Python floats. t is kept as a float32, like PyTorch's step tensor.
///
/// state_dict() (torch 1.13's, see optimizer.h): param_groups[0] holds lr, betas (a Tuple),
/// eps, weight_decay (float, or the int 0), amsgrad, then for Adam maximize, foreach (None),
/// capturable, differentiable, fused (False) and for AdamW foreach, maximize, capturable (torch
/// 1.13's AdamW has the same keys in another order, and no differentiable or fused), then
/// params. state[i] of an updated parameter: step (0-d float32), exp_avg, exp_avg_sq and, with
/// amsgrad, max_exp_avg_sq.

#include <vector>

#include "wick/nn/optimizer.h"

namespace wick::nn {

/// Adam hyperparameters (PyTorch's defaults).
struct AdamOptions {
  double lr = 1e-3;           ///< learning rate
  double beta1 = 0.9;         ///< decay of the running mean of gradients
  double beta2 = 0.999;       ///< decay of the running mean of squared gradients
  double eps = 1e-8;          ///< added to the denominator for numerical stability
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  bool amsgrad = false;       ///< use the maximum of past squared-gradient means (AMSGrad)
  /// Maximize the objective: step along the gradient instead of against it.
  bool maximize = false;
};

/// torch.optim.Adam over one parameter group.
class Adam : public Optimizer {
 public:
  /// ArgumentError for lr, eps or weight_decay negative, or betas outside [0, 1) (PyTorch's
  /// checks), and for bad parameters (see Optimizer).
  explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});

  void step() override;
  double lr() const noexcept override { return options_.lr; }
  void set_lr(double lr) override;
  /// The current hyperparameters.
  const AdamOptions& options() const noexcept { return options_; }

 protected:
  /// For AdamW: `decoupled` selects decoupled weight decay, `type_name` the error-message name.
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled,
       const std::string& type_name);

  std::vector<HyperSpec> hyper_specs() const override;
  HyperValues hyper_values() const override;
  void check_hyper(const HyperValues& values, std::vector<std::string>& problems) const override;
  std::vector<SlotSpec> state_slots(const HyperValues& values) const override;
  Dict param_state(std::size_t i) const override;
  void apply_loaded(const HyperValues& values, std::vector<LoadedParamState> state) override;

 private:
  struct ParamState {
    float step = 0.0F;
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // undefined until the first update
  };

  AdamOptions options_;
  bool decoupled_;
  std::vector<ParamState> state_;
};

/// AdamW hyperparameters: AdamOptions with PyTorch's AdamW default weight_decay of 0.01.
struct AdamWOptions {
  double lr = 1e-3;            ///< learning rate
  double beta1 = 0.9;          ///< decay of the running mean of gradients
  double beta2 = 0.999;        ///< decay of the running mean of squared gradients
  double eps = 1e-8;           ///< added to the denominator for numerical stability
  double weight_decay = 1e-2;  ///< decoupled weight decay, applied to the parameter
  bool amsgrad = false;        ///< use the maximum of past squared-gradient means (AMSGrad)
  /// Maximize the objective: step along the gradient instead of against it.
  bool maximize = false;
};

/// torch.optim.AdamW: Adam with decoupled weight decay. options() reports AdamOptions.
class AdamW : public Adam {
 public:
  /// Same checks as Adam.
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
};

}  // namespace wick::nn
