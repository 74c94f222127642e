#pragma once
/// \file
/// What one writer of a sharded checkpoint (io/FORMAT.md "Sharded checkpoints") holds: its value
/// tree, and which of its tensors are only a slice of a larger tensor (ZeRO-1 optimizer state).

#include <cstdint>
#include <map>
#include <string>

#include "wick/core/shape.h"
#include "wick/core/value.h"

namespace wick::io {

/// A contiguous run of a tensor's elements in row-major order: [start, start + count).
struct ElementRange {
  uint64_t start = 0;  ///< first element
  uint64_t count = 0;  ///< number of elements
  /// One past the last element.
  uint64_t end() const noexcept { return start + count; }
};

/// Rank `rank`'s part when `numel` elements are split evenly over `world_size` ranks, as ZeRO
/// splits optimizer state: ceil(numel / world_size) each, the last ranks taking what is left
/// (possibly nothing).
ElementRange even_range(uint64_t numel, int rank, int world_size);

/// Marks a tensor of a writer's state as its slice of a tensor of the checkpoint: the local
/// tensor (any shape) holds as many elements as it has, from element `offset` on, of a tensor
/// of shape `global_shape`, in row-major order.
struct ShardSlice {
  Shape global_shape;   ///< sizes of the whole tensor
  uint64_t offset = 0;  ///< the local tensor's first element within the whole one
};

/// One writer's state. Every writer passes the same structure: the same tree paths, dtypes and
/// (global) shapes. Tensors not in `slices` are replicated (every writer holds them whole) and
/// are written once in all, about 1/N by each writer; the non-tensor values are rank 0's.
struct ShardedState {
  /// The value tree (a dict from state_dict(), or any tree save() takes).
  Value value;
  /// Tensors of `value` that are slices, by tree path (JSON pointer, "/optimizer/exp_avg/0").
  std::map<std::string, ShardSlice> slices;
};

}  // namespace wick::io
