// Format 2.1: tensors that view one storage are saved as one record and loaded as views of one
// buffer (io/FORMAT.md "Kind 2: index", part 4, and "Writers").

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include "io_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick::testing {
namespace {

SaveOptions version(int major, int minor) {
  SaveOptions o;
  o.format_major = major;
  o.format_minor = minor;
  return o;
}

SaveOptions progress(ProgressFn fn) {
  SaveOptions o;
  o.progress = std::move(fn);
  return o;
}

Tensor longs(int64_t n) {
  return arange(0, static_cast<double>(n), 1, kInt64);
}

int64_t at(const Tensor& t, int64_t i) {
  return t.contiguous().data<int64_t>()[static_cast<std::size_t>(i)];
}

// The six ways to load a whole file: every one must rebuild the views over one buffer.
std::vector<std::pair<std::string, std::function<Value(const std::filesystem::path&)>>> loaders() {
  return {
      {"load(path)", [](const auto& p) { return load(p); }},
      {"load(path, mmap)", [](const auto& p) { return load(p, read_options(true, true)); }},
      {"load(istream)",
       [](const auto& p) {
         std::ifstream in(p, std::ios::binary);
         return load(in);
       }},
      {"Reader::value", [](const auto& p) { return io::Reader(p).value(); }},
      {"Reader::value, mmap",
       [](const auto& p) { return io::Reader(p, read_options(true, true)).value(); }},
      {"Reader::value, mmap unverified",
       [](const auto& p) { return io::Reader(p, read_options(false, true)).value(); }},
  };
}

// PyTorch's serialization notes: "numbers = torch.arange(1, 10); evens = numbers[1::2]".
TEST(Views, WritingThroughEvensChangesNumbersAfterEveryLoad) {
  TempDir dir;
  const Tensor numbers = longs(10);
  save(Dict{{"numbers", numbers}, {"evens", numbers.slice(0, 0, 10, 2)}}, dir / "n.wick");
  const io::Reader reader(dir / "n.wick");
  EXPECT_EQ(reader.info().major, 2);
  EXPECT_EQ(reader.info().minor, 1);
  EXPECT_EQ(reader.info().tensor_count, 1u);
  EXPECT_EQ(reader.info().view_count, 1u);
  EXPECT_EQ(reader.info().payload_bytes, 10u * 8);
  for (const auto& [name, load_with] : loaders()) {
    const Value back = load_with(dir / "n.wick");
    Tensor evens = back["evens"].tensor();
    const Tensor& nums = back["numbers"].tensor();
    ASSERT_TRUE(evens.shares_storage(nums)) << name;
    EXPECT_EQ(evens.strides(), Shape{2}) << name;
    evens.fill_(-1);
    for (int64_t i = 0; i < 10; ++i)
      EXPECT_EQ(at(nums, i), i % 2 == 0 ? -1 : i) << name << " element " << i;
  }
}

TEST(Views, TheRecordHoldsOnlyTheElementsTheViewsReach) {
  const Tensor base = longs(100);
  const Value v = Dict{{"a", base.slice(0, 10, 20)}, {"b", base.slice(0, 15, 30, 3)}};
  TempDir dir;
  save(v, dir / "s.wick");
  const io::Reader reader(dir / "s.wick");
  EXPECT_EQ(reader.info().payload_bytes, 18u * 8);  // elements 10 to 27
  const std::vector<io::EntryInfo> entries = reader.entries();
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(entries[0].view && entries[1].view);
  EXPECT_EQ(entries[0].view->offset, 0u);
  EXPECT_EQ(entries[1].view->offset, 5u);
  EXPECT_EQ(entries[1].view->strides, Shape{3});
  EXPECT_EQ(entries[1].nbytes, 5u * 8);
  const Value back = load(dir / "s.wick");
  EXPECT_TRUE(bitwise_equal(back["a"].tensor(), base.slice(0, 10, 20)));
  EXPECT_TRUE(bitwise_equal(back["b"].tensor(), base.slice(0, 15, 30, 3)));
  EXPECT_TRUE(back["a"].tensor().shares_storage(back["b"].tensor()));
}

TEST(Views, AMemberCoveringTheRunIsTheRecordAndKeepsItsShape) {
  const Tensor base = longs(12).view({3, 4});
  TempDir dir;
  save(Dict{{"base", base}, {"t", base.t()}, {"row", base[1]}}, dir / "c.wick");
  const io::Reader reader(dir / "c.wick");
  EXPECT_EQ(reader.info().tensor_count, 1u);
  EXPECT_EQ(reader.info().view_count, 2u);
  const std::vector<io::EntryInfo> entries = reader.entries();
  EXPECT_FALSE(entries[0].view);
  EXPECT_EQ(entries[0].shape, (Shape{3, 4}));
  EXPECT_EQ(entries[1].view->strides, (Shape{1, 4}));
  EXPECT_EQ(entries[2].view->offset, 4u);
  const Value back = load(dir / "c.wick");
  EXPECT_TRUE(bitwise_equal(back["t"].tensor(), base.t()));
  EXPECT_TRUE(bitwise_equal(back["row"].tensor(), base[1]));
  EXPECT_TRUE(back["t"].tensor().shares_storage(back["base"].tensor()));
}

TEST(Views, ExpandedAndEmptyViewsAreCopiesAndAFileWithoutSharingStays10) {
  const Tensor base = longs(4);
  const Value v = Dict{{"base", base},
                       {"expanded", base.unsqueeze(0).expand({3, 4})},
                       {"empty", base.slice(0, 2, 2)}};
  std::ostringstream out;
  save(v, out);
  std::istringstream in(out.str());
  const Value back = load(in);
  EXPECT_EQ(out.str()[8], 1) << "format major";  // nothing shared: 1.0
  EXPECT_FALSE(back["expanded"].tensor().shares_storage(back["base"].tensor()));
  EXPECT_TRUE(bitwise_equal(back["expanded"].tensor(), base.unsqueeze(0).expand({3, 4})));
  EXPECT_EQ(back["empty"].tensor().numel(), 0);
}

TEST(Views, OneViewUnderTwoPathsIsOneRowAndStoragesAreSeparateGroups) {
  const Tensor x = longs(6).view({2, 3}), y = longs(8);
  TempDir dir;
  save(List{x, x.t(), x.t(), y.slice(0, 1, 3), y.slice(0, 5, 8)}, dir / "g.wick");
  const io::Reader reader(dir / "g.wick");
  EXPECT_EQ(reader.info().tensor_count, 2u);
  EXPECT_EQ(reader.info().view_count, 3u);  // x.t() once, y's two slices
  const Value back = load(dir / "g.wick");
  EXPECT_TRUE(back[1].tensor().is_same(back[2].tensor()));
  EXPECT_FALSE(back[0].tensor().shares_storage(back[3].tensor()));
  EXPECT_TRUE(back[3].tensor().shares_storage(back[4].tensor()));
  EXPECT_TRUE(bitwise_equal(back[4].tensor(), y.slice(0, 5, 8)));
}

TEST(Views, AStateDictOverOneFlatBufferKeepsItThroughTensorDictSaves) {
  const Tensor flat = arange(0, 10, 1, kFloat32);
  TensorDict sd;
  sd.insert("w", flat.slice(0, 0, 6).view({2, 3}));
  sd.insert("b", flat.slice(0, 6, 10));
  TempDir dir;
  save(sd, dir / "sd.wick");
  EXPECT_EQ(io::Reader(dir / "sd.wick").info().minor, 1);
  const Value back = load(dir / "sd.wick");
  EXPECT_TRUE(back["w"].tensor().shares_storage(back["b"].tensor()));
  EXPECT_TRUE(bitwise_equal(back["b"].tensor(), flat.slice(0, 6, 10)));
}

TEST(Views, OlderVersionsAndTheStreamingWriterStoreCopies) {
  const Tensor numbers = longs(10);
  const Value v = Dict{{"numbers", numbers}, {"evens", numbers.slice(0, 0, 10, 2)}};
  for (const auto& [major, minor] : {std::pair{1, 0}, std::pair{2, 0}}) {
    std::ostringstream out;
    save(v, out, version(major, minor));
    std::istringstream in(out.str());
    const Value back = load(in);
    EXPECT_EQ(out.str()[8], major);
    EXPECT_FALSE(back["evens"].tensor().shares_storage(back["numbers"].tensor()));
    EXPECT_TRUE(bitwise_equal(back["evens"].tensor(), numbers.slice(0, 0, 10, 2)));
  }
  std::ostringstream out;
  io::Writer writer(out, version(2, 1));
  writer.add("numbers", numbers);
  writer.add("evens", numbers.slice(0, 0, 10, 2));
  writer.finish();
  std::istringstream in(out.str());
  const Value back = load(in);
  EXPECT_FALSE(back["evens"].tensor().shares_storage(back["numbers"].tensor()));
  for (const auto& [major, minor] :
       {std::pair{2, 2}, std::pair{1, 1}, std::pair{0, 1}, std::pair{3, 0}, std::pair{-1, 0},
        std::pair{65537, 0}, std::pair{65538, 1}}) {
    std::ostringstream o;
    WICK_EXPECT_THROW_MSG(save(v, o, version(major, minor)), ArgumentError,
                          "this writer writes 1.0, 2.0 or 2.1");
  }
}

TEST(Views, ReaderTensorReadsTheViewsElementsAndStillVerifiesTheRecord) {
  const Tensor base = longs(40000);  // 320 KB: more than one read chunk
  const Tensor mid = base.slice(0, 35000, 35010);
  TempDir dir;
  save(Dict{{"base", base}, {"mid", mid}}, dir / "r.wick");
  for (const bool mmap : {false, true}) {
    io::Reader reader(dir / "r.wick", read_options(true, mmap));
    const Tensor got = reader.tensor("mid");
    EXPECT_TRUE(bitwise_equal(got, mid));
    if (!mmap) {
      EXPECT_EQ(got.storage()->nbytes(), 10u * 8);
    }
  }
  // A flipped byte far from the view: verification reads the whole record, an unverified read
  // only the view.
  std::vector<char> bytes = read_bytes(dir / "r.wick");
  const uint64_t record = io::Reader(dir / "r.wick").entries()[0].offset;
  bytes[record + 64 + 8] ^= 1;
  write_bytes(dir / "r.wick", bytes);
  io::Reader verified(dir / "r.wick");
  EXPECT_THROW(verified.tensor("/mid"), FormatError);
  io::Reader trusting(dir / "r.wick", read_options(false, false));
  EXPECT_TRUE(bitwise_equal(trusting.tensor("/mid"), mid));
}

TEST(Views, ProgressCountsEachRecordOnce) {
  const Tensor base = longs(1000);
  uint64_t total = 0, done = 0;
  std::ostringstream out;
  save(List{base, base.slice(0, 0, 1000, 2), base.slice(0, 500, 1000)}, out,
       progress([&](uint64_t d, uint64_t t) { done = d, total = t; }));
  EXPECT_EQ(total, 8000u);
  EXPECT_EQ(done, 8000u);
}

}  // namespace
}  // namespace wick::testing
