// Optimizer base: parameter checks, the state_dict layout, round trips, every load_state_dict
// error, and five steps of each optimizer against torch.optim (tests/nn/optim_reference.py).
#include "wick/nn/optimizer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "io/interop_testing.h"
#include "nn/optim_testing.h"
#include "testing.h"
#include "wick/core/autograd.h"
#include "wick/core/ops.h"
#include "wick/nn/adam.h"
#include "wick/nn/sgd.h"

namespace wick::nn {
namespace {

using testing::param64;
using testing::set_grad64;

// Same keys in the same order, tensors with the same dtype, shape and bytes.
void expect_bitwise_same(const TensorDict& a, const TensorDict& b) {
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& [key, t] : a) {
    EXPECT_TRUE(bitwise_equal(t, b.at(key))) << key;
  }
}

TensorDict without(TensorDict d, const std::string& key) {
  TensorDict out;
  for (auto& [k, t] : d) {
    if (k != key) out.insert(k, t);
  }
  return out;
}

TensorDict with(TensorDict d, const std::string& key, Tensor t) {
  d.insert_or_assign(key, std::move(t));
  return d;
}

// A two-parameter Adam after two steps (parameter 1 updated once).
struct AdamFixture {
  Tensor a = param64({1.0, 2.0});
  Tensor b = param64({3.0});
  Adam opt{{a, b}, {.lr = 0.1}};
  AdamFixture() {
    set_grad64(a, {0.5, -0.5});
    opt.step();
    set_grad64(b, {1.0});
    opt.step();
  }
};

TEST(Optimizer, RejectsBadParameterLists) {
  WICK_EXPECT_THROW_MSG(SGD({}), ArgumentError, "SGD: got an empty parameter list");
  Tensor p = param64({1.0});
  WICK_EXPECT_THROW_MSG(SGD({p, Tensor()}), ArgumentError,
                        "SGD: parameter 1 is an undefined tensor");
  WICK_EXPECT_THROW_MSG(Adam({arange(3)}), ArgumentError,
                        "Adam: parameter 0 has dtype int64, expected float32 or float64");
  WICK_EXPECT_THROW_MSG(Adam({zeros({2}, kFloat16)}), ArgumentError, "has dtype float16");
  WICK_EXPECT_THROW_MSG(AdamW({zeros({2, 3}, kFloat64).t()}), ArgumentError,
                        "AdamW: parameter 0 is not contiguous (shape [3, 2], strides [1, 3])");
  Tensor alias = p;
  WICK_EXPECT_THROW_MSG(SGD({p, param64({2.0}), alias}), ArgumentError,
                        "SGD: parameter 2 is the same tensor as parameter 0");
  WICK_EXPECT_THROW_MSG(SGD({p, zeros({2}, kFloat64)}), ArgumentError,
                        "SGD: parameter 1 does not require grad; call set_requires_grad() before "
                        "creating the optimizer");
}

TEST(Optimizer, RejectsNonLeafParameters) {
  Tensor p = param64({1.0, 2.0});
  const Tensor q = p * 2.0;
  ASSERT_FALSE(q.is_leaf());
  WICK_EXPECT_THROW_MSG(SGD({q}), ArgumentError, "SGD: parameter 0 is not a leaf tensor");
}

TEST(Optimizer, StepLeavesGradientsAndGradModeAlone) {
  for (const bool use_adam : {false, true}) {
    Tensor p = param64({1.0, 2.0});
    std::unique_ptr<Optimizer> opt;
    if (use_adam) {
      opt = std::make_unique<Adam>(std::vector<Tensor>{p});
    } else {
      opt = std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.momentum = 0.5});
    }
    set_grad64(p, {0.5, -0.25});
    opt->step();
    // PyTorch keeps .grad after step(); clearing it is zero_grad()'s job.
    ASSERT_TRUE(p.grad().defined());
    EXPECT_TRUE(bitwise_equal(p.grad(), from_vector(std::vector<double>{0.5, -0.25})));
    EXPECT_TRUE(grad_enabled());
    EXPECT_TRUE(p.is_leaf());
    EXPECT_TRUE(p.requires_grad());
    opt->zero_grad();
    EXPECT_FALSE(p.grad().defined());
  }
}

TEST(Optimizer, SgdStateDictLayout) {
  Tensor a = param64({1.0, 2.0});
  Tensor b = param64({3.0});
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  set_grad64(b, {1.0});
  opt.step();
  const TensorDict s = opt.state_dict();
  EXPECT_EQ(s.keys(), (std::vector<std::string>{
                          "state.1.momentum_buffer", "param_groups.0.lr", "param_groups.0.momentum",
                          "param_groups.0.dampening", "param_groups.0.weight_decay",
                          "param_groups.0.nesterov", "param_groups.0.params"}));
  for (const char* k : {"lr", "momentum", "dampening", "weight_decay"}) {
    const Tensor& t = s.at(std::string("param_groups.0.") + k);
    EXPECT_EQ(t.dtype(), kFloat64) << k;
    EXPECT_EQ(t.dim(), 0) << k;
  }
  EXPECT_EQ(s.at("param_groups.0.lr").item<double>(), 0.1);
  EXPECT_EQ(s.at("param_groups.0.weight_decay").item<double>(), 0.01);
  EXPECT_EQ(s.at("param_groups.0.nesterov").dtype(), kBool);
  EXPECT_TRUE(s.at("param_groups.0.nesterov").item<bool>());
  EXPECT_TRUE(equal(s.at("param_groups.0.params"), arange(2)));
  EXPECT_EQ(s.at("state.1.momentum_buffer").shape(), Shape{1});
}

TEST(Optimizer, AdamStateDictLayout) {
  AdamFixture f;
  const TensorDict s = f.opt.state_dict();
  EXPECT_EQ(s.keys(), (std::vector<std::string>{
                          "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.step",
                          "state.1.exp_avg", "state.1.exp_avg_sq", "param_groups.0.lr",
                          "param_groups.0.betas", "param_groups.0.eps",
                          "param_groups.0.weight_decay", "param_groups.0.amsgrad",
                          "param_groups.0.decoupled_weight_decay", "param_groups.0.params"}));
  EXPECT_TRUE(equal(s.at("param_groups.0.betas"), from_vector(std::vector<double>{0.9, 0.999})));
  EXPECT_EQ(s.at("state.0.step").dtype(), kFloat32);
  EXPECT_EQ(s.at("state.0.step").item<float>(), 2.0F);
  EXPECT_EQ(s.at("state.1.step").item<float>(), 1.0F);
  EXPECT_EQ(s.at("param_groups.0.amsgrad").dtype(), kBool);
  // Buffers share storage with the optimizer, as PyTorch's state_dict() does.
  EXPECT_TRUE(s.at("state.0.exp_avg").shares_storage(f.opt.state_dict().at("state.0.exp_avg")));
}

TEST(Optimizer, RoundTripContinuesBitExactly) {
  for (const bool use_adam : {false, true}) {
    SCOPED_TRACE(use_adam ? "Adam" : "SGD");
    auto make = [&](std::vector<Tensor> p) -> std::unique_ptr<Optimizer> {
      if (use_adam)
        return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 0.03, .amsgrad = true});
      return std::make_unique<SGD>(std::move(p), SGDOptions{.lr = 0.1, .momentum = 0.9});
    };
    Tensor p1 = param64({0.5, -1.5, 2.0});
    auto o1 = make({p1});
    for (double g : {1.0, -0.25}) {
      set_grad64(p1, {g, 2 * g, -g});
      o1->step();
    }
    Tensor p2 = param64({0.0, 0.0, 0.0});
    {
      NoGradGuard no_grad;
      p2.copy_(p1);
    }
    auto o2 = make({p2});
    TensorDict saved;
    for (const auto& [k, t] : o1->state_dict())
      saved.insert(k, t.clone());
    o2->load_state_dict(saved);
    expect_bitwise_same(o2->state_dict(), o1->state_dict());
    // The loaded optimizer owns copies: writing into the dict changes nothing.
    for (auto& [k, t] : saved) {
      if (k.ends_with("exp_avg") || k.ends_with("momentum_buffer")) t.fill_(123.0);
    }
    for (double g : {0.75, 3.0}) {
      set_grad64(p1, {g, -g, 0.5 * g});
      set_grad64(p2, {g, -g, 0.5 * g});
      o1->step();
      o2->step();
    }
    EXPECT_TRUE(bitwise_equal(p1, p2));
    expect_bitwise_same(o2->state_dict(), o1->state_dict());
  }
}

TEST(Optimizer, LoadRestoresHyperparametersAndConvertsDtypes) {
  Tensor p = param64({1.0});
  SGD src({p}, {.lr = 0.5, .momentum = 0.25, .dampening = 0.125, .weight_decay = 0.0625});
  set_grad64(p, {1.0});
  src.step();
  Tensor q = from_vector(std::vector<float>{1.0F});
  q.set_requires_grad(true);
  SGD dst({q}, {.lr = 0.01});
  dst.load_state_dict(src.state_dict());
  EXPECT_EQ(dst.options().lr, 0.5);
  EXPECT_EQ(dst.options().momentum, 0.25);
  EXPECT_EQ(dst.options().dampening, 0.125);
  EXPECT_EQ(dst.options().weight_decay, 0.0625);
  EXPECT_FALSE(dst.options().nesterov);
  const Tensor buf = dst.state_dict().at("state.0.momentum_buffer");
  EXPECT_EQ(buf.dtype(), kFloat32);  // cast to the parameter's dtype, as PyTorch does
  EXPECT_EQ(buf.item<float>(), 1.0625F);
  // A state without momentum clears existing buffers.
  SGD plain({param64({1.0})}, {.lr = 0.1});
  dst.load_state_dict(plain.state_dict());
  EXPECT_FALSE(dst.state_dict().contains("state.0.momentum_buffer"));
  EXPECT_EQ(dst.options().momentum, 0.0);
}

TEST(Optimizer, LoadReportsMissingAndUnexpectedKeysTogether) {
  AdamFixture f;
  Adam fresh({param64({0.0, 0.0}), param64({0.0})});
  const TensorDict before = fresh.state_dict();
  TensorDict bad = without(without(f.opt.state_dict(), "param_groups.0.eps"), "state.1.exp_avg");
  bad = with(bad, "state.0.momentum_buffer", zeros({2}, kFloat64));
  bad = with(bad, "state.2.exp_avg", zeros({1}, kFloat64));  // only parameters 0 and 1
  bad = with(bad, "state.01.exp_avg", zeros({1}, kFloat64));
  bad = with(bad, "param_groups.1.lr", scalar_tensor(0.1, kFloat64));
  bad = with(bad, "param_groups.0.maximize", scalar_tensor(false, kBool));
  bad = with(bad, "model.weight", zeros({1}));
  try {
    fresh.load_state_dict(bad);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_EQ(std::string(e.what()),
              "load_state_dict: Error(s) in loading state_dict for Adam:\n"
              "\tMissing key(s) in state_dict: \"param_groups.0.eps\", \"state.1.exp_avg\".\n"
              "\tUnexpected key(s) in state_dict: \"state.0.momentum_buffer\", "
              "\"state.2.exp_avg\", \"state.01.exp_avg\", \"param_groups.1.lr\", "
              "\"param_groups.0.maximize\", \"model.weight\".");
  }
  expect_bitwise_same(fresh.state_dict(), before);  // all or nothing
}

TEST(Optimizer, LoadReportsShapeMismatchesNamingBothShapes) {
  AdamFixture f;
  Adam other({param64({0.0, 0.0, 0.0}), param64({0.0})});
  const TensorDict before = other.state_dict();
  WICK_EXPECT_THROW_MSG(other.load_state_dict(f.opt.state_dict()), ShapeError,
                        "\tsize mismatch for state.0.exp_avg: checkpoint has [2], parameter 0 has "
                        "[3]\n\tsize mismatch for state.0.exp_avg_sq: checkpoint has [2], "
                        "parameter 0 has [3]");
  expect_bitwise_same(other.state_dict(), before);
  Adam three({param64({0.0, 0.0}), param64({0.0}), param64({0.0})});
  WICK_EXPECT_THROW_MSG(three.load_state_dict(f.opt.state_dict()), ShapeError,
                        "size mismatch for param_groups.0.params: checkpoint has [2], optimizer "
                        "has [3] (the number of parameters)");
  Adam same({param64({0.0, 0.0}), param64({0.0})});
  WICK_EXPECT_THROW_MSG(
      same.load_state_dict(with(f.opt.state_dict(), "param_groups.0.betas", zeros({3}, kFloat64))),
      ShapeError, "size mismatch for param_groups.0.betas: checkpoint has [3], expected [2]");
  WICK_EXPECT_THROW_MSG(same.load_state_dict(with(f.opt.state_dict(), "state.0.step", zeros({1}))),
                        ShapeError,
                        "size mismatch for state.0.step: checkpoint has [1], expected []");
}

TEST(Optimizer, LoadRejectsAnotherOptimizerType) {
  Tensor p = param64({1.0});
  SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  set_grad64(p, {1.0});
  sgd.step();
  Adam adam({param64({1.0})});
  WICK_EXPECT_THROW_MSG(
      adam.load_state_dict(sgd.state_dict()), ArgumentError,
      "for Adam:\n\toptimizer type mismatch: checkpoint is for SGD, this "
      "optimizer is Adam\n\tMissing key(s) in state_dict: \"param_groups.0.betas\"");
  WICK_EXPECT_THROW_MSG(adam.load_state_dict(sgd.state_dict()), ArgumentError,
                        "Unexpected key(s) in state_dict: \"state.0.momentum_buffer\", "
                        "\"param_groups.0.momentum\"");
  AdamW adamw({param64({1.0})});
  // Adam and AdamW have the same keys: only the flag tells them apart.
  try {
    adamw.load_state_dict(adam.state_dict());
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_EQ(std::string(e.what()),
              "load_state_dict: Error(s) in loading state_dict for AdamW:\n"
              "\toptimizer type mismatch: checkpoint is for Adam, this optimizer is AdamW");
  }
  WICK_EXPECT_THROW_MSG(sgd.load_state_dict(adamw.state_dict()), ArgumentError,
                        "checkpoint is for AdamW, this optimizer is SGD");
}

TEST(Optimizer, LoadRejectsBadValuesAndDtypes) {
  AdamFixture f;
  Adam o({param64({0.0, 0.0}), param64({0.0})});
  const TensorDict before = o.state_dict();
  TensorDict bad = with(f.opt.state_dict(), "param_groups.0.lr", scalar_tensor(-1.0, kFloat64));
  bad = with(bad, "param_groups.0.amsgrad", scalar_tensor(1.0, kFloat64));
  bad = with(bad, "param_groups.0.eps", scalar_tensor(1, kInt64));
  bad = with(bad, "state.0.step", scalar_tensor(1.5, kFloat32));
  bad = with(bad, "state.1.step", scalar_tensor(-1.0, kFloat32));
  bad = with(bad, "state.0.exp_avg", zeros({2}, kInt32));
  bad = with(bad, "state.1.exp_avg", Tensor());
  bad = with(bad, "param_groups.0.params", from_vector(std::vector<int64_t>{1, 0}));
  try {
    o.load_state_dict(bad);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    const std::string msg = e.what();
    for (const char* part :
         {"\n\tdtype mismatch for param_groups.0.eps: checkpoint has int64, expected float64",
          "\n\tdtype mismatch for param_groups.0.amsgrad: checkpoint has float64, expected bool",
          "\n\tinvalid learning rate: -1 (expected in [0, inf))",
          "\n\tbad value for param_groups.0.params: expected the int64 indices 0 to 1, got "
          "int64 [2]",
          "\n\tdtype mismatch for state.0.exp_avg: checkpoint has int32, expected a floating "
          "dtype",
          "\n\tbad value for state.0.step: 1.5 (expected a whole number in [0, 2^24])",
          "\n\tvalue for state.1.exp_avg is an undefined tensor",
          "\n\tbad value for state.1.step: -1"}) {
      EXPECT_NE(msg.find(part), std::string::npos) << msg << "\nmissing: " << part;
    }
  }
  expect_bitwise_same(o.state_dict(), before);
  WICK_EXPECT_THROW_MSG(o.load_state_dict(with(f.opt.state_dict(), "param_groups.0.betas",
                                               from_vector(std::vector<double>{0.9, 1.5}))),
                        ArgumentError,
                        "invalid beta parameter at index 1: 1.5 (expected in [0, 1))");
  SGD sgd({param64({1.0})});
  TensorDict s = sgd.state_dict();
  s = with(s, "param_groups.0.nesterov", scalar_tensor(true, kBool));
  WICK_EXPECT_THROW_MSG(sgd.load_state_dict(s), ArgumentError,
                        "for SGD:\n\tnesterov momentum requires a momentum and zero dampening");
}

TEST(Optimizer, AmsgradInTheCheckpointDecidesTheExpectedBuffers) {
  Tensor p = param64({1.0});
  Adam ams({p}, {.amsgrad = true});
  set_grad64(p, {1.0});
  ams.step();
  Adam plain({param64({1.0})});
  plain.load_state_dict(ams.state_dict());
  EXPECT_TRUE(plain.options().amsgrad);
  EXPECT_TRUE(plain.state_dict().contains("state.0.max_exp_avg_sq"));
  WICK_EXPECT_THROW_MSG(plain.load_state_dict(without(ams.state_dict(), "state.0.max_exp_avg_sq")),
                        ArgumentError, "Missing key(s) in state_dict: \"state.0.max_exp_avg_sq\".");
}

// ---------------------------------------------------------------------------------------------
// Against torch.optim: the same inputs as tests/nn/optim_reference.py.

double reference_value(int param, int step, int i) {
  return static_cast<double>(((i * 37 + (step + 2) * 11 + param * 5) % 23) - 11) / 8.0;
}

Tensor reference_tensor(int param, int step) {
  const Shape shape = param == 0 ? Shape{3, 4} : Shape{5};
  std::vector<double> v;
  for (int i = 0; i < shape_numel(shape); ++i)
    v.push_back(reference_value(param, step, i));
  return from_vector(v, shape);
}

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

std::map<std::string, Factory> reference_configs() {
  auto sgd = [](SGDOptions o) -> Factory {
    return [o](std::vector<Tensor> p) { return std::make_unique<SGD>(std::move(p), o); };
  };
  auto adam = [](AdamOptions o) -> Factory {
    return [o](std::vector<Tensor> p) { return std::make_unique<Adam>(std::move(p), o); };
  };
  auto adamw = [](AdamWOptions o) -> Factory {
    return [o](std::vector<Tensor> p) { return std::make_unique<AdamW>(std::move(p), o); };
  };
  return {
      {"sgd", sgd({.lr = 0.1})},
      {"sgd_momentum", sgd({.lr = 0.1, .momentum = 0.9})},
      {"sgd_dampening", sgd({.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01})},
      {"sgd_nesterov", sgd({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true})},
      {"adam", adam({.lr = 0.01})},
      {"adam_decay",
       adam({.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.1})},
      {"adam_amsgrad", adam({.lr = 0.01, .weight_decay = 0.05, .amsgrad = true})},
      {"adamw", adamw({.lr = 0.01, .weight_decay = 0.1})},
      // AdamW's default weight_decay (0.01) applies, as in the Python config.
      {"adamw_amsgrad", adamw({.lr = 0.02, .beta1 = 0.5, .beta2 = 0.9, .amsgrad = true})},
  };
}

testing::ScriptResult run_reference() {
  return testing::run_python("tests/nn/optim_reference.py", {});
}

TEST(Optimizer, FiveStepsMatchTorchOptim) {
  const testing::ScriptResult r = run_reference();
  WICK_EXPECT_SCRIPT_OK(r);
  const auto configs = reference_configs();
  // config -> key -> values; other lines (warnings on stderr) are ignored.
  std::map<std::string, std::map<std::string, std::vector<double>>> expected;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string config, key, word;
    words >> config >> key;
    if (!configs.contains(config)) continue;
    auto& values = expected[config][key];
    while (words >> word)
      values.push_back(std::strtod(word.c_str(), nullptr));
  }
  ASSERT_EQ(expected.size(), configs.size()) << r.output;
  for (const auto& [name, make] : configs) {
    SCOPED_TRACE(name);
    std::vector<Tensor> params{reference_tensor(0, -1), reference_tensor(1, -1)};
    for (auto& p : params)
      p.set_requires_grad(true);
    auto opt = make(params);
    for (int step = 0; step < 5; ++step) {
      for (int k = 0; k < 2; ++k)
        params[k].set_grad(k == 1 && step == 2 ? Tensor() : reference_tensor(k, step));
      opt->step();
    }
    std::map<std::string, Tensor> got;
    for (int k = 0; k < 2; ++k)
      got["param." + std::to_string(k)] = params[k];
    for (const auto& [key, t] : opt->state_dict()) {
      if (key.starts_with("state.")) got[key] = t;
    }
    const auto& want = expected[name];
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, values] : want) {
      ASSERT_TRUE(got.contains(key)) << key;
      const std::vector<double> mine = testing::values64(got[key].to(kFloat64));
      ASSERT_EQ(mine.size(), values.size()) << key;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        EXPECT_NEAR(mine[i], values[i], 1e-12 * std::max(1.0, std::abs(values[i])))
            << key << "[" << i << "]";
      }
    }
  }
}

}  // namespace
}  // namespace wick::nn
