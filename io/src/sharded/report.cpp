#include "sharded/report.h"

#include "common/bytes.h"
#include "wick/core/error.h"

namespace wick::io::sharded {

namespace {
constexpr uint64_t kReportMagic = 0x3174726f70657257;  // "Wreport1"
constexpr std::size_t kFixedFields = 7;                // magic .. piece count
constexpr std::size_t kPieceFields = 5;                // tensor, start, count, offset, checksum
}  // namespace

ShardReport encode_report(const Report& r) {
  std::vector<uint64_t> f = {kReportMagic, r.structure_hash,       r.rank,         r.world_size,
                             r.shard_size, r.shard_index_checksum, r.pieces.size()};
  for (const Piece& p : r.pieces) {
    f.insert(f.end(), {p.tensor, p.start, p.count, p.offset, p.checksum});
  }
  ShardReport out(f.size() * sizeof(uint64_t));
  for (std::size_t i = 0; i < f.size(); ++i)
    io::detail::store_le(out.data() + i * sizeof(uint64_t), f[i]);
  return out;
}

Report decode_report(const ShardReport& bytes, const char* which) {
  const auto field = [&](std::size_t i) {
    return io::detail::load_le<uint64_t>(bytes.data() + i * sizeof(uint64_t));
  };
  const std::size_t n = bytes.size() / sizeof(uint64_t);
  WICK_CHECK(bytes.size() % sizeof(uint64_t) == 0 && n >= kFixedFields &&
                 field(0) == kReportMagic && field(6) == (n - kFixedFields) / kPieceFields &&
                 (n - kFixedFields) % kPieceFields == 0,
             ArgumentError, "save_sharded: ", which, " is not a shard report of this wick");
  Report r{field(1),
           static_cast<uint32_t>(field(2)),
           static_cast<uint32_t>(field(3)),
           field(4),
           field(5),
           {}};
  r.pieces.resize(field(6));
  for (std::size_t i = 0; i < r.pieces.size(); ++i) {
    const std::size_t at = kFixedFields + i * kPieceFields;
    r.pieces[i] = {static_cast<uint32_t>(field(at)),
                   r.rank,
                   field(at + 1),
                   field(at + 2),
                   field(at + 3),
                   field(at + 4)};
  }
  return r;
}

}  // namespace wick::io::sharded
