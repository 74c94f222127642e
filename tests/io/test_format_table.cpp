// The format table (io/src/formats.cpp): every row complete, its names and extensions its own,
// and every format it lists saved, told apart by content and loaded back through it.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "formats.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/formats.h"
#include "wick/wick.h"

namespace wick {
namespace {

using io::FileFormat;
using io::detail::FormatRow;
using io::detail::Match;
using testing::TempDir;

std::string row_label(const FormatRow& row) {
  return "row " + std::to_string(static_cast<int>(row.info.id)) + " '" +
         std::string(row.info.name) + "'";
}

// What each format saves in the round trip: a small dict of tensors, or a lone tensor for the
// formats that hold one.
Value sample_for(FileFormat format) {
  const Tensor weight = arange(0, 6, 1, kFloat32).view({2, 3});
  if (format == FileFormat::Npy) return weight;
  return Dict{{"weight", weight}, {"ids", arange(4)}};
}

// Whether every row's functions can be called: the tests that call them stop first when not,
// instead of crashing (EveryRowIsComplete names the row).
bool every_function_is_set() {
  return std::ranges::all_of(io::detail::format_rows(), [](const FormatRow& row) {
    return row.sniff != nullptr && row.load != nullptr && row.save != nullptr;
  });
}

TEST(FormatTable, EveryRowIsComplete) {
  const auto rows = io::detail::format_rows();
  ASSERT_EQ(rows.size(), io::kFormatCount);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const FormatRow& row = rows[i];
    SCOPED_TRACE(row_label(row));
    EXPECT_EQ(row.info.id, static_cast<FileFormat>(i)) << "rows are in FileFormat order";
    EXPECT_FALSE(row.info.name.empty()) << "name";
    EXPECT_FALSE(row.info.description.empty()) << "description";
    EXPECT_FALSE(row.info.checks.empty()) << "checks";
    EXPECT_FALSE(row.content.empty()) << "content";
    EXPECT_FALSE(row.info.extensions.empty()) << "extensions";
    for (std::string_view ext : row.info.extensions) {
      EXPECT_TRUE(ext.size() > 1 && ext.front() == '.') << "extension '" << ext << "'";
    }
    EXPECT_NE(row.sniff, nullptr) << "sniff";
    EXPECT_NE(row.load, nullptr) << "load";
    EXPECT_NE(row.save, nullptr) << "save";
  }
}

TEST(FormatTable, PublicListShowsEveryRow) {
  const auto rows = io::detail::format_rows();
  const auto infos = io::formats();
  ASSERT_EQ(infos.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(row_label(rows[i]));
    EXPECT_EQ(infos[i].id, rows[i].info.id);
    EXPECT_EQ(infos[i].name, rows[i].info.name);
    EXPECT_EQ(infos[i].description, rows[i].info.description);
    EXPECT_EQ(infos[i].checks, rows[i].info.checks);
    EXPECT_TRUE(std::ranges::equal(infos[i].extensions, rows[i].info.extensions));
  }
}

TEST(FormatTable, NamesAndExtensionsAreUniqueAndMapBackToTheirRow) {
  std::set<std::string_view> names;
  std::set<std::string_view> extensions;
  for (const FormatRow& row : io::detail::format_rows()) {
    SCOPED_TRACE(row_label(row));
    EXPECT_TRUE(names.insert(row.info.name).second) << "name used twice";
    EXPECT_EQ(io::format_name(row.info.id), row.info.name);
    EXPECT_EQ(io::format_from_name(io::format_name(row.info.id)), row.info.id);
    for (std::string_view ext : row.info.extensions) {
      EXPECT_TRUE(extensions.insert(ext).second) << "extension '" << ext << "' used twice";
      EXPECT_EQ(io::format_from_extension("some/dir/model" + std::string(ext)), row.info.id) << ext;
    }
  }
}

TEST(FormatTable, EveryRowRoundTripsThroughSaveAsDetectFormatAndLoad) {
  ASSERT_TRUE(every_function_is_set());
  const TempDir dir;
  for (const FormatRow& row : io::detail::format_rows()) {
    SCOPED_TRACE(row_label(row));
    const FileFormat id = row.info.id;
    const Value value = sample_for(id);
    // Named ".bin": only the content tells the format.
    const auto path = dir / (std::string(row.info.name) + ".bin");
    ASSERT_NO_THROW(io::save_as(value, path, id));
    ASSERT_EQ(io::detect_format(path), id);
    EXPECT_EQ(load(path), value);
    for (const bool mmap : {false, true}) {
      EXPECT_EQ(row.load(path, nullptr, mmap), value) << "mmap " << mmap;
      Dict metadata;
      EXPECT_EQ(row.load(path, &metadata, mmap), value) << "mmap " << mmap;
    }
  }
}

// Each row's sniff claims its own files, and no other row is sure of them: sniffs are asked in
// table order, so a row that claims too much would take other formats' files.
TEST(FormatTable, EachRowSniffsItsOwnFilesOnly) {
  ASSERT_TRUE(every_function_is_set());
  const TempDir dir;
  const auto rows = io::detail::format_rows();
  for (const FormatRow& saved : rows) {
    SCOPED_TRACE("file saved as " + row_label(saved));
    const auto path = dir / (std::string(saved.info.name) + ".bin");
    io::save_as(sample_for(saved.info.id), path, saved.info.id);
    const std::vector<char> bytes = testing::read_bytes(path);
    const std::string head(bytes.begin(), bytes.begin() + std::min<std::size_t>(bytes.size(), 16));
    const io::detail::Probe probe(head, path);
    for (const FormatRow& row : rows) {
      SCOPED_TRACE("sniffed by " + row_label(row));
      const Match m = row.sniff(probe);
      if (row.info.id == saved.info.id) {
        EXPECT_NE(m, Match::kNo);
      } else {
        EXPECT_NE(m, Match::kSure);
      }
    }
    EXPECT_EQ(io::detail::sniff_head(head, path), saved.info.id);
  }
}

// safetensors' sign ('{' at byte 8) is only a guess: a file with a format's magic is that format
// whatever its byte 8 is, though the safetensors row comes before npy's.
TEST(FormatTable, AMagicBeatsAGuess) {
  ASSERT_TRUE(every_function_is_set());
  using namespace std::string_literals;
  const std::filesystem::path unused = "never-opened";
  EXPECT_EQ(io::detail::sniff_head("\x93NUMPY\x01\x00{\x00{'descr'"s, unused), FileFormat::Npy);
  EXPECT_EQ(io::detail::sniff_head("\x89WICK\r\n\x1a{\x00\x00\x00"s, unused), FileFormat::Wick);
  EXPECT_EQ(io::detail::sniff_head("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\""s, unused),
            FileFormat::Safetensors);
  EXPECT_EQ(io::detail::sniff_head("hello", unused), std::nullopt);
}

TEST(FormatTable, MessagesListTheFormatsOfTheTable) {
  ASSERT_TRUE(every_function_is_set());
  const TempDir dir;
  testing::write_bytes(dir / "text", {'h', 'e', 'l', 'l', 'o'});
  WICK_EXPECT_THROW_MSG(io::detect_format(dir / "text"), FormatError,
                        "; wick reads wick, PyTorch (torch.save zip), safetensors, .npy and .npz "
                        "files");
  save(arange(3), dir / "a.wick");
  WICK_EXPECT_THROW_MSG(io::convert(dir / "a.wick", dir / "b.bin"), ArgumentError,
                        "; name one of wick, pytorch, safetensors, npy, npz (or use the extension "
                        ".wick, .pt, .pth, .safetensors, .npy or .npz)");
}

}  // namespace
}  // namespace wick
