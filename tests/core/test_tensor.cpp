#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/tensor.h"

namespace wick {
namespace {

std::vector<int64_t> values(const Tensor& t) {
  const Tensor c = t.to(kInt64).contiguous();
  const auto s = c.span<int64_t>();
  return {s.begin(), s.end()};
}

TEST(Tensor, UndefinedTensorThrowsNamingTheOperation) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  WICK_EXPECT_THROW_MSG(t.clone(), ArgumentError, "clone: tensor is undefined");
  WICK_EXPECT_THROW_MSG(t.raw_data(), ArgumentError, "undefined");
  WICK_EXPECT_THROW_MSG(t.view({1}), ArgumentError, "view: tensor is undefined");
}

TEST(Tensor, StorageIsAlignedAndShared) {
  Tensor a = zeros({3, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.raw_data()) % kStorageAlignment, 0u);
  Tensor b = a;  // handle copy
  b.fill_(2.5);
  EXPECT_EQ(a[2][4].item<float>(), 2.5f);
  EXPECT_TRUE(a.is_same(b));
  EXPECT_FALSE(a.is_same(a.t()));
}

TEST(Tensor, HandleCopySharesCloneDoesNot) {
  Tensor a = zeros({2, 2});
  Tensor b = a;
  Tensor c = a.clone();
  b.fill_(7);
  EXPECT_TRUE(a.shares_storage(b));
  EXPECT_FALSE(a.shares_storage(c));
  EXPECT_EQ(values(a), (std::vector<int64_t>{7, 7, 7, 7}));
  EXPECT_EQ(values(c), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(Tensor, ConstructorRefusesViewsOutsideStorage) {
  auto storage = Storage::allocate(4 * sizeof(float));
  EXPECT_NO_THROW(Tensor(storage, {2, 2}, {2, 1}, 0, kFloat32));
  WICK_EXPECT_THROW_MSG(Tensor(storage, {2, 2}, {2, 1}, 1, kFloat32), ShapeError,
                        "needs 5 elements, storage holds 4");
  WICK_EXPECT_THROW_MSG(Tensor(storage, {2}, {1, 1}, 0, kFloat32), ShapeError, "needs 1 strides");
  WICK_EXPECT_THROW_MSG(Tensor(storage, {-1}, {1}, 0, kFloat32), ShapeError, "negative size -1");
  WICK_EXPECT_THROW_MSG(Tensor(storage, {2, INT64_MAX}, {INT64_MAX, 1}, 0, kFloat32), ShapeError,
                        "overflows int64");
  // Empty views need no storage at all.
  EXPECT_NO_THROW(Tensor(Storage::allocate(0), {0, 7}, {7, 1}, 0, kFloat64));
}

TEST(Tensor, ViewSharesStorageAndInfersMinusOne) {
  Tensor a = arange(12);
  Tensor v = a.view({3, -1});
  EXPECT_EQ(v.shape(), (Shape{3, 4}));
  EXPECT_TRUE(v.shares_storage(a));
  v.select(0, 1).fill_(-1);
  EXPECT_EQ(values(a), (std::vector<int64_t>{0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11}));
  WICK_EXPECT_THROW_MSG(a.view({5, -1}), ShapeError,
                        "view: shape [5, -1] is invalid for input of size 12");
  WICK_EXPECT_THROW_MSG(a.view({-1, -1}), ShapeError, "only one dimension can be inferred");
  WICK_EXPECT_THROW_MSG(a.view({13}), ShapeError, "shape [13] is invalid for input of size 12");
}

TEST(Tensor, ViewOfTransposeFailsButReshapeCopies) {
  Tensor a = arange(6).view({2, 3});
  Tensor t = a.t();
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(t), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  WICK_EXPECT_THROW_MSG(t.view({6}), ShapeError, "use reshape()");
  Tensor r = t.reshape({6});
  EXPECT_FALSE(r.shares_storage(a));
  EXPECT_EQ(values(r), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  // Reshape that can be a view stays a view.
  EXPECT_TRUE(a.reshape({3, 2}).shares_storage(a));
  // Splitting a dimension of a non-contiguous tensor is still a view.
  Tensor s = arange(24).view({4, 6}).slice(1, 0, 4);
  EXPECT_TRUE(s.view({4, 2, 2}).shares_storage(s));
}

TEST(Tensor, TransposePermuteAndErrors) {
  Tensor a = arange(24).view({2, 3, 4});
  Tensor p = a.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(a.transpose(0, -1).shape(), (Shape{4, 3, 2}));
  WICK_EXPECT_THROW_MSG(a.t(), ShapeError, "t: expects a tensor with <= 2 dimensions, but got 3");
  WICK_EXPECT_THROW_MSG(a.transpose(0, 3), ArgumentError,
                        "transpose: dimension out of range (expected to be in range of [-3, 2], "
                        "but got 3)");
  WICK_EXPECT_THROW_MSG(a.permute({0, 0, 1}), ArgumentError, "dimension 0 repeats");
  WICK_EXPECT_THROW_MSG(a.permute({0, 1}), ShapeError, "has 2 entries but the tensor has 3");
  EXPECT_EQ(arange(3).t().shape(), (Shape{3}));
}

TEST(Tensor, SliceAndSelect) {
  Tensor a = arange(10);
  EXPECT_EQ(values(a.slice(0, 2, 8, 3)), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(values(a.slice(0, -3, 100)), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(a.slice(0, 8, 2).numel(), 0);
  WICK_EXPECT_THROW_MSG(a.slice(0, 0, 5, 0), ArgumentError, "step must be positive, got 0");
  Tensor m = arange(12).view({3, 4});
  EXPECT_EQ(values(m.slice(1, 1, 3)), (std::vector<int64_t>{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(values(m.select(1, -1)), (std::vector<int64_t>{3, 7, 11}));
  EXPECT_EQ(values(m[2]), (std::vector<int64_t>{8, 9, 10, 11}));
  EXPECT_EQ(m[1][2].item<int64_t>(), 6);
  WICK_EXPECT_THROW_MSG(m.select(0, 3), ArgumentError,
                        "select: index 3 is out of bounds for dimension 0 with size 3");
  WICK_EXPECT_THROW_MSG(m[0][0].select(0, 0), ShapeError, "cannot index a 0-d tensor");
}

TEST(Tensor, UnsqueezeSqueezeExpand) {
  Tensor a = arange(3);
  EXPECT_EQ(a.unsqueeze(0).shape(), (Shape{1, 3}));
  EXPECT_EQ(a.unsqueeze(-1).shape(), (Shape{3, 1}));
  EXPECT_EQ(a.unsqueeze(0).squeeze(0).shape(), (Shape{3}));
  EXPECT_EQ(a.squeeze(0).shape(), (Shape{3}));
  Tensor e = a.unsqueeze(0).expand({2, 3});
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(values(e), (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(a.expand({4, -1}).shape(), (Shape{4, 3}));
  WICK_EXPECT_THROW_MSG(a.expand({2, 4}), ShapeError,
                        "expand: the expanded size 4 must match the existing size 3");
  WICK_EXPECT_THROW_MSG(a.expand({2}), ShapeError, "expanded size 2 must match");
}

TEST(Tensor, CopyBroadcastsConvertsAndHandlesOverlap) {
  Tensor dst = zeros({2, 3}, kFloat64);
  dst.copy_(tensor({1, 2, 3}));
  EXPECT_EQ(values(dst), (std::vector<int64_t>{1, 2, 3, 1, 2, 3}));
  WICK_EXPECT_THROW_MSG(dst.copy_(tensor({1, 2})), ShapeError, "expand");
  // Overlapping source and destination in one storage: the result must be as if copied first.
  Tensor a = arange(6);
  a.slice(0, 1, 6).copy_(a.slice(0, 0, 5));
  EXPECT_EQ(values(a), (std::vector<int64_t>{0, 0, 1, 2, 3, 4}));
  // Copy into a transposed view writes through to the base.
  Tensor m = zeros({2, 2}, kInt32);
  m.t().copy_(tensor({{1, 2}, {3, 4}}));
  EXPECT_EQ(values(m), (std::vector<int64_t>{1, 3, 2, 4}));
}

TEST(Tensor, ItemAndTypedAccess) {
  EXPECT_EQ(full({}, 3.75).item<double>(), 3.75);
  EXPECT_EQ(full({1, 1}, 9, kInt16).item<int64_t>(), 9);
  EXPECT_TRUE(full({}, 1, kBool).item<bool>());
  WICK_EXPECT_THROW_MSG(zeros({2}).item(), ArgumentError, "a Tensor with 2 elements cannot be");
  Tensor f = zeros({4});
  EXPECT_EQ(f.span<float>().size(), 4u);
  WICK_EXPECT_THROW_MSG(f.data<double>(), ArgumentError,
                        "Tensor::data: requested element type wick.float64 but the tensor holds "
                        "wick.float32");
  WICK_EXPECT_THROW_MSG(zeros({2, 3}).t().span<float>(), ArgumentError, "is not contiguous");
}

TEST(Creation, FactoriesProduceShapeDtypeAndValues) {
  EXPECT_EQ(arange(4).dtype(), kInt64);
  EXPECT_EQ(values(arange(4)), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(values(arange(1, 10, 3, kInt32)), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_EQ(arange(0, 1, 0.25).numel(), 4);
  EXPECT_EQ(values(arange(5, 0, -2, kInt64)), (std::vector<int64_t>{5, 3, 1}));
  WICK_EXPECT_THROW_MSG(arange(0, 5, 0), ArgumentError, "step must be finite and nonzero");
  WICK_EXPECT_THROW_MSG(arange(5, 0, 1), ArgumentError, "inconsistent with step sign");
  WICK_EXPECT_THROW_MSG(arange(-1), ArgumentError, "inconsistent with step sign");
}

// torch.arange infers its dtype from its arguments: int64 when all are integers, the default
// float32 as soon as one is floating.
TEST(Creation, ArangeDtypeFollowsItsArgumentsAsTorch) {
  EXPECT_EQ(arange(0, 6).dtype(), kInt64);
  EXPECT_EQ(values(arange(0, 6)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values(arange(10, 0, -3)), (std::vector<int64_t>{10, 7, 4, 1}));
  EXPECT_EQ(arange(10, 0, -3).dtype(), kInt64);
  EXPECT_EQ(arange(int64_t{2}, int32_t{5}).dtype(), kInt64);
  EXPECT_EQ(arange(0, 6.0).dtype(), kFloat32);
  EXPECT_EQ(arange(0.0, 6).dtype(), kFloat32);
  EXPECT_EQ(arange(0, 6, 0.5).dtype(), kFloat32);
  EXPECT_EQ(arange(0, 6, 0.5).numel(), 12);
  EXPECT_EQ(arange(4.0).dtype(), kFloat32);
  EXPECT_EQ(values(arange(4.0)), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(arange(0, 1, 0.25).dtype(), kFloat32);
  EXPECT_EQ(arange(5, 5).numel(), 0);
  EXPECT_EQ(arange(5, 5).dtype(), kInt64);
  // An explicit dtype wins.
  EXPECT_EQ(arange(0, 6, 1, kFloat64).dtype(), kFloat64);
  EXPECT_EQ(arange(0, 6, 2, kInt16).dtype(), kInt16);
  EXPECT_EQ(values(arange(0.5, 3, 1, kInt32)), (std::vector<int64_t>{0, 1, 2}));  // truncated
  // Integers are exact beyond 2^53, where a double would round.
  const int64_t big = (int64_t{1} << 62) + 1;
  const Tensor t = arange(big, big + 3);
  EXPECT_EQ(t.data<int64_t>()[0], big);
  EXPECT_EQ(t.data<int64_t>()[2], big + 2);
  const Tensor ends = arange(INT64_MAX - 2, INT64_MAX, 1);
  EXPECT_EQ(ends.numel(), 2);
  EXPECT_EQ(ends.data<int64_t>()[1], INT64_MAX - 1);
  const Tensor down = arange(INT64_MIN + 2, INT64_MIN, -1);
  EXPECT_EQ(down.numel(), 2);
  EXPECT_EQ(down.data<int64_t>()[1], INT64_MIN + 1);
}

TEST(Creation, ArangeErrors) {
  WICK_EXPECT_THROW_MSG(arange(0, 6, 0), ArgumentError, "arange: step must be finite and nonzero");
  WICK_EXPECT_THROW_MSG(arange(0.0, 6.0, 0.0), ArgumentError, "step must be finite and nonzero");
  WICK_EXPECT_THROW_MSG(arange(6, 0), ArgumentError,
                        "inconsistent with step sign (start 6, end 0, step 1)");
  WICK_EXPECT_THROW_MSG(arange(0, 6, -1), ArgumentError, "inconsistent with step sign");
  WICK_EXPECT_THROW_MSG(arange(0.0, std::numeric_limits<double>::infinity()), ArgumentError,
                        "unsupported range");
  WICK_EXPECT_THROW_MSG(arange(INT64_MIN, INT64_MAX), ArgumentError, "elements is too many");
  WICK_EXPECT_THROW_MSG(arange(0.0, 1e300, 1.0), ArgumentError, "elements is too many");
  for (DType d :
       {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64}) {
    EXPECT_EQ(zeros({2, 3}, d).dtype(), d);
    EXPECT_EQ(values(zeros({2}, d)), (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(values(ones({2}, d)), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(values(full({3}, 1, d)), (std::vector<int64_t>{1, 1, 1}));
    EXPECT_EQ(empty({0, 4}, d).numel(), 0);
  }
  EXPECT_EQ(zeros({}).dim(), 0);
  EXPECT_EQ(zeros({}).numel(), 1);
  WICK_EXPECT_THROW_MSG(zeros({2, -3}), ShapeError, "negative size -3");
  WICK_EXPECT_THROW_MSG(empty({INT64_MAX / 2, 4}), ShapeError, "overflows");
}

TEST(Creation, LiteralsAndVectors) {
  EXPECT_EQ(tensor({1, 2}).dtype(), kInt64);
  EXPECT_EQ(tensor({1.5, 2.5}).dtype(), kFloat32);
  EXPECT_EQ(tensor({true, false}).dtype(), kBool);
  EXPECT_EQ(tensor({1, 2}, kFloat64).dtype(), kFloat64);
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(m), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  WICK_EXPECT_THROW_MSG(tensor({{1, 2}, {3}}), ShapeError, "rows must have equal lengths");
  Tensor v = from_vector(std::vector<int32_t>{5, 6, 7, 8}, {2, 2});
  EXPECT_EQ(v.dtype(), kInt32);
  EXPECT_EQ(values(v), (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(from_vector(std::vector<double>{1.0}).dtype(), kFloat64);
  WICK_EXPECT_THROW_MSG(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), ShapeError,
                        "3 values do not fill shape [2, 2] (4 elements)");
  EXPECT_EQ(scalar_tensor(4, kInt8).dim(), 0);
}

TEST(Shape, HelpersAndBroadcasting) {
  EXPECT_EQ(shape_str(Shape{}), "[]");
  EXPECT_EQ(shape_str(Shape{256, 20}), "[256, 20]");
  EXPECT_EQ(shape_numel(Shape{}), 1);
  EXPECT_EQ(shape_numel(Shape{3, 0, 5}), 0);
  EXPECT_EQ(contiguous_strides(Shape{2, 3, 4}), (Shape{12, 4, 1}));
  const int64_t big = int64_t{1} << 40;
  WICK_EXPECT_THROW_MSG(contiguous_strides(Shape{0, big, big}), ShapeError,
                        "strides overflow int64");
  WICK_EXPECT_THROW_MSG(zeros({0, big, big}), ShapeError, "strides overflow int64");
  EXPECT_EQ(broadcast_shapes(Shape{2, 1}, Shape{1, 3}, "add"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{}, Shape{4}, "add"), (Shape{4}));
  EXPECT_EQ(broadcast_shapes(Shape{5, 1, 3}, Shape{4, 1}, "add"), (Shape{5, 4, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{0}, Shape{1}, "add"), (Shape{0}));
  WICK_EXPECT_THROW_MSG(broadcast_shapes(Shape{2, 3}, Shape{4}, "add"), ShapeError,
                        "add: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_EQ(normalize_dim(-1, 3, "op"), 2);
  EXPECT_EQ(normalize_dim(-1, 0, "op"), 0);
  WICK_EXPECT_THROW_MSG(normalize_dim(3, 3, "sum"), ArgumentError, "sum: dimension out of range");
}

}  // namespace
}  // namespace wick
