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
  for (const char* path : {"/model/hidden/weight", "model.hidden.weight"}) {
    const auto r = run_wick({"cat", file, path});
    ASSERT_EQ(r.code, 0) << path << "\n" << r.err;
    EXPECT_EQ(r.out, "tensor([[0., 1., 2.],\n        [3., 4., 5.]])\n") << path;
  }
}

TEST(Cat, NonTensorNodesAndListItems) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  EXPECT_EQ(run_wick({"cat", file, "/epoch"}).out, "3\n");
  EXPECT_EQ(run_wick({"cat", file, "/history/1"}).out, "'text'\n");
  EXPECT_EQ(run_wick({"cat", file, "/model/hidden"}).out,
            repr(testing::sample_value()["model"]["hidden"]));
  EXPECT_EQ(run_wick({"cat", file, ""}).out, repr(testing::sample_value()));
  // The dotted spelling, when it names one node.
  EXPECT_EQ(run_wick({"cat", file, "epoch"}).out, "3\n");
  EXPECT_EQ(run_wick({"cat", file, "history.1"}).out, "'text'\n");
  EXPECT_EQ(run_wick({"cat", file, "model.hidden"}).out,
            repr(testing::sample_value()["model"]["hidden"]));
}

TEST(Cat, RootTensorAndKeysThatNeedEscaping) {
  const testing::TempDir dir;
  const auto one = (dir / "one.wick").string();
  const auto keys = (dir / "keys.wick").string();
  save(arange(3), one);
  save(Dict{{"a/b", 1}, {"~", 2}, {"", 3}, {"a.b", 4}, {"a", Dict{{"b", 5}}}}, keys);
  EXPECT_EQ(run_wick({"cat", one, ""}).out, "tensor([0, 1, 2])\n");
  EXPECT_EQ(run_wick({"cat", keys, "/a~1b"}).out, "1\n");
  EXPECT_EQ(run_wick({"cat", keys, "/~0"}).out, "2\n");
  EXPECT_EQ(run_wick({"cat", keys, "/"}).out, "3\n");  // the empty key
  EXPECT_EQ(run_wick({"cat", keys, "/a.b"}).out, "4\n");
  EXPECT_EQ(run_wick({"cat", keys, "/a/b"}).out, "5\n");
  // Two nodes are spelled a.b: the dotted form names neither.
  const auto r = run_wick({"cat", keys, "a.b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err, "wick: 'a.b' names more than one entry in " + keys +
                       " ('/a.b', '/a/b'); name one by its JSON pointer\n");
}

TEST(Cat, MalformedPointerIsAUsageError) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const auto r = run_wick({"cat", file, "/model/a~2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("'~' at byte 8 must be followed by 0 ('~') or 1 ('/')"), std::string::npos)
      << r.err;
  // A list index must be decimal without a leading zero or sign.
  for (const char* bad : {"/history/01", "/history/-1", "/history/2", "/history/x", "/epoch/0"}) {
    const auto e = run_wick({"cat", file, bad});
    EXPECT_EQ(e.code, 2) << bad;
    EXPECT_EQ(e.err.rfind(std::string("wick: no entry '") + bad + "' in " + file, 0), 0u) << e.err;
  }
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
  const auto r = run_wick({"cat", file, "/model/hidden/weights"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err, "wick: no entry '/model/hidden/weights' in " + file +
                       "; similar: '/model/hidden/weight', '/model/hidden', '/model'\n");
  // A typo is close even when it is not the last step; the dotted spelling is searched too.
  for (const char* typo : {"/model/hiden/bias", "model.hiden.bias"}) {
    const auto e = run_wick({"cat", file, typo});
    EXPECT_EQ(e.code, 2);
    EXPECT_NE(e.err.find("similar: '/model/hidden/bias', '/model/hidden', '/model'\n"),
              std::string::npos)
        << e.err;
  }
  // Nothing close: no suggestions.
  const auto far = run_wick({"cat", file, "/zzzzzz"});
  EXPECT_EQ(far.err, "wick: no entry '/zzzzzz' in " + file + "\n");
}

TEST(Cat, CorruptTensorIsRefused) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  testing::flip_byte(file, testing::payload_offset(file, "/model/hidden/weight"));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"cat", file, "model.hidden.weight"}, {"cat", file}}) {
    const auto r = run_wick(args);
    EXPECT_EQ(r.code, 5);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("is corrupt: tensor '/model/hidden/weight' at offset"), std::string::npos)
        << r.err;
  }
  // The other tensor is intact and loads on its own.
  EXPECT_EQ(run_wick({"cat", file, "/model/hidden/bias"}).code, 0);
}

}  // namespace
}  // namespace wick
