#include <gtest/gtest.h>

#include <memory>

#include "testing.h"
#include "wick/core/autograd.h"
#include "wick/core/creation.h"
#include "wick/core/ops.h"
#include "wick/core/reduce.h"
#include "wick/nn/linear.h"
#include "wick/nn/module.h"
#include "wick/nn/relu.h"
#include "wick/nn/sequential.h"

namespace wick::nn {
namespace {

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& items) {
  std::vector<std::string> out;
  for (const auto& [n, t] : items)
    out.push_back(n);
  return out;
}

struct Block : Module {
  Linear fc{3, 4};
  Block() {
    register_buffer("scale", ones({4}));
    register_module("fc", fc);
  }
};

struct Net : Module {
  Block first, second;
  Tensor gain;
  Net() {
    gain = register_parameter("gain", ones({1}));
    register_module("first", first);
    register_module("second", second);
  }
};

TEST(Module, RegistrationOrderAndDottedNames) {
  Net net;
  EXPECT_EQ(names_of(net.named_parameters()),
            (std::vector<std::string>{"gain", "first.fc.weight", "first.fc.bias",
                                      "second.fc.weight", "second.fc.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()),
            (std::vector<std::string>{"first.scale", "second.scale"}));
  std::vector<std::string> modules;
  for (auto& [n, m] : net.named_modules())
    modules.push_back(n);
  EXPECT_EQ(modules, (std::vector<std::string>{"", "first", "first.fc", "second", "second.fc"}));
  EXPECT_EQ(net.parameters().size(), 5u);
  // PyTorch's state_dict order: own parameters, own buffers, then children.
  EXPECT_EQ(net.state_dict().keys(),
            (std::vector<std::string>{"gain", "first.scale", "first.fc.weight", "first.fc.bias",
                                      "second.scale", "second.fc.weight", "second.fc.bias"}));
}

TEST(Module, NameValidationErrors) {
  Module m;
  m.register_parameter("w", zeros({1}));
  WICK_EXPECT_THROW_MSG(m.register_parameter("", zeros({1})), ArgumentError,
                        "register_parameter: name must not be empty");
  WICK_EXPECT_THROW_MSG(m.register_buffer("a.b", zeros({1})), ArgumentError,
                        "register_buffer: name 'a.b' must not contain '.'");
  WICK_EXPECT_THROW_MSG(m.register_buffer("w", zeros({1})), ArgumentError,
                        "register_buffer: name 'w' is already registered in wick::nn::Module");
  ReLU relu;
  WICK_EXPECT_THROW_MSG(m.register_module("w", relu), ArgumentError, "'w' is already registered");
  WICK_EXPECT_THROW_MSG(m.register_parameter("u", Tensor()), ArgumentError,
                        "tensor for 'u' is undefined");
  WICK_EXPECT_THROW_MSG(m.register_module("self", m), ArgumentError, "its own child");
}

TEST(Module, TiedWeightsListedOnceInParametersButUnderEveryNameInStateDict) {
  Module m;
  Tensor w = zeros({2});
  m.register_parameter("a", w);
  m.register_parameter("b", w);
  EXPECT_EQ(names_of(m.named_parameters()), (std::vector<std::string>{"a"}));
  EXPECT_EQ(m.state_dict().keys(), (std::vector<std::string>{"a", "b"}));
}

TEST(Module, StateDictSharesStorage) {
  Linear lin(2, 3);
  TensorDict sd = lin.state_dict();
  EXPECT_TRUE(sd.at("weight").is_same(lin.weight));
  {
    NoGradGuard no_grad;  // bias requires grad: in-place writes need grad mode off
    sd.at("bias").fill_(5);
  }
  EXPECT_EQ(lin.bias[0].item<float>(), 5.0f);
}

TEST(Module, TrainEvalRecursive) {
  Net net;
  EXPECT_TRUE(net.first.fc.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.second.fc.is_training());
  net.train();
  EXPECT_TRUE(net.first.is_training());
}

TEST(Module, CopyAndMoveAreForbidden) {
  static_assert(!std::is_copy_constructible_v<Linear>);
  static_assert(!std::is_move_constructible_v<Linear>);
  static_assert(!std::is_copy_assignable_v<Net>);
  static_assert(!std::is_move_assignable_v<Net>);
  SUCCEED();
}

TEST(Module, OwnedChildren) {
  Module m;
  auto& lin = m.register_module("lin", std::make_shared<Linear>(2, 2));
  EXPECT_EQ(m.state_dict().keys(), (std::vector<std::string>{"lin.weight", "lin.bias"}));
  EXPECT_TRUE(m.state_dict().at("lin.weight").is_same(lin.weight));
}

TEST(Sequential, ChildrenNamedByIndexAndApplyInOrder) {
  Sequential seq{std::make_shared<Linear>(4, 8), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(8, 2)};
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq.state_dict().keys(),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  auto& l0 = static_cast<Linear&>(seq[0]);
  auto& l2 = static_cast<Linear&>(seq[2]);
  const Tensor x = randn({5, 4});
  EXPECT_TRUE(bitwise_equal(seq(x), l2(relu(l0(x)))));
  seq.emplace_back<ReLU>();
  EXPECT_EQ(seq.size(), 4u);
  WICK_EXPECT_THROW_MSG(seq[7], ArgumentError, "index 7 is out of range for 4 modules");
  WICK_EXPECT_THROW_MSG(seq.push_back(nullptr), ArgumentError, "module 4 is null");
  Sequential empty_seq;
  EXPECT_TRUE(bitwise_equal(empty_seq(x), x));
}

}  // namespace
}  // namespace wick::nn

namespace wick::nn {
namespace {

struct Mlp : Module {
  Linear first{3, 4}, second{4, 2};
  Mlp() {
    register_module("first", first);
    register_module("second", second);
  }
};

TEST(ModuleAutograd, LinearParametersRequireGradAndZeroGradClearsThem) {
  Mlp net;
  for (const auto& [name, p] : net.named_parameters())
    EXPECT_TRUE(p.requires_grad()) << name;
  const Tensor x = ones({2, 3});
  Tensor y = net.second(relu(net.first(x)));
  sum(y).backward();
  const TensorDict sd = net.state_dict();
  for (const auto& [name, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    // The state_dict handle shares the autograd state with the registered parameter.
    EXPECT_TRUE(sd.at(name).grad().is_same(p.grad())) << name;
  }
  EXPECT_TRUE(net.first.weight.grad().is_same(sd.at("first.weight").grad()));
  net.zero_grad();
  for (const auto& [name, p] : net.named_parameters())
    EXPECT_FALSE(p.grad().defined()) << name;
  EXPECT_FALSE(net.first.weight.grad().defined());
  EXPECT_FALSE(sd.at("second.bias").grad().defined());
  net.zero_grad();  // nothing to clear: fine
}

TEST(ModuleAutograd, LoadStateDictIntoParametersThatRequireGrad) {
  Linear src(2, 3), dst(2, 3);
  EXPECT_TRUE(dst.weight.requires_grad());
  dst.load_state_dict(src.state_dict());
  EXPECT_TRUE(equal(dst.weight, src.weight));
  EXPECT_TRUE(dst.weight.requires_grad());
  EXPECT_TRUE(dst.weight.is_leaf());
  EXPECT_TRUE(grad_enabled());
  // In-place writes into a parameter outside NoGradGuard are refused, as in PyTorch.
  WICK_EXPECT_THROW_MSG(
      dst.weight.fill_(0), ArgumentError,
      "a leaf Variable that requires grad is being used in an in-place operation");
}

TEST(ModuleAutograd, RegisterParameterTurnsOnRequiresGrad) {
  Module m;
  Tensor w = m.register_parameter("w", ones({2}));
  Tensor frozen = m.register_parameter("frozen", ones({2}), false);
  Tensor steps = m.register_parameter("steps", zeros({1}, kInt64));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_FALSE(frozen.requires_grad());
  EXPECT_FALSE(steps.requires_grad());  // integral tensors cannot require grad: left alone
  sum(w * frozen).backward();
  const auto params = m.named_parameters();
  ASSERT_EQ(params.size(), 3u);
  EXPECT_TRUE(params[0].second.grad().is_same(w.grad()));
  EXPECT_FALSE(params[1].second.grad().defined());
  m.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(ModuleAutograd, TiedParametersShareOneAutogradState) {
  Module m;
  Tensor a = m.register_parameter("a", zeros({2}));
  m.register_parameter("b", a);
  sum(a * 2.0).backward();
  const TensorDict sd = m.state_dict();
  ASSERT_TRUE(sd.at("b").grad().defined());
  EXPECT_TRUE(sd.at("b").grad().is_same(sd.at("a").grad()));
}

}  // namespace
}  // namespace wick::nn
