#pragma once
// Private: the cache behind wick/core/storage_cache.h, used by Storage for its anonymous
// mappings (storage.cpp).

#include <cstddef>

namespace wick::detail {

/// A cached mapping of exactly `length` bytes (its contents are what its last user left), or
/// nullptr; counts a hit when there is one.
std::byte* take_mapping(std::size_t length);

/// Counts a mapping made because the cache had none.
void count_mapping();

/// Keeps the mapping `data` of `length` bytes for reuse, or unmaps it when the cache is off or
/// the mapping is over the limit.
void give_mapping(std::byte* data, std::size_t length) noexcept;

}  // namespace wick::detail
