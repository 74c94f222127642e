// The tool's helpers, called directly: formatting, tree walking, differences, progress.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "cli_testing.h"
#include "errors.h"
#include "progress.h"
#include "table.h"
#include "testing.h"
#include "tree.h"

namespace wick::cli {
namespace {

TEST(Helpers, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(1024 * 1024 - 1), "1.0 MiB");
  EXPECT_EQ(human_bytes(uint64_t{3} << 30), "3.0 GiB");
  EXPECT_EQ(human_bytes(std::numeric_limits<uint64_t>::max()), "16.0 EiB");
}

TEST(Helpers, Hex64) {
  EXPECT_EQ(hex64(0), "0x0000000000000000");
  EXPECT_EQ(hex64(0xdeadbeefULL), "0x00000000deadbeef");
}

TEST(Helpers, TableAlignsColumnsAndTrimsTrailingSpace) {
  Table t({"name", "n", ""}, {false, true, false});
  t.add({"a", "100", ""});
  t.add({"longer", "2", "note"});
  std::ostringstream out;
  t.print(out, "  ");
  EXPECT_EQ(out.str(),
            "  name      n\n"
            "  a       100\n"
            "  longer    2  note\n");
}

TEST(Helpers, LeavesAndFindNodeUseDottedPaths) {
  const Value v = testing::sample_value();
  std::vector<std::string> paths;
  for (const Leaf& l : leaves(v))
    paths.push_back(l.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"model.hidden.weight", "model.hidden.bias", "epoch",
                                             "history.0", "history.1"}));
  EXPECT_EQ(find_node(v, "history.1")->as_string(), "text");
  EXPECT_TRUE(find_node(v, "model")->is_dict());
  EXPECT_EQ(find_node(v, ""), &v);
  EXPECT_EQ(find_node(v, "model.nope"), nullptr);
  // Empty containers are leaves too, so diff sees them.
  const Value empty = Dict{{"l", List{}}, {"d", Dict{}}};
  EXPECT_EQ(leaves(empty).size(), 2u);
  EXPECT_EQ(leaves(Value(arange(2))).at(0).path, "");
}

TEST(Helpers, MaxAbsDiff) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(max_abs_diff(tensor({1.0, 2.0}), tensor({1.0, 2.0})), 0.0);
  EXPECT_EQ(max_abs_diff(tensor({1.0, -2.0}), tensor({1.5, 2.0})), 4.0);
  // Across dtypes: compared as float64.
  EXPECT_EQ(max_abs_diff(tensor({1, 2}), tensor({1.0f, 4.5f})), 2.5);
  // NaN facing NaN and inf facing inf are equal; NaN facing a number poisons the result.
  EXPECT_EQ(max_abs_diff(tensor({nan, inf, 1.0}), tensor({nan, inf, 1.0})), 0.0);
  EXPECT_TRUE(std::isnan(max_abs_diff(tensor({nan, 1.0}), tensor({0.0, 1.0}))));
  EXPECT_EQ(max_abs_diff(tensor({inf}), tensor({-inf})), inf);
  // Across chunk boundaries: the difference sits in the last element of a long tensor.
  Tensor big = zeros({200'001});
  Tensor changed = big.clone();
  changed[200'000].fill_(-3.5);
  EXPECT_EQ(max_abs_diff(big, changed), 3.5);
  EXPECT_EQ(max_abs_diff(zeros({0, 3}), zeros({0, 3})), 0.0);
  // Views and 0-d tensors.
  const Tensor m = arange(0, 6, 1, kFloat32).view({2, 3});
  EXPECT_EQ(max_abs_diff(m.t(), m.t().contiguous()), 0.0);
  EXPECT_EQ(max_abs_diff(scalar_tensor(1.0, kFloat64), scalar_tensor(3, kInt32)), 2.0);
  WICK_EXPECT_THROW_MSG(max_abs_diff(zeros({2, 3}), zeros({3, 2})), ShapeError,
                        "max_abs_diff: shapes differ: [2, 3] vs [3, 2]");
}

TEST(Helpers, ToJson) {
  EXPECT_TRUE(to_json(Value()).is_null());
  EXPECT_EQ(to_json(true), true);
  EXPECT_EQ(to_json(7), 7);
  EXPECT_EQ(to_json(0.25), 0.25);
  EXPECT_EQ(to_json("s"), "s");
  EXPECT_EQ(to_json(arange(2)), "tensor([0, 1])");
  // Keys and strings may hold bytes that are not UTF-8.
  EXPECT_EQ(dump(Json{{"k", std::string("\xff")}}), "{\n  \"k\": \"\xEF\xBF\xBD\"\n}");
}

TEST(Helpers, ProgressLine) {
  EXPECT_EQ(progress_line("f", 0, 100, 10), "f [..........]   0%  0 B / 100 B");
  EXPECT_EQ(progress_line("f", 50, 100, 10), "f [#####.....]  50%  50 B / 100 B");
  EXPECT_EQ(progress_line("f", 100, 100, 10), "f [##########] 100%  100 B / 100 B");
  EXPECT_EQ(progress_line("f", 200, 100, 10), "f [##########] 100%  100 B / 100 B");
  EXPECT_EQ(progress_line("f", 5, 0, 4), "f [....]   0%  0 B / 0 B");
}

TEST(Helpers, ProgressBarRedrawsOnlyWhenThePercentageChangesAndErasesItself) {
  std::ostringstream out;
  {
    ProgressBar bar(out, "f");
    const ProgressFn fn = bar.callback();
    fn(0, 1000);
    fn(1, 1000);  // still 0%
    fn(500, 1000);
    fn(1000, 1000);
  }
  const std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 3 + 2) << s;
  EXPECT_NE(s.find("50%"), std::string::npos);
  EXPECT_EQ(s.substr(s.size() - 1), "\r");
}

TEST(Helpers, WantProgress) {
  EXPECT_TRUE(want_progress(ProgressMode::kAlways, 0));
  EXPECT_FALSE(want_progress(ProgressMode::kNever, uint64_t{1} << 40));
  EXPECT_FALSE(want_progress(ProgressMode::kAuto, 10));  // small, whatever stderr is
}

TEST(Helpers, HasWickMagic) {
  const testing::TempDir dir;
  testing::save_sample(dir / "a.wick");
  testing::write_bytes(dir / "short", {'\x89', 'W'});
  EXPECT_TRUE(has_wick_magic(dir / "a.wick"));
  EXPECT_FALSE(has_wick_magic(dir / "short"));
  EXPECT_FALSE(has_wick_magic(dir / "missing"));
}

}  // namespace
}  // namespace wick::cli
