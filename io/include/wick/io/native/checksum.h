#pragma once
/// \file
/// The checksum wick files use.

#include <cstddef>
#include <cstdint>

namespace wick::io {

/// XXH3-64 (seed 0) of `n` bytes, on xxHash's runtime-selected vector path.
uint64_t checksum(const void* data, std::size_t n) noexcept;

}  // namespace wick::io
