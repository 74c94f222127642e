#pragma once
// Private: helpers shared by the PyTorch, safetensors and NumPy readers and writers.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
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
