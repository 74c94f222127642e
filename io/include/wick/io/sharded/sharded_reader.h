#pragma once
/// \file
/// Reading a sharded checkpoint (io/FORMAT.md "Sharded checkpoints") written by any number of
/// writers: the whole state, one tensor, or one slice of a tensor, reading only the pieces
/// that overlap what is asked.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/io/options.h"
#include "wick/io/sharded/sharded_state.h"

namespace wick::io {

/// One tensor of a sharded checkpoint, as its index describes it.
struct ShardedEntry {
  std::string path;          ///< tree path (JSON pointer)
  DType dtype = kFloat32;    ///< element type
  Shape shape;               ///< sizes of the whole tensor
  uint64_t nbytes = 0;       ///< bytes of its elements
  uint32_t pieces = 0;       ///< pieces it is cut into
  uint32_t first_shard = 0;  ///< shard of its first piece (0 for an empty tensor)
};

/// Chooses what a load reads of each tensor: a range of its elements (row-major; the load gives
/// them as a 1-D tensor), or nullopt for the whole tensor. dist::ZeroOptimizer::slice_rule()
/// gives each rank its ZeRO-1 slice of the optimizer state this way.
using SliceRule = std::function<std::optional<ElementRange>(const ShardedEntry& entry)>;

/// Checkpoint-level facts from the index.
struct ShardedInfo {
  int64_t layout_version = 0;  ///< the sharded layout version (index metadata `wick.sharded`)
  uint32_t world_size = 0;     ///< shards (writers)
  uint64_t tensor_count = 0;   ///< tensors of the state
  uint64_t piece_count = 0;    ///< pieces over all shards
  uint64_t payload_bytes = 0;  ///< bytes of all tensors' elements
  uint64_t index_size = 0;     ///< bytes of index.wick
  uint64_t total_size = 0;     ///< bytes of index.wick and every shard
  /// XXH3-64 of the index's shard table (every shard's size and checksum): readers that see the
  /// same identity read the same checkpoint (dist::load_sharded compares it across ranks).
  uint64_t identity = 0;
};

/// Opens a sharded checkpoint: reads and checks its index (every rule of the spec) without
/// reading a shard. Shards are opened relative to the directory as opened, so a save replacing
/// the checkpoint meanwhile makes reads fail rather than mix two checkpoints.
class ShardedReader {
 public:
  /// FormatError naming index.wick and the structure at fault; IoError when the directory or
  /// its index cannot be read. LoadOptions::mmap is refused (ArgumentError): tensors are
  /// assembled from pieces.
  explicit ShardedReader(const std::filesystem::path& dir, LoadOptions options = {});
  ~ShardedReader();
  ShardedReader(const ShardedReader&) = delete;
  ShardedReader& operator=(const ShardedReader&) = delete;

  /// Checkpoint-level facts.
  const ShardedInfo& info() const noexcept;
  /// The index's metadata (SaveOptions::metadata of the save), without wick's own keys.
  const Dict& metadata() const noexcept;
  /// Every tensor, in the order of the index.
  std::vector<ShardedEntry> entries() const;
  /// The tensor at `path` (JSON pointer, or the dotted spelling when exactly one tensor has
  /// it), whole. ArgumentError naming close matches when there is none.
  Tensor tensor(std::string_view path);
  /// Elements `range` of the tensor at `path`, in row-major order, as a 1-D tensor.
  /// ArgumentError when the range is past the tensor's end.
  Tensor slice(std::string_view path, ElementRange range);
  /// The whole state; tensors listed in `slices` hold only the elements asked (1-D).
  /// ArgumentError when a path of `slices` names no tensor.
  Value value(const std::map<std::string, ElementRange>& slices = {});
  /// The whole state; each tensor for which `rule` gives a range holds only those elements
  /// (1-D). ArgumentError when a range is past its tensor's end. (Not an overload of value():
  /// `value({})` must stay unambiguous.)
  Value value_by(const SliceRule& rule);
  /// Reads and verifies every byte: each shard as a wick file, and each piece against the
  /// index. FormatError on the first problem.
  void verify();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The whole state saved in the sharded checkpoint `dir`, whatever number of writers saved it.
Value load_sharded(const std::filesystem::path& dir, const LoadOptions& options = {});

/// True when `dir` is a directory holding an `index.wick` (whether or not it is intact).
bool is_sharded_checkpoint(const std::filesystem::path& dir);

}  // namespace wick::io
