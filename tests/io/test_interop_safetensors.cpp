// safetensors: round trips, the exact bytes the writer produces, and hand-built hostile files.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/interop/safetensors.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using testing::TempDir;

// 8-byte length (the true one unless told otherwise), header, data.
std::string st_file(const std::string& header, const std::string& data = "",
                    std::optional<uint64_t> declared = std::nullopt) {
  std::string out;
  testing::put_le(out, declared.value_or(header.size()), 8);
  return out + header + data;
}

class StFile {
 public:
  explicit StFile(const std::string& bytes) : path_(dir_ / "x.safetensors") {
    testing::write_bytes(path_, {bytes.begin(), bytes.end()});
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

std::string f32(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * 4};
}

TEST(InteropSafetensors, EveryDtypeAndMetadataRoundTripInOrder) {
  TempDir dir;
  Dict d;
  for (int code = kNumDTypes - 1; code >= 0; --code) {  // not sorted by name or dtype
    const DType dt = *dtype_from_code(static_cast<uint8_t>(code));
    d.insert("t." + std::string(dtype_name(dt)),
             testing::random_values({2, 3}, dt, 7u + code, -60, 60));
  }
  d.insert("scalar", full({}, 4.5, kFloat64));
  d.insert("empty", zeros({3, 0}, kInt64));
  d.insert("view", arange(12).reshape({3, 4}).t());  // written in C order
  SaveOptions o;
  o.metadata = Dict{{"format", "pt"}, {"note", "caf\xc3\xa9"}};
  io::save_safetensors(d, dir / "x.safetensors", o);
  Dict meta;
  const Value back = io::load_safetensors(dir / "x.safetensors", &meta);
  EXPECT_EQ(back, Value(d));
  EXPECT_EQ(back.dict().keys(), d.keys());
  EXPECT_EQ(Value(meta), Value(o.metadata));
  EXPECT_TRUE(back["view"].tensor().is_contiguous());
  EXPECT_EQ(load(dir / "x.safetensors"), Value(d));
}

// Mapped: aligned tensors view the file's pages (zero-copy, writable without touching the file);
// a tensor misaligned for its dtype is read into memory of its own, with the same values.
TEST(InteropSafetensors, MappedLoadViewsTheFileAndCopiesOnlyMisalignedTensors) {
  TempDir dir;
  const Dict d{{"a", arange(0, 64, 1, kFloat32)}, {"b", arange(0, 8, 1, kInt64)}};
  io::save_safetensors(d, dir / "x.safetensors");  // data at a multiple of 64
  Value mapped = io::load_safetensors(dir / "x.safetensors", nullptr, /*mmap=*/true);
  EXPECT_EQ(mapped, Value(d));
  for (const char* k : {"a", "b"})
    EXPECT_TRUE(mapped[k].tensor().storage()->borrowed()) << k;
  LoadOptions options;
  options.mmap = true;
  EXPECT_TRUE(load(dir / "x.safetensors", options)["a"].tensor().storage()->borrowed());
  mapped["a"].tensor().fill_(-1.0);  // private: the file keeps its bytes
  EXPECT_EQ(io::load_safetensors(dir / "x.safetensors"), Value(d));

  // A 1-byte tensor first puts the float32 one at an odd offset: it is read, not viewed.
  const std::string header = R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  const StFile odd(st_file(header, "\x07"s + f32({1.5f, -2.0f})));
  const Value v = io::load_safetensors(odd.path(), nullptr, /*mmap=*/true);
  EXPECT_TRUE(v["u"].tensor().storage()->borrowed());
  EXPECT_FALSE(v["f"].tensor().storage()->borrowed());
  EXPECT_EQ(v, io::load_safetensors(odd.path()));
  EXPECT_EQ(v["f"].tensor().select(0, 1).item<float>(), -2.0f);
}

TEST(InteropSafetensors, WritesExactlyTheSpec) {
  TempDir dir;
  SaveOptions o;
  o.metadata = Dict{{"k", "v"}};
  io::save_safetensors(
      Dict{{"a", from_vector(std::vector<float>{1, 2})}, {"b", tensor({true}, kBool)}},
      dir / "x.safetensors", o);
  const auto bytes = testing::read_bytes(dir / "x.safetensors");
  std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9]}})";
  header.append((64 - (8 + header.size()) % 64) % 64, ' ');  // data starts 64-byte aligned
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), st_file(header, f32({1, 2}) + "\x01"));
}

TEST(InteropSafetensors, HeaderOrderDoesNotMatterOffsetsDo) {
  // Names listed in reverse data order, extra whitespace, an unknown field (ignored, as the
  // reference implementation does).
  const std::string header =
      R"( {"z": {"dtype": "I16", "shape": [2], "data_offsets": [0, 4], "extra": 1},)"
      R"( "a": {"data_offsets": [4, 12], "shape": [2], "dtype": "F32"}}   )";
  const StFile f(st_file(header.substr(1), std::string("\x01\x00\xff\xff", 4) + f32({3, 4})));
  const Value v = io::load_safetensors(f.path());
  EXPECT_EQ(v.dict().keys(), (std::vector<Key>{"z", "a"}));
  EXPECT_EQ(v["z"], Value(from_vector(std::vector<int16_t>{1, -1})));
  EXPECT_EQ(v["a"], Value(from_vector(std::vector<float>{3, 4})));
}

TEST(InteropSafetensors, SaveRefusesWhatTheFormatCannotHold) {
  TempDir dir;
  const auto p = dir / "x.safetensors";
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Value(ones({2})), p), ArgumentError,
                        "expected a dict of tensors, got a tensor");
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{{"n", 3}}, p), ArgumentError,
                        "entry 'n' is a int, not a tensor");
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{{"w", Tensor()}}, p), ArgumentError,
                        "tensor 'w' is undefined");
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{{"__metadata__", ones({1})}}, p), ArgumentError,
                        "reserved");
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{{std::string("\xff"), ones({1})}}, p),
                        ArgumentError, "is not valid UTF-8");
  SaveOptions o;
  o.metadata = Dict{{"epoch", 3}};
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{}, p, o), ArgumentError,
                        "metadata 'epoch' is a int; safetensors metadata values are strings");
  EXPECT_FALSE(std::filesystem::exists(p));
}

struct Hostile {
  const char* name;
  std::string bytes;
  const char* message;
};

std::vector<Hostile> hostile_files() {
  const std::string w = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string two = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[%s]}})";
  const auto with_b = [&](const std::string& offsets) {
    std::string s = two;
    s.replace(s.find("%s"), 2, offsets);
    return s;
  };
  const auto entry = [](const std::string& body) { return R"({"w":{)" + body + "}}"; };
  return {
      {"shorter than the length", std::string("\x05\x00\x00", 3), "3 bytes is too short"},
      {"header too large", st_file("{}", "", 100'000'001), "exceeds the limit of 100000000"},
      {"header past the end", st_file("{}", "", 1000), "runs past the end of the 10-byte file"},
      {"not an object", st_file(R"(["w"])"), "must start with '{'"},
      {"leading space", st_file(" {}"), "must start with '{'"},
      {"bad JSON", st_file("{\"w\":"), "is not valid JSON"},
      {"NUL padding", st_file(std::string("{}\0\0", 4)), "is not valid JSON"},
      {"bad UTF-8", st_file("{\"\xff\":1}"), "is not valid JSON"},
      {"duplicate name", st_file(R"({"w":{},"w":{}})"), "names 'w' twice"},
      {"deep nesting", st_file("{\"w\":" + std::string(1000, '[') + std::string(1000, ']') + "}"),
       "nests deeper than a tensor entry"},
      {"entry not an object", st_file(R"({"w":3})"), "tensor 'w': expected an object"},
      {"missing dtype", st_file(entry(R"("shape":[1],"data_offsets":[0,4])")), "missing 'dtype'"},
      {"unknown dtype", st_file(entry(R"("dtype":"F33","shape":[],"data_offsets":[0,4])")),
       "dtype 'F33' is unknown"},
      {"foreign dtype", st_file(entry(R"("dtype":"U16","shape":[],"data_offsets":[0,2])")),
       "dtype 'U16' has no wick equivalent"},
      {"negative dim", st_file(entry(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])")),
       "shape entry must be a non-negative integer, got -1"},
      {"float dim", st_file(entry(R"("dtype":"F32","shape":[1.0],"data_offsets":[0,4])")),
       "must be a non-negative integer, got 1.0"},
      {"string dim", st_file(entry(R"("dtype":"F32","shape":["1"],"data_offsets":[0,4])")),
       "must be a non-negative integer"},
      {"shape overflow",
       st_file(entry(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4])")),
       "overflows"},
      {"bytes overflow",
       st_file(entry(R"("dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8])")),
       "overflows"},
      {"offsets not a pair", st_file(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0])")),
       "data_offsets must be [begin, end]"},
      {"size mismatch",
       st_file(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,4])"), f32({1})),
       "shape [2] of float32 needs 8 bytes, data_offsets [0, 4] hold 4"},
      {"gap at the start",
       st_file(entry(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"), f32({1, 2})),
       "leave a gap after the data before it, which ends at 0"},
      {"overlap", st_file(with_b("0,4"), f32({1})), "overlap the data before it"},
      {"gap", st_file(with_b("8,12"), f32({1, 2, 3})), "leave a gap"},
      {"end before begin", st_file(with_b("4,0"), f32({1})), "end before they begin"},
      {"trailing bytes", st_file(w, f32({1, 2}) + "x"), "cover 8 data bytes, the file holds 9"},
      {"truncated data", st_file(w, f32({1})), "cover 8 data bytes, the file holds 4"},
      {"metadata not strings", st_file(R"({"__metadata__":{"epoch":3}})"),
       "__metadata__ 'epoch' must be a string, got number"},
      {"metadata not an object", st_file(R"({"__metadata__":[]})"),
       "__metadata__ must be an object"},
      {"bool byte",
       st_file(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})",
               std::string("\x01\x07", 2)),
       "bool element 1 is byte 7"},
  };
}

TEST(InteropSafetensors, HostileFilesAreRefusedCleanly) {
  for (const Hostile& h : hostile_files()) {
    SCOPED_TRACE(h.name);
    const StFile f(h.bytes);
    WICK_EXPECT_THROW_MSG(io::load_safetensors(f.path()), FormatError, h.message);
  }
}

TEST(InteropSafetensors, AnEmptyFileOfTensorsIsValid) {
  const StFile f(st_file("{}"));
  EXPECT_EQ(io::load_safetensors(f.path()), Value(Dict{}));
  EXPECT_EQ(load(f.path()), Value(Dict{}));
}

}  // namespace
}  // namespace wick
