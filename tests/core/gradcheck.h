#pragma once
// Finite-difference gradient checks for the autograd tests.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "testing.h"
#include "wick/wick.h"

namespace wick::testing {

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// A float64 tensor of `shape` uniform in [lo, hi).
inline Tensor rand64(const Shape& shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  return random_values(shape, kFloat64, seed, lo, hi);
}

/// Checks backward() of `f` against central differences (eps 1e-6) for every element of every
/// input in `inputs` (float64, contiguous). A non-scalar output is first contracted with fixed
/// random weights, so the whole Jacobian takes part. Inputs listed in `constant` get no grad.
inline void expect_gradients_match(const GradFn& f, std::vector<Tensor> inputs,
                                   const std::vector<bool>& constant = {}, double tol = 1e-6) {
  auto is_constant = [&](std::size_t i) { return i < constant.size() && constant[i]; };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    inputs[i] = inputs[i].detach().clone();
    if (!is_constant(i)) inputs[i].set_requires_grad();
  }
  Tensor weights;
  auto scalar_of = [&](const std::vector<Tensor>& in) {
    Tensor out = f(in);
    if (!weights.defined()) weights = rand64(out.shape(), 1234, 0.5, 1.5);
    return sum(out * weights);
  };
  scalar_of(inputs).backward();
  constexpr double kEps = 1e-6;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (is_constant(i)) {
      EXPECT_FALSE(inputs[i].grad().defined()) << "input " << i;
      continue;
    }
    const Tensor grad = inputs[i].grad();
    ASSERT_TRUE(grad.defined()) << "input " << i << " got no gradient";
    ASSERT_EQ(grad.shape(), inputs[i].shape()) << "input " << i;
    ASSERT_EQ(grad.dtype(), inputs[i].dtype()) << "input " << i;
    const std::vector<double> analytic = values(grad);
    for (int64_t j = 0; j < inputs[i].numel(); ++j) {
      double at[2];
      for (int side = 0; side < 2; ++side) {
        NoGradGuard no_grad;
        std::vector<Tensor> moved = inputs;
        moved[i] = inputs[i].detach().clone();
        moved[i].data<double>()[j] += side == 0 ? kEps : -kEps;
        at[side] = scalar_of(moved).item<double>();
      }
      const double numeric = (at[0] - at[1]) / (2 * kEps);
      EXPECT_NEAR(analytic[static_cast<std::size_t>(j)], numeric,
                  tol * std::max(1.0, std::abs(numeric)))
          << "input " << i << ", element " << j;
    }
  }
}

}  // namespace wick::testing
