// SGD: hand-computed steps for every option, in float64 with gradients set directly.
#include <gtest/gtest.h>

#include "nn/optim_testing.h"
#include "testing.h"
#include "wick/core/creation.h"
#include "wick/nn/sgd.h"

namespace wick::nn {
namespace {

using testing::expect_values;
using testing::param64;
using testing::set_grad64;
using testing::state_of;

TEST(SGD, PlainStepIsParamMinusLrTimesGrad) {
  Tensor p = param64({1.0, -2.0, 0.5});
  SGD opt({p}, {.lr = 0.1});
  set_grad64(p, {0.5, 1.0, -4.0});
  opt.step();
  expect_values(p, {0.95, -2.1, 0.9});
  set_grad64(p, {1.0, 0.0, 1.0});
  opt.step();
  expect_values(p, {0.95 - 0.1, -2.1, 0.9 - 0.1});
  // Momentum 0: PyTorch keeps a state entry whose buffer is None.
  EXPECT_TRUE(opt.state_dict()["state"].at(0)["momentum_buffer"].is_none());
}

TEST(SGD, UpdatesInPlaceSharingStorageWithTheModelHandle) {
  Tensor p = param64({1.0});
  Tensor alias = p;  // what a Module keeps
  const void* before = p.raw_data();
  SGD opt({p}, {.lr = 1.0});
  set_grad64(p, {0.25});
  opt.step();
  EXPECT_EQ(p.raw_data(), before);
  expect_values(alias, {0.75});
}

TEST(SGD, MomentumBufferStartsAsTheGradient) {
  Tensor p = param64({1.0, 2.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  set_grad64(p, {1.0, -1.0});
  opt.step();  // buf = g
  expect_values(p, {0.9, 2.1});
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {1.0, -1.0});
  set_grad64(p, {0.5, 0.5});
  opt.step();  // buf = 0.9 * buf + g
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {1.4, -0.4});
  expect_values(p, {0.9 - 0.1 * 1.4, 2.1 + 0.1 * 0.4});
}

TEST(SGD, DampeningScalesTheNewGradientAfterTheFirstStep) {
  Tensor p = param64({0.0});
  SGD opt({p}, {.lr = 1.0, .momentum = 0.5, .dampening = 0.25});
  set_grad64(p, {2.0});
  opt.step();  // first step: no dampening (PyTorch clones the gradient)
  expect_values(p, {-2.0});
  set_grad64(p, {2.0});
  opt.step();  // buf = 0.5 * 2 + 0.75 * 2 = 2.5
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {2.5});
  expect_values(p, {-4.5});
}

TEST(SGD, NesterovAddsMomentumTimesTheBuffer) {
  Tensor p = param64({1.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  set_grad64(p, {1.0});
  opt.step();  // buf = 1, d = 1 + 0.9 * 1 = 1.9
  expect_values(p, {1.0 - 0.1 * 1.9});
  set_grad64(p, {2.0});
  opt.step();  // buf = 0.9 + 2 = 2.9, d = 2 + 0.9 * 2.9 = 4.61
  expect_values(p, {1.0 - 0.1 * 1.9 - 0.1 * (2.0 + 0.9 * 2.9)});
}

TEST(SGD, WeightDecayAddsDecayTimesParamToTheGradient) {
  Tensor p = param64({2.0, -4.0});
  SGD opt({p}, {.lr = 0.5, .weight_decay = 0.1});
  set_grad64(p, {0.0, 1.0});
  opt.step();  // d = g + 0.1 * p
  expect_values(p, {2.0 - 0.5 * 0.2, -4.0 - 0.5 * (1.0 - 0.4)});
}

TEST(SGD, WeightDecayFeedsTheMomentumBuffer) {
  Tensor p = param64({1.0});
  SGD opt({p}, {.lr = 0.1, .momentum = 0.5, .weight_decay = 1.0});
  set_grad64(p, {1.0});
  opt.step();  // d = 1 + 1 = 2, buf = 2, p = 1 - 0.2 = 0.8
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {2.0});
  expect_values(p, {0.8});
  set_grad64(p, {0.0});
  opt.step();  // d = 0.8, buf = 1 + 0.8 = 1.8, p = 0.8 - 0.18
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {1.8});
  expect_values(p, {0.8 - 0.1 * 1.8});
}

TEST(SGD, SkipsParametersWithoutGradAndKeepsTheirState) {
  Tensor a = param64({1.0});
  Tensor b = param64({1.0});
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9});
  set_grad64(a, {1.0});
  opt.step();
  expect_values(a, {0.9});
  expect_values(b, {1.0});
  EXPECT_TRUE(opt.state_dict()["state"].dict().contains(0));
  EXPECT_FALSE(opt.state_dict()["state"].dict().contains(1));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  set_grad64(b, {1.0});
  opt.step();  // a skipped: its buffer is not decayed
  expect_values(a, {0.9});
  expect_values(b, {0.9});
  expect_values(state_of(opt.state_dict(), 0, "momentum_buffer"), {1.0});
}

TEST(SGD, Float32ParametersComputeInFloat32) {
  Tensor p = from_vector(std::vector<float>{1.0F, 3.0F});
  p.set_requires_grad(true);
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  p.set_grad(from_vector(std::vector<float>{0.3F, 0.7F}));
  opt.step();
  // p + float(-0.1) * g, every operation rounded to float.
  const float neg_lr = static_cast<float>(-0.1);
  EXPECT_EQ(p.data<float>()[0], 1.0F + neg_lr * 0.3F);
  EXPECT_EQ(p.data<float>()[1], 3.0F + neg_lr * 0.7F);
  EXPECT_EQ(state_of(opt.state_dict(), 0, "momentum_buffer").dtype(), kFloat32);
}

TEST(SGD, RejectsInvalidHyperparametersLikePyTorch) {
  Tensor p = param64({1.0});
  WICK_EXPECT_THROW_MSG(SGD({p}, {.lr = -0.1}), ArgumentError,
                        "SGD: invalid learning rate: -0.1 (expected in [0, inf))");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.momentum = -1}), ArgumentError, "invalid momentum value: -1");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.weight_decay = -1}), ArgumentError,
                        "invalid weight_decay value: -1");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.lr = std::nan("")}), ArgumentError, "invalid learning rate");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.nesterov = true}), ArgumentError,
                        "nesterov momentum requires a momentum and zero dampening (got momentum 0, "
                        "dampening 0)");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                        ArgumentError, "dampening 0.1");
  WICK_EXPECT_THROW_MSG(SGD({p}, {.lr = -1, .momentum = -1}), ArgumentError,
                        "invalid learning rate: -1 (expected in [0, inf)); invalid momentum");
  SGD ok({p}, {.lr = 0.5});
  WICK_EXPECT_THROW_MSG(ok.set_lr(-2), ArgumentError, "SGD.set_lr: invalid learning rate: -2");
  ok.set_lr(0.25);
  EXPECT_EQ(ok.lr(), 0.25);
  EXPECT_EQ(ok.options().lr, 0.25);
}

}  // namespace
}  // namespace wick::nn
