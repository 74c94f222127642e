#pragma once
// Shared test helpers.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "wick/core/creation.h"

/// Expects `stmt` to throw `Type` whose what() contains `substring`.
#define WICK_EXPECT_THROW_MSG(stmt, Type, substring)                                         \
  do {                                                                                       \
    try {                                                                                    \
      (void)(stmt);                                                                          \
      ADD_FAILURE() << "expected " #Type " from: " #stmt;                                    \
    } catch (const Type& wick_caught_) {                                                     \
      EXPECT_NE(std::string(wick_caught_.what()).find(substring), std::string::npos)         \
          << "message: " << wick_caught_.what() << "\nexpected to contain: " << (substring); \
    } catch (const std::exception& wick_other_) {                                            \
      ADD_FAILURE() << "expected " #Type ", got another exception: " << wick_other_.what();  \
    }                                                                                        \
  } while (false)

namespace wick::testing {

/// Values uniform in [lo, hi) from std::mt19937(seed) — an independent source, not wick's own
/// generator — converted to `dtype`; non-floating dtypes get round(value * int_scale).
inline Tensor random_values(const Shape& shape, DType dtype, uint32_t seed, double lo, double hi,
                            double int_scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (double& x : v)
    x = is_floating(dtype) ? dist(rng) : std::round(dist(rng) * int_scale);
  return from_vector(v, shape).to(dtype);
}

/// The elements of any tensor as doubles, in row-major order.
inline std::vector<double> values(const Tensor& t) {
  const Tensor c = t.to(kFloat64).contiguous();
  const auto s = c.span<double>();
  return {s.begin(), s.end()};
}

}  // namespace wick::testing
