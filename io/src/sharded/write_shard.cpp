// Step 2 of a sharded save (io/FORMAT.md "Writers and the commit"): one writer's shard.

#include <cstdio>
#include <string>

#include "common/file.h"
#include "native/format.h"
#include "sharded/layout.h"
#include "sharded/plan.h"
#include "sharded/report.h"
#include "wick/core/error.h"
#include "wick/io/native/reader.h"
#include "wick/io/native/writer.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick::io {

namespace sharded {

std::string shard_name(uint32_t rank, uint32_t world_size) {
  char name[64];
  std::snprintf(name, sizeof name, "shard-%05u-of-%05u.wick", rank, world_size);
  return name;
}

namespace {

// "Shards": the piece as a 1-D run of `flat`, the local tensor's elements in row-major order.
Tensor piece_tensor(const TensorSpec& t, const Tensor& flat, ElementRange r) {
  const auto from = static_cast<int64_t>(r.start - t.local.start);
  return flat.slice(0, from, from + static_cast<int64_t>(r.count));
}

// The shard's size and its index checksum (FORMAT.md "Trailer", offset 16), read back.
void read_trailer(const std::filesystem::path& path, Report& report) {
  const io::detail::File file(path);
  std::array<std::byte, io::detail::kTrailerSize> bytes{};
  const uint64_t at = file.size() - bytes.size();
  file.read_at(bytes.data(), bytes.size(), at, "trailer");
  report.shard_size = file.size();
  report.shard_index_checksum = io::detail::decode_trailer(bytes, at).index_checksum;
}

}  // namespace
}  // namespace sharded

ShardReport write_shard(const ShardedState& state, const std::filesystem::path& staging, int rank,
                        int world_size, const SaveOptions& options) {
  using namespace sharded;
  WICK_CHECK(world_size >= 1 && world_size <= kMaxWorldSize && rank >= 0 && rank < world_size,
             ArgumentError, "save_sharded: rank ", rank, " of ", world_size,
             " writers (ranks run from 0 to world_size - 1, world_size from 1 to ", kMaxWorldSize,
             ")");
  const Structure s = describe(state);
  const std::vector<PiecePlan> plan = plan_pieces(s, rank, world_size);
  const auto r = static_cast<uint32_t>(rank), n = static_cast<uint32_t>(world_size);
  const std::filesystem::path path = staging / shard_name(r, n);
  SaveOptions shard_options;
  shard_options.durable = options.durable;
  shard_options.progress = options.progress;
  shard_options.metadata.insert(std::string(kShardKey), Value(rank));
  shard_options.metadata.insert(std::string(kWorldSizeKey), Value(world_size));
  {
    Writer w(path, shard_options);
    Tensor flat;  // of the tensor the last piece came from: made contiguous once per tensor
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const TensorSpec& t = s.tensors[plan[i].tensor];
      if (i == 0 || plan[i].tensor != plan[i - 1].tensor) {
        flat = t.tensor.contiguous().reshape({t.tensor.numel()});
      }
      w.add(t.path + "@" + std::to_string(plan[i].range.start),
            piece_tensor(t, flat, plan[i].range));
    }
    w.finish();
  }
  Report report;
  report.structure_hash = s.hash;
  report.rank = r;
  report.world_size = n;
  read_trailer(path, report);
  // The shard's own index says where each record landed and its checksum, in the order added.
  const std::vector<EntryInfo> entries =
      Reader(path, LoadOptions{.verify = false, .mmap = false, .progress = {}}).entries();
  WICK_CHECK(entries.size() == plan.size(), IoError, "save_sharded: shard ", path.string(),
             " lists ", entries.size(), " pieces after ", plan.size(), " were written");
  for (std::size_t i = 0; i < plan.size(); ++i) {
    report.pieces.push_back({plan[i].tensor, r, plan[i].range.start, plan[i].range.count,
                             entries[i].offset, entries[i].checksum});
  }
  return encode_report(report);
}

}  // namespace wick::io
