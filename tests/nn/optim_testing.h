#pragma once
// Helpers for the optimizer tests: float64 parameters with gradients set by hand.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "wick/core/creation.h"
#include "wick/core/tensor.h"
#include "wick/core/value.h"

namespace wick::testing {

/// A float64 leaf parameter holding `values` (1-d).
inline Tensor param64(const std::vector<double>& values) {
  Tensor p = from_vector(values);
  p.set_requires_grad(true);
  return p;
}

/// Sets p's gradient to `values` (same shape as p).
inline void set_grad64(Tensor& p, const std::vector<double>& values) {
  p.set_grad(from_vector(values, p.shape()));
}

/// The elements of a float64 tensor.
inline std::vector<double> values64(const Tensor& t) {
  const Tensor c = t.contiguous();
  const double* d = c.data<double>();
  return std::vector<double>(d, d + c.numel());
}

/// Expects every element of `t` to be within 1e-15 (relative) of `expected`.
inline void expect_values(const Tensor& t, const std::vector<double>& expected) {
  const std::vector<double> got = values64(t);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-15 * std::max(1.0, std::abs(expected[i])))
        << "element " << i;
  }
}

/// state[i][name] of an optimizer's state_dict(), a tensor.
inline Tensor state_of(const Value& state_dict, int64_t i, const char* name) {
  return state_dict["state"].at(i)[name].tensor();
}

/// param_groups[0][name] of an optimizer's state_dict().
inline Value group_of(const Value& state_dict, const char* name) {
  return state_dict["param_groups"][0][name];
}

}  // namespace wick::testing
