#pragma once
// io/FORMAT.md "Sharded checkpoints", "Index": index.wick decoded and checked against every
// rule of the spec, before any shard is opened.

#include <cstdint>
#include <string>
#include <vector>

#include "sharded/layout.h"
#include "wick/core/value.h"

namespace wick::io::sharded {

struct TensorRow {
  std::string path;
  DType dtype = kFloat32;
  Shape shape;
  uint64_t numel = 0;
  uint64_t first_piece = 0;  // its pieces are [first_piece, first_piece + piece_count)
  uint32_t piece_count = 0;
};

struct ShardRow {
  uint64_t size = 0;
  uint64_t index_checksum = 0;
};

struct Index {
  Dict metadata;  // without kLayoutKey
  int64_t layout_version = 0;
  uint32_t world_size = 0;
  std::vector<ShardRow> shards;
  Value state;  // tensors replaced by none
  std::vector<TensorRow> tensors;
  std::vector<Piece> pieces;
};

/// Checks `root` and `metadata`, loaded from index.wick (a verified wick file), against the
/// spec's rules. FormatError (subject "sharded checkpoint", file `file`) naming the structure.
Index decode_index(Value root, Dict metadata, const std::string& file);

/// The FormatError of a sharded checkpoint: `structure` at fault in `file`.
[[noreturn]] void refuse(const std::string& file, const std::string& structure,
                         const std::string& detail);

}  // namespace wick::io::sharded
