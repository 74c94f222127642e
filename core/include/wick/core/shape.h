#pragma once
/// \file
/// Shapes and strides, and the helpers that format and check them.

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace wick {

/// Sizes of each dimension, outermost first. A 0-d tensor has an empty shape.
///
/// A std::vector<int64_t> in every way (it converts both ways and compares with one), made a
/// type of its own only so that `std::cout << t.shape()` finds wick's operator<< by
/// argument-dependent lookup.
class Shape : public std::vector<int64_t> {
 public:
  /// Every constructor of std::vector<int64_t>: `Shape{2, 3}`, `Shape(rank, 1)`, iterators.
  using std::vector<int64_t>::vector;
  /// The empty shape of a 0-d tensor.
  Shape() = default;
  /// From a plain vector, so functions returning std::vector<int64_t> still produce Shapes.
  Shape(const std::vector<int64_t>& v) : std::vector<int64_t>(v) {}  // NOLINT
  /// From a plain vector, taking its buffer.
  Shape(std::vector<int64_t>&& v) noexcept : std::vector<int64_t>(std::move(v)) {}  // NOLINT
};

/// Streams "[2, 3]", as shape_str() (PyTorch prints the same sizes as "torch.Size([2, 3])";
/// wick keeps only the list, the spelling of its error messages).
std::ostream& operator<<(std::ostream& out, const Shape& shape);

/// Formats a shape as "[2, 3]" (used in every shape error message).
std::string shape_str(std::span<const int64_t> shape);

/// Number of elements; throws ShapeError on a negative size or when the product overflows int64.
int64_t shape_numel(std::span<const int64_t> shape);

/// Row-major (C-contiguous) strides, in elements, for `shape`; ShapeError when they overflow
/// int64 (possible only for empty tensors, whose element count is 0).
Shape contiguous_strides(std::span<const int64_t> shape);

/// The broadcast of two shapes (NumPy rules); throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b, const char* op);

/// Normalises a possibly negative dimension index against `rank`; throws ArgumentError naming `op`.
int64_t normalize_dim(int64_t dim, int64_t rank, const char* op);

}  // namespace wick
