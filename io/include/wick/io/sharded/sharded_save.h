#pragma once
/// \file
/// Writing a sharded checkpoint (io/FORMAT.md "Sharded checkpoints"): a directory of one shard
/// per writer and one index, committed atomically as a whole. These are the steps every
/// multi-process saver runs (wick::dist::save_sharded runs them over MPI); save_sharded() runs
/// them all in one process.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "wick/io/options.h"
#include "wick/io/sharded/sharded_state.h"

namespace wick::io {

/// One writer's account of its shard (its pieces, the shard's size and checksum, a hash of the
/// state's structure), as bytes to hand to the committing process.
using ShardReport = std::vector<uint8_t>;

/// Step 2, on every writer: writes shard `rank` of `world_size` into `staging` (the directory
/// of step 1), durably unless the options say otherwise, and returns its report.
/// ArgumentError when the state cannot be saved (a slice that does not fit its tensor, a rank
/// out of range); IoError for operating-system failures.
ShardReport write_shard(const ShardedState& state, const std::filesystem::path& staging, int rank,
                        int world_size, const SaveOptions& options = {});

/// Steps 1 and 3, on one process (rank 0): a staging directory beside the target, locked while
/// this object lives, and the commit that puts it in place.
class ShardedCommit {
 public:
  /// Creates `.NAME.wick-staging-` plus six random characters beside `target` (and its lock
  /// file), after cleaning up after saves that died: their staging directories are removed, and a
  /// previous checkpoint one of them left moved aside is put back. ArgumentError when `target`
  /// exists and is not a sharded checkpoint (or an empty directory); IoError when it cannot.
  explicit ShardedCommit(const std::filesystem::path& target);
  /// Removes the staging directory unless commit() succeeded.
  ~ShardedCommit();
  ShardedCommit(const ShardedCommit&) = delete;
  ShardedCommit& operator=(const ShardedCommit&) = delete;

  /// Where the writers put their shards.
  const std::filesystem::path& staging() const noexcept;
  /// Step 3: checks that the reports (one per rank, in rank order) agree on the structure and
  /// tile every tensor, writes index.wick from `state` (rank 0's: its structure and non-tensor
  /// values) and `options.metadata`, and replaces the target with the staging directory in one
  /// rename. ArgumentError when the reports disagree (naming the rank), IoError otherwise; the
  /// target is unchanged unless commit() returns, or throws the IoError of the last step (the
  /// parent directory's fsync, which says the new checkpoint is in place).
  void commit(const ShardedState& state, const std::vector<ShardReport>& reports,
              const SaveOptions& options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Saves `state` to the directory `dir` as `world_size` writers would (each tensor cut by bytes
/// over the shards), in this process: for tests, tools and offline resharding. The previous
/// checkpoint at `dir` stays whole until the new one replaces it.
void save_sharded(const Value& state, const std::filesystem::path& dir, int world_size = 1,
                  const SaveOptions& options = {});

}  // namespace wick::io
