#pragma once
/// \file
/// wick::nn::Optimizer: the base of SGD, Adam and AdamW. An optimizer holds handles to the
/// parameters it updates (sharing storage with the model) and per-parameter state, and saves
/// both the state and its hyperparameters in PyTorch 1.13's state_dict layout, so that one
/// checkpoint resumes in either framework:
///
///     {'state': {0: {'step': tensor(2.), 'exp_avg': ..., 'exp_avg_sq': ...}, 1: {...}},
///      'param_groups': [{'lr': 0.001, 'betas': (0.9, 0.999), ..., 'params': [0, 1]}]}
///
/// - state: keyed by the int index of the parameter (the i-th tensor given to the
///   constructor), in the order the parameters were first updated (as torch.optim keeps it);
///   a parameter has an entry only once a step() has updated it.
/// - param_groups: one group whose keys are torch 1.13's for that optimizer, in its order, with
///   its Python types: floats, bools, the int 0 for a zero weight_decay, momentum or dampening
///   (PyTorch's defaults are the int 0), betas a Tuple, foreach None (or the bool loaded), and
///   capturable / differentiable / fused False; params the ints 0 to n-1.
///
/// Buffers in state_dict() share storage with the optimizer; hyperparameters and steps are
/// snapshots. sgd.h and adam.h list each optimizer's keys.

#include <optional>
#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/tensor_dict.h"
#include "wick/core/value.h"

namespace wick::nn {

/// Base class: owns the parameter list, state_dict() and the strict, all-or-nothing
/// load_state_dict().
class Optimizer {
 public:
  /// Takes handles to `params`. ArgumentError for an empty list, an undefined tensor, a tensor
  /// that is not a float32/float64 contiguous leaf, the same tensor listed twice, or a tensor
  /// that does not require grad (the optimizer's handle would not share its gradient: see
  /// Tensor's autograd notes; Module parameters always qualify).
  explicit Optimizer(std::vector<Tensor> params, const std::string& type_name);
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  /// Moves the parameters and state; the moved-from optimizer is left empty.
  Optimizer(Optimizer&&) = default;
  /// Moves the parameters and state; the moved-from optimizer is left empty.
  Optimizer& operator=(Optimizer&&) = default;
  virtual ~Optimizer() = default;

  /// One update of every parameter that has a gradient, in place, under NoGradGuard.
  /// Parameters whose grad() is undefined are skipped and their state is left alone.
  virtual void step() = 0;
  /// Clears (sets undefined) the gradient of every parameter, like Module::zero_grad().
  void zero_grad();

  /// State and hyperparameters in PyTorch 1.13's layout (top of this file).
  Value state_dict() const;
  /// Replaces the hyperparameters and state with those of `state`, in PyTorch's layout (as
  /// state_dict() or torch.optim's state_dict() gives it); copies, so the value is not aliased
  /// afterwards. A dict of tensors in wick 1.x's flat layout (`state.0.exp_avg`) is taken as
  /// load_state_dict(const TensorDict&) takes it. Strict and all or nothing: every problem
  /// (missing or unexpected keys, values of the wrong type, shapes or dtypes, invalid values,
  /// more than one parameter group, capturable / differentiable / fused set, a checkpoint of
  /// another optimizer type) is listed in one error naming its path
  /// (`state[1]['exp_avg']`), and the optimizer is left unchanged. ShapeError when any shape
  /// differs, ArgumentError otherwise.
  void load_state_dict(const Value& state);
  /// Loads a state dict in wick 1.x's flat layout: param_groups.0.NAME 0-d tensors (betas
  /// float64 [2], params int64 [n]), state.I.BUFFER and the 0-d state.I.step tensors. The
  /// hyperparameters 1.x did not have take PyTorch's defaults; errors name the keys in PyTorch's
  /// layout, as load_state_dict(const Value&) does.
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
  /// How one param_groups entry is stored.
  enum class HyperKind {
    Float,    ///< a Python float (an int is accepted on load)
    Number,   ///< a float, or the int 0 when zero (PyTorch's int defaults)
    Flag,     ///< a bool
    Pair,     ///< a Tuple of two floats (betas)
    Foreach,  ///< None or a bool: which of PyTorch's kernels runs; wick has one, and keeps it
    Off,      ///< a bool that must be False (capturable, differentiable, fused)
  };
  /// One param_groups entry: its key and its kind.
  struct HyperSpec {
    std::string name;  ///< the key in param_groups, e.g. "lr"
    HyperKind kind;    ///< how its value is stored and checked
  };
  /// The values of the Float, Number, Flag (0 or 1) and Pair (two slots) entries, in spec
  /// order; Foreach and Off entries take no slot (the base class keeps them).
  using HyperValues = std::vector<double>;

  /// How one entry of a parameter's state is stored.
  enum class SlotKind {
    Buffer,          ///< a tensor shaped like the parameter
    OptionalBuffer,  ///< such a tensor, or None (SGD's momentum_buffer)
    Step,            ///< a 0-d float32 tensor counting steps (a number is accepted on load)
  };
  /// One entry of a parameter's state: its key and its kind.
  struct SlotSpec {
    std::string name;  ///< the key in the parameter's state, e.g. "exp_avg"
    SlotKind kind;     ///< how its value is stored and checked
  };

  /// The param_groups entries this optimizer saves, in torch 1.13's order, without "params".
  virtual std::vector<HyperSpec> hyper_specs() const = 0;
  /// Current hyperparameter values (see HyperValues).
  virtual HyperValues hyper_values() const = 0;
  /// Appends a message for every invalid value or combination in `values`.
  virtual void check_hyper(const HyperValues& values, std::vector<std::string>& problems) const = 0;
  /// The entries of a parameter's state under `values`, in torch 1.13's order.
  virtual std::vector<SlotSpec> state_slots(const HyperValues& values) const = 0;
  /// The state entry of parameter i, which has_state(i), in state_slots() order.
  virtual Dict param_state(std::size_t i) const = 0;
  /// Per-parameter state as loaded: `buffers` in state_slots() order without the step
  /// (converted to the parameter's dtype, fresh storage; undefined for None); `step` when a
  /// Step slot exists. `present` false: no state.
  struct LoadedParamState {
    bool present = false;         ///< false: the checkpoint has no state for this parameter
    std::vector<Tensor> buffers;  ///< in state_slots() order, the step excluded
    float step = 0.0F;            ///< the Step slot's value, when there is one
  };
  /// Installs validated values; must not throw except for memory allocation.
  virtual void apply_loaded(const HyperValues& values, std::vector<LoadedParamState> state) = 0;

  /// Checks a hyperparameter against a range; appends "invalid <what>: <v> (expected ...)".
  void check_range(const char* what, double v, double low, bool low_inclusive, double high,
                   bool high_inclusive, std::vector<std::string>& problems) const;
  /// Throws ArgumentError "<type>: <problems>" when `values` are invalid (the constructors).
  void check_options(const HyperValues& values) const;
  /// The gradient of parameter i converted to its dtype and made contiguous; undefined if none.
  Tensor grad_of(std::size_t i) const;
  /// Records that parameter i now has state (first update order, as PyTorch keeps it).
  void note_state(std::size_t i);
  /// True when parameter i has a state entry.
  bool has_state(std::size_t i) const noexcept { return has_state_[i]; }

 private:
  // load_state_dict() in parts, one per part of the layout above (optimizer.cpp).
  class StateLoader;

  Dict param_group() const;

  std::vector<Tensor> params_;
  std::string type_name_;
  std::optional<bool> foreach_;           // param_groups[0]['foreach']; None when unset
  std::vector<std::size_t> state_order_;  // parameters with state, in first-update order
  std::vector<bool> has_state_;           // [parameter]: listed in state_order_
};

}  // namespace wick::nn
