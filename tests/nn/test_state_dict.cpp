#include <gtest/gtest.h>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/ops.h"
#include "wick/nn/linear.h"
#include "wick/nn/relu.h"

namespace wick::nn {
namespace {

// The tutorial's model, with a configurable hidden width for the mismatch cases.
struct MLP : Module {
  Linear hidden, output;
  explicit MLP(int64_t width = 256) : hidden(20, width), output(width, 10) {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  Tensor forward(const Tensor& x) { return output(relu(hidden(x))); }
};

std::vector<Tensor> snapshot(const Module& m) {
  std::vector<Tensor> out;
  for (const auto& [n, t] : m.state_dict())
    out.push_back(t.clone());
  return out;
}

void expect_unchanged(const Module& m, const std::vector<Tensor>& before) {
  std::size_t i = 0;
  for (const auto& [n, t] : m.state_dict()) {
    EXPECT_TRUE(bitwise_equal(t, before[i++])) << n << " changed by a failed load";
  }
}

TEST(StateDict, CloneGivesBitIdenticalOutputs) {
  MLP net;
  MLP clone;
  const Tensor x = randn({2, 20});
  EXPECT_FALSE(bitwise_equal(net.forward(x), clone.forward(x)));
  const LoadResult r = clone.load_state_dict(net.state_dict());
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  EXPECT_TRUE(bitwise_equal(net.forward(x), clone.forward(x)));
  // Loading copies: the clone does not alias the source.
  EXPECT_FALSE(clone.hidden.weight.shares_storage(net.hidden.weight));
}

TEST(StateDict, StrictErrorListsEveryProblemAtOnce) {
  MLP net;
  MLP narrow(128);
  TensorDict sd = net.state_dict();
  TensorDict edited;
  for (const auto& [k, v] : sd) {
    if (k != "output.bias") edited.insert(k, v);
  }
  edited.insert("extra.weight", zeros({1}));
  const auto before = snapshot(narrow);
  try {
    narrow.load_state_dict(edited);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Error(s) in loading state_dict for wick::nn::(anonymous namespace)::MLP"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Missing key(s) in state_dict: \"output.bias\"."), std::string::npos);
    EXPECT_NE(msg.find("Unexpected key(s) in state_dict: \"extra.weight\"."), std::string::npos);
    EXPECT_NE(msg.find("size mismatch for hidden.weight: checkpoint has [256, 20], model has "
                       "[128, 20]"),
              std::string::npos);
    EXPECT_NE(msg.find("size mismatch for hidden.bias: checkpoint has [256], model has [128]"),
              std::string::npos);
    EXPECT_NE(msg.find("size mismatch for output.weight: checkpoint has [10, 256], model has "
                       "[10, 128]"),
              std::string::npos);
  }
  expect_unchanged(narrow, before);
}

TEST(StateDict, FailedLoadIsAllOrNothing) {
  MLP net;
  MLP target;
  TensorDict sd = net.state_dict();
  // Valid entries come first; the bad one is last, so a partial writer would have written some.
  TensorDict bad;
  for (const auto& [k, v] : sd)
    bad.insert(k, k == "output.bias" ? zeros({11}) : v);
  const auto before = snapshot(target);
  WICK_EXPECT_THROW_MSG(target.load_state_dict(bad), ShapeError,
                        "size mismatch for output.bias: checkpoint has [11], model has [10]");
  expect_unchanged(target, before);
  // Missing keys alone are an ArgumentError, and also leave the model untouched.
  TensorDict partial{{"hidden.weight", sd.at("hidden.weight")}};
  WICK_EXPECT_THROW_MSG(target.load_state_dict(partial), ArgumentError,
                        "Missing key(s) in state_dict: \"hidden.bias\", \"output.weight\", "
                        "\"output.bias\".");
  expect_unchanged(target, before);
  TensorDict undefined{{"hidden.weight", Tensor()}};
  WICK_EXPECT_THROW_MSG(target.load_state_dict(undefined, false), ArgumentError,
                        "value for hidden.weight is an undefined tensor");
}

TEST(StateDict, NonStrictLoadsWhatMatchesAndReportsTheRest) {
  MLP net;
  MLP target;
  TensorDict partial{{"hidden.weight", net.hidden.weight},
                     {"hidden.bias", net.hidden.bias},
                     {"decoder.weight", zeros({3})}};
  const LoadResult r = target.load_state_dict(partial, false);
  EXPECT_EQ(r.missing_keys, (std::vector<std::string>{"output.weight", "output.bias"}));
  EXPECT_EQ(r.unexpected_keys, (std::vector<std::string>{"decoder.weight"}));
  EXPECT_TRUE(bitwise_equal(target.hidden.weight, net.hidden.weight));
  EXPECT_FALSE(bitwise_equal(target.output.weight, net.output.weight));
  // Shapes must match even when not strict (as in PyTorch).
  TensorDict wrong{{"hidden.bias", zeros({3})}};
  WICK_EXPECT_THROW_MSG(target.load_state_dict(wrong, false), ShapeError,
                        "size mismatch for hidden.bias");
}

TEST(StateDict, DtypeMismatchIsConvertedLikePyTorch) {
  Linear lin(2, 2);
  TensorDict sd{{"weight", tensor({{1, 2}, {3, 4}}, kFloat64)}, {"bias", tensor({5, 6}, kInt32)}};
  lin.load_state_dict(sd);
  EXPECT_EQ(lin.weight.dtype(), kFloat32);
  EXPECT_TRUE(equal(lin.weight, tensor({{1.0, 2.0}, {3.0, 4.0}})));
  EXPECT_TRUE(equal(lin.bias, tensor({5.0, 6.0})));
}

TEST(StateDict, LoadingOwnStateDictIsANoOp) {
  MLP net;
  const auto before = snapshot(net);
  net.load_state_dict(net.state_dict());
  expect_unchanged(net, before);
}

}  // namespace
}  // namespace wick::nn
