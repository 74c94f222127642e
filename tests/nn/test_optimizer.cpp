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
#include "io/io_testing.h"
#include "nn/optim_testing.h"
#include "testing.h"
#include "wick/core/autograd.h"
#include "wick/core/ops.h"
#include "wick/io/serialize.h"
#include "wick/nn/adam.h"
#include "wick/nn/sgd.h"

namespace wick::nn {
namespace {

using testing::group_of;
using testing::param64;
using testing::set_grad64;
using testing::state_of;

// A copy of `v` whose tensors are clones (a Value copy shares tensor storage).
Value deep_clone(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Tensor:
      return v.tensor().defined() ? Value(v.tensor().clone()) : v;
    case Value::Kind::List: {
      List out;
      for (const Value& item : v.list())
        out.push_back(deep_clone(item));
      return out;
    }
    case Value::Kind::Tuple: {
      Tuple out;
      for (const Value& item : v.tuple())
        out.push_back(deep_clone(item));
      return out;
    }
    case Value::Kind::Dict: {
      Dict out;
      for (const auto& [key, item] : v.dict())
        out.insert(key, deep_clone(item));
      return out;
    }
    default:
      return v;
  }
}

// `d` without entry `key`.
Dict without(const Dict& d, const Key& key) {
  Dict out;
  for (const auto& [k, v] : d) {
    if (k != key) out.insert(k, v);
  }
  return out;
}

// The first (only) parameter group of a state dict, to edit.
Dict& group(Value& state_dict) {
  return state_dict["param_groups"][0].dict();
}

// Entry state[i], to edit.
Dict& entry(Value& state_dict, int64_t i) {
  return state_dict["state"].at(i).dict();
}

// The message of the error `E` that loading `state` throws ("" after a failure).
template <class E>
std::string load_error(Optimizer& opt, const Value& state) {
  try {
    opt.load_state_dict(state);
    ADD_FAILURE() << "expected an error";
  } catch (const E& e) {
    return e.what();
  }
  return "";
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

TEST(Optimizer, SgdStateDictIsTorchsLayout) {
  Tensor a = param64({1.0, 2.0});
  Tensor b = param64({3.0});
  SGD opt({a, b}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  set_grad64(b, {1.0});
  opt.step();
  const Value s = opt.state_dict();
  // Same keys, order and Python types as torch 1.13: dampening is the int 0 (torch's default).
  const Value expected =
      Dict{{"state", Dict{{1, Dict{{"momentum_buffer", state_of(s, 1, "momentum_buffer")}}}}},
           {"param_groups", List{Dict{{"lr", 0.1},
                                      {"momentum", 0.9},
                                      {"dampening", 0},
                                      {"weight_decay", 0.01},
                                      {"nesterov", true},
                                      {"maximize", false},
                                      {"foreach", nullptr},
                                      {"differentiable", false},
                                      {"params", List{0, 1}}}}}};
  EXPECT_EQ(s, expected) << s;
  EXPECT_TRUE(bitwise_equal(state_of(s, 1, "momentum_buffer"),
                            from_vector(std::vector<double>{1.0 + 0.01 * 3.0})));
  // Momentum 0: every updated parameter has an entry whose buffer is None, as in torch.
  Tensor c = param64({1.0, 2.0});
  SGD plain({c, param64({3.0})}, {.lr = 0.5});
  set_grad64(c, {1.0, 1.0});
  plain.step();
  EXPECT_EQ(plain.state_dict()["state"], Value(Dict{{0, Dict{{"momentum_buffer", nullptr}}}}));
  EXPECT_EQ(group_of(plain.state_dict(), "momentum"), Value(0));
  EXPECT_EQ(group_of(plain.state_dict(), "weight_decay"), Value(0));
}

TEST(Optimizer, AdamAndAdamWGroupsHaveTorchsKeysInTorchsOrder) {
  const Value adam = Adam({param64({1.0})}).state_dict();
  EXPECT_EQ(adam["param_groups"], Value(List{Dict{{"lr", 1e-3},
                                                  {"betas", Tuple{0.9, 0.999}},
                                                  {"eps", 1e-8},
                                                  {"weight_decay", 0},
                                                  {"amsgrad", false},
                                                  {"maximize", false},
                                                  {"foreach", nullptr},
                                                  {"capturable", false},
                                                  {"differentiable", false},
                                                  {"fused", false},
                                                  {"params", List{0}}}}));
  EXPECT_EQ(adam["state"], Value(Dict{}));
  const Value adamw = AdamW({param64({1.0})}).state_dict();
  EXPECT_EQ(adamw["param_groups"], Value(List{Dict{{"lr", 1e-3},
                                                   {"betas", Tuple{0.9, 0.999}},
                                                   {"eps", 1e-8},
                                                   {"weight_decay", 0.01},
                                                   {"amsgrad", false},
                                                   {"foreach", nullptr},
                                                   {"maximize", false},
                                                   {"capturable", false},
                                                   {"params", List{0}}}}));
  // A weight decay given is a float; zero is the int torch's default is.
  EXPECT_EQ(group_of(Adam({param64({1.0})}, {.weight_decay = 0.5}).state_dict(), "weight_decay"),
            Value(0.5));
  EXPECT_EQ(group_of(AdamW({param64({1.0})}, {.weight_decay = 0.0}).state_dict(), "weight_decay"),
            Value(0));
}

TEST(Optimizer, AdamStateIsKeyedByIndexInFirstUpdateOrder) {
  Tensor a = param64({1.0, 2.0});
  Tensor b = param64({3.0});
  Adam opt({a, b}, {.lr = 0.1, .amsgrad = true});
  set_grad64(b, {1.0});
  opt.step();
  set_grad64(a, {0.5, -0.5});
  opt.step();
  const Value s = opt.state_dict();
  EXPECT_EQ(s["state"].dict().keys(), (std::vector<Key>{1, 0}));
  EXPECT_EQ(s["state"].at(0).dict().keys(),
            (std::vector<Key>{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}));
  EXPECT_EQ(s["state"].at(0)["step"], Value(scalar_tensor(1.0F, kFloat32)));
  EXPECT_EQ(s["state"].at(1)["step"], Value(scalar_tensor(2.0F, kFloat32)));
  // Buffers share storage with the optimizer, as PyTorch's state_dict() does.
  EXPECT_TRUE(state_of(s, 0, "exp_avg").shares_storage(state_of(opt.state_dict(), 0, "exp_avg")));
  // A reload keeps the checkpoint's order.
  Adam other({param64({0.0, 0.0}), param64({0.0})});
  other.load_state_dict(s);
  EXPECT_EQ(other.state_dict(), s);
}

TEST(Optimizer, RoundTripThroughAFileContinuesBitExactly) {
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
    testing::TempDir dir;
    save(o1->state_dict(), dir / "opt.wick");
    Value saved = load(dir / "opt.wick");
    EXPECT_EQ(saved, o1->state_dict());  // int keys, the tuple and None survive the file
    o2->load_state_dict(saved);
    EXPECT_EQ(o2->state_dict(), o1->state_dict());
    // The loaded optimizer owns copies: writing into the loaded value changes nothing.
    for (auto& [name, v] : entry(saved, 0)) {
      if (v.is_tensor()) v.tensor().fill_(123.0);
    }
    for (double g : {0.75, 3.0}) {
      set_grad64(p1, {g, -g, 0.5 * g});
      set_grad64(p2, {g, -g, 0.5 * g});
      o1->step();
      o2->step();
    }
    EXPECT_TRUE(bitwise_equal(p1, p2));
    EXPECT_EQ(o2->state_dict(), o1->state_dict());
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
  Value state = src.state_dict();
  group(state).insert_or_assign("maximize", true);
  group(state).insert_or_assign("foreach", false);
  group(state).insert_or_assign("lr", 1);  // torch takes an int where a float is expected
  dst.load_state_dict(state);
  EXPECT_EQ(dst.options().lr, 1.0);
  EXPECT_EQ(dst.options().momentum, 0.25);
  EXPECT_EQ(dst.options().dampening, 0.125);
  EXPECT_EQ(dst.options().weight_decay, 0.0625);
  EXPECT_FALSE(dst.options().nesterov);
  EXPECT_TRUE(dst.options().maximize);
  EXPECT_EQ(group_of(dst.state_dict(), "foreach"), Value(false));  // kept for the round trip
  const Tensor buf = state_of(dst.state_dict(), 0, "momentum_buffer");
  EXPECT_EQ(buf.dtype(), kFloat32);  // cast to the parameter's dtype, as PyTorch does
  EXPECT_EQ(buf.item<float>(), 1.0625F);
  // A state of an optimizer never stepped clears existing buffers.
  SGD plain({param64({1.0})}, {.lr = 0.1});
  dst.load_state_dict(plain.state_dict());
  EXPECT_EQ(dst.state_dict()["state"], Value(Dict{}));
  EXPECT_EQ(dst.options().momentum, 0.0);
  EXPECT_EQ(group_of(dst.state_dict(), "foreach"), Value(nullptr));
}

TEST(Optimizer, LoadReportsMissingAndUnexpectedKeysTogether) {
  AdamFixture f;
  Adam fresh({param64({0.0, 0.0}), param64({0.0})});
  const Value before = deep_clone(fresh.state_dict());
  Value bad = f.opt.state_dict();
  group(bad) = without(group(bad), "eps");
  group(bad).insert("decoupled_weight_decay", false);
  entry(bad, 1) = without(entry(bad, 1), "exp_avg");
  entry(bad, 0).insert("momentum_buffer", zeros({2}, kFloat64));
  bad["state"].dict().insert(2, Dict{});    // only parameters 0 and 1
  bad["state"].dict().insert("0", Dict{});  // a string key
  bad.dict().insert("model", Dict{});
  EXPECT_EQ(load_error<ArgumentError>(fresh, bad),
            "load_state_dict: Error(s) in loading state_dict for Adam:\n"
            "\tMissing key(s) in state_dict: param_groups[0]['eps'], state[1]['exp_avg'].\n"
            "\tUnexpected key(s) in state_dict: 'model', "
            "param_groups[0]['decoupled_weight_decay'], state[0]['momentum_buffer'], state[2], "
            "state['0'].");
  EXPECT_EQ(fresh.state_dict(), before);  // all or nothing
}

TEST(Optimizer, LoadReportsShapeMismatchesNamingBothShapes) {
  AdamFixture f;
  Adam other({param64({0.0, 0.0, 0.0}), param64({0.0})});
  const Value before = deep_clone(other.state_dict());
  WICK_EXPECT_THROW_MSG(other.load_state_dict(f.opt.state_dict()), ShapeError,
                        "\tsize mismatch for state[0]['exp_avg']: checkpoint has [2], parameter 0 "
                        "has [3]\n\tsize mismatch for state[0]['exp_avg_sq']: checkpoint has [2], "
                        "parameter 0 has [3]");
  EXPECT_EQ(other.state_dict(), before);
  Adam three({param64({0.0, 0.0}), param64({0.0}), param64({0.0})});
  WICK_EXPECT_THROW_MSG(three.load_state_dict(f.opt.state_dict()), ShapeError,
                        "size mismatch for param_groups[0]['params']: checkpoint has 2 parameters, "
                        "optimizer has 3");
  Adam same({param64({0.0, 0.0}), param64({0.0})});
  Value bad = f.opt.state_dict();
  entry(bad, 0).insert_or_assign("step", zeros({1}));
  WICK_EXPECT_THROW_MSG(same.load_state_dict(bad), ShapeError,
                        "size mismatch for state[0]['step']: checkpoint has [1], expected []");
}

TEST(Optimizer, LoadRejectsAnotherOptimizerType) {
  Tensor p = param64({1.0});
  SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  set_grad64(p, {1.0});
  sgd.step();
  Adam adam({param64({1.0})});
  WICK_EXPECT_THROW_MSG(adam.load_state_dict(sgd.state_dict()), ArgumentError,
                        "for Adam:\n\toptimizer type mismatch: checkpoint is for SGD, this "
                        "optimizer is Adam\n\tMissing key(s) in state_dict: "
                        "param_groups[0]['betas']");
  AdamW adamw({param64({1.0})});
  // torch 1.13's Adam and AdamW groups differ by differentiable and fused.
  EXPECT_EQ(load_error<ArgumentError>(adamw, adam.state_dict()),
            "load_state_dict: Error(s) in loading state_dict for AdamW:\n"
            "\toptimizer type mismatch: checkpoint is for Adam, this optimizer is AdamW\n"
            "\tUnexpected key(s) in state_dict: param_groups[0]['differentiable'], "
            "param_groups[0]['fused'].");
  WICK_EXPECT_THROW_MSG(sgd.load_state_dict(adamw.state_dict()), ArgumentError,
                        "checkpoint is for AdamW, this optimizer is SGD");
}

TEST(Optimizer, LoadRejectsBadValuesAndTypes) {
  AdamFixture f;
  Adam o({param64({0.0, 0.0}), param64({0.0})});
  const Value before = deep_clone(o.state_dict());
  Value bad = f.opt.state_dict();
  group(bad).insert_or_assign("lr", -1.0);
  group(bad).insert_or_assign("amsgrad", 1.0);
  group(bad).insert_or_assign("eps", "tiny");
  group(bad).insert_or_assign("betas", Tuple{0.9, 1.5});
  group(bad).insert_or_assign("foreach", 1);
  group(bad).insert_or_assign("capturable", true);
  group(bad).insert_or_assign("params", List{1, 0});
  entry(bad, 0).insert_or_assign("step", scalar_tensor(1.5, kFloat32));
  entry(bad, 1).insert_or_assign("step", -1);
  entry(bad, 0).insert_or_assign("exp_avg", zeros({2}, kInt32));
  entry(bad, 1).insert_or_assign("exp_avg", Tensor());
  entry(bad, 1).insert_or_assign("exp_avg_sq", nullptr);
  const std::string msg = load_error<ArgumentError>(o, bad);
  for (const char* part :
       {"\n\ttype mismatch for param_groups[0]['eps']: checkpoint has string, expected float",
        "\n\ttype mismatch for param_groups[0]['amsgrad']: checkpoint has float, expected bool",
        "\n\ttype mismatch for param_groups[0]['foreach']: checkpoint has int, expected None or "
        "bool",
        "\n\tparam_groups[0]['capturable'] is True: wick's Adam has only the plain CPU "
        "implementation",
        "\n\tinvalid learning rate: -1 (expected in [0, inf))",
        "\n\tinvalid beta parameter at index 1: 1.5 (expected in [0, 1))",
        "\n\tbad value for param_groups[0]['params']: expected the ints 0 to 1 in order",
        "\n\tdtype mismatch for state[0]['exp_avg']: checkpoint has int32, expected a floating "
        "dtype",
        "\n\tbad value for state[0]['step']: 1.5 (expected a whole number in [0, 2^24])",
        "\n\tvalue for state[1]['exp_avg'] is an undefined tensor",
        "\n\ttype mismatch for state[1]['exp_avg_sq']: checkpoint has none, expected tensor",
        "\n\tbad value for state[1]['step']: -1"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg << "\nmissing: " << part;
  }
  EXPECT_EQ(o.state_dict(), before);
  SGD sgd({param64({1.0})});
  Value s = sgd.state_dict();
  group(s).insert_or_assign("nesterov", true);
  group(s).insert_or_assign("differentiable", true);
  const std::string sgd_msg = load_error<ArgumentError>(sgd, s);
  EXPECT_NE(sgd_msg.find("for SGD:\n\tparam_groups[0]['differentiable'] is True"),
            std::string::npos)
      << sgd_msg;
  EXPECT_NE(sgd_msg.find("\n\tnesterov momentum requires a momentum and zero dampening"),
            std::string::npos)
      << sgd_msg;
  Value fused = Adam({param64({1.0})}).state_dict();
  group(fused).insert_or_assign("fused", true);
  Adam one({param64({1.0})});
  WICK_EXPECT_THROW_MSG(one.load_state_dict(fused), ArgumentError,
                        "param_groups[0]['fused'] is True");
}

TEST(Optimizer, LoadRefusesOtherShapesOfTheWhole) {
  Adam o({param64({1.0})});
  const Value good = o.state_dict();
  Value two = good;
  two["param_groups"].list().push_back(good["param_groups"][0]);
  WICK_EXPECT_THROW_MSG(o.load_state_dict(two), ArgumentError,
                        "param_groups: wick optimizers take one parameter group, the checkpoint "
                        "has 2");
  Value tuple_groups = good;
  tuple_groups["param_groups"] = Tuple{good["param_groups"][0]};
  WICK_EXPECT_THROW_MSG(o.load_state_dict(tuple_groups), ArgumentError,
                        "type mismatch for param_groups: checkpoint has tuple, expected list");
  WICK_EXPECT_THROW_MSG(o.load_state_dict(Value(List{})), ArgumentError,
                        "expected a dict of 'state' and 'param_groups', got list");
  WICK_EXPECT_THROW_MSG(o.load_state_dict(Value(Dict{{"state", Dict{}}})), ArgumentError,
                        "Missing key(s) in state_dict: param_groups.");
  Value entry_list = good;
  entry_list["state"].dict().insert(0, List{});
  WICK_EXPECT_THROW_MSG(o.load_state_dict(entry_list), ArgumentError,
                        "type mismatch for state[0]: checkpoint has list, expected dict");
  EXPECT_EQ(o.state_dict(), good);
}

TEST(Optimizer, AmsgradInTheCheckpointDecidesTheExpectedBuffers) {
  Tensor p = param64({1.0});
  Adam ams({p}, {.amsgrad = true});
  set_grad64(p, {1.0});
  ams.step();
  Adam plain({param64({1.0})});
  plain.load_state_dict(ams.state_dict());
  EXPECT_TRUE(plain.options().amsgrad);
  EXPECT_TRUE(plain.state_dict()["state"].at(0).dict().contains("max_exp_avg_sq"));
  Value bad = ams.state_dict();
  entry(bad, 0) = without(entry(bad, 0), "max_exp_avg_sq");
  WICK_EXPECT_THROW_MSG(plain.load_state_dict(bad), ArgumentError,
                        "Missing key(s) in state_dict: state[0]['max_exp_avg_sq'].");
}

TEST(Optimizer, MaximizeStepsUpTheGradient) {
  // SGD: p + lr * g.
  Tensor p = param64({1.0, -2.0});
  SGD sgd({p}, {.lr = 0.5, .maximize = true});
  set_grad64(p, {1.0, 4.0});
  sgd.step();
  testing::expect_values(p, {1.5, 0.0});
  EXPECT_EQ(group_of(sgd.state_dict(), "maximize"), Value(true));
  // Adam and AdamW: maximizing with g is minimizing with -g, bit for bit.
  for (const bool decoupled : {false, true}) {
    Tensor up = param64({1.0, -2.0});
    Tensor down = param64({1.0, -2.0});
    std::unique_ptr<Optimizer> a, b;
    if (decoupled) {
      a = std::make_unique<AdamW>(std::vector<Tensor>{up}, AdamWOptions{.maximize = true});
      b = std::make_unique<AdamW>(std::vector<Tensor>{down}, AdamWOptions{});
    } else {
      a = std::make_unique<Adam>(std::vector<Tensor>{up},
                                 AdamOptions{.weight_decay = 0.1, .maximize = true});
      b = std::make_unique<Adam>(std::vector<Tensor>{down}, AdamOptions{.weight_decay = 0.1});
    }
    for (double g : {1.0, -3.0, 0.5}) {
      set_grad64(up, {g, 2 * g});
      set_grad64(down, {-g, -2 * g});
      a->step();
      b->step();
    }
    EXPECT_TRUE(bitwise_equal(up, down));
    // ... and differs from minimizing with g (the test can fail).
    Tensor plain = param64({1.0, -2.0});
    Adam c({plain});
    set_grad64(plain, {1.0, 2.0});
    c.step();
    EXPECT_FALSE(bitwise_equal(plain, up));
  }
}

// Wick 1.x's flat TensorDict files (tests/nn/data/README.md) load, through the TensorDict
// overload and through a loaded Value.
TEST(Optimizer, LoadsWick1Checkpoints) {
  auto params = [] {
    std::vector<Tensor> out{zeros({2, 2}), zeros({3})};
    for (auto& t : out)
      t.set_requires_grad(true);
    return out;
  };
  const std::string dir = std::string(WICK_SOURCE_DIR) + "/tests/nn/data";
  const TensorDict adam_file = load(dir + "/optimizer_v1_adam.wick");
  for (const bool as_value : {false, true}) {
    Adam adam(params());
    if (as_value) {
      adam.load_state_dict(load(dir + "/optimizer_v1_adam.wick"));
    } else {
      adam.load_state_dict(adam_file);
    }
    EXPECT_EQ(adam.options().lr, 0.01);
    EXPECT_EQ(adam.options().beta1, 0.8);
    EXPECT_EQ(adam.options().weight_decay, 0.1);
    EXPECT_TRUE(adam.options().amsgrad);
    EXPECT_FALSE(adam.options().maximize);
    const Value s = adam.state_dict();
    EXPECT_EQ(s["state"].dict().keys(), (std::vector<Key>{0, 1}));
    for (int i = 0; i < 2; ++i) {
      for (const char* name : {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
        EXPECT_TRUE(
            bitwise_equal(state_of(s, i, name), adam_file.at(detail::cat("state.", i, ".", name))))
            << i << " " << name;
      }
    }
    EXPECT_EQ(state_of(s, 0, "step").item<float>(), 2.0F);
  }
  const TensorDict sgd_file = load(dir + "/optimizer_v1_sgd.wick");
  SGD sgd(params());
  sgd.load_state_dict(sgd_file);
  EXPECT_EQ(sgd.options().momentum, 0.9);
  EXPECT_EQ(sgd.options().dampening, 0.1);
  EXPECT_EQ(sgd.options().weight_decay, 0.01);
  EXPECT_TRUE(bitwise_equal(state_of(sgd.state_dict(), 1, "momentum_buffer"),
                            sgd_file.at("state.1.momentum_buffer")));
  // The flag that told 1.x's Adam from AdamW still does; other types are named too.
  AdamW adamw(params());
  WICK_EXPECT_THROW_MSG(adamw.load_state_dict(adam_file), ArgumentError,
                        "checkpoint is for Adam, this optimizer is AdamW");
  WICK_EXPECT_THROW_MSG(Adam(params()).load_state_dict(sgd_file), ArgumentError,
                        "checkpoint is for SGD, this optimizer is Adam");
  WICK_EXPECT_THROW_MSG(SGD(params()).load_state_dict(adam_file), ArgumentError,
                        "checkpoint is for Adam, this optimizer is SGD");
  std::vector<Tensor> one = params();
  one.pop_back();
  WICK_EXPECT_THROW_MSG(Adam(one).load_state_dict(adam_file), ShapeError,
                        "size mismatch for param_groups[0]['params']");
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
      {"sgd_maximize", sgd({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .maximize = true})},
      {"adam_maximize", adam({.lr = 0.01, .weight_decay = 0.05, .maximize = true})},
      {"adamw_maximize", adamw({.lr = 0.01, .amsgrad = true, .maximize = true})},
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
    const Value state = opt->state_dict();
    for (const auto& [index, slots] : state["state"].dict()) {
      for (const auto& [slot, v] : slots.dict()) {
        if (v.is_tensor()) got["state." + index.text() + "." + slot.str()] = v.tensor();
      }
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

// ---------------------------------------------------------------------------------------------
// Through real PyTorch: wick's state_dict() loads into torch.optim, whose state_dict() is then
// the same; torch's, written by torch.save, loads into wick (tests/nn/optim_interop.py).

std::map<std::string, Factory> interop_configs() {
  return {
      {"sgd",
       [](std::vector<Tensor> p) {
         return std::make_unique<SGD>(std::move(p), SGDOptions{.lr = 0.1});
       }},
      {"sgd_momentum",
       [](std::vector<Tensor> p) {
         return std::make_unique<SGD>(std::move(p), SGDOptions{.lr = 0.1,
                                                               .momentum = 0.9,
                                                               .dampening = 0.25,
                                                               .weight_decay = 0.01,
                                                               .maximize = true});
       }},
      {"adam",
       [](std::vector<Tensor> p) {
         return std::make_unique<Adam>(std::move(p), AdamOptions{.lr = 0.01});
       }},
      {"adam_amsgrad",
       [](std::vector<Tensor> p) {
         return std::make_unique<Adam>(
             std::move(p),
             AdamOptions{
                 .lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"adamw",
       [](std::vector<Tensor> p) {
         return std::make_unique<AdamW>(std::move(p), AdamWOptions{.lr = 0.01});
       }},
  };
}

// float32 parameter k (0: [2, 3], 1: [4]) or its gradient at step `step` (-1: the values).
Tensor interop_tensor(int k, int step) {
  const Shape shape = k == 0 ? Shape{2, 3} : Shape{4};
  std::vector<float> v;
  for (int i = 0; i < shape_numel(shape); ++i)
    v.push_back(static_cast<float>(reference_value(k, step, i)));
  return from_vector(v, shape);
}

// Same kinds, keys in the same order, scalars equal, tensors of the same dtype and shape whose
// values agree to float32 rounding (wick and torch round differently in places).
void expect_close(const Value& a, const Value& b, const std::string& path) {
  ASSERT_EQ(a.kind(), b.kind()) << path;
  if (a.is_dict()) {
    ASSERT_EQ(a.dict().keys(), b.dict().keys()) << path;
    for (const auto& [key, v] : a.dict())
      expect_close(v, b.at(key), path + "[" + key.repr() + "]");
  } else if (a.is_list() || a.is_tuple()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (std::size_t i = 0; i < a.size(); ++i)
      expect_close(a[i], b[i], detail::cat(path, "[", i, "]"));
  } else if (a.is_tensor()) {
    ASSERT_EQ(a.tensor().dtype(), b.tensor().dtype()) << path;
    ASSERT_EQ(a.tensor().shape(), b.tensor().shape()) << path;
    const std::vector<double> x = testing::values64(a.tensor().to(kFloat64));
    const std::vector<double> y = testing::values64(b.tensor().to(kFloat64));
    for (std::size_t i = 0; i < x.size(); ++i)
      EXPECT_NEAR(x[i], y[i], 1e-6 * std::max(1.0, std::abs(y[i]))) << path << "[" << i << "]";
  } else {
    EXPECT_EQ(a, b) << path;
  }
}

TEST(Optimizer, StateDictCrossesToPyTorchAndBack) {
  testing::TempDir dir;
  const auto configs = interop_configs();
  std::vector<std::string> args{dir.path().string()};
  std::map<std::string, std::vector<Tensor>> params;
  std::map<std::string, std::unique_ptr<Optimizer>> opts;
  for (const auto& [name, make] : configs) {
    std::vector<Tensor>& p = params[name];
    p = {interop_tensor(0, -1), interop_tensor(1, -1)};
    for (auto& t : p)
      t.set_requires_grad(true);
    opts[name] = make(p);
    // Parameter 1 first: torch keeps state in first-update order.
    const List steps{List{nullptr, interop_tensor(1, 0)},
                     List{interop_tensor(0, 1), interop_tensor(1, 1)}};
    for (const Value& grads : steps) {
      for (std::size_t k = 0; k < 2; ++k)
        p[k].set_grad(grads[k].is_none() ? Tensor() : grads[k].tensor());
      opts[name]->step();
    }
    const Value ckpt = Dict{{"init", List{interop_tensor(0, -1), interop_tensor(1, -1)}},
                            {"steps", steps},
                            {"params", List{p[0].detach(), p[1].detach()}},
                            {"grads", List{interop_tensor(0, 2), interop_tensor(1, 2)}},
                            {"optimizer", opts[name]->state_dict()}};
    io::save_as(ckpt, dir / (name + ".pt"), io::FileFormat::PyTorch);
    args.push_back(name);
  }
  const testing::ScriptResult r = testing::run_python("tests/nn/optim_interop.py", args);
  WICK_EXPECT_SCRIPT_OK(r);
  for (const auto& [name, make] : configs) {
    SCOPED_TRACE(name);
    EXPECT_NE(r.output.find("OK " + name + "\n"), std::string::npos) << r.output;
    const Value back = load(dir / (name + ".torch.pt"));
    // torch's state_dict loads, and comes back out equal: keys, order, types and bits.
    std::vector<Tensor> fresh{zeros({2, 3}), zeros({4})};
    for (auto& t : fresh)
      t.set_requires_grad(true);
    auto loaded = make(fresh);
    loaded->load_state_dict(back["optimizer"]);
    EXPECT_EQ(loaded->state_dict(), back["optimizer"]) << back["optimizer"];
    // wick's own third step agrees with torch's.
    std::vector<Tensor>& p = params[name];
    p[0].set_grad(interop_tensor(0, 2));
    p[1].set_grad(interop_tensor(1, 2));
    opts[name]->step();
    expect_close(Value(List{p[0].detach(), p[1].detach()}), back["params"], "params");
    expect_close(opts[name]->state_dict(), back["optimizer"], "optimizer");
  }
}

}  // namespace
}  // namespace wick::nn
