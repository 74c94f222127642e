#include <gtest/gtest.h>

#include <sstream>

#include "wick/core/dtype.h"

namespace wick {
namespace {

constexpr DType kAll[] = {kBool,  kUInt8,   kInt8,     kInt16,   kInt32,
                          kInt64, kFloat16, kBFloat16, kFloat32, kFloat64};

TEST(DType, SizesAndNames) {
  const std::size_t sizes[] = {1, 1, 1, 2, 4, 8, 2, 2, 4, 8};
  const char* names[] = {"bool",  "uint8",   "int8",     "int16",   "int32",
                         "int64", "float16", "bfloat16", "float32", "float64"};
  for (int i = 0; i < kNumDTypes; ++i) {
    EXPECT_EQ(dtype_size(kAll[i]), sizes[i]) << names[i];
    EXPECT_EQ(dtype_name(kAll[i]), names[i]);
    EXPECT_EQ(dtype_from_name(names[i]), kAll[i]);
    EXPECT_EQ(dtype_from_code(static_cast<uint8_t>(i)), kAll[i]);
  }
  EXPECT_FALSE(dtype_from_name("float128").has_value());
  EXPECT_FALSE(dtype_from_code(10).has_value());
  EXPECT_FALSE(dtype_from_code(255).has_value());
  std::ostringstream s;
  s << kFloat64;
  EXPECT_EQ(s.str(), "wick.float64");
}

TEST(DType, Categories) {
  EXPECT_FALSE(is_floating(kBool));
  EXPECT_FALSE(is_integral(kBool));
  EXPECT_TRUE(is_integral(kUInt8));
  EXPECT_TRUE(is_integral(kInt64));
  EXPECT_TRUE(is_floating(kBFloat16));
  EXPECT_FALSE(is_integral(kFloat16));
}

// The full table printed by torch 1.13's torch.promote_types(row, column).
TEST(DType, PromotionMatchesPyTorch) {
  const DType expected[kNumDTypes][kNumDTypes] = {
      {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kUInt8, kUInt8, kInt16, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kInt8, kInt16, kInt8, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kInt16, kInt16, kInt16, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kInt32, kInt32, kInt32, kInt32, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kInt64, kInt64, kInt64, kInt64, kInt64, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64},
      {kFloat16, kFloat16, kFloat16, kFloat16, kFloat16, kFloat16, kFloat16, kFloat32, kFloat32,
       kFloat64},
      {kBFloat16, kBFloat16, kBFloat16, kBFloat16, kBFloat16, kBFloat16, kFloat32, kBFloat16,
       kFloat32, kFloat64},
      {kFloat32, kFloat32, kFloat32, kFloat32, kFloat32, kFloat32, kFloat32, kFloat32, kFloat32,
       kFloat64},
      {kFloat64, kFloat64, kFloat64, kFloat64, kFloat64, kFloat64, kFloat64, kFloat64, kFloat64,
       kFloat64},
  };
  for (int a = 0; a < kNumDTypes; ++a) {
    for (int b = 0; b < kNumDTypes; ++b) {
      EXPECT_EQ(promote_types(kAll[a], kAll[b]), expected[a][b])
          << dtype_name(kAll[a]) << " with " << dtype_name(kAll[b]);
    }
  }
}

TEST(DType, TypeMapping) {
  static_assert(dtype_of<int64_t>() == kInt64);
  static_assert(dtype_of<BFloat16>() == kBFloat16);
  static_assert(std::is_same_v<dtype_traits<DType::Float16>::type, Half>);
  int visited = 0;
  for (DType d : kAll) {
    visit_dtype(d, [&](auto tag) {
      using T = typename decltype(tag)::type;
      EXPECT_EQ(dtype_of<T>(), d);
      EXPECT_EQ(sizeof(T), dtype_size(d));
      ++visited;
    });
  }
  EXPECT_EQ(visited, kNumDTypes);
}

}  // namespace
}  // namespace wick
