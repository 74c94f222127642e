// Every expected string below is what PyTorch 1.13 prints for the tensor named in the comment
// above it (repr(), with "torch." replaced by "wick."), produced by the generator script kept at
// the end of this file. Values are chosen to be exactly representable, or built the same way on
// both sides, so the two libraries hold identical bits.

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wick/core/creation.h"
#include "wick/core/print.h"

namespace wick {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// torch.arange(n, dtype=dtype) * 0.5
Tensor halves(int64_t n, DType dtype) {
  std::vector<double> values(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    values[static_cast<std::size_t>(i)] = 0.5 * static_cast<double>(i);
  return from_vector(values).to(dtype);
}

// x = torch.arange(n, dtype=torch.float64); torch.where(x % 2 == 0, x * 0.5 + 1, x * -1e-6)
Tensor tiny_and_big(int64_t n) {
  std::vector<double> values(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto x = static_cast<double>(i);
    values[static_cast<std::size_t>(i)] = i % 2 == 0 ? x * 0.5 + 1 : x * -1e-6;
  }
  return from_vector(values);
}

// torch.Size([2, 3]) prints as "[2, 3]" in wick (the spelling of its error messages too).
TEST(Print, ShapesAndDTypesStream) {
  std::ostringstream s;
  s << zeros({2, 3}).shape() << ' ' << zeros({}).shape() << ' ' << Shape{0, 1} << ' '
    << ones({4}).dtype();
  EXPECT_EQ(s.str(), "[2, 3] [] [0, 1] wick.float32");
  // A Shape is still a std::vector<int64_t> both ways.
  const std::vector<int64_t> plain = zeros({5, 6}).shape();
  const Shape back = plain;
  EXPECT_EQ(back, (Shape{5, 6}));
  EXPECT_EQ(plain, zeros({5, 6}).shape());
}

TEST(Print, EveryDTypeZerosOnes) {
  // torch.zeros(3, dtype=torch.bool)
  EXPECT_EQ(to_string(zeros({3}, kBool)), "tensor([False, False, False])");
  // torch.ones(2, 3, dtype=torch.bool)
  EXPECT_EQ(to_string(ones({2, 3}, kBool)),
            "tensor([[True, True, True],\n"
            "        [True, True, True]])");
  // torch.zeros(3, dtype=torch.uint8)
  EXPECT_EQ(to_string(zeros({3}, kUInt8)), "tensor([0, 0, 0], dtype=wick.uint8)");
  // torch.ones(2, 3, dtype=torch.uint8)
  EXPECT_EQ(to_string(ones({2, 3}, kUInt8)),
            "tensor([[1, 1, 1],\n"
            "        [1, 1, 1]], dtype=wick.uint8)");
  // torch.zeros(3, dtype=torch.int8)
  EXPECT_EQ(to_string(zeros({3}, kInt8)), "tensor([0, 0, 0], dtype=wick.int8)");
  // torch.ones(2, 3, dtype=torch.int8)
  EXPECT_EQ(to_string(ones({2, 3}, kInt8)),
            "tensor([[1, 1, 1],\n"
            "        [1, 1, 1]], dtype=wick.int8)");
  // torch.zeros(3, dtype=torch.int16)
  EXPECT_EQ(to_string(zeros({3}, kInt16)), "tensor([0, 0, 0], dtype=wick.int16)");
  // torch.ones(2, 3, dtype=torch.int16)
  EXPECT_EQ(to_string(ones({2, 3}, kInt16)),
            "tensor([[1, 1, 1],\n"
            "        [1, 1, 1]], dtype=wick.int16)");
  // torch.zeros(3, dtype=torch.int32)
  EXPECT_EQ(to_string(zeros({3}, kInt32)), "tensor([0, 0, 0], dtype=wick.int32)");
  // torch.ones(2, 3, dtype=torch.int32)
  EXPECT_EQ(to_string(ones({2, 3}, kInt32)),
            "tensor([[1, 1, 1],\n"
            "        [1, 1, 1]], dtype=wick.int32)");
  // torch.zeros(3, dtype=torch.int64)
  EXPECT_EQ(to_string(zeros({3}, kInt64)), "tensor([0, 0, 0])");
  // torch.ones(2, 3, dtype=torch.int64)
  EXPECT_EQ(to_string(ones({2, 3}, kInt64)),
            "tensor([[1, 1, 1],\n"
            "        [1, 1, 1]])");
  // torch.zeros(3, dtype=torch.float16)
  EXPECT_EQ(to_string(zeros({3}, kFloat16)), "tensor([0., 0., 0.], dtype=wick.float16)");
  // torch.ones(2, 3, dtype=torch.float16)
  EXPECT_EQ(to_string(ones({2, 3}, kFloat16)),
            "tensor([[1., 1., 1.],\n"
            "        [1., 1., 1.]], dtype=wick.float16)");
  // torch.zeros(3, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(zeros({3}, kBFloat16)), "tensor([0., 0., 0.], dtype=wick.bfloat16)");
  // torch.ones(2, 3, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(ones({2, 3}, kBFloat16)),
            "tensor([[1., 1., 1.],\n"
            "        [1., 1., 1.]], dtype=wick.bfloat16)");
  // torch.zeros(3, dtype=torch.float32)
  EXPECT_EQ(to_string(zeros({3}, kFloat32)), "tensor([0., 0., 0.])");
  // torch.ones(2, 3, dtype=torch.float32)
  EXPECT_EQ(to_string(ones({2, 3}, kFloat32)),
            "tensor([[1., 1., 1.],\n"
            "        [1., 1., 1.]])");
  // torch.zeros(3, dtype=torch.float64)
  EXPECT_EQ(to_string(zeros({3}, kFloat64)), "tensor([0., 0., 0.], dtype=wick.float64)");
  // torch.ones(2, 3, dtype=torch.float64)
  EXPECT_EQ(to_string(ones({2, 3}, kFloat64)),
            "tensor([[1., 1., 1.],\n"
            "        [1., 1., 1.]], dtype=wick.float64)");
}

TEST(Print, IntegerDTypes) {
  // torch.tensor([0, 1, 2, 3], dtype=torch.uint8)
  EXPECT_EQ(to_string(tensor({0, 1, 2, 3}, kUInt8)), "tensor([0, 1, 2, 3], dtype=wick.uint8)");
  // torch.full((2, 2), 7, dtype=torch.uint8)
  EXPECT_EQ(to_string(full({2, 2}, 7, kUInt8)),
            "tensor([[7, 7],\n"
            "        [7, 7]], dtype=wick.uint8)");
  // torch.arange(0, 12, 1, dtype=torch.uint8)
  EXPECT_EQ(to_string(arange(0, 12, 1, kUInt8)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11], dtype=wick.uint8)");
  // torch.tensor([0, 1, 2, 3], dtype=torch.int8)
  EXPECT_EQ(to_string(tensor({0, 1, 2, 3}, kInt8)), "tensor([0, 1, 2, 3], dtype=wick.int8)");
  // torch.full((2, 2), 7, dtype=torch.int8)
  EXPECT_EQ(to_string(full({2, 2}, 7, kInt8)),
            "tensor([[7, 7],\n"
            "        [7, 7]], dtype=wick.int8)");
  // torch.arange(0, 12, 1, dtype=torch.int8)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt8)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11], dtype=wick.int8)");
  // torch.tensor([0, 1, 2, 3], dtype=torch.int16)
  EXPECT_EQ(to_string(tensor({0, 1, 2, 3}, kInt16)), "tensor([0, 1, 2, 3], dtype=wick.int16)");
  // torch.full((2, 2), 7, dtype=torch.int16)
  EXPECT_EQ(to_string(full({2, 2}, 7, kInt16)),
            "tensor([[7, 7],\n"
            "        [7, 7]], dtype=wick.int16)");
  // torch.arange(0, 12, 1, dtype=torch.int16)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt16)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11], dtype=wick.int16)");
  // torch.tensor([0, 1, 2, 3], dtype=torch.int32)
  EXPECT_EQ(to_string(tensor({0, 1, 2, 3}, kInt32)), "tensor([0, 1, 2, 3], dtype=wick.int32)");
  // torch.full((2, 2), 7, dtype=torch.int32)
  EXPECT_EQ(to_string(full({2, 2}, 7, kInt32)),
            "tensor([[7, 7],\n"
            "        [7, 7]], dtype=wick.int32)");
  // torch.arange(0, 12, 1, dtype=torch.int32)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt32)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11], dtype=wick.int32)");
  // torch.tensor([0, 1, 2, 3], dtype=torch.int64)
  EXPECT_EQ(to_string(tensor({0, 1, 2, 3}, kInt64)), "tensor([0, 1, 2, 3])");
  // torch.full((2, 2), 7, dtype=torch.int64)
  EXPECT_EQ(to_string(full({2, 2}, 7, kInt64)),
            "tensor([[7, 7],\n"
            "        [7, 7]])");
  // torch.arange(0, 12, 1, dtype=torch.int64)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt64)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11])");
  // torch.tensor([0, 255, 7], dtype=torch.uint8)
  EXPECT_EQ(to_string(tensor({0, 255, 7}, kUInt8)), "tensor([  0, 255,   7], dtype=wick.uint8)");
  // torch.tensor([-128, 127, 0], dtype=torch.int8)
  EXPECT_EQ(to_string(tensor({-128, 127, 0}, kInt8)),
            "tensor([-128,  127,    0], dtype=wick.int8)");
  // torch.tensor([-32768, 5], dtype=torch.int16)
  EXPECT_EQ(to_string(tensor({-32768, 5}, kInt16)), "tensor([-32768,      5], dtype=wick.int16)");
  // torch.tensor([-2147483648, 2147483647], dtype=torch.int32)
  EXPECT_EQ(to_string(tensor({-2147483648LL, 2147483647LL}, kInt32)),
            "tensor([-2147483648,  2147483647], dtype=wick.int32)");
  // torch.tensor([-2**63, 1])
  EXPECT_EQ(to_string(tensor({std::numeric_limits<int64_t>::min(), int64_t{1}})),
            "tensor([-9223372036854775808,                    1])");
  // torch.tensor([-1, 10, -100])
  EXPECT_EQ(to_string(tensor({-1, 10, -100})), "tensor([  -1,   10, -100])");
  // torch.arange(10)
  EXPECT_EQ(to_string(arange(10)), "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
}

TEST(Print, BoolDType) {
  // torch.tensor([True, False])
  EXPECT_EQ(to_string(tensor({true, false})), "tensor([ True, False])");
  // torch.tensor([True, True])
  EXPECT_EQ(to_string(tensor({true, true})), "tensor([True, True])");
  // torch.tensor([False, False])
  EXPECT_EQ(to_string(tensor({false, false})), "tensor([False, False])");
  // torch.tensor([[True, False], [False, True]])
  EXPECT_EQ(to_string(tensor({{true, false}, {false, true}})),
            "tensor([[ True, False],\n"
            "        [False,  True]])");
  // torch.full((2,), True, dtype=torch.bool)
  EXPECT_EQ(to_string(full({2}, true, kBool)), "tensor([True, True])");
}

TEST(Print, FloatingDTypes) {
  // torch.tensor([0.5, 1.25, -3.75], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({0.5, 1.25, -3.75}, kFloat16)),
            "tensor([ 0.5000,  1.2500, -3.7500], dtype=wick.float16)");
  // torch.full((2, 2), 2.5, dtype=torch.float16)
  EXPECT_EQ(to_string(full({2, 2}, 2.5, kFloat16)),
            "tensor([[2.5000, 2.5000],\n"
            "        [2.5000, 2.5000]], dtype=wick.float16)");
  // torch.arange(0, 1, 0.25, dtype=torch.float16)
  EXPECT_EQ(to_string(arange(0, 1, 0.25, kFloat16)),
            "tensor([0.0000, 0.2500, 0.5000, 0.7500], dtype=wick.float16)");
  // torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({1.0, 2.0, 3.0}, kFloat16)),
            "tensor([1., 2., 3.], dtype=wick.float16)");
  // torch.tensor([0.1, 1 / 3], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({0.1, 1.0 / 3.0}, kFloat16)),
            "tensor([0.1000, 0.3333], dtype=wick.float16)");
  // torch.tensor([0.5, 1.25, -3.75], dtype=torch.bfloat16)
  EXPECT_EQ(to_string(tensor({0.5, 1.25, -3.75}, kBFloat16)),
            "tensor([ 0.5000,  1.2500, -3.7500], dtype=wick.bfloat16)");
  // torch.full((2, 2), 2.5, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(full({2, 2}, 2.5, kBFloat16)),
            "tensor([[2.5000, 2.5000],\n"
            "        [2.5000, 2.5000]], dtype=wick.bfloat16)");
  // torch.arange(0, 1, 0.25, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(arange(0, 1, 0.25, kBFloat16)),
            "tensor([0.0000, 0.2500, 0.5000, 0.7500], dtype=wick.bfloat16)");
  // torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16)
  EXPECT_EQ(to_string(tensor({1.0, 2.0, 3.0}, kBFloat16)),
            "tensor([1., 2., 3.], dtype=wick.bfloat16)");
  // torch.tensor([0.1, 1 / 3], dtype=torch.bfloat16)
  EXPECT_EQ(to_string(tensor({0.1, 1.0 / 3.0}, kBFloat16)),
            "tensor([0.1001, 0.3340], dtype=wick.bfloat16)");
  // torch.tensor([0.5, 1.25, -3.75], dtype=torch.float32)
  EXPECT_EQ(to_string(tensor({0.5, 1.25, -3.75}, kFloat32)), "tensor([ 0.5000,  1.2500, -3.7500])");
  // torch.full((2, 2), 2.5, dtype=torch.float32)
  EXPECT_EQ(to_string(full({2, 2}, 2.5, kFloat32)),
            "tensor([[2.5000, 2.5000],\n"
            "        [2.5000, 2.5000]])");
  // torch.arange(0, 1, 0.25, dtype=torch.float32)
  EXPECT_EQ(to_string(arange(0, 1, 0.25, kFloat32)), "tensor([0.0000, 0.2500, 0.5000, 0.7500])");
  // torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
  EXPECT_EQ(to_string(tensor({1.0, 2.0, 3.0}, kFloat32)), "tensor([1., 2., 3.])");
  // torch.tensor([0.1, 1 / 3], dtype=torch.float32)
  EXPECT_EQ(to_string(tensor({0.1, 1.0 / 3.0}, kFloat32)), "tensor([0.1000, 0.3333])");
  // torch.tensor([0.5, 1.25, -3.75], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({0.5, 1.25, -3.75}, kFloat64)),
            "tensor([ 0.5000,  1.2500, -3.7500], dtype=wick.float64)");
  // torch.full((2, 2), 2.5, dtype=torch.float64)
  EXPECT_EQ(to_string(full({2, 2}, 2.5, kFloat64)),
            "tensor([[2.5000, 2.5000],\n"
            "        [2.5000, 2.5000]], dtype=wick.float64)");
  // torch.arange(0, 1, 0.25, dtype=torch.float64)
  EXPECT_EQ(to_string(arange(0, 1, 0.25, kFloat64)),
            "tensor([0.0000, 0.2500, 0.5000, 0.7500], dtype=wick.float64)");
  // torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({1.0, 2.0, 3.0}, kFloat64)),
            "tensor([1., 2., 3.], dtype=wick.float64)");
  // torch.tensor([0.1, 1 / 3], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({0.1, 1.0 / 3.0}, kFloat64)),
            "tensor([0.1000, 0.3333], dtype=wick.float64)");
  // torch.tensor([0.1, 1 / 3, 65504.0], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({0.1, 1.0 / 3.0, 65504.0}, kFloat16)),
            "tensor([9.9976e-02, 3.3325e-01, 6.5504e+04], dtype=wick.float16)");
  // torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({1.0 / 3.0, 2.0 / 3.0}, kFloat64)),
            "tensor([0.3333, 0.6667], dtype=wick.float64)");
  // torch.tensor([1.5, 2.5])
  EXPECT_EQ(to_string(tensor({1.5, 2.5})), "tensor([1.5000, 2.5000])");
}

TEST(Print, ZeroDim) {
  // torch.tensor(3)
  EXPECT_EQ(to_string(scalar_tensor(3, kInt64)), "tensor(3)");
  // torch.tensor(-7, dtype=torch.int8)
  EXPECT_EQ(to_string(scalar_tensor(-7, kInt8)), "tensor(-7, dtype=wick.int8)");
  // torch.tensor(True)
  EXPECT_EQ(to_string(scalar_tensor(true, kBool)), "tensor(True)");
  // torch.tensor(False)
  EXPECT_EQ(to_string(scalar_tensor(false, kBool)), "tensor(False)");
  // torch.tensor(2.5)
  EXPECT_EQ(to_string(scalar_tensor(2.5, kFloat32)), "tensor(2.5000)");
  // torch.tensor(3.0)
  EXPECT_EQ(to_string(scalar_tensor(3.0, kFloat32)), "tensor(3.)");
  // torch.tensor(0.0)
  EXPECT_EQ(to_string(scalar_tensor(0.0, kFloat32)), "tensor(0.)");
  // torch.tensor(-0.0, dtype=torch.float64)
  EXPECT_EQ(to_string(scalar_tensor(-0.0, kFloat64)), "tensor(-0., dtype=wick.float64)");
  // torch.tensor(1e-5, dtype=torch.float64)
  EXPECT_EQ(to_string(scalar_tensor(1e-5, kFloat64)), "tensor(1.0000e-05, dtype=wick.float64)");
  // torch.tensor(nan)
  EXPECT_EQ(to_string(scalar_tensor(kNan, kFloat32)), "tensor(nan)");
  // torch.tensor(-inf, dtype=torch.float16)
  EXPECT_EQ(to_string(scalar_tensor(-kInf, kFloat16)), "tensor(-inf, dtype=wick.float16)");
  // torch.tensor(1.5, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(scalar_tensor(1.5, kBFloat16)), "tensor(1.5000, dtype=wick.bfloat16)");
  // torch.arange(12).reshape(3, 4)[1][2]
  EXPECT_EQ(to_string(arange(12).reshape({3, 4}).select(0, 1).select(0, 2)), "tensor(6)");
}

TEST(Print, Empty) {
  // torch.zeros(0)
  EXPECT_EQ(to_string(zeros({0})), "tensor([])");
  // torch.zeros(0, 3)
  EXPECT_EQ(to_string(zeros({0, 3})), "tensor([], size=(0, 3))");
  // torch.zeros(3, 0)
  EXPECT_EQ(to_string(zeros({3, 0})), "tensor([], size=(3, 0))");
  // torch.zeros(0, dtype=torch.int64)
  EXPECT_EQ(to_string(zeros({0}, kInt64)), "tensor([], dtype=wick.int64)");
  // torch.zeros(0, dtype=torch.bool)
  EXPECT_EQ(to_string(zeros({0}, kBool)), "tensor([], dtype=wick.bool)");
  // torch.zeros(2, 0, 3, dtype=torch.int8)
  EXPECT_EQ(to_string(zeros({2, 0, 3}, kInt8)), "tensor([], size=(2, 0, 3), dtype=wick.int8)");
  // torch.zeros(0, dtype=torch.float16)
  EXPECT_EQ(to_string(zeros({0}, kFloat16)), "tensor([], dtype=wick.float16)");
  // torch.zeros(0, 1, dtype=torch.float64)
  EXPECT_EQ(to_string(zeros({0, 1}, kFloat64)), "tensor([], size=(0, 1), dtype=wick.float64)");
  // torch.arange(10)[4:4]
  EXPECT_EQ(to_string(arange(10).slice(0, 4, 4)), "tensor([], dtype=wick.int64)");
}

TEST(Print, TwoDim) {
  // torch.arange(12).reshape(3, 4)
  EXPECT_EQ(to_string(arange(12).reshape({3, 4})),
            "tensor([[ 0,  1,  2,  3],\n"
            "        [ 4,  5,  6,  7],\n"
            "        [ 8,  9, 10, 11]])");
  // torch.tensor([[1.5, -2.25], [3.0, 4.0]])
  EXPECT_EQ(to_string(tensor({{1.5, -2.25}, {3.0, 4.0}})),
            "tensor([[ 1.5000, -2.2500],\n"
            "        [ 3.0000,  4.0000]])");
  // torch.tensor([[1.0, 20.0], [-300.0, 4.0]], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({{1.0, 20.0}, {-300.0, 4.0}}, kFloat64)),
            "tensor([[   1.,   20.],\n"
            "        [-300.,    4.]], dtype=wick.float64)");
  // torch.ones(1, 1, dtype=torch.int16)
  EXPECT_EQ(to_string(ones({1, 1}, kInt16)), "tensor([[1]], dtype=wick.int16)");
  // torch.zeros(4, 1)
  EXPECT_EQ(to_string(zeros({4, 1})),
            "tensor([[0.],\n"
            "        [0.],\n"
            "        [0.],\n"
            "        [0.]])");
}

TEST(Print, ThreeDimAndUp) {
  // torch.arange(24).reshape(2, 3, 4)
  EXPECT_EQ(to_string(arange(24).reshape({2, 3, 4})),
            "tensor([[[ 0,  1,  2,  3],\n"
            "         [ 4,  5,  6,  7],\n"
            "         [ 8,  9, 10, 11]],\n"
            "\n"
            "        [[12, 13, 14, 15],\n"
            "         [16, 17, 18, 19],\n"
            "         [20, 21, 22, 23]]])");
  // torch.arange(0, 16, 1, dtype=torch.float32).reshape(2, 2, 2, 2)
  EXPECT_EQ(to_string(arange(0, 16, 1, kFloat32).reshape({2, 2, 2, 2})),
            "tensor([[[[ 0.,  1.],\n"
            "          [ 2.,  3.]],\n"
            "\n"
            "         [[ 4.,  5.],\n"
            "          [ 6.,  7.]]],\n"
            "\n"
            "\n"
            "        [[[ 8.,  9.],\n"
            "          [10., 11.]],\n"
            "\n"
            "         [[12., 13.],\n"
            "          [14., 15.]]]])");
  // torch.arange(0, 2, 0.25, dtype=torch.float64).reshape(2, 2, 1, 2)
  EXPECT_EQ(to_string(arange(0, 2, 0.25, kFloat64).reshape({2, 2, 1, 2})),
            "tensor([[[[0.0000, 0.2500]],\n"
            "\n"
            "         [[0.5000, 0.7500]]],\n"
            "\n"
            "\n"
            "        [[[1.0000, 1.2500]],\n"
            "\n"
            "         [[1.5000, 1.7500]]]], dtype=wick.float64)");
  // torch.ones(1, 1, 1, 1, 1, dtype=torch.uint8)
  EXPECT_EQ(to_string(ones({1, 1, 1, 1, 1}, kUInt8)), "tensor([[[[[1]]]]], dtype=wick.uint8)");
}

TEST(Print, ScientificNotation) {
  // torch.tensor([1e-5, 1.0, 100.0])
  EXPECT_EQ(to_string(tensor({1e-5, 1.0, 100.0})), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+02])");
  // torch.tensor([0.5, 600.0])
  EXPECT_EQ(to_string(tensor({0.5, 600.0})), "tensor([5.0000e-01, 6.0000e+02])");
  // torch.tensor([0.5, 400.0])
  EXPECT_EQ(to_string(tensor({0.5, 400.0})), "tensor([  0.5000, 400.0000])");
  // torch.tensor([1.0, 2000.0])
  EXPECT_EQ(to_string(tensor({1.0, 2000.0})), "tensor([1.0000e+00, 2.0000e+03])");
  // torch.tensor([1.0, 1000.0])
  EXPECT_EQ(to_string(tensor({1.0, 1000.0})), "tensor([   1., 1000.])");
  // torch.tensor([1.0, 1e9])
  EXPECT_EQ(to_string(tensor({1.0, 1e9})), "tensor([1.0000e+00, 1.0000e+09])");
  // torch.tensor([123456789.0], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({123456789.0}, kFloat64)), "tensor([1.2346e+08], dtype=wick.float64)");
  // torch.tensor([1e8], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({1e8}, kFloat64)), "tensor([100000000.], dtype=wick.float64)");
  // torch.tensor([100000000.5], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({100000000.5}, kFloat64)), "tensor([1.0000e+08], dtype=wick.float64)");
  // torch.tensor([0.0001, 0.00011], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({0.0001, 0.00011}, kFloat64)),
            "tensor([0.0001, 0.0001], dtype=wick.float64)");
  // torch.tensor([0.00009, 0.0001], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({0.00009, 0.0001}, kFloat64)),
            "tensor([9.0000e-05, 1.0000e-04], dtype=wick.float64)");
  // torch.tensor([-1e-5, 0.0, 2e10, 3.5])
  EXPECT_EQ(to_string(tensor({-1e-5, 0.0, 2e10, 3.5})),
            "tensor([-1.0000e-05,  0.0000e+00,  2.0000e+10,  3.5000e+00])");
  // torch.tensor([1e100, -1e-100], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({1e100, -1e-100}, kFloat64)),
            "tensor([ 1.0000e+100, -1.0000e-100], dtype=wick.float64)");
  // torch.tensor([[1e-8, 1.0], [2.0, 3.0]], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({{1e-8, 1.0}, {2.0, 3.0}}, kFloat64)),
            "tensor([[1.0000e-08, 1.0000e+00],\n"
            "        [2.0000e+00, 3.0000e+00]], dtype=wick.float64)");
  // torch.tensor([0.001, 65504.0], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({0.001, 65504.0}, kFloat16)),
            "tensor([1.0004e-03, 6.5504e+04], dtype=wick.float16)");
  // torch.tensor([1e-30, 1e30], dtype=torch.bfloat16)
  EXPECT_EQ(to_string(tensor({1e-30, 1e30}, kBFloat16)),
            "tensor([9.9840e-31, 1.0003e+30], dtype=wick.bfloat16)");
}

TEST(Print, Negatives) {
  // torch.tensor([-1.5, 2.25, -3.0])
  EXPECT_EQ(to_string(tensor({-1.5, 2.25, -3.0})), "tensor([-1.5000,  2.2500, -3.0000])");
  // torch.tensor([-1.0, 2.0])
  EXPECT_EQ(to_string(tensor({-1.0, 2.0})), "tensor([-1.,  2.])");
  // torch.tensor([-0.0, 0.5])
  EXPECT_EQ(to_string(tensor({-0.0, 0.5})), "tensor([-0.0000, 0.5000])");
  // torch.tensor([-0.0, 0.0])
  EXPECT_EQ(to_string(tensor({-0.0, 0.0})), "tensor([-0., 0.])");
  // torch.tensor([-0.5, -0.25], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({-0.5, -0.25}, kFloat64)),
            "tensor([-0.5000, -0.2500], dtype=wick.float64)");
  // torch.tensor([[-5, 3], [12, -100]], dtype=torch.int32)
  EXPECT_EQ(to_string(tensor({{-5, 3}, {12, -100}}, kInt32)),
            "tensor([[  -5,    3],\n"
            "        [  12, -100]], dtype=wick.int32)");
}

TEST(Print, NonFinite) {
  // torch.tensor([nan, inf, -inf, 1.0])
  EXPECT_EQ(to_string(tensor({kNan, kInf, -kInf, 1.0})), "tensor([nan, inf, -inf, 1.])");
  // torch.tensor([nan, 1.5])
  EXPECT_EQ(to_string(tensor({kNan, 1.5})), "tensor([   nan, 1.5000])");
  // torch.tensor([-nan, 1.5])
  EXPECT_EQ(to_string(tensor({-kNan, 1.5})), "tensor([   nan, 1.5000])");
  // torch.tensor([inf, -inf])
  EXPECT_EQ(to_string(tensor({kInf, -kInf})), "tensor([inf, -inf])");
  // torch.tensor([nan])
  EXPECT_EQ(to_string(tensor({kNan})), "tensor([nan])");
  // torch.tensor([nan, 0.0, -inf], dtype=torch.float64)
  EXPECT_EQ(to_string(tensor({kNan, 0.0, -kInf}, kFloat64)),
            "tensor([nan, 0., -inf], dtype=wick.float64)");
  // torch.tensor([1e-5, nan, inf])
  EXPECT_EQ(to_string(tensor({1e-5, kNan, kInf})), "tensor([1.0000e-05,        nan,        inf])");
  // torch.tensor([100.0, nan, -inf], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({100.0, kNan, -kInf}, kFloat16)),
            "tensor([100.,  nan, -inf], dtype=wick.float16)");
  // torch.tensor([1e5, -inf], dtype=torch.float16)
  EXPECT_EQ(to_string(tensor({1e5, -kInf}, kFloat16)), "tensor([inf, -inf], dtype=wick.float16)");
  // torch.tensor([[nan, 2.5], [-inf, 1e-3]], dtype=torch.bfloat16)
  EXPECT_EQ(to_string(tensor({{kNan, 2.5}, {-kInf, 1e-3}}, kBFloat16)),
            "tensor([[       nan, 2.5000e+00],\n"
            "        [      -inf, 9.9945e-04]], dtype=wick.bfloat16)");
}

TEST(Print, Summarized) {
  // torch.arange(2000)
  EXPECT_EQ(to_string(arange(2000)), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  // torch.arange(1001)
  EXPECT_EQ(to_string(arange(1001)), "tensor([   0,    1,    2,  ...,  998,  999, 1000])");
  // halves(2000, torch.float32)
  EXPECT_EQ(to_string(halves(2000, kFloat32)),
            "tensor([0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 9.9850e+02, 9.9900e+02,\n"
            "        9.9950e+02])");
  // halves(2000, torch.float64).reshape(40, 50)
  EXPECT_EQ(to_string(halves(2000, kFloat64).reshape({40, 50})),
            "tensor([[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 2.3500e+01, 2.4000e+01,\n"
            "         2.4500e+01],\n"
            "        [2.5000e+01, 2.5500e+01, 2.6000e+01,  ..., 4.8500e+01, 4.9000e+01,\n"
            "         4.9500e+01],\n"
            "        [5.0000e+01, 5.0500e+01, 5.1000e+01,  ..., 7.3500e+01, 7.4000e+01,\n"
            "         7.4500e+01],\n"
            "        ...,\n"
            "        [9.2500e+02, 9.2550e+02, 9.2600e+02,  ..., 9.4850e+02, 9.4900e+02,\n"
            "         9.4950e+02],\n"
            "        [9.5000e+02, 9.5050e+02, 9.5100e+02,  ..., 9.7350e+02, 9.7400e+02,\n"
            "         9.7450e+02],\n"
            "        [9.7500e+02, 9.7550e+02, 9.7600e+02,  ..., 9.9850e+02, 9.9900e+02,\n"
            "         9.9950e+02]], dtype=wick.float64)");
  // torch.arange(10000).reshape(100, 100)
  EXPECT_EQ(to_string(arange(10000).reshape({100, 100})),
            "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
            "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
            "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
            "        ...,\n"
            "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
            "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
            "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])");
  // halves(10000, torch.float32).reshape(100, 100)
  EXPECT_EQ(to_string(halves(10000, kFloat32).reshape({100, 100})),
            "tensor([[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 4.8500e+01, 4.9000e+01,\n"
            "         4.9500e+01],\n"
            "        [5.0000e+01, 5.0500e+01, 5.1000e+01,  ..., 9.8500e+01, 9.9000e+01,\n"
            "         9.9500e+01],\n"
            "        [1.0000e+02, 1.0050e+02, 1.0100e+02,  ..., 1.4850e+02, 1.4900e+02,\n"
            "         1.4950e+02],\n"
            "        ...,\n"
            "        [4.8500e+03, 4.8505e+03, 4.8510e+03,  ..., 4.8985e+03, 4.8990e+03,\n"
            "         4.8995e+03],\n"
            "        [4.9000e+03, 4.9005e+03, 4.9010e+03,  ..., 4.9485e+03, 4.9490e+03,\n"
            "         4.9495e+03],\n"
            "        [4.9500e+03, 4.9505e+03, 4.9510e+03,  ..., 4.9985e+03, 4.9990e+03,\n"
            "         4.9995e+03]])");
  // torch.arange(2000).reshape(10, 10, 20)
  EXPECT_EQ(to_string(arange(2000).reshape({10, 10, 20})),
            "tensor([[[   0,    1,    2,  ...,   17,   18,   19],\n"
            "         [  20,   21,   22,  ...,   37,   38,   39],\n"
            "         [  40,   41,   42,  ...,   57,   58,   59],\n"
            "         ...,\n"
            "         [ 140,  141,  142,  ...,  157,  158,  159],\n"
            "         [ 160,  161,  162,  ...,  177,  178,  179],\n"
            "         [ 180,  181,  182,  ...,  197,  198,  199]],\n"
            "\n"
            "        [[ 200,  201,  202,  ...,  217,  218,  219],\n"
            "         [ 220,  221,  222,  ...,  237,  238,  239],\n"
            "         [ 240,  241,  242,  ...,  257,  258,  259],\n"
            "         ...,\n"
            "         [ 340,  341,  342,  ...,  357,  358,  359],\n"
            "         [ 360,  361,  362,  ...,  377,  378,  379],\n"
            "         [ 380,  381,  382,  ...,  397,  398,  399]],\n"
            "\n"
            "        [[ 400,  401,  402,  ...,  417,  418,  419],\n"
            "         [ 420,  421,  422,  ...,  437,  438,  439],\n"
            "         [ 440,  441,  442,  ...,  457,  458,  459],\n"
            "         ...,\n"
            "         [ 540,  541,  542,  ...,  557,  558,  559],\n"
            "         [ 560,  561,  562,  ...,  577,  578,  579],\n"
            "         [ 580,  581,  582,  ...,  597,  598,  599]],\n"
            "\n"
            "        ...,\n"
            "\n"
            "        [[1400, 1401, 1402,  ..., 1417, 1418, 1419],\n"
            "         [1420, 1421, 1422,  ..., 1437, 1438, 1439],\n"
            "         [1440, 1441, 1442,  ..., 1457, 1458, 1459],\n"
            "         ...,\n"
            "         [1540, 1541, 1542,  ..., 1557, 1558, 1559],\n"
            "         [1560, 1561, 1562,  ..., 1577, 1578, 1579],\n"
            "         [1580, 1581, 1582,  ..., 1597, 1598, 1599]],\n"
            "\n"
            "        [[1600, 1601, 1602,  ..., 1617, 1618, 1619],\n"
            "         [1620, 1621, 1622,  ..., 1637, 1638, 1639],\n"
            "         [1640, 1641, 1642,  ..., 1657, 1658, 1659],\n"
            "         ...,\n"
            "         [1740, 1741, 1742,  ..., 1757, 1758, 1759],\n"
            "         [1760, 1761, 1762,  ..., 1777, 1778, 1779],\n"
            "         [1780, 1781, 1782,  ..., 1797, 1798, 1799]],\n"
            "\n"
            "        [[1800, 1801, 1802,  ..., 1817, 1818, 1819],\n"
            "         [1820, 1821, 1822,  ..., 1837, 1838, 1839],\n"
            "         [1840, 1841, 1842,  ..., 1857, 1858, 1859],\n"
            "         ...,\n"
            "         [1940, 1941, 1942,  ..., 1957, 1958, 1959],\n"
            "         [1960, 1961, 1962,  ..., 1977, 1978, 1979],\n"
            "         [1980, 1981, 1982,  ..., 1997, 1998, 1999]]])");
  // torch.arange(2000).reshape(2, 1000)
  EXPECT_EQ(to_string(arange(2000).reshape({2, 1000})),
            "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
            "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])");
  // torch.arange(2000).reshape(1000, 2)
  EXPECT_EQ(to_string(arange(2000).reshape({1000, 2})),
            "tensor([[   0,    1],\n"
            "        [   2,    3],\n"
            "        [   4,    5],\n"
            "        ...,\n"
            "        [1994, 1995],\n"
            "        [1996, 1997],\n"
            "        [1998, 1999]])");
  // torch.arange(0, 2000, 1, dtype=torch.int16).reshape(5, 4, 100)
  EXPECT_EQ(to_string(arange(0, 2000, 1, kInt16).reshape({5, 4, 100})),
            "tensor([[[   0,    1,    2,  ...,   97,   98,   99],\n"
            "         [ 100,  101,  102,  ...,  197,  198,  199],\n"
            "         [ 200,  201,  202,  ...,  297,  298,  299],\n"
            "         [ 300,  301,  302,  ...,  397,  398,  399]],\n"
            "\n"
            "        [[ 400,  401,  402,  ...,  497,  498,  499],\n"
            "         [ 500,  501,  502,  ...,  597,  598,  599],\n"
            "         [ 600,  601,  602,  ...,  697,  698,  699],\n"
            "         [ 700,  701,  702,  ...,  797,  798,  799]],\n"
            "\n"
            "        [[ 800,  801,  802,  ...,  897,  898,  899],\n"
            "         [ 900,  901,  902,  ...,  997,  998,  999],\n"
            "         [1000, 1001, 1002,  ..., 1097, 1098, 1099],\n"
            "         [1100, 1101, 1102,  ..., 1197, 1198, 1199]],\n"
            "\n"
            "        [[1200, 1201, 1202,  ..., 1297, 1298, 1299],\n"
            "         [1300, 1301, 1302,  ..., 1397, 1398, 1399],\n"
            "         [1400, 1401, 1402,  ..., 1497, 1498, 1499],\n"
            "         [1500, 1501, 1502,  ..., 1597, 1598, 1599]],\n"
            "\n"
            "        [[1600, 1601, 1602,  ..., 1697, 1698, 1699],\n"
            "         [1700, 1701, 1702,  ..., 1797, 1798, 1799],\n"
            "         [1800, 1801, 1802,  ..., 1897, 1898, 1899],\n"
            "         [1900, 1901, 1902,  ..., 1997, 1998, 1999]]], dtype=wick.int16)");
  // halves(1024, torch.float16).reshape(4, 4, 8, 8)
  EXPECT_EQ(to_string(halves(1024, kFloat16).reshape({4, 4, 8, 8})),
            "tensor([[[[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 2.5000e+00,\n"
            "           3.0000e+00, 3.5000e+00],\n"
            "          [4.0000e+00, 4.5000e+00, 5.0000e+00,  ..., 6.5000e+00,\n"
            "           7.0000e+00, 7.5000e+00],\n"
            "          [8.0000e+00, 8.5000e+00, 9.0000e+00,  ..., 1.0500e+01,\n"
            "           1.1000e+01, 1.1500e+01],\n"
            "          ...,\n"
            "          [2.0000e+01, 2.0500e+01, 2.1000e+01,  ..., 2.2500e+01,\n"
            "           2.3000e+01, 2.3500e+01],\n"
            "          [2.4000e+01, 2.4500e+01, 2.5000e+01,  ..., 2.6500e+01,\n"
            "           2.7000e+01, 2.7500e+01],\n"
            "          [2.8000e+01, 2.8500e+01, 2.9000e+01,  ..., 3.0500e+01,\n"
            "           3.1000e+01, 3.1500e+01]],\n"
            "\n"
            "         [[3.2000e+01, 3.2500e+01, 3.3000e+01,  ..., 3.4500e+01,\n"
            "           3.5000e+01, 3.5500e+01],\n"
            "          [3.6000e+01, 3.6500e+01, 3.7000e+01,  ..., 3.8500e+01,\n"
            "           3.9000e+01, 3.9500e+01],\n"
            "          [4.0000e+01, 4.0500e+01, 4.1000e+01,  ..., 4.2500e+01,\n"
            "           4.3000e+01, 4.3500e+01],\n"
            "          ...,\n"
            "          [5.2000e+01, 5.2500e+01, 5.3000e+01,  ..., 5.4500e+01,\n"
            "           5.5000e+01, 5.5500e+01],\n"
            "          [5.6000e+01, 5.6500e+01, 5.7000e+01,  ..., 5.8500e+01,\n"
            "           5.9000e+01, 5.9500e+01],\n"
            "          [6.0000e+01, 6.0500e+01, 6.1000e+01,  ..., 6.2500e+01,\n"
            "           6.3000e+01, 6.3500e+01]],\n"
            "\n"
            "         [[6.4000e+01, 6.4500e+01, 6.5000e+01,  ..., 6.6500e+01,\n"
            "           6.7000e+01, 6.7500e+01],\n"
            "          [6.8000e+01, 6.8500e+01, 6.9000e+01,  ..., 7.0500e+01,\n"
            "           7.1000e+01, 7.1500e+01],\n"
            "          [7.2000e+01, 7.2500e+01, 7.3000e+01,  ..., 7.4500e+01,\n"
            "           7.5000e+01, 7.5500e+01],\n"
            "          ...,\n"
            "          [8.4000e+01, 8.4500e+01, 8.5000e+01,  ..., 8.6500e+01,\n"
            "           8.7000e+01, 8.7500e+01],\n"
            "          [8.8000e+01, 8.8500e+01, 8.9000e+01,  ..., 9.0500e+01,\n"
            "           9.1000e+01, 9.1500e+01],\n"
            "          [9.2000e+01, 9.2500e+01, 9.3000e+01,  ..., 9.4500e+01,\n"
            "           9.5000e+01, 9.5500e+01]],\n"
            "\n"
            "         [[9.6000e+01, 9.6500e+01, 9.7000e+01,  ..., 9.8500e+01,\n"
            "           9.9000e+01, 9.9500e+01],\n"
            "          [1.0000e+02, 1.0050e+02, 1.0100e+02,  ..., 1.0250e+02,\n"
            "           1.0300e+02, 1.0350e+02],\n"
            "          [1.0400e+02, 1.0450e+02, 1.0500e+02,  ..., 1.0650e+02,\n"
            "           1.0700e+02, 1.0750e+02],\n"
            "          ...,\n"
            "          [1.1600e+02, 1.1650e+02, 1.1700e+02,  ..., 1.1850e+02,\n"
            "           1.1900e+02, 1.1950e+02],\n"
            "          [1.2000e+02, 1.2050e+02, 1.2100e+02,  ..., 1.2250e+02,\n"
            "           1.2300e+02, 1.2350e+02],\n"
            "          [1.2400e+02, 1.2450e+02, 1.2500e+02,  ..., 1.2650e+02,\n"
            "           1.2700e+02, 1.2750e+02]]],\n"
            "\n"
            "\n"
            "        [[[1.2800e+02, 1.2850e+02, 1.2900e+02,  ..., 1.3050e+02,\n"
            "           1.3100e+02, 1.3150e+02],\n"
            "          [1.3200e+02, 1.3250e+02, 1.3300e+02,  ..., 1.3450e+02,\n"
            "           1.3500e+02, 1.3550e+02],\n"
            "          [1.3600e+02, 1.3650e+02, 1.3700e+02,  ..., 1.3850e+02,\n"
            "           1.3900e+02, 1.3950e+02],\n"
            "          ...,\n"
            "          [1.4800e+02, 1.4850e+02, 1.4900e+02,  ..., 1.5050e+02,\n"
            "           1.5100e+02, 1.5150e+02],\n"
            "          [1.5200e+02, 1.5250e+02, 1.5300e+02,  ..., 1.5450e+02,\n"
            "           1.5500e+02, 1.5550e+02],\n"
            "          [1.5600e+02, 1.5650e+02, 1.5700e+02,  ..., 1.5850e+02,\n"
            "           1.5900e+02, 1.5950e+02]],\n"
            "\n"
            "         [[1.6000e+02, 1.6050e+02, 1.6100e+02,  ..., 1.6250e+02,\n"
            "           1.6300e+02, 1.6350e+02],\n"
            "          [1.6400e+02, 1.6450e+02, 1.6500e+02,  ..., 1.6650e+02,\n"
            "           1.6700e+02, 1.6750e+02],\n"
            "          [1.6800e+02, 1.6850e+02, 1.6900e+02,  ..., 1.7050e+02,\n"
            "           1.7100e+02, 1.7150e+02],\n"
            "          ...,\n"
            "          [1.8000e+02, 1.8050e+02, 1.8100e+02,  ..., 1.8250e+02,\n"
            "           1.8300e+02, 1.8350e+02],\n"
            "          [1.8400e+02, 1.8450e+02, 1.8500e+02,  ..., 1.8650e+02,\n"
            "           1.8700e+02, 1.8750e+02],\n"
            "          [1.8800e+02, 1.8850e+02, 1.8900e+02,  ..., 1.9050e+02,\n"
            "           1.9100e+02, 1.9150e+02]],\n"
            "\n"
            "         [[1.9200e+02, 1.9250e+02, 1.9300e+02,  ..., 1.9450e+02,\n"
            "           1.9500e+02, 1.9550e+02],\n"
            "          [1.9600e+02, 1.9650e+02, 1.9700e+02,  ..., 1.9850e+02,\n"
            "           1.9900e+02, 1.9950e+02],\n"
            "          [2.0000e+02, 2.0050e+02, 2.0100e+02,  ..., 2.0250e+02,\n"
            "           2.0300e+02, 2.0350e+02],\n"
            "          ...,\n"
            "          [2.1200e+02, 2.1250e+02, 2.1300e+02,  ..., 2.1450e+02,\n"
            "           2.1500e+02, 2.1550e+02],\n"
            "          [2.1600e+02, 2.1650e+02, 2.1700e+02,  ..., 2.1850e+02,\n"
            "           2.1900e+02, 2.1950e+02],\n"
            "          [2.2000e+02, 2.2050e+02, 2.2100e+02,  ..., 2.2250e+02,\n"
            "           2.2300e+02, 2.2350e+02]],\n"
            "\n"
            "         [[2.2400e+02, 2.2450e+02, 2.2500e+02,  ..., 2.2650e+02,\n"
            "           2.2700e+02, 2.2750e+02],\n"
            "          [2.2800e+02, 2.2850e+02, 2.2900e+02,  ..., 2.3050e+02,\n"
            "           2.3100e+02, 2.3150e+02],\n"
            "          [2.3200e+02, 2.3250e+02, 2.3300e+02,  ..., 2.3450e+02,\n"
            "           2.3500e+02, 2.3550e+02],\n"
            "          ...,\n"
            "          [2.4400e+02, 2.4450e+02, 2.4500e+02,  ..., 2.4650e+02,\n"
            "           2.4700e+02, 2.4750e+02],\n"
            "          [2.4800e+02, 2.4850e+02, 2.4900e+02,  ..., 2.5050e+02,\n"
            "           2.5100e+02, 2.5150e+02],\n"
            "          [2.5200e+02, 2.5250e+02, 2.5300e+02,  ..., 2.5450e+02,\n"
            "           2.5500e+02, 2.5550e+02]]],\n"
            "\n"
            "\n"
            "        [[[2.5600e+02, 2.5650e+02, 2.5700e+02,  ..., 2.5850e+02,\n"
            "           2.5900e+02, 2.5950e+02],\n"
            "          [2.6000e+02, 2.6050e+02, 2.6100e+02,  ..., 2.6250e+02,\n"
            "           2.6300e+02, 2.6350e+02],\n"
            "          [2.6400e+02, 2.6450e+02, 2.6500e+02,  ..., 2.6650e+02,\n"
            "           2.6700e+02, 2.6750e+02],\n"
            "          ...,\n"
            "          [2.7600e+02, 2.7650e+02, 2.7700e+02,  ..., 2.7850e+02,\n"
            "           2.7900e+02, 2.7950e+02],\n"
            "          [2.8000e+02, 2.8050e+02, 2.8100e+02,  ..., 2.8250e+02,\n"
            "           2.8300e+02, 2.8350e+02],\n"
            "          [2.8400e+02, 2.8450e+02, 2.8500e+02,  ..., 2.8650e+02,\n"
            "           2.8700e+02, 2.8750e+02]],\n"
            "\n"
            "         [[2.8800e+02, 2.8850e+02, 2.8900e+02,  ..., 2.9050e+02,\n"
            "           2.9100e+02, 2.9150e+02],\n"
            "          [2.9200e+02, 2.9250e+02, 2.9300e+02,  ..., 2.9450e+02,\n"
            "           2.9500e+02, 2.9550e+02],\n"
            "          [2.9600e+02, 2.9650e+02, 2.9700e+02,  ..., 2.9850e+02,\n"
            "           2.9900e+02, 2.9950e+02],\n"
            "          ...,\n"
            "          [3.0800e+02, 3.0850e+02, 3.0900e+02,  ..., 3.1050e+02,\n"
            "           3.1100e+02, 3.1150e+02],\n"
            "          [3.1200e+02, 3.1250e+02, 3.1300e+02,  ..., 3.1450e+02,\n"
            "           3.1500e+02, 3.1550e+02],\n"
            "          [3.1600e+02, 3.1650e+02, 3.1700e+02,  ..., 3.1850e+02,\n"
            "           3.1900e+02, 3.1950e+02]],\n"
            "\n"
            "         [[3.2000e+02, 3.2050e+02, 3.2100e+02,  ..., 3.2250e+02,\n"
            "           3.2300e+02, 3.2350e+02],\n"
            "          [3.2400e+02, 3.2450e+02, 3.2500e+02,  ..., 3.2650e+02,\n"
            "           3.2700e+02, 3.2750e+02],\n"
            "          [3.2800e+02, 3.2850e+02, 3.2900e+02,  ..., 3.3050e+02,\n"
            "           3.3100e+02, 3.3150e+02],\n"
            "          ...,\n"
            "          [3.4000e+02, 3.4050e+02, 3.4100e+02,  ..., 3.4250e+02,\n"
            "           3.4300e+02, 3.4350e+02],\n"
            "          [3.4400e+02, 3.4450e+02, 3.4500e+02,  ..., 3.4650e+02,\n"
            "           3.4700e+02, 3.4750e+02],\n"
            "          [3.4800e+02, 3.4850e+02, 3.4900e+02,  ..., 3.5050e+02,\n"
            "           3.5100e+02, 3.5150e+02]],\n"
            "\n"
            "         [[3.5200e+02, 3.5250e+02, 3.5300e+02,  ..., 3.5450e+02,\n"
            "           3.5500e+02, 3.5550e+02],\n"
            "          [3.5600e+02, 3.5650e+02, 3.5700e+02,  ..., 3.5850e+02,\n"
            "           3.5900e+02, 3.5950e+02],\n"
            "          [3.6000e+02, 3.6050e+02, 3.6100e+02,  ..., 3.6250e+02,\n"
            "           3.6300e+02, 3.6350e+02],\n"
            "          ...,\n"
            "          [3.7200e+02, 3.7250e+02, 3.7300e+02,  ..., 3.7450e+02,\n"
            "           3.7500e+02, 3.7550e+02],\n"
            "          [3.7600e+02, 3.7650e+02, 3.7700e+02,  ..., 3.7850e+02,\n"
            "           3.7900e+02, 3.7950e+02],\n"
            "          [3.8000e+02, 3.8050e+02, 3.8100e+02,  ..., 3.8250e+02,\n"
            "           3.8300e+02, 3.8350e+02]]],\n"
            "\n"
            "\n"
            "        [[[3.8400e+02, 3.8450e+02, 3.8500e+02,  ..., 3.8650e+02,\n"
            "           3.8700e+02, 3.8750e+02],\n"
            "          [3.8800e+02, 3.8850e+02, 3.8900e+02,  ..., 3.9050e+02,\n"
            "           3.9100e+02, 3.9150e+02],\n"
            "          [3.9200e+02, 3.9250e+02, 3.9300e+02,  ..., 3.9450e+02,\n"
            "           3.9500e+02, 3.9550e+02],\n"
            "          ...,\n"
            "          [4.0400e+02, 4.0450e+02, 4.0500e+02,  ..., 4.0650e+02,\n"
            "           4.0700e+02, 4.0750e+02],\n"
            "          [4.0800e+02, 4.0850e+02, 4.0900e+02,  ..., 4.1050e+02,\n"
            "           4.1100e+02, 4.1150e+02],\n"
            "          [4.1200e+02, 4.1250e+02, 4.1300e+02,  ..., 4.1450e+02,\n"
            "           4.1500e+02, 4.1550e+02]],\n"
            "\n"
            "         [[4.1600e+02, 4.1650e+02, 4.1700e+02,  ..., 4.1850e+02,\n"
            "           4.1900e+02, 4.1950e+02],\n"
            "          [4.2000e+02, 4.2050e+02, 4.2100e+02,  ..., 4.2250e+02,\n"
            "           4.2300e+02, 4.2350e+02],\n"
            "          [4.2400e+02, 4.2450e+02, 4.2500e+02,  ..., 4.2650e+02,\n"
            "           4.2700e+02, 4.2750e+02],\n"
            "          ...,\n"
            "          [4.3600e+02, 4.3650e+02, 4.3700e+02,  ..., 4.3850e+02,\n"
            "           4.3900e+02, 4.3950e+02],\n"
            "          [4.4000e+02, 4.4050e+02, 4.4100e+02,  ..., 4.4250e+02,\n"
            "           4.4300e+02, 4.4350e+02],\n"
            "          [4.4400e+02, 4.4450e+02, 4.4500e+02,  ..., 4.4650e+02,\n"
            "           4.4700e+02, 4.4750e+02]],\n"
            "\n"
            "         [[4.4800e+02, 4.4850e+02, 4.4900e+02,  ..., 4.5050e+02,\n"
            "           4.5100e+02, 4.5150e+02],\n"
            "          [4.5200e+02, 4.5250e+02, 4.5300e+02,  ..., 4.5450e+02,\n"
            "           4.5500e+02, 4.5550e+02],\n"
            "          [4.5600e+02, 4.5650e+02, 4.5700e+02,  ..., 4.5850e+02,\n"
            "           4.5900e+02, 4.5950e+02],\n"
            "          ...,\n"
            "          [4.6800e+02, 4.6850e+02, 4.6900e+02,  ..., 4.7050e+02,\n"
            "           4.7100e+02, 4.7150e+02],\n"
            "          [4.7200e+02, 4.7250e+02, 4.7300e+02,  ..., 4.7450e+02,\n"
            "           4.7500e+02, 4.7550e+02],\n"
            "          [4.7600e+02, 4.7650e+02, 4.7700e+02,  ..., 4.7850e+02,\n"
            "           4.7900e+02, 4.7950e+02]],\n"
            "\n"
            "         [[4.8000e+02, 4.8050e+02, 4.8100e+02,  ..., 4.8250e+02,\n"
            "           4.8300e+02, 4.8350e+02],\n"
            "          [4.8400e+02, 4.8450e+02, 4.8500e+02,  ..., 4.8650e+02,\n"
            "           4.8700e+02, 4.8750e+02],\n"
            "          [4.8800e+02, 4.8850e+02, 4.8900e+02,  ..., 4.9050e+02,\n"
            "           4.9100e+02, 4.9150e+02],\n"
            "          ...,\n"
            "          [5.0000e+02, 5.0050e+02, 5.0100e+02,  ..., 5.0250e+02,\n"
            "           5.0300e+02, 5.0350e+02],\n"
            "          [5.0400e+02, 5.0450e+02, 5.0500e+02,  ..., 5.0650e+02,\n"
            "           5.0700e+02, 5.0750e+02],\n"
            "          [5.0800e+02, 5.0850e+02, 5.0900e+02,  ..., 5.1050e+02,\n"
            "           5.1100e+02, 5.1150e+02]]]], dtype=wick.float16)");
  // tiny_and_big(1500)
  EXPECT_EQ(to_string(tiny_and_big(1500)),
            "tensor([ 1.0000e+00, -1.0000e-06,  2.0000e+00,  ..., -1.4970e-03,\n"
            "         7.5000e+02, -1.4990e-03], dtype=wick.float64)");
}

TEST(Print, Wrapping) {
  // halves(50, torch.float32)
  EXPECT_EQ(to_string(halves(50, kFloat32)),
            "tensor([ 0.0000,  0.5000,  1.0000,  1.5000,  2.0000,  2.5000,  3.0000,  3.5000,\n"
            "         4.0000,  4.5000,  5.0000,  5.5000,  6.0000,  6.5000,  7.0000,  7.5000,\n"
            "         8.0000,  8.5000,  9.0000,  9.5000, 10.0000, 10.5000, 11.0000, 11.5000,\n"
            "        12.0000, 12.5000, 13.0000, 13.5000, 14.0000, 14.5000, 15.0000, 15.5000,\n"
            "        16.0000, 16.5000, 17.0000, 17.5000, 18.0000, 18.5000, 19.0000, 19.5000,\n"
            "        20.0000, 20.5000, 21.0000, 21.5000, 22.0000, 22.5000, 23.0000, 23.5000,\n"
            "        24.0000, 24.5000])");
  // torch.arange(50)
  EXPECT_EQ(to_string(arange(50)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
            "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n"
            "        36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49])");
  // torch.arange(0, 50, 1, dtype=torch.float64)
  EXPECT_EQ(to_string(arange(0, 50, 1, kFloat64)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
            "        28., 29., 30., 31., 32., 33., 34., 35., 36., 37., 38., 39., 40., 41.,\n"
            "        42., 43., 44., 45., 46., 47., 48., 49.], dtype=wick.float64)");
  // torch.arange(12, 0, -1, dtype=torch.float64)
  EXPECT_EQ(to_string(arange(12, 0, -1, kFloat64)),
            "tensor([12., 11., 10.,  9.,  8.,  7.,  6.,  5.,  4.,  3.,  2.,  1.],\n"
            "       dtype=wick.float64)");
  // torch.arange(0, 30, 1, dtype=torch.int8)
  EXPECT_EQ(to_string(arange(0, 30, 1, kInt8)),
            "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
            "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], dtype=wick.int8)");
  // halves(60, torch.float32).reshape(2, 30)
  EXPECT_EQ(to_string(halves(60, kFloat32).reshape({2, 30})),
            "tensor([[ 0.0000,  0.5000,  1.0000,  1.5000,  2.0000,  2.5000,  3.0000,  3.5000,\n"
            "          4.0000,  4.5000,  5.0000,  5.5000,  6.0000,  6.5000,  7.0000,  7.5000,\n"
            "          8.0000,  8.5000,  9.0000,  9.5000, 10.0000, 10.5000, 11.0000, 11.5000,\n"
            "         12.0000, 12.5000, 13.0000, 13.5000, 14.0000, 14.5000],\n"
            "        [15.0000, 15.5000, 16.0000, 16.5000, 17.0000, 17.5000, 18.0000, 18.5000,\n"
            "         19.0000, 19.5000, 20.0000, 20.5000, 21.0000, 21.5000, 22.0000, 22.5000,\n"
            "         23.0000, 23.5000, 24.0000, 24.5000, 25.0000, 25.5000, 26.0000, 26.5000,\n"
            "         27.0000, 27.5000, 28.0000, 28.5000, 29.0000, 29.5000]])");
  // torch.arange(0, 40, 1).to(torch.bool)
  EXPECT_EQ(to_string(arange(0, 40, 1, kBool)),
            "tensor([False,  True,  True,  True,  True,  True,  True,  True,  True,  True,\n"
            "         True,  True,  True,  True,  True,  True,  True,  True,  True,  True,\n"
            "         True,  True,  True,  True,  True,  True,  True,  True,  True,  True,\n"
            "         True,  True,  True,  True,  True,  True,  True,  True,  True,  True])");
  // halves(40, torch.float64).reshape(2, 2, 10)
  EXPECT_EQ(to_string(halves(40, kFloat64).reshape({2, 2, 10})),
            "tensor([[[ 0.0000,  0.5000,  1.0000,  1.5000,  2.0000,  2.5000,  3.0000,\n"
            "           3.5000,  4.0000,  4.5000],\n"
            "         [ 5.0000,  5.5000,  6.0000,  6.5000,  7.0000,  7.5000,  8.0000,\n"
            "           8.5000,  9.0000,  9.5000]],\n"
            "\n"
            "        [[10.0000, 10.5000, 11.0000, 11.5000, 12.0000, 12.5000, 13.0000,\n"
            "          13.5000, 14.0000, 14.5000],\n"
            "         [15.0000, 15.5000, 16.0000, 16.5000, 17.0000, 17.5000, 18.0000,\n"
            "          18.5000, 19.0000, 19.5000]]], dtype=wick.float64)");
}

TEST(Print, NonContiguousViews) {
  // torch.arange(12).reshape(3, 4).t()
  EXPECT_EQ(to_string(arange(12).reshape({3, 4}).t()),
            "tensor([[ 0,  4,  8],\n"
            "        [ 1,  5,  9],\n"
            "        [ 2,  6, 10],\n"
            "        [ 3,  7, 11]])");
  // torch.arange(12).reshape(3, 4)[:, ::2]
  EXPECT_EQ(to_string(arange(12).reshape({3, 4}).slice(1, 0, 4, 2)),
            "tensor([[ 0,  2],\n"
            "        [ 4,  6],\n"
            "        [ 8, 10]])");
  // torch.arange(12).reshape(3, 4)[1:3]
  EXPECT_EQ(to_string(arange(12).reshape({3, 4}).slice(0, 1, 3)),
            "tensor([[ 4,  5,  6,  7],\n"
            "        [ 8,  9, 10, 11]])");
  // torch.arange(24).reshape(2, 3, 4).transpose(0, 2)
  EXPECT_EQ(to_string(arange(24).reshape({2, 3, 4}).transpose(0, 2)),
            "tensor([[[ 0, 12],\n"
            "         [ 4, 16],\n"
            "         [ 8, 20]],\n"
            "\n"
            "        [[ 1, 13],\n"
            "         [ 5, 17],\n"
            "         [ 9, 21]],\n"
            "\n"
            "        [[ 2, 14],\n"
            "         [ 6, 18],\n"
            "         [10, 22]],\n"
            "\n"
            "        [[ 3, 15],\n"
            "         [ 7, 19],\n"
            "         [11, 23]]])");
  // torch.arange(24).reshape(2, 3, 4).permute(1, 2, 0)[:, :, 1]
  EXPECT_EQ(to_string(arange(24).reshape({2, 3, 4}).permute({1, 2, 0}).select(2, 1)),
            "tensor([[12, 13, 14, 15],\n"
            "        [16, 17, 18, 19],\n"
            "        [20, 21, 22, 23]])");
  // torch.tensor([1, 2, 3]).expand(2, 3)
  EXPECT_EQ(to_string(tensor({1, 2, 3}).expand({2, 3})),
            "tensor([[1, 2, 3],\n"
            "        [1, 2, 3]])");
  // torch.tensor([0.5, -1.25], dtype=torch.float16).unsqueeze(1).expand(2, 3)
  EXPECT_EQ(to_string(tensor({0.5, -1.25}, kFloat16).unsqueeze(1).expand({2, 3})),
            "tensor([[ 0.5000,  0.5000,  0.5000],\n"
            "        [-1.2500, -1.2500, -1.2500]], dtype=wick.float16)");
  // torch.arange(0, 20, 1, dtype=torch.float64)[1::3]
  EXPECT_EQ(to_string(arange(0, 20, 1, kFloat64).slice(0, 1, 20, 3)),
            "tensor([ 1.,  4.,  7., 10., 13., 16., 19.], dtype=wick.float64)");
  // torch.arange(0, 20, 1, dtype=torch.float64).reshape(4, 5).t()[1:4]
  EXPECT_EQ(to_string(arange(0, 20, 1, kFloat64).reshape({4, 5}).t().slice(0, 1, 4)),
            "tensor([[ 1.,  6., 11., 16.],\n"
            "        [ 2.,  7., 12., 17.],\n"
            "        [ 3.,  8., 13., 18.]], dtype=wick.float64)");
  // torch.arange(3000).reshape(30, 100).t()
  EXPECT_EQ(to_string(arange(3000).reshape({30, 100}).t()),
            "tensor([[   0,  100,  200,  ..., 2700, 2800, 2900],\n"
            "        [   1,  101,  201,  ..., 2701, 2801, 2901],\n"
            "        [   2,  102,  202,  ..., 2702, 2802, 2902],\n"
            "        ...,\n"
            "        [  97,  197,  297,  ..., 2797, 2897, 2997],\n"
            "        [  98,  198,  298,  ..., 2798, 2898, 2998],\n"
            "        [  99,  199,  299,  ..., 2799, 2899, 2999]])");
  // torch.arange(3000)[::2]
  EXPECT_EQ(to_string(arange(3000).slice(0, 0, 3000, 2)),
            "tensor([   0,    2,    4,  ..., 2994, 2996, 2998])");
}

TEST(Print, PrintOptionsKnobs) {
  // torch.tensor([1.12345, 2.5]) with set_printoptions(precision=2)
  EXPECT_EQ(to_string(tensor({1.12345, 2.5}), PrintOptions{.precision = 2}),
            "tensor([1.12, 2.50])");
  // torch.tensor([1.12345, 2.5], dtype=torch.float64) with set_printoptions(precision=10)
  EXPECT_EQ(to_string(tensor({1.12345, 2.5}, kFloat64), PrintOptions{.precision = 10}),
            "tensor([1.1234500000, 2.5000000000], dtype=wick.float64)");
  // torch.tensor([1.5, 2.5]) with set_printoptions(precision=0)
  EXPECT_EQ(to_string(tensor({1.5, 2.5}), PrintOptions{.precision = 0}), "tensor([2, 2])");
  // torch.tensor([1e-5, 2.5]) with set_printoptions(precision=0)
  EXPECT_EQ(to_string(tensor({1e-5, 2.5}), PrintOptions{.precision = 0}), "tensor([1e-05, 2e+00])");
  // torch.tensor([1e-5, 2.5]) with set_printoptions(precision=1)
  EXPECT_EQ(to_string(tensor({1e-5, 2.5}), PrintOptions{.precision = 1}),
            "tensor([1.0e-05, 2.5e+00])");
  // torch.arange(10) with set_printoptions(threshold=5)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 5}),
            "tensor([0, 1, 2,  ..., 7, 8, 9])");
  // torch.arange(10) with set_printoptions(threshold=10)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 10}),
            "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
  // torch.arange(10) with set_printoptions(threshold=5, edgeitems=1)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 5, .edgeitems = 1}),
            "tensor([0,  ..., 9])");
  // torch.arange(10) with set_printoptions(threshold=5, edgeitems=0)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 5, .edgeitems = 0}),
            "tensor([ ..., 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
  // torch.arange(10) with set_printoptions(threshold=0, edgeitems=4)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 0, .edgeitems = 4}),
            "tensor([0, 1, 2, 3,  ..., 6, 7, 8, 9])");
  // torch.arange(10) with set_printoptions(threshold=0, edgeitems=5)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 0, .edgeitems = 5}),
            "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
  // torch.arange(100).reshape(10, 10) with set_printoptions(threshold=50, edgeitems=2)
  EXPECT_EQ(to_string(arange(100).reshape({10, 10}), PrintOptions{.threshold = 50, .edgeitems = 2}),
            "tensor([[ 0,  1,  ...,  8,  9],\n"
            "        [10, 11,  ..., 18, 19],\n"
            "        ...,\n"
            "        [80, 81,  ..., 88, 89],\n"
            "        [90, 91,  ..., 98, 99]])");
  // torch.arange(2000) with set_printoptions(threshold=2000)
  EXPECT_EQ(to_string(arange(2000), PrintOptions{.threshold = 2000}),
            "tensor([   0,    1,    2,    3,    4,    5,    6,    7,    8,    9,   10,   11,\n"
            "          12,   13,   14,   15,   16,   17,   18,   19,   20,   21,   22,   23,\n"
            "          24,   25,   26,   27,   28,   29,   30,   31,   32,   33,   34,   35,\n"
            "          36,   37,   38,   39,   40,   41,   42,   43,   44,   45,   46,   47,\n"
            "          48,   49,   50,   51,   52,   53,   54,   55,   56,   57,   58,   59,\n"
            "          60,   61,   62,   63,   64,   65,   66,   67,   68,   69,   70,   71,\n"
            "          72,   73,   74,   75,   76,   77,   78,   79,   80,   81,   82,   83,\n"
            "          84,   85,   86,   87,   88,   89,   90,   91,   92,   93,   94,   95,\n"
            "          96,   97,   98,   99,  100,  101,  102,  103,  104,  105,  106,  107,\n"
            "         108,  109,  110,  111,  112,  113,  114,  115,  116,  117,  118,  119,\n"
            "         120,  121,  122,  123,  124,  125,  126,  127,  128,  129,  130,  131,\n"
            "         132,  133,  134,  135,  136,  137,  138,  139,  140,  141,  142,  143,\n"
            "         144,  145,  146,  147,  148,  149,  150,  151,  152,  153,  154,  155,\n"
            "         156,  157,  158,  159,  160,  161,  162,  163,  164,  165,  166,  167,\n"
            "         168,  169,  170,  171,  172,  173,  174,  175,  176,  177,  178,  179,\n"
            "         180,  181,  182,  183,  184,  185,  186,  187,  188,  189,  190,  191,\n"
            "         192,  193,  194,  195,  196,  197,  198,  199,  200,  201,  202,  203,\n"
            "         204,  205,  206,  207,  208,  209,  210,  211,  212,  213,  214,  215,\n"
            "         216,  217,  218,  219,  220,  221,  222,  223,  224,  225,  226,  227,\n"
            "         228,  229,  230,  231,  232,  233,  234,  235,  236,  237,  238,  239,\n"
            "         240,  241,  242,  243,  244,  245,  246,  247,  248,  249,  250,  251,\n"
            "         252,  253,  254,  255,  256,  257,  258,  259,  260,  261,  262,  263,\n"
            "         264,  265,  266,  267,  268,  269,  270,  271,  272,  273,  274,  275,\n"
            "         276,  277,  278,  279,  280,  281,  282,  283,  284,  285,  286,  287,\n"
            "         288,  289,  290,  291,  292,  293,  294,  295,  296,  297,  298,  299,\n"
            "         300,  301,  302,  303,  304,  305,  306,  307,  308,  309,  310,  311,\n"
            "         312,  313,  314,  315,  316,  317,  318,  319,  320,  321,  322,  323,\n"
            "         324,  325,  326,  327,  328,  329,  330,  331,  332,  333,  334,  335,\n"
            "         336,  337,  338,  339,  340,  341,  342,  343,  344,  345,  346,  347,\n"
            "         348,  349,  350,  351,  352,  353,  354,  355,  356,  357,  358,  359,\n"
            "         360,  361,  362,  363,  364,  365,  366,  367,  368,  369,  370,  371,\n"
            "         372,  373,  374,  375,  376,  377,  378,  379,  380,  381,  382,  383,\n"
            "         384,  385,  386,  387,  388,  389,  390,  391,  392,  393,  394,  395,\n"
            "         396,  397,  398,  399,  400,  401,  402,  403,  404,  405,  406,  407,\n"
            "         408,  409,  410,  411,  412,  413,  414,  415,  416,  417,  418,  419,\n"
            "         420,  421,  422,  423,  424,  425,  426,  427,  428,  429,  430,  431,\n"
            "         432,  433,  434,  435,  436,  437,  438,  439,  440,  441,  442,  443,\n"
            "         444,  445,  446,  447,  448,  449,  450,  451,  452,  453,  454,  455,\n"
            "         456,  457,  458,  459,  460,  461,  462,  463,  464,  465,  466,  467,\n"
            "         468,  469,  470,  471,  472,  473,  474,  475,  476,  477,  478,  479,\n"
            "         480,  481,  482,  483,  484,  485,  486,  487,  488,  489,  490,  491,\n"
            "         492,  493,  494,  495,  496,  497,  498,  499,  500,  501,  502,  503,\n"
            "         504,  505,  506,  507,  508,  509,  510,  511,  512,  513,  514,  515,\n"
            "         516,  517,  518,  519,  520,  521,  522,  523,  524,  525,  526,  527,\n"
            "         528,  529,  530,  531,  532,  533,  534,  535,  536,  537,  538,  539,\n"
            "         540,  541,  542,  543,  544,  545,  546,  547,  548,  549,  550,  551,\n"
            "         552,  553,  554,  555,  556,  557,  558,  559,  560,  561,  562,  563,\n"
            "         564,  565,  566,  567,  568,  569,  570,  571,  572,  573,  574,  575,\n"
            "         576,  577,  578,  579,  580,  581,  582,  583,  584,  585,  586,  587,\n"
            "         588,  589,  590,  591,  592,  593,  594,  595,  596,  597,  598,  599,\n"
            "         600,  601,  602,  603,  604,  605,  606,  607,  608,  609,  610,  611,\n"
            "         612,  613,  614,  615,  616,  617,  618,  619,  620,  621,  622,  623,\n"
            "         624,  625,  626,  627,  628,  629,  630,  631,  632,  633,  634,  635,\n"
            "         636,  637,  638,  639,  640,  641,  642,  643,  644,  645,  646,  647,\n"
            "         648,  649,  650,  651,  652,  653,  654,  655,  656,  657,  658,  659,\n"
            "         660,  661,  662,  663,  664,  665,  666,  667,  668,  669,  670,  671,\n"
            "         672,  673,  674,  675,  676,  677,  678,  679,  680,  681,  682,  683,\n"
            "         684,  685,  686,  687,  688,  689,  690,  691,  692,  693,  694,  695,\n"
            "         696,  697,  698,  699,  700,  701,  702,  703,  704,  705,  706,  707,\n"
            "         708,  709,  710,  711,  712,  713,  714,  715,  716,  717,  718,  719,\n"
            "         720,  721,  722,  723,  724,  725,  726,  727,  728,  729,  730,  731,\n"
            "         732,  733,  734,  735,  736,  737,  738,  739,  740,  741,  742,  743,\n"
            "         744,  745,  746,  747,  748,  749,  750,  751,  752,  753,  754,  755,\n"
            "         756,  757,  758,  759,  760,  761,  762,  763,  764,  765,  766,  767,\n"
            "         768,  769,  770,  771,  772,  773,  774,  775,  776,  777,  778,  779,\n"
            "         780,  781,  782,  783,  784,  785,  786,  787,  788,  789,  790,  791,\n"
            "         792,  793,  794,  795,  796,  797,  798,  799,  800,  801,  802,  803,\n"
            "         804,  805,  806,  807,  808,  809,  810,  811,  812,  813,  814,  815,\n"
            "         816,  817,  818,  819,  820,  821,  822,  823,  824,  825,  826,  827,\n"
            "         828,  829,  830,  831,  832,  833,  834,  835,  836,  837,  838,  839,\n"
            "         840,  841,  842,  843,  844,  845,  846,  847,  848,  849,  850,  851,\n"
            "         852,  853,  854,  855,  856,  857,  858,  859,  860,  861,  862,  863,\n"
            "         864,  865,  866,  867,  868,  869,  870,  871,  872,  873,  874,  875,\n"
            "         876,  877,  878,  879,  880,  881,  882,  883,  884,  885,  886,  887,\n"
            "         888,  889,  890,  891,  892,  893,  894,  895,  896,  897,  898,  899,\n"
            "         900,  901,  902,  903,  904,  905,  906,  907,  908,  909,  910,  911,\n"
            "         912,  913,  914,  915,  916,  917,  918,  919,  920,  921,  922,  923,\n"
            "         924,  925,  926,  927,  928,  929,  930,  931,  932,  933,  934,  935,\n"
            "         936,  937,  938,  939,  940,  941,  942,  943,  944,  945,  946,  947,\n"
            "         948,  949,  950,  951,  952,  953,  954,  955,  956,  957,  958,  959,\n"
            "         960,  961,  962,  963,  964,  965,  966,  967,  968,  969,  970,  971,\n"
            "         972,  973,  974,  975,  976,  977,  978,  979,  980,  981,  982,  983,\n"
            "         984,  985,  986,  987,  988,  989,  990,  991,  992,  993,  994,  995,\n"
            "         996,  997,  998,  999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007,\n"
            "        1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, 1017, 1018, 1019,\n"
            "        1020, 1021, 1022, 1023, 1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031,\n"
            "        1032, 1033, 1034, 1035, 1036, 1037, 1038, 1039, 1040, 1041, 1042, 1043,\n"
            "        1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051, 1052, 1053, 1054, 1055,\n"
            "        1056, 1057, 1058, 1059, 1060, 1061, 1062, 1063, 1064, 1065, 1066, 1067,\n"
            "        1068, 1069, 1070, 1071, 1072, 1073, 1074, 1075, 1076, 1077, 1078, 1079,\n"
            "        1080, 1081, 1082, 1083, 1084, 1085, 1086, 1087, 1088, 1089, 1090, 1091,\n"
            "        1092, 1093, 1094, 1095, 1096, 1097, 1098, 1099, 1100, 1101, 1102, 1103,\n"
            "        1104, 1105, 1106, 1107, 1108, 1109, 1110, 1111, 1112, 1113, 1114, 1115,\n"
            "        1116, 1117, 1118, 1119, 1120, 1121, 1122, 1123, 1124, 1125, 1126, 1127,\n"
            "        1128, 1129, 1130, 1131, 1132, 1133, 1134, 1135, 1136, 1137, 1138, 1139,\n"
            "        1140, 1141, 1142, 1143, 1144, 1145, 1146, 1147, 1148, 1149, 1150, 1151,\n"
            "        1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161, 1162, 1163,\n"
            "        1164, 1165, 1166, 1167, 1168, 1169, 1170, 1171, 1172, 1173, 1174, 1175,\n"
            "        1176, 1177, 1178, 1179, 1180, 1181, 1182, 1183, 1184, 1185, 1186, 1187,\n"
            "        1188, 1189, 1190, 1191, 1192, 1193, 1194, 1195, 1196, 1197, 1198, 1199,\n"
            "        1200, 1201, 1202, 1203, 1204, 1205, 1206, 1207, 1208, 1209, 1210, 1211,\n"
            "        1212, 1213, 1214, 1215, 1216, 1217, 1218, 1219, 1220, 1221, 1222, 1223,\n"
            "        1224, 1225, 1226, 1227, 1228, 1229, 1230, 1231, 1232, 1233, 1234, 1235,\n"
            "        1236, 1237, 1238, 1239, 1240, 1241, 1242, 1243, 1244, 1245, 1246, 1247,\n"
            "        1248, 1249, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258, 1259,\n"
            "        1260, 1261, 1262, 1263, 1264, 1265, 1266, 1267, 1268, 1269, 1270, 1271,\n"
            "        1272, 1273, 1274, 1275, 1276, 1277, 1278, 1279, 1280, 1281, 1282, 1283,\n"
            "        1284, 1285, 1286, 1287, 1288, 1289, 1290, 1291, 1292, 1293, 1294, 1295,\n"
            "        1296, 1297, 1298, 1299, 1300, 1301, 1302, 1303, 1304, 1305, 1306, 1307,\n"
            "        1308, 1309, 1310, 1311, 1312, 1313, 1314, 1315, 1316, 1317, 1318, 1319,\n"
            "        1320, 1321, 1322, 1323, 1324, 1325, 1326, 1327, 1328, 1329, 1330, 1331,\n"
            "        1332, 1333, 1334, 1335, 1336, 1337, 1338, 1339, 1340, 1341, 1342, 1343,\n"
            "        1344, 1345, 1346, 1347, 1348, 1349, 1350, 1351, 1352, 1353, 1354, 1355,\n"
            "        1356, 1357, 1358, 1359, 1360, 1361, 1362, 1363, 1364, 1365, 1366, 1367,\n"
            "        1368, 1369, 1370, 1371, 1372, 1373, 1374, 1375, 1376, 1377, 1378, 1379,\n"
            "        1380, 1381, 1382, 1383, 1384, 1385, 1386, 1387, 1388, 1389, 1390, 1391,\n"
            "        1392, 1393, 1394, 1395, 1396, 1397, 1398, 1399, 1400, 1401, 1402, 1403,\n"
            "        1404, 1405, 1406, 1407, 1408, 1409, 1410, 1411, 1412, 1413, 1414, 1415,\n"
            "        1416, 1417, 1418, 1419, 1420, 1421, 1422, 1423, 1424, 1425, 1426, 1427,\n"
            "        1428, 1429, 1430, 1431, 1432, 1433, 1434, 1435, 1436, 1437, 1438, 1439,\n"
            "        1440, 1441, 1442, 1443, 1444, 1445, 1446, 1447, 1448, 1449, 1450, 1451,\n"
            "        1452, 1453, 1454, 1455, 1456, 1457, 1458, 1459, 1460, 1461, 1462, 1463,\n"
            "        1464, 1465, 1466, 1467, 1468, 1469, 1470, 1471, 1472, 1473, 1474, 1475,\n"
            "        1476, 1477, 1478, 1479, 1480, 1481, 1482, 1483, 1484, 1485, 1486, 1487,\n"
            "        1488, 1489, 1490, 1491, 1492, 1493, 1494, 1495, 1496, 1497, 1498, 1499,\n"
            "        1500, 1501, 1502, 1503, 1504, 1505, 1506, 1507, 1508, 1509, 1510, 1511,\n"
            "        1512, 1513, 1514, 1515, 1516, 1517, 1518, 1519, 1520, 1521, 1522, 1523,\n"
            "        1524, 1525, 1526, 1527, 1528, 1529, 1530, 1531, 1532, 1533, 1534, 1535,\n"
            "        1536, 1537, 1538, 1539, 1540, 1541, 1542, 1543, 1544, 1545, 1546, 1547,\n"
            "        1548, 1549, 1550, 1551, 1552, 1553, 1554, 1555, 1556, 1557, 1558, 1559,\n"
            "        1560, 1561, 1562, 1563, 1564, 1565, 1566, 1567, 1568, 1569, 1570, 1571,\n"
            "        1572, 1573, 1574, 1575, 1576, 1577, 1578, 1579, 1580, 1581, 1582, 1583,\n"
            "        1584, 1585, 1586, 1587, 1588, 1589, 1590, 1591, 1592, 1593, 1594, 1595,\n"
            "        1596, 1597, 1598, 1599, 1600, 1601, 1602, 1603, 1604, 1605, 1606, 1607,\n"
            "        1608, 1609, 1610, 1611, 1612, 1613, 1614, 1615, 1616, 1617, 1618, 1619,\n"
            "        1620, 1621, 1622, 1623, 1624, 1625, 1626, 1627, 1628, 1629, 1630, 1631,\n"
            "        1632, 1633, 1634, 1635, 1636, 1637, 1638, 1639, 1640, 1641, 1642, 1643,\n"
            "        1644, 1645, 1646, 1647, 1648, 1649, 1650, 1651, 1652, 1653, 1654, 1655,\n"
            "        1656, 1657, 1658, 1659, 1660, 1661, 1662, 1663, 1664, 1665, 1666, 1667,\n"
            "        1668, 1669, 1670, 1671, 1672, 1673, 1674, 1675, 1676, 1677, 1678, 1679,\n"
            "        1680, 1681, 1682, 1683, 1684, 1685, 1686, 1687, 1688, 1689, 1690, 1691,\n"
            "        1692, 1693, 1694, 1695, 1696, 1697, 1698, 1699, 1700, 1701, 1702, 1703,\n"
            "        1704, 1705, 1706, 1707, 1708, 1709, 1710, 1711, 1712, 1713, 1714, 1715,\n"
            "        1716, 1717, 1718, 1719, 1720, 1721, 1722, 1723, 1724, 1725, 1726, 1727,\n"
            "        1728, 1729, 1730, 1731, 1732, 1733, 1734, 1735, 1736, 1737, 1738, 1739,\n"
            "        1740, 1741, 1742, 1743, 1744, 1745, 1746, 1747, 1748, 1749, 1750, 1751,\n"
            "        1752, 1753, 1754, 1755, 1756, 1757, 1758, 1759, 1760, 1761, 1762, 1763,\n"
            "        1764, 1765, 1766, 1767, 1768, 1769, 1770, 1771, 1772, 1773, 1774, 1775,\n"
            "        1776, 1777, 1778, 1779, 1780, 1781, 1782, 1783, 1784, 1785, 1786, 1787,\n"
            "        1788, 1789, 1790, 1791, 1792, 1793, 1794, 1795, 1796, 1797, 1798, 1799,\n"
            "        1800, 1801, 1802, 1803, 1804, 1805, 1806, 1807, 1808, 1809, 1810, 1811,\n"
            "        1812, 1813, 1814, 1815, 1816, 1817, 1818, 1819, 1820, 1821, 1822, 1823,\n"
            "        1824, 1825, 1826, 1827, 1828, 1829, 1830, 1831, 1832, 1833, 1834, 1835,\n"
            "        1836, 1837, 1838, 1839, 1840, 1841, 1842, 1843, 1844, 1845, 1846, 1847,\n"
            "        1848, 1849, 1850, 1851, 1852, 1853, 1854, 1855, 1856, 1857, 1858, 1859,\n"
            "        1860, 1861, 1862, 1863, 1864, 1865, 1866, 1867, 1868, 1869, 1870, 1871,\n"
            "        1872, 1873, 1874, 1875, 1876, 1877, 1878, 1879, 1880, 1881, 1882, 1883,\n"
            "        1884, 1885, 1886, 1887, 1888, 1889, 1890, 1891, 1892, 1893, 1894, 1895,\n"
            "        1896, 1897, 1898, 1899, 1900, 1901, 1902, 1903, 1904, 1905, 1906, 1907,\n"
            "        1908, 1909, 1910, 1911, 1912, 1913, 1914, 1915, 1916, 1917, 1918, 1919,\n"
            "        1920, 1921, 1922, 1923, 1924, 1925, 1926, 1927, 1928, 1929, 1930, 1931,\n"
            "        1932, 1933, 1934, 1935, 1936, 1937, 1938, 1939, 1940, 1941, 1942, 1943,\n"
            "        1944, 1945, 1946, 1947, 1948, 1949, 1950, 1951, 1952, 1953, 1954, 1955,\n"
            "        1956, 1957, 1958, 1959, 1960, 1961, 1962, 1963, 1964, 1965, 1966, 1967,\n"
            "        1968, 1969, 1970, 1971, 1972, 1973, 1974, 1975, 1976, 1977, 1978, 1979,\n"
            "        1980, 1981, 1982, 1983, 1984, 1985, 1986, 1987, 1988, 1989, 1990, 1991,\n"
            "        1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999])");
  // torch.arange(0, 20, 1, dtype=torch.float64) with set_printoptions(linewidth=40)
  EXPECT_EQ(to_string(arange(0, 20, 1, kFloat64), PrintOptions{.linewidth = 40}),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,\n"
            "         6.,  7.,  8.,  9., 10., 11.,\n"
            "        12., 13., 14., 15., 16., 17.,\n"
            "        18., 19.], dtype=wick.float64)");
  // torch.arange(0, 20, 1, dtype=torch.float64) with set_printoptions(linewidth=10)
  EXPECT_EQ(to_string(arange(0, 20, 1, kFloat64), PrintOptions{.linewidth = 10}),
            "tensor([ 0.,\n"
            "         1.,\n"
            "         2.,\n"
            "         3.,\n"
            "         4.,\n"
            "         5.,\n"
            "         6.,\n"
            "         7.,\n"
            "         8.,\n"
            "         9.,\n"
            "        10.,\n"
            "        11.,\n"
            "        12.,\n"
            "        13.,\n"
            "        14.,\n"
            "        15.,\n"
            "        16.,\n"
            "        17.,\n"
            "        18.,\n"
            "        19.],\n"
            "       dtype=wick.float64)");
  // torch.arange(0, 20, 1, dtype=torch.float64) with set_printoptions(linewidth=200)
  EXPECT_EQ(to_string(arange(0, 20, 1, kFloat64), PrintOptions{.linewidth = 200}),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13., 14., "
            "15., 16., 17., 18., 19.], dtype=wick.float64)");
  // torch.arange(0, 4, 1, dtype=torch.int32) with set_printoptions(linewidth=30)
  EXPECT_EQ(to_string(arange(0, 4, 1, kInt32), PrintOptions{.linewidth = 30}),
            "tensor([0, 1, 2, 3],\n"
            "       dtype=wick.int32)");
  // torch.arange(0, 4, 1, dtype=torch.int32) with set_printoptions(linewidth=-5)
  EXPECT_EQ(to_string(arange(0, 4, 1, kInt32), PrintOptions{.linewidth = -5}),
            "tensor([0,\n"
            "        1,\n"
            "        2,\n"
            "        3],\n"
            "       dtype=wick.int32)");
  // torch.zeros(0, 3, dtype=torch.float16) with set_printoptions(linewidth=20)
  EXPECT_EQ(to_string(zeros({0, 3}, kFloat16), PrintOptions{.linewidth = 20}),
            "tensor([],\n"
            "       size=(0, 3),\n"
            "       dtype=wick.float16)");
  // torch.tensor([1.0, 2.5]) with set_printoptions(sci_mode=True)
  EXPECT_EQ(to_string(tensor({1.0, 2.5}), PrintOptions{.sci_mode_auto = false, .sci_mode = true}),
            "tensor([1.0000e+00, 2.5000e+00])");
  // torch.tensor([1.0, 2.0]) with set_printoptions(sci_mode=True)
  EXPECT_EQ(to_string(tensor({1.0, 2.0}), PrintOptions{.sci_mode_auto = false, .sci_mode = true}),
            "tensor([1.0000e+00, 2.0000e+00])");
  // torch.tensor([1e-5, 1.0]) with set_printoptions(sci_mode=False)
  EXPECT_EQ(to_string(tensor({1e-5, 1.0}), PrintOptions{.sci_mode_auto = false, .sci_mode = false}),
            "tensor([    0.0000,     1.0000])");
  // torch.tensor([1.0, 1e9]) with set_printoptions(sci_mode=False)
  EXPECT_EQ(to_string(tensor({1.0, 1e9}), PrintOptions{.sci_mode_auto = false, .sci_mode = false}),
            "tensor([        1., 1000000000.])");
  // torch.tensor([0.0, nan]) with set_printoptions(sci_mode=True)
  EXPECT_EQ(to_string(tensor({0.0, kNan}), PrintOptions{.sci_mode_auto = false, .sci_mode = true}),
            "tensor([0., nan])");
  // torch.arange(0, 3, 1, dtype=torch.int16) with set_printoptions(sci_mode=True)
  EXPECT_EQ(
      to_string(arange(0, 3, 1, kInt16), PrintOptions{.sci_mode_auto = false, .sci_mode = true}),
      "tensor([0, 1, 2], dtype=wick.int16)");
  // torch.tensor([1e-5, inf], dtype=torch.float64) with set_printoptions(sci_mode=True,
  // precision=2)
  EXPECT_EQ(to_string(tensor({1e-5, kInf}, kFloat64),
                      PrintOptions{.precision = 2, .sci_mode_auto = false, .sci_mode = true}),
            "tensor([1.00e-05,      inf], dtype=wick.float64)");
  // torch.tensor([1, 1000, 1, 1, 1, 1, 1]) with set_printoptions(threshold=5, edgeitems=0)
  EXPECT_EQ(
      to_string(tensor({1, 1000, 1, 1, 1, 1, 1}), PrintOptions{.threshold = 5, .edgeitems = 0}),
      "tensor([ ...,    1, 1000,    1,    1,    1,    1,    1])");
}

TEST(Print, SuffixWrapping) {
  // torch.arange(0, 24, 1, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(arange(0, 24, 1, kBFloat16)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23.],\n"
            "       dtype=wick.bfloat16)");
  // torch.arange(0, 23, 1, dtype=torch.bfloat16)
  EXPECT_EQ(to_string(arange(0, 23, 1, kBFloat16)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19., 20., 21., 22.], dtype=wick.bfloat16)");
  // torch.arange(0, 4, 1, dtype=torch.int32) with set_printoptions(linewidth=39)
  EXPECT_EQ(to_string(arange(0, 4, 1, kInt32), PrintOptions{.linewidth = 39}),
            "tensor([0, 1, 2, 3],\n"
            "       dtype=wick.int32)");
  // torch.arange(0, 4, 1, dtype=torch.int32) with set_printoptions(linewidth=40)
  EXPECT_EQ(to_string(arange(0, 4, 1, kInt32), PrintOptions{.linewidth = 40}),
            "tensor([0, 1, 2, 3], dtype=wick.int32)");
  // torch.arange(0, 12, 1, dtype=torch.int32).reshape(3, 4) with set_printoptions(linewidth=45)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt32).reshape({3, 4}), PrintOptions{.linewidth = 45}),
            "tensor([[ 0,  1,  2,  3],\n"
            "        [ 4,  5,  6,  7],\n"
            "        [ 8,  9, 10, 11]],\n"
            "       dtype=wick.int32)");
  // torch.arange(0, 12, 1, dtype=torch.int32).reshape(3, 4) with set_printoptions(linewidth=46)
  EXPECT_EQ(to_string(arange(0, 12, 1, kInt32).reshape({3, 4}), PrintOptions{.linewidth = 46}),
            "tensor([[ 0,  1,  2,  3],\n"
            "        [ 4,  5,  6,  7],\n"
            "        [ 8,  9, 10, 11]], dtype=wick.int32)");
  // torch.zeros(0, 3, dtype=torch.float16) with set_printoptions(linewidth=23)
  EXPECT_EQ(to_string(zeros({0, 3}, kFloat16), PrintOptions{.linewidth = 23}),
            "tensor([],\n"
            "       size=(0, 3),\n"
            "       dtype=wick.float16)");
  // torch.zeros(0, 3, dtype=torch.float16) with set_printoptions(linewidth=24)
  EXPECT_EQ(to_string(zeros({0, 3}, kFloat16), PrintOptions{.linewidth = 24}),
            "tensor([], size=(0, 3),\n"
            "       dtype=wick.float16)");
  // torch.zeros(0, 3, dtype=torch.float16) with set_printoptions(linewidth=44)
  EXPECT_EQ(to_string(zeros({0, 3}, kFloat16), PrintOptions{.linewidth = 44}),
            "tensor([], size=(0, 3),\n"
            "       dtype=wick.float16)");
  // torch.zeros(0, 3, dtype=torch.float16) with set_printoptions(linewidth=45)
  EXPECT_EQ(to_string(zeros({0, 3}, kFloat16), PrintOptions{.linewidth = 45}),
            "tensor([], size=(0, 3), dtype=wick.float16)");
}

TEST(Print, StreamUsesGlobalOptions) {
  const PrintOptions saved = print_options();
  std::ostringstream out;
  out << tensor({1.12345, 2.5});
  EXPECT_EQ(out.str(), "tensor([1.1235, 2.5000])");

  print_options().precision = 2;
  print_options().threshold = 5;
  std::ostringstream changed;
  changed << tensor({1.12345, 2.5}) << ' ' << arange(10);
  print_options() = saved;
  // torch.set_printoptions(precision=2, threshold=5)
  EXPECT_EQ(changed.str(), "tensor([1.12, 2.50]) tensor([0, 1, 2,  ..., 7, 8, 9])");
  EXPECT_EQ(to_string(arange(10)), "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
}

TEST(Print, DefaultOptionsMatchPyTorch) {
  const PrintOptions defaults;
  EXPECT_EQ(defaults.precision, 4);
  EXPECT_EQ(defaults.threshold, 1000);
  EXPECT_EQ(defaults.edgeitems, 3);
  EXPECT_EQ(defaults.linewidth, 80);
  EXPECT_TRUE(defaults.sci_mode_auto);
}

TEST(Print, HugeEdgeitemsShowsEverything) {
  // torch.set_printoptions(threshold=5, edgeitems=2**63 - 1)
  EXPECT_EQ(to_string(arange(10), PrintOptions{.threshold = 5,
                                               .edgeitems = std::numeric_limits<int64_t>::max()}),
            "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
}

TEST(Print, UndefinedTensor) {
  EXPECT_EQ(to_string(Tensor()), "[ Tensor (undefined) ]");
  std::ostringstream out;
  out << Tensor();
  EXPECT_EQ(out.str(), "[ Tensor (undefined) ]");
}

template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const ArgumentError& e) {
    return e.what();
  }
  return "no ArgumentError";
}

TEST(Print, RejectsNegativePrecision) {
  const std::string msg =
      error_message([] { to_string(tensor({1.5}), PrintOptions{.precision = -1}); });
  EXPECT_NE(msg.find("to_string"), std::string::npos) << msg;
  EXPECT_NE(msg.find("precision must be >= 0, got -1"), std::string::npos) << msg;
}

TEST(Print, RejectsNegativeEdgeitems) {
  const std::string msg =
      error_message([] { to_string(arange(3), PrintOptions{.edgeitems = -2}); });
  EXPECT_NE(msg.find("to_string"), std::string::npos) << msg;
  EXPECT_NE(msg.find("edgeitems must be >= 0, got -2"), std::string::npos) << msg;
}

TEST(Print, RejectsZeroEdgeitemsWhenSummarisingManyDims) {
  // PyTorch fails too here ("stack expects a non-empty TensorList").
  const std::string msg = error_message([] {
    to_string(arange(100).reshape({10, 10}), PrintOptions{.threshold = 5, .edgeitems = 0});
  });
  EXPECT_NE(msg.find("to_string"), std::string::npos) << msg;
  EXPECT_NE(msg.find("edgeitems must be >= 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2-d tensor of 100 elements (threshold 5), got 0"), std::string::npos) << msg;
  // Without summarisation the same options are fine.
  EXPECT_EQ(to_string(arange(4).reshape({2, 2}), PrintOptions{.threshold = 5, .edgeitems = 0}),
            "tensor([[0, 1],\n"
            "        [2, 3]])");
}

TEST(Print, NonContiguousMatchesContiguousCopy) {
  const Tensor t = halves(600, kFloat64).reshape({20, 30}).t().slice(0, 1, 30, 2);
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(to_string(t), to_string(t.contiguous()));
}

}  // namespace
}  // namespace wick

// clang-format off
/* The generator (run with /usr/bin/python3 and torch 1.13; prints the TEST bodies above):
# Generates the expected strings of tests/core/test_print.cpp from torch 1.13.
import re, torch
nan, inf = float('nan'), float('inf')
T = torch.tensor
ar = torch.arange
f16, bf16, f32, f64 = torch.float16, torch.bfloat16, torch.float32, torch.float64
i8, u8, i16, i32, i64, b = torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool
DT = {'kBool': b, 'kUInt8': u8, 'kInt8': i8, 'kInt16': i16, 'kInt32': i32, 'kInt64': i64,
      'kFloat16': f16, 'kBFloat16': bf16, 'kFloat32': f32, 'kFloat64': f64}
INTS = ['kUInt8', 'kInt8', 'kInt16', 'kInt32', 'kInt64']
FLOATS = ['kFloat16', 'kBFloat16', 'kFloat32', 'kFloat64']

groups = {}
def case(group, cpp, tor, opts=None):
    groups.setdefault(group, []).append((cpp, tor, opts))

# --- every dtype ---
for d in DT:
    case('EveryDTypeZerosOnes', f'zeros({{3}}, {d})', f'torch.zeros(3, dtype=DT["{d}"])')
    case('EveryDTypeZerosOnes', f'ones({{2, 3}}, {d})', f'torch.ones(2, 3, dtype=DT["{d}"])')
for d in INTS:
    case('IntegerDTypes', f'tensor({{0, 1, 2, 3}}, {d})', f'T([0, 1, 2, 3], dtype=DT["{d}"])')
    case('IntegerDTypes', f'full({{2, 2}}, 7, {d})', f'torch.full((2, 2), 7, dtype=DT["{d}"])')
    case('IntegerDTypes', f'arange(0, 12, 1, {d})', f'ar(0, 12, 1, dtype=DT["{d}"])')
case('IntegerDTypes', 'tensor({0, 255, 7}, kUInt8)', 'T([0, 255, 7], dtype=u8)')
case('IntegerDTypes', 'tensor({-128, 127, 0}, kInt8)', 'T([-128, 127, 0], dtype=i8)')
case('IntegerDTypes', 'tensor({-32768, 5}, kInt16)', 'T([-32768, 5], dtype=i16)')
case('IntegerDTypes', 'tensor({-2147483648LL, 2147483647LL}, kInt32)', 'T([-2147483648, 2147483647], dtype=i32)')
case('IntegerDTypes', 'tensor({std::numeric_limits<int64_t>::min(), int64_t{1}})', 'T([-2**63, 1])')
case('IntegerDTypes', 'tensor({-1, 10, -100})', 'T([-1, 10, -100])')
case('IntegerDTypes', 'arange(10)', 'ar(10)')
case('BoolDType', 'tensor({true, false})', 'T([True, False])')
case('BoolDType', 'tensor({true, true})', 'T([True, True])')
case('BoolDType', 'tensor({false, false})', 'T([False, False])')
case('BoolDType', 'tensor({{true, false}, {false, true}})', 'T([[True, False], [False, True]])')
case('BoolDType', 'full({2}, true, kBool)', 'torch.full((2,), True, dtype=b)')
for d in FLOATS:
    case('FloatingDTypes', f'tensor({{0.5, 1.25, -3.75}}, {d})', f'T([0.5, 1.25, -3.75], dtype=DT["{d}"])')
    case('FloatingDTypes', f'full({{2, 2}}, 2.5, {d})', f'torch.full((2, 2), 2.5, dtype=DT["{d}"])')
    case('FloatingDTypes', f'arange(0, 1, 0.25, {d})', f'ar(0, 1, 0.25, dtype=DT["{d}"])')
    case('FloatingDTypes', f'tensor({{1.0, 2.0, 3.0}}, {d})', f'T([1.0, 2.0, 3.0], dtype=DT["{d}"])')
    case('FloatingDTypes', f'tensor({{0.1, 1.0 / 3.0}}, {d})', f'T([0.1, 1 / 3], dtype=DT["{d}"])')
case('FloatingDTypes', 'tensor({0.1, 1.0 / 3.0, 65504.0}, kFloat16)', 'T([0.1, 1 / 3, 65504.0], dtype=f16)')
case('FloatingDTypes', 'tensor({1.0 / 3.0, 2.0 / 3.0}, kFloat64)', 'T([1 / 3, 2 / 3], dtype=f64)')
case('FloatingDTypes', 'tensor({1.5, 2.5})', 'T([1.5, 2.5])')

# --- 0-d and empty ---
case('ZeroDim', 'scalar_tensor(3, kInt64)', 'T(3)')
case('ZeroDim', 'scalar_tensor(-7, kInt8)', 'T(-7, dtype=i8)')
case('ZeroDim', 'scalar_tensor(true, kBool)', 'T(True)')
case('ZeroDim', 'scalar_tensor(false, kBool)', 'T(False)')
case('ZeroDim', 'scalar_tensor(2.5, kFloat32)', 'T(2.5)')
case('ZeroDim', 'scalar_tensor(3.0, kFloat32)', 'T(3.0)')
case('ZeroDim', 'scalar_tensor(0.0, kFloat32)', 'T(0.0)')
case('ZeroDim', 'scalar_tensor(-0.0, kFloat64)', 'T(-0.0, dtype=f64)')
case('ZeroDim', 'scalar_tensor(1e-5, kFloat64)', 'T(1e-5, dtype=f64)')
case('ZeroDim', 'scalar_tensor(kNan, kFloat32)', 'T(nan)')
case('ZeroDim', 'scalar_tensor(-kInf, kFloat16)', 'T(-inf, dtype=f16)')
case('ZeroDim', 'scalar_tensor(1.5, kBFloat16)', 'T(1.5, dtype=bf16)')
case('ZeroDim', 'arange(12).reshape({3, 4}).select(0, 1).select(0, 2)', 'ar(12).reshape(3, 4)[1][2]')
case('Empty', 'zeros({0})', 'torch.zeros(0)')
case('Empty', 'zeros({0, 3})', 'torch.zeros(0, 3)')
case('Empty', 'zeros({3, 0})', 'torch.zeros(3, 0)')
case('Empty', 'zeros({0}, kInt64)', 'torch.zeros(0, dtype=i64)')
case('Empty', 'zeros({0}, kBool)', 'torch.zeros(0, dtype=b)')
case('Empty', 'zeros({2, 0, 3}, kInt8)', 'torch.zeros(2, 0, 3, dtype=i8)')
case('Empty', 'zeros({0}, kFloat16)', 'torch.zeros(0, dtype=f16)')
case('Empty', 'zeros({0, 1}, kFloat64)', 'torch.zeros(0, 1, dtype=f64)')
case('Empty', 'arange(10).slice(0, 4, 4)', 'ar(10)[4:4]')

# --- nesting ---
case('TwoDim', 'arange(12).reshape({3, 4})', 'ar(12).reshape(3, 4)')
case('TwoDim', 'tensor({{1.5, -2.25}, {3.0, 4.0}})', 'T([[1.5, -2.25], [3.0, 4.0]])')
case('TwoDim', 'tensor({{1.0, 20.0}, {-300.0, 4.0}}, kFloat64)', 'T([[1.0, 20.0], [-300.0, 4.0]], dtype=f64)')
case('TwoDim', 'ones({1, 1}, kInt16)', 'torch.ones(1, 1, dtype=i16)')
case('TwoDim', 'zeros({4, 1})', 'torch.zeros(4, 1)')
case('ThreeDimAndUp', 'arange(24).reshape({2, 3, 4})', 'ar(24).reshape(2, 3, 4)')
case('ThreeDimAndUp', 'arange(0, 16, 1, kFloat32).reshape({2, 2, 2, 2})', 'ar(0, 16, 1, dtype=f32).reshape(2, 2, 2, 2)')
case('ThreeDimAndUp', 'arange(0, 2, 0.25, kFloat64).reshape({2, 2, 1, 2})', 'ar(0, 2, 0.25, dtype=f64).reshape(2, 2, 1, 2)')
case('ThreeDimAndUp', 'ones({1, 1, 1, 1, 1}, kUInt8)', 'torch.ones(1, 1, 1, 1, 1, dtype=u8)')

# --- notation ---
case('ScientificNotation', 'tensor({1e-5, 1.0, 100.0})', 'T([1e-5, 1.0, 100.0])')
case('ScientificNotation', 'tensor({0.5, 600.0})', 'T([0.5, 600.0])')
case('ScientificNotation', 'tensor({0.5, 400.0})', 'T([0.5, 400.0])')
case('ScientificNotation', 'tensor({1.0, 2000.0})', 'T([1.0, 2000.0])')
case('ScientificNotation', 'tensor({1.0, 1000.0})', 'T([1.0, 1000.0])')
case('ScientificNotation', 'tensor({1.0, 1e9})', 'T([1.0, 1e9])')
case('ScientificNotation', 'tensor({123456789.0}, kFloat64)', 'T([123456789.0], dtype=f64)')
case('ScientificNotation', 'tensor({1e8}, kFloat64)', 'T([1e8], dtype=f64)')
case('ScientificNotation', 'tensor({100000000.5}, kFloat64)', 'T([100000000.5], dtype=f64)')
case('ScientificNotation', 'tensor({0.0001, 0.00011}, kFloat64)', 'T([0.0001, 0.00011], dtype=f64)')
case('ScientificNotation', 'tensor({0.00009, 0.0001}, kFloat64)', 'T([0.00009, 0.0001], dtype=f64)')
case('ScientificNotation', 'tensor({-1e-5, 0.0, 2e10, 3.5})', 'T([-1e-5, 0.0, 2e10, 3.5])')
case('ScientificNotation', 'tensor({1e100, -1e-100}, kFloat64)', 'T([1e100, -1e-100], dtype=f64)')
case('ScientificNotation', 'tensor({{1e-8, 1.0}, {2.0, 3.0}}, kFloat64)', 'T([[1e-8, 1.0], [2.0, 3.0]], dtype=f64)')
case('ScientificNotation', 'tensor({0.001, 65504.0}, kFloat16)', 'T([0.001, 65504.0], dtype=f16)')
case('ScientificNotation', 'tensor({1e-30, 1e30}, kBFloat16)', 'T([1e-30, 1e30], dtype=bf16)')
case('Negatives', 'tensor({-1.5, 2.25, -3.0})', 'T([-1.5, 2.25, -3.0])')
case('Negatives', 'tensor({-1.0, 2.0})', 'T([-1.0, 2.0])')
case('Negatives', 'tensor({-0.0, 0.5})', 'T([-0.0, 0.5])')
case('Negatives', 'tensor({-0.0, 0.0})', 'T([-0.0, 0.0])')
case('Negatives', 'tensor({-0.5, -0.25}, kFloat64)', 'T([-0.5, -0.25], dtype=f64)')
case('Negatives', 'tensor({{-5, 3}, {12, -100}}, kInt32)', 'T([[-5, 3], [12, -100]], dtype=i32)')
case('NonFinite', 'tensor({kNan, kInf, -kInf, 1.0})', 'T([nan, inf, -inf, 1.0])')
case('NonFinite', 'tensor({kNan, 1.5})', 'T([nan, 1.5])')
case('NonFinite', 'tensor({-kNan, 1.5})', 'T([-nan, 1.5])')
case('NonFinite', 'tensor({kInf, -kInf})', 'T([inf, -inf])')
case('NonFinite', 'tensor({kNan})', 'T([nan])')
case('NonFinite', 'tensor({kNan, 0.0, -kInf}, kFloat64)', 'T([nan, 0.0, -inf], dtype=f64)')
case('NonFinite', 'tensor({1e-5, kNan, kInf})', 'T([1e-5, nan, inf])')
case('NonFinite', 'tensor({100.0, kNan, -kInf}, kFloat16)', 'T([100.0, nan, -inf], dtype=f16)')
case('NonFinite', 'tensor({1e5, -kInf}, kFloat16)', 'T([1e5, -inf], dtype=f16)')
case('NonFinite', 'tensor({{kNan, 2.5}, {-kInf, 1e-3}}, kBFloat16)', 'T([[nan, 2.5], [-inf, 1e-3]], dtype=bf16)')

# --- summarisation and wrapping ---
case('Summarized', 'arange(2000)', 'ar(2000)')
case('Summarized', 'arange(1001)', 'ar(1001)')
case('Summarized', 'halves(2000, kFloat32)', 'halves(2000, f32)')
case('Summarized', 'halves(2000, kFloat64).reshape({40, 50})', 'halves(2000, f64).reshape(40, 50)')
case('Summarized', 'arange(10000).reshape({100, 100})', 'ar(10000).reshape(100, 100)')
case('Summarized', 'halves(10000, kFloat32).reshape({100, 100})', 'halves(10000, f32).reshape(100, 100)')
case('Summarized', 'arange(2000).reshape({10, 10, 20})', 'ar(2000).reshape(10, 10, 20)')
case('Summarized', 'arange(2000).reshape({2, 1000})', 'ar(2000).reshape(2, 1000)')
case('Summarized', 'arange(2000).reshape({1000, 2})', 'ar(2000).reshape(1000, 2)')
case('Summarized', 'arange(0, 2000, 1, kInt16).reshape({5, 4, 100})', 'ar(0, 2000, 1, dtype=i16).reshape(5, 4, 100)')
case('Summarized', 'halves(1024, kFloat16).reshape({4, 4, 8, 8})', 'halves(1024, f16).reshape(4, 4, 8, 8)')
case('Summarized', 'tiny_and_big(1500)', 'tiny_and_big(1500)')
case('Wrapping', 'halves(50, kFloat32)', 'halves(50, f32)')
case('Wrapping', 'arange(50)', 'ar(50)')
case('Wrapping', 'arange(0, 50, 1, kFloat64)', 'ar(0, 50, 1, dtype=f64)')
case('Wrapping', 'arange(12, 0, -1, kFloat64)', 'ar(12, 0, -1, dtype=f64)')
case('Wrapping', 'arange(0, 30, 1, kInt8)', 'ar(0, 30, 1, dtype=i8)')
case('Wrapping', 'halves(60, kFloat32).reshape({2, 30})', 'halves(60, f32).reshape(2, 30)')
case('Wrapping', 'arange(0, 40, 1, kBool)', 'ar(0, 40, 1).to(b)')
case('Wrapping', 'halves(40, kFloat64).reshape({2, 2, 10})', 'halves(40, f64).reshape(2, 2, 10)')

# --- views ---
case('NonContiguousViews', 'arange(12).reshape({3, 4}).t()', 'ar(12).reshape(3, 4).t()')
case('NonContiguousViews', 'arange(12).reshape({3, 4}).slice(1, 0, 4, 2)', 'ar(12).reshape(3, 4)[:, ::2]')
case('NonContiguousViews', 'arange(12).reshape({3, 4}).slice(0, 1, 3)', 'ar(12).reshape(3, 4)[1:3]')
case('NonContiguousViews', 'arange(24).reshape({2, 3, 4}).transpose(0, 2)', 'ar(24).reshape(2, 3, 4).transpose(0, 2)')
case('NonContiguousViews', 'arange(24).reshape({2, 3, 4}).permute({1, 2, 0}).select(2, 1)', 'ar(24).reshape(2, 3, 4).permute(1, 2, 0)[:, :, 1]')
case('NonContiguousViews', 'tensor({1, 2, 3}).expand({2, 3})', 'T([1, 2, 3]).expand(2, 3)')
case('NonContiguousViews', 'tensor({0.5, -1.25}, kFloat16).unsqueeze(1).expand({2, 3})', 'T([0.5, -1.25], dtype=f16).unsqueeze(1).expand(2, 3)')
case('NonContiguousViews', 'arange(0, 20, 1, kFloat64).slice(0, 1, 20, 3)', 'ar(0, 20, 1, dtype=f64)[1::3]')
case('NonContiguousViews', 'arange(0, 20, 1, kFloat64).reshape({4, 5}).t().slice(0, 1, 4)', 'ar(0, 20, 1, dtype=f64).reshape(4, 5).t()[1:4]')
case('NonContiguousViews', 'arange(3000).reshape({30, 100}).t()', 'ar(3000).reshape(30, 100).t()')
case('NonContiguousViews', 'arange(3000).slice(0, 0, 3000, 2)', 'ar(3000)[::2]')

# --- options ---
def O(**kw): return kw
case('PrintOptionsKnobs', 'tensor({1.12345, 2.5})', 'T([1.12345, 2.5])', O(precision=2))
case('PrintOptionsKnobs', 'tensor({1.12345, 2.5}, kFloat64)', 'T([1.12345, 2.5], dtype=f64)', O(precision=10))
case('PrintOptionsKnobs', 'tensor({1.5, 2.5})', 'T([1.5, 2.5])', O(precision=0))
case('PrintOptionsKnobs', 'tensor({1e-5, 2.5})', 'T([1e-5, 2.5])', O(precision=0))
case('PrintOptionsKnobs', 'tensor({1e-5, 2.5})', 'T([1e-5, 2.5])', O(precision=1))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=5))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=10))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=5, edgeitems=1))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=5, edgeitems=0))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=0, edgeitems=4))
case('PrintOptionsKnobs', 'arange(10)', 'ar(10)', O(threshold=0, edgeitems=5))
case('PrintOptionsKnobs', 'arange(100).reshape({10, 10})', 'ar(100).reshape(10, 10)', O(threshold=50, edgeitems=2))
case('PrintOptionsKnobs', 'arange(2000)', 'ar(2000)', O(threshold=2000))
case('PrintOptionsKnobs', 'arange(0, 20, 1, kFloat64)', 'ar(0, 20, 1, dtype=f64)', O(linewidth=40))
case('PrintOptionsKnobs', 'arange(0, 20, 1, kFloat64)', 'ar(0, 20, 1, dtype=f64)', O(linewidth=10))
case('PrintOptionsKnobs', 'arange(0, 20, 1, kFloat64)', 'ar(0, 20, 1, dtype=f64)', O(linewidth=200))
case('PrintOptionsKnobs', 'arange(0, 4, 1, kInt32)', 'ar(0, 4, 1, dtype=i32)', O(linewidth=30))
case('PrintOptionsKnobs', 'arange(0, 4, 1, kInt32)', 'ar(0, 4, 1, dtype=i32)', O(linewidth=-5))
case('PrintOptionsKnobs', 'zeros({0, 3}, kFloat16)', 'torch.zeros(0, 3, dtype=f16)', O(linewidth=20))
case('PrintOptionsKnobs', 'tensor({1.0, 2.5})', 'T([1.0, 2.5])', O(sci_mode=True))
case('PrintOptionsKnobs', 'tensor({1.0, 2.0})', 'T([1.0, 2.0])', O(sci_mode=True))
case('PrintOptionsKnobs', 'tensor({1e-5, 1.0})', 'T([1e-5, 1.0])', O(sci_mode=False))
case('PrintOptionsKnobs', 'tensor({1.0, 1e9})', 'T([1.0, 1e9])', O(sci_mode=False))
case('PrintOptionsKnobs', 'tensor({0.0, kNan})', 'T([0.0, nan])', O(sci_mode=True))
case('PrintOptionsKnobs', 'arange(0, 3, 1, kInt16)', 'ar(0, 3, 1, dtype=i16)', O(sci_mode=True))
case('PrintOptionsKnobs', 'tensor({1e-5, kInf}, kFloat64)', 'T([1e-5, inf], dtype=f64)', O(sci_mode=True, precision=2))

# Suffix placement is decided on PyTorch's spelling "dtype=torch.x", one character longer than wick's.
case('SuffixWrapping', 'arange(0, 24, 1, kBFloat16)', 'ar(0, 24, 1, dtype=bf16)')
case('SuffixWrapping', 'arange(0, 23, 1, kBFloat16)', 'ar(0, 23, 1, dtype=bf16)')
for lw in [39, 40]:
    case('SuffixWrapping', 'arange(0, 4, 1, kInt32)', 'ar(0, 4, 1, dtype=i32)', O(linewidth=lw))
for lw in [45, 46]:
    case('SuffixWrapping', 'arange(0, 12, 1, kInt32).reshape({3, 4})', 'ar(0, 12, 1, dtype=i32).reshape(3, 4)', O(linewidth=lw))
for lw in [23, 24, 44, 45]:
    case('SuffixWrapping', 'zeros({0, 3}, kFloat16)', 'torch.zeros(0, 3, dtype=f16)', O(linewidth=lw))
# get_summarized_data keeps self[-0:], i.e. everything, so the wide middle value sets the width.
case('PrintOptionsKnobs', 'tensor({1, 1000, 1, 1, 1, 1, 1})', 'T([1, 1000, 1, 1, 1, 1, 1])', O(threshold=5, edgeitems=0))

OPT_ORDER = ['precision', 'threshold', 'edgeitems', 'linewidth']

def tiny_and_big(n):
    x = ar(n, dtype=f64)
    return torch.where(x % 2 == 0, x * 0.5 + 1, x * -1e-6)
def halves(n, dt): return ar(n, dtype=dt) * 0.5
env = dict(globals())

ALIASES = {'f16': f16, 'bf16': bf16, 'f32': f32, 'f64': f64, 'i8': i8, 'u8': u8, 'i16': i16,
           'i32': i32, 'i64': i64, 'b': b}
def spelled(expr):  # the torch expression without the abbreviations above, for the comment
    expr = re.sub(r'DT\["(\w+)"\]', lambda m: str(DT[m.group(1)]), expr)
    expr = re.sub(r'\b(' + '|'.join(ALIASES) + r')\b', lambda m: str(ALIASES[m.group(1)]), expr)
    return re.sub(r'\bT\(', 'torch.tensor(', re.sub(r'\bar\(', 'torch.arange(', expr))

def cpp_opts(o):
    parts = [f'.{k} = {o[k]}' for k in OPT_ORDER if k in o]
    if 'sci_mode' in o:
        parts.append('.sci_mode_auto = false')
        parts.append(f'.sci_mode = {"true" if o["sci_mode"] else "false"}')
    return 'PrintOptions{' + ', '.join(parts) + '}'

def cpp_str(s):
    lines = s.split('\n')
    out = []
    for i, l in enumerate(lines):
        l = l.replace('\\', '\\\\').replace('"', '\\"')
        out.append('"' + l + ('\\n' if i + 1 < len(lines) else '') + '"')
    return '\n'.join(out)

res = []
for g, cases in groups.items():
    res.append(f'TEST(Print, {g}) {{')
    for cpp, tor, opts in cases:
        if tor is None: continue
        torch.set_printoptions(profile='default')
        if opts: torch.set_printoptions(**opts)
        s = repr(eval(tor, env)).replace('torch.', 'wick.')
        torch.set_printoptions(profile='default')
        py = spelled(tor)
        comment = f'  // {py}' + (f' with set_printoptions({", ".join(f"{k}={v}" for k, v in opts.items())})' if opts else '')
        res.append(comment)
        call = f'to_string({cpp}, {cpp_opts(opts)})' if opts else f'to_string({cpp})'
        res.append(f'  EXPECT_EQ({call},\n{cpp_str(s)});')
    res.append('}\n')
print('\n'.join(res))
*/
// clang-format on
