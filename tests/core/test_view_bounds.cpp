// Views at the edge of int64 (issue 16, class 7): the view checks use overflow-safe arithmetic
// everywhere, messages included, and every view's offset lies inside its storage or one past
// its end, so raw_data() is always a pointer into (or just past) the storage.

#include <gtest/gtest.h>

#include <cstdint>

#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

constexpr int64_t kMax = INT64_MAX;

TEST(ViewBounds, TheRefusalOfAViewEndingAtInt64MaxDoesNotOverflow) {
  const auto storage = Storage::allocate(4 * sizeof(float));
  // The last element is at 2^63-1; the message counts 2^63 elements, which needs no int64.
  WICK_EXPECT_THROW_MSG(Tensor(storage, {1}, {1}, kMax, kFloat32), ShapeError,
                        "needs 9223372036854775808 elements, storage holds 4");
  WICK_EXPECT_THROW_MSG(Tensor(storage, {2}, {kMax - 1}, 1, kFloat32), ShapeError,
                        "needs 9223372036854775808 elements");
  WICK_EXPECT_THROW_MSG(Tensor(storage, {2}, {1}, kMax, kFloat32), ShapeError, "overflows int64");
}

TEST(ViewBounds, AnEmptyViewLiesInsideItsStorageOrJustPastIt) {
  const auto storage = Storage::allocate(4 * sizeof(float));
  for (const int64_t offset : {int64_t{5}, kMax - 1, kMax}) {
    WICK_EXPECT_THROW_MSG(Tensor(storage, {0}, {1}, offset, kFloat32), ShapeError,
                          "outside its 4-element storage");
    WICK_EXPECT_THROW_MSG(Tensor(storage, {0, 3}, {3, 1}, offset, kFloat32), ShapeError,
                          "outside its 4-element storage");
  }
  // At the end, like x[4:] of a 4-element tensor: raw_data() points just past the storage.
  const Tensor end(storage, {0}, {1}, 4, kFloat32);
  EXPECT_EQ(end.raw_data(), storage->data() + 16);
  // Sizes beside the zero do not matter; strides of an empty view place nothing.
  const Tensor wide(storage, {0, kMax}, {kMax, kMax}, 3, kFloat32);
  EXPECT_EQ(wide.raw_data(), storage->data() + 12);
  // A storage of zero bytes takes only offset 0.
  EXPECT_NO_THROW(Tensor(Storage::allocate(0), {0, 7}, {7, 1}, 0, kFloat64));
  EXPECT_THROW(Tensor(Storage::allocate(0), {0, 7}, {7, 1}, 1, kFloat64), ShapeError);
}

TEST(ViewBounds, SelectingFromAnEmptyTensorKeepsTheOffsetInside) {
  // [5, 0, 2^20] has contiguous strides [2^20, 2^20, 1] over an empty storage: row 4 would
  // start at element 2^22, far past the storage's end.
  const Tensor t = zeros({5, 0, int64_t{1} << 20});
  for (int64_t i = 0; i < 5; ++i) {
    const Tensor row = t.select(0, i);
    EXPECT_EQ(row.numel(), 0);
    EXPECT_EQ(row.offset(), t.offset()) << i;
    EXPECT_NO_THROW(Tensor(row.storage(), row.shape(), row.strides(), row.offset(), row.dtype()));
  }
  // Slicing with a step: an empty view's strides may be huge, and their product is not needed.
  const auto storage = Storage::allocate(0);
  const Tensor huge(storage, {0, 3}, {1, kMax / 2}, 0, kFloat32);
  const Tensor stepped = huge.slice(1, 0, 3, 4);
  EXPECT_EQ(stepped.shape(), (Shape{0, 1}));
  EXPECT_EQ(stepped.offset(), 0);
  // Non-empty selections still move the offset.
  const Tensor a = arange(6).view({2, 3});
  EXPECT_EQ(a.select(0, 1).offset(), 3);
  EXPECT_EQ(a.select(1, 2).offset(), 2);
}

}  // namespace
}  // namespace wick
