// The native decoder's FormatErrors carry file, offset, structure, expected and found as fields
// (wick::ErrorInfo), so programs and tests read the data instead of parsing messages.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "io_testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

// The FormatError `fn` throws; a test failure when it throws nothing or something else.
ErrorInfo format_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const FormatError& e) {
    return e.info();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected FormatError, nothing thrown";
  return {};
}

struct SavedFile {
  TempDir dir;
  std::filesystem::path path = dir / "f.wick";
  std::vector<char> bytes;
  SavedFile() {
    save(Value(Dict{{"w", arange(0, 16, 1, kFloat32)}, {"b", full({8}, 1.0, kBool)}}), path);
    bytes = read_bytes(path);
  }
  void set(std::size_t at, char v) {
    std::vector<char> b = bytes;
    b.at(at) = v;
    write_bytes(path, b);
  }
};

TEST(ErrorFields, HeaderChecksumNamesFileOffsetAndBothSums) {
  SavedFile f;
  f.set(30, 'X');  // inside the producer string, covered by the header checksum
  for (const bool mmap : {false, true}) {
    LoadOptions options;
    options.mmap = mmap;
    const ErrorInfo i = format_error_of([&] { load(f.path, options); });
    EXPECT_EQ(i.subject, "wick file");
    EXPECT_EQ(i.file, f.path.string());
    EXPECT_EQ(i.offset, 0U);
    EXPECT_EQ(i.structure, "file header");
    EXPECT_EQ(i.expected.size(), 18U) << i.expected;  // 0x + 16 hex digits, as stored
    EXPECT_EQ(i.found.size(), 18U) << i.found;
    EXPECT_NE(i.expected, i.found);
  }
}

TEST(ErrorFields, BadMagicSaysWhatWasFound) {
  SavedFile f;
  f.set(1, 'V');
  const ErrorInfo i = format_error_of([&] { io::Reader r(f.path); });
  EXPECT_EQ(i.offset, 0U);
  EXPECT_EQ(i.expected, "89 57 49 43 4b 0d 0a 1a");
  EXPECT_EQ(i.found, "89 56 49 43 4b 0d 0a 1a");
}

TEST(ErrorFields, AStreamLoadHasNoFileButKeepsTheOffset) {
  SavedFile f;
  std::vector<char> b = f.bytes;
  b.resize(b.size() - 10);
  std::istringstream in(std::string(b.begin(), b.end()));
  const ErrorInfo i = format_error_of([&] { load(in); });
  EXPECT_TRUE(i.file.empty());
  ASSERT_TRUE(i.offset.has_value());
  EXPECT_LE(*i.offset, b.size());
  EXPECT_FALSE(i.structure.empty());
}

TEST(ErrorFields, ABadBoolByteIsFoundAtItsOffset) {
  SavedFile f;
  // The payload of the bool tensor: the 8 bytes that are 0x01 after a 64-byte-aligned header.
  std::size_t at = 0;
  for (std::size_t k = 64; k + 8 <= f.bytes.size(); k += 64) {
    if (std::string(f.bytes.data() + k, 8) == std::string(8, '\x01')) {
      at = k + 3;
      break;
    }
  }
  ASSERT_NE(at, 0U);
  f.set(at, '\x07');
  // Unverified, so the checksum does not catch it first: the bool check still does.
  LoadOptions unverified;
  unverified.verify = false;
  const ErrorInfo i = format_error_of([&] { load(f.path, unverified); });
  EXPECT_EQ(i.offset, at);
  EXPECT_EQ(i.expected, "0 or 1");
  EXPECT_EQ(i.found, "7");
  // A stream load meets the payload before the index, so the tensor is named by its id.
  EXPECT_EQ(i.structure.rfind("bool tensor ", 0), 0U) << i.structure;
}

TEST(ErrorFields, APayloadChecksumNamesTheTensorAndItsRecord) {
  SavedFile f;
  const io::Reader clean(f.path);
  uint64_t record = 0;
  for (const io::EntryInfo& e : clean.entries()) {
    if (e.path.str() == "/w") record = e.offset;
  }
  ASSERT_GT(record, 0U);
  f.set(static_cast<std::size_t>(record) + 64 + 5, '\x55');  // a payload byte of /w
  const ErrorInfo i = format_error_of([&] { io::Reader(f.path).tensor("/w"); });
  EXPECT_EQ(i.file, f.path.string());
  EXPECT_EQ(i.offset, record);
  EXPECT_NE(i.structure.find("'/w'"), std::string::npos) << i.structure;
  EXPECT_NE(i.expected, i.found);
}

// IoErrors keep their message and carry the file, the failed operation and the system's reason.
TEST(ErrorFields, AnIoErrorCarriesTheFileTheOperationAndTheReason) {
  TempDir dir;
  const std::filesystem::path missing = dir / "nope.wick";
  try {
    load(missing);
    ADD_FAILURE() << "loaded a missing file";
  } catch (const IoError& e) {
    EXPECT_EQ(e.info().file, missing.string());
    EXPECT_EQ(e.info().structure, "open");
    EXPECT_EQ(e.info().found, std::strerror(ENOENT));
    EXPECT_NE(std::string(e.what()).find("load: cannot open"), std::string::npos) << e.what();
  }
  const std::filesystem::path nowhere = dir / "no-such-dir" / "x.wick";
  try {
    save(Value(Dict{{"w", ones({2})}}), nowhere);
    ADD_FAILURE() << "saved into a missing directory";
  } catch (const IoError& e) {
    EXPECT_EQ(e.info().file, nowhere.string());
    EXPECT_EQ(e.info().structure, "create temporary file");
    EXPECT_EQ(e.info().found, std::strerror(ENOENT));
  }
}

}  // namespace
}  // namespace wick
