// `wick cat`: one entry or the whole tree, printed exactly as wick (and PyTorch) prints it.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_testing.h"

namespace wick {
namespace {

using testing::run_wick;

std::string repr(const Value& v) {
  std::ostringstream out;
  out << v << '\n';
  return out.str();
}

TEST(Cat, WholeTreeIsTheValueRepr) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const auto r = run_wick({"cat", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, repr(testing::sample_value()));
  EXPECT_NE(r.out.find("'epoch': 3"), std::string::npos) << r.out;
}

TEST(Cat, OneTensorPrintsAsPyTorchDoes) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const auto r = run_wick({"cat", file, "model.hidden.weight"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tensor([[0., 1., 2.],\n        [3., 4., 5.]])\n");
}

TEST(Cat, NonTensorNodesAndListItems) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  EXPECT_EQ(run_wick({"cat", file, "epoch"}).out, "3\n");
  EXPECT_EQ(run_wick({"cat", file, "history.1"}).out, "'text'\n");
  EXPECT_EQ(run_wick({"cat", file, "model.hidden"}).out,
            repr(testing::sample_value()["model"]["hidden"]));
}

TEST(Cat, PrecisionAndFull) {
  const testing::TempDir dir;
  const auto file = (dir / "big.wick").string();
  const Tensor x = (arange(0, 2000, 1, kFloat32) + 1000.0) / 3.0;  // no scientific notation
  save(Dict{{"x", x}}, file);
  const auto summarised = run_wick({"cat", file, "x"});
  ASSERT_EQ(summarised.code, 0) << summarised.err;
  EXPECT_EQ(summarised.out, to_string(x) + "\n");
  EXPECT_NE(summarised.out.find("..."), std::string::npos);
  const auto full = run_wick({"cat", "--full", "--precision", "2", file, "x"});
  ASSERT_EQ(full.code, 0) << full.err;
  EXPECT_EQ(full.out.find("..."), std::string::npos);
  EXPECT_NE(full.out.find(", 666.67, 667.00, 667.33, "), std::string::npos) << full.out;
  EXPECT_EQ(full.out.substr(full.out.size() - 10), " 999.67])\n");
}

TEST(Cat, UnknownPathIsAUsageErrorListingSimilarPaths) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const auto r = run_wick({"cat", file, "model.hidden.weights"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err,
            "wick: no entry 'model.hidden.weights' in " + file +
                "; similar: 'model.hidden.weight', 'model.hidden.bias', 'model.hidden', 'model'\n");
  // A typo is close even when it is not a prefix.
  const auto typo = run_wick({"cat", file, "model.hiden.bias"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("similar: 'model.hidden.bias'"), std::string::npos) << typo.err;
}

TEST(Cat, CorruptTensorIsRefused) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  testing::flip_byte(file, testing::payload_offset(file, "model.hidden.weight"));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"cat", file, "model.hidden.weight"}, {"cat", file}}) {
    const auto r = run_wick(args);
    EXPECT_EQ(r.code, 5);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("is corrupt: tensor 'model.hidden.weight' at offset"), std::string::npos)
        << r.err;
  }
  // The other tensor is intact and loads on its own.
  EXPECT_EQ(run_wick({"cat", file, "model.hidden.bias"}).code, 0);
}

}  // namespace
}  // namespace wick
