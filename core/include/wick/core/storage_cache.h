#pragma once
/// \file
/// The cache of large tensor buffers: a training step frees and reallocates the same buffers
/// (gradients, activations, temporaries) every time, and a buffer kept for the next step saves
/// the kernel's zeroing of fresh pages, which costs about a quarter of a step of a 256 MiB MLP.

#include <cstddef>
#include <cstdint>

namespace wick {

/// What the cache of large buffers holds and has done since the process started.
struct StorageCacheStats {
  /// Bytes of freed buffers held for reuse now.
  std::size_t cached_bytes = 0;
  /// Buffers held for reuse now.
  std::size_t cached_buffers = 0;
  /// Large buffers handed out from the cache (no system call, no page fault).
  uint64_t hits = 0;
  /// Large buffers the kernel was asked for (an mmap, then a page fault per 2 MiB touched).
  uint64_t maps = 0;
  /// Large buffers given back to the kernel (over the limit, released, or the cache off).
  uint64_t unmaps = 0;
};

/// The most bytes of freed buffers the cache holds. Buffers of 4 MiB and more (see
/// Storage::allocate) go to the cache when freed, and an allocation of the same mapped length
/// (rounded up to 2 MiB) takes the most recently freed one. When a freed buffer would take the
/// cache over its limit, the longest-held buffers go back to the kernel first. The default is
/// an eighth of the memory the process may use (the RAM, or its cgroup's memory.max if lower),
/// at most 4 GiB; the environment variable WICK_STORAGE_CACHE_BYTES, read once, replaces it.
/// The default is 0 (no cache) in AddressSanitizer and ThreadSanitizer builds of wick and in
/// builds without NDEBUG, where a freed buffer is unmapped so that a use after free faults.
/// The cache does not own memory registered elsewhere: a buffer freed while an RDMA library
/// still has it registered (MADV_DONTFORK) loses that mark at the next fork().
std::size_t storage_cache_limit();

/// Sets the cache's limit; buffers over it go back to the kernel now. 0 turns the cache off.
void set_storage_cache_limit(std::size_t bytes);

/// Gives every cached buffer back to the kernel (the limit stays).
void release_storage_cache();

/// The cache's contents and counts.
StorageCacheStats storage_cache_stats();

}  // namespace wick
