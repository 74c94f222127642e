#include <gtest/gtest.h>

#include <cmath>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/ops.h"
#include "wick/core/random.h"
#include "wick/core/reduce.h"
#include "wick/nn/linear.h"

namespace wick::nn {
namespace {

// y[b, o] = sum_i x[b, i] * W[o, i] + bias[o], accumulated in double.
Tensor naive_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t batch = x.size(0), in = x.size(1), out = w.size(0);
  const Tensor xd = x.to(kFloat64).contiguous(), wd = w.to(kFloat64).contiguous();
  Tensor y = zeros({batch, out}, kFloat64);
  const double* xp = xd.data<double>();
  const double* wp = wd.data<double>();
  double* yp = y.data<double>();
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.defined() ? b[o].item<double>() : 0.0;
      for (int64_t i = 0; i < in; ++i)
        acc += xp[r * in + i] * wp[o * in + i];
      yp[r * out + o] = acc;
    }
  }
  return y;
}

TEST(Linear, InitBoundsFollowPyTorch) {
  for (int64_t in : {1, 3, 20, 256}) {
    Linear lin(in, 64);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    EXPECT_EQ(lin.weight.shape(), (Shape{64, in}));
    EXPECT_EQ(lin.bias.shape(), (Shape{64}));
    EXPECT_EQ(lin.weight.dtype(), kFloat32);
    for (const Tensor& p : {lin.weight, lin.bias}) {
      const auto s = p.span<float>();
      float lo = s[0], hi = s[0];
      for (float v : s) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      EXPECT_GE(lo, -bound);
      EXPECT_LT(hi, bound);
      // Not degenerate: the samples spread over most of the interval.
      if (p.numel() >= 64) {
        EXPECT_LT(lo, -bound / 2);
        EXPECT_GT(hi, bound / 2);
      }
    }
  }
}

TEST(Linear, GeneratorMakesInitReproducible) {
  Generator g1(7), g2(7), g3(8);
  Linear a(5, 6, true, g1), b(5, 6, true, g2), c(5, 6, true, g3);
  EXPECT_TRUE(bitwise_equal(a.weight, b.weight));
  EXPECT_TRUE(bitwise_equal(a.bias, b.bias));
  EXPECT_FALSE(bitwise_equal(a.weight, c.weight));
}

TEST(Linear, NoBias) {
  Linear lin(4, 3, false);
  EXPECT_FALSE(lin.bias.defined());
  EXPECT_EQ(lin.state_dict().keys(), (std::vector<std::string>{"weight"}));
  const Tensor x = randn({2, 4});
  EXPECT_TRUE(allclose(lin(x).to(kFloat64), naive_linear(x, lin.weight, Tensor()), 1e-5, 1e-6));
}

TEST(Linear, ForwardMatchesNaiveReference) {
  // Widths that are and are not multiples of every SIMD width, batch 1 included.
  const int64_t shapes[][3] = {{1, 20, 256}, {2, 20, 256}, {64, 256, 10}, {1, 1, 1},
                               {3, 17, 33},  {5, 33, 17},  {7, 15, 1},    {1, 1023, 3}};
  for (const auto& s : shapes) {
    Linear lin(s[1], s[2]);
    const Tensor x = randn({s[0], s[1]});
    const Tensor y = lin(x);
    EXPECT_EQ(y.shape(), (Shape{s[0], s[2]}));
    EXPECT_TRUE(allclose(y.to(kFloat64), naive_linear(x, lin.weight, lin.bias), 1e-4, 1e-5))
        << "batch " << s[0] << " in " << s[1] << " out " << s[2];
  }
}

TEST(Linear, LeadingBatchDimensions) {
  Linear lin(6, 4);
  const Tensor x = randn({2, 3, 6});
  const Tensor y = lin(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  EXPECT_TRUE(allclose(y.reshape({6, 4}).to(kFloat64),
                       naive_linear(x.reshape({6, 6}), lin.weight, lin.bias), 1e-4, 1e-5));
}

TEST(Linear, Errors) {
  Linear lin(20, 256);
  WICK_EXPECT_THROW_MSG(lin(zeros({2, 21})), ShapeError,
                        "Linear::forward: expected input [..., 20], got [2, 21]");
  WICK_EXPECT_THROW_MSG(lin(zeros({})), ShapeError, "expected input [..., 20], got []");
  WICK_EXPECT_THROW_MSG(lin(Tensor()), ArgumentError, "input is undefined");
  WICK_EXPECT_THROW_MSG(Linear(-1, 2), ArgumentError, "in_features=-1");
}

}  // namespace
}  // namespace wick::nn
