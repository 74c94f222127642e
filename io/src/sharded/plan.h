#pragma once
// What a sharded save writes: the state's tensors and their structure, and which pieces of them
// each writer writes (io/FORMAT.md "Sharded checkpoints", "Writers and the commit").

#include <cstdint>
#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/io/sharded/sharded_state.h"

namespace wick::io::sharded {

/// One tensor of the state as a writer holds it.
struct TensorSpec {
  std::string path;
  DType dtype = kFloat32;
  Shape shape;          // of the whole tensor
  uint64_t numel = 0;   // of the whole tensor
  bool sliced = false;  // the writer holds only `local`, a ShardSlice
  ElementRange local;   // the elements the writer holds
  Tensor tensor;        // holding them
};

/// The tensors of a state in tree order, the state with each replaced by none, and a hash of
/// the structure every writer must share (paths, dtypes, shapes, which are slices).
struct Structure {
  std::vector<TensorSpec> tensors;
  Value skeleton;
  uint64_t hash = 0;
};

/// ArgumentError for a state save() could not write or a slice that does not fit its tensor.
Structure describe(const ShardedState& state);

/// A run of one tensor's elements that a writer writes.
struct PiecePlan {
  uint32_t tensor = 0;
  ElementRange range;
};

/// What writer `rank` of `world_size` writes, ordered by tensor then start.
std::vector<PiecePlan> plan_pieces(const Structure& s, int rank, int world_size);

}  // namespace wick::io::sharded
