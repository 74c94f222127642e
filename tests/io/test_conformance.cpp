// The conformance corpus, tests/conformance/ (README there): files both implementations (this
// library and python/) must read alike. Valid files load to their plain form through every
// loader and the writer reproduces their bytes from it; invalid files are refused by every
// loader, reporting the offset and structure the corpus pins.
//
// Regenerate (one line):
//   WICK_UPDATE_CONFORMANCE=1 <build>/tests/wick_io_tests --gtest_filter='Conformance.*:Hostile*'
// (Conformance.Generate writes the generated valid files and the golden files' plain forms;
// the Hostile* cases write their files, refused and loaded.)

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_testing.h"
#include "io_testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using conformance::json;
using conformance::fs::path;

// ---------------------------------------------------------------------------------------------
// The generated valid files.

Shape row_major(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// A tensor of dtype `d` holding exactly the bytes of `v` (bit patterns, not converted values).
template <class T>
Tensor raw(DType d, Shape shape, const std::vector<T>& v) {
  auto storage = Storage::allocate(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(storage->data(), v.data(), v.size() * sizeof(T));
  Shape strides = row_major(shape);
  return Tensor(storage, std::move(shape), std::move(strides), 0, d);
}

template <class T>
Tensor raw1(DType d, const std::vector<T>& v) {
  return raw(d, {static_cast<int64_t>(v.size())}, v);
}

// Every dtype, its extremes and, for the floats, -0, infinities, NaNs with payloads,
// subnormals.
Value dtypes_value() {
  using I8 = std::numeric_limits<int8_t>;
  using I16 = std::numeric_limits<int16_t>;
  using I32 = std::numeric_limits<int32_t>;
  using I64 = std::numeric_limits<int64_t>;
  return Dict{
      {"bool", raw1<uint8_t>(kBool, {1, 0, 0, 1, 1})},
      {"uint8", raw1<uint8_t>(kUInt8, {0, 1, 127, 128, 255})},
      {"int8", raw1<int8_t>(kInt8, {I8::min(), -1, 0, 1, I8::max()})},
      {"int16", raw1<int16_t>(kInt16, {I16::min(), -1, 0, 1, I16::max()})},
      {"int32", raw1<int32_t>(kInt32, {I32::min(), -1, 0, 1, I32::max()})},
      {"int64", raw1<int64_t>(kInt64, {I64::min(), -1, 0, 1, I64::max()})},
      // 0, -0, 1, inf, -inf, quiet NaN, NaN with a payload, least and greatest subnormal, max.
      {"float16", raw1<uint16_t>(kFloat16, {0x0000, 0x8000, 0x3c00, 0x7c00, 0xfc00, 0x7e00, 0x7d01,
                                            0x0001, 0x03ff, 0x7bff})},
      {"bfloat16", raw1<uint16_t>(kBFloat16, {0x0000, 0x8000, 0x3f80, 0x7f80, 0xff80, 0x7fc0,
                                              0x7f81, 0x0001, 0x007f, 0x7f7f})},
      {"float32",
       raw1<uint32_t>(kFloat32, {0x00000000, 0x80000000, 0x3f800000, 0x7f800000, 0xff800000,
                                 0x7fc00000, 0x7fa00001, 0x00000001, 0x007fffff, 0x7f7fffff})},
      {"float64",
       raw1<uint64_t>(kFloat64, {0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000,
                                 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000,
                                 0x7ff4000000000001, 0x0000000000000001, 0x000fffffffffffff,
                                 0x7fefffffffffffff})},
  };
}

// Rank 0 to 6 (rank 5 and 6 take a 128-byte record header), sizes of 1 among them.
Value ranks_value() {
  const std::vector<Shape> shapes = {
      {}, {3}, {2, 3}, {2, 1, 3}, {1, 2, 1, 2}, {2, 1, 2, 1, 2}, {1, 2, 1, 1, 2, 1}};
  List out;
  for (const Shape& s : shapes) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    std::vector<int16_t> v(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = static_cast<int16_t>(1000 * s.size() + i);
    out.push_back(raw(kInt16, s, v));
  }
  return out;
}

Value empty_value() {
  return Dict{{"f32_0", zeros({0})},
              {"bool_3x0", zeros({3, 0}, kBool)},
              {"bf16_0x2x5", zeros({0, 2, 5}, kBFloat16)},
              {"i64_rank6", zeros({1, 0, 1, 0, 1, 0}, kInt64)},
              {"u8_0x7", zeros({0, 7}, kUInt8)}};
}

// `depth` lists (or dicts and tuples, alternating) inside each other around a tensor.
Value nested(int depth, bool mixed) {
  Value v = arange(0, 3, 1, kInt32);
  for (int i = 0; i < depth; ++i) {
    if (!mixed)
      v = List{v};
    else if (i % 3 == 0)
      v = Tuple{v};
    else if (i % 3 == 1)
      v = Dict{{"k", v}};
    else
      v = Dict{{Key(i), v}};
  }
  return v;
}

Value unicode_keys_value() {
  return Dict{{"", arange(0, 2, 1, kFloat32)},
              {"\xf0\x9d\x94\x98\xf0\x9d\x94\xab", 1},  // astral: MATHEMATICAL FRAKTUR U, n
              {"e\xcc\x81", 2},                         // e + COMBINING ACUTE ACCENT
              {"\xc3\xa9", 3},                          // precomposed: another key
              {"\xe6\x97\xa5\xe6\x9c\xac", 4},          // CJK
              {"a/b~c", 5},
              {" ", 6},
              {"\x01\x7f", 7},
              {"\xf4\x8f\xbf\xbf", 8},  // U+10FFFF, the last code point
              {"\xef\xbb\xbf", "\xf0\x9f\x99\x82 value"}};
}

Dict every_scalar() {
  return Dict{{"none", nullptr},
              {"true", true},
              {"false", false},
              {"int_min", std::numeric_limits<int64_t>::min()},
              {"int_max", std::numeric_limits<int64_t>::max()},
              {"zero", 0},
              {"neg_zero", -0.0},
              {"inf", std::numeric_limits<double>::infinity()},
              {"nan", std::numeric_limits<double>::quiet_NaN()},
              {"denormal", std::numeric_limits<double>::denorm_min()},
              {"pi", 3.141592653589793},
              {"empty", ""},
              {"\xe2\x9c\x93 unicode", "\xf0\x9f\x99\x82 \xe6\x97\xa5"}};
}

Value int_keys_value() {
  Dict keyed;
  keyed.insert(Key(0), arange(0, 2, 1, kFloat32));
  keyed.insert(Key(-1), "minus one");
  keyed.insert(Key(std::numeric_limits<int64_t>::min()), 1);
  keyed.insert(Key(std::numeric_limits<int64_t>::max()), 2);
  keyed.insert(Key("07"), 3);
  keyed.insert(Key("x"), Dict{{Key(5), Tuple{}}});
  return Dict{{"state", keyed}, {"plain", Dict{}}};
}

Value views_value() {
  const Tensor numbers = arange(0, 10, 1, kInt64);
  const Tensor evens = numbers.slice(0, 0, 10, 2);
  const Tensor cube = arange(0, 24, 1, kFloat32).view({2, 3, 4});
  const Tensor run = arange(0, 50, 1, kInt16);
  const Tensor flags = raw1<uint8_t>(kBool, {1, 0, 1, 1, 0, 0});
  const Tensor half = raw1<uint16_t>(kBFloat16, {0x3f80, 0x7fc0, 0x8000, 0x0001});
  return Dict{{"numbers", numbers},
              {"evens", evens},
              {"evens_again", evens},
              {"cube", cube},
              {"permuted", cube.permute({2, 0, 1})},
              {"plane", cube[1]},
              {"column", cube.select(2, 3)},
              {"element", cube[1][2][3]},
              {"strided", cube.slice(1, 0, 3, 2).slice(2, 1, 4, 2)},
              {"run_a", run.slice(0, 5, 9)},
              {"run_b", run.slice(0, 20, 30, 3)},
              {"flags_tail", flags.slice(0, 2, 6)},
              {"flags_odd", flags.slice(0, 1, 6, 2)},
              {"bf16", Tuple{half.slice(0, 1, 3), half}},
              {"unsqueezed", numbers.slice(0, 1, 4).unsqueeze(0)}};
}

struct Generated {
  std::string name;
  Value value;
  SaveOptions options;
};

std::vector<Generated> generated() {
  std::vector<Generated> out;
  const auto add = [&](std::string name, Value v, Dict meta = {}, int major = 0, int minor = 0) {
    SaveOptions o;
    o.metadata = std::move(meta);
    o.format_major = major;
    o.format_minor = minor;
    out.push_back({std::move(name), std::move(v), std::move(o)});
  };
  add("dtypes", dtypes_value());
  add("ranks", ranks_value());
  add("empty_tensors", empty_value());
  add("nesting_512_lists", nested(512, false));
  add("nesting_512_mixed", nested(512, true));
  add("unicode_keys", unicode_keys_value(),
      Dict{{"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87"},
           {"\xf0\x9f\x99\x82", "astral"}});
  add("metadata_scalars", Dict{{"w", arange(0, 3, 1, kFloat64)}}, every_scalar());
  add("scalar_values", Dict{{"scalars", Value(every_scalar())}, {"empty_list", List{}}});
  add("root_none", nullptr);
  add("root_string", "just a string");
  add("root_tensor", arange(0, 4, 1, kUInt8).view({2, 2}));
  add("root_empty_dict", Dict{});
  add("tuples", Dict{{"empty", Tuple{}},
                     {"one", Tuple{1}},
                     {"nested", Tuple{Tuple{}, List{Tuple{2.5}}, arange(0, 2, 1, kInt8)}}});
  add("int_keys", int_keys_value());
  const Tensor w = arange(0, 6, 1, kFloat32).view({2, 3});
  add("tied", Dict{{"encoder", w}, {"decoder", w}, {"all", List{w, w}}});
  add("views", views_value());
  add("version_2_0_forced", Dict{{"w", arange(0, 3, 1, kInt32)}}, {}, 2, 0);
  add("version_2_1_forced", Dict{{"w", arange(0, 3, 1, kInt32)}}, {}, 2, 1);
  return out;
}

// The golden files and their writers (tests/test_golden.cpp): the corpus refers to them in
// place, never copies them.
const std::vector<std::string> kGoldens = {"all_types.wick", "checkpoint_2_0.wick", "tied.wick",
                                           "tutorial_list.wick", "views_2_1.wick"};

conformance::Plain plain_of_file(const path& p) {
  io::Reader r(p);
  return conformance::to_plain(load(p), r.metadata(), r.info().major, r.info().minor);
}

// Writes the corpus's generated valid files and the golden files' plain forms; only with
// WICK_UPDATE_CONFORMANCE=1. Runs first, so the checks below read what it wrote.
TEST(Conformance, Generate) {
  if (!conformance::updating()) GTEST_SKIP() << "set WICK_UPDATE_CONFORMANCE=1 to regenerate";
  for (const Generated& g : generated()) {
    std::ostringstream out;
    save(g.value, out, g.options);
    const std::string bytes = out.str();
    std::istringstream in(bytes);
    EXPECT_EQ(load(in), g.value) << g.name;
    testing::TempDir dir;
    conformance::write_file(dir / "f.wick", bytes);
    conformance::write_valid(g.name, &bytes, plain_of_file(dir / "f.wick"));
  }
  for (const std::string& g : kGoldens) {
    const path file = path(WICK_TEST_DATA_DIR) / g;
    conformance::Plain plain = plain_of_file(file);
    plain.doc["file"] = "../../data/" + g;
    plain.doc["rewrite"] = conformance::writer_reproduces(plain, conformance::read_file(file));
    conformance::write_valid("golden_" + g.substr(0, g.size() - 5), nullptr, std::move(plain));
  }
}

// ---------------------------------------------------------------------------------------------
// The runner.

struct Case {
  std::string name;
  json doc;
  std::string bin;
  path file;
};

// The cases of tests/conformance/<sub>; none while this run rewrites the corpus (the Hostile*
// cases write theirs after the checks run).
std::vector<Case> corpus(const std::string& sub) {
  std::vector<Case> out;
  if (conformance::updating()) return out;
  const path dir = conformance::corpus_dir() / sub;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    Case c;
    c.name = e.path().stem().string();
    c.doc = json::parse(conformance::read_file(e.path()));
    if (c.doc.contains("bin"))
      c.bin = conformance::read_file(dir / c.doc["bin"].get<std::string>());
    c.file = dir / c.doc.value("file", c.name + ".wick");
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

// The document as a loader's result is compared with it: the corpus's own fields left out.
json contents(json doc) {
  for (const char* k : {"bin", "file", "rewrite"})
    doc.erase(k);
  return doc;
}

void collect_tensors(const Value& v, std::vector<Tensor>& out) {
  if (v.is_tensor()) out.push_back(v.tensor());
  if (v.is_list())
    for (const Value& x : v.list())
      collect_tensors(x, out);
  if (v.is_tuple())
    for (const Value& x : v.tuple())
      collect_tensors(x, out);
  if (v.is_dict())
    for (const auto& [k, x] : v.dict())
      collect_tensors(x, out);
}

std::string element_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  if (c.nbytes() == 0) return {};
  const auto* at = reinterpret_cast<const char*>(c.storage()->data()) +
                   static_cast<std::size_t>(c.offset()) * c.element_size();
  return {at, c.nbytes()};
}

TEST(Conformance, ValidFilesLoadToTheirPlainFormEveryWay) {
  if (conformance::updating()) GTEST_SKIP() << "the corpus is being rewritten";
  const std::vector<Case> cases = corpus("valid");
  ASSERT_GE(cases.size(), 20u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const json want = contents(c.doc);
    io::Reader reader(c.file);
    const Dict& meta = reader.metadata();
    const int major = reader.info().major, minor = reader.info().minor;
    const auto check = [&](const Value& v, const char* how) {
      const conformance::Plain got = conformance::to_plain(v, meta, major, minor);
      EXPECT_EQ(got.doc, want) << how;
      EXPECT_TRUE(got.bin == c.bin) << how << ": storage bytes differ";
    };
    std::istringstream in(conformance::read_file(c.file));
    check(load(in), "load(istream)");
    check(load(c.file), "load(path)");
    LoadOptions mm;
    mm.mmap = true;
    check(load(c.file, mm), "load(path, mmap)");
    check(reader.value(), "Reader::value");
    check(io::Reader(c.file, mm).value(), "Reader::value, mmap");
    // Each tensor by its path, in tree order beside the plain form's tensors.
    std::vector<Tensor> want_tensors;
    collect_tensors(conformance::FromPlain(c.doc, c.bin).node(c.doc["value"]), want_tensors);
    const std::vector<io::EntryInfo> entries = reader.entries();
    ASSERT_EQ(entries.size(), want_tensors.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Tensor t = reader.tensor(entries[i].path.str());
      EXPECT_EQ(t.dtype(), want_tensors[i].dtype()) << entries[i].path.str();
      EXPECT_EQ(t.shape(), want_tensors[i].shape()) << entries[i].path.str();
      EXPECT_TRUE(element_bytes(t) == element_bytes(want_tensors[i])) << entries[i].path.str();
    }
  }
}

// Every file the C++ writer wrote, it writes again from the plain form, byte for byte; the
// others are the hostile builder's (an optional record, a layout the writer never picks).
TEST(Conformance, TheWriterReproducesEveryValidFileFromItsPlainForm) {
  int reproduced = 0;
  for (const Case& c : corpus("valid")) {
    SCOPED_TRACE(c.name);
    const bool from_builder = c.name.rfind("Hostile", 0) == 0;
    if (!from_builder) {
      EXPECT_TRUE(c.doc.at("rewrite").get<bool>());
    }
    if (!c.doc.at("rewrite").get<bool>()) continue;
    EXPECT_TRUE(conformance::save_plain(c.doc, c.bin) == conformance::read_file(c.file));
    ++reproduced;
  }
  std::printf("conformance: the writer reproduced %d valid files byte for byte\n", reproduced);
}

// The FormatError `fn` throws (an empty info and a failure otherwise).
ErrorInfo format_error(const std::function<void()>& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected FormatError";
  } catch (const FormatError& e) {
    return e.info();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
  }
  return {};
}

void expect_reports(const ErrorInfo& info, const json& want, const char* how) {
  const std::optional<uint64_t> offset =
      want.at("offset").is_null() ? std::nullopt
                                  : std::optional<uint64_t>(want.at("offset").get<uint64_t>());
  EXPECT_EQ(info.offset, offset) << how << ": " << info.detail;
  EXPECT_EQ(info.structure, want.at("structure").get<std::string>()) << how << ": " << info.detail;
}

TEST(Conformance, InvalidFilesAreRefusedWhereTheCorpusSays) {
  if (conformance::updating()) GTEST_SKIP() << "the corpus is being rewritten";
  const std::vector<Case> cases = corpus("invalid");
  ASSERT_GE(cases.size(), 100u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.doc.at("kind"), "format");
    const json& front = c.doc.at("load");
    const json& random = c.doc.at("reader");
    std::istringstream in(conformance::read_file(c.file));
    expect_reports(format_error([&] { load(in); }), front, "load(istream)");
    expect_reports(format_error([&] { load(c.file); }), front, "load(path)");
    LoadOptions mm;
    mm.mmap = true;
    expect_reports(format_error([&] { load(c.file, mm); }), random, "load(path, mmap)");
    expect_reports(format_error([&] { io::Reader(c.file).value(); }), random, "Reader::value");
    expect_reports(format_error([&] { io::Reader(c.file).verify(); }), random, "Reader::verify");
  }
}

}  // namespace
}  // namespace wick
