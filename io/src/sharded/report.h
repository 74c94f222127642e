#pragma once
// A writer's ShardReport (wick/io/sharded/sharded_save.h): what rank 0 needs of each shard to
// write the index. Little-endian u64 fields, never stored in a checkpoint.

#include <cstdint>
#include <vector>

#include "sharded/layout.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick::io::sharded {

struct Report {
  uint64_t structure_hash = 0;
  uint32_t rank = 0;
  uint32_t world_size = 0;
  uint64_t shard_size = 0;
  uint64_t shard_index_checksum = 0;
  std::vector<Piece> pieces;  // in the shard's order; Piece::shard is `rank`
};

ShardReport encode_report(const Report& r);
/// ArgumentError naming `which` unless `bytes` is a report of this version.
Report decode_report(const ShardReport& bytes, const char* which);

}  // namespace wick::io::sharded
