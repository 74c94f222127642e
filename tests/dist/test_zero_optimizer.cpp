// ZeroOptimizer (ZeRO-1): training is bit-identical to the inner optimizer over whole
// parameters on every world size, each rank keeps about 1/N of the state, and its checkpoints
// load on any number of ranks, or whole in one process for the plain optimizer.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "shared_dir.h"
#include "wick/dist/data_parallel.h"
#include "wick/dist/sharded_checkpoint.h"
#include "wick/dist/zero_optimizer.h"
#include "wick/wick.h"

namespace wick::dist {
namespace {

constexpr int64_t kBatch = 32;
constexpr int kMicroBatches = 4;

// 8 -> 15 -> 3: the output layer's bias (3 elements) leaves rank 3 of 4 no slice of it, and
// no parameter's size divides evenly by 2 or 4 but the first weight.
struct Net : nn::Sequential {
  Net() {
    Generator init(7);
    emplace_back<nn::Linear>(8, 15, true, init);
    emplace_back<nn::ReLU>();
    emplace_back<nn::Linear>(15, 3, true, init);
  }
};

struct Data {
  Tensor x, y;
  Data() {
    Generator gen(42);
    x = randn({kBatch, 8}, gen);
    y = randn({kBatch, 3}, gen);
  }
};

using Factory = ZeroOptimizer::Factory;

const Factory kAdam = [](std::vector<Tensor> s) {
  return std::make_unique<nn::Adam>(std::move(s), nn::AdamOptions{.lr = 0.01});
};
const Factory kAmsgradW = [](std::vector<Tensor> s) {
  return std::make_unique<nn::AdamW>(std::move(s), nn::AdamWOptions{.lr = 0.01, .amsgrad = true});
};
const Factory kMomentum = [](std::vector<Tensor> s) {
  return std::make_unique<nn::SGD>(std::move(s),
                                   nn::SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true});
};

// Every parameter's bits, concatenated.
std::vector<std::byte> bits(const std::vector<Tensor>& params) {
  std::vector<std::byte> out;
  for (const Tensor& p : params) {
    const auto* b = static_cast<const std::byte*>(p.contiguous().raw_data());
    out.insert(out.end(), b, b + p.nbytes());
  }
  return out;
}

// `steps` DDP steps of `net` over `comm`, the update by `step`.
template <class Step>
void train(Net& net, const Communicator& comm, int steps, Step&& step) {
  const Data data;
  DistributedDataParallel ddp(net, comm, {.micro_batches = kMicroBatches});
  const int64_t per = kBatch / kMicroBatches;
  for (int s = 0; s < steps; ++s) {
    ddp.backward([&](int i) {
      return mse_loss(net.forward(data.x.slice(0, i * per, (i + 1) * per)),
                      data.y.slice(0, i * per, (i + 1) * per));
    });
    step();
  }
}

// The weights after `steps` steps with a plain optimizer from `make` over whole parameters.
std::vector<std::byte> plain_run(const Communicator& comm, const Factory& make, int steps) {
  Net net;
  const std::unique_ptr<nn::Optimizer> opt = make(net.parameters());
  train(net, comm, steps, [&] { opt->step(); });
  return bits(net.parameters());
}

bool same_on_every_rank(const Communicator& comm, const std::vector<std::byte>& b) {
  Tensor t = empty({static_cast<int64_t>(b.size())}, kUInt8);
  std::memcpy(t.raw_data(), b.data(), b.size());
  const Tensor all = comm.all_gather(t);
  for (int r = 1; r < comm.size(); ++r) {
    if (std::memcmp(all.data<uint8_t>(), all.data<uint8_t>() + r * b.size(), b.size()) != 0)
      return false;
  }
  return true;
}

TEST(ZeroOptimizer, TrainsBitForBitAsTheInnerOptimizerOnEveryWorldSize) {
  const Communicator world = Communicator::world();
  for (const Factory* make : {&kAdam, &kAmsgradW, &kMomentum}) {
    const std::vector<std::byte> reference = plain_run(world.split(world.rank()), *make, 5);
    for (const int group : {1, 2, 4}) {
      const Communicator comm = world.split(world.rank() / group);
      Net net;
      // Parts of 7 bytes: the exchange cuts through elements and parameters.
      ZeroOptimizer zero(net.parameters(), comm, *make, {.bucket_bytes = 7});
      train(net, comm, 5, [&] { zero.step(); });
      EXPECT_TRUE(bits(net.parameters()) == reference) << "groups of " << comm.size();
      EXPECT_TRUE(same_on_every_rank(comm, bits(net.parameters())));
    }
  }
}

// Bytes of every tensor in an optimizer's state.
std::size_t state_bytes(const Value& state) {
  std::size_t n = 0;
  for (const auto& [key, entry] : state.at("state").dict()) {
    for (const auto& [name, buffer] : entry.dict()) {
      if (name.str() != "step") n += buffer.tensor().nbytes();
    }
  }
  return n;
}

TEST(ZeroOptimizer, AStepLeavesNoGradientBehind) {
  const Communicator world = Communicator::world();
  Net net;
  ZeroOptimizer zero(net.parameters(), world, kAdam);
  train(net, world, 1, [&] { zero.step(); });
  for (const Tensor& s : zero.local().params())
    EXPECT_FALSE(s.grad().defined()) << "the slice keeps a view of last step's gradient";
}

TEST(ZeroOptimizer, EachRankKeepsItsSliceOfTheState) {
  const Communicator world = Communicator::world();
  Net net;
  ZeroOptimizer zero(net.parameters(), world, kAdam);
  train(net, world, 1, [&] { zero.step(); });
  const std::size_t whole = 2 * 4 * static_cast<std::size_t>(8 * 15 + 15 + 15 * 3 + 3);
  std::size_t mine = 0;
  for (std::size_t i = 0; i < zero.params().size(); ++i) {
    const io::ElementRange r = zero.owned(i);
    EXPECT_EQ(r.start, io::even_range(zero.params()[i].numel(), world.rank(), world.size()).start);
    mine += 2 * 4 * r.count;  // exp_avg and exp_avg_sq, float32
  }
  EXPECT_EQ(state_bytes(zero.state_dict()), mine);
  Tensor total = full({1}, static_cast<int64_t>(mine), kInt64);
  world.all_reduce(total);
  EXPECT_EQ(total.item<int64_t>(), static_cast<int64_t>(whole));
  EXPECT_LE(mine, whole / world.size() + 2 * 4 * 4);  // at most one element more per parameter
}

// The state saved on `comm` at `dir` after 3 steps; the weights after 3 more, for comparison.
std::vector<std::byte> save_after_three(const Communicator& comm,
                                        const std::filesystem::path& dir) {
  Net net;
  ZeroOptimizer zero(net.parameters(), comm, kAdam);
  train(net, comm, 3, [&] { zero.step(); });
  io::ShardedState state;
  state.value = Dict{{"model", net.state_dict()}, {"optimizer", zero.state_dict()}};
  state.slices = zero.shard_slices("/optimizer");
  save_sharded(state, dir, comm);
  train(net, comm, 3, [&] { zero.step(); });
  return bits(net.parameters());
}

// Loads the model and ZeRO state at `dir` on `comm` and trains 3 more steps.
std::vector<std::byte> resume(const Communicator& comm, const std::filesystem::path& dir) {
  Net net;
  ZeroOptimizer zero(net.parameters(), comm, kAdam);
  const Value ckpt = load_sharded_by(dir, comm, zero.slice_rule("/optimizer"));
  net.load_state_dict(ckpt.at("model"));
  zero.load_state_dict(ckpt.at("optimizer"));
  train(net, comm, 3, [&] { zero.step(); });
  return bits(net.parameters());
}

TEST(ZeroOptimizer, ACheckpointResumesOnAnyWorldSizeAndWholeInOneProcess) {
  const Communicator world = Communicator::world();
  SharedDir dir(world);
  const std::vector<std::byte> straight = save_after_three(world, dir / "ckpt");
  // The checkpoint holds whole buffers: each is written once, in slices.
  const io::ShardedReader reader(dir / "ckpt");
  for (const io::ShardedEntry& e : reader.entries()) {
    if (e.path == "/optimizer/state/0/exp_avg") {
      EXPECT_EQ(e.shape, (Shape{15, 8}));
      EXPECT_EQ(e.pieces, static_cast<uint32_t>(world.size()));
    }
  }
  for (const int group : {1, 2, 4}) {
    const Communicator comm = world.split(world.rank() / group);
    EXPECT_TRUE(resume(comm, dir / "ckpt") == straight) << "resumed on " << comm.size();
  }
  // In one process the optimizer state is plain Adam's, whole.
  const Value whole = io::load_sharded(dir / "ckpt");
  Net net;
  net.load_state_dict(whole.at("model"));
  nn::Adam adam(net.parameters(), {.lr = 0.01});
  adam.load_state_dict(whole.at("optimizer"));
  train(net, world.split(world.rank()), 3, [&] { adam.step(); });
  EXPECT_TRUE(bits(net.parameters()) == straight);
}

TEST(ZeroOptimizer, APlainOptimizersCheckpointLoadsAsSlices) {
  const Communicator world = Communicator::world();
  SharedDir dir(world);
  Net net;
  nn::Adam adam(net.parameters(), {.lr = 0.01});
  train(net, world, 3, [&] { adam.step(); });
  save_sharded(Value(Dict{{"model", net.state_dict()}, {"optimizer", adam.state_dict()}}),
               dir / "ckpt", world);
  train(net, world, 3, [&] { adam.step(); });
  EXPECT_TRUE(resume(world, dir / "ckpt") == bits(net.parameters()));
}

TEST(ZeroOptimizer, SliceRuleReadsOnlyTheStateUnderItsPrefix) {
  const Communicator world = Communicator::world();
  Net net;
  const ZeroOptimizer zero(net.parameters(), world, kAdam);
  const io::SliceRule rule = zero.slice_rule("/opt");
  const auto entry = [](std::string path, Shape shape) {
    return io::ShardedEntry{.path = std::move(path), .shape = std::move(shape)};
  };
  const io::ElementRange first = zero.owned(0);
  const std::optional<io::ElementRange> hit = rule(entry("/opt/state/0/exp_avg", {15, 8}));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->start, first.start);
  EXPECT_EQ(hit->count, first.count);
  EXPECT_FALSE(rule(entry("/opt/state/0/exp_avg", {120})).has_value());  // same size, not shape
  EXPECT_FALSE(rule(entry("/opt/state/0/exp_avg", {8, 15})).has_value());
  EXPECT_FALSE(rule(entry("/opt/state/0/step", {})).has_value());
  EXPECT_FALSE(rule(entry("/opt/state/0/exp_avg", {3})).has_value());      // not parameter 0's size
  EXPECT_FALSE(rule(entry("/opt/state/4/exp_avg", {15, 8})).has_value());  // no parameter 4
  EXPECT_FALSE(rule(entry("/opt/state/00/exp_avg", {15, 8})).has_value());
  EXPECT_FALSE(rule(entry("/opt2/state/0/exp_avg", {15, 8})).has_value());
  EXPECT_FALSE(rule(entry("/opt", {15, 8})).has_value());
  EXPECT_FALSE(rule(entry("/optimizer/state/0/exp_avg", {15, 8})).has_value());
  EXPECT_FALSE(rule(entry("/model/0.weight", {15, 8})).has_value());
  EXPECT_FALSE(rule(entry("/opt/param_groups/0/exp_avg", {15, 8})).has_value());
}

TEST(ZeroOptimizer, RefusesBadParametersFactoriesAndMismatchedRanks) {
  const Communicator world = Communicator::world();
  Tensor frozen = zeros({4});
  EXPECT_THROW(ZeroOptimizer({frozen}, world, kAdam), ArgumentError);
  Tensor ints = zeros({4}, kInt32);
  EXPECT_THROW(ZeroOptimizer({ints}, world, kAdam), ArgumentError);
  Tensor p = zeros({4}).set_requires_grad(true);
  EXPECT_THROW(ZeroOptimizer({p, p}, world, kAdam), ArgumentError);
  EXPECT_THROW(ZeroOptimizer({p}, world, [](std::vector<Tensor>) { return nullptr; }),
               ArgumentError);
  if (world.size() > 1) {
    // The last rank's parameter is larger: every rank throws instead of gathering garbage.
    Tensor q = zeros({world.rank() == world.size() - 1 ? 5 : 4}).set_requires_grad(true);
    EXPECT_THROW(ZeroOptimizer({q}, world, kAdam), ShapeError);
  }
  // A state of another rank count's slices has the wrong shapes.
  Net net;
  ZeroOptimizer zero(net.parameters(), world, kAdam);
  train(net, world, 1, [&] { zero.step(); });
  const Value mine = zero.state_dict();
  Net other;
  nn::Adam whole(other.parameters());
  if (world.size() > 1) {
    EXPECT_THROW(whole.load_state_dict(mine), ShapeError);
  }
}

}  // namespace
}  // namespace wick::dist
