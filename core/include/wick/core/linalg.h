#pragma once
/// \file
/// Matrix products.

#include "wick/core/tensor.h"

namespace wick {

/// torch.matmul semantics: 1-d x 1-d is a dot product (0-d result); 2-d x 2-d a matrix product;
/// a 1-d operand is treated as a row (left) or column (right) vector and that dimension removed;
/// more dimensions are batches, broadcast against each other. ShapeError names both shapes when
/// the inner dimensions differ; ArgumentError when the dtypes differ.
Tensor matmul(const Tensor& a, const Tensor& b);

/// y = x W^T + b for x [..., in], W [out, in], b [out] (b may be undefined: no bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace wick
