#include "wick/nn/linear.h"

#include <cmath>

#include "wick/core/linalg.h"

namespace wick::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  WICK_CHECK(in_features >= 0 && out_features >= 0, ArgumentError,
             "Linear: feature counts must be non-negative, got in_features=", in_features,
             ", out_features=", out_features);
  // PyTorch: kaiming_uniform_(a = sqrt(5)) for W and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for b,
  // which are the same bound.
  const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
  weight = register_parameter("weight", uniform({out_features, in_features}, -bound, bound, gen));
  if (with_bias) bias = register_parameter("bias", uniform({out_features}, -bound, bound, gen));
}

Tensor Linear::forward(const Tensor& input) {
  WICK_CHECK(input.defined(), ArgumentError, "Linear::forward: input is undefined");
  WICK_CHECK(input.dim() >= 1 && input.size(-1) == in_features_, ShapeError,
             "Linear::forward: expected input [..., ", in_features_, "], got ",
             shape_str(input.shape()));
  return linear(input, weight, bias);
}

}  // namespace wick::nn
