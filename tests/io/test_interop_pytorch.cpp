// PyTorch checkpoints without Python: round trips through save_pytorch/load_pytorch, and
// hand-built pickles, benign and hostile, in hand-built archives. (test_interop_python.cpp runs
// the same formats against real PyTorch.)

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "interop_testing.h"
#include "io_testing.h"
#include "testing.h"
#include "wick/io/interop/pytorch.h"
#include "wick/wick.h"

namespace wick {
namespace {

using namespace std::string_literals;
using testing::make_pt;
using testing::TempDir;

// --- pickle fragments, as torch.save writes them ---------------------------------------------

std::string unicode(std::string_view s) {
  std::string out = "X";
  testing::put_le(out, s.size(), 4);
  return out + std::string(s);
}
std::string global(std::string_view module, std::string_view name) {
  return "c" + std::string(module) + "\n" + std::string(name) + "\n";
}
std::string small_int(int v) {
  return std::string("K") + static_cast<char>(v);
}
std::string int_tuple(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v)
    out += small_int(x);
  return out + "t";
}
// Pushes a tensor: _rebuild_tensor_v2(storage(cls, key, numel), offset, size, stride, False,
// OrderedDict()).
std::string tensor_pickle(std::string_view cls, std::string_view key, int numel, int offset,
                          const std::vector<int>& size, const std::vector<int>& stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
         global("torch", cls) + unicode(key) + unicode("cpu") + small_int(numel) + "tQ" +
         small_int(offset) + int_tuple(size) + int_tuple(stride) + "\x89" +
         global("collections", "OrderedDict") + ")Rt" + "R";
}
std::string pickle(const std::string& body) {
  return "\x80\x02" + body + ".";
}
std::string f32_bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

class PtFile {
 public:
  explicit PtFile(const std::string& bytes) : path_(dir_ / "hostile.pt") {
    testing::write_bytes(path_, {bytes.begin(), bytes.end()});
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path marker() const { return dir_ / "PWNED"; }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

Value roundtrip(const Value& v) {
  TempDir dir;
  io::save_pytorch(v, dir / "x.pt");
  return io::load_pytorch(dir / "x.pt");
}

// --- round trips -----------------------------------------------------------------------------

TEST(InteropPyTorch, EveryDtypeRoundTripsBitExact) {
  Dict d;
  for (int code = 0; code < kNumDTypes; ++code) {
    const DType dt = *dtype_from_code(static_cast<uint8_t>(code));
    d.insert(std::string(dtype_name(dt)), testing::random_values({3, 4}, dt, 40u + code, -50, 50));
  }
  d.insert("scalar", full({}, 2.5));
  d.insert("empty", zeros({0, 3}, kInt16));
  const float nan_payload = std::bit_cast<float>(0x7FC00123u);
  d.insert("special", from_vector(std::vector<float>{-0.0f, nan_payload, INFINITY, 1e-45f}));
  const Value back = roundtrip(d);
  EXPECT_EQ(back, Value(d));
  EXPECT_EQ(std::bit_cast<uint32_t>(back["special"].tensor().data<float>()[1]), 0x7FC00123u);
}

// A load reads only the members it needs; verify_archive checks every member's CRC-32.
TEST(InteropPyTorch, VerifyArchiveChecksTheMembersALoadDoesNotRead) {
  testing::TempDir dir;
  const auto path = dir / "m.pt";
  io::save_pytorch(Dict{{"w", arange(0, 4, 1, kFloat32)}}, path);
  EXPECT_NO_THROW(io::verify_archive(path));
  testing::damage_zip_member(path, "archive/version");
  EXPECT_NO_THROW(load(path));  // `version` is not read
  try {
    io::verify_archive(path);
    ADD_FAILURE() << "a damaged member passed";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("zip member 'archive/version'"), std::string::npos)
        << e.what();
  }
  // Not an archive: nothing to add to what a load checks.
  save(Dict{{"w", arange(0, 4, 1, kFloat32)}}, dir / "m.wick");
  EXPECT_NO_THROW(io::verify_archive(dir / "m.wick"));
}

TEST(InteropPyTorch, ScalarsListsAndNestedDictsRoundTrip) {
  const Value v = Dict{
      {"model", Dict{{"w", ones({2, 2})}, {"b", zeros({2})}}},
      {"epoch", 7},
      {"lr", 0.001},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"name", "adam \xc3\xa9"},
      {"flags", List{true, false, nullptr}},
      {"empty_list", List{}},
      {"empty_dict", Dict{}},
      {"ints", List{0,
                    255,
                    256,
                    65535,
                    65536,
                    -1,
                    -129,
                    INT32_MAX,
                    INT32_MIN,
                    int64_t{INT32_MAX} + 1,
                    int64_t{INT32_MIN} - 1,
                    int64_t{1} << 40,
                    -(int64_t{1} << 40),
                    INT64_MAX,
                    INT64_MIN,
                    127,
                    128,
                    -128,
                    32767,
                    32768}},
      {"deep", List{List{ones({1}), Dict{{"k", zeros({1}, kInt8)}}}}},
  };
  EXPECT_EQ(roundtrip(v), v);
  EXPECT_EQ(roundtrip(Value(3)), Value(3));
  EXPECT_EQ(roundtrip(Value(ones({2}))), Value(ones({2})));
}

// What torch.save keeps in a tutorial checkpoint: optimizer state keyed by parameter index and
// tuples (Adam's betas; torch.Size), each a pickle opcode of its own.
TEST(InteropPyTorch, IntKeysAndTuplesRoundTrip) {
  const Value v = Dict{
      {"state", Dict{{0, Dict{{"step", full({}, 3.0)}}}, {1, Dict{}}, {-7, nullptr}}},
      {"betas", Tuple{0.9, 0.999}},
      {"tuples", List{Tuple{}, Tuple{1}, Tuple{1, 2, 3}, Tuple{1, 2, 3, 4, Tuple{"x"}}}},
      {"mixed", Dict{{"0", 1}, {0, 2}, {int64_t{1} << 40, 3}}},
  };
  EXPECT_EQ(roundtrip(v), v);
}

TEST(InteropPyTorch, ReadsIntKeysAndTuplesFromAHandBuiltPickle) {
  // {7: (None,), 'a': ()}: EMPTY_DICT, MARK, K 7, None, TUPLE1, 'a', EMPTY_TUPLE, SETITEMS.
  const PtFile f(make_pt(pickle("}(K\x07N\x85" + unicode("a") + ")u"), {}));
  EXPECT_EQ(io::load_pytorch(f.path()), Value(Dict{{7, Tuple{nullptr}}, {"a", Tuple{}}}));
}

TEST(InteropPyTorch, SharedStoragesAndViewsArePreserved) {
  const Tensor base = arange(12).to(kFloat32).reshape({3, 4});
  const Tensor tied = randn({2, 2});
  const Value v = Dict{{"base", base},
                       {"t", base.t()},
                       {"row", base[1]},
                       {"strided", base.slice(0, 1, 3).slice(1, 0, 4, 2)},
                       {"expanded", base.slice(0, 0, 1).expand({3, 4})},
                       {"tied_a", tied},
                       {"tied_b", tied}};
  const Value back = roundtrip(v);
  EXPECT_EQ(back, v);
  const Tensor& b = back["base"].tensor();
  for (const char* k : {"t", "row", "strided", "expanded"}) {
    const Tensor& t = back[k].tensor();
    EXPECT_TRUE(t.shares_storage(b)) << k;
    EXPECT_EQ(t.strides(), v[k].tensor().strides()) << k;
    EXPECT_EQ(t.offset(), v[k].tensor().offset()) << k;
  }
  EXPECT_TRUE(back["tied_a"].tensor().is_same(back["tied_b"].tensor()));
  EXPECT_FALSE(back["tied_a"].tensor().shares_storage(b));
  // Writing through one view is seen by the others, as in PyTorch.
  Tensor row = back["row"].tensor();
  row.fill_(-1);
  EXPECT_EQ(back["t"].tensor()[0][1].item<float>(), -1.0f);
}

TEST(InteropPyTorch, OnlyTheElementsViewsUseAreWritten) {
  TempDir dir;
  const Tensor big = arange(100000).to(kFloat64);
  const Tensor tail = big.slice(0, 99990, 100000);
  io::save_pytorch(Value(Dict{{"tail", tail}}), dir / "tail.pt");
  EXPECT_LT(std::filesystem::file_size(dir / "tail.pt"), 2000u);
  const Value back = io::load_pytorch(dir / "tail.pt");
  EXPECT_EQ(back["tail"], Value(tail));
  EXPECT_EQ(back["tail"].tensor().offset(), 0);
}

TEST(InteropPyTorch, ViewsOfOneStorageWithTwoDtypesAreWrittenSeparately) {
  const Tensor f = arange(4).to(kFloat32);
  const Tensor as_int(f.storage(), {4}, {1}, 0, kInt32);
  const Value back = roundtrip(Dict{{"f", f}, {"i", as_int}});
  EXPECT_EQ(back["f"], Value(f));
  EXPECT_EQ(back["i"], Value(as_int));
  EXPECT_FALSE(back["f"].tensor().shares_storage(back["i"].tensor()));
}

TEST(InteropPyTorch, MembersAreAlignedLikeTorchSaveAndOutputIsDeterministic) {
  TempDir dir;
  const Value v = Dict{{"a", ones({3}, kInt8)}, {"b", ones({5}, kFloat64)}, {"c", zeros({7})}};
  io::save_pytorch(v, dir / "a.pt");
  SaveOptions fast;
  fast.durable = false;
  io::save_pytorch(v, dir / "b.pt", fast);
  const auto bytes = testing::read_bytes(dir / "a.pt");
  EXPECT_EQ(bytes, testing::read_bytes(dir / "b.pt"));
  const auto offsets = testing::zip_data_offsets({bytes.begin(), bytes.end()});
  std::vector<std::string> names;
  for (const auto& [name, offset] : offsets) {
    names.push_back(name);
    EXPECT_EQ(offset % 64, 0u) << name;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"archive/data.pkl", "archive/byteorder", "archive/data/0",
                                      "archive/data/1", "archive/data/2", "archive/version"}));
}

TEST(InteropPyTorch, SaveRefusesWhatPythonCannotHold) {
  TempDir dir;
  WICK_EXPECT_THROW_MSG(io::save_pytorch(Dict{{"w", Tensor()}}, dir / "x.pt"), ArgumentError,
                        "tensor at 'w' is undefined");
  WICK_EXPECT_THROW_MSG(io::save_pytorch(Dict{{"s", std::string("\xff\xfe")}}, dir / "x.pt"),
                        ArgumentError, "string at 's' is not valid UTF-8");
  WICK_EXPECT_THROW_MSG(io::save_pytorch(Dict{{std::string("k\xc0"), 1}}, dir / "x.pt"),
                        ArgumentError, "is not valid UTF-8");
  SaveOptions o;
  o.metadata = Dict{{"epoch", 1}};
  WICK_EXPECT_THROW_MSG(io::save_pytorch(Value(1), dir / "x.pt", o), ArgumentError,
                        "no file metadata");
  Value deep = List{};
  for (int i = 0; i < 600; ++i)
    deep = List{deep};
  WICK_EXPECT_THROW_MSG(io::save_pytorch(deep, dir / "x.pt"), ArgumentError,
                        "nesting deeper than 512");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.pt"));
}

// --- hand-built archives ---------------------------------------------------------------------

TEST(InteropPyTorch, ReadsAHandBuiltStateDictWithAView) {
  // {'w': storage[1:5] viewed as 2x2 transposed, 'n': 3}
  const std::string pkl =
      pickle("}(" + unicode("w") + tensor_pickle("FloatStorage", "0", 6, 1, {2, 2}, {1, 2}) +
             unicode("n") + small_int(3) + "u");
  const PtFile f(make_pt(pkl, {{"0", f32_bytes({0, 1, 2, 3, 4, 5})}}));
  const Value v = load(f.path());
  EXPECT_EQ(v["n"], Value(3));
  const Tensor& w = v["w"].tensor();
  EXPECT_EQ(w.strides(), (Shape{1, 2}));
  EXPECT_EQ(w.offset(), 1);
  EXPECT_EQ(Value(w), Value(from_vector(std::vector<float>{1, 3, 2, 4}, {2, 2})));
}

TEST(InteropPyTorch, ReadsDeflatedMembers) {
  const std::string pkl = pickle(tensor_pickle("FloatStorage", "0", 2, 0, {2}, {1}));
  const PtFile f(testing::make_zip(
      {{"archive/data.pkl", pkl, true}, {"archive/data/0", f32_bytes({7, 8}), true}}));
  EXPECT_EQ(io::load_pytorch(f.path()), Value(from_vector(std::vector<float>{7, 8})));
}

// Each case: a pickle (with storage "0" of 4 floats available) and what the error must say.
struct Refused {
  const char* name;
  std::string pickle;
  const char* message;
};

std::vector<Refused> refused_pickles() {
  const std::string t4 = tensor_pickle("FloatStorage", "0", 4, 0, {4}, {1});
  return {
      {"os.system", pickle(global("os", "system") + unicode("touch PWNED") + "\x85R"),
       "unsupported global 'os.system'"},
      {"posix.system", pickle(global("posix", "system") + unicode("true") + "\x85R"),
       "unsupported global 'posix.system'"},
      {"builtins.eval", pickle(global("builtins", "eval") + unicode("1") + "\x85R"),
       "unsupported global 'builtins.eval'"},
      {"STACK_GLOBAL", "\x80\x04" + unicode("subprocess") + unicode("check_output") + "\x93.",
       "unsupported global 'subprocess.check_output'"},
      {"unknown class", pickle(global("__main__", "Evil") + ")\x81"),
       "unsupported global '__main__.Evil'"},
      {"nothing executed", pickle(global("os", "system")), "nothing was executed"},
      {"NEWOBJ", pickle("})\x81"), "opcode NEWOBJ"},
      {"INST", pickle("(ios\nsystem\n"), "opcode INST"},
      {"OBJ", pickle("(o"), "opcode OBJ"},
      {"EXT1", pickle("\x82\x01"), "opcode EXT1"},
      {"PERSID text", pickle("P0\n"), "opcode PERSID"},
      {"sets", pickle("\x8f"), "opcode EMPTY_SET"},
      {"unknown opcode", pickle("\xff"), "unknown opcode 0xff"},
      {"complex storage", pickle(tensor_pickle("ComplexFloatStorage", "0", 2, 0, {2}, {1})),
       "torch.ComplexFloatStorage': complex64"},
      {"sparse", pickle(global("torch._utils", "_rebuild_sparse_tensor")), "sparse tensors"},
      {"REDUCE on a string", pickle(unicode("x") + ")R"), "REDUCE calls a str"},
      {"REDUCE on a storage type", pickle(global("torch", "FloatStorage") + ")R"),
       "REDUCE calls the storage type torch.FloatStorage"},
      {"OrderedDict with args", pickle(global("collections", "OrderedDict") + "]\x85R"),
       "OrderedDict called with arguments"},
      {"BUILD on a list", pickle("]}b"), "BUILD on a list"},
      {"APPEND to a dict", pickle("}" + small_int(1) + "a"),
       "APPEND target: expected a list, got a dict"},
      {"SETITEM on a list", pickle("]" + small_int(1) + small_int(2) + "s"),
       "SETITEM target: expected a dict, got a list"},
      {"stack underflow", pickle("a"), "APPEND on an empty stack"},
      {"underflow past a MARK", pickle("](a"), "APPEND on an empty stack"},
      {"APPENDS without MARK", pickle("]e"), "APPENDS without a MARK"},
      {"odd SETITEMS", pickle("}(" + small_int(1) + "u"), "odd number"},
      {"no STOP", "\x80\x02N", "without a STOP"},
      {"bytes after STOP", pickle("N") + "N", "1 unexpected bytes after STOP"},
      {"two results", pickle("NN"), "STOP with 2 objects on the stack"},
      {"open MARK", pickle("(N"), "MARK(s) still open"},
      {"memo miss", pickle("h\x05"), "memo entry 5 was never stored"},
      {"string past the end", "\x80\x02X\xff\xff\x00\x00"s + "ab",
       "needs 65535 bytes, only 2 remain"},
      {"GLOBAL without newline",
       "\x80\x02"
       "cos",
       "missing newline"},
      {"protocol 6", "\x80\x06N.", "pickle protocol 6"},
      {"huge LONG1", pickle("\x8a\x09" + std::string(9, '\x01')), "does not fit in 64 bits"},
      {"None dict key", pickle("}NNs"),
       "dict key of type None: wick dict keys are strings or ints"},
      {"bool dict key", pickle("}\x88Ns"), "dict key of type bool"},
      {"list contains itself", pickle("]q\x00h\x00"s + "a"), "or a container that contains itself"},
      {"global as a value", pickle(global("torch", "FloatStorage")), "is not data"},
      {"pid tag",
       pickle("(" + unicode("module") + global("torch", "FloatStorage") + unicode("0") +
              unicode("cpu") + small_int(4) + "tQ"),
       "persistent id 'module': only 'storage'"},
      {"pid shape", pickle(unicode("0") + "Q"), "persistent id must be a 5-tuple"},
      {"view past the storage", pickle(tensor_pickle("FloatStorage", "0", 4, 1, {4}, {1})),
       "the view does not fit its 4-element float32 storage"},
      {"rank mismatch",
       pickle(global("torch._utils", "_rebuild_tensor_v2") + "((" + unicode("storage") +
              global("torch", "FloatStorage") + unicode("0") + unicode("cpu") + small_int(4) +
              "tQ" + small_int(0) + int_tuple({2, 2}) + int_tuple({1}) + "\x89}tR"),
       "differ in length"},
      {"wrong arity", pickle(global("torch._utils", "_rebuild_tensor_v2") + ")R"),
       "takes 6 or 7 arguments, got 0"},
      {"inconsistent storage",
       pickle("(" + t4 + tensor_pickle("IntStorage", "0", 4, 0, {4}, {1}) + "l"),
       "storage '0' is declared as 4 float32 and as 4 int32"},
      {"missing record", pickle(tensor_pickle("FloatStorage", "9", 4, 0, {4}, {1})),
       "storage '9' has no member 'archive/data/9'"},
      {"short record", pickle(tensor_pickle("FloatStorage", "0", 8, 0, {8}, {1})),
       "needs 32 bytes, the member holds 16"},
  };
}

TEST(InteropPyTorch, PicklesOutsideTheWeightsOnlySubsetAreRefusedByName) {
  for (const Refused& r : refused_pickles()) {
    SCOPED_TRACE(r.name);
    const PtFile f(make_pt(r.pickle, {{"0", f32_bytes({1, 2, 3, 4})}}));
    WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError, r.message);
    WICK_EXPECT_THROW_MSG(load(f.path()), FormatError, r.message);
  }
}

TEST(InteropPyTorch, AMaliciousPickleNeverRuns) {
  TempDir dir;
  const auto marker = dir / "PWNED";
  // What pickle.dumps of an object whose __reduce__ is (os.system, ("touch <marker>",)) gives.
  const std::string payload =
      pickle(global("posix", "system") + "q\x00"s + unicode("touch '" + marker.string() + "'") +
             "q\x01\x85q\x02" + "Rq\x03");
  // Also hidden inside a state dict, after a real tensor.
  const std::string hidden = pickle(
      "}(" + unicode("w") + tensor_pickle("FloatStorage", "0", 4, 0, {4}, {1}) + unicode("z") +
      global("builtins", "exec") + unicode("open('" + marker.string() + "', 'w')") + "\x85Ru");
  for (const std::string& p : {payload, hidden}) {
    const PtFile f(make_pt(p, {{"0", f32_bytes({1, 2, 3, 4})}}));
    EXPECT_THROW(load(f.path()), FormatError);
    EXPECT_THROW(io::load_pytorch(f.path()), FormatError);
    EXPECT_FALSE(std::filesystem::exists(marker));
  }
}

TEST(InteropPyTorch, BoolStoragesHoldOnlyZeroAndOne) {
  const std::string pkl = pickle(tensor_pickle("BoolStorage", "0", 3, 0, {3}, {1}));
  const PtFile good(make_pt(pkl, {{"0", std::string("\x01\x00\x01", 3)}}));
  EXPECT_EQ(io::load_pytorch(good.path()), Value(tensor({true, false, true})));
  const PtFile bad(make_pt(pkl, {{"0", std::string("\x01\x02\x01", 3)}}));
  WICK_EXPECT_THROW_MSG(io::load_pytorch(bad.path()), FormatError, "bool element 1 is byte 2");
}

TEST(InteropPyTorch, HostileArchivesAreRefused) {
  const std::string pkl = pickle(tensor_pickle("FloatStorage", "0", 2, 0, {2}, {1}));
  {
    const PtFile f(testing::make_zip({{"data.pkl", pkl}}));
    WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError, "is not inside a directory");
  }
  {
    const PtFile f(testing::make_zip({{"archive/other", "x"}}));
    WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError, "no member 'archive/data.pkl'");
    WICK_EXPECT_THROW_MSG(load(f.path()), FormatError, "neither a torch.save checkpoint");
  }
  {
    // A member that claims 1 GiB from a few deflated bytes: refused before any allocation.
    const PtFile f(
        testing::make_zip({{"archive/data.pkl", pkl},
                           {"archive/data/0", f32_bytes({1, 2}), true, int64_t{1} << 30}}));
    EXPECT_THROW(io::load_pytorch(f.path()), FormatError);
  }
  {
    const PtFile f(testing::make_zip({{"archive/data.pkl", pkl},
                                      {"archive/byteorder", "big"},
                                      {"archive/data/0", f32_bytes({1, 2})}}));
    WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError, "byteorder is 'big'");
  }
  {
    const PtFile f(std::string("PK\x03\x04", 4) + std::string(100, 'x'));
    WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError, "is not a readable zip archive");
  }
}

TEST(InteropPyTorch, ValueTreesThatExplodeAreRefused) {
  // 40 levels of a list holding its predecessor twice: 2^40 nodes as a tree.
  std::string body = "]q\x00"s + "0";
  for (char i = 1; i <= 40; ++i) {
    body += "](h"s + static_cast<char>(i - 1) + "h" + static_cast<char>(i - 1) + "eq" + i + "0";
  }
  body += "h"s + static_cast<char>(40);
  const PtFile f(make_pt(pickle(body)));
  WICK_EXPECT_THROW_MSG(io::load_pytorch(f.path()), FormatError,
                        "the value tree would have more than");

  // A 300-deep list reached at the top and again from the bottom of another 300-deep list.
  const std::string a = std::string(300, ']') + std::string(299, 'a') + "q\x00"s + "a";
  const std::string b = std::string(300, ']') + "h\x00"s + std::string(301, 'a');
  const PtFile reused(make_pt(pickle("]" + a + b)));
  WICK_EXPECT_THROW_MSG(io::load_pytorch(reused.path()), FormatError, "nesting deeper than 512");
  const PtFile shallow(make_pt(pickle("]" + a)));
  EXPECT_EQ(io::load_pytorch(shallow.path()).list().size(), 1u);

  const PtFile marks(make_pt(pickle(std::string(5000, '('))));
  WICK_EXPECT_THROW_MSG(io::load_pytorch(marks.path()), FormatError, "more than 4096 nested MARKs");
}

}  // namespace
}  // namespace wick
