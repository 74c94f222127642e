// wick::Error carries its data in fields; render() is the one place a message is worded.

#include <gtest/gtest.h>

#include "wick/core/error.h"

namespace wick {
namespace {

TEST(Error, AMessageOnlyErrorIsItsDetail) {
  const FormatError e("bad thing");
  EXPECT_STREQ(e.what(), "bad thing");
  EXPECT_EQ(e.info().detail, "bad thing");
  EXPECT_TRUE(e.info().subject.empty());
  EXPECT_FALSE(e.info().offset.has_value());
}

TEST(Error, FieldsRenderInOneOrder) {
  const ErrorInfo info{.subject = "wick file",
                       .file = "/d/x.wick",
                       .offset = 56,
                       .structure = "file header",
                       .expected = "0x1",
                       .found = "0x2",
                       .detail = "checksum mismatch"};
  EXPECT_EQ(render(info), "wick file /d/x.wick: file header at offset 56: checksum mismatch");
  EXPECT_EQ(render(info, false), "file header at offset 56: checksum mismatch");
  const FormatError e(info);
  EXPECT_EQ(e.what(), render(info));
  EXPECT_EQ(e.info().expected, "0x1");
  EXPECT_EQ(e.info().found, "0x2");
}

TEST(Error, MissingFieldsLeaveNoGaps) {
  EXPECT_EQ(render({.subject = "wick file", .detail = "d"}), "wick file: d");
  EXPECT_EQ(render({.subject = "wick file", .offset = 8, .detail = "d"}),
            "wick file at offset 8: d");
  EXPECT_EQ(render({.subject = "wick file", .file = "f", .offset = 8, .detail = "d"}),
            "wick file f at offset 8: d");
  EXPECT_EQ(render({.subject = "wick file", .structure = "trailer", .detail = "d"}),
            "wick file: trailer: d");
  EXPECT_EQ(render({.subject = "wick file", .file = "f", .offset = 8, .detail = "d"}, false),
            "at offset 8: d");
  EXPECT_EQ(render({.subject = "wick file", .file = "f", .detail = "d"}, false), "d");
  // Without a subject the fields are data only: the detail is the whole message.
  EXPECT_EQ(render({.file = "f", .offset = 3, .structure = "read", .detail = "load: failed"}),
            "load: failed");
}

TEST(Error, KindsAreCaughtAsError) {
  try {
    throw IoError(ErrorInfo{.file = "f", .offset = 4, .detail = "read failed"});
  } catch (const Error& e) {
    EXPECT_EQ(e.info().file, "f");
    EXPECT_EQ(e.info().offset, 4U);
    EXPECT_STREQ(e.what(), "read failed");
  }
}

}  // namespace
}  // namespace wick
