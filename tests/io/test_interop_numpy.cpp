// NumPy .npy and .npz: round trips, the header the writer produces, hand-built headers NumPy
// writes (big endian, Fortran order, versions 2 and 3) and hostile ones.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/interop/numpy.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using testing::TempDir;

// Magic, version, header length, header, data: what numpy.save writes (without its padding).
std::string npy_file(const std::string& header, const std::string& data = "", int major = 1) {
  std::string out = "\x93NUMPY"s + static_cast<char>(major) + '\0';
  testing::put_le(out, header.size(), major == 1 ? 2 : 4);
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }\n";
}

std::string bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  return {static_cast<const char*>(c.raw_data()), c.nbytes()};
}

class File {
 public:
  explicit File(const std::string& bytes, const std::string& name = "x.npy") : path_(dir_ / name) {
    testing::write_bytes(path_, {bytes.begin(), bytes.end()});
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

TEST(InteropNumpy, EveryNumpyDtypeRoundTrips) {
  TempDir dir;
  for (int code = 0; code < kNumDTypes; ++code) {
    const DType dt = *dtype_from_code(static_cast<uint8_t>(code));
    if (dt == kBFloat16) continue;
    SCOPED_TRACE(dtype_name(dt));
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{5}, Shape{2, 3, 4}}) {
      const Tensor t = testing::random_values(shape, dt, 3u + code, -90, 90);
      io::save_npy(t, dir / "x.npy");
      const Tensor back = io::load_npy(dir / "x.npy");
      EXPECT_EQ(Value(back), Value(t));
      EXPECT_EQ(load(dir / "x.npy"), Value(t));
    }
  }
}

TEST(InteropNumpy, WritesNumpysHeader) {
  TempDir dir;
  io::save_npy(arange(6).to(kFloat32).reshape({2, 3}).t(), dir / "x.npy");
  const auto raw = testing::read_bytes(dir / "x.npy");
  const std::string bytes(raw.begin(), raw.end());
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  // The transposed view is written in C order.
  EXPECT_EQ(bytes, npy_file(header, bytes_of(arange(6).to(kFloat32).reshape({2, 3}).t())));
  io::save_npy(ones({7}, kUInt8), dir / "y.npy");
  const auto y = testing::read_bytes(dir / "y.npy");
  EXPECT_NE(std::string(y.begin(), y.end())
                .find("{'descr': '|u1', 'fortran_order': False, "
                      "'shape': (7,), }"),
            std::string::npos);
  EXPECT_EQ((y.size() - 7) % 64, 0u);
}

TEST(InteropNumpy, ReadsBigEndianFortranAndNewerVersions) {
  {
    const File f(npy_file(dict(">i4", "(2,)"), "\x00\x00\x01\x02\xff\xff\xff\xfe"s));
    EXPECT_EQ(Value(io::load_npy(f.path())), Value(from_vector(std::vector<int32_t>{258, -2})));
  }
  {
    // Column-major 2x3: memory holds columns; wick keeps the memory and uses strides {1, 2}.
    const File f(npy_file(dict("<i8", "(2, 3)", true),
                          bytes_of(from_vector(std::vector<int64_t>{1, 4, 2, 5, 3, 6}))));
    const Tensor t = io::load_npy(f.path());
    EXPECT_EQ(t.strides(), (Shape{1, 2}));
    EXPECT_EQ(Value(t), Value(from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {2, 3})));
  }
  for (int major : {2, 3}) {
    const File f(npy_file(dict("<f2", "()"), bytes_of(full({}, 1.5, kFloat16)), major));
    EXPECT_EQ(Value(io::load_npy(f.path())), Value(full({}, 1.5, kFloat16)));
  }
  {
    // Double quotes, no trailing comma, odd spacing: still the literal numpy parses.
    const File f(npy_file("{\"shape\":(1,),\"fortran_order\":False,\"descr\":\"|b1\"}", "\x01"s));
    EXPECT_EQ(Value(io::load_npy(f.path())), Value(tensor({true})));
  }
}

// Mapped (numpy's mmap_mode="c"): little-endian aligned data views the file; big-endian data,
// swapped in memory, is read, so the file's pages are never written.
TEST(InteropNumpy, MappedLoadViewsTheFileUnlessTheDataMustBeSwapped) {
  TempDir dir;
  const Tensor t = arange(0, 12, 1, kFloat64).reshape({3, 4});
  io::save_npy(t, dir / "x.npy");
  Tensor mapped = io::load_npy(dir / "x.npy", /*mmap=*/true);
  EXPECT_TRUE(mapped.storage()->borrowed());
  EXPECT_EQ(Value(mapped), Value(t));
  mapped.fill_(0.0);
  EXPECT_EQ(Value(io::load_npy(dir / "x.npy")), Value(t));
  LoadOptions options;
  options.mmap = true;
  EXPECT_TRUE(load(dir / "x.npy", options).tensor().storage()->borrowed());

  const File big(npy_file(dict(">i4", "(2,)"), "\x00\x00\x01\x02\xff\xff\xff\xfe"s));
  const Tensor swapped = io::load_npy(big.path(), /*mmap=*/true);
  EXPECT_FALSE(swapped.storage()->borrowed());
  EXPECT_EQ(Value(swapped), Value(from_vector(std::vector<int32_t>{258, -2})));
}

TEST(InteropNumpy, SaveRefusesWhatNumpyCannotHold) {
  TempDir dir;
  WICK_EXPECT_THROW_MSG(io::save_npy(ones({2}, kBFloat16), dir / "x.npy"), ArgumentError,
                        "NumPy has no bfloat16 dtype");
  WICK_EXPECT_THROW_MSG(io::save_npy(Tensor(), dir / "x.npy"), ArgumentError, "undefined");
  SaveOptions o;
  o.metadata = Dict{{"a", "b"}};
  WICK_EXPECT_THROW_MSG(io::save_npy(ones({2}), dir / "x.npy", o), ArgumentError,
                        "no file metadata");
  WICK_EXPECT_THROW_MSG(io::save_npz(Dict{{"w", 1}}, dir / "x.npz"), ArgumentError,
                        "entry 'w' is a int, not a tensor");
  WICK_EXPECT_THROW_MSG(io::save_npz(Dict{{"w", ones({1}, kBFloat16)}}, dir / "x.npz"),
                        ArgumentError, "entry 'w': NumPy has no bfloat16");
  WICK_EXPECT_THROW_MSG(io::save_npz(List{}, dir / "x.npz"), ArgumentError,
                        "expected a dict of tensors, got a list");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.npy"));
  EXPECT_FALSE(std::filesystem::exists(dir / "x.npz"));
}

struct Hostile {
  const char* name;
  std::string bytes;
  const char* message;
};

std::vector<Hostile> hostile_npy() {
  const std::string f4 = "\0\0\x80\x3f"s;
  std::string big_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  big_header.append(10001 - big_header.size(), ' ');
  return {
      {"too short", "\x93NUMPY\x01"s, "is too short for an .npy header"},
      {"bad magic", "\x93NUMPX\x01\x00\x00\x00"s, "no \\x93NUMPY magic"},
      {"version 4", npy_file(dict("<f4", "(1,)"), f4, 4), "format version 4.0"},
      {"header too large", npy_file(big_header, f4, 2), "exceeds NumPy's limit of 10000"},
      {"header past the end", npy_file(dict("<f4", "(1,)")).substr(0, 20), "runs past the end"},
      {"not a dict", npy_file("['<f4']", f4), "expected '{'"},
      {"missing key", npy_file("{'descr': '<f4', 'shape': (1,)}", f4), "needs exactly the keys"},
      {"extra key",
       npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                "'x': 1}",
                f4),
       "unexpected key 'x'"},
      {"repeated key", npy_file("{'descr': '<f4', 'descr': '<f4'}", f4),
       "key 'descr' appears twice"},
      {"object array", npy_file(dict("|O", "(1,)"), "\0\0\0\0\0\0\0\0"s),
       "is an object array, which needs pickle"},
      {"structured",
       npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, "
                "'shape': (1,)}",
                f4),
       "structured dtypes"},
      {"unicode", npy_file(dict("<U3", "(1,)"), std::string(12, 'a')), "holds strings"},
      {"complex", npy_file(dict("<c8", "(1,)"), std::string(8, 'a')), "is complex"},
      {"uint32", npy_file(dict("<u4", "(1,)"), f4), "is unsigned"},
      {"no byte order", npy_file(dict("f4", "(1,)"), f4), "has no byte order mark"},
      {"pipe on a wide dtype", npy_file(dict("|f4", "(1,)"), f4), "needs a byte order"},
      {"negative dim", npy_file(dict("<f4", "(-1,)"), f4), "non-negative integers"},
      {"not a tuple", npy_file(dict("<f4", "(1)"), f4), "shape (n) is not a tuple"},
      {"dim overflow", npy_file(dict("<f4", "(99999999999999999999,)"), f4), "overflows int64"},
      {"numel overflow", npy_file(dict("<f8", "(4294967296, 4294967296)"), f4), "overflows"},
      {"bad fortran_order",
       npy_file(dict("<f4", "(1,)").replace(dict("<f4", "(1,)").find("False"), 5, "maybe"), f4),
       "fortran_order must be True or False"},
      {"escape", npy_file("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", f4),
       "escapes in header strings"},
      {"trailing text", npy_file(dict("<f4", "(1,)") + "junk", f4), "unexpected text after"},
      {"short data", npy_file(dict("<f4", "(2,)"), f4), "needs 8 data bytes, the file has 4"},
      {"long data", npy_file(dict("<f4", "(1,)"), f4 + "x"), "needs 4 data bytes, the file has 5"},
      {"bool byte", npy_file(dict("|b1", "(2,)"), "\x01\x05"s), "bool element 1 is byte 5"},
  };
}

TEST(InteropNumpy, HostileNpyHeadersAreRefusedCleanly) {
  for (const Hostile& h : hostile_npy()) {
    SCOPED_TRACE(h.name);
    const File f(h.bytes);
    WICK_EXPECT_THROW_MSG(io::load_npy(f.path()), FormatError, h.message);
  }
}

TEST(InteropNumpy, NpzRoundTripsStoredAndDeflated) {
  TempDir dir;
  const Dict arrays{{"w", testing::random_values({4, 5}, kFloat32, 1, -3, 3)},
                    {"ids", arange(10)},
                    {"mask", tensor({true, false})},
                    {"scalar", full({}, 2.0, kFloat64)},
                    {"empty", zeros({0})},
                    {"nested/name", ones({2}, kInt16)}};
  for (auto c : {io::NpzCompression::Stored, io::NpzCompression::Deflated}) {
    io::save_npz(arrays, dir / "x.npz", c);
    EXPECT_EQ(io::load_npz(dir / "x.npz"), Value(arrays));
    EXPECT_EQ(load(dir / "x.npz"), Value(arrays));
  }
  io::save_npz(Dict{}, dir / "empty.npz");
  EXPECT_EQ(io::load_npz(dir / "empty.npz"), Value(Dict{}));
  EXPECT_EQ(load(dir / "empty.npz"), Value(Dict{}));
}

TEST(InteropNumpy, HostileNpzArchivesAreRefused) {
  const std::string one = npy_file(dict("<f4", "(1,)"), "\0\0\x80\x3f"s);
  {
    const File f(testing::make_zip({{"a.npy", one}, {"readme.txt", "hi"}}), "x.npz");
    WICK_EXPECT_THROW_MSG(io::load_npz(f.path()), FormatError,
                          "member 'readme.txt': not an .npy array");
  }
  {
    const File f(testing::make_zip({{"a.npy", one}, {"a.npy", one}}), "x.npz");
    EXPECT_THROW(io::load_npz(f.path()), FormatError);
  }
  {
    const File f(testing::make_zip({{"a.npy", one.substr(0, one.size() - 1)}}), "x.npz");
    WICK_EXPECT_THROW_MSG(io::load_npz(f.path()), FormatError, "needs 4 data bytes");
  }
  {
    // Deflated members work...
    const File f(testing::make_zip({{"a.npy", one, true}}), "x.npz");
    EXPECT_EQ(io::load_npz(f.path())["a"], Value(tensor({1.0f})));
  }
  {
    // ...but one claiming 1 GiB from a few bytes is refused before anything is allocated.
    const std::string header = dict("<f4", "(268435456,)");
    const std::string bomb = npy_file(header, "\0\0\0\0"s);
    const File f(
        testing::make_zip(
            {{"a.npy", bomb, true, static_cast<int64_t>(10 + header.size()) + (int64_t{1} << 30)}}),
        "x.npz");
    WICK_EXPECT_THROW_MSG(io::load_npz(f.path()), FormatError, "cannot come from");
  }
}

}  // namespace
}  // namespace wick
