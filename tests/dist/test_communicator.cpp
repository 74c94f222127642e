// Communicator: every collective on every dtype, the same bits on every rank, and the errors
// every rank throws alike instead of hanging. Run as MPI jobs of 1, 2 and 4 ranks.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "wick/dist/communicator.h"
#include "wick/wick.h"

namespace wick::dist {
namespace {

const std::vector<DType> kAllDTypes{kBool,  kUInt8,   kInt8,     kInt16,   kInt32,
                                    kInt64, kFloat16, kBFloat16, kFloat32, kFloat64};

Communicator world() {
  return Communicator::world();
}

// True when every rank holds the same bytes in `t`.
bool same_on_every_rank(const Tensor& t) {
  const Tensor all = world().all_gather(t);
  const auto* p = static_cast<const std::byte*>(all.raw_data());
  for (int r = 1; r < world().size(); ++r) {
    if (std::memcmp(p, p + r * t.nbytes(), t.nbytes()) != 0) return false;
  }
  return true;
}

TEST(Communicator, RanksAreZeroToSizeInOrder) {
  const Communicator w = world();
  ASSERT_GE(w.size(), 1);
  ASSERT_LT(w.rank(), w.size());
  const Tensor ranks = w.all_gather(full({1}, w.rank(), kInt32));
  ASSERT_EQ(ranks.shape(), (Shape{w.size(), 1}));
  for (int r = 0; r < w.size(); ++r)
    EXPECT_EQ(ranks.data<int32_t>()[r], r);
}

TEST(Communicator, AllReduceSumsEveryDType) {
  const Communicator w = world();
  const int n = w.size();
  for (const DType d : kAllDTypes) {
    SCOPED_TRACE(std::string(dtype_name(d)));
    // Bool sums are a logical or: only the last rank holds true.
    Tensor t = d == kBool ? full({7}, w.rank() == n - 1, d) : full({7}, w.rank() + 1, d);
    w.all_reduce(t);
    const Tensor expected = d == kBool ? full({7}, true, d) : full({7}, n * (n + 1) / 2, d);
    EXPECT_TRUE(equal(t, expected)) << t;
  }
}

TEST(Communicator, AllReduceMeanOfFloatsAndRefusesIntegers) {
  const Communicator w = world();
  for (const DType d : {kFloat16, kBFloat16, kFloat32, kFloat64}) {
    Tensor t = full({3}, 2 * (w.rank() + 1), d);
    w.all_reduce(t, ReduceOp::kMean);
    EXPECT_TRUE(equal(t, full({3}, w.size() + 1, d))) << dtype_name(d) << ": " << t;
  }
  for (const DType d : {kBool, kInt32, kInt64}) {
    Tensor t = full({3}, 1, d);
    EXPECT_THROW(w.all_reduce(t, ReduceOp::kMean), ArgumentError) << dtype_name(d);
  }
}

TEST(Communicator, EveryRankEndsWithTheSameBits) {
  const Communicator w = world();
  Generator gen(1000 + static_cast<uint64_t>(w.rank()));
  // Large enough for MPI's segmented algorithms, odd so that no chunk divides it evenly.
  for (const int64_t n : {int64_t{1}, int64_t{1000}, int64_t{300001}}) {
    Tensor t = randn({n}, gen);
    w.all_reduce(t);
    EXPECT_TRUE(same_on_every_rank(t)) << n << " elements";
  }
}

TEST(Communicator, BroadcastCopiesTheRootsBitsForEveryDType) {
  const Communicator w = world();
  for (const int root : {0, w.size() - 1}) {
    for (const DType d : kAllDTypes) {
      Tensor root_value = arange(0, 24, 1, kInt64).to(d).reshape({2, 3, 4});
      Tensor t = w.rank() == root ? root_value.clone() : zeros({2, 3, 4}, d);
      w.broadcast(t, root);
      EXPECT_TRUE(equal(t, root_value)) << dtype_name(d) << " from root " << root;
    }
  }
  // NaN payloads and signed zeros travel as bits.
  Tensor bits = full({4}, 0, kInt32);
  if (w.rank() == 0) {
    const int32_t patterns[4] = {0x7fc00001, static_cast<int32_t>(0x80000000), 0x7f800000, 1};
    std::memcpy(bits.raw_data(), patterns, sizeof patterns);
  }
  Tensor as_float = bits.view({4}).clone();
  w.broadcast(bits);
  EXPECT_TRUE(same_on_every_rank(bits));
}

TEST(Communicator, AllGatherStacksInRankOrder) {
  const Communicator w = world();
  const Tensor mine = full({2, 3}, 10 * w.rank(), kFloat32);
  const Tensor all = w.all_gather(mine);
  ASSERT_EQ(all.shape(), (Shape{w.size(), 2, 3}));
  for (int r = 0; r < w.size(); ++r)
    EXPECT_TRUE(equal(all.select(0, r), full({2, 3}, 10 * r)));
}

TEST(Communicator, DifferentShapesOrDTypesThrowOnEveryRankInsteadOfHanging) {
  const Communicator w = world();
  const bool odd_one = w.size() > 1 && w.rank() == w.size() - 1;
  Tensor shape_differs = zeros({odd_one ? 5 : 4});
  Tensor dtype_differs = zeros({4}, odd_one ? kFloat64 : kFloat32);
  Tensor reshaped = zeros(odd_one ? Shape{2, 2} : Shape{4});
  if (w.size() == 1) {
    EXPECT_NO_THROW(w.all_reduce(shape_differs));
    return;
  }
  EXPECT_THROW(w.all_reduce(shape_differs), ShapeError);
  EXPECT_THROW(w.all_reduce(dtype_differs), ShapeError);
  EXPECT_THROW(w.broadcast(reshaped), ShapeError);
  EXPECT_THROW(w.all_gather(shape_differs), ShapeError);
  // The communicator still works afterwards.
  Tensor ok = ones({2});
  w.all_reduce(ok);
  EXPECT_TRUE(equal(ok, full({2}, w.size())));
}

TEST(Communicator, OneRanksRefusalIsEveryRanksErrorInsteadOfAHang) {
  const Communicator w = world();
  const bool odd_one = w.rank() == w.size() - 1;
  // One rank passes a transposed (non-contiguous) tensor: it throws its own error, the others
  // learn of it instead of waiting in the collective.
  Tensor t = odd_one ? zeros({3, 2}).t() : zeros({2, 3});
  EXPECT_THROW(w.all_reduce(t), ArgumentError);
  EXPECT_THROW(w.broadcast(t), ArgumentError);
  // One rank asks for the mean of integers, the others of floats.
  Tensor ints = zeros({2}, odd_one ? kInt32 : kFloat32);
  EXPECT_THROW(w.all_reduce(ints, ReduceOp::kMean), ArgumentError);
  if (w.size() > 1) {
    // The ranks disagree on the root, or on the reduction.
    Tensor x = zeros({2});
    EXPECT_THROW(w.broadcast(x, odd_one ? 1 : 0), ArgumentError);
    EXPECT_THROW(w.all_reduce(x, odd_one ? ReduceOp::kMean : ReduceOp::kSum), ArgumentError);
  }
  Tensor ok = ones({2});
  w.all_reduce(ok);
  EXPECT_TRUE(equal(ok, full({2}, w.size())));
}

TEST(Communicator, RefusesWhatItCannotSendBeforeCommunicating) {
  const Communicator w = world();
  Tensor strided = zeros({2, 3}).t();
  EXPECT_THROW(w.all_reduce(strided), ArgumentError);
  EXPECT_THROW(w.broadcast(strided), ArgumentError);
  EXPECT_THROW(w.all_gather(strided), ArgumentError);
  Tensor undefined;
  EXPECT_THROW(w.all_reduce(undefined), ArgumentError);
  Tensor t = zeros({2});
  EXPECT_THROW(w.broadcast(t, w.size()), ArgumentError);
  EXPECT_THROW(w.broadcast(t, -1), ArgumentError);
  w.barrier();  // everyone is still in step
}

}  // namespace
}  // namespace wick::dist
