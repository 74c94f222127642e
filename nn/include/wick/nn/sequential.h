#pragma once
/// \file
/// A chain of modules applied in order.

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "wick/nn/module.h"

namespace wick::nn {

/// Applies its children in order. Children are named "0", "1", ... as in PyTorch, so a
/// Sequential's state_dict keys read "0.weight", "2.bias".
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  /// Takes ownership of each module, in order.
  Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> modules);

  /// Appends a module (owned).
  void push_back(std::shared_ptr<UnaryModule> module);
  /// Constructs a module in place at the end and returns it.
  template <class M, class... Args>
  M& emplace_back(Args&&... args) {
    auto m = std::make_shared<M>(std::forward<Args>(args)...);
    M& ref = *m;
    push_back(std::move(m));
    return ref;
  }

  /// Output of the last module applied to the output of the one before... (identity when empty).
  Tensor forward(const Tensor& input) override;

  /// Number of modules.
  std::size_t size() const noexcept { return layers_.size(); }
  /// The i-th module; ArgumentError when out of range.
  UnaryModule& operator[](std::size_t i) const;

 private:
  std::vector<UnaryModule*> layers_;
};

}  // namespace wick::nn
