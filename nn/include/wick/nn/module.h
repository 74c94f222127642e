#pragma once
/// \file
/// wick::nn::Module: the base of every layer and model. A module owns named parameters and
/// buffers and has named child modules, and exposes them all through state_dict().

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/tensor_dict.h"

namespace wick::nn {

/// What a non-strict load_state_dict() could not match.
struct LoadResult {
  std::vector<std::string> missing_keys;     ///< in the model, absent from the dict
  std::vector<std::string> unexpected_keys;  ///< in the dict, absent from the model
};

/// Base class for layers and models. Children registered by reference are usually members of
/// the parent; so that such a reference can never dangle or alias, modules can be neither
/// copied nor moved. Build a fresh instance and load_state_dict() into it instead.
class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  /// Registers a learnable tensor under `name` and returns the stored handle (which shares
  /// storage with `value`). ArgumentError for an empty name, a '.' in it, a name already used
  /// by a parameter, buffer or child, or an undefined tensor.
  /// A floating-point `value` gets set_requires_grad(requires_grad) first (as
  /// torch::nn::Module::register_parameter); keep using the returned handle (`w_ =
  /// register_parameter(...)`) so it shares the autograd state. The same view registered again
  /// (tied weights) shares the first registration's state.
  Tensor& register_parameter(std::string name, Tensor value, bool requires_grad = true);
  /// Registers non-learnable state (running statistics, step counters) saved in state_dict().
  Tensor& register_buffer(std::string name, Tensor value);
  /// Registers `child` (not owned: usually a member of this module) under `name`.
  template <class M>
  M& register_module(std::string name, M& child) {
    add_child(std::move(name), &child, nullptr);
    return child;
  }
  /// Registers and owns `child` under `name`.
  template <class M>
  M& register_module(std::string name, std::shared_ptr<M> child) {
    M& ref = *child;
    add_child(std::move(name), &ref, std::move(child));
    return ref;
  }

  /// (dotted name, parameter) for this module and every descendant, in registration order,
  /// depth first. A tensor registered under several names (tied weights) is listed once.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  /// The tensors of named_parameters().
  std::vector<Tensor> parameters() const;
  /// (dotted name, buffer) in the same order as named_parameters().
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// (dotted name, module) for this module (name "") and every descendant, depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();
  /// The direct children, in registration order.
  std::vector<std::pair<std::string, Module*>> named_children() const;

  /// Parameters and buffers by dotted name, in registration order, sharing storage with the
  /// module (writing into a state_dict tensor writes into the model). Tied weights appear under
  /// every name they were registered with.
  TensorDict state_dict() const;

  /// Copies every tensor of `state` into the parameter or buffer of the same name, in place,
  /// converting dtype when it differs (as PyTorch's copy_ does). All or nothing: every problem is
  /// found before anything is written, and any problem leaves the module unchanged.
  /// strict: missing and unexpected keys are errors. Shape mismatches are errors in both modes.
  /// Throws ShapeError listing every problem when any shape differs, ArgumentError otherwise.
  LoadResult load_state_dict(const TensorDict& state, bool strict = true);

  /// Clears (sets undefined) the gradient of every parameter, as PyTorch's zero_grad(set_to_none).
  void zero_grad();

  /// Switches this module and its descendants to training / evaluation mode.
  void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const noexcept { return training_; }

  /// The name used in error messages: the demangled C++ class name ("MLP", "wick::nn::Linear").
  virtual std::string type_name() const;

 private:
  struct Child {
    std::string name;
    Module* module;
    std::shared_ptr<Module> owned;  // null when the parent does not own it
  };

  void check_new_name(const std::string& name, const char* op) const;
  void add_child(std::string name, Module* child, std::shared_ptr<Module> owned);
  void collect(const std::string& prefix, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<Child> children_;
  bool training_ = true;
};

/// A module with one tensor in and one tensor out, so it can be chained in a Sequential and
/// called like a function.
class UnaryModule : public Module {
 public:
  /// Runs the module.
  virtual Tensor forward(const Tensor& input) = 0;
  /// forward(input).
  Tensor operator()(const Tensor& input) { return forward(input); }
};

}  // namespace wick::nn
