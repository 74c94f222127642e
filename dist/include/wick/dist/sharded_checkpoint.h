#pragma once
/// \file
/// Sharded checkpoints over MPI (io/FORMAT.md "Sharded checkpoints"): every rank writes its
/// shard in parallel, rank 0 writes the index and commits the directory in one rename; any
/// number of ranks loads it back, each reading only what it needs.

#include <filesystem>
#include <map>
#include <string>

#include "wick/dist/communicator.h"
#include "wick/io/options.h"
#include "wick/io/sharded/sharded_reader.h"
#include "wick/io/sharded/sharded_state.h"

namespace wick::dist {

/// Saves every rank's `state` into the checkpoint directory `dir`, a collective over `comm`.
/// Replicated tensors are written once in all, about 1/size() by each rank; the tensors in
/// `state.slices` (ZeRO-1 optimizer state) by the rank that holds each slice. Every rank passes
/// the same structure (paths, dtypes, global shapes); non-tensor values are rank 0's. The
/// previous checkpoint at `dir` stays whole until the new one replaces it: a rank failing or
/// killed at any moment leaves it loadable. When any rank fails, every rank throws (the failing
/// rank its own error, the others an IoError naming it) and nothing changes at `dir`, except
/// when the last step fails (rank 0's fsync of the parent directory: its error says the new
/// checkpoint is in place).
void save_sharded(const io::ShardedState& state, const std::filesystem::path& dir,
                  const Communicator& comm, const SaveOptions& options = {});

/// save_sharded() of a state every rank holds whole (a DDP model and its optimizer).
void save_sharded(const Value& state, const std::filesystem::path& dir, const Communicator& comm,
                  const SaveOptions& options = {});

/// Loads the checkpoint at `dir` on every rank of `comm`, whatever number of ranks wrote it:
/// each tensor whole, except those in `slices` (by tree path), of which only the elements
/// asked (a 1-D tensor), so ZeRO-1 state reshards onto any number of ranks. A collective: when
/// any rank fails, every rank throws; when a save replaced the checkpoint between two ranks'
/// reads (they read different checkpoints), every rank throws an IoError.
Value load_sharded(const std::filesystem::path& dir, const Communicator& comm,
                   const std::map<std::string, io::ElementRange>& slices = {},
                   const LoadOptions& options = {});

/// load_sharded() with the slices chosen per tensor by `rule` (ZeroOptimizer::slice_rule()).
Value load_sharded_by(const std::filesystem::path& dir, const Communicator& comm,
                      const io::SliceRule& rule, const LoadOptions& options = {});

}  // namespace wick::dist
