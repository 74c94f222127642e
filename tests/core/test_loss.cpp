// mse_loss and cross_entropy: values against double references, stability with huge logits,
// finite-difference gradients, the softmax - onehot gradient, dtypes and error messages.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::expect_gradients_match;
using testing::rand64;
using testing::values;
using V = std::vector<Tensor>;

// Mean over rows of -log softmax(row)[target], in long double.
double reference_cross_entropy(const Tensor& logits, const std::vector<int64_t>& target) {
  const auto v = values(logits);
  const int64_t n = logits.size(0);
  const int64_t c = logits.size(1);
  long double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    long double m = v[i * c];
    for (int64_t j = 0; j < c; ++j)
      m = std::max<long double>(m, v[i * c + j]);
    long double s = 0;
    for (int64_t j = 0; j < c; ++j)
      s += std::exp(static_cast<long double>(v[i * c + j]) - m);
    total += std::log(s) + m - v[i * c + target[i]];
  }
  return static_cast<double>(total / n);
}

TEST(MseLoss, ValueIsTheMeanSquaredError) {
  const Tensor a = tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  const Tensor b = tensor({{1.5f, 2.0f}, {1.0f, 7.0f}});
  const Tensor loss = mse_loss(a, b);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_EQ(loss.dtype(), kFloat32);
  EXPECT_FLOAT_EQ(loss.item<float>(), (0.25f + 0.0f + 4.0f + 9.0f) / 4.0f);
  EXPECT_FALSE(loss.requires_grad());
}

TEST(MseLoss, GradientsMatchFiniteDifferences) {
  expect_gradients_match([](const V& v) { return mse_loss(v[0], v[1]); },
                         {rand64({3, 4}, 1), rand64({3, 4}, 2)});
  expect_gradients_match([](const V& v) { return mse_loss(v[0], v[1]); },
                         {rand64({5}, 3), rand64({5}, 4)}, {false, true});
}

TEST(MseLoss, GradientIsTwiceTheDifferenceOverN) {
  Tensor a = tensor({1.0f, 2.0f, 3.0f, 4.0f}).set_requires_grad();
  mse_loss(a, tensor({0.0f, 0.0f, 0.0f, 8.0f})).backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(values(a.grad()), (std::vector<double>{0.5, 1.0, 1.5, -2.0}));
}

TEST(MseLoss, Errors) {
  WICK_EXPECT_THROW_MSG(mse_loss(zeros({2, 3}), zeros({3, 2})), ShapeError,
                        "mse_loss: input shape [2, 3] and target shape [3, 2] must match");
  WICK_EXPECT_THROW_MSG(mse_loss(tensor({1, 2}), tensor({1.0f, 2.0f})), ArgumentError,
                        "mse_loss: input and target must be floating point, got int64 and float32");
  WICK_EXPECT_THROW_MSG(mse_loss(Tensor(), zeros({1})), ArgumentError,
                        "mse_loss: input is undefined");
}

TEST(CrossEntropy, ValueMatchesReference) {
  const Tensor logits = rand64({5, 4}, 1, -3, 3);
  const std::vector<int64_t> t{0, 3, 1, 1, 2};
  const Tensor loss = cross_entropy(logits, from_vector(t));
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_EQ(loss.dtype(), kFloat64);
  EXPECT_NEAR(loss.item<double>(), reference_cross_entropy(logits, t), 1e-12);
  const Tensor l32 = cross_entropy(logits.to(kFloat32), from_vector(t));
  EXPECT_EQ(l32.dtype(), kFloat32);
  EXPECT_NEAR(l32.item<double>(), reference_cross_entropy(logits, t), 1e-5);
}

TEST(CrossEntropy, KnownValue) {
  // Uniform logits: log C.
  EXPECT_NEAR(cross_entropy(zeros({3, 4}), tensor({0, 1, 3})).item<double>(), std::log(4.0), 1e-6);
}

TEST(CrossEntropy, HugeLogitsStayFinite) {
  const Tensor logits = tensor({{1000.0f, 0.0f, -1000.0f}, {1e4f, 1e4f, 0.0f}});
  Tensor x = logits.clone().set_requires_grad();
  const Tensor loss = cross_entropy(x, tensor({1, 0}));
  // Row 0: 1000 - 0; row 1: log 2.
  EXPECT_NEAR(loss.item<double>(), (1000.0 + std::log(2.0)) / 2, 1e-3);
  loss.backward();
  for (double g : values(x.grad()))
    EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(values(x.grad())[0], 0.5, 1e-6);    // softmax 1, not the target: (1 - 0) / 2
  EXPECT_NEAR(values(x.grad())[1], -0.5, 1e-6);   // (0 - 1) / 2
  EXPECT_NEAR(values(x.grad())[3], -0.25, 1e-6);  // (0.5 - 1) / 2
}

TEST(CrossEntropy, GradientsMatchFiniteDifferences) {
  const Tensor target = tensor({2, 0, 1, 2, 2, 0});
  expect_gradients_match([&](const V& v) { return cross_entropy(v[0], target); },
                         {rand64({6, 3}, 1, -2, 2)});
  expect_gradients_match([&](const V& v) { return cross_entropy(v[0] * v[1], target); },
                         {rand64({6, 3}, 2, -2, 2), rand64({3}, 3)});
}

TEST(CrossEntropy, GradientIsSoftmaxMinusOnehotOverN) {
  Tensor x = rand64({4, 3}, 5, -2, 2).set_requires_grad();
  const Tensor target = tensor({0, 2, 2, 1});
  cross_entropy(x, target).backward();
  const Tensor e = exp(x.detach());
  Tensor expected = e / sum(e, 1, true);
  for (int64_t i = 0; i < 4; ++i)
    expected.data<double>()[i * 3 + target.data<int64_t>()[i]] -= 1.0;
  EXPECT_TRUE(allclose(x.grad(), expected / 4.0, 1e-12, 1e-14));
}

TEST(CrossEntropy, ScaledUpstreamGradientAndFloat32) {
  Tensor x = zeros({2, 2}).set_requires_grad();
  Tensor loss = cross_entropy(x, tensor({0, 1})) * 4.0;
  loss.backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{-1.0, 1.0, 1.0, -1.0}));
}

TEST(CrossEntropy, StridedInputs) {
  const Tensor logits = rand64({3, 5}, 7);
  const std::vector<int64_t> t{4, 0, 2};
  EXPECT_NEAR(cross_entropy(logits.t().contiguous().t(), from_vector(t)).item<double>(),
              reference_cross_entropy(logits, t), 1e-12);
  const Tensor wide = from_vector(std::vector<int64_t>{4, 9, 0, 9, 2, 9});
  EXPECT_NEAR(cross_entropy(logits, wide.slice(0, 0, 6, 2)).item<double>(),
              reference_cross_entropy(logits, t), 1e-12);
}

TEST(CrossEntropy, EmptyBatchIsNaN) {
  EXPECT_TRUE(std::isnan(cross_entropy(zeros({0, 3}), zeros({0}, kInt64)).item<double>()));
}

TEST(CrossEntropy, Errors) {
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), tensor({0, 1}, kInt32)), ArgumentError,
                        "cross_entropy: target must hold int64 class indices, got int32");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), tensor({0, 3})), ArgumentError,
                        "cross_entropy: target 3 at index 1 is out of bounds for 3 classes");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), tensor({-1, 0})), ArgumentError,
                        "target -1 at index 0 is out of bounds");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), tensor({0, 1, 2})), ShapeError,
                        "cross_entropy: target shape [3] does not match logits shape [2, 3]");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), zeros({2, 1}, kInt64)), ShapeError,
                        "target shape [2, 1] does not match logits shape [2, 3] (expected [2])");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({6}), tensor({0})), ShapeError,
                        "cross_entropy: logits must be 2-d [N, C], got shape [6]");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}, kInt64), tensor({0, 1})), ArgumentError,
                        "logits must be floating point, got int64");
  WICK_EXPECT_THROW_MSG(cross_entropy(zeros({2, 3}), Tensor()), ArgumentError,
                        "cross_entropy: target is undefined");
}

}  // namespace
}  // namespace wick
