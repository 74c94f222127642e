#pragma once
/// \file
/// Rectified linear unit as a module.

#include "wick/nn/module.h"

namespace wick::nn {

/// max(x, 0) elementwise; no parameters.
class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& input) override;
};

}  // namespace wick::nn
