#include "wick/nn/relu.h"

#include "wick/core/ops.h"

namespace wick::nn {

Tensor ReLU::forward(const Tensor& input) {
  return relu(input);
}

}  // namespace wick::nn
