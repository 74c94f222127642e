#include "sharded/index.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "common/tensor_bytes.h"
#include "native/format.h"
#include "wick/core/error.h"
#include "wick/io/native/tree_path.h"

namespace wick::io::sharded {

using wick::detail::cat;

void refuse(const std::string& file, const std::string& structure, const std::string& detail) {
  throw FormatError(ErrorInfo{
      .subject = "sharded checkpoint", .file = file, .structure = structure, .detail = detail});
}

namespace {

constexpr std::string_view kIndexStructure = "sharded index";

// Where the decoder is: the file for messages, and the index being filled.
struct Decoder {
  const std::string& file;
  Index& out;

  void fail(const std::string& structure, const std::string& detail) const {
    refuse(file, structure, detail);
  }

  void layout_version(Dict& metadata) {
    const Value* v = metadata.find(std::string(kLayoutKey));
    if (v == nullptr || !v->is_int()) {
      fail(std::string(kIndexStructure),
           cat("metadata has no int '", kLayoutKey, "': not a sharded checkpoint's index"));
    }
    if (v->as_int() > kLayoutVersion) {
      fail(std::string(kIndexStructure),
           cat("sharded layout version ", v->as_int(), " is newer than this reader's ",
               kLayoutVersion, "; upgrade wick to read it"));
    }
    if (v->as_int() < 1)
      fail(std::string(kIndexStructure), cat("invalid sharded layout version ", v->as_int()));
    out.layout_version = v->as_int();
    metadata.erase(std::string(kLayoutKey));
    out.metadata = std::move(metadata);
  }

  // The root: exactly the five keys, in order.
  void root_keys(const Value& root) const {
    bool ok = root.is_dict() && root.dict().size() == kRootKeys.size();
    for (std::size_t i = 0; ok && i < kRootKeys.size(); ++i) {
      const Key& k = root.dict().items()[i].first;
      ok = k.is_string() && k.str() == kRootKeys[i];
    }
    if (!ok) {
      fail(std::string(kIndexStructure),
           "the root must be a dict of world_size, shards, state, tensors, pieces, in that order");
    }
  }

  // An int64 tensor of `rows` x `columns` (rows unknown when -1).
  const Tensor& table(const Value& v, std::string_view name, int64_t rows, int64_t columns) const {
    if (!v.is_tensor() || v.tensor().dtype() != kInt64 || v.tensor().dim() != 2 ||
        v.tensor().size(1) != columns || (rows >= 0 && v.tensor().size(0) != rows)) {
      fail(std::string(name),
           cat("must be an int64 tensor of shape [",
               rows >= 0 ? std::to_string(rows) : std::string("P"), ", ", columns, "]"));
    }
    return v.tensor();
  }

  void world_and_shards(const Value& root) {
    const Value& n = root[kWorldSize];
    if (!n.is_int() || n.as_int() < 1 || n.as_int() > kMaxWorldSize) {
      fail(std::string(kWorldSize), cat("must be an int from 1 to ", kMaxWorldSize));
    }
    out.world_size = static_cast<uint32_t>(n.as_int());
    const Tensor& t = table(root[kShards], kShards, out.world_size, kShardColumns);
    const Tensor c = t.contiguous();
    const auto* v = c.data<int64_t>();
    for (uint32_t r = 0; r < out.world_size; ++r) {
      const auto size = static_cast<uint64_t>(v[r * kShardColumns + kShardSize]);
      if (size < kMinShardSize || size % 64 != 0 || size > uint64_t{INT64_MAX}) {
        fail(cat("shard ", r),
             cat("size ", static_cast<int64_t>(size),
                 " cannot be a wick file's (a multiple of 64, at least ", kMinShardSize, ")"));
      }
      out.shards.push_back(
          {size, static_cast<uint64_t>(v[r * kShardColumns + kShardIndexChecksum])});
    }
  }

  TensorRow tensor_row(const Value& item, std::size_t i) const {
    const std::string where = cat("tensors[", i, "]");
    if (!item.is_list() || item.size() != 3 || !item[0].is_string() || !item[1].is_int() ||
        !item[2].is_list()) {
      fail(where, "must be a list [path (string), dtype (int), shape (list of ints)]");
    }
    TensorRow row;
    row.path = item[0].as_string();
    const int64_t code = item[1].as_int();
    const auto dtype =
        code >= 0 && code <= 255 ? dtype_from_code(static_cast<uint8_t>(code)) : std::nullopt;
    if (!dtype) fail(where, cat("unknown dtype code ", code));
    row.dtype = *dtype;
    if (item[2].size() > static_cast<std::size_t>(io::detail::kMaxRank)) {
      fail(where, cat("rank ", item[2].size(), " exceeds ", io::detail::kMaxRank));
    }
    for (const Value& d : item[2].list()) {
      if (!d.is_int() || d.as_int() < 0) fail(where, "sizes must be ints from 0 to 2^63-1");
      row.shape.push_back(d.as_int());
    }
    if (!io::detail::bounded_nbytes(row.shape, row.dtype)) {
      fail(where, cat("shape ", shape_str(row.shape), " of ", dtype_name(row.dtype),
                      " exceeds 2^62 bytes"));
    }
    row.numel = 1;
    for (const int64_t d : row.shape)
      row.numel *= static_cast<uint64_t>(d);
    return row;
  }

  // "tensors": each path names a distinct none of the state.
  void tensors(const Value& list) {
    if (!list.is_list()) fail(std::string(kTensors), "must be a list");
    std::unordered_set<const Value*> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
      TensorRow row = tensor_row(list[i], i);
      const Value* node = nullptr;
      try {
        node = find_node(out.state, row.path);
      } catch (const ArgumentError& e) {
        fail(cat("tensors[", i, "]"), e.what());
      }
      if (node == nullptr || !node->is_none()) {
        fail(cat("tensors[", i, "]"),
             cat("path '", row.path, "' names ", node ? "a node that is not none" : "no node",
                 " of the state"));
      }
      if (!seen.insert(node).second) {
        fail(cat("tensors[", i, "]"), cat("path '", row.path, "' names a node named before"));
      }
      out.tensors.push_back(std::move(row));
    }
  }

  void piece(const int64_t* r, std::size_t i, uint64_t& next) {
    const std::string where = cat("pieces[", i, "]");
    Piece p{};
    if (r[kPieceTensor] < 0 || static_cast<uint64_t>(r[kPieceTensor]) >= out.tensors.size()) {
      fail(where,
           cat("tensor ", r[kPieceTensor], " is not below the tensor count ", out.tensors.size()));
    }
    p.tensor = static_cast<uint32_t>(r[kPieceTensor]);
    if (r[kPieceShard] < 0 || r[kPieceShard] >= static_cast<int64_t>(out.world_size)) {
      fail(where, cat("shard ", r[kPieceShard], " is not below the world size ", out.world_size));
    }
    p.shard = static_cast<uint32_t>(r[kPieceShard]);
    p.start = static_cast<uint64_t>(r[kPieceStart]);
    p.count = static_cast<uint64_t>(r[kPieceCount]);
    p.offset = static_cast<uint64_t>(r[kPieceOffset]);
    p.checksum = static_cast<uint64_t>(r[kPieceChecksum]);
    TensorRow& t = out.tensors[p.tensor];
    const bool first = t.piece_count == 0;
    if (!first && i != t.first_piece + t.piece_count) {
      fail(where, "pieces must be sorted by tensor, then start");
    }
    if (first) {
      if (!out.pieces.empty() && out.pieces.back().tensor > p.tensor) {
        fail(where, "pieces must be sorted by tensor, then start");
      }
      next = 0;
      t.first_piece = i;
    }
    if (r[kPieceStart] < 0 || p.start != next) {
      fail(where, cat("starts at element ", r[kPieceStart], "; the pieces of tensor ", p.tensor,
                      " must tile it, so this one starts at ", next));
    }
    if (r[kPieceCount] < 1 || p.count > t.numel - p.start) {
      fail(where, cat("count ", r[kPieceCount], " from element ", p.start, " leaves a tensor of ",
                      t.numel, " elements"));
    }
    const uint64_t shard_size = out.shards[p.shard].size;
    const uint64_t bytes = p.count * dtype_size(t.dtype);  // at most 2^62: the tensor's bound
    if (r[kPieceOffset] < 64 || p.offset % 64 != 0 || p.offset > shard_size ||
        bytes + 64 + kShardTail > shard_size - p.offset) {
      fail(where, cat("record offset ", r[kPieceOffset], " of ", bytes,
                      " payload bytes does not fit shard ", p.shard, " of ", shard_size,
                      " bytes (a multiple of 64, at least 64, and 128 bytes before its end)"));
    }
    ++t.piece_count;
    next = p.start + p.count;
    out.pieces.push_back(p);
  }

  // "Index": the records of one shard's pieces are disjoint, so the pieces' bytes add up to at
  // most the shards' sizes however often an index repeats an offset.
  void disjoint_records() const {
    std::vector<uint64_t> order(out.pieces.size());
    for (uint64_t i = 0; i < order.size(); ++i)
      order[i] = i;
    // Ties (one offset twice) broken by row, so the later row is named.
    const auto key = [&](uint64_t i) {
      return std::tuple(out.pieces[i].shard, out.pieces[i].offset, i);
    };
    std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return key(a) < key(b); });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const Piece& a = out.pieces[order[k - 1]];
      const Piece& b = out.pieces[order[k]];
      const uint64_t a_end = a.offset + 64 + a.count * dtype_size(out.tensors[a.tensor].dtype);
      if (a.shard == b.shard && b.offset < a_end) {
        fail(cat("pieces[", order[k], "]"),
             cat("its record at offset ", b.offset, " of shard ", b.shard,
                 " overlaps the record of pieces[", order[k - 1], "]"));
      }
    }
  }

  void pieces(const Value& v) {
    const Tensor c = table(v, kPieces, -1, kPieceColumns).contiguous();
    const auto* rows = c.data<int64_t>();
    uint64_t next = 0;
    for (int64_t i = 0; i < c.size(0); ++i)
      piece(rows + i * kPieceColumns, static_cast<std::size_t>(i), next);
    for (std::size_t t = 0; t < out.tensors.size(); ++t) {
      const TensorRow& row = out.tensors[t];
      const uint64_t covered = row.piece_count == 0
                                   ? 0
                                   : out.pieces[row.first_piece + row.piece_count - 1].start +
                                         out.pieces[row.first_piece + row.piece_count - 1].count;
      if (covered != row.numel) {
        fail(cat("tensors[", t, "]"),
             cat("its pieces cover ", covered, " of its ", row.numel, " elements"));
      }
    }
    disjoint_records();
  }
};

}  // namespace

Index decode_index(Value root, Dict metadata, const std::string& file) {
  Index out;
  Decoder d{file, out};
  d.layout_version(metadata);
  d.root_keys(root);
  d.world_and_shards(root);
  out.state = std::move(root.dict().at(std::string(kState)));
  for_each_node(out.state, [&](const std::string& path, const Value& node) {
    if (node.is_tensor()) {
      refuse(file, std::string(kState),
             cat("holds a tensor at '", path, "'; its tensors are nones"));
    }
  });
  d.tensors(root[kTensors]);
  d.pieces(root[kPieces]);
  return out;
}

}  // namespace wick::io::sharded
