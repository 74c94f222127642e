// `wick convert` of a wick file streams tensor by tensor: the child's peak resident memory stays
// near its largest tensor, not the file's size, into every output format, and the copy is exact.

#include <gtest/gtest.h>

#include "page_release.h"
#include "tools/cli_testing.h"

namespace wick::testing {
namespace {

constexpr int64_t kTensors = 8;
constexpr int64_t kElements = int64_t{2} << 20;  // 8 MiB of float32 each: a 64 MiB file
constexpr long kLargestKib = kElements * 4 / 1024;

Value big_value() {
  Dict model;
  for (int64_t i = 0; i < kTensors; ++i)
    model.insert("layer" + std::to_string(i), full({kElements}, static_cast<double>(i)));
  return Dict{{"model", Value(std::move(model))}, {"epoch", 5}};
}

TEST(ConvertStreaming, PeakMemoryIsNearTheLargestTensorNotTheFile) {
  TempDir dir;
  const std::string in = (dir / "big.wick").string();
  save(big_value(), in);
  ASSERT_GE(std::filesystem::file_size(in), uint64_t(kTensors * kElements * 4));
  // What the tool costs reading the file's index alone, so the bound is on what converting adds.
  const CliRun idle = run_wick({"info", in});
  ASSERT_EQ(idle.code, 0);
  for (const std::string ext : {".wick", ".safetensors", ".pt"}) {
    const std::string out = (dir / ("out" + ext)).string();
    // safetensors holds tensors only: the epoch is left out.
    const CliRun r = run_wick({"convert", "--progress", "always", in, out, "--only", "/model"});
    ASSERT_EQ(r.code, 0) << r.err;
    const long added = r.peak_kib - idle.peak_kib;
    // The whole file is 64 MiB; streaming holds about one 8 MiB tensor and fixed buffers.
    EXPECT_LT(added, kLargestKib + 24 * 1024) << ext << ": peak " << r.peak_kib << " KiB";
    EXPECT_GT(r.peak_kib, kLargestKib) << "the peak was not seen";
    // The progress bars: the verifying pass, and the wick writer's own (the foreign writers
    // report no progress).
    EXPECT_NE(r.err.find("verifying"), std::string::npos) << r.err;
    if (ext == ".wick") {
      EXPECT_NE(r.err.find("writing"), std::string::npos) << r.err;
    }
    RecordProperty("peak_kib" + ext, std::to_string(r.peak_kib));
    const Value back = load(out);
    const Value& layers = ext == ".safetensors" ? back : back["model"];
    EXPECT_EQ(layers.size(), std::size_t(kTensors));
    std::filesystem::remove(out);
  }
}

TEST(ConvertStreaming, ACorruptTensorIsNotCopiedUnderFreshChecksums) {
  TempDir dir;
  const std::string in = (dir / "in.wick").string();
  save_sample(in);
  flip_byte(in, payload_offset(in, "/model/hidden/weight"));
  const std::string out = (dir / "out.wick").string();
  const CliRun r = run_wick({"convert", in, out});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(ConvertStreaming, SharedStoragesMetadataAndScalarsSurvive) {
  TempDir dir;
  const std::string in = (dir / "in.wick").string();
  const Tensor numbers = arange(0, 20, 1, kFloat32);
  const Value v = Dict{{"numbers", numbers}, {"evens", numbers.slice(0, 0, 20, 2)}, {"n", 3}};
  SaveOptions options;
  options.metadata = Dict{{"note", "kept"}};
  save(v, in, options);
  const std::string out = (dir / "out.wick").string();
  ASSERT_EQ(run_wick({"convert", in, out}).code, 0);
  Value back = load(out);
  EXPECT_EQ(back, v);
  EXPECT_EQ(io::Reader(out).metadata(), (Dict{{"note", "kept"}}));
  EXPECT_EQ(io::Reader(out).info().tensor_count, 1u);  // one record and a view, as in the input
}

// Dropping pages is harmless only for a file mapping: tensors in anonymous memory, which
// MADV_DONTNEED would zero, must be left alone, and mapped ones read back the same.
TEST(ConvertStreaming, PageReleaseTouchesOnlyTheFilesMapping) {
  TempDir dir;
  const std::string file = (dir / "in.wick").string();
  const Tensor owned = full({int64_t{1} << 20}, 7.0);  // 4 MiB: whole pages of its own
  save(Dict{{"t", owned}}, file);
  LoadOptions mapped;
  mapped.mmap = true;
  const Value from_file = io::Reader(file, mapped).value();
  const Value root = Dict{{"owned", owned}, {"mapped", from_file["t"]}};
  {
    const cli::PageRelease release(root, file);
    release.release();
  }
  EXPECT_TRUE(bitwise_equal(owned, full({int64_t{1} << 20}, 7.0)));
  EXPECT_TRUE(bitwise_equal(root["mapped"].tensor(), owned));
  // Another file's name: nothing of this one is released, and nothing breaks.
  const cli::PageRelease other(root, dir / "missing");
  other.release();
  EXPECT_TRUE(bitwise_equal(owned, full({int64_t{1} << 20}, 7.0)));
}

}  // namespace
}  // namespace wick::testing
