#pragma once
/// \file
/// Reductions over the whole tensor or along one dimension.

#include "wick/core/tensor.h"

namespace wick {

/// Sum of all elements as a 0-d tensor. Bool and integer inputs give int64 (as PyTorch).
Tensor sum(const Tensor& x);
/// Sum along `dim`; keepdim leaves a size-1 dimension in its place.
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
/// Mean of all elements (floating dtypes only; ArgumentError otherwise, as PyTorch).
Tensor mean(const Tensor& x);
/// Mean over dimension `dim` (floating dtypes only), keeping it as size 1 when `keepdim`.
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
/// Largest element (NaN propagates); ArgumentError on an empty tensor.
Tensor max(const Tensor& x);
/// Largest element along `dim` (NaN propagates), keeping it as size 1 when `keepdim`.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Flat index (int64) of the first largest element; NaN counts as largest. ArgumentError on an
/// empty or bool tensor (as PyTorch).
Tensor argmax(const Tensor& x);
/// Index (int64) along `dim` of the first largest element; NaN counts as largest.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace wick
