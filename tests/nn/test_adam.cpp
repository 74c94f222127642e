// Adam and AdamW: hand-computed steps (bias correction, L2 vs decoupled weight decay, amsgrad)
// in float64 with gradients set directly.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/optim_testing.h"
#include "testing.h"
#include "wick/core/creation.h"
#include "wick/nn/adam.h"

namespace wick::nn {
namespace {

using testing::expect_values;
using testing::param64;
using testing::set_grad64;
using testing::state_of;
using testing::values64;

// One Adam step for one element, written out from the paper's formulas with PyTorch's eps
// placement: p - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
struct Reference {
  double lr, beta1, beta2, eps;
  double m = 0, v = 0;
  int t = 0;
  double step(double p, double g) {
    ++t;
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
    return p - lr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + eps);
  }
};

TEST(Adam, FirstStepMovesEachElementByAboutLr) {
  // Bias correction makes the first step lr * g / |g| (up to eps) whatever the gradient's scale.
  Tensor p = param64({1.0, 1.0, 1.0});
  Adam opt({p}, {.lr = 0.1});
  set_grad64(p, {0.5, -3.0, 1e-3});
  opt.step();
  const auto got = values64(p);
  EXPECT_NEAR(got[0], 0.9, 1e-7);
  EXPECT_NEAR(got[1], 1.1, 1e-7);
  EXPECT_NEAR(got[2], 0.9, 1e-5);
  const Value s = opt.state_dict();
  expect_values(state_of(s, 0, "exp_avg"), {0.05, -0.3, 1e-4});
  expect_values(state_of(s, 0, "exp_avg_sq"), {0.001 * 0.25, 0.001 * 9.0, 0.001 * 1e-6});
  EXPECT_EQ(state_of(s, 0, "step").dtype(), kFloat32);
  EXPECT_EQ(state_of(s, 0, "step").dim(), 0);
  EXPECT_EQ(state_of(s, 0, "step").item<float>(), 1.0F);
}

TEST(Adam, ThreeStepsMatchTheFormulas) {
  Tensor p = param64({0.3, -0.7});
  Adam opt({p}, {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6});
  Reference r0{0.05, 0.8, 0.99, 1e-6}, r1{0.05, 0.8, 0.99, 1e-6};
  double e0 = 0.3, e1 = -0.7;
  const double grads[3][2] = {{1.0, -0.5}, {0.25, 2.0}, {-1.5, 0.125}};
  for (const auto& g : grads) {
    set_grad64(p, {g[0], g[1]});
    opt.step();
    e0 = r0.step(e0, g[0]);
    e1 = r1.step(e1, g[1]);
    expect_values(p, {e0, e1});
  }
  expect_values(state_of(opt.state_dict(), 0, "exp_avg"), {r0.m, r1.m});
  expect_values(state_of(opt.state_dict(), 0, "exp_avg_sq"), {r0.v, r1.v});
  EXPECT_EQ(state_of(opt.state_dict(), 0, "step").item<float>(), 3.0F);
}

TEST(Adam, WeightDecayIsAddedToTheGradient) {
  Tensor p = param64({2.0});
  Adam opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  set_grad64(p, {0.0});
  opt.step();  // g = 0 + 0.5 * 2 = 1 enters both moments
  expect_values(state_of(opt.state_dict(), 0, "exp_avg"), {0.1});
  expect_values(state_of(opt.state_dict(), 0, "exp_avg_sq"), {0.001});
  Reference r{0.1, 0.9, 0.999, 1e-8};
  expect_values(p, {r.step(2.0, 1.0)});
}

TEST(AdamW, WeightDecayIsDecoupledFromTheMoments) {
  Tensor p = param64({2.0});
  AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  set_grad64(p, {1.0});
  opt.step();  // p = 2 * (1 - 0.05) = 1.9, then the plain Adam step on g = 1
  expect_values(state_of(opt.state_dict(), 0, "exp_avg"), {0.1});
  Reference r{0.1, 0.9, 0.999, 1e-8};
  expect_values(p, {r.step(1.9, 1.0)});
  // torch 1.13's AdamW group has no differentiable (Adam's has).
  EXPECT_FALSE(opt.state_dict()["param_groups"][0].dict().contains("differentiable"));
}

TEST(AdamW, DefaultsAreTorchs) {
  Tensor p = param64({1.0});
  AdamW w({p});
  EXPECT_EQ(w.options().weight_decay, 0.01);
  AdamW w2({p}, {.lr = 0.1});  // designated options keep AdamW's weight decay default
  EXPECT_EQ(w2.options().weight_decay, 0.01);
  EXPECT_EQ(w.options().lr, 1e-3);
  EXPECT_EQ(w.type_name(), "AdamW");
  Adam a({p});
  EXPECT_EQ(a.options().weight_decay, 0.0);
  EXPECT_EQ(a.options().beta1, 0.9);
  EXPECT_EQ(a.options().beta2, 0.999);
  EXPECT_EQ(a.options().eps, 1e-8);
  EXPECT_TRUE(a.state_dict()["param_groups"][0].dict().contains("differentiable"));
}

TEST(Adam, AmsgradNormalisesByTheLargestSecondMoment) {
  Tensor p = param64({0.0});
  Adam opt({p}, {.lr = 0.1, .amsgrad = true});
  set_grad64(p, {1.0});
  opt.step();
  const double v1 = 0.001;
  expect_values(state_of(opt.state_dict(), 0, "max_exp_avg_sq"), {v1});
  const double p1 = values64(p)[0];
  set_grad64(p, {0.0});
  opt.step();  // v shrinks to 0.999 * v1; the max keeps v1
  const double m2 = 0.9 * 0.1;
  expect_values(state_of(opt.state_dict(), 0, "exp_avg_sq"), {0.999 * v1});
  expect_values(state_of(opt.state_dict(), 0, "max_exp_avg_sq"), {v1});
  const double bc1 = 1 - 0.9 * 0.9, bc2 = 1 - 0.999 * 0.999;
  expect_values(p, {p1 - 0.1 / bc1 * m2 / (std::sqrt(v1) / std::sqrt(bc2) + 1e-8)});
}

TEST(Adam, StepsCountPerParameterAndSkipParametersWithoutGrad) {
  Tensor a = param64({1.0});
  Tensor b = param64({1.0});
  Adam opt({a, b}, {.lr = 0.1});
  set_grad64(a, {1.0});
  opt.step();
  set_grad64(b, {1.0});
  opt.step();
  opt.zero_grad();
  opt.step();  // nothing has a gradient: nothing changes
  const Value s = opt.state_dict();
  EXPECT_EQ(state_of(s, 0, "step").item<float>(), 2.0F);
  EXPECT_EQ(state_of(s, 1, "step").item<float>(), 1.0F);
  Reference r{0.1, 0.9, 0.999, 1e-8};
  expect_values(b, {r.step(1.0, 1.0)});
  EXPECT_FALSE(s["state"].at(0).dict().contains("max_exp_avg_sq"));
}

TEST(Adam, Float32ParametersStayFloat32) {
  Tensor p = from_vector(std::vector<float>{1.0F, -1.0F});
  p.set_requires_grad(true);
  Adam opt({p}, {.lr = 0.1});
  p.set_grad(from_vector(std::vector<float>{0.5F, 0.5F}));
  opt.step();
  EXPECT_EQ(p.dtype(), kFloat32);
  EXPECT_NEAR(p.data<float>()[0], 0.9F, 1e-6F);
  EXPECT_NEAR(p.data<float>()[1], -1.1F, 1e-6F);
  EXPECT_EQ(state_of(opt.state_dict(), 0, "exp_avg").dtype(), kFloat32);
}

TEST(Adam, RejectsInvalidHyperparametersLikePyTorch) {
  Tensor p = param64({1.0});
  WICK_EXPECT_THROW_MSG(Adam({p}, {.lr = -1}), ArgumentError,
                        "Adam: invalid learning rate: -1 (expected in [0, inf))");
  WICK_EXPECT_THROW_MSG(Adam({p}, {.beta1 = 1.0}), ArgumentError,
                        "invalid beta parameter at index 0: 1 (expected in [0, 1))");
  WICK_EXPECT_THROW_MSG(Adam({p}, {.beta2 = -0.1}), ArgumentError,
                        "invalid beta parameter at index 1: -0.1");
  WICK_EXPECT_THROW_MSG(Adam({p}, {.eps = -1e-8}), ArgumentError, "invalid epsilon value: -1e-08");
  WICK_EXPECT_THROW_MSG(AdamW({p}, {.weight_decay = -1}), ArgumentError,
                        "AdamW: invalid weight_decay value: -1");
  AdamW ok({p});
  WICK_EXPECT_THROW_MSG(ok.set_lr(INFINITY), ArgumentError,
                        "AdamW.set_lr: invalid learning rate: inf");
}

}  // namespace
}  // namespace wick::nn
