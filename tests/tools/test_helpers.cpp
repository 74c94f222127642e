// The tool's helpers, called directly: formatting, tree walking, differences, progress.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli_testing.h"
#include "errors.h"
#include "json_writer.h"
#include "progress.h"
#include "table.h"
#include "testing.h"
#include "text.h"
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

TEST(Helpers, StreamedTableMeasuresThenPrints) {
  int runs = 0;
  std::ostringstream out;
  print_table(out, {"a", "b"}, {false, true}, "", [&](const RowSink& sink) {
    ++runs;
    sink({"x", "1"});
    sink({"long cell", "22"});
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(out.str(),
            "a           b\n"
            "x           1\n"
            "long cell  22\n");
}

std::vector<std::string> leaf_paths(const Value& v) {
  std::vector<std::string> paths;
  for_each_leaf(v, [&](const std::string& p, const Value&) { paths.push_back(p); });
  return paths;
}

TEST(Helpers, LeavesAndFindNodesUseJsonPointers) {
  const Value v = testing::sample_value();
  EXPECT_EQ(leaf_paths(v), (std::vector<std::string>{"/model/hidden/weight", "/model/hidden/bias",
                                                     "/epoch", "/history/0", "/history/1"}));
  EXPECT_EQ(find_nodes(v, "/history/1").at(0).node->as_string(), "text");
  EXPECT_TRUE(find_nodes(v, "/model").at(0).node->is_dict());
  EXPECT_EQ(find_nodes(v, "").at(0).node, &v);
  EXPECT_TRUE(find_nodes(v, "/model/nope").empty());
  EXPECT_TRUE(find_nodes(v, "/history/01").empty());
  WICK_EXPECT_THROW_MSG(find_nodes(v, "/a~"), ArgumentError, "must be followed by 0");
  // The dotted spelling, and what it found as a pointer.
  const auto dotted = find_nodes(v, "history.1");
  ASSERT_EQ(dotted.size(), 1u);
  EXPECT_EQ(dotted[0].pointer, "/history/1");
  // Keys that hold '/', '~' and '.' are steps of their own.
  const Value keys = Dict{{"a/b", 1}, {"a~", 2}, {"a.b", 3}, {"a", Dict{{"b", 4}}}};
  EXPECT_EQ(leaf_paths(keys), (std::vector<std::string>{"/a~1b", "/a~0", "/a.b", "/a/b"}));
  EXPECT_EQ(find_nodes(keys, "/a~1b").at(0).node->as_int(), 1);
  EXPECT_EQ(find_nodes(keys, "a/b").at(0).node->as_int(), 1);  // dotted: one key "a/b"
  EXPECT_EQ(find_nodes(keys, "a.b").size(), 2u);
  EXPECT_EQ(find_nodes(keys, "a.b", 1).size(), 1u);
  // Empty containers are leaves too, so diff sees them.
  const Value empty = Dict{{"l", List{}}, {"d", Dict{}}};
  EXPECT_EQ(leaf_paths(empty), (std::vector<std::string>{"/l", "/d"}));
  EXPECT_EQ(leaf_paths(Value(arange(2))), std::vector<std::string>{""});
}

TEST(Helpers, SimilarPathsFollowTheStepsWithTypos) {
  const Value v = testing::sample_value();
  EXPECT_EQ(similar_paths(v, "/model/hiden/bias"),
            (std::vector<std::string>{"/model/hidden/bias", "/model/hidden", "/model"}));
  EXPECT_EQ(similar_paths(v, "model.hidden.weigth"),
            (std::vector<std::string>{"/model/hidden/weight", "/model/hidden", "/model"}));
  EXPECT_EQ(similar_paths(v, "/histroy/1"), (std::vector<std::string>{"/history/1", "/history"}));
  EXPECT_TRUE(similar_paths(v, "/zzzzzzzz").empty());
  EXPECT_EQ(similar_paths(v, "/model/hidden/weight/0", 2),
            (std::vector<std::string>{"/model/hidden/weight", "/model/hidden"}));
}

TEST(Helpers, DescribeNamesContainersBySize) {
  EXPECT_EQ(describe(Value(List{1})), "list (1 item)");
  EXPECT_EQ(describe(Value(List{})), "list (0 items)");
  EXPECT_EQ(describe(Value(Dict{{"a", 1}, {"b", 2}})), "dict (2 keys)");
  EXPECT_EQ(describe(Value(zeros({2, 3}))), "float32 [2, 3]");
  EXPECT_EQ(describe(Value("s")), "'s'");
}

TEST(Helpers, EscapedNamesAreSafeAndUnambiguous) {
  EXPECT_EQ(escaped("plain/key.name"), "plain/key.name");
  EXPECT_EQ(escaped("\x1b]0;t\x07"), "\\x1b]0;t\\x07");
  EXPECT_EQ(escaped("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escaped("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escaped("back\\slash", Escape::kLine), "back\\slash");
  EXPECT_EQ(escaped("two\nlines", Escape::kLine), "two\\nlines");
  EXPECT_EQ(escaped("two\nlines", Escape::kText), "two\nlines");
  EXPECT_EQ(escaped("\x7f"), "\\x7f");
  // Valid UTF-8 passes; C1 controls, bidi and invisible characters do not.
  EXPECT_EQ(escaped("caf\xC3\xA9 \xE6\x97\xA5"), "caf\xC3\xA9 \xE6\x97\xA5");
  EXPECT_EQ(escaped("\xC2\x9B"
                    "2J"),
            "\\u009b2J");
  EXPECT_EQ(escaped("a\xE2\x80\xAE"
                    "b"),
            "a\\u202eb");
  EXPECT_EQ(escaped("\xEF\xBB\xBF"), "\\ufeff");
  // Bytes that are not UTF-8: a lone continuation, a truncated sequence, an overlong form, a
  // surrogate.
  EXPECT_EQ(escaped("\xff\x80"), "\\xff\\x80");
  EXPECT_EQ(escaped("\xE6\x97"), "\\xe6\\x97");
  EXPECT_EQ(escaped("\xC0\xAF"), "\\xc0\\xaf");
  EXPECT_EQ(escaped("\xED\xA0\x80"), "\\xed\\xa0\\x80");
}

TEST(Helpers, ShownCutsLongTextInTheMiddleBetweenCharacters) {
  EXPECT_EQ(shown(std::string(1024, 'a')), std::string(1024, 'a'));
  const std::string long_text = std::string(600, 'h') + std::string(600, 't');
  EXPECT_EQ(shown(long_text), std::string(480, 'h') + "...[1200 bytes]..." + std::string(480, 't'));
  // Two-byte characters: the cut moves back to the start of the one it would split.
  std::string accents;
  for (int i = 0; i < 600; ++i)
    accents += "\xC3\xA9";
  const std::string cut = shown(accents);
  EXPECT_EQ(cut.find("\\x"), std::string::npos) << cut;
  EXPECT_EQ(cut.substr(0, 480), accents.substr(0, 480));
  EXPECT_NE(cut.find("...[1200 bytes]..."), std::string::npos);
  EXPECT_EQ(shown("abcdef", 4), "ab...[6 bytes]...ef");
}

TEST(Helpers, EscapingStreamKeepsSequencesSplitAcrossWrites) {
  std::ostringstream out;
  {
    EscapingStream safe(out);
    safe << "ok\n\xE6";
    safe.flush();  // the first byte of a character waits for the rest
    safe << "\x97\xA5 \x1b[2J \xE2\x80";
    safe << "\xAE end \xE6";  // a sequence left unfinished at the end
  }
  EXPECT_EQ(out.str(), "ok\n\xE6\x97\xA5 \\x1b[2J \\u202e end \\xe6");
  // Long output goes through in chunks.
  std::ostringstream big;
  {
    EscapingStream safe(big);
    for (int i = 0; i < 100000; ++i)
      safe << "\xC3\xA9";
  }
  EXPECT_EQ(big.str().size(), 200000u);
  EXPECT_EQ(big.str().find('\\'), std::string::npos);
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

TEST(Helpers, JsonWriterStreamsAndEscapes) {
  std::ostringstream out;
  JsonWriter w(out);
  w.begin_object()
      .field("none", Value())
      .field("bool", Value(true))
      .field("int", Value(7))
      .field("float", Value(0.25))
      .field("whole", Value(2.0))
      .field("nan", Value(std::numeric_limits<double>::quiet_NaN()))
      .field("string", Value("s"))
      .field("tensor", Value(arange(2)))
      .field("shape", Shape{2, 3})
      .field("u64", std::numeric_limits<uint64_t>::max());
  w.key("empty").begin_array().end_array();
  w.key("nested").begin_object().key("list").begin_array().value(1).value("x").end_array();
  w.end_object().end_object().finish();
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_TRUE(j["none"].is_null());
  EXPECT_EQ(j["bool"], true);
  EXPECT_EQ(j["int"], 7);
  EXPECT_EQ(j["float"], 0.25);
  EXPECT_TRUE(j["whole"].is_number_float());
  EXPECT_TRUE(j["nan"].is_null());
  EXPECT_EQ(j["string"], "s");
  EXPECT_EQ(j["tensor"], "tensor([0, 1])");
  EXPECT_EQ(j["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(j["u64"], std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(j["empty"].empty());
  EXPECT_EQ(j["nested"]["list"], nlohmann::json({1, "x"}));
  EXPECT_EQ(out.str().substr(0, 18), "{\n  \"none\": null,\n");
  // Misuse is a bug in the tool.
  std::ostringstream sink;
  JsonWriter bad(sink);
  bad.begin_object();
  EXPECT_THROW(bad.value(1), std::logic_error);
  EXPECT_THROW(bad.end_array(), std::logic_error);
  EXPECT_THROW(bad.finish(), std::logic_error);
}

TEST(Helpers, JsonStringsAreExactAndTerminalSafe) {
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("\x1b[2J\n\x7f"), "\"\\u001b[2J\\n\\u007f\"");
  EXPECT_EQ(json_string("\xC2\x9B\xE2\x80\xAE"), "\"\\u009b\\u202e\"");
  EXPECT_EQ(json_string("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  // JSON text is Unicode: a byte that is not UTF-8 becomes U+FFFD.
  EXPECT_EQ(json_string("\xff"), "\"\xEF\xBF\xBD\"");
  for (const std::string s : {"\x1b]0;x\x07", "tab\there", "\xE2\x80\xAE", "a/b~c"})
    EXPECT_EQ(nlohmann::json::parse(json_string(s)), s);
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
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_TRUE(has_wick_magic(dir / "a.wick"));
  EXPECT_FALSE(has_wick_magic(dir / "short"));
  EXPECT_FALSE(has_wick_magic(dir / "missing"));
  EXPECT_FALSE(has_wick_magic(dir / "fifo"));  // and does not wait for a writer
  EXPECT_FALSE(has_wick_magic(dir.path()));
}

TEST(Helpers, CheckRegularFile) {
  const testing::TempDir dir;
  testing::save_sample(dir / "a.wick");
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  std::filesystem::create_symlink(dir / "a.wick", dir / "link");
  EXPECT_NO_THROW(check_regular_file(dir / "a.wick"));
  EXPECT_NO_THROW(check_regular_file(dir / "link"));     // what it points to counts
  EXPECT_NO_THROW(check_regular_file(dir / "missing"));  // left to the open to report
  for (const auto& [file, kind] :
       {std::pair<std::filesystem::path, std::string>{dir / "fifo", "a FIFO"},
        {dir.path(), "a directory"},
        {"/dev/null", "a character device"}}) {
    try {
      check_regular_file(file);
      ADD_FAILURE() << file;
    } catch (const Failure& f) {
      EXPECT_EQ(f.code(), kUnreadable);
      EXPECT_EQ(std::string(f.what()),
                "cannot read " + file.string() + ": not a regular file (" + kind + ")");
    }
  }
}

}  // namespace
}  // namespace wick::cli
