#include <gtest/gtest.h>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/tensor_dict.h"

namespace wick {
namespace {

TEST(TensorDict, KeepsInsertionOrderAndLooksUp) {
  TensorDict d{{"z", zeros({1})}, {"a", ones({2})}};
  d.insert("m", arange(3));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_TRUE(d.contains("a"));
  EXPECT_FALSE(d.contains("b"));
  EXPECT_EQ(d.find("b"), nullptr);
  EXPECT_EQ(d.at("m").numel(), 3);
  d.insert_or_assign("a", arange(5));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_EQ(d.at("a").numel(), 5);
  d.insert_or_assign("new", zeros({}));
  EXPECT_EQ(d.keys().back(), "new");
}

TEST(TensorDict, Errors) {
  TensorDict d{{"x", zeros({1})}};
  WICK_EXPECT_THROW_MSG(d.insert("x", zeros({1})), ArgumentError, "dict insert: duplicate key 'x'");
  WICK_EXPECT_THROW_MSG(d.at("y"), ArgumentError, "dict lookup: no key 'y' (keys: 'x')");
  WICK_EXPECT_THROW_MSG(TensorDict().at("y"), ArgumentError, "(keys: none)");
  WICK_EXPECT_THROW_MSG((TensorDict{{"k", zeros({1})}, {"k", zeros({1})}}), ArgumentError,
                        "duplicate key 'k'");
}

TEST(TensorDict, EraseAndPopKeepTheOrderOfTheRest) {
  TensorDict d{{"a", zeros({1})}, {"b", ones({2})}, {"c", arange(3)}, {"d", zeros({4})}};
  const Tensor b = d.at("b");
  const Tensor popped = d.pop("b");  // sd.pop("b")
  EXPECT_TRUE(popped.is_same(b));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"a", "c", "d"}));
  d.erase("a");  // del sd["a"]
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"c", "d"}));
  // The index still finds every remaining key at its new place, and new keys append.
  EXPECT_EQ(d.at("c").numel(), 3);
  EXPECT_EQ(d.at("d").numel(), 4);
  EXPECT_FALSE(d.contains("a"));
  EXPECT_FALSE(d.contains("b"));
  d.insert("b", ones({5}));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"c", "d", "b"}));
  EXPECT_EQ(d.at("b").numel(), 5);
  d.insert_or_assign("c", ones({6}));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"c", "d", "b"}));
  EXPECT_EQ(d.at("c").numel(), 6);
  // pop with a default: the default when absent, the value (removed) when present.
  const Tensor fallback = zeros({7});
  EXPECT_TRUE(d.pop("nope", fallback).is_same(fallback));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.pop("d", fallback).numel(), 4);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"c", "b"}));
  d.erase("b");
  d.erase("c");
  EXPECT_TRUE(d.empty());
  d.insert("c", zeros({1}));
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"c"}));
}

// "k" + std::to_string(i) trips GCC 12's -Wrestrict false positive.
std::string key(int i) {
  std::string s = "k";
  return s += std::to_string(i);
}

TEST(TensorDict, EraseEveryOtherOfManyKeepsTheIndexExact) {
  TensorDict d;
  for (int i = 0; i < 200; ++i)
    d.insert(key(i), scalar_tensor(i, kInt64));
  for (int i = 0; i < 200; i += 2)
    d.erase(key(i));
  ASSERT_EQ(d.size(), 100u);
  for (int i = 1; i < 200; i += 2)
    EXPECT_EQ(d.at(key(i)).item().to_int64(), i) << i;
  EXPECT_EQ(d.keys().front(), "k1");
  EXPECT_EQ(d.keys().back(), "k199");
}

TEST(TensorDict, EraseAndPopOfAMissingKeyNameIt) {
  TensorDict d{{"x", zeros({1})}};
  WICK_EXPECT_THROW_MSG(d.erase("y"), ArgumentError, "dict erase: no key 'y'");
  WICK_EXPECT_THROW_MSG(d.pop("hidden.weight"), ArgumentError, "dict pop: no key 'hidden.weight'");
  WICK_EXPECT_THROW_MSG(TensorDict().erase(""), ArgumentError, "dict erase: no key ''");
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"x"}));  // a failed erase changes nothing
}

}  // namespace
}  // namespace wick
