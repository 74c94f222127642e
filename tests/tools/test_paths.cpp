// The tree path syntax (JSON pointers, io/FORMAT.md "Tree paths") in cat, diff PATH and
// convert --only: keys holding dots or slashes, or spelled like list indices, stay unambiguous.

#include <gtest/gtest.h>

#include "tools/cli_testing.h"

namespace wick::testing {
namespace {

// Keys a dotted spelling cannot tell apart: "a.b" beside a → b, and "0" beside a list.
Value tricky() {
  return Dict{{"a.b", tensor({1.0})},
              {"a", Dict{{"b", tensor({2.0})}, {"c/d", tensor({3.0})}}},
              {"items", List{tensor({4.0}), "x", tensor({5.0})}},
              {"epoch", 3}};
}

TEST(CliPaths, HelpDocumentsThePointerSyntax) {
  const CliRun r = run_wick({"--help"});
  for (const char* s : {"Tree paths (cat PATH, diff PATH, convert --only PATH)", "RFC 6901", "~0",
                        "~1", "/dev/stdin"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
}

TEST(CliPaths, ConvertOnlyKeepsTheNamedSubtrees) {
  TempDir dir;
  const std::string in = (dir / "in.wick").string();
  save(tricky(), in);
  const std::string out = (dir / "out.wick").string();
  const CliRun r =
      run_wick({"convert", in, out, "--only", "/a.b", "--only", "/a/c~1d", "--only", "/items/2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const Value expected = Dict{
      {"a.b", tensor({1.0})}, {"a", Dict{{"c/d", tensor({3.0})}}}, {"items", List{tensor({5.0})}}};
  EXPECT_EQ(load(out), expected);
  // A whole subtree, a scalar, and the same node named twice.
  ASSERT_EQ(
      run_wick({"convert", in, out, "--only", "/a", "--only", "/epoch", "--only", "/a/b"}).code, 0);
  EXPECT_EQ(load(out), (Value(Dict{{"a", tricky()["a"]}, {"epoch", 3}})));
}

TEST(CliPaths, ConvertOnlyRefusesWhatNamesNothingOrTwoThings) {
  TempDir dir;
  const std::string in = (dir / "in.wick").string();
  save(tricky(), in);
  const std::string out = (dir / "out.wick").string();
  CliRun r = run_wick({"convert", in, out, "--only", "/a/x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no entry '/a/x'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("similar: '/a/b', '/a'"), std::string::npos) << r.err;
  r = run_wick({"convert", in, out, "--only", "a.b"});  // "a.b" and a → b
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("names more than one entry"), std::string::npos) << r.err;
  r = run_wick({"convert", in, out, "--only", "/a~2"});  // a malformed escape
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(CliPaths, DiffComparesOnlyThePathGiven) {
  TempDir dir;
  const std::string a = (dir / "a.wick").string();
  const std::string b = (dir / "b.wick").string();
  save(tricky(), a);
  Value changed = tricky();
  changed["a.b"] = tensor({9.0});  // differs outside /a
  save(changed, b);
  EXPECT_EQ(run_wick({"diff", a, b}).code, 1);
  const CliRun same = run_wick({"diff", a, b, "/a"});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("/a/c~1d"), std::string::npos) << same.out;
  EXPECT_EQ(same.out.find("/a.b"), std::string::npos) << same.out;
  const CliRun differ = run_wick({"diff", a, b, "/a.b"});
  EXPECT_EQ(differ.code, 1) << differ.out;
  const CliRun none = run_wick({"diff", a, b, "/nope"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no entry '/nope'"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace wick::testing
