#include "sharded/plan.h"

#include <algorithm>
#include <unordered_set>

#include "common/tensor_bytes.h"
#include "native/format.h"
#include "sharded/layout.h"
#include "wick/core/error.h"
#include "wick/io/native/tree_path.h"

namespace wick::io::sharded {

namespace {

using wick::detail::cat;

uint64_t numel_of(const Shape& shape) {
  uint64_t n = 1;
  for (const int64_t s : shape)
    n *= static_cast<uint64_t>(s);
  return n;
}

// A slice must lie inside a tensor a reader would accept (FORMAT.md "Kind 1: tensor").
void check_slice(TensorSpec& t, const ShardSlice& slice) {
  WICK_CHECK(io::detail::bounded_nbytes(slice.global_shape, t.dtype).has_value() &&
                 slice.global_shape.size() <= static_cast<std::size_t>(io::detail::kMaxRank),
             ArgumentError, "save_sharded: slice '", t.path, "': global shape ",
             shape_str(slice.global_shape), " is not one a reader accepts");
  const uint64_t n = numel_of(slice.global_shape);
  WICK_CHECK(slice.offset <= n && t.local.count <= n - slice.offset, ArgumentError,
             "save_sharded: slice '", t.path, "': elements [", slice.offset, ", ",
             slice.offset + t.local.count, ") are past the end of a tensor of ", n, " elements");
  t.shape = slice.global_shape;
  t.numel = n;
  t.sliced = true;
  t.local.start = slice.offset;
}

void hash_spec(io::detail::Hasher& h, const TensorSpec& t) {
  const uint64_t fixed[] = {t.path.size(), static_cast<uint64_t>(t.dtype), t.shape.size(),
                            t.sliced ? 1u : 0u};
  h.update(fixed, sizeof fixed);
  h.update(t.path.data(), t.path.size());
  h.update(t.shape.data(), t.shape.size() * sizeof(int64_t));
}

}  // namespace

Structure describe(const ShardedState& state) {
  Structure s;
  for_each_node(state.value, [&](const std::string& path, const Value& node) {
    if (!node.is_tensor()) return;
    const Tensor& t = node.tensor();
    WICK_CHECK(t.defined(), ArgumentError, "save_sharded: tensor '", path,
               "' is undefined (save() refuses it too)");
    io::detail::check_writable(t, io::detail::kMaxRank, cat("save_sharded: tensor '", path, "'"));
    s.tensors.push_back({.path = path,
                         .dtype = t.dtype(),
                         .shape = t.shape(),
                         .numel = static_cast<uint64_t>(t.numel()),
                         .local = {0, static_cast<uint64_t>(t.numel())},
                         .tensor = t});
  });
  // A tensor under two paths (tied weights) is written twice ("Writers and the commit"): its
  // second piece must not be deduplicated into the first's record, which would overlap it.
  std::unordered_set<const Storage*> storages;
  for (TensorSpec& t : s.tensors) {
    if (!storages.insert(t.tensor.storage().get()).second) t.tensor = t.tensor.clone();
  }
  std::size_t matched = 0;
  for (TensorSpec& t : s.tensors) {
    if (const auto it = state.slices.find(t.path); it != state.slices.end()) {
      check_slice(t, it->second);
      ++matched;
    }
  }
  if (matched != state.slices.size()) {
    for (const auto& [path, slice] : state.slices) {
      const Value* node = find_node(state.value, path);
      WICK_CHECK(node != nullptr && node->is_tensor(), ArgumentError, "save_sharded: slice '", path,
                 "' names no tensor of the state");
    }
  }
  s.skeleton = state.value;
  io::detail::Hasher h;
  for (const TensorSpec& t : s.tensors) {
    *find_node(s.skeleton, t.path) = Value();
    hash_spec(h, t);
  }
  s.hash = h.digest();
  return s;
}

namespace {
// Appends `r` of tensor `t` cut into runs of at most kMaxPieceBytes.
void add_pieces(std::vector<PiecePlan>& out, uint32_t t, ElementRange r, DType dtype) {
  const uint64_t most = std::max<uint64_t>(1, kMaxPieceBytes / dtype_size(dtype));
  for (uint64_t at = r.start; at < r.end(); at += most)
    out.push_back({t, {at, std::min(most, r.end() - at)}});
}
}  // namespace

std::vector<PiecePlan> plan_pieces(const Structure& s, int rank, int world_size) {
  // FORMAT.md "Writers and the commit": replicated tensors laid end to end, writer R takes
  // bytes [R*B/N, (R+1)*B/N); an element goes to the writer whose range holds its first byte.
  __extension__ using u128 = unsigned __int128;
  u128 total = 0;
  for (const TensorSpec& t : s.tensors)
    if (!t.sliced) total += u128{t.numel} * dtype_size(t.dtype);
  const u128 lo = total * static_cast<u128>(rank) / static_cast<u128>(world_size);
  const u128 hi = total * static_cast<u128>(rank + 1) / static_cast<u128>(world_size);
  std::vector<PiecePlan> pieces;
  u128 base = 0;
  for (uint32_t i = 0; i < s.tensors.size(); ++i) {
    const TensorSpec& t = s.tensors[i];
    if (t.sliced) {
      add_pieces(pieces, i, t.local, t.dtype);
      continue;
    }
    const u128 es = dtype_size(t.dtype);
    // The first element whose first byte is at or after `cut`, clipped to the tensor.
    const auto first_at = [&](u128 cut) -> uint64_t {
      if (cut <= base) return 0;
      return static_cast<uint64_t>(std::min<u128>((cut - base + es - 1) / es, t.numel));
    };
    const uint64_t a = first_at(lo), b = first_at(hi);
    add_pieces(pieces, i, {a, b - a}, t.dtype);
    base += u128{t.numel} * es;
  }
  return pieces;
}

}  // namespace wick::io::sharded

namespace wick::io {

ElementRange even_range(uint64_t numel, int rank, int world_size) {
  WICK_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, ArgumentError, "even_range: rank ",
             rank, " of ", world_size);
  const auto n = static_cast<uint64_t>(world_size);
  const uint64_t chunk = numel / n + (numel % n != 0);
  const uint64_t start = std::min(numel, chunk * static_cast<uint64_t>(rank));
  return {start, std::min(chunk, numel - start)};
}

}  // namespace wick::io
