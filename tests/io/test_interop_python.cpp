// Both ways against real PyTorch and NumPy (Debian's python3-torch and python3-numpy): Python
// writes files and wick must read them bit for bit, wick writes files and Python must read them
// bit for bit. The scripts live in tests/interop/. Without Python these tests skip, unless
// WICK_REQUIRE_PEERS=1 (as in CI) makes that a failure.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/formats.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/io/interop/safetensors.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::describe;
using testing::read_lines;
using testing::run_script;
using testing::TempDir;

// Expects wick::load(dir/name), read and mapped, to give exactly what Python described in
// name.manifest, and the file to be detected as `format`.
void expect_matches_manifest(const std::filesystem::path& dir, const std::string& name,
                             io::FileFormat format) {
  SCOPED_TRACE(name);
  const auto path = dir / name;
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(io::detect_format(path), format);
  const std::vector<std::string> want = read_lines(path.string() + ".manifest");
  const std::vector<std::string> got = describe(load(path));
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "line " << i;
  EXPECT_EQ(describe(load(path, testing::read_options(true, true))), want) << "mapped";
}

TEST(InteropPython, PyTorchFilesLoadBitExact) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"torch", dir.path().string()}));
  for (const char* name : {"torch_dtypes.pt", "torch_views.pt", "torch_nested.pt",
                           "torch_parameter.pt", "torch_proto4.pt", "torch_checkpoint.pt"}) {
    expect_matches_manifest(dir.path(), name, io::FileFormat::PyTorch);
  }

  // Views keep sharing their storage, with PyTorch's offsets and strides.
  const Value v = load(dir / "torch_views.pt");
  const Tensor& base = v["base"].tensor();
  struct View {
    const char* key;
    Shape strides;
    int64_t offset;
  };
  for (const View& w :
       {View{"t", {1, 4}, 0}, View{"row", {1}, 4}, View{"col", {4}, 2}, View{"strided", {4, 2}, 4},
        View{"flat", {1}, 3}, View{"expanded", {0, 1}, 0}}) {
    SCOPED_TRACE(w.key);
    const Tensor& t = v[w.key].tensor();
    EXPECT_TRUE(t.shares_storage(base));
    EXPECT_EQ(t.strides(), w.strides);
    EXPECT_EQ(t.offset(), w.offset);
  }
  EXPECT_EQ(v["tail"].tensor().offset(), 7);
  // torch.save aligns its stored members to 64 bytes: a mapped load views them in the file.
  EXPECT_TRUE(io::load_pytorch(dir / "torch_views.pt", /*mmap=*/true)["base"]
                  .tensor()
                  .storage()
                  ->borrowed());
  EXPECT_EQ(v["tail"].tensor().storage()->nbytes(), 10u * 8u);
  EXPECT_TRUE(v["tied_a"].tensor().is_same(v["tied_b"].tensor()));
  // A state dict inside a checkpoint loads straight into modules.
  EXPECT_EQ(load(dir / "torch_nested.pt")["model"].to_tensor_dict().size(), 4u);

  WICK_EXPECT_THROW_MSG(load(dir / "torch_legacy.pt"), FormatError, "legacy PyTorch file");
}

TEST(InteropPython, NumPyFilesLoadBitExact) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"numpy", dir.path().string()}));
  for (const char* name :
       {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
        "scalar", "empty", "fortran", "fortran3d", "big_endian", "big_endian_f8"}) {
    expect_matches_manifest(dir.path(), std::string("np_") + name + ".npy", io::FileFormat::Npy);
  }
  for (const char* name : {"np_stored.npz", "np_deflated.npz", "np_empty.npz"}) {
    expect_matches_manifest(dir.path(), name, io::FileFormat::Npz);
  }
  // Fortran order is a column-major view, not a copy.
  const Tensor f = io::load_npy(dir / "np_fortran.npy");
  EXPECT_EQ(f.strides(), (Shape{1, 3}));
  WICK_EXPECT_THROW_MSG(load(dir / "np_object.npy"), FormatError,
                        "is an object array, which needs pickle");
}

TEST(InteropPython, SafetensorsWrittenPerTheSpecLoadBitExact) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"safetensors", dir.path().string()}));
  expect_matches_manifest(dir.path(), "spec.safetensors", io::FileFormat::Safetensors);
  expect_matches_manifest(dir.path(), "empty.safetensors", io::FileFormat::Safetensors);
  Dict metadata;
  io::load_safetensors(dir / "spec.safetensors", &metadata);
  std::vector<std::string> lines;
  for (const auto& [k, v] : metadata)
    lines.push_back(k.str() + "\t" + v.as_string());
  EXPECT_EQ(lines, read_lines(dir / "spec.safetensors.metadata"));
}

using MLP = testing::TutorialMlp;  // the tutorial's MLP, in wick

TEST(InteropPython, TheTutorialMlpTrainedInPyTorchRunsInWick) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"mlp", dir.path().string()}));
  MLP net;
  net.load_state_dict(load(dir / "mlp.pt"));
  const Value io_pair = load(dir / "mlp_io.pt");
  const Tensor y = net.forward(io_pair["x"].tensor());
  const std::vector<double> ours = testing::values(y);
  const std::vector<double> theirs = testing::values(io_pair["y"].tensor());
  ASSERT_EQ(ours.size(), theirs.size());
  ASSERT_EQ(y.shape(), (Shape{16, 10}));
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_NEAR(ours[i], theirs[i], 1e-5 + 1e-5 * std::abs(theirs[i])) << "element " << i;
    worst = std::max(worst, std::abs(ours[i] - theirs[i]));
  }
  // Same weights, same input: only the order of float additions differs.
  EXPECT_LT(worst, 1e-5);
}

TEST(InteropPython, MaliciousPicklesAreRefusedAndNeverRun) {
  TempDir dir;
  // The script proves each payload runs under Python's pickle and that torch refuses it.
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"malicious", dir.path().string()}));
  const auto marker = dir / "PWNED";
  ASSERT_FALSE(std::filesystem::exists(marker));
  WICK_EXPECT_THROW_MSG(load(dir / "evil_system.pt"), FormatError,
                        "unsupported global 'posix.system'");
  WICK_EXPECT_THROW_MSG(load(dir / "evil_eval.pt"), FormatError,
                        "unsupported global '__builtin__.eval'");  // pickle protocol 2's name
  WICK_EXPECT_THROW_MSG(load(dir / "evil_nested.pt"), FormatError,
                        "unsupported global 'posix.system'");
  WICK_EXPECT_THROW_MSG(load(dir / "evil_class.pt"), FormatError,
                        "unsupported global 'collections.Counter'");
  for (const char* name : {"evil_system.pt", "evil_eval.pt", "evil_nested.pt"}) {
    WICK_EXPECT_THROW_MSG(io::load_pytorch(dir / name), FormatError, "nothing was executed");
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// --- wick writes, Python reads ---------------------------------------------------------------

class Outputs {
 public:
  explicit Outputs(const std::filesystem::path& dir) : dir_(dir) {}
  // Records `name` for check_outputs.py, with the manifest of what wick wrote.
  void add(const std::string& name, const std::string& how, const Value& expected,
           const std::string& checks = "") {
    testing::write_manifest(dir_ / name, expected);
    if (!checks.empty()) testing::write_text(dir_ / (name + ".checks"), checks);
    list_ += name + "\t" + how + "\n";
  }
  void add_raw(const std::string& name, const std::string& how) {
    list_ += name + "\t" + how + "\n";
  }
  void finish() const { testing::write_text(dir_ / "outputs.txt", list_); }

 private:
  std::filesystem::path dir_;
  std::string list_;
};

Dict every_dtype(uint32_t seed, bool with_bfloat16) {
  Dict d;
  for (int code = 0; code < kNumDTypes; ++code) {
    const DType dt = *dtype_from_code(static_cast<uint8_t>(code));
    if (dt == kBFloat16 && !with_bfloat16) continue;
    d.insert(std::string(dtype_name(dt)),
             testing::random_values({2, 3, 4}, dt, seed + static_cast<uint32_t>(code), -100, 100));
  }
  d.insert("scalar", full({}, -0.0));
  d.insert("empty", zeros({0, 5}, kInt32));
  d.insert("special", from_vector(std::vector<double>{INFINITY, -INFINITY, NAN, 5e-324}));
  return d;
}

// The tutorial's checkpoint as torch.save writes it crosses to .wick (format 2.0: optimizer
// state keyed by parameter index, tuples) and back to a .pt PyTorch reads as it wrote it.
TEST(InteropPython, ATorchCheckpointCrossesToWickAndBack) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"torch", dir.path().string()}));
  const Value from_torch = load(dir / "torch_checkpoint.pt");
  const Value& adam = from_torch["optimizer_state_dict"];
  EXPECT_TRUE(adam["state"].at(0)["exp_avg"].is_tensor());
  EXPECT_EQ(adam["param_groups"][0]["betas"], Value(Tuple{0.9, 0.999}));
  EXPECT_TRUE(adam["param_groups"][0]["foreach"].is_none());
  EXPECT_EQ(adam["param_groups"][0]["params"], Value(List{0, 1}));
  save(from_torch, dir / "checkpoint.wick");
  EXPECT_EQ(io::Reader(dir / "checkpoint.wick").info().major, 2);
  const Value from_wick = load(dir / "checkpoint.wick");
  EXPECT_EQ(from_wick, from_torch);
  io::save_pytorch(from_wick, dir / "back.pt");
  Outputs out(dir.path());
  out.add("back.pt", "pt-floats", from_torch);
  out.finish();
  const auto r = run_script("check_outputs.py", {dir.path().string()});
  WICK_EXPECT_SCRIPT_OK(r);
  EXPECT_NE(r.output.find("OK "), std::string::npos) << r.output;
}

// A .pt of a base and views of it crosses to .wick (format 2.1) and back to a .pt in which real
// PyTorch sees the views sharing the base's storage with PyTorch's strides, as `wick convert`
// does it. Only the expanded view comes back as a copy: a .wick view reaches no element twice.
TEST(InteropPython, ViewsKeepSharingThroughWickAndBackToPyTorch) {
  TempDir dir;
  WICK_EXPECT_SCRIPT_OK(run_script("make_fixtures.py", {"torch", dir.path().string()}));
  io::convert(dir / "torch_views.pt", dir / "views.wick");
  const io::Reader reader(dir / "views.wick");
  EXPECT_EQ(reader.info().major, 2);
  EXPECT_EQ(reader.info().minor, 1);
  EXPECT_EQ(reader.info().view_count, 5u);  // t, row, col, strided, flat
  const Value from_torch = load(dir / "torch_views.pt");
  const Value from_wick = load(dir / "views.wick");
  EXPECT_EQ(from_wick, from_torch);
  for (const char* k : {"t", "row", "col", "strided", "flat"}) {
    EXPECT_TRUE(from_wick[k].tensor().shares_storage(from_wick["base"].tensor())) << k;
    EXPECT_EQ(from_wick[k].tensor().strides(), from_torch[k].tensor().strides()) << k;
  }
  EXPECT_FALSE(from_wick["expanded"].tensor().shares_storage(from_wick["base"].tensor()));
  io::convert(dir / "views.wick", dir / "back.pt");
  Outputs out(dir.path());
  out.add("back.pt", "pt", from_torch,
          "shares\t/base\t/t\nshares\t/base\t/row\nshares\t/base\t/col\n"
          "shares\t/base\t/strided\nshares\t/base\t/flat\nshares\t/tied_a\t/tied_b\n"
          "strides\t/t\t1,4\nstrides\t/col\t4\nstrides\t/strided\t4,2\n");
  out.finish();
  const auto r = run_script("check_outputs.py", {dir.path().string()});
  WICK_EXPECT_SCRIPT_OK(r);
  EXPECT_NE(r.output.find("OK "), std::string::npos) << r.output;
}

TEST(InteropPython, FilesWickWritesLoadInPyTorchAndNumPyBitExact) {
  TempDir dir;
  Outputs out(dir.path());

  // A checkpoint: every dtype, views sharing storage, tied weights, nested containers.
  const Tensor base = arange(24).to(kFloat32).reshape({4, 6});
  const Tensor tied = randn({3, 3});
  const Value checkpoint = Dict{
      {"dtypes", every_dtype(1, true)},
      {"views", Dict{{"base", base},
                     {"t", base.t()},
                     {"strided", base.slice(0, 1, 4, 2).slice(1, 1, 6, 2)},
                     {"expanded", base.slice(0, 2, 3).expand({3, 6})}}},
      {"tied", List{tied, tied}},
      {"meta", Dict{{"epoch", 12},
                    {"name", "run \xc3\xa9"},
                    {"done", true},
                    {"none", nullptr},
                    {"big", int64_t{1} << 50},
                    {"neg", -70000}}},
      {"empty", List{}},
  };
  io::save_pytorch(checkpoint, dir / "checkpoint.pt");
  out.add("checkpoint.pt", "pt", checkpoint,
          "shares\t/views/base\t/views/t\n"
          "shares\t/views/base\t/views/strided\n"
          "strides\t/views/t\t1,6\n"
          "strides\t/views/strided\t12,2\n"
          "strides\t/views/expanded\t0,1\n"
          "shares\t/tied/0\t/tied/1\n");
  // Python floats need plain torch.load on torch 1.13 (see pytorch.h).
  const Value floats = Dict{{"lr", 0.001}, {"nan", NAN}, {"neg_zero", -0.0}, {"w", ones({2})}};
  io::save_pytorch(floats, dir / "floats.pt");
  out.add("floats.pt", "pt-floats", floats);

  // safetensors, with metadata.
  const Dict tensors = every_dtype(2, true);
  SaveOptions meta;
  meta.metadata = Dict{{"format", "pt"}, {"source", "wick"}};
  io::save_safetensors(tensors, dir / "all.safetensors", meta);
  out.add("all.safetensors", "safetensors", tensors,
          "metadata\tformat\tpt\nmetadata\tsource\twick\n");
  io::save_safetensors(Dict{}, dir / "none.safetensors");
  out.add("none.safetensors", "safetensors", Dict{});

  // NumPy: each dtype alone, a non-contiguous view, and both kinds of npz.
  const Dict arrays = every_dtype(3, false);
  for (const auto& [key, t] : arrays) {
    io::save_npy(t.tensor(), dir / (key.str() + ".npy"));
    out.add(key.str() + ".npy", "npy", t);
  }
  io::save_npy(base.t(), dir / "transposed.npy");
  out.add("transposed.npy", "npy", base.t());
  io::save_npz(arrays, dir / "stored.npz");
  out.add("stored.npz", "npz", arrays);
  io::save_npz(arrays, dir / "deflated.npz", io::NpzCompression::Deflated);
  out.add("deflated.npz", "npz", arrays);
  io::save_npz(Dict{}, dir / "none.npz");
  out.add("none.npz", "npz", Dict{});

  // The tutorial's MLP with wick's own weights: PyTorch must compute the same outputs.
  MLP net;
  io::save_pytorch(net.state_dict(), dir / "wick_mlp.pt");
  const Tensor x = randn({8, 20});
  io::save_pytorch(Dict{{"x", x}, {"y", net.forward(x)}}, dir / "wick_mlp.pt.io");
  out.add_raw("wick_mlp.pt", "mlp");
  out.finish();

  const auto r = run_script("check_outputs.py", {dir.path().string()});
  WICK_EXPECT_SCRIPT_OK(r);
  EXPECT_NE(r.output.find("OK "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wick
