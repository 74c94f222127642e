#pragma once
/// \file
/// Fully connected layer.

#include <cstdint>

#include "wick/core/random.h"
#include "wick/nn/module.h"

namespace wick::nn {

/// y = x W^T + b, with W of shape [out_features, in_features] and b of shape [out_features].
/// Initialised as PyTorch's nn.Linear: W and b uniform in [-1/sqrt(in), 1/sqrt(in)).
class Linear : public UnaryModule {
 public:
  /// A float32 layer drawn from `gen` (the default generator when omitted).
  Linear(int64_t in_features, int64_t out_features, bool bias = true,
         Generator& gen = default_generator());

  /// x of shape [..., in_features] -> [..., out_features].
  Tensor forward(const Tensor& input) override;

  /// Size of the last dimension of the input.
  int64_t in_features() const noexcept { return in_features_; }
  /// Size of the last dimension of the output.
  int64_t out_features() const noexcept { return out_features_; }

  /// The parameters (handles sharing storage with the registered ones).
  Tensor weight;
  /// Undefined when constructed with bias = false.
  Tensor bias;

 private:
  int64_t in_features_;
  int64_t out_features_;
};

}  // namespace wick::nn
