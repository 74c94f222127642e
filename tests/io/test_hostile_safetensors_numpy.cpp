// Hostile safetensors, NumPy and PyTorch inputs (issue 16, classes 4, 7 and 8): every decode
// finishes, loaded or refused with a FormatError, in memory and time bounded by the file
// (tests/bounds_testing.h), however many keys, digits or brackets the file repeats; and every
// writer refuses what its reader would refuse instead of writing it.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bounds_testing.h"
#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/io/interop/safetensors.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using testing::TempDir;

// --- bounds ----------------------------------------------------------------------------------

// Loading a safetensors file builds the Dict it returns, which dominates: a metadata pair costs
// about 250 bytes of heap (the Value, the key held twice by the Dict, its index node) for as
// little as 9 bytes of JSON ("ab":"",); a tensor about 500 (Value, Tensor, shape and strides)
// for 48; and a size ("1,", 2 bytes) costs 16 bytes of shape and strides. The parser adds the
// header text and, per entry, 40 bytes and its name. So 64 bytes per byte above a base for the
// allocator: the native format's load bound (tests/io/test_hostile.cpp) is 160.
constexpr testing::DecodeBound kSafetensorsLoadBound{"safetensors load", uint64_t{32} << 20, 64.0,
                                                     1.0, 1.0};
// Refusing one costs the header text, the parser's compact tables (4 bytes per name, 8 per
// metadata pair, 40 per sound entry, strings back to back: under 4 bytes per byte with vector
// growth) and nlohmann-json's copies of the token that failed (a 2 MB number is copied into its
// error message about 8 times). Time for both: one linear pass, about 20 MB/s on an idle core;
// the bound leaves room for a machine shared with other builds (5x slower), and quadratic key
// lookups (100,000 keys: 24 to 100 s) still break it by 10x.
constexpr testing::DecodeBound kSafetensorsRefusalBound{"safetensors refusal", uint64_t{32} << 20,
                                                        16.0, 1.0, 1.0};
// An .npy header is at most 10000 bytes (NumPy's own limit) and nothing is allocated for the
// data before the file is known to hold it: a refusal costs a few KiB, a load the data.
constexpr testing::DecodeBound kNpyBound{"npy/npz load", uint64_t{8} << 20, 2.0, 1.0, 1.0};

// --- helpers ---------------------------------------------------------------------------------

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string st_bytes(const std::string& header, const std::string& data = "") {
  std::string out;
  testing::put_le(out, header.size(), 8);
  return out + header + data;
}

enum class Outcome { Loaded, Refused };

// Runs `decode` within `bound`, printing its figures; a FormatError is a refusal, anything else
// thrown fails the test.
Outcome bounded(const std::string& what, uint64_t file_size, const testing::DecodeBound& bound,
                const std::function<void()>& decode) {
  uint64_t growth = 0;
  double secs = 0;
  bool available = false;
  try {
    testing::expect_bounded(what, file_size, bound, [&] {
      // A second meter inside the first sees the same peak; it only lets us print it.
      const testing::DecodeMeter meter;
      struct Report {
        const testing::DecodeMeter& m;
        uint64_t& growth;
        double& secs;
        bool& available;
        ~Report() {
          growth = m.memory_growth();
          secs = m.seconds();
          available = m.memory_available();
        }
      } report{meter, growth, secs, available};
      decode();
    });
  } catch (const FormatError& e) {
    std::printf("[ bounded  ] %-52s %9llu bytes: refused, %+8.2f MiB, %.3f s\n", what.c_str(),
                static_cast<unsigned long long>(file_size),
                available ? static_cast<double>(growth) / (1 << 20) : -1.0, secs);
    return Outcome::Refused;
  }
  std::printf("[ bounded  ] %-52s %9llu bytes: loaded,  %+8.2f MiB, %.3f s\n", what.c_str(),
              static_cast<unsigned long long>(file_size),
              available ? static_cast<double>(growth) / (1 << 20) : -1.0, secs);
  return Outcome::Loaded;
}

// Loads safetensors `bytes` through load_safetensors() (with metadata) and load(path), each
// read and mapped, within the bound for `expect`; all must agree. Returns the outcome and the last
// refusal.
struct StResult {
  Outcome outcome = Outcome::Loaded;
  std::string message;
  Value value;
  Dict metadata;
};
StResult decode_safetensors(const std::string& what, const std::string& bytes, Outcome expect) {
  const testing::DecodeBound& bound =
      expect == Outcome::Loaded ? kSafetensorsLoadBound : kSafetensorsRefusalBound;
  const TempDir dir;
  const auto path = dir / "x.safetensors";
  write_file(path, bytes);
  StResult r;
  const auto run = [&](const std::string& how, const std::function<void()>& fn) {
    return bounded(what + " / " + how, bytes.size(), bound, fn);
  };
  const auto keep_message = [&](const std::function<void()>& fn) {
    return [&r, fn] {
      try {
        fn();
      } catch (const FormatError& e) {
        r.message = e.what();
        throw;
      }
    };
  };
  r.outcome = run("load_safetensors", keep_message([&] {
                    Dict meta;
                    Value v = io::load_safetensors(path, &meta);
                    r.value = std::move(v);
                    r.metadata = std::move(meta);
                  }));
  const Outcome generic = run("load(path)", keep_message([&] { (void)load(path); }));
  EXPECT_EQ(generic, r.outcome) << what << ": load(path) and load_safetensors disagree";
  const Outcome mapped = run("load_safetensors mapped", [&] {
    Dict meta;
    const Value v = io::load_safetensors(path, &meta, /*mmap=*/true);
    EXPECT_EQ(v, r.value) << what << ": mapped and read loads differ";
    EXPECT_EQ(meta, r.metadata) << what << ": mapped and read metadata differ";
  });
  EXPECT_EQ(mapped, r.outcome) << what << ": mapped and read load_safetensors disagree";
  const Outcome generic_mapped =
      run("load(path) mapped", [&] { (void)load(path, testing::read_options(true, true)); });
  EXPECT_EQ(generic_mapped, r.outcome)
      << what << ": mapped load(path) and load_safetensors disagree";
  EXPECT_EQ(r.outcome, expect) << what << ": " << r.message;
  return r;
}

// `prefix` then `i` in decimal. (Built by appending: GCC 12 warns falsely, -Wrestrict, about
// "literal" + std::string in loops.)
std::string numbered(const char* prefix, int i) {
  std::string out(prefix);
  out += std::to_string(i);
  return out;
}

// Appends `item` to a JSON object or array being built, after a comma unless it is the first.
void append_item(std::string& out, const std::string& item) {
  if (out.back() != '{' && out.back() != '[') out += ',';
  out += item;
}

std::string tensor_entry(const std::string& name, const std::string& dtype,
                         const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// --- class 4: safetensors headers with many keys ----------------------------------------------
// Every case below took time quadratic in its key count before the header was parsed into
// ordered objects with linear key lookup (nlohmann::ordered_json): 100,000 keys took seconds.

constexpr int kManyKeys = 100'000;

TEST(HostileSafetensors, ManyMetadataKeysLoadInLinearTime) {
  std::string h = "{\"__metadata__\":{";
  for (int i = 0; i < kManyKeys; ++i)
    append_item(h, "\"k" + std::to_string(i) + "\":\"\"");
  h += "}}";
  const StResult r = decode_safetensors("100k metadata keys", st_bytes(h), Outcome::Loaded);
  ASSERT_EQ(r.outcome, Outcome::Loaded) << r.message;
  ASSERT_EQ(r.metadata.size(), static_cast<std::size_t>(kManyKeys));
  EXPECT_EQ(r.metadata.items().front().first, "k0");  // the file's order
  EXPECT_EQ(r.metadata.items().back().first, numbered("k", kManyKeys - 1));
  EXPECT_TRUE(r.value.is_dict() && r.value.dict().size() == 0);
}

// The shortest distinct keys: 3 characters of 62.
std::string short_key(int i) {
  static constexpr char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return {kChars[i % 62], kChars[i / 62 % 62], kChars[i / (62 * 62) % 62]};
}

TEST(HostileSafetensors, DenseKeysCostMemoryInProportion) {
  // The most entries per byte: what each costs decides the bounds' bytes per byte.
  constexpr int n = 200'000;
  std::string meta = "{\"__metadata__\":{";
  std::string bad = "{";
  for (int i = 0; i < n; ++i) {
    append_item(meta, "\"" + short_key(i) + "\":\"\"");
    append_item(bad, "\"" + short_key(i) + "\":0");
  }
  meta += "}}";
  bad += "}";
  const StResult loaded =
      decode_safetensors("200k 3-byte metadata keys", st_bytes(meta), Outcome::Loaded);
  EXPECT_EQ(loaded.metadata.size(), static_cast<std::size_t>(n));
  (void)decode_safetensors("200k 3-byte non-object entries", st_bytes(bad), Outcome::Refused);
}

TEST(HostileSafetensors, ManyEmptyTensorsLoadInLinearTime) {
  std::string h = "{";
  for (int i = 0; i < kManyKeys; ++i)
    append_item(h, tensor_entry(numbered("t", i), "F32", "[0]", 0, 0));
  h += "}";
  const StResult r = decode_safetensors("100k empty tensors", st_bytes(h), Outcome::Loaded);
  ASSERT_EQ(r.outcome, Outcome::Loaded) << r.message;
  ASSERT_EQ(r.value.dict().size(), static_cast<std::size_t>(kManyKeys));
  EXPECT_EQ(r.value.dict().at("t7").tensor().shape(), (Shape{0}));
}

TEST(HostileSafetensors, ManySmallTensorsLoadInLinearTime) {
  // Named in reverse data order, so the loader's sort by offset has work to do.
  constexpr int n = kManyKeys;
  std::string h = "{";
  std::string data;
  for (int i = n; i-- > 0;) {
    append_item(h, tensor_entry(numbered("t", i), "U8", "[1]", static_cast<uint64_t>(i),
                                static_cast<uint64_t>(i) + 1));
  }
  for (int i = 0; i < n; ++i)
    data += static_cast<char>(i & 0x7F);
  h += "}";
  const StResult r =
      decode_safetensors("100k one-byte tensors", st_bytes(h, data), Outcome::Loaded);
  ASSERT_EQ(r.outcome, Outcome::Loaded) << r.message;
  ASSERT_EQ(r.value.dict().size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.value.dict().items().front().first, "t0");  // data order, as before
  EXPECT_EQ(r.value.dict().at("t300").tensor().item().to<int64_t>(), 300 & 0x7F);
}

TEST(HostileSafetensors, ManyUnknownFieldsInOneEntryAreSkippedInLinearTime) {
  std::string h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]";
  for (int i = 0; i < kManyKeys; ++i)
    h += ",\"x" + std::to_string(i) + "\":[" + std::to_string(i) + "]";
  h += "}}";
  const StResult r =
      decode_safetensors("100k unknown entry fields", st_bytes(h, "\0\0\x80?"s), Outcome::Loaded);
  ASSERT_EQ(r.outcome, Outcome::Loaded) << r.message;
  EXPECT_EQ(r.value.dict().at("w").tensor().item().to<double>(), 1.0);
}

TEST(HostileSafetensors, ManyBadEntriesAreRefusedInLinearTime) {
  std::string h = "{";
  for (int i = 0; i < kManyKeys; ++i)
    append_item(h, "\"k" + std::to_string(i) + "\":0");
  h += "}";
  const StResult r = decode_safetensors("100k non-object entries", st_bytes(h), Outcome::Refused);
  EXPECT_EQ(r.outcome, Outcome::Refused);
  EXPECT_NE(r.message.find("tensor 'k0': expected an object, got number"), std::string::npos)
      << r.message;
}

TEST(HostileSafetensors, ARepeatedKeyAfterManyIsRefusedInLinearTime) {
  for (const bool in_metadata : {true, false}) {
    std::string h = in_metadata ? "{\"__metadata__\":{" : "{";
    for (int i = 0; i < kManyKeys; ++i) {
      const std::string k = numbered("k", (i * 7919) % kManyKeys);
      append_item(h, in_metadata ? "\"" + k + "\":\"\"" : tensor_entry(k, "F32", "[0]", 0, 0));
    }
    h += in_metadata ? ",\"k99\":\"\"}}" : "," + tensor_entry("k99", "F32", "[0]", 0, 0) + "}";
    const StResult r =
        decode_safetensors(in_metadata ? "repeated metadata key" : "repeated tensor name",
                           st_bytes(h), Outcome::Refused);
    EXPECT_EQ(r.outcome, Outcome::Refused);
    EXPECT_NE(r.message.find("names 'k99' twice"), std::string::npos) << r.message;
  }
}

// --- class 4: nesting, numbers, dimensions, names -------------------------------------------

TEST(HostileSafetensors, NestingBombsAreRefusedAtOnce) {
  constexpr std::size_t n = std::size_t{4} << 20;
  const std::string arrays = std::string(n, '[') + std::string(n, ']');
  std::string objects;
  for (std::size_t i = 0; i < n / 8; ++i)
    objects += "{\"a\":";
  objects += "0" + std::string(n / 8, '}');
  const struct {
    const char* what;
    std::string header;
  } cases[] = {
      {"array bomb as an entry", "{\"w\":" + arrays + "}"},
      {"object bomb as an entry", "{\"w\":" + objects + "}"},
      {"array bomb as a shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":" + arrays + "}}"},
      {"array bomb in an unknown field", "{\"w\":{\"x\":" + arrays + "}}"},
      {"object bomb in __metadata__", "{\"__metadata__\":{\"k\":" + objects + "}}"},
      {"unclosed array bomb", "{\"w\":" + std::string(n, '[')},
  };
  for (const auto& c : cases) {
    const StResult r = decode_safetensors(c.what, st_bytes(c.header), Outcome::Refused);
    EXPECT_EQ(r.outcome, Outcome::Refused) << c.what;
    EXPECT_NE(r.message.find("nests deeper than a tensor entry"), std::string::npos)
        << c.what << ": " << r.message;
  }
}

TEST(HostileSafetensors, HugeNumbersAreRefusedWithShortMessages) {
  constexpr std::size_t n = std::size_t{2} << 20;
  const auto with_dim = [](const std::string& dim) {
    return "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + dim + "],\"data_offsets\":[0,4]}}";
  };
  const struct {
    const char* what;
    std::string header;
  } cases[] = {
      {"2M-digit dimension", with_dim(std::string(n, '9'))},
      {"2M-digit fraction", with_dim("1." + std::string(n, '0'))},
      {"exponent overflow", with_dim("1e" + std::string(n, '9'))},
      {"2^64 dimension", with_dim("18446744073709551616")},
      {"2M-digit negative", with_dim("-" + std::string(n, '9'))},
      {"2M-digit offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0," +
                              std::string(n, '9') + "]}}"},
  };
  for (const auto& c : cases) {
    const StResult r =
        decode_safetensors(c.what, st_bytes(c.header, "\0\0\0\0"s), Outcome::Refused);
    EXPECT_EQ(r.outcome, Outcome::Refused) << c.what;
    EXPECT_LT(r.message.size(), 1000u) << c.what << ": the message repeats the file";
  }
}

TEST(HostileSafetensors, ManyDimensionsAreRefusedWithoutBeingKept) {
  constexpr int n = 2'000'000;
  std::string shape = "[";
  for (int i = 0; i < n; ++i)
    shape += i ? ",1" : "1";
  shape += "]";
  const StResult r = decode_safetensors(
      "2M dimensions",
      st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}",
               "\0\0\0\0"s),
      Outcome::Refused);
  EXPECT_EQ(r.outcome, Outcome::Refused);
  EXPECT_NE(r.message.find("at most 64"), std::string::npos) << r.message;
}

TEST(HostileSafetensors, LongNamesLoadOnce) {
  const std::string name(std::size_t{8} << 20, 'n');
  const StResult r = decode_safetensors(
      "8 MiB tensor name", st_bytes("{" + tensor_entry(name, "F32", "[0]", 0, 0) + "}"),
      Outcome::Loaded);
  ASSERT_EQ(r.outcome, Outcome::Loaded) << r.message;
  EXPECT_TRUE(r.value.dict().contains(name));
}

// --- class 8: sizes beside a zero ------------------------------------------------------------
// An empty tensor may claim any sizes beside its zero. Every wick reader bounds the product of
// the sizes with zeros counted as 1, times the dtype size, by 2^62 (io/FORMAT.md), so that its
// contiguous strides fit in int64 and whatever loads can be saved as wick.

const std::string k2_60 = "1152921504606846976";
const std::string k2_61 = "2305843009213693952";
const std::string k2_62 = "4611686018427387904";

TEST(HostileSafetensors, EmptyTensorsWithHugeSizesAreFormatErrors) {
  const struct {
    std::string shape;
    const char* dtype;
    bool loads;
  } cases[] = {
      {"[0," + k2_62 + "," + k2_62 + "]", "F32", false},
      {"[" + k2_62 + "," + k2_62 + ",0]", "F32", false},
      {"[0," + k2_61 + "]", "F32", false},
      {"[0," + k2_60 + "]", "F64", false},
      {"[0," + k2_60 + "]", "F32", true},
      {"[" + k2_62 + ",0]", "U8", true},
  };
  for (const auto& c : cases) {
    const std::string what = std::string(c.dtype) + " " + c.shape;
    const StResult r =
        decode_safetensors(what, st_bytes("{" + tensor_entry("w", c.dtype, c.shape, 0, 0) + "}"),
                           c.loads ? Outcome::Loaded : Outcome::Refused);
    EXPECT_EQ(r.outcome, c.loads ? Outcome::Loaded : Outcome::Refused) << what << r.message;
    if (!c.loads) {
      EXPECT_NE(r.message.find("2^62"), std::string::npos) << what << ": " << r.message;
    }
  }
}

std::string npy_bytes(const std::string& dict, const std::string& data = "") {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01\x00"s;
  testing::put_le(out, header.size(), 2);
  return out + header + data;
}

TEST(HostileNumpy, EmptyArraysWithHugeSizesAreFormatErrors) {
  const struct {
    std::string shape;
    const char* descr;
    bool fortran;
    bool loads;
  } cases[] = {
      {"(0, " + k2_62 + ", " + k2_62 + ")", "<f4", false, false},
      {"(0, " + k2_62 + ", " + k2_62 + ")", "<f4", true, false},
      {"(" + k2_62 + ", " + k2_62 + ", 0, 4)", "<f4", true, false},
      {"(0, " + k2_61 + ")", "<f4", false, false},
      {"(0, " + k2_60 + ")", "<f4", false, true},
      {"(0, " + k2_60 + ")", "<f4", true, true},
  };
  for (const auto& c : cases) {
    const std::string what = std::string(c.descr) + (c.fortran ? " F " : " C ") + c.shape;
    const std::string npy = npy_bytes(std::string("{'descr': '") + c.descr +
                                      "', 'fortran_order': " + (c.fortran ? "True" : "False") +
                                      ", 'shape': " + c.shape + ", }");
    const std::string npz = testing::make_zip({{"a.npy", npy}});
    const TempDir dir;
    write_file(dir / "a.npy", npy);
    write_file(dir / "a.npz", npz);
    const Outcome want = c.loads ? Outcome::Loaded : Outcome::Refused;
    std::string message;
    const auto keep = [&](const std::function<void()>& fn) {
      return [&message, fn] {
        try {
          fn();
        } catch (const FormatError& e) {
          message = e.what();
          throw;
        }
      };
    };
    EXPECT_EQ(bounded(what + " / load_npy", npy.size(), kNpyBound,
                      keep([&] { (void)io::load_npy(dir / "a.npy"); })),
              want);
    if (!c.loads) {
      EXPECT_NE(message.find("2^62"), std::string::npos) << what << ": " << message;
    }
    EXPECT_EQ(
        bounded(what + " / load(npy)", npy.size(), kNpyBound, [&] { (void)load(dir / "a.npy"); }),
        want);
    EXPECT_EQ(bounded(what + " / load_npz", npz.size(), kNpyBound,
                      [&] { (void)io::load_npz(dir / "a.npz"); }),
              want);
    EXPECT_EQ(
        bounded(what + " / load(npz)", npz.size(), kNpyBound, [&] { (void)load(dir / "a.npz"); }),
        want);
    // The same through the mapped loads.
    const LoadOptions mapped = testing::read_options(true, true);
    const struct {
      const char* how;
      std::size_t size;
      std::function<void()> decode;
    } mapped_loads[] = {
        {"load_npy", npy.size(), [&] { (void)io::load_npy(dir / "a.npy", /*mmap=*/true); }},
        {"load(npy)", npy.size(), [&] { (void)load(dir / "a.npy", mapped); }},
        {"load_npz", npz.size(), [&] { (void)io::load_npz(dir / "a.npz", /*mmap=*/true); }},
        {"load(npz)", npz.size(), [&] { (void)load(dir / "a.npz", mapped); }},
    };
    for (const auto& m : mapped_loads) {
      EXPECT_EQ(bounded(what + " / " + m.how + " mapped", m.size, kNpyBound, m.decode), want);
    }
  }
}

TEST(HostileNumpy, TheLargestHeaderIsBounded) {
  // 64 dimensions padded with spaces to NumPy's 10000-byte limit, and one byte over it.
  std::string shape = "(";
  for (int i = 0; i < 64; ++i)
    shape += "1, ";
  shape += ")";
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // 10 bytes of prefix + 9973 + '\n' = 9984, a multiple of 64: npy_bytes() adds no padding.
  dict.append(9973 - dict.size(), ' ');
  for (const int extra : {0, 64}) {
    std::string d = dict;
    d.append(static_cast<std::size_t>(extra), ' ');
    const std::string npy = npy_bytes(d, "\0\0\x80?"s);
    const TempDir dir;
    write_file(dir / "a.npy", npy);
    const Outcome got = bounded(extra ? "npy header over 10000 bytes" : "npy header of 10000 bytes",
                                npy.size(), kNpyBound, [&] { (void)io::load_npy(dir / "a.npy"); });
    EXPECT_EQ(got, extra ? Outcome::Refused : Outcome::Loaded);
  }
}

// --- class 8: writers write only what their readers accept ----------------------------------

// An empty tensor with sizes `shape` (strides 0: it has no element to place).
Tensor empty_view(const Shape& shape, DType dtype) {
  return Tensor(Storage::allocate(0), shape, Shape(shape.size(), 0), 0, dtype);
}

struct Candidate {
  std::string what;
  Tensor tensor;
};

std::vector<Candidate> edge_tensors() {
  const int64_t p60 = int64_t{1} << 60;
  const int64_t p62 = int64_t{1} << 62;
  std::vector<Candidate> out{
      {"[0, 2^62, 2^62] f32", empty_view({0, p62, p62}, kFloat32)},
      {"[2^62, 0] u8", empty_view({p62, 0}, kUInt8)},
      {"[2^62, 0] f32", empty_view({p62, 0}, kFloat32)},
      {"[0, 2^60] f32", empty_view({0, p60}, kFloat32)},
      {"[0, 2^60] f64", empty_view({0, p60}, kFloat64)},
      {"[0, 2^60] bf16", empty_view({0, p60}, kBFloat16)},
      {"rank 32", ones(Shape(32, 1))},
      {"rank 33", ones(Shape(33, 1))},
      {"rank 64", ones(Shape(64, 1))},
      {"rank 65", ones(Shape(65, 1))},
  };
  Shape rank65(65, 1);
  rank65[0] = 0;
  out.push_back({"rank 65, empty", empty_view(rank65, kFloat32)});
  return out;
}

// Saves `t` through `save`; the save must either refuse (ArgumentError or ShapeError, leaving no
// file) or write a file `load` gives back equal.
void expect_consistent(const std::string& what, const Tensor& t,
                       const std::function<void(const std::filesystem::path&)>& save,
                       const std::function<Tensor(const std::filesystem::path&)>& load_back) {
  const TempDir dir;
  const auto path = dir / "out";
  try {
    save(path);
  } catch (const ArgumentError&) {
    EXPECT_FALSE(std::filesystem::exists(path)) << what << ": a refused save left a file";
    return;
  } catch (const ShapeError&) {
    EXPECT_FALSE(std::filesystem::exists(path)) << what << ": a refused save left a file";
    return;
  }
  try {
    const Tensor back = load_back(path);
    EXPECT_EQ(back.shape(), t.shape()) << what;
    EXPECT_EQ(back.dtype(), t.dtype()) << what;
    if (t.numel() > 0) {
      EXPECT_EQ(testing::values(back), testing::values(t)) << what;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": the writer wrote a file its reader refuses: " << e.what();
  }
}

TEST(HostileWriters, WritersNeverWriteWhatTheirReadersRefuse) {
  for (const Candidate& c : edge_tensors()) {
    SCOPED_TRACE(c.what);
    const Tensor& t = c.tensor;
    expect_consistent(
        "wick " + c.what, t,
        [&](const auto& p) {
          save(Value(Dict{{"w", t}}), p);
        },
        [](const auto& p) {
          const Value v = load(p);
          EXPECT_EQ(io::Reader(p).value(), v);  // the random-access reader agrees
          return v.dict().at("w").tensor();
        });
    expect_consistent(
        "wick Writer::add " + c.what, t,
        [&](const auto& p) {
          io::Writer w(p);
          w.add("w", t);
          w.finish();
        },
        [](const auto& p) { return load(p).dict().at("w").tensor(); });
    if (t.dtype() != kBFloat16) {
      expect_consistent(
          "npy " + c.what, t, [&](const auto& p) { io::save_npy(t, p); },
          [](const auto& p) { return io::load_npy(p); });
      expect_consistent(
          "npz " + c.what, t,
          [&](const auto& p) {
            io::save_npz(Dict{{"w", t}}, p);
          },
          [](const auto& p) { return io::load_npz(p).dict().at("w").tensor(); });
    }
    expect_consistent(
        "safetensors " + c.what, t,
        [&](const auto& p) {
          io::save_safetensors(Dict{{"w", t}}, p);
        },
        [](const auto& p) { return io::load_safetensors(p).dict().at("w").tensor(); });
    expect_consistent(
        "pytorch " + c.what, t,
        [&](const auto& p) {
          io::save_pytorch(Dict{{"w", t}}, p);
        },
        [](const auto& p) { return io::load_pytorch(p).dict().at("w").tensor(); });
  }
}

TEST(HostileWriters, TheNativeWriterRefusesBeforeWritingAndStaysUsable) {
  const TempDir dir;
  const auto path = dir / "x.wick";
  io::Writer w(path);
  const Tensor bad = empty_view({0, int64_t{1} << 62, int64_t{1} << 62}, kFloat32);
  WICK_EXPECT_THROW_MSG(w.add("bad", bad), ArgumentError, "2^62");
  w.add("good", ones({2}));
  w.finish();
  EXPECT_EQ(load(path), Value(Dict{{"good", ones({2})}}));
  // Inside a tree, the refusal names where the tensor is.
  WICK_EXPECT_THROW_MSG(save(Value(Dict{{"a", List{ones({1}), bad}}}), dir / "y.wick"),
                        ArgumentError, "'a.1'");
  EXPECT_FALSE(std::filesystem::exists(dir / "y.wick"));
}

TEST(HostileWriters, SafetensorsHeadersAreTheJsonOfTheFormerWriter) {
  // The header is built as text (an ordered JSON object costs the square of its keys); its
  // bytes are those nlohmann-json's dump() made before, escapes included.
  std::string all;
  for (int c = 1; c < 0x80; ++c)
    all += static_cast<char>(c);
  all += "caf\xc3\xa9 \xf0\x9f\x98\x80";
  const Dict tensors{{all, ones({2, 1})}, {"\"q\\", zeros({0}, kInt8)}, {"s", full({}, 3.0)}};
  SaveOptions o;
  o.metadata = Dict{{all, all}, {"k", "v"}};
  const TempDir dir;
  io::save_safetensors(tensors, dir / "x", o);
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  h["__metadata__"] = {{all, all}, {"k", "v"}};
  h[all] = {{"dtype", "F32"}, {"shape", {2, 1}}, {"data_offsets", {0, 8}}};
  h["\"q\\"] = {{"dtype", "I8"}, {"shape", {0}}, {"data_offsets", {8, 8}}};
  h["s"] = {
      {"dtype", "F32"}, {"shape", nlohmann::ordered_json::array()}, {"data_offsets", {8, 12}}};
  std::string text = h.dump();
  text.append((64 - (8 + text.size()) % 64) % 64, ' ');
  const auto bytes = testing::read_bytes(dir / "x");
  ASSERT_GE(bytes.size(), 8 + text.size());
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(text.size())),
            text);
  Dict meta;
  EXPECT_EQ(io::load_safetensors(dir / "x", &meta), Value(tensors));
  EXPECT_EQ(Value(meta), Value(o.metadata));
}

TEST(HostileWriters, SafetensorsHeadersBeyondTheReadersLimitAreRefused) {
  // The reader refuses headers over 100,000,000 bytes, so the writer must not write one. A
  // control character takes 6 bytes in JSON (\u0001).
  SaveOptions o;
  o.metadata = Dict{{"big", std::string(17'000'000, '\x01')}};
  const TempDir dir;
  WICK_EXPECT_THROW_MSG(io::save_safetensors(Dict{}, dir / "x", o), ArgumentError, "100000000");
  EXPECT_FALSE(std::filesystem::exists(dir / "x"));
}

TEST(HostileWriters, PytorchPicklesTheReaderWouldRefuseAreNotWritten) {
  // One rank-64 tensor referenced 20,000 times: each reference is a 2-byte memo get in the
  // pickle, while the tree the reader builds holds the tensor's sizes and strides (1 KiB) at
  // every place, beyond the reader's memory budget for a pickle that small.
  const Tensor t = ones(Shape(64, 1));
  const TempDir dir;
  const auto path = dir / "x.pt";
  try {
    io::save_pytorch(Value(List(20'000, Value(t))), path);
  } catch (const ArgumentError& e) {
    EXPECT_FALSE(std::filesystem::exists(path));
    return;
  }
  EXPECT_NO_THROW((void)io::load_pytorch(path)) << "the writer wrote a file its reader refuses";
}

// --- class 7: .pt views at the edge of int64 -------------------------------------------------

std::string unicode(const std::string& s) {
  std::string out = "X";
  testing::put_le(out, s.size(), 4);
  return out + s;
}
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string long1(int64_t v) {  // LONG1 with all 8 bytes
  std::string out = "\x8a\x08";
  testing::put_le(out, static_cast<uint64_t>(v), 8);
  return out;
}
std::string int_tuple(const Shape& v) {
  std::string out = "(";
  for (const int64_t x : v)
    out += long1(x);
  return out + "t";
}
// {'w': _rebuild_tensor_v2(storage(FloatStorage, '0', numel), offset, size, stride, ...)}
std::string pt_file(int64_t numel, int64_t offset, const Shape& size, const Shape& stride) {
  const std::string tensor = global("torch._utils", "_rebuild_tensor_v2") + "((" +
                             unicode("storage") + global("torch", "FloatStorage") + unicode("0") +
                             unicode("cpu") + long1(numel) + "tQ" + long1(offset) +
                             int_tuple(size) + int_tuple(stride) + "\x89" +
                             global("collections", "OrderedDict") + ")Rt" + "R";
  const std::string pkl = "\x80\x02}(" + unicode("w") + tensor + "u.";
  return testing::make_pt(pkl, {{"0", std::string(static_cast<std::size_t>(numel) * 4, '\0')}});
}

TEST(HostilePytorch, ViewsAtTheEdgeOfInt64AreRefusedWithoutOverflow) {
  constexpr int64_t kMax = INT64_MAX;
  const struct {
    const char* what;
    std::string bytes;
  } cases[] = {
      {"offset 2^63-1", pt_file(4, kMax, {1}, {1})},
      {"offset 2^63-1, two elements", pt_file(4, kMax, {2}, {1})},
      {"last element at 2^63-1", pt_file(4, 0, {2, 2}, {kMax, 1})},
  };
  for (const auto& c : cases) {
    const TempDir dir;
    write_file(dir / "x.pt", c.bytes);
    EXPECT_THROW((void)io::load_pytorch(dir / "x.pt"), FormatError) << c.what;
    EXPECT_THROW((void)load(dir / "x.pt"), FormatError) << c.what;
  }
  // An empty view at the end of its storage is as fine as a slice [4:] in PyTorch; one past
  // the end (PyTorch keeps any offset on an empty view: torch.empty(5, 0)[3]) loads at the end,
  // so raw_data() stays inside or just past the storage.
  for (const int64_t offset : {int64_t{4}, int64_t{5}, kMax - 1, kMax}) {
    const TempDir dir;
    write_file(dir / "x.pt", pt_file(4, offset, {0}, {1}));
    const Tensor t = io::load_pytorch(dir / "x.pt").dict().at("w").tensor();
    EXPECT_EQ(t.numel(), 0) << offset;
    EXPECT_EQ(t.raw_data(), static_cast<const std::byte*>(t.storage()->data()) + 16) << offset;
  }
}

TEST(HostilePytorch, ConvertingAnEmptyViewWithHugeSizesNeverWritesACorruptFile) {
  const int64_t p62 = int64_t{1} << 62;
  const TempDir dir;
  write_file(dir / "x.pt", pt_file(4, 0, {0, p62, p62}, {1, 1, 1}));
  Value v;
  try {
    v = load(dir / "x.pt");
  } catch (const FormatError&) {
    return;  // refused as a file: fine
  }
  // What `wick convert` does: the save must refuse, not write a file `wick verify` calls corrupt.
  EXPECT_THROW(save(v, dir / "x.wick"), ArgumentError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.wick"));
}

}  // namespace
}  // namespace wick
