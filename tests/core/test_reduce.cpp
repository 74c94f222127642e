// Reductions: sum / mean / max / argmax over the whole tensor and along a dim, their dtype
// rules, NaN handling, views as inputs, accuracy of long float32 sums, and the error messages.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Tensor rnd(const Shape& shape, DType dtype, uint32_t seed, double lo = -5.0, double hi = 5.0) {
  return testing::random_values(shape, dtype, seed, lo, hi);
}

using testing::values;

enum class Red { Sum, Max, Argmax };

// Reference reduction of `x` along `dim` in double: a naive loop over the [outer, n, inner] view.
std::vector<double> reference(const Tensor& x, int64_t dim, Red red) {
  const auto v = values(x);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d)
    inner *= x.size(d);
  const int64_t n = x.size(dim);
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      double acc = red == Red::Sum ? 0.0 : -std::numeric_limits<double>::infinity();
      int64_t best = 0;
      for (int64_t r = 0; r < n; ++r) {
        const double e = v[static_cast<std::size_t>((o * n + r) * inner + j)];
        if (red == Red::Sum) {
          acc += e;
        } else if (!std::isnan(acc) && (e > acc || std::isnan(e))) {
          acc = e;
          best = r;
        } else if (r == 0) {
          acc = e;
        }
      }
      out.push_back(red == Red::Argmax ? static_cast<double>(best) : acc);
    }
  }
  return out;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "at " << i;
    }
  }
}

// ---- sum / mean --------------------------------------------------------------------------------

TEST(ReduceSum, DtypeRules) {
  EXPECT_EQ(sum(ones({3}, kBool)).dtype(), kInt64);
  EXPECT_EQ(sum(ones({3}, kInt8)).dtype(), kInt64);
  EXPECT_EQ(sum(ones({3}, kUInt8), 0).dtype(), kInt64);
  EXPECT_EQ(sum(ones({3}, kInt32)).item<int64_t>(), 3);
  EXPECT_EQ(sum(ones({3}, kFloat16)).dtype(), kFloat16);
  EXPECT_EQ(sum(ones({3}, kBFloat16), 0).dtype(), kBFloat16);
  EXPECT_EQ(sum(ones({3})).dtype(), kFloat32);
  EXPECT_EQ(sum(ones({3}, kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(mean(ones({3}, kFloat16)).dtype(), kFloat16);
  EXPECT_EQ(sum(tensor({true, true, false})).item<int64_t>(), 2);
}

TEST(ReduceSum, WholeTensorMatchesReference) {
  for (const DType dt : {kFloat32, kFloat64, kInt32, kInt16, kUInt8}) {
    for (const int64_t n : {1, 7, 64, 1000, 4097, 9000}) {
      const Tensor x = rnd({n}, dt, static_cast<uint32_t>(n), dt == kUInt8 ? 0.0 : -5.0);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      const double want = reference(x, 0, Red::Sum)[0];
      EXPECT_NEAR(sum(x).item<double>(), want, 1e-6 * static_cast<double>(n));
      if (is_floating(dt)) {
        EXPECT_NEAR(mean(x).item<double>(), want / static_cast<double>(n), 1e-6);
      }
    }
  }
}

TEST(ReduceSum, AlongEachDimMatchesReference) {
  const Shape shape = {3, 17, 33, 5};
  for (const DType dt : {kFloat32, kFloat64, kInt64}) {
    const Tensor x = rnd(shape, dt, 40);
    for (int64_t d = 0; d < 4; ++d) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " dim " + std::to_string(d));
      const Tensor s = sum(x, d);
      Shape want_shape = shape;
      want_shape.erase(want_shape.begin() + d);
      EXPECT_EQ(s.shape(), want_shape);
      expect_near_all(values(s), reference(x, d, Red::Sum), 1e-5);
      Shape keep_shape = shape;
      keep_shape[static_cast<std::size_t>(d)] = 1;
      EXPECT_EQ(sum(x, d, true).shape(), keep_shape);
      EXPECT_EQ(sum(x, d - 4).shape(), want_shape);  // negative dims count from the end
      if (is_floating(dt)) {
        auto m = reference(x, d, Red::Sum);
        for (double& e : m)
          e /= static_cast<double>(shape[static_cast<std::size_t>(d)]);
        expect_near_all(values(mean(x, d)), m, 1e-5);
        EXPECT_EQ(mean(x, d, true).shape(), keep_shape);
      }
    }
  }
}

TEST(ReduceSum, ViewsAsInputs) {
  const Tensor base = rnd({8, 12}, kFloat32, 41);
  for (const Tensor& v : {base.t(), base.slice(1, 1, 12, 3), base.slice(0, 2, 7),
                          base.select(1, 4).unsqueeze(1).expand({8, 6})}) {
    SCOPED_TRACE(shape_str(v.shape()) + " strides " + shape_str(v.strides()));
    EXPECT_TRUE(allclose(sum(v), sum(v.contiguous()), 1e-6, 1e-6));
    EXPECT_TRUE(equal(sum(v, 0), sum(v.contiguous(), 0)));
    EXPECT_TRUE(equal(sum(v, 1), sum(v.contiguous(), 1)));
    EXPECT_TRUE(equal(max(v, 0), max(v.contiguous(), 0)));
    EXPECT_TRUE(equal(argmax(v, 1), argmax(v.contiguous(), 1)));
    EXPECT_TRUE(equal(max(v), max(v.contiguous())));
    EXPECT_TRUE(equal(argmax(v), argmax(v.contiguous())));
  }
}

TEST(ReduceSum, ZeroDimAndEmptyTensors) {
  const Tensor s = scalar_tensor(4.5, kFloat32);
  EXPECT_EQ(sum(s).item<double>(), 4.5);
  EXPECT_EQ(sum(s, 0).dim(), 0);
  EXPECT_EQ(sum(s, -1, true).item<double>(), 4.5);
  EXPECT_EQ(max(s, 0).item<double>(), 4.5);
  EXPECT_EQ(argmax(s, 0).item<int64_t>(), 0);
  EXPECT_EQ(sum(zeros({0})).item<double>(), 0.0);
  EXPECT_EQ(sum(zeros({0}, kInt32)).item<int64_t>(), 0);
  EXPECT_TRUE(std::isnan(mean(zeros({0})).item<double>()));
  const Tensor e = zeros({2, 0, 3});
  EXPECT_EQ(sum(e, 1).shape(), (Shape{2, 3}));
  EXPECT_EQ(values(sum(e, 1)), std::vector<double>(6, 0.0));
  EXPECT_EQ(sum(e, 0).shape(), (Shape{0, 3}));
  EXPECT_EQ(max(e, 2).shape(), (Shape{2, 0}));
  EXPECT_EQ(argmax(e, 0).shape(), (Shape{0, 3}));
}

// Blocks of 4096 added in double: a million 0.1f stay within float rounding of 100000, where a
// naive float loop drifts by about 1%.
TEST(ReduceSum, LongFloat32SumsStayAccurate) {
  const int64_t n = 1'000'000;
  const Tensor x = full({n}, 0.1, kFloat32);
  const double want = static_cast<double>(0.1f) * static_cast<double>(n);
  EXPECT_NEAR(sum(x).item<double>(), want, want * 1e-6);
  EXPECT_NEAR(mean(x).item<double>(), 0.1, 1e-7);
  EXPECT_NEAR(sum(x.view({10, n / 10}), 1).view({10})[3].item<double>(), want / 10, want * 1e-7);
}

TEST(ReduceSum, IntegerSumsWrapLikeInt64) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(sum(from_vector(std::vector<int64_t>{big, 1})).item<int64_t>(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(sum(from_vector(std::vector<int8_t>{100, 100, 100})).item<int64_t>(), 300);
}

TEST(ReduceSum, HalfSumsRoundOnce) {
  // 2048 + 1 + 1 in float16 step by step stays 2048; accumulated in float32 it is 2050.
  const Tensor h = from_vector(std::vector<double>{2048, 1, 1}).to(kFloat16);
  EXPECT_EQ(sum(h).item<double>(), 2050.0);
  EXPECT_EQ(sum(h.view({3, 1}), 0).item<double>(), 2050.0);
  EXPECT_EQ(mean(h).item<double>(), 683.5);  // 2050 / 3 = 683.33 rounds to 683.5 in float16
}

TEST(ReduceMean, RejectsIntegralInputs) {
  WICK_EXPECT_THROW_MSG(mean(ones({3}, kInt64)), ArgumentError,
                        "mean: input dtype must be floating point");
  WICK_EXPECT_THROW_MSG(mean(ones({3}, kInt64)), ArgumentError, "got int64");
  WICK_EXPECT_THROW_MSG(mean(ones({3}, kBool), 0), ArgumentError, "got bool");
}

// ---- max / argmax ------------------------------------------------------------------------------

TEST(ReduceMax, AlongEachDimMatchesReference) {
  const Shape shape = {4, 9, 33};
  for (const DType dt : {kFloat32, kFloat64, kInt32, kInt8, kFloat16, kBFloat16}) {
    const Tensor x = rnd(shape, dt, 50);
    for (int64_t d = 0; d < 3; ++d) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " dim " + std::to_string(d));
      const Tensor m = max(x, d);
      EXPECT_EQ(m.dtype(), dt);
      EXPECT_EQ(values(m), reference(x, d, Red::Max));
      const Tensor am = argmax(x, d, true);
      EXPECT_EQ(am.dtype(), kInt64);
      EXPECT_EQ(values(am), reference(x, d, Red::Argmax));
      EXPECT_EQ(am.size(d), 1);
    }
    EXPECT_EQ(max(x).item<double>(), reference(x.flatten(), 0, Red::Max)[0]);
    EXPECT_EQ(argmax(x).item<double>(), reference(x.flatten(), 0, Red::Argmax)[0]);
  }
}

TEST(ReduceMax, NaNPropagatesAndArgmaxPointsAtTheFirstNaN) {
  const Tensor x = tensor({1.0, kNaN, 5.0, kNaN});
  EXPECT_TRUE(std::isnan(max(x).item<double>()));
  EXPECT_EQ(argmax(x).item<int64_t>(), 1);
  // Along a non-innermost dim (row-wise elementwise max) and the innermost one.
  const Tensor m = tensor({{1.0, kNaN, 2.0}, {3.0, 2.0, kNaN}, {kNaN, 9.0, 1.0}});
  const auto col = values(max(m, 0));
  EXPECT_TRUE(std::isnan(col[0]) && std::isnan(col[1]) && std::isnan(col[2]));
  EXPECT_EQ(values(argmax(m, 0)), (std::vector<double>{2, 0, 1}));
  const auto row = values(max(m, 1));
  EXPECT_TRUE(std::isnan(row[0]) && std::isnan(row[1]) && std::isnan(row[2]));
  EXPECT_EQ(values(argmax(m, 1)), (std::vector<double>{1, 2, 0}));
  const Tensor big = full({1000}, 1.0, kFloat32);
  big.select(0, 777).fill_(kNaN);
  EXPECT_TRUE(std::isnan(max(big).item<double>()));
  EXPECT_EQ(argmax(big).item<int64_t>(), 777);
  EXPECT_TRUE(std::isnan(max(big.to(kFloat16)).item<double>()));
}

TEST(ReduceMax, ArgmaxTakesTheFirstOfEqualMaxima) {
  EXPECT_EQ(argmax(tensor({1.0, 3.0, 3.0, 2.0})).item<int64_t>(), 1);
  EXPECT_EQ(argmax(tensor({4, 4, 4})).item<int64_t>(), 0);
  EXPECT_EQ(values(argmax(tensor({{1.0, 7.0}, {7.0, 7.0}}), 0)), (std::vector<double>{1, 0}));
  EXPECT_EQ(argmax(full({5000}, 2.0, kFloat32)).item<int64_t>(), 0);
}

TEST(ReduceMax, InfinitiesAndNegativeValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(max(tensor({-inf, -3.0})).item<double>(), -3.0);
  EXPECT_EQ(max(tensor({-inf, -inf})).item<double>(), -inf);
  EXPECT_EQ(max(tensor({-5.0, inf, 1.0})).item<double>(), inf);
  EXPECT_EQ(argmax(tensor({-inf, -inf})).item<int64_t>(), 0);
}

TEST(ReduceMax, BoolMaxWorksArgmaxIsRejected) {
  EXPECT_EQ(max(tensor({false, true})).item<bool>(), true);
  EXPECT_EQ(max(tensor({false, true}), 0).dtype(), kBool);
  WICK_EXPECT_THROW_MSG(argmax(tensor({true})), ArgumentError,
                        "argmax: bool tensors are not supported");
  WICK_EXPECT_THROW_MSG(argmax(tensor({true}), 0), ArgumentError, "got bool");
}

TEST(ReduceMax, EmptyInputErrors) {
  WICK_EXPECT_THROW_MSG(max(zeros({0})), ArgumentError,
                        "max: expected a non-empty tensor, got shape [0]");
  WICK_EXPECT_THROW_MSG(argmax(zeros({2, 0})), ArgumentError,
                        "argmax: expected a non-empty tensor, got shape [2, 0]");
  WICK_EXPECT_THROW_MSG(max(zeros({2, 0}), 1), ArgumentError,
                        "max: expected reduction dim 1 to have non-zero size, got shape [2, 0]");
  WICK_EXPECT_THROW_MSG(argmax(zeros({0, 3}), 0), ArgumentError,
                        "argmax: expected reduction dim 0 to have non-zero size");
}

TEST(ReduceErrors, DimOutOfRangeAndUndefined) {
  const Tensor x = zeros({2, 3});
  WICK_EXPECT_THROW_MSG(sum(x, 2), ArgumentError, "sum: dimension out of range");
  WICK_EXPECT_THROW_MSG(sum(x, 2), ArgumentError, "but got 2");
  WICK_EXPECT_THROW_MSG(mean(x, -3), ArgumentError, "mean: dimension out of range");
  WICK_EXPECT_THROW_MSG(max(x, 5), ArgumentError, "max: dimension out of range");
  WICK_EXPECT_THROW_MSG(argmax(x, -4), ArgumentError, "argmax: dimension out of range");
  WICK_EXPECT_THROW_MSG(sum(scalar_tensor(1, kFloat32), 1), ArgumentError, "sum: dimension");
  const Tensor u;
  WICK_EXPECT_THROW_MSG(sum(u), ArgumentError, "sum: input is undefined");
  WICK_EXPECT_THROW_MSG(mean(u, 0), ArgumentError, "mean: input is undefined");
  WICK_EXPECT_THROW_MSG(max(u), ArgumentError, "max: input is undefined");
  WICK_EXPECT_THROW_MSG(argmax(u, 0), ArgumentError, "argmax: input is undefined");
}

}  // namespace
}  // namespace wick
