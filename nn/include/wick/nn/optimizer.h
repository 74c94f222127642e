#pragma once
/// \file
/// wick::nn::Optimizer: the base of SGD, Adam and AdamW. An optimizer holds handles to the
/// parameters it updates (sharing storage with the model) and per-parameter state, and saves
/// both the state and its hyperparameters as a flat TensorDict.
///
/// state_dict() layout: PyTorch's optimizer state_dict flattened to dotted keys, one parameter
/// group (group 0). Parameter i is the i-th tensor given to the constructor.
///
///     param_groups.0.<hyperparameter>   0-d float64 (numbers) or 0-d bool (flags);
///                                       Adam's betas is a float64 tensor of shape [2]
///     param_groups.0.params             int64 [n]: 0, 1, ..., n-1
///     state.<i>.<buffer>                a tensor shaped like parameter i, in its dtype
///     state.<i>.step                    0-d float32 (Adam, AdamW), as PyTorch 1.13 stores it
///
/// A parameter has state.<i>.* entries only once a step() has updated it (as in PyTorch).
/// Buffers in state_dict() share storage with the optimizer; hyperparameters and steps are
/// snapshots. sgd.h and adam.h list each optimizer's keys.

#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/tensor_dict.h"

namespace wick::nn {

/// Base class: owns the parameter list and the strict, all-or-nothing load_state_dict().
class Optimizer {
 public:
  /// Takes handles to `params`. ArgumentError for an empty list, an undefined tensor, a tensor
  /// that is not a float32/float64 contiguous leaf, the same tensor listed twice, or a tensor
  /// that does not require grad (the optimizer's handle would not share its gradient: see
  /// Tensor's autograd notes; Module parameters always qualify).
  explicit Optimizer(std::vector<Tensor> params, const std::string& type_name);
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;
  virtual ~Optimizer() = default;

  /// One update of every parameter that has a gradient, in place, under NoGradGuard.
  /// Parameters whose grad() is undefined are skipped and their state is left alone.
  virtual void step() = 0;
  /// Clears (sets undefined) the gradient of every parameter, like Module::zero_grad().
  void zero_grad();

  /// State and hyperparameters in the layout described at the top of this file.
  virtual TensorDict state_dict() const = 0;
  /// Replaces the hyperparameters and state with those of `state` (copies; the dict is not
  /// aliased afterwards). Strict and all or nothing: every problem (missing or unexpected keys,
  /// wrong shapes naming both, wrong dtypes, invalid values, a checkpoint of another optimizer
  /// type) is listed in one error and the optimizer is left unchanged. ShapeError when any
  /// shape differs, ArgumentError otherwise.
  void load_state_dict(const TensorDict& state);

  /// The learning rate (for schedules).
  virtual double lr() const noexcept = 0;
  /// Sets the learning rate; ArgumentError when negative or not finite.
  virtual void set_lr(double lr) = 0;

  /// The parameters, in the order of the state_dict indices.
  const std::vector<Tensor>& params() const noexcept { return params_; }
  /// "SGD", "Adam" or "AdamW": used in error messages.
  const std::string& type_name() const noexcept { return type_name_; }

 protected:
  /// How one hyperparameter is stored.
  enum class HyperKind { Number, Flag, Pair };
  /// One hyperparameter: its key under param_groups.0 and its kind.
  struct HyperSpec {
    std::string name;
    HyperKind kind;
  };
  /// Hyperparameter values by spec order; a Pair takes two consecutive slots.
  using HyperValues = std::vector<double>;

  /// The hyperparameters this optimizer saves, in state_dict order.
  virtual std::vector<HyperSpec> hyper_specs() const = 0;
  /// Current hyperparameter values in hyper_specs() order.
  virtual HyperValues hyper_values() const = 0;
  /// Appends a message for every invalid value or combination in `values`.
  virtual void check_hyper(const HyperValues& values, std::vector<std::string>& problems) const = 0;
  /// Buffer names (shaped like the parameter) a parameter's state holds under `values`.
  virtual std::vector<std::string> buffer_names(const HyperValues& values) const = 0;
  /// True when a parameter's state also holds a 0-d "step".
  virtual bool has_step() const noexcept = 0;
  /// Per-parameter state as loaded: `buffers` in buffer_names() order (converted to the
  /// parameter's dtype, fresh storage); `step` when has_step(). `present` false: no state.
  struct LoadedParamState {
    bool present = false;
    std::vector<Tensor> buffers;
    float step = 0.0F;
  };
  /// Installs validated values; must not throw except for memory allocation.
  virtual void apply_loaded(const HyperValues& values, std::vector<LoadedParamState> state) = 0;

  /// Writes the param_groups.0.* entries for `values` into `out`.
  void write_hyper(TensorDict& out) const;
  /// Checks a hyperparameter against a range; appends "<type>: invalid <what>: <v> (expected ...)".
  void check_range(const char* what, double v, double low, bool low_inclusive, double high,
                   bool high_inclusive, std::vector<std::string>& problems) const;
  /// The gradient of parameter i converted to its dtype and made contiguous; undefined if none.
  Tensor grad_of(std::size_t i) const;

 private:
  // load_state_dict() in parts, one per part of the layout above (optimizer.cpp).
  class StateLoader;

  std::vector<Tensor> params_;
  std::string type_name_;
};

}  // namespace wick::nn
