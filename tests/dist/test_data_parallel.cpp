// DistributedDataParallel: training is bit-identical on every world size that divides the
// micro-batch count (the whole job, pairs of its ranks, each rank alone), every rank holds the
// same weights, and the gradient is the mean over the global batch.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "wick/dist/data_parallel.h"
#include "wick/wick.h"

namespace wick::dist {
namespace {

constexpr int64_t kBatch = 32;

struct Data {
  Tensor x, y;
  Data() {
    Generator gen(42);
    x = randn({kBatch, 8}, gen);
    y = randn({kBatch, 4}, gen);
  }
};

// 8 -> 16 -> 4, drawn from a seed that only rank 0 of `comm` shares with rank 0 of every other
// communicator: the other ranks start elsewhere, and the constructor's broadcast must fix that.
struct Net : nn::Sequential {
  explicit Net(const Communicator& comm) {
    Generator init(100 + static_cast<uint64_t>(comm.rank()));
    emplace_back<nn::Linear>(8, 16, true, init);
    emplace_back<nn::ReLU>();
    emplace_back<nn::Linear>(16, 4, true, init);
  }
};

Tensor flat(const std::vector<Tensor>& tensors) {
  int64_t n = 0;
  for (const Tensor& t : tensors)
    n += t.numel();
  Tensor out = empty({n});
  auto* p = static_cast<std::byte*>(out.raw_data());
  for (const Tensor& t : tensors) {
    std::memcpy(p, t.contiguous().raw_data(), t.nbytes());
    p += t.nbytes();
  }
  return out;
}

bool same_on_every_rank(const Communicator& comm, const Tensor& t) {
  const Tensor all = comm.all_gather(t);
  const auto* p = static_cast<const std::byte*>(all.raw_data());
  for (int r = 1; r < comm.size(); ++r) {
    if (std::memcmp(p, p + r * t.nbytes(), t.nbytes()) != 0) return false;
  }
  return true;
}

struct Trained {
  Tensor weights;
  Tensor losses;  // float64, one per step
};

Trained train(const Communicator& comm, int micro_batches, int steps) {
  const Data data;
  Net net(comm);
  DistributedDataParallel ddp(net, comm, {.micro_batches = micro_batches, .bucket_bytes = 256});
  nn::Adam opt(net.parameters(), {.lr = 0.01});
  const int64_t per = kBatch / micro_batches;
  Trained out;
  out.losses = empty({steps}, kFloat64);
  for (int s = 0; s < steps; ++s) {
    out.losses.data<double>()[s] = ddp.backward([&](int i) {
      return mse_loss(net.forward(data.x.slice(0, i * per, (i + 1) * per)),
                      data.y.slice(0, i * per, (i + 1) * per));
    });
    opt.step();
  }
  out.weights = flat(net.parameters());
  return out;
}

TEST(DataParallel, TrainingIsBitIdenticalOnEveryWorldSize) {
  const Communicator world = Communicator::world();
  const Trained whole = train(world, 8, 6);
  // Every rank ends with the same weights and losses.
  EXPECT_TRUE(same_on_every_rank(world, whole.weights));
  EXPECT_TRUE(same_on_every_rank(world, whole.losses));
  // The job's ranks in pairs, and each rank alone, train exactly alike.
  const Trained pairs = train(world.split(world.rank() / 2), 8, 6);
  const Trained alone = train(world.split(world.rank()), 8, 6);
  EXPECT_TRUE(bitwise_equal(whole.weights, pairs.weights));
  EXPECT_TRUE(bitwise_equal(whole.weights, alone.weights));
  EXPECT_TRUE(bitwise_equal(whole.losses, alone.losses)) << whole.losses << alone.losses;
  // The control: another micro-batch count sums in another order (and must still be close).
  const Trained other = train(world, world.size(), 6);
  EXPECT_TRUE(allclose(whole.weights, other.weights, 1e-4, 1e-6));
  EXPECT_FALSE(bitwise_equal(whole.weights, other.weights)) << "the order did not matter";
}

TEST(DataParallel, TheGradientIsTheMeanOverTheGlobalBatch) {
  const Communicator world = Communicator::world();
  const Data data;
  Net net(world);
  DistributedDataParallel ddp(net, world, {.micro_batches = 4 * world.size()});
  const int64_t per = kBatch / (4 * world.size());
  const double loss = ddp.backward([&](int i) {
    return mse_loss(net.forward(data.x.slice(0, i * per, (i + 1) * per)),
                    data.y.slice(0, i * per, (i + 1) * per));
  });
  std::vector<Tensor> grads;
  for (const Tensor& p : net.parameters())
    grads.push_back(p.grad());
  const Tensor ddp_grads = flat(grads);
  // One process, the whole batch at once.
  net.zero_grad();
  const Tensor full = mse_loss(net.forward(data.x), data.y);
  full.backward();
  grads.clear();
  for (const Tensor& p : net.parameters())
    grads.push_back(p.grad());
  EXPECT_TRUE(allclose(ddp_grads, flat(grads), 1e-5, 1e-7));
  EXPECT_NEAR(loss, full.item<double>(), 1e-6);
}

TEST(DataParallel, TheConstructorGivesEveryRankRankZerosWeights) {
  const Communicator world = Communicator::world();
  Net net(world);
  if (world.size() > 1) {
    EXPECT_FALSE(same_on_every_rank(world, flat(net.parameters())));
  }
  DistributedDataParallel ddp(net, world);  // 4 micro-batches: world sizes 1, 2 and 4
  EXPECT_TRUE(same_on_every_rank(world, flat(net.parameters())));
  EXPECT_EQ(ddp.local_micro_batches() * world.size(), 4);
  EXPECT_EQ(ddp.first_micro_batch(), world.rank() * ddp.local_micro_batches());
}

TEST(DataParallel, UnreachedAndFrozenParametersKeepNoGradient) {
  // As after a plain backward(): a parameter the loss never reaches has no gradient, so the
  // optimizer leaves it alone; a frozen one is not touched at all.
  const Communicator world = Communicator::world();
  const Data data;
  Net net(world);
  nn::Linear unused(8, 2);
  net.register_module("unused", unused);
  unused.bias.set_requires_grad(false);
  DistributedDataParallel ddp(net, world, {.micro_batches = 4});
  ddp.backward([&](int i) {
    return mse_loss(net.forward(data.x.slice(0, i * 8, (i + 1) * 8)),
                    data.y.slice(0, i * 8, (i + 1) * 8));
  });
  EXPECT_FALSE(unused.weight.grad().defined());
  EXPECT_FALSE(unused.bias.grad().defined());
  for (const auto& [name, p] : net.named_parameters()) {
    if (!name.starts_with("unused")) {
      EXPECT_TRUE(p.grad().defined()) << name;
    }
  }
}

TEST(DataParallel, RefusesMicroBatchCountsThatWouldChangeTheSumOrder) {
  const Communicator world = Communicator::world();
  Net net(world);
  EXPECT_THROW(DistributedDataParallel(net, world, {.micro_batches = 3}), ArgumentError);
  EXPECT_THROW(DistributedDataParallel(net, world, {.micro_batches = 0}), ArgumentError);
  if (world.size() > 1) {
    EXPECT_THROW(DistributedDataParallel(net, world, {.micro_batches = world.size() / 2}),
                 ArgumentError);
  }
}

}  // namespace
}  // namespace wick::dist
