// Sharded checkpoints over MPI: every rank writes its shard, any number of ranks loads the
// checkpoint back (whole, or its own ZeRO-1 slice), and a rank that fails stops every rank with
// the previous checkpoint intact.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "shared_dir.h"
#include "wick/dist/sharded_checkpoint.h"
#include "wick/wick.h"

namespace wick::dist {
namespace {

namespace fs = std::filesystem;

bool same(const Tensor& a, const Tensor& b) {
  return Value(a) == Value(b);
}

Value replicated_state() {
  return Dict{{"model", Dict{{"w", arange(0, 5000, 1, kFloat32).reshape({50, 100})},
                             {"b", arange(0, 50, 1, kFloat64)}}},
              {"epoch", Value(int64_t{3})}};
}

TEST(ShardedCheckpoint, EveryRankWritesAboutItsShareAndAnyRankCountLoadsIt) {
  const Communicator world = Communicator::world();
  SharedDir dir(world);
  save_sharded(replicated_state(), dir / "ckpt", world);
  EXPECT_EQ(load_sharded(dir / "ckpt", world), replicated_state());
  io::ShardedReader r(dir / "ckpt");
  EXPECT_EQ(r.info().world_size, static_cast<uint32_t>(world.size()));
  char name[64];
  std::snprintf(name, sizeof name, "shard-%05d-of-%05d.wick", world.rank(), world.size());
  const double mine = static_cast<double>(io::Reader(dir / "ckpt" / name).info().payload_bytes);
  EXPECT_NEAR(mine, static_cast<double>(r.info().payload_bytes) / world.size(), 8.0);
  // Reloaded on each sub-group of ranks (pairs, singles): the same state.
  for (const int group : {2, 1}) {
    const Communicator sub = world.split(world.rank() / group);
    EXPECT_EQ(load_sharded(dir / "ckpt", sub), replicated_state()) << "groups of " << group;
  }
}

TEST(ShardedCheckpoint, Zero1SlicesSavedOnNRanksLoadOnAnyOtherCount) {
  const Communicator world = Communicator::world();
  SharedDir dir(world);
  const Tensor moment = arange(0, 999, 1, kFloat32).reshape({27, 37});
  const io::ElementRange mine = io::even_range(999, world.rank(), world.size());
  io::ShardedState state;
  state.value = Dict{{"exp_avg", moment.reshape({999}).slice(0, mine.start, mine.end())},
                     {"w", full({8}, 1.0f)}};
  state.slices["/exp_avg"] = io::ShardSlice{{27, 37}, mine.start};
  save_sharded(state, dir / "ckpt", world);
  EXPECT_TRUE(same(io::load_sharded(dir / "ckpt").at("exp_avg").tensor(), moment));
  for (const int group : {1, 2, 4}) {
    const Communicator sub = world.split(world.rank() % group);  // `group` groups
    const io::ElementRange r = io::even_range(999, sub.rank(), sub.size());
    const Value v = load_sharded(dir / "ckpt", sub, {{"/exp_avg", r}});
    EXPECT_TRUE(same(v.at("exp_avg").tensor(), moment.reshape({999}).slice(0, r.start, r.end())));
  }
}

TEST(ShardedCheckpoint, ARankThatFailsStopsEveryRankAndTheOldCheckpointStays) {
  const Communicator world = Communicator::world();
  SharedDir dir(world);
  save_sharded(replicated_state(), dir / "ckpt", world);
  // The last rank's state has another shape: every rank throws, nothing changes.
  Value bad = replicated_state();
  if (world.rank() == world.size() - 1) bad["model"]["b"] = Value(full({51}, 0.0, kFloat64));
  if (world.size() > 1) {
    EXPECT_THROW(save_sharded(bad, dir / "ckpt", world), Error);
  }
  // A rank whose shard cannot be written (its rank is out of range for io): all throw.
  io::ShardedState slices;
  slices.value = Dict{{"a", full({2}, 1.0f)}};
  slices.slices["/a"] = io::ShardSlice{{2}, world.rank() == 0 ? uint64_t{5} : uint64_t{0}};
  EXPECT_THROW(save_sharded(slices, dir / "ckpt", world), Error);
  EXPECT_EQ(load_sharded(dir / "ckpt", world), replicated_state());
  world.barrier();
  int litter = 0;
  for (const auto& e : fs::directory_iterator(dir / ""))
    litter += e.path().filename() != "ckpt";
  EXPECT_EQ(litter, 0) << "failed saves leave no staging directory";
  EXPECT_THROW(load_sharded(dir / "missing", world), IoError);
}

}  // namespace
}  // namespace wick::dist
