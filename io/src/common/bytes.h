#pragma once
// Private: byte-level helpers and limits every format's encoder and decoder shares, native or
// foreign. One definition each, so that the formats cannot drift apart.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace wick::io::detail {

// Every format wick reads is little-endian, and tensor bytes are copied to and from files as
// they lie in memory.
static_assert(std::endian::native == std::endian::little,
              "wick's file I/O assumes a little-endian host (every format it reads is)");

/// Nesting depth (lists and dicts inside each other) every reader and writer accepts, native or
/// foreign: the same bound everywhere, so whatever loads can be saved as wick (FORMAT.md
/// "Limits").
inline constexpr int kMaxDepth = 512;

/// The bound every wick reader, native or foreign, puts on a tensor's sizes (FORMAT.md
/// "Limits"): their product with every zero counted as 1, times the dtype size, is at most 2^62
/// bytes. It keeps the contiguous strides of every accepted shape, empty ones included, inside
/// int64, and makes whatever one reader loads savable by every writer.
inline constexpr uint64_t kMaxTensorExtent = uint64_t{1} << 62;

/// Writes `v` little-endian at `p`.
template <class T>
void store_le(void* p, T v) noexcept {
  std::memcpy(p, &v, sizeof(T));
}

/// Reads a little-endian `T` from `p` (any alignment).
template <class T>
T load_le(const void* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

/// Appends the little-endian bytes of `v`.
template <class T>
void append_le(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

/// The index of the first of `n` bytes that is neither 0 nor 1, or `n` when there is none. A
/// bool holding any other byte is undefined behaviour in C++, so every reader refuses it.
inline std::size_t first_non_bool(const std::byte* data, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (static_cast<unsigned>(data[i]) > 1) return i;
  }
  return n;
}

}  // namespace wick::io::detail
