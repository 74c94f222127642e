#pragma once
/// \file
/// Elementwise arithmetic, activations and comparisons, with NumPy/PyTorch broadcasting and
/// PyTorch's type promotion. Results are new contiguous tensors.

#include "wick/core/tensor.h"

namespace wick {

/// a + b, a - b, a * b with broadcasting; dtype = promote_types(a, b).
///@{
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
///@}
/// True division: integer and bool inputs give float32 (as PyTorch's `/`).
Tensor div(const Tensor& a, const Tensor& b);

/// Tensor-scalar forms. A floating scalar with an integral or bool tensor gives float32, an
/// integer scalar with a bool tensor int64; otherwise the tensor's dtype is kept, and the scalar
/// is cast to it first (PyTorch's rule for Python numbers: uint8 + 300 adds 44).
///@{
Tensor add(const Tensor& a, Scalar b);
Tensor sub(const Tensor& a, Scalar b);
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, Scalar b);
///@}

/// add, sub, mul and div as operators, tensor-tensor and with a scalar on either side.
///@{
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
///@}
/// Negation (ArgumentError for bool, as in PyTorch).
Tensor operator-(const Tensor& a);

/// max(x, 0), same dtype.
Tensor relu(const Tensor& x);
/// |x|, same dtype (torch.abs): abs(-0.0) is 0.0, NaN stays NaN, and the most negative integer
/// wraps to itself. ArgumentError for bool, which PyTorch does not implement either.
Tensor abs(const Tensor& x);
/// Transcendentals: integral inputs are computed in float32 (as PyTorch).
///@{
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
///@}

/// Elementwise larger / smaller of two tensors (torch.maximum, torch.minimum), with broadcasting
/// and dtype = promote_types(a, b). NaN in either operand gives NaN; on ties `a` is kept (which
/// only shows for 0.0 against -0.0). For bool, maximum is `or` and minimum `and`. Autograd is not
/// supported yet: ArgumentError when an input requires grad.
///@{
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
///@}

/// Elementwise comparisons giving bool tensors, with broadcasting and type promotion.
///@{
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator!=(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator<=(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator>=(const Tensor& a, Scalar b);
///@}

/// True when shapes and dtypes match and every element is equal (torch.equal; NaN != NaN).
bool equal(const Tensor& a, const Tensor& b);
/// True when bit patterns are identical too (distinguishes -0.0 from 0.0 and NaN payloads).
bool bitwise_equal(const Tensor& a, const Tensor& b);
/// |a - b| <= atol + rtol * |b| elementwise, with broadcasting (torch.allclose).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
              bool equal_nan = false);

}  // namespace wick
