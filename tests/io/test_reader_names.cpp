// Reader::tensor() with a name that is not in the file: the close matches it lists ("did you
// mean ..."), by edit distance on the pointer or dotted spelling, capped, and bounded in time
// and memory by the index (io/FORMAT.md "Tree paths" and "Bounds").

#include <gtest/gtest.h>

#include <string>

#include "bounds_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::TempDir;

// The message Reader::tensor(name) throws (ArgumentError), or "" when it finds a tensor.
std::string miss(const std::filesystem::path& file, const std::string& name) {
  io::Reader r(file);
  try {
    (void)r.tensor(name);
  } catch (const ArgumentError& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path saved(const TempDir& dir, const Value& v) {
  const auto path = dir / "f.wick";
  save(v, path);
  return path;
}

TEST(ReaderNames, AMisspelledStateDictKeyListsTheClosestInBothSpellings) {
  const TempDir dir;
  const auto f = saved(dir, Dict{{"hidden.weight", zeros({2, 3})},
                                 {"hidden.bias", zeros({2})},
                                 {"output.weight", zeros({1, 2})}});
  const std::string msg = miss(f, "hiden.weight");
  EXPECT_EQ(msg.rfind("Reader::tensor: no tensor at 'hiden.weight' in ", 0), 0u) << msg;
  EXPECT_TRUE(msg.ends_with("f.wick (3 tensors; did you mean '/hidden.weight', '/output.weight'?)"))
      << msg;
  EXPECT_NE(miss(f, "/hidden.wieght").find("did you mean '/hidden.weight'"), std::string::npos);
  EXPECT_NE(miss(f, "hidden.bais").find("did you mean '/hidden.bias'"), std::string::npos);
  // Far from everything: no suggestion at all.
  EXPECT_TRUE(miss(f, "zzzz").ends_with("f.wick (3 tensors)")) << miss(f, "zzzz");
}

TEST(ReaderNames, NestedDictsListsAndEscapedKeys) {
  const TempDir dir;
  const auto f = saved(dir, Dict{{"model", Dict{{"hidden", Dict{{"weight", zeros({1})}}}}},
                                 {"layers", List{zeros({1}), zeros({2})}},
                                 {"a/b", zeros({3})},
                                 {"state", Dict{{0, Dict{{"exp_avg", zeros({1})}}}}}});
  EXPECT_NE(miss(f, "model.hiden.weight").find("did you mean '/model/hidden/weight'?"),
            std::string::npos);
  EXPECT_NE(miss(f, "/model/hidden/weigth").find("did you mean '/model/hidden/weight'?"),
            std::string::npos);
  // A list index one digit off names both items, in tree order.
  EXPECT_NE(miss(f, "layers.7").find("did you mean '/layers/0', '/layers/1'?"), std::string::npos);
  // A pointer is compared with escaped keys ("/a~1b"), a dotted name with the raw ones ("a/b").
  EXPECT_NE(miss(f, "/a~1c").find("did you mean '/a~1b'?"), std::string::npos);
  EXPECT_NE(miss(f, "a/c").find("did you mean '/a~1b'?"), std::string::npos);
  // Int keys are spelled in decimal.
  EXPECT_NE(miss(f, "state.0.exp_avgs").find("did you mean '/state/0/exp_avg'?"),
            std::string::npos);
}

TEST(ReaderNames, ClosestFirstThenTreeOrderAndAtMostFive) {
  const TempDir dir;
  Dict many;
  for (int i = 0; i < 40; ++i)
    many.insert(std::string("w").append(std::to_string(i)), zeros({1}));
  const auto f = saved(dir, many);
  // "wx" is one edit from w0..w9: only the first five are named.
  EXPECT_NE(miss(f, "wx").find("did you mean '/w0', '/w1', '/w2', '/w3', '/w4'?)"),
            std::string::npos);
  // Closer ones come first whatever their place: "layer.1x" is one edit from "layer.10" and
  // "layer.1", two from "layer.100".
  const auto g = saved(
      dir, Dict{{"layer.100", zeros({1})}, {"layer.10", zeros({1})}, {"layer.1", zeros({1})}});
  EXPECT_NE(miss(g, "layer.1x").find("did you mean '/layer.10', '/layer.1', '/layer.100'?"),
            std::string::npos);
}

TEST(ReaderNames, TheExistingHintsStillFollowTheCloseMatches) {
  // "model.hidden" is no tensor but the dict above one: the tensors below a key containing
  // the last step are named after the close matches.
  const TempDir dir;
  const auto f = saved(dir, Dict{{"model", Dict{{"hidden", Dict{{"weight", zeros({1})}}}}}});
  EXPECT_NE(miss(f, "model.hidden").find("did you mean '/model/hidden/weight'?"),
            std::string::npos);
}

// Many long keys close to the query, and a deep chain of keys each one edit away: the search
// stays linear in the index (each node costs its key's bytes times a band of 9 cells) and its
// memory in the query's length.
TEST(ReaderNames, SuggestionsStayWithinTheReadersBounds) {
  constexpr testing::DecodeBound kBound{"reader name lookup", uint64_t{16} << 20, 64.0, 2.0, 2.0};
  const TempDir dir;
  const std::string stem(2000, 'a');
  Dict wide;
  for (int i = 0; i < 1000; ++i)
    wide.insert(stem + std::to_string(i), zeros({0}));
  Value deep = zeros({0});
  for (int i = 0; i < 500; ++i)
    deep = Dict{{"ab", deep}};
  const std::vector<std::pair<std::string, Value>> files = {{"wide", Value(wide)}, {"deep", deep}};
  for (const auto& [name, value] : files) {
    SCOPED_TRACE(name);
    const auto path = dir / (name + ".wick");
    save(value, path);
    const auto size = std::filesystem::file_size(path);
    std::string query = name == "wide" ? stem + "9x" : "ab";
    if (name == "deep") {
      for (int i = 1; i < 500; ++i)
        query += i == 499 ? ".ax" : ".ab";  // one edit at the bottom of 500 levels
    }
    std::string msg;
    testing::expect_bounded("Reader::tensor(" + name + " misspelled)", size, kBound,
                            [&] { msg = miss(path, query); });
    EXPECT_NE(msg.find("no tensor at"), std::string::npos);
    const std::string want =
        name == "wide" ? "did you mean '/" + stem + "9'" : "did you mean '/ab/ab/";
    EXPECT_NE(msg.find(want), std::string::npos) << msg.substr(0, 300);
  }
}

}  // namespace
}  // namespace wick
