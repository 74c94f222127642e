// Reverse-mode autograd: finite-difference checks for every differentiable op and view,
// broadcasting, reuse, accumulation, dtypes, NoGradGuard, in-place rules, error messages, deep
// graphs, and a small MLP built from wick::nn modules.

#include <gtest/gtest.h>

#include <thread>
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

// ---- elementwise arithmetic ---------------------------------------------------------------

TEST(AutogradCheck, AddSameShape) {
  expect_gradients_match([](const V& v) { return v[0] + v[1]; },
                         {rand64({2, 3}, 1), rand64({2, 3}, 2)});
}

TEST(AutogradCheck, AddBroadcastColumnAndRow) {
  // [3, 1] + [4] -> [3, 4]: both gradients are sums over the broadcast dimensions.
  expect_gradients_match([](const V& v) { return add(v[0], v[1]); },
                         {rand64({3, 1}, 1), rand64({4}, 2)});
}

TEST(AutogradCheck, AddBroadcastLeadingDims) {
  expect_gradients_match([](const V& v) { return v[0] + v[1]; },
                         {rand64({2, 1, 3}, 1), rand64({4, 1}, 2)});
  expect_gradients_match([](const V& v) { return v[0] + v[1]; },
                         {rand64({}, 3), rand64({2, 2}, 4)});
}

TEST(AutogradCheck, SubBroadcast) {
  expect_gradients_match([](const V& v) { return v[0] - v[1]; },
                         {rand64({3, 1}, 1), rand64({4}, 2)});
  expect_gradients_match([](const V& v) { return sub(v[1], v[0]); },
                         {rand64({2, 3}, 3), rand64({3}, 4)});
}

TEST(AutogradCheck, MulBroadcast) {
  expect_gradients_match([](const V& v) { return v[0] * v[1]; },
                         {rand64({3, 1}, 1), rand64({4}, 2)});
  expect_gradients_match([](const V& v) { return mul(v[0], v[1]); },
                         {rand64({2, 3}, 3), rand64({2, 3}, 4)});
}

TEST(AutogradCheck, DivBroadcast) {
  expect_gradients_match([](const V& v) { return v[0] / v[1]; },
                         {rand64({3, 1}, 1), rand64({4}, 2, 0.5, 2.0)});
}

TEST(AutogradCheck, TensorScalarForms) {
  const V x{rand64({2, 3}, 5, 0.5, 2.0)};
  expect_gradients_match([](const V& v) { return v[0] + 2.5; }, x);
  expect_gradients_match([](const V& v) { return 2.5 + v[0]; }, x);
  expect_gradients_match([](const V& v) { return v[0] - 1.5; }, x);
  expect_gradients_match([](const V& v) { return 1.5 - v[0]; }, x);
  expect_gradients_match([](const V& v) { return v[0] * -3.0; }, x);
  expect_gradients_match([](const V& v) { return 3.0 * v[0]; }, x);
  expect_gradients_match([](const V& v) { return v[0] / 4.0; }, x);
  expect_gradients_match([](const V& v) { return 4.0 / v[0]; }, x);
  expect_gradients_match([](const V& v) { return mul(add(sub(div(v[0], 2), 1), 3), 2); }, x);
}

TEST(AutogradCheck, TensorUsedTwice) {
  expect_gradients_match([](const V& v) { return v[0] * v[0]; }, {rand64({5}, 1)});
  expect_gradients_match([](const V& v) { return v[0] * v[1] + v[0]; },
                         {rand64({2, 2}, 2), rand64({2}, 3)});
  // Exactly 2x, the two contributions summed.
  Tensor x = tensor({1.5, -2.0}, kFloat64).set_requires_grad();
  sum(x * x).backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{3.0, -4.0}));
}

TEST(AutogradCheck, NegAndUnaryFunctions) {
  expect_gradients_match([](const V& v) { return -v[0]; }, {rand64({2, 3}, 1)});
  expect_gradients_match([](const V& v) { return exp(v[0]); }, {rand64({2, 3}, 2)});
  expect_gradients_match([](const V& v) { return log(v[0]); }, {rand64({2, 3}, 3, 0.5, 3.0)});
  expect_gradients_match([](const V& v) { return tanh(v[0]); }, {rand64({2, 3}, 4)});
  expect_gradients_match([](const V& v) { return sigmoid(v[0]); }, {rand64({2, 3}, 5)});
}

TEST(AutogradCheck, ReluAwayFromZero) {
  // Entries at least 0.1 from the kink, so finite differences see one side only.
  Tensor x = tensor({-2.0, -0.5, -0.1, 0.1, 0.7, 3.0}, kFloat64).reshape({2, 3});
  expect_gradients_match([](const V& v) { return relu(v[0]); }, {x});
  Tensor y = x.clone().set_requires_grad();
  sum(relu(y)).backward();
  EXPECT_EQ(values(y.grad()), (std::vector<double>{0, 0, 0, 1, 1, 1}));
}

TEST(Autograd, ReluGradientAtZeroIsZero) {
  Tensor x = tensor({0.0, 1.0}, kFloat64).set_requires_grad();
  sum(relu(x)).backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0.0, 1.0}));  // as PyTorch
}

// ---- matmul and linear --------------------------------------------------------------------

TEST(AutogradCheck, MatmulNonSquare) {
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({3, 4}, 1), rand64({4, 2}, 2)});
}

TEST(AutogradCheck, MatmulOneDimensionalOperands) {
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({4}, 1), rand64({4, 3}, 2)});
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({3, 4}, 3), rand64({4}, 4)});
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({4}, 5), rand64({4}, 6)});
}

TEST(AutogradCheck, MatmulBatchedAndBroadcast) {
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({2, 3, 4}, 1), rand64({4, 5}, 2)});
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({2, 1, 3, 4}, 3), rand64({3, 4, 2}, 4)});
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({4}, 5), rand64({2, 4, 3}, 6)});
}

TEST(AutogradCheck, MatmulOfTransposedViews) {
  expect_gradients_match([](const V& v) { return matmul(v[0].t(), v[1]); },
                         {rand64({4, 3}, 1), rand64({4, 2}, 2)});
}

TEST(AutogradCheck, MatmulWithOneConstantOperand) {
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({3, 4}, 1), rand64({4, 2}, 2)}, {true, false});
  expect_gradients_match([](const V& v) { return matmul(v[0], v[1]); },
                         {rand64({3, 4}, 1), rand64({4, 2}, 2)}, {false, true});
}

TEST(AutogradCheck, Linear) {
  expect_gradients_match([](const V& v) { return linear(v[0], v[1], v[2]); },
                         {rand64({5, 3}, 1), rand64({2, 3}, 2), rand64({2}, 3)});
  expect_gradients_match([](const V& v) { return linear(v[0], v[1]); },
                         {rand64({5, 3}, 4), rand64({2, 3}, 5)});
  expect_gradients_match([](const V& v) { return linear(v[0], v[1], v[2]); },
                         {rand64({2, 4, 3}, 6), rand64({2, 3}, 7), rand64({2}, 8)});
  expect_gradients_match([](const V& v) { return linear(v[0], v[1], v[2]); },
                         {rand64({3}, 9), rand64({2, 3}, 10), rand64({2}, 11)});
}

TEST(AutogradCheck, LinearInputConstant) {
  expect_gradients_match([](const V& v) { return linear(v[0], v[1], v[2]); },
                         {rand64({5, 3}, 1), rand64({2, 3}, 2), rand64({2}, 3)},
                         {true, false, false});
}

// ---- reductions ---------------------------------------------------------------------------

TEST(AutogradCheck, SumAndMeanOfEverything) {
  expect_gradients_match([](const V& v) { return sum(v[0]); }, {rand64({2, 3}, 1)});
  expect_gradients_match([](const V& v) { return mean(v[0]); }, {rand64({2, 3}, 2)});
  expect_gradients_match([](const V& v) { return mean(v[0]); }, {rand64({}, 3)});
}

TEST(AutogradCheck, SumAndMeanAlongDims) {
  for (int64_t dim : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " keepdim " << keepdim);
      expect_gradients_match([=](const V& v) { return sum(v[0], dim, keepdim); },
                             {rand64({2, 3, 4}, 1)});
      expect_gradients_match([=](const V& v) { return mean(v[0], dim, keepdim); },
                             {rand64({2, 3, 4}, 2)});
    }
  }
}

// ---- views and copies ---------------------------------------------------------------------

TEST(AutogradCheck, ShapeViews) {
  const V x{rand64({2, 3, 4}, 1)};
  expect_gradients_match([](const V& v) { return v[0].view({6, 4}); }, x);
  expect_gradients_match([](const V& v) { return v[0].reshape({4, -1}); }, x);
  expect_gradients_match([](const V& v) { return v[0].flatten(); }, x);
  expect_gradients_match([](const V& v) { return v[0].transpose(0, 2); }, x);
  expect_gradients_match([](const V& v) { return v[0].permute({2, 0, 1}); }, x);
  expect_gradients_match([](const V& v) { return v[0].unsqueeze(1); }, x);
  expect_gradients_match([](const V& v) { return v[0].unsqueeze(1).squeeze(1); }, x);
  // reshape of a transposed view must copy: the copy and the view both carry the gradient.
  expect_gradients_match([](const V& v) { return v[0].transpose(0, 1).reshape({-1}); }, x);
}

TEST(AutogradCheck, IndexingViews) {
  const V x{rand64({4, 5}, 1)};
  expect_gradients_match([](const V& v) { return v[0].slice(1, 1, 5, 2); }, x);
  expect_gradients_match([](const V& v) { return v[0].slice(0, -3, 100); }, x);
  expect_gradients_match([](const V& v) { return v[0].select(1, 3); }, x);
  expect_gradients_match([](const V& v) { return v[0][2] * v[0][0]; }, x);
}

TEST(AutogradCheck, ExpandCloneContiguousTranspose2d) {
  expect_gradients_match([](const V& v) { return v[0].expand({2, 3, 4}); }, {rand64({3, 1}, 1)});
  expect_gradients_match([](const V& v) { return v[0].clone() * v[0]; }, {rand64({3}, 2)});
  expect_gradients_match([](const V& v) { return v[0].t().contiguous(); }, {rand64({3, 2}, 3)});
  expect_gradients_match([](const V& v) { return v[0].t(); }, {rand64({3}, 4)});
}

TEST(Autograd, ToOtherFloatingDtypeKeepsTheLeafDtype) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  sum(x.to(kFloat64) * tensor({3.0, 4.0}, kFloat64)).backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{3.0, 4.0}));
  EXPECT_FALSE(x.to(kInt64).requires_grad());  // gradients stop at integral results
}

// ---- engine behaviour ---------------------------------------------------------------------

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = tensor({1.0, 2.0}, kFloat64).set_requires_grad();
  sum(x * 3.0).backward();
  const Tensor first = x.grad();
  sum(x * x).backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{5.0, 7.0}));  // 3 + 2x
  EXPECT_TRUE(first.is_same(x.grad()));                          // accumulated in place, as PyTorch
  x.set_grad(Tensor());
  EXPECT_FALSE(x.grad().defined());
  sum(x).backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1.0, 1.0}));
}

TEST(Autograd, LeafGradientIsAFreshTensor) {
  // Both operands of an add get the same incoming gradient; each leaf must own its copy.
  Tensor a = tensor({1.0f, 2.0f}).set_requires_grad();
  Tensor b = tensor({3.0f, 4.0f}).set_requires_grad();
  Tensor upstream = tensor({1.0f, 1.0f});
  (a + b).backward(upstream);
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
  EXPECT_FALSE(a.grad().shares_storage(upstream));
  {
    NoGradGuard no_grad;
    a.grad().fill_(9);
  }
  EXPECT_EQ(values(b.grad()), (std::vector<double>{1.0, 1.0}));
}

// A gradient nothing else holds becomes the leaf's gradient as it is: a Linear's weight
// gradient is not copied once more per step. Large buffers are counted (storage_cache_stats:
// one map or cache hit each): the only one backward makes is the matmul's gradient of w.
TEST(Autograd, LeafTakesAFreshGradientWithoutCopyingIt) {
  Generator g(3);
  Tensor a = randn({4, 1024}, g);
  Tensor w = randn({1024, 2048}, g).set_requires_grad();  // 8 MiB: a mapped buffer
  Tensor loss = sum(matmul(a, w));
  const StorageCacheStats before = storage_cache_stats();
  loss.backward();
  const StorageCacheStats after = storage_cache_stats();
  EXPECT_EQ((after.maps + after.hits) - (before.maps + before.hits), 1u);
  // And it is right: d sum(a w) / dw[i][j] = sum over rows of a[:, i].
  const Tensor expect = sum(a, 0).reshape({1024, 1}).expand({1024, 2048}).contiguous();
  EXPECT_TRUE(allclose(w.grad(), expect, 1e-5, 1e-5));
}

TEST(Autograd, NonScalarBackwardWithExplicitGrad) {
  Tensor x = tensor({1.0f, 2.0f, 3.0f}).set_requires_grad();
  Tensor y = x * 2.0;
  y.backward(tensor({1.0f, 10.0f, 100.0f}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 20.0, 200.0}));
}

TEST(Autograd, BackwardFromALeaf) {
  Tensor x = tensor({4.0}, kFloat64).set_requires_grad();
  x.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1.0}));
}

TEST(Autograd, Float32StaysFloat32AndMixedDtypesGetTheirOwn) {
  Tensor a = tensor({1.0f, 2.0f}).set_requires_grad();
  Tensor b = tensor({3.0, 4.0}, kFloat64).set_requires_grad();
  Tensor y = a * b;
  EXPECT_EQ(y.dtype(), kFloat64);
  sum(y).backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  EXPECT_EQ(values(a.grad()), (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(values(b.grad()), (std::vector<double>{1.0, 2.0}));
}

TEST(Autograd, HalfPrecisionLeavesGetHalfGradients) {
  for (DType d : {kFloat16, kBFloat16}) {
    Tensor x = tensor({1.0, -2.0, 0.5}, d).set_requires_grad();
    sum(relu(x) * x + x).backward();
    ASSERT_TRUE(x.grad().defined());
    EXPECT_EQ(x.grad().dtype(), d);
    EXPECT_EQ(values(x.grad()), (std::vector<double>{3.0, 1.0, 2.0}));
  }
}

TEST(Autograd, Float32MatmulGradients) {
  Tensor a = testing::random_values({3, 4}, kFloat32, 1, -1, 1).set_requires_grad();
  Tensor b = testing::random_values({4, 2}, kFloat32, 2, -1, 1).set_requires_grad();
  sum(matmul(a, b)).backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  // d/dA sum(AB) = 1 B^T: every row is the row sums of B.
  const Tensor expected_a = matmul(ones({3, 2}), b.detach().t());
  EXPECT_TRUE(allclose(a.grad(), expected_a, 1e-5, 1e-6));
  EXPECT_TRUE(allclose(b.grad(), matmul(a.detach().t(), ones({3, 2})), 1e-5, 1e-6));
}

TEST(Autograd, RecordingFlagsAndLeaves) {
  Tensor x = tensor({1.0f, 2.0f});
  EXPECT_FALSE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(Tensor().requires_grad());
  x.set_requires_grad();
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  Tensor y = x * 2.0;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_FALSE(y.grad().defined());
  Tensor v = x.view({2, 1});
  EXPECT_TRUE(v.requires_grad());
  EXPECT_FALSE(v.is_leaf());
  EXPECT_TRUE(v.shares_storage(x));
  // Ops on tensors that do not require grad record nothing.
  Tensor plain = tensor({1.0f}) + tensor({2.0f});
  EXPECT_FALSE(plain.requires_grad());
  EXPECT_TRUE(plain.is_leaf());
  x.set_requires_grad(false);
  EXPECT_FALSE((x * 2.0).requires_grad());
}

TEST(Autograd, CopiedHandlesShareTheState) {
  Tensor p = zeros({2}).set_requires_grad();
  Tensor alias = p;
  sum(p * 2.0).backward();
  ASSERT_TRUE(alias.grad().defined());
  EXPECT_TRUE(alias.grad().is_same(p.grad()));
  alias.set_grad(Tensor());
  EXPECT_FALSE(p.grad().defined());
}

TEST(Autograd, DetachSharesStorageWithoutHistory) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  Tensor y = (x * 2.0).detach();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  Tensor d = x.detach();
  EXPECT_TRUE(d.is_same(x));
  EXPECT_FALSE(d.requires_grad());
  EXPECT_FALSE((d * 3.0).requires_grad());
}

TEST(Autograd, NoGradGuardRecordsNothingAndNests) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  EXPECT_TRUE(grad_enabled());
  {
    NoGradGuard outer;
    EXPECT_FALSE(grad_enabled());
    Tensor y = x * 2.0 + x;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
    EXPECT_FALSE(x.t().requires_grad());
    EXPECT_FALSE(x.view({2, 1}).requires_grad());
    EXPECT_FALSE(matmul(x, x).requires_grad());
    {
      NoGradGuard inner;
      EXPECT_FALSE(grad_enabled());
    }
    EXPECT_FALSE(grad_enabled());
    // In-place updates of a leaf are allowed here (optimizer steps).
    x.copy_(tensor({5.0f, 6.0f}));
    x.fill_(7.0);
    x.zero_();
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, BackwardInsideNoGradGuardStillWorks) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  Tensor y = sum(x * x);
  NoGradGuard no_grad;
  y.backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 4.0}));
}

TEST(Autograd, GradModeIsPerThread) {
  NoGradGuard no_grad;
  bool other = false;
  std::thread([&] { other = grad_enabled(); }).join();
  EXPECT_TRUE(other);
  EXPECT_FALSE(grad_enabled());
}

TEST(Autograd, DeepChainBackwardsWithoutStackOverflow) {
  constexpr int kDepth = 100000;
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  const Tensor one = tensor({1.0f, 1.0f});
  {
    Tensor y = x;
    for (int i = 0; i < kDepth; ++i)
      y = y + one;
    EXPECT_EQ(values(y), (std::vector<double>{kDepth + 1.0, kDepth + 2.0}));
    sum(y).backward();
  }
  EXPECT_EQ(values(x.grad()), (std::vector<double>{1.0, 1.0}));
  {
    // Dropping a deep graph that was never run must not recurse either.
    Tensor y = x;
    for (int i = 0; i < kDepth; ++i)
      y = y * 1.0;
  }
}

TEST(Autograd, DiamondGraphSumsBranches) {
  // y = a * b, z = y + y * a: gradients reach y through two paths.
  expect_gradients_match(
      [](const V& v) {
        Tensor y = v[0] * v[1];
        return y + relu(y) * v[0] - sum(y, 0);
      },
      {rand64({3, 2}, 1), rand64({2}, 2)});
}

// ---- errors -------------------------------------------------------------------------------

TEST(AutogradErrors, BackwardOnNonScalarNeedsGrad) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  WICK_EXPECT_THROW_MSG((x * 2.0).backward(), ArgumentError,
                        "grad can be implicitly created only for scalar outputs");
  WICK_EXPECT_THROW_MSG((x * 2.0).backward(), ArgumentError, "[2]");
  WICK_EXPECT_THROW_MSG((x * 2.0).backward(tensor({1.0f, 2.0f, 3.0f})), ShapeError,
                        "grad shape [3] does not match tensor shape [2]");
  WICK_EXPECT_THROW_MSG((x * 2.0).backward(tensor({1, 2})), ArgumentError,
                        "grad must be floating point, got int64");
}

TEST(AutogradErrors, BackwardOnATensorThatDoesNotRequireGrad) {
  WICK_EXPECT_THROW_MSG(sum(tensor({1.0f})).backward(), ArgumentError, "does not require grad");
  WICK_EXPECT_THROW_MSG(Tensor().backward(), ArgumentError, "backward: tensor is undefined");
}

TEST(AutogradErrors, SecondBackwardThroughFreedGraphNamesTheOp) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  Tensor loss = sum(x * x);
  loss.backward();
  WICK_EXPECT_THROW_MSG(loss.backward(), ArgumentError,
                        "trying to backward through the graph a second time");
  WICK_EXPECT_THROW_MSG(loss.backward(), ArgumentError, "'sum'");
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2.0, 4.0}));  // untouched by the failures
  // A new graph over the same part of an old one: the freed inner node is reported before any
  // gradient is accumulated.
  Tensor y = x * 3.0;
  sum(y).backward();
  Tensor z = sum(y + 1.0);
  WICK_EXPECT_THROW_MSG(z.backward(), ArgumentError, "'mul'");
  EXPECT_EQ(values(x.grad()), (std::vector<double>{5.0, 7.0}));
}

TEST(AutogradErrors, InPlaceOnALeafThatRequiresGrad) {
  Tensor x = tensor({1.0f, 2.0f}).set_requires_grad();
  constexpr const char* kMsg =
      "a leaf Variable that requires grad is being used in an in-place operation";
  WICK_EXPECT_THROW_MSG(x.copy_(tensor({3.0f, 4.0f})), ArgumentError, kMsg);
  WICK_EXPECT_THROW_MSG(x.fill_(1.0), ArgumentError, kMsg);
  WICK_EXPECT_THROW_MSG(x.zero_(), ArgumentError, kMsg);
  WICK_EXPECT_THROW_MSG(x.copy_(tensor({3.0f, 4.0f})), ArgumentError, "copy_:");
  WICK_EXPECT_THROW_MSG(x.fill_(1.0), ArgumentError, "fill_:");
  EXPECT_EQ(values(x), (std::vector<double>{1.0, 2.0}));
  // Through a view too: the view has history, the in-place write would corrupt it.
  WICK_EXPECT_THROW_MSG(x.slice(0, 0, 1).fill_(0), ArgumentError, "produced by 'slice'");
  WICK_EXPECT_THROW_MSG((x * 2.0).zero_(), ArgumentError, "in-place operations on a tensor");
  EXPECT_NO_THROW(x.detach().fill_(3.0));  // explicitly outside autograd
  EXPECT_EQ(values(x), (std::vector<double>{3.0, 3.0}));
}

TEST(AutogradErrors, SetRequiresGradOnNonFloating) {
  WICK_EXPECT_THROW_MSG(tensor({1, 2}).set_requires_grad(), ArgumentError,
                        "only tensors of floating point dtype can require gradients, got int64");
  WICK_EXPECT_THROW_MSG(tensor({true}).set_requires_grad(), ArgumentError, "got bool");
  EXPECT_NO_THROW(tensor({1, 2}).set_requires_grad(false));
  WICK_EXPECT_THROW_MSG(Tensor().set_requires_grad(), ArgumentError,
                        "set_requires_grad: tensor is undefined");
  EXPECT_NO_THROW(zeros({1}, kFloat16).set_requires_grad());
}

TEST(AutogradErrors, SetRequiresGradOffOnNonLeaf) {
  Tensor x = tensor({1.0f}).set_requires_grad();
  Tensor y = x * 2.0;
  WICK_EXPECT_THROW_MSG(y.set_requires_grad(false), ArgumentError,
                        "only change requires_grad flags of leaf variables");
  WICK_EXPECT_THROW_MSG(y.set_requires_grad(false), ArgumentError, "'mul'");
}

TEST(AutogradErrors, SetGradChecksShapeAndDtype) {
  Tensor x = zeros({2, 3}).set_requires_grad();
  WICK_EXPECT_THROW_MSG(x.set_grad(zeros({3, 2})), ShapeError,
                        "set_grad: gradient shape [3, 2] does not match tensor shape [2, 3]");
  WICK_EXPECT_THROW_MSG(x.set_grad(zeros({2, 3}, kFloat64)), ArgumentError,
                        "gradient dtype float64 does not match tensor dtype float32");
  x.set_grad(ones({2, 3}));
  EXPECT_EQ(values(x.grad()), std::vector<double>(6, 1.0));
}

TEST(AutogradErrors, OpErrorsAreUnchangedWhenRecording) {
  Tensor a = zeros({2, 3}).set_requires_grad();
  WICK_EXPECT_THROW_MSG(matmul(a, a), ShapeError, "matmul: shapes [2, 3] and [2, 3] cannot be");
  WICK_EXPECT_THROW_MSG(a + zeros({4}), ShapeError, "add");
  WICK_EXPECT_THROW_MSG(sum(a, 5), Error, "sum");
  WICK_EXPECT_THROW_MSG(linear(a, zeros({4, 2})), ShapeError, "linear: input shape [2, 3]");
  EXPECT_TRUE(grad_enabled());  // the forward pass's NoGradGuard was unwound
}

TEST(Autograd, RecordedResultsEqualPlainResults) {
  const Tensor a = testing::random_values({5, 7}, kFloat32, 1, -2, 2);
  const Tensor b = testing::random_values({7}, kFloat32, 2, -2, 2);
  const Tensor w = testing::random_values({3, 7}, kFloat32, 3, -2, 2);
  auto f = [&](const Tensor& x) {
    return mean(relu(linear(x * b - 1.0, w)), 0) + sum(matmul(x, b.unsqueeze(1)));
  };
  const Tensor plain = f(a);
  const Tensor recorded = f(a.clone().set_requires_grad());
  EXPECT_TRUE(recorded.requires_grad());
  EXPECT_TRUE(bitwise_equal(plain, recorded.detach()));
}

// ---- a model from wick::nn ----------------------------------------------------------------

TEST(Autograd, TwoLayerMlpMatchesFiniteDifferences) {
  Generator gen(7);
  nn::Linear fc1(4, 5, true, gen);
  nn::ReLU act;
  nn::Linear fc2(5, 3, true, gen);
  const Tensor x = testing::random_values({6, 4}, kFloat32, 3, -2, 2);
  const Tensor target = tensor({0, 2, 1, 1, 0, 2});
  cross_entropy(fc2(act(fc1(x))), target).backward();

  // The same network in float64 from the module's parameters, differentiated numerically.
  V params;
  for (const Tensor& p : {fc1.weight, fc1.bias, fc2.weight, fc2.bias})
    params.push_back(p.detach().to(kFloat64).contiguous());
  const Tensor x64 = x.to(kFloat64);
  auto loss_of = [&](const V& p) {
    return cross_entropy(linear(relu(linear(x64, p[0], p[1])), p[2], p[3]), target);
  };
  const V grads{fc1.weight.grad(), fc1.bias.grad(), fc2.weight.grad(), fc2.bias.grad()};
  constexpr double kEps = 1e-6;
  for (std::size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(grads[i].defined()) << "parameter " << i;
    EXPECT_EQ(grads[i].dtype(), kFloat32);
    const auto analytic = values(grads[i]);
    for (int64_t j = 0; j < params[i].numel(); ++j) {
      double at[2];
      for (int side = 0; side < 2; ++side) {
        V moved = params;
        moved[i] = params[i].clone();
        moved[i].data<double>()[j] += side == 0 ? kEps : -kEps;
        at[side] = loss_of(moved).item<double>();
      }
      const double numeric = (at[0] - at[1]) / (2 * kEps);
      EXPECT_NEAR(analytic[static_cast<std::size_t>(j)], numeric, 1e-5)
          << "parameter " << i << ", element " << j;
    }
  }
  // And the float64 functional network itself, checked with the generic helper.
  expect_gradients_match(
      [&](const V& p) {
        return cross_entropy(linear(relu(linear(x64, p[0], p[1])), p[2], p[3]), target);
      },
      params);
}

}  // namespace
}  // namespace wick
