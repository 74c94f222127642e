#include "wick/core/shape.h"

#include <algorithm>
#include <ostream>

#include "wick/core/error.h"

namespace wick {

std::string shape_str(std::span<const int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
  return out << shape_str(shape);
}

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (const int64_t d : shape) {
    WICK_CHECK(d >= 0, ShapeError, "shape ", shape_str(shape), ": negative size ", d);
    WICK_CHECK(!__builtin_mul_overflow(n, d, &n), ShapeError, "shape ", shape_str(shape),
               ": element count overflows int64");
  }
  return n;
}

Shape contiguous_strides(std::span<const int64_t> shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    // An empty tensor may have huge sizes beside its zero ([0, 2^40, 2^40]): refuse strides
    // that do not fit rather than overflow.
    WICK_CHECK(!__builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s), ShapeError, "shape ",
               shape_str(shape), ": strides overflow int64");
  }
  return strides;
}

Shape broadcast_shapes(std::span<const int64_t> a, std::span<const int64_t> b, const char* op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    WICK_CHECK(da == db || da == 1 || db == 1, ShapeError, op, ": shapes ", shape_str(a), " and ",
               shape_str(b), " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_dim(int64_t dim, int64_t rank, const char* op) {
  const int64_t lo = rank == 0 ? -1 : -rank;
  const int64_t hi = rank == 0 ? 0 : rank - 1;
  WICK_CHECK(dim >= lo && dim <= hi, ArgumentError, op,
             ": dimension out of range (expected to be in range of [", lo, ", ", hi, "], but got ",
             dim, ")");
  return dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
}

}  // namespace wick
