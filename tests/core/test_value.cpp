// wick::Value: construction, kinds, accessors and their errors, int keys and tuples,
// TensorDict conversion, Python repr printing and structural equality.

#include "wick/core/value.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"

namespace wick {
namespace {

std::string repr(const Value& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// One value of every kind, in Kind order.
std::vector<Value> one_of_each() {
  return {Value(),           Value(true),      Value(3),          Value(0.5),
          Value("s"),        Value(arange(2)), Value(List{1, 2}), Value(Dict{{"a", 1}}),
          Value(Tuple{1, 2})};
}

TEST(Value, DefaultAndNullAreNone) {
  EXPECT_TRUE(Value().is_none());
  EXPECT_TRUE(Value(nullptr).is_none());
  EXPECT_EQ(Value().kind(), Value::Kind::None);
}

TEST(Value, ConstructsFromBool) {
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_FALSE(Value(false).as_bool());
}

TEST(Value, ConstructsFromEveryIntegralTypeAsInt) {
  EXPECT_EQ(Value(7).kind(), Value::Kind::Int);
  EXPECT_EQ(Value(7).as_int(), 7);
  EXPECT_EQ(Value(int64_t{-1} << 40).as_int(), int64_t{-1} << 40);
  EXPECT_EQ(Value(std::numeric_limits<int64_t>::min()).as_int(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Value(std::size_t{12}).as_int(), 12);
  EXPECT_EQ(Value(uint8_t{255}).as_int(), 255);
  EXPECT_EQ(Value(int16_t{-3}).as_int(), -3);
  EXPECT_EQ(Value(5u).kind(), Value::Kind::Int);
}

TEST(Value, ConstructsFromFloatingTypesAsFloat) {
  EXPECT_EQ(Value(0.25f).kind(), Value::Kind::Float);
  EXPECT_EQ(Value(0.25f).as_float(), 0.25);
  EXPECT_EQ(Value(0.1).as_float(), 0.1);
  // A float widens exactly: 0.1f is not 0.1.
  EXPECT_EQ(Value(0.1f).as_float(), static_cast<double>(0.1f));
}

TEST(Value, ConstructsFromStrings) {
  const char* c = "abc";
  const std::string s = "def";
  const std::string_view sv = "ghi";
  EXPECT_EQ(Value(c).as_string(), "abc");
  EXPECT_EQ(Value(s).as_string(), "def");
  EXPECT_EQ(Value(sv).as_string(), "ghi");
  EXPECT_EQ(Value("").as_string(), "");
  EXPECT_TRUE(Value("x").is_string());
  // Embedded NUL bytes survive a std::string.
  EXPECT_EQ(Value(std::string("a\0b", 3)).as_string().size(), 3u);
}

TEST(Value, TensorIsAHandleSharingStorage) {
  Tensor t = zeros({1});
  Value v(t);
  ASSERT_TRUE(v.is_tensor());
  EXPECT_TRUE(v.tensor().is_same(t));
  t.fill_(2.0);
  EXPECT_EQ(v.tensor().item<float>(), 2.0f) << "the Value must see writes through the handle";
}

TEST(Value, UndefinedTensorIsStillATensor) {
  Value v{Tensor()};
  // Braces with one Value-convertible item build a list, like Python's [x].
  ASSERT_TRUE(v.is_list());
  Value w(Tensor{});
  EXPECT_TRUE(w.is_tensor());
  EXPECT_FALSE(w.tensor().defined());
}

TEST(Value, ConstructsListsAndDicts) {
  Value l(List{1, "two", 3.0});
  ASSERT_TRUE(l.is_list());
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1].as_string(), "two");

  Value d(Dict{{"a", 1}, {"b", List{}}});
  ASSERT_TRUE(d.is_dict());
  EXPECT_EQ(d.size(), 2u);
  EXPECT_TRUE(d["b"].is_list());

  EXPECT_EQ(Value(List{}).size(), 0u);
  EXPECT_EQ(Value(Dict{}).size(), 0u);
}

TEST(Value, InitializerListBuildsAList) {
  const Tensor x = arange(4);
  const Tensor y = zeros({4});
  Value v = {x, y};
  ASSERT_TRUE(v.is_list());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].tensor().is_same(x));
  EXPECT_TRUE(v[1].tensor().is_same(y));

  Value mixed = {nullptr, true, 1, 2.5, "s"};
  ASSERT_EQ(mixed.size(), 5u);
  EXPECT_TRUE(mixed[0].is_none());
  EXPECT_TRUE(mixed[1].is_bool());
  EXPECT_TRUE(mixed[2].is_int());
  EXPECT_TRUE(mixed[3].is_float());
  EXPECT_TRUE(mixed[4].is_string());
}

TEST(Value, NestsArbitrarily) {
  Value checkpoint(Dict{{"model", Dict{{"w", ones({2, 2})}, {"b", zeros({2})}}},
                        {"epoch", 3},
                        {"history", {0.5, 0.25, {1, {2, {3}}}}}});
  EXPECT_EQ(checkpoint["model"]["w"].tensor().shape(), (Shape{2, 2}));
  EXPECT_EQ(checkpoint["epoch"].as_int(), 3);
  EXPECT_EQ(checkpoint["history"][2][1][1][0].as_int(), 3);
  EXPECT_EQ(checkpoint.at("history").size(), 3u);
}

TEST(Value, CopyIsDeepForContainersButSharesTensors) {
  const Tensor t = zeros({2});
  Value a(Dict{{"t", t}, {"l", List{1, 2}}});
  Value b = a;
  b["l"].list().push_back(3);
  b.dict().insert("new", 1);
  EXPECT_EQ(a["l"].size(), 2u);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_TRUE(b["t"].tensor().shares_storage(t));
}

TEST(Value, ExactlyOnePredicateHolds) {
  const std::vector<Value> values = one_of_each();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Value& v = values[i];
    SCOPED_TRACE(kind_name(v.kind()));
    EXPECT_EQ(static_cast<std::size_t>(v.kind()), i);
    const int count = v.is_none() + v.is_bool() + v.is_int() + v.is_float() + v.is_string() +
                      v.is_tensor() + v.is_list() + v.is_dict() + v.is_tuple();
    EXPECT_EQ(count, 1);
  }
  EXPECT_TRUE(values[0].is_none());
  EXPECT_TRUE(values[1].is_bool());
  EXPECT_TRUE(values[2].is_int());
  EXPECT_TRUE(values[3].is_float());
  EXPECT_TRUE(values[4].is_string());
  EXPECT_TRUE(values[5].is_tensor());
  EXPECT_TRUE(values[6].is_list());
  EXPECT_TRUE(values[7].is_dict());
  EXPECT_TRUE(values[8].is_tuple());
}

TEST(Value, KindNames) {
  EXPECT_EQ(kind_name(Value::Kind::None), "none");
  EXPECT_EQ(kind_name(Value::Kind::Bool), "bool");
  EXPECT_EQ(kind_name(Value::Kind::Int), "int");
  EXPECT_EQ(kind_name(Value::Kind::Float), "float");
  EXPECT_EQ(kind_name(Value::Kind::String), "string");
  EXPECT_EQ(kind_name(Value::Kind::Tensor), "tensor");
  EXPECT_EQ(kind_name(Value::Kind::List), "list");
  EXPECT_EQ(kind_name(Value::Kind::Dict), "dict");
  EXPECT_EQ(kind_name(Value::Kind::Tuple), "tuple");
}

TEST(Value, AsFloatAcceptsIntsAsIntDoesNotAcceptFloats) {
  EXPECT_EQ(Value(3).as_float(), 3.0);
  EXPECT_EQ(Value(-7).as_float(), -7.0);
  WICK_EXPECT_THROW_MSG(Value(3.0).as_int(), ArgumentError,
                        "Value::as_int: expected an int, got float");
  WICK_EXPECT_THROW_MSG(Value(true).as_int(), ArgumentError,
                        "Value::as_int: expected an int, got bool");
  WICK_EXPECT_THROW_MSG(Value(true).as_float(), ArgumentError,
                        "Value::as_float: expected a float or int, got bool");
  WICK_EXPECT_THROW_MSG(Value("1.5").as_float(), ArgumentError,
                        "Value::as_float: expected a float or int, got string");
}

TEST(Value, AccessorErrorsNameOperationExpectedAndActualKind) {
  WICK_EXPECT_THROW_MSG(Value(List{}).tensor(), ArgumentError,
                        "Value::tensor: expected a tensor, got list");
  WICK_EXPECT_THROW_MSG(Value(1).as_bool(), ArgumentError,
                        "Value::as_bool: expected a bool, got int");
  WICK_EXPECT_THROW_MSG(Value().as_string(), ArgumentError,
                        "Value::as_string: expected a string, got none");
  WICK_EXPECT_THROW_MSG(Value(arange(2)).list(), ArgumentError,
                        "Value::list: expected a list, got tensor");
  WICK_EXPECT_THROW_MSG(Value(List{}).dict(), ArgumentError,
                        "Value::dict: expected a dict, got list");
  WICK_EXPECT_THROW_MSG(Value(Dict{}).as_int(), ArgumentError,
                        "Value::as_int: expected an int, got dict");
  WICK_EXPECT_THROW_MSG(Value(0.5).as_string(), ArgumentError,
                        "Value::as_string: expected a string, got float");
  // The non-const overloads check the same way.
  Value v("text");
  WICK_EXPECT_THROW_MSG(v.tensor(), ArgumentError, "Value::tensor: expected a tensor, got string");
  WICK_EXPECT_THROW_MSG(v.list(), ArgumentError, "Value::list: expected a list, got string");
  WICK_EXPECT_THROW_MSG(v.dict(), ArgumentError, "Value::dict: expected a dict, got string");
}

TEST(Value, EveryAccessorRejectsEveryOtherKind) {
  const std::vector<Value> values = one_of_each();
  for (const Value& v : values) {
    SCOPED_TRACE(kind_name(v.kind()));
    const std::string got = std::string(", got ") + std::string(kind_name(v.kind()));
    if (!v.is_bool()) WICK_EXPECT_THROW_MSG(v.as_bool(), ArgumentError, got);
    if (!v.is_int()) WICK_EXPECT_THROW_MSG(v.as_int(), ArgumentError, got);
    if (!v.is_int() && !v.is_float()) WICK_EXPECT_THROW_MSG(v.as_float(), ArgumentError, got);
    if (!v.is_string()) WICK_EXPECT_THROW_MSG(v.as_string(), ArgumentError, got);
    if (!v.is_tensor()) WICK_EXPECT_THROW_MSG(v.tensor(), ArgumentError, got);
    if (!v.is_list()) WICK_EXPECT_THROW_MSG(v.list(), ArgumentError, got);
    if (!v.is_dict()) WICK_EXPECT_THROW_MSG(v.dict(), ArgumentError, got);
    if (!v.is_tuple()) WICK_EXPECT_THROW_MSG(v.tuple(), ArgumentError, got);
    if (!v.is_list() && !v.is_dict() && !v.is_tuple())
      WICK_EXPECT_THROW_MSG(v.size(), ArgumentError, got);
    if (!v.is_list() && !v.is_tuple()) WICK_EXPECT_THROW_MSG(v[0], ArgumentError, got);
    if (!v.is_dict()) WICK_EXPECT_THROW_MSG(v["k"], ArgumentError, got);
    if (!v.is_dict()) WICK_EXPECT_THROW_MSG(v.at(0), ArgumentError, got);
  }
}

TEST(Value, MutableAccessorsModifyInPlace) {
  Value v(Dict{{"t", zeros({2})}, {"l", List{1}}, {"n", 1}});
  v["l"].list().push_back("x");
  v["l"][0] = 10;
  v["n"] = "replaced";
  v.dict().insert_or_assign("extra", 2.5);
  v["t"].tensor() = ones({3});
  EXPECT_EQ(v["l"].size(), 2u);
  EXPECT_EQ(v["l"][0].as_int(), 10);
  EXPECT_EQ(v["l"][1].as_string(), "x");
  EXPECT_EQ(v["n"].as_string(), "replaced");
  EXPECT_EQ(v["extra"].as_float(), 2.5);
  EXPECT_EQ(v["t"].tensor().shape(), (Shape{3}));
}

TEST(Value, ListIndexOutOfRange) {
  const Value v = {1, 2};
  EXPECT_EQ(v[1].as_int(), 2);
  WICK_EXPECT_THROW_MSG(v[3], ArgumentError,
                        "Value[3]: index 3 out of range for a list of 2 items");
  WICK_EXPECT_THROW_MSG(v[2], ArgumentError,
                        "Value[2]: index 2 out of range for a list of 2 items");
  WICK_EXPECT_THROW_MSG(Value(List{}).operator[](0), ArgumentError,
                        "Value[0]: index 0 out of range for a list of 0 items");
  WICK_EXPECT_THROW_MSG(Value(List{5})[1], ArgumentError,
                        "Value[1]: index 1 out of range for a list of 1 item");
  Value m = {1};
  WICK_EXPECT_THROW_MSG(m[7], ArgumentError, "index 7 out of range");
}

TEST(Value, IndexOnWrongKind) {
  WICK_EXPECT_THROW_MSG(Value(4)[0], ArgumentError, "Value[0]: expected a list or tuple, got int");
  WICK_EXPECT_THROW_MSG(Value(Dict{{"a", 1}})[0], ArgumentError,
                        "Value[0]: expected a list or tuple, got dict");
  WICK_EXPECT_THROW_MSG(Value(List{1})["a"], ArgumentError,
                        "Value[\"a\"]: expected a dict, got list");
  WICK_EXPECT_THROW_MSG(Value(arange(3)).at("a"), ArgumentError,
                        "Value[\"a\"]: expected a dict, got tensor");
}

TEST(Value, MissingKeyListsTheKeys) {
  Value v(Dict{{"x", 1}, {"y", 2}});
  EXPECT_EQ(v.at("y").as_int(), 2);
  WICK_EXPECT_THROW_MSG(v["w"], ArgumentError, "Value[\"w\"]: no key 'w' (keys: 'x', 'y')");
  WICK_EXPECT_THROW_MSG(std::as_const(v)["w"], ArgumentError, "no key 'w' (keys: 'x', 'y')");
  WICK_EXPECT_THROW_MSG(Value(Dict{})["a"], ArgumentError, "Value[\"a\"]: no key 'a' (keys: none)");
}

TEST(Value, MissingKeyMessageStaysShortForLargeDicts) {
  Dict d;
  for (int i = 0; i < 1000; ++i)
    d.insert("layer" + std::to_string(i), i);
  const Value v(std::move(d));
  try {
    (void)v["nope"];
    ADD_FAILURE() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'layer0', 'layer1'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("... (980 more)"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("'layer999'"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 400u) << msg;
  }
}

TEST(Value, Size) {
  EXPECT_EQ(Value({1, 2, 3}).size(), 3u);
  EXPECT_EQ(Value(Dict{{"a", 1}}).size(), 1u);
  WICK_EXPECT_THROW_MSG(Value(1).size(), ArgumentError,
                        "Value::size: expected a list, tuple or dict, got int");
  WICK_EXPECT_THROW_MSG(Value("abc").size(), ArgumentError,
                        "Value::size: expected a list, tuple or dict, got string");
  WICK_EXPECT_THROW_MSG(Value(arange(3)).size(), ArgumentError,
                        "Value::size: expected a list, tuple or dict, got tensor");
}

TEST(Value, DictKeepsInsertionOrderAndRejectsDuplicates) {
  Dict d;
  d.insert("zeta", 1);
  d.insert("alpha", 2);
  d.insert("mid", 3);
  WICK_EXPECT_THROW_MSG(d.insert("alpha", 9), ArgumentError, "duplicate key 'alpha'");
  d.insert_or_assign("zeta", 10);  // in place: keeps its position
  const Value v(d);
  EXPECT_EQ(v.dict().keys(), (std::vector<Key>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(v["zeta"].as_int(), 10);
  EXPECT_EQ(v["alpha"].as_int(), 2);
  EXPECT_EQ(repr(v), "{'zeta': 10, 'alpha': 2, 'mid': 3}");
  WICK_EXPECT_THROW_MSG((Dict{{"a", 1}, {"a", 2}}), ArgumentError, "duplicate key 'a'");
}

TEST(Value, DictEraseAndPopWithStringAndIntKeys) {
  Value ckpt(Dict{{"model", Dict{{"w", 1}}}, {"epoch", 3}, {0, "zero"}, {"loss", 0.5}});
  ckpt.dict().erase("epoch");  // del ckpt["epoch"]
  EXPECT_EQ(repr(ckpt), "{'model': {'w': 1}, 0: 'zero', 'loss': 0.5}");
  EXPECT_EQ(ckpt.dict().pop(0).as_string(), "zero");  // ckpt.pop(0): the int key
  EXPECT_EQ(ckpt.dict().pop("missing", Value()).kind(), Value::Kind::None);
  EXPECT_EQ(ckpt.dict().pop("loss", Value(1.0)).as_float(), 0.5);
  EXPECT_EQ(ckpt.dict().keys(), (std::vector<Key>{"model"}));
  EXPECT_EQ(ckpt["model"]["w"].as_int(), 1);
  ckpt.dict().insert("epoch", 4);
  EXPECT_EQ(repr(ckpt), "{'model': {'w': 1}, 'epoch': 4}");
  // The int 0 and the string "0" stay distinct keys.
  Dict d{{0, 1}, {"0", 2}};
  d.erase("0");
  EXPECT_EQ(d.keys(), (std::vector<Key>{0}));
  WICK_EXPECT_THROW_MSG(d.erase("0"), ArgumentError, "dict erase: no key '0'");
  WICK_EXPECT_THROW_MSG(d.pop(1), ArgumentError, "dict pop: no key 1");
  WICK_EXPECT_THROW_MSG(ckpt.dict().erase("epochs"), ArgumentError, "dict erase: no key 'epochs'");
}

// PyTorch's optimizer state is keyed by parameter index: {0: {...}, 1: {...}}.
TEST(Value, DictsHoldIntKeysBesideStringKeys) {
  Value state(Dict{{0, Dict{{"step", 3}}}, {1, Dict{{"step", 4}}}, {"0", "a string key"}});
  EXPECT_EQ(state.size(), 3U);
  EXPECT_EQ(state.at(0)["step"].as_int(), 3);
  EXPECT_EQ(state.at(1).at("step").as_int(), 4);
  EXPECT_EQ(state["0"].as_string(), "a string key");  // the int 0 and the string "0" differ
  state.at(1)["step"] = 5;
  EXPECT_EQ(state.at(1)["step"].as_int(), 5);
  WICK_EXPECT_THROW_MSG(state.at(2), ArgumentError, "Value.at(2): no key 2 (keys: 0, 1, '0')");
  WICK_EXPECT_THROW_MSG(state["1"], ArgumentError, "Value[\"1\"]: no key '1' (keys: 0, 1, '0')");
  WICK_EXPECT_THROW_MSG(Dict({{7, 1}, {7, 2}}), ArgumentError, "dict insert: duplicate key 7");
  // Keys know their kind.
  const std::vector<Key> keys = state.dict().keys();
  ASSERT_EQ(keys.size(), 3U);
  EXPECT_TRUE(keys[0].is_int());
  EXPECT_EQ(keys[1].as_int(), 1);
  EXPECT_EQ(keys[2].str(), "0");
  EXPECT_EQ(keys[0].text(), keys[2].text());
  EXPECT_NE(keys[0], keys[2]);
  WICK_EXPECT_THROW_MSG(keys[0].str(), ArgumentError, "Key::str: the key is the int 0");
  WICK_EXPECT_THROW_MSG(keys[2].as_int(), ArgumentError, "Key::as_int: the key is the string '0'");
  EXPECT_EQ(Key(int64_t{-5}).repr(), "-5");
  // A char is no int key ('a' would be 97), and no unsigned value above 2^63-1 fits one.
  static_assert(!std::is_convertible_v<char, Key> && !std::is_convertible_v<unsigned char, Key>);
  static_assert(std::is_convertible_v<uint32_t, Key> && std::is_convertible_v<int16_t, Key>);
  EXPECT_EQ(Key(uint64_t{INT64_MAX}).as_int(), INT64_MAX);
  WICK_EXPECT_THROW_MSG(Key(uint64_t{1} << 63), ArgumentError,
                        "Key: 9223372036854775808 is above the largest int key, 2^63-1");
  EXPECT_EQ(Key("it's").repr(), "\"it's\"");
}

TEST(Value, TuplesAreSequencesDistinctFromLists) {
  const Value betas(Tuple{0.9, 0.999});
  EXPECT_TRUE(betas.is_tuple());
  EXPECT_EQ(betas.size(), 2U);
  EXPECT_EQ(betas[1].as_float(), 0.999);
  EXPECT_NE(betas, Value(List{0.9, 0.999}));
  EXPECT_EQ(betas, Value(Tuple{0.9, 0.999}));
  WICK_EXPECT_THROW_MSG(betas[2], ArgumentError, "index 2 out of range for a tuple of 2 items");
  WICK_EXPECT_THROW_MSG(betas.list(), ArgumentError, "Value::list: expected a list, got tuple");
  Value t(Tuple{1});
  t.tuple().push_back(2);
  EXPECT_EQ(t, Value(Tuple{1, 2}));
}

TEST(Value, FromTensorDictKeepsOrderAndSharesTensors) {
  TensorDict sd;
  sd.insert("fc2.weight", ones({2, 3}));
  sd.insert("fc1.weight", zeros({3, 4}));
  sd.insert("fc1.bias", zeros({3}));
  const Value v(sd);
  ASSERT_TRUE(v.is_dict());
  const std::vector<std::string> names = sd.keys();
  EXPECT_EQ(v.dict().keys(), std::vector<Key>(names.begin(), names.end()));
  for (const auto& [key, t] : sd) {
    ASSERT_TRUE(v[key].is_tensor()) << key;
    EXPECT_TRUE(v[key].tensor().is_same(t)) << key;
  }
  EXPECT_TRUE(Value(TensorDict{}).is_dict());
  EXPECT_EQ(Value(TensorDict{}).size(), 0u);
}

TEST(Value, ToTensorDictRoundTrip) {
  TensorDict sd;
  sd.insert("b", arange(3));
  sd.insert("a", zeros({2, 2}));
  const Value v(sd);
  const TensorDict back = v.to_tensor_dict();
  EXPECT_EQ(back.keys(), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(back.at("b").is_same(sd.at("b")));
  EXPECT_TRUE(back.at("a").is_same(sd.at("a")));

  const TensorDict implicit = v;  // operator TensorDict
  EXPECT_EQ(implicit.keys(), sd.keys());
  EXPECT_EQ(Value(Dict{}).to_tensor_dict().size(), 0u);

  // A Dict built by hand converts the same way.
  const Value hand(Dict{{"w", ones({1})}});
  EXPECT_EQ(hand.to_tensor_dict().keys(), (std::vector<std::string>{"w"}));
}

TEST(Value, ToTensorDictErrors) {
  WICK_EXPECT_THROW_MSG(
      Value({arange(2)}).to_tensor_dict(), ArgumentError,
      "Value::to_tensor_dict: expected a dict of tensors (a state_dict), got list");
  WICK_EXPECT_THROW_MSG(Value(arange(2)).to_tensor_dict(), ArgumentError,
                        "expected a dict of tensors (a state_dict), got tensor");
  WICK_EXPECT_THROW_MSG(Value().to_tensor_dict(), ArgumentError,
                        "expected a dict of tensors (a state_dict), got none");
  const Value checkpoint(Dict{{"w", ones({2})}, {"epoch", 3}, {"opt", Dict{}}});
  WICK_EXPECT_THROW_MSG(checkpoint.to_tensor_dict(), ArgumentError,
                        "expected a dict of tensors (a state_dict), but entry 'epoch' is int, "
                        "not a tensor");
  WICK_EXPECT_THROW_MSG(TensorDict(checkpoint), ArgumentError, "entry 'epoch' is int");
  WICK_EXPECT_THROW_MSG(Value(Dict{{"nested", Dict{}}}).to_tensor_dict(), ArgumentError,
                        "entry 'nested' is dict, not a tensor");
  WICK_EXPECT_THROW_MSG(Value(Dict{{0, ones({2})}}).to_tensor_dict(), ArgumentError,
                        "but key 0 is an int; a state_dict is keyed by name");
}

TEST(ValueRepr, Scalars) {
  EXPECT_EQ(repr(Value()), "None");
  EXPECT_EQ(repr(Value(true)), "True");
  EXPECT_EQ(repr(Value(false)), "False");
  EXPECT_EQ(repr(Value(0)), "0");
  EXPECT_EQ(repr(Value(-42)), "-42");
  EXPECT_EQ(repr(Value(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(repr(Value(0.5)), "0.5");
}

// Expected strings are Python 3's repr(float(...)).
TEST(ValueRepr, FloatsMatchPython) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<double, std::string>> cases = {
      {0.1, "0.1"},
      {1.0, "1.0"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {100.0, "100.0"},
      {2.5, "2.5"},
      {0.3, "0.3"},
      {1.0 / 3.0, "0.3333333333333333"},
      {1e20, "1e+20"},
      {1e22, "1e+22"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {1234567890123456.0, "1234567890123456.0"},
      {12345678901234567.0, "1.2345678901234568e+16"},
      {123456789.0, "123456789.0"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {-1.25e-7, "-1.25e-07"},
      {1.5e300, "1.5e+300"},
      {5e-324, "5e-324"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {inf, "inf"},
      {-inf, "-inf"},
      {nan, "nan"},
  };
  for (const auto& [x, want] : cases)
    EXPECT_EQ(repr(Value(x)), want) << want;
  EXPECT_EQ(repr(Value(0.1f)), "0.10000000149011612");
}

TEST(ValueRepr, StringsUsePythonQuoting) {
  EXPECT_EQ(repr(Value("text")), "'text'");
  EXPECT_EQ(repr(Value("")), "''");
  EXPECT_EQ(repr(Value("it's")), "\"it's\"");
  EXPECT_EQ(repr(Value("say \"hi\"")), "'say \"hi\"'");
  EXPECT_EQ(repr(Value("both ' and \"")), "'both \\' and \"'");
  EXPECT_EQ(repr(Value("a\\b")), "'a\\\\b'");
  EXPECT_EQ(repr(Value("l1\nl2\tx\r")), "'l1\\nl2\\tx\\r'");
  EXPECT_EQ(repr(Value(std::string("\0\x1f\x7f", 3))), "'\\x00\\x1f\\x7f'");
  EXPECT_EQ(repr(Value("\x1b[0m")), "'\\x1b[0m'");
}

TEST(ValueRepr, NonAsciiStrings) {
  EXPECT_EQ(repr(Value("caf\xc3\xa9")), "'caf\xc3\xa9'");            // 'café'
  EXPECT_EQ(repr(Value("\xe2\x82\xac")), "'\xe2\x82\xac'");          // '€'
  EXPECT_EQ(repr(Value("\xf0\x9f\x98\x80")), "'\xf0\x9f\x98\x80'");  // an emoji
  // Python escapes these Latin-1 code points: U+0085, U+00A0, U+00AD.
  EXPECT_EQ(repr(Value("\xc2\x85\xc2\xa0\xc2\xad")), "'\\x85\\xa0\\xad'");
  // Bytes that are not UTF-8 (lone continuation, truncated sequence, overlong, surrogate).
  EXPECT_EQ(repr(Value("\x80")), "'\\x80'");
  EXPECT_EQ(repr(Value("a\xe2\x82")), "'a\\xe2\\x82'");
  EXPECT_EQ(repr(Value("\xc0\xaf")), "'\\xc0\\xaf'");
  EXPECT_EQ(repr(Value("\xed\xa0\x80")), "'\\xed\\xa0\\x80'");
  EXPECT_EQ(repr(Value("\xff")), "'\\xff'");
}

TEST(ValueRepr, Tensors) {
  EXPECT_EQ(repr(Value(arange(4))), "tensor([0, 1, 2, 3])");
  EXPECT_EQ(repr(Value(zeros({4}))), "tensor([0., 0., 0., 0.])");
}

TEST(ValueRepr, TutorialLines) {
  const Value dict(Dict{{"x", arange(4)}, {"y", zeros({4})}});
  EXPECT_EQ(repr(dict), "{'x': tensor([0, 1, 2, 3]), 'y': tensor([0., 0., 0., 0.])}");
  const Value list = {arange(4), zeros({4})};
  EXPECT_EQ(repr(list), "[tensor([0, 1, 2, 3]), tensor([0., 0., 0., 0.])]");
}

TEST(ValueRepr, Containers) {
  EXPECT_EQ(repr(Value(List{})), "[]");
  EXPECT_EQ(repr(Value(Dict{})), "{}");
  EXPECT_EQ(repr(Value({List{}, Dict{}})), "[[], {}]");
  EXPECT_EQ(repr(Value({zeros({2}), nullptr, true, 3, 0.5, "text"})),
            "[tensor([0., 0.]), None, True, 3, 0.5, 'text']");
  EXPECT_EQ(repr(Value(Dict{{"x", 1}, {"it's", {nullptr, true, false, 2.0}}})),
            "{'x': 1, \"it's\": [None, True, False, 2.0]}");
  EXPECT_EQ(repr(Value(Dict{{"a\nb", Dict{{"c", List{1, List{2}}}}}})),
            "{'a\\nb': {'c': [1, [2]]}}");
}

TEST(ValueRepr, TuplesAndIntKeysMatchPython) {
  EXPECT_EQ(repr(Value(Tuple{})), "()");
  EXPECT_EQ(repr(Value(Tuple{1})), "(1,)");
  EXPECT_EQ(repr(Value(Tuple{0.9, 0.999})), "(0.9, 0.999)");
  EXPECT_EQ(repr(Value(Dict{{0, Dict{{"step", 1}}}, {"lr", 0.01}, {-3, Tuple{List{}}}})),
            "{0: {'step': 1}, 'lr': 0.01, -3: ([],)}");
}

TEST(ValueEquality, ScalarsAndKinds) {
  EXPECT_EQ(Value(), Value(nullptr));
  EXPECT_EQ(Value(true), Value(true));
  EXPECT_NE(Value(true), Value(false));
  EXPECT_EQ(Value(3), Value(int64_t{3}));
  EXPECT_NE(Value(3), Value(4));
  EXPECT_EQ(Value("a"), Value(std::string("a")));
  EXPECT_NE(Value("a"), Value("b"));
  EXPECT_EQ(Value(0.5), Value(0.5f));
  // Structural: different kinds never compare equal, unlike Python's 1 == 1.0 == True.
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value(1), Value(true));
  EXPECT_NE(Value(), Value(0));
  EXPECT_NE(Value("1"), Value(1));
  const std::vector<Value> values = one_of_each();
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (std::size_t j = 0; j < values.size(); ++j) {
      EXPECT_EQ(values[i] == values[j], i == j) << i << " vs " << j;
    }
  }
}

TEST(ValueEquality, FloatsCompareBitwise) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Value(nan), Value(nan));
  EXPECT_NE(Value(nan), Value(-nan));
  EXPECT_NE(Value(0.0), Value(-0.0));
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()),
            Value(std::numeric_limits<double>::infinity()));
}

TEST(ValueEquality, TensorsCompareDtypeShapeAndBits) {
  EXPECT_EQ(Value(arange(4)), Value(arange(4)));
  EXPECT_NE(Value(arange(4)), Value(arange(5)));
  EXPECT_NE(Value(zeros({4})), Value(zeros({4}, kInt32))) << "same bytes, different dtype";
  EXPECT_NE(Value(zeros({4})), Value(zeros({2, 2}))) << "same bytes, different shape";
  EXPECT_NE(Value(zeros({1})), Value(zeros({})));
  EXPECT_EQ(Value(zeros({0, 3})), Value(zeros({0, 3})));
  EXPECT_NE(Value(zeros({0, 3})), Value(zeros({3, 0})));
  EXPECT_NE(Value(full({2}, 0.0)), Value(full({2}, -0.0))) << "-0.0 has other bits";

  const float nan_a = std::bit_cast<float>(uint32_t{0x7fc00001});
  const float nan_b = std::bit_cast<float>(uint32_t{0x7fc00002});
  EXPECT_EQ(Value(from_vector<float>({nan_a, 1.0f})), Value(from_vector<float>({nan_a, 1.0f})));
  EXPECT_NE(Value(from_vector<float>({nan_a, 1.0f})), Value(from_vector<float>({nan_b, 1.0f})));

  // Layout does not matter, only the elements.
  const Tensor t = arange(6).reshape({2, 3}).t();
  ASSERT_FALSE(t.is_contiguous());
  EXPECT_EQ(Value(t), Value(t.contiguous()));
  EXPECT_NE(Value(t), Value(arange(6).reshape({3, 2})));
}

TEST(ValueEquality, UndefinedTensors) {
  EXPECT_EQ(Value(Tensor()), Value(Tensor()));
  EXPECT_NE(Value(Tensor()), Value(zeros({0})));
  EXPECT_NE(Value(zeros({0})), Value(Tensor()));
}

TEST(ValueEquality, ContainersAreStructural) {
  EXPECT_EQ(Value({1, "a", arange(3)}), Value({1, "a", arange(3)}));
  EXPECT_NE(Value({1, 2}), Value({2, 1}));
  EXPECT_NE(Value({1, 2}), Value({1, 2, 3}));
  EXPECT_NE(Value(List{}), Value(Dict{}));
  EXPECT_EQ(Value(List{}), Value(List{}));
  EXPECT_EQ(Value(Dict{}), Value(Dict{}));

  const Value a(Dict{{"x", 1}, {"y", List{2.0, "z"}}});
  EXPECT_EQ(a, Value(Dict{{"x", 1}, {"y", List{2.0, "z"}}}));
  EXPECT_NE(a, Value(Dict{{"y", List{2.0, "z"}}, {"x", 1}})) << "dict order is part of the value";
  EXPECT_NE(a, Value(Dict{{"x", 1}, {"w", List{2.0, "z"}}})) << "different key";
  EXPECT_NE(a, Value(Dict{{"x", 1}, {"y", List{2.0, "Z"}}})) << "nested value differs";
  EXPECT_NE(a, Value(Dict{{"x", 1}})) << "fewer entries";

  TensorDict sd;
  sd.insert("w", ones({2}));
  EXPECT_EQ(Value(sd), Value(Dict{{"w", ones({2})}}));
  EXPECT_NE(Value(sd), Value(Dict{{"w", zeros({2})}}));
}

}  // namespace
}  // namespace wick
