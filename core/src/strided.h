#pragma once
// Private: walking the elements of up to a few strided tensors of one shape in lockstep.

#include <array>
#include <cstdint>
#include <span>

#include "wick/core/shape.h"

namespace wick::detail {

/// Element strides of N operands over a common shape, with adjacent dimensions merged where the
/// layout allows, so most loops end up one or two dimensions deep.
template <std::size_t N>
struct StridedLayout {
  Shape shape;                   // merged sizes, outermost first
  std::array<Shape, N> strides;  // per operand, per merged dimension

  StridedLayout(std::span<const int64_t> full_shape,
                const std::array<std::span<const int64_t>, N>& s) {
    for (std::size_t d = 0; d < full_shape.size(); ++d) {
      if (full_shape[d] == 1) continue;  // size-1 dims never move the offset
      const bool mergeable = !shape.empty() && [&] {
        for (std::size_t k = 0; k < N; ++k) {
          if (strides[k].back() != s[k][d] * full_shape[d]) return false;
        }
        return true;
      }();
      if (mergeable) {
        shape.back() *= full_shape[d];
        for (std::size_t k = 0; k < N; ++k)
          strides[k].back() = s[k][d];
      } else {
        shape.push_back(full_shape[d]);
        for (std::size_t k = 0; k < N; ++k)
          strides[k].push_back(s[k][d]);
      }
    }
  }
};

/// Calls `inner(offsets, n, inner_strides)` once per innermost row: `offsets[k]` is operand k's
/// element offset (relative to its first element) at the row start, `n` the row length and
/// `inner_strides[k]` operand k's stride along the row. An empty shape makes no call.
template <std::size_t N, class F>
void for_each_row(std::span<const int64_t> shape,
                  const std::array<std::span<const int64_t>, N>& strides, F&& inner) {
  for (const int64_t d : shape) {
    if (d == 0) return;
  }
  StridedLayout<N> layout(shape, strides);
  std::array<int64_t, N> off{};
  std::array<int64_t, N> inner_stride{};
  if (layout.shape.empty()) {  // a single element
    inner(off, int64_t{1}, inner_stride);
    return;
  }
  const std::size_t rank = layout.shape.size();
  const int64_t n = layout.shape[rank - 1];
  for (std::size_t k = 0; k < N; ++k)
    inner_stride[k] = layout.strides[k][rank - 1];
  Shape index(rank - 1, 0);
  while (true) {
    inner(off, n, inner_stride);
    // Odometer over the outer dimensions.
    std::size_t d = rank - 1;
    while (d > 0) {
      --d;
      if (++index[d] < layout.shape[d]) {
        for (std::size_t k = 0; k < N; ++k)
          off[k] += layout.strides[k][d];
        break;
      }
      for (std::size_t k = 0; k < N; ++k)
        off[k] -= layout.strides[k][d] * (layout.shape[d] - 1);
      index[d] = 0;
      if (d == 0) return;
    }
    if (rank == 1) return;
  }
}

}  // namespace wick::detail
