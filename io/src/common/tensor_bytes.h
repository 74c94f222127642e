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

#include "common/bytes.h"
#include "common/file.h"
#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io::detail {

/// The data bytes of a row-major tensor of `shape` and `dtype` (0 when a size is 0), or
/// std::nullopt when a size is negative or the sizes break kMaxTensorExtent.
std::optional<uint64_t> bounded_nbytes(std::span<const int64_t> shape, DType dtype) noexcept;

/// ArgumentError starting with `what` unless a reader of a format whose tensors have at most
/// `max_rank` dimensions would accept `t`'s shape: writers refuse what their readers refuse.
void check_writable(const Tensor& t, std::size_t max_rank, const std::string& what);

/// Writes a file through `body` into a temporary file renamed over `path` on success. When
/// `progress` is set, it is told the bytes written so far out of `total` (the file's size) at
/// least every 8 MiB.
void write_atomically(const std::filesystem::path& path, bool durable,
                      const std::function<void(Sink&)>& body, const ProgressFn& progress = {},
                      uint64_t total = 0);

/// fsyncs the file at `path` and its directory (after another library wrote and renamed it).
void sync_file_and_directory(const std::filesystem::path& path, const std::string& op);

/// FormatError unless each of the `n` bytes is 0 or 1 (a bool tensor holding anything else would
/// be undefined behaviour in C++).
void check_bool_bytes(const std::byte* data, std::size_t n, const std::string& what);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// `key` as a name in a format whose names are strings (npz members, safetensors tensors and
/// metadata); ArgumentError naming `op` and the key for an int key.
const std::string& string_key(const Key& key, const std::string& op);

/// `t`'s elements in row-major order (t itself when already contiguous).
Tensor contiguous_data(const Tensor& t);

}  // namespace wick::io::detail
