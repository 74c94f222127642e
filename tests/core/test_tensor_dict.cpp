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

}  // namespace
}  // namespace wick
