// `wick convert` streams tensor by tensor from every input format: the child's peak resident
// memory stays near its largest tensor, not the file's size, into every output format, and the
// copy is exact.

#include <gtest/gtest.h>

#include "page_release.h"
#include "testing.h"
#include "tools/cli_testing.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/io/interop/safetensors.h"

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

// The tool's own memory (code, libraries, the writer's buffers and hashing thread) on top of
// the one tensor a streaming convert holds. A short command such as `wick info` ends before its
// peak can be read, so the bound is absolute: the tool alone peaks near 7 MiB here.
constexpr long kToolKib = 32 * 1024;

// The tensors of a converted file in order, whatever their nesting ("model"/"layer7",
// "model.layer7" or "layer7").
void collect(const Value& v, std::vector<Tensor>& out) {
  if (v.is_tensor()) out.push_back(v.tensor());
  if (v.is_dict()) {
    for (const auto& [key, item] : v.dict())
      collect(item, out);
  }
}

// Converts `in` into each of `exts` and checks the peak stays near the largest tensor, not the
// file's 64 MiB, and the copy is exact. `first_pass` is the label of the bar drawn before the
// writer's, if any: a wick input's "verifying", an .npz's "unpacking".
void expect_streamed(const TempDir& dir, const std::string& in,
                     std::initializer_list<const char*> exts, std::vector<std::string> env = {},
                     std::string first_pass = "") {
  const bool wick_in = in.ends_with(".wick");
  if (wick_in) first_pass = "verifying";
  for (const std::string ext : exts) {
    SCOPED_TRACE(in + " -> " + ext);
    const std::string out = (dir / ("out" + ext)).string();
    std::vector<std::string> args{"convert", "--progress", "always", in, out};
    if (wick_in) args.insert(args.end(), {"--only", "/model"});  // safetensors holds no epoch
    const CliRun r = run_wick(args, kCliTimeout, "/dev/null", env);
    ASSERT_EQ(r.code, 0) << r.err;
    // A sanitizer build's shadow memory and allocator quarantine inflate resident memory
    // beyond any such bound: there the conversion is checked, not its peak.
    if (!kSanitized) {
      EXPECT_LT(r.peak_kib, kLargestKib + kToolKib);
    }
    EXPECT_GT(r.peak_kib, kLargestKib) << "the peak was not seen";
    // The progress bars: the first pass's, and every writer's.
    if (!first_pass.empty()) {
      EXPECT_NE(r.err.find(first_pass), std::string::npos) << r.err;
    }
    EXPECT_NE(r.err.find("writing"), std::string::npos) << r.err;
    ::testing::Test::RecordProperty("peak_kib" + ext, std::to_string(r.peak_kib));
    std::vector<Tensor> tensors;
    collect(load(out), tensors);
    ASSERT_EQ(tensors.size(), std::size_t(kTensors));
    EXPECT_TRUE(bitwise_equal(tensors.back(), full({kElements}, 7.0)));
    if (ext != ".pt") std::filesystem::remove(out);
  }
}

TEST(ConvertStreaming, PeakMemoryIsNearTheLargestTensorNotTheFile) {
  TempDir dir;
  const std::string in = (dir / "big.wick").string();
  save(big_value(), in);
  ASSERT_GE(std::filesystem::file_size(in), uint64_t(kTensors * kElements * 4));
  expect_streamed(dir, in, {".wick", ".safetensors", ".pt"});
  // `diff` reads every tensor of both files through mappings it keeps: the same measure sees
  // both whole, so the bound above is one the measure can break.
  const CliRun whole = run_wick({"diff", in, (dir / "out.pt").string()});
  EXPECT_EQ(whole.code, 1) << whole.err;  // out.pt holds the model, not the epoch
  EXPECT_GT(whole.peak_kib, kTensors * kLargestKib);
}

// torch.save's stored members are aligned: a PyTorch input is mapped and streams too.
TEST(ConvertStreaming, APytorchInputStreamsToo) {
  TempDir dir;
  const std::string in = (dir / "big.pt").string();
  io::save_pytorch(big_value()["model"], in);
  expect_streamed(dir, in, {".wick", ".safetensors"});
}

// An .npz is unpacked array by array into a scratch file, which then streams: stored or
// compressed, memory stays near one array, and the scratch directory goes with the command.
TEST(ConvertStreaming, NpzInputsStreamThroughAScratchCopy) {
  TempDir dir;
  const TempDir tmp;
  for (const auto compression : {io::NpzCompression::Stored, io::NpzCompression::Deflated}) {
    const std::string in = (dir / "big.npz").string();
    io::save_npz(big_value()["model"], in, compression);
    expect_streamed(dir, in, {".wick", ".pt"}, {"TMPDIR=" + tmp.path().string()}, "unpacking");
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << "the scratch copy was left";
  }
  // Without a usable temporary directory the command says so and writes nothing.
  const std::string out = (dir / "none.wick").string();
  const CliRun r = run_wick({"convert", (dir / "big.npz").string(), out}, kCliTimeout, "/dev/null",
                            {"TMPDIR=" + (tmp.path() / "missing").string()});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot unpack"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// safetensors files are mapped too: a foreign input streams as a wick one does.
TEST(ConvertStreaming, ASafetensorsInputStreamsToo) {
  TempDir dir;
  const std::string in = (dir / "big.safetensors").string();
  io::save_safetensors(big_value()["model"], in);
  expect_streamed(dir, in, {".wick", ".pt"});
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

// While pages are released they are read-only: a write, which MADV_DONTNEED would silently
// drop, faults instead. Afterwards the mapping is writable again (private: the file keeps its
// bytes).
TEST(ConvertStreaming, ReleasedPagesAreReadOnlyWhileReleased) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  TempDir dir;
  const std::string file = (dir / "in.wick").string();
  const Tensor values = full({int64_t{1} << 20}, 7.0);
  save(Dict{{"t", values}}, file);
  LoadOptions mapped;
  mapped.mmap = true;
  const Value root = io::Reader(file, mapped).value();
  EXPECT_DEATH(
      {
        const cli::PageRelease release(root, file);
        Tensor t = root["t"].tensor();
        t.fill_(0.0);
      },
      "");
  { const cli::PageRelease release(root, file); }
  Tensor t = root["t"].tensor();
  t.fill_(1.0);
  EXPECT_TRUE(bitwise_equal(t, full({int64_t{1} << 20}, 1.0)));
  EXPECT_TRUE(bitwise_equal(load(file)["t"].tensor(), values));
}

}  // namespace
}  // namespace wick::testing
