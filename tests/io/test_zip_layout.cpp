// Where zip members' data start (io/src/interop/zip_layout.h), against the local headers walked
// front to back by the test's own reader (testing::zip_data_offsets), and the mapped loads of
// the zip formats built on it.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "interop/zip.h"
#include "interop/zip_layout.h"
#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::TempDir;

std::string file_text(const std::filesystem::path& path) {
  const std::vector<char> bytes = testing::read_bytes(path);
  return {bytes.begin(), bytes.end()};
}

// member_data_offsets() of `text` (written at `path`), with libzip's entries.
std::optional<std::vector<uint64_t>> offsets_of(const std::filesystem::path& path,
                                                const std::string& text) {
  io::detail::ZipReader zip(path, "test");
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return io::detail::member_data_offsets({p, text.size()}, zip.entries());
}

// Every member located where the local headers put it.
void expect_located(const std::filesystem::path& path) {
  const std::string text = file_text(path);
  const auto found = offsets_of(path, text);
  ASSERT_TRUE(found.has_value()) << path;
  const auto want = testing::zip_data_offsets(text);
  ASSERT_EQ(found->size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ((*found)[i], want[i].second) << want[i].first;
}

// The bytes of an .npy file of arange(0, 6) as float32 (a 128-byte header, as wick writes it).
std::string npy_text() {
  const TempDir dir;
  io::save_npy(arange(0, 6, 1, kFloat32), dir / "a.npy");
  const std::string text = file_text(dir / "a.npy");
  EXPECT_EQ(text.size(), 128u + 24u);
  return text;
}

Dict some_arrays() {
  return Dict{{"a", arange(0, 6, 1, kFloat32).reshape({2, 3})},
              {"b", ones({5}, kInt8)},
              {"c", full({3}, 2.5, kFloat64)}};
}

TEST(ZipLayout, LocatesTheMembersOfEveryArchiveWickWrites) {
  const TempDir dir;
  io::save_pytorch(some_arrays(), dir / "m.pt");
  io::save_npz(some_arrays(), dir / "s.npz");
  io::save_npz(some_arrays(), dir / "d.npz", io::NpzCompression::Deflated);
  for (const char* name : {"m.pt", "s.npz", "d.npz"})
    expect_located(dir / name);
}

TEST(ZipLayout, LocatesMembersPastAnArchiveComment) {
  const TempDir dir;
  std::string zip = testing::make_zip({{"a.npy", "xyz", false}, {"b.npy", "0123", false}});
  // The end record's comment: its size, then the text (here holding a decoy signature).
  const std::string comment = "PK\x05\x06 not the end";
  zip[zip.size() - 2] = static_cast<char>(comment.size());
  zip += comment;
  testing::write_bytes(dir / "c.zip", {zip.begin(), zip.end()});
  expect_located(dir / "c.zip");
}

// Past 65535 members libzip writes the zip64 end records (APPNOTE 4.3.14, 4.3.15).
TEST(ZipLayout, LocatesMembersThroughTheZip64EndRecords) {
  const TempDir dir;
  Dict many;
  for (int i = 0; i < 65536 + 10; ++i) {
    std::string key("k");  // appended: GCC 12 warns falsely (-Wrestrict) about "k" + string
    key += std::to_string(i);
    many.insert(key, ones({1}, kUInt8));
  }
  SaveOptions fast;
  fast.durable = false;
  io::save_npz(many, dir / "many.npz", io::NpzCompression::Stored, fast);
  const std::string text = file_text(dir / "many.npz");
  ASSERT_NE(text.find("PK\x06\x06"), std::string::npos) << "no zip64 end record";
  expect_located(dir / "many.npz");
  const Value mapped = io::load_npz(dir / "many.npz", /*mmap=*/true);
  EXPECT_TRUE(mapped["k65540"].tensor().storage()->borrowed());
  EXPECT_EQ(mapped, io::load_npz(dir / "many.npz"));
}

// What the walk cannot vouch for, it does not locate: the caller then reads through libzip.
TEST(ZipLayout, FindsNothingWhereTheDirectoryDisagreesWithLibzip) {
  const TempDir dir;
  io::save_npz(some_arrays(), dir / "s.npz");
  const std::string text = file_text(dir / "s.npz");
  std::string wrong_name = text;
  const std::size_t central = wrong_name.rfind("PK\x01\x02");
  wrong_name[central + 46] ^= 0x20;  // the last member's name, as the directory spells it
  ASSERT_TRUE(offsets_of(dir / "s.npz", text).has_value());
  EXPECT_FALSE(offsets_of(dir / "s.npz", wrong_name).has_value());
  std::string trailing = text + "junk";
  EXPECT_FALSE(offsets_of(dir / "s.npz", trailing).has_value());
  EXPECT_FALSE(offsets_of(dir / "s.npz", text.substr(0, text.size() - 1)).has_value());
  EXPECT_FALSE(offsets_of(dir / "s.npz", "").has_value());
}

// --- mapped loads ---------------------------------------------------------------------------

TEST(ZipLayout, MappedPytorchLoadsViewStoredMembersAndCopyOnWrite) {
  const TempDir dir;
  Dict d = some_arrays();
  d.insert("view", d.at("a").tensor().transpose(0, 1));
  d.insert("n", 3);
  io::save_pytorch(d, dir / "m.pt");
  const Value read = io::load_pytorch(dir / "m.pt");
  const Value mapped = io::load_pytorch(dir / "m.pt", /*mmap=*/true);
  EXPECT_EQ(mapped, read);
  for (const char* k : {"a", "b", "c", "view"})
    EXPECT_TRUE(mapped[k].tensor().storage()->borrowed()) << k;
  EXPECT_EQ(mapped["a"].tensor().storage(), mapped["view"].tensor().storage());
  EXPECT_TRUE(
      load(dir / "m.pt", testing::read_options(true, true))["c"].tensor().storage()->borrowed());
  // A private mapping: a write stays in this process, the file keeps its bytes.
  Tensor a = mapped["a"].tensor();
  a.data<float>()[0] = 42.0f;
  EXPECT_EQ(io::load_pytorch(dir / "m.pt"), read);
}

TEST(ZipLayout, MappedLoadsReadDeflatedMembers) {
  const TempDir dir;
  io::save_npz(some_arrays(), dir / "d.npz", io::NpzCompression::Deflated);
  const Value v = io::load_npz(dir / "d.npz", /*mmap=*/true);
  EXPECT_EQ(v, Value(some_arrays()));
  EXPECT_FALSE(v["a"].tensor().storage()->borrowed());
}

TEST(ZipLayout, MappedNpzLoadsViewAlignedArraysAndReadMisalignedOnes) {
  const TempDir dir;
  io::save_npz(some_arrays(), dir / "s.npz");  // wick aligns members: every array maps
  const Value aligned = io::load_npz(dir / "s.npz", /*mmap=*/true);
  EXPECT_EQ(aligned, Value(some_arrays()));
  for (const char* k : {"a", "b", "c"})
    EXPECT_TRUE(aligned[k].tensor().storage()->borrowed()) << k;
  // numpy.savez does not align: a float32 array whose data lies one byte off is read.
  const std::string zip = testing::make_zip({{"a.npy", npy_text(), false}});
  testing::write_bytes(dir / "odd.npz", {zip.begin(), zip.end()});
  const uint64_t data = testing::zip_data_offsets(zip)[0].second + 128;  // past the npy header
  ASSERT_NE(data % 4, 0u) << "the test needs a misaligned array";
  const Value odd = io::load_npz(dir / "odd.npz", /*mmap=*/true);
  EXPECT_FALSE(odd["a"].tensor().storage()->borrowed());
  EXPECT_EQ(odd["a"], Value(arange(0, 6, 1, kFloat32)));
}

// A damaged stored member is refused by a mapped load with the read load's words.
TEST(ZipLayout, MappedLoadsCheckEveryMappedMembersCrc) {
  const TempDir dir;
  io::save_pytorch(some_arrays(), dir / "m.pt");
  io::save_npz(some_arrays(), dir / "s.npz");
  testing::damage_zip_member(dir / "m.pt", "archive/data/2");
  testing::damage_zip_member(dir / "s.npz", "c.npy", 128);  // past the npy header
  for (const bool mmap : {false, true}) {
    WICK_EXPECT_THROW_MSG(io::load_pytorch(dir / "m.pt", mmap), FormatError,
                          "zip member 'archive/data/2': CRC error");
    WICK_EXPECT_THROW_MSG(io::load_npz(dir / "s.npz", mmap), FormatError,
                          "zip member 'c.npy': CRC error");
  }
}

TEST(ZipLayout, ForEachNpzArrayGivesTheArraysOneByOneInArchiveOrder) {
  const TempDir dir;
  io::save_npz(some_arrays(), dir / "s.npz", io::NpzCompression::Deflated);
  Dict got;
  std::vector<std::string> order;
  std::vector<std::pair<uint64_t, uint64_t>> reports;
  io::for_each_npz_array(
      dir / "s.npz",
      [&](const std::string& key, Tensor t) {
        order.push_back(key);
        got.insert(key, t);
      },
      [&](uint64_t done, uint64_t total) { reports.emplace_back(done, total); });
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
  // After each array, the archive bytes of the members done, rising to all of them.
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_LT(reports[0].first, reports[1].first);
  EXPECT_EQ(reports[2].first, reports[2].second);
  EXPECT_EQ(Value(got), Value(some_arrays()));
  // Refusals come when the member at fault is reached, after the arrays before it.
  const std::string mixed =
      testing::make_zip({{"a.npy", npy_text(), false}, {"b.txt", npy_text(), true}});
  testing::write_bytes(dir / "mixed.npz", {mixed.begin(), mixed.end()});
  order.clear();
  WICK_EXPECT_THROW_MSG(
      io::for_each_npz_array(dir / "mixed.npz",
                             [&](const std::string& key, const Tensor&) { order.push_back(key); }),
      FormatError, "member 'b.txt': not an .npy array");
  EXPECT_EQ(order, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace wick
