#pragma once
// io/FORMAT.md "Sharded checkpoints": the names, keys and table columns of the layout, named
// once here.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wick::io::sharded {

/// The sharded layout version this code reads and writes ("Sharded checkpoints").
inline constexpr int64_t kLayoutVersion = 1;
/// Index metadata key holding the layout version.
inline constexpr std::string_view kLayoutKey = "wick.sharded";
/// Shard metadata keys: the writer's rank and the number of writers.
inline constexpr std::string_view kShardKey = "wick.shard";
inline constexpr std::string_view kWorldSizeKey = "wick.world_size";
/// The index's file name.
inline constexpr std::string_view kIndexName = "index.wick";
/// At most this many shards.
inline constexpr int64_t kMaxWorldSize = 65536;
/// The smallest wick file: header, index record header, trailer.
inline constexpr uint64_t kMinShardSize = 192;
/// Bytes after a shard's last piece record: at least its index record header and its trailer.
inline constexpr uint64_t kShardTail = 128;

/// "Writers and the commit": wick's writers cut pieces at this many bytes, so that a verifying
/// reader of a slice reads at most this much it does not need at either end.
inline constexpr uint64_t kMaxPieceBytes = uint64_t{4} << 20;

/// "Index": the root dict's keys, in their order.
inline constexpr std::string_view kWorldSize = "world_size";
inline constexpr std::string_view kShards = "shards";
inline constexpr std::string_view kState = "state";
inline constexpr std::string_view kTensors = "tensors";
inline constexpr std::string_view kPieces = "pieces";
inline constexpr std::array<std::string_view, 5> kRootKeys = {kWorldSize, kShards, kState, kTensors,
                                                              kPieces};

/// "Index": columns of `shards`.
enum ShardColumn : int64_t { kShardSize, kShardIndexChecksum, kShardColumns };
/// "Index": columns of `pieces`.
enum PieceColumn : int64_t {
  kPieceTensor,
  kPieceShard,
  kPieceStart,
  kPieceCount,
  kPieceOffset,
  kPieceChecksum,
  kPieceColumns
};

/// "Shards": shard-RRRRR-of-NNNNN.wick.
std::string shard_name(uint32_t rank, uint32_t world_size);

/// One row of `pieces`.
struct Piece {
  uint32_t tensor = 0;
  uint32_t shard = 0;
  uint64_t start = 0;
  uint64_t count = 0;
  uint64_t offset = 0;
  uint64_t checksum = 0;
};

}  // namespace wick::io::sharded
