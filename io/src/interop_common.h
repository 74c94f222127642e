#pragma once
// Private: helpers shared by the PyTorch, safetensors and NumPy readers and writers (and the
// native writer, for the shape rule every reader applies).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "file.h"
#include "wick/core/tensor.h"
#include "wick/io/value.h"

namespace wick::io::detail {

// Tensor bytes are copied to and from files as they lie in memory.
static_assert(std::endian::native == std::endian::little, "wick's interop assumes little endian");

/// Nesting depth (lists and dicts inside each other) any interop reader or writer accepts: the
/// same bound as the wick format, so whatever loads can be saved as wick.
inline constexpr int kMaxInteropDepth = 512;

/// The bound every wick reader, native or foreign, puts on a tensor's sizes (io/FORMAT.md): their
/// product with every zero counted as 1, times the dtype size, is at most 2^62 bytes. It keeps
/// the contiguous strides of every accepted shape, empty ones included, inside int64, and makes
/// whatever one reader loads savable by every writer.
inline constexpr uint64_t kMaxTensorExtent = uint64_t{1} << 62;

/// The data bytes of a row-major tensor of `shape` and `dtype` (0 when a size is 0), or
/// std::nullopt when a size is negative or the sizes break kMaxTensorExtent.
std::optional<uint64_t> bounded_nbytes(std::span<const int64_t> shape, DType dtype) noexcept;

/// ArgumentError starting with `what` unless a reader of a format whose tensors have at most
/// `max_rank` dimensions would accept `t`'s shape: writers refuse what their readers refuse.
void check_writable(const Tensor& t, std::size_t max_rank, const std::string& what);

/// Writes a file through `body` into a temporary file renamed over `path` on success.
void write_atomically(const std::filesystem::path& path, bool durable,
                      const std::function<void(Sink&)>& body);

/// fsyncs the file at `path` and its directory (after another library wrote and renamed it).
void sync_file_and_directory(const std::filesystem::path& path, const std::string& op);

/// FormatError unless each of the `n` bytes is 0 or 1 (a bool tensor holding anything else would
/// be undefined behaviour in C++).
void check_bool_bytes(const std::byte* data, std::size_t n, const std::string& what);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// `t`'s elements in row-major order (t itself when already contiguous).
Tensor contiguous_data(const Tensor& t);

/// Reads a little-endian unsigned integer of sizeof(T) bytes.
template <class T>
T load_le(const void* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Appends the little-endian bytes of `v`.
template <class T>
void append_le(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}

}  // namespace wick::io::detail
