// The cache of large buffers (wick/core/storage_cache.h). One process-wide list of freed
// anonymous mappings, oldest first, under one mutex: large buffers are few and each costs far
// more to fault in than a scan of the list. Around fork() the cached mappings are marked
// MADV_DONTFORK so that a child (AsyncSaver's fork mode) does not share them copy-on-write:
// the parent's next step writes into them at once, and each shared page written would be a
// page fault and a 4 KiB copy. The child forgets them.

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <vector>

#include "mapped_cache.h"
#include "wick/core/storage_cache.h"

namespace wick {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

#ifdef NDEBUG
constexpr bool kDebug = false;
#else
constexpr bool kDebug = true;
#endif

struct Mapping {
  std::byte* data;
  std::size_t length;
};

// The cgroup v2 memory limit of this process (a container's), or 0 when there is none.
std::size_t cgroup_memory_limit() {
  std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "re");
  if (f == nullptr) return 0;
  unsigned long long bytes = 0;
  const bool number = std::fscanf(f, "%llu", &bytes) == 1;  // "max" when unlimited
  std::fclose(f);
  return number ? static_cast<std::size_t>(bytes) : 0;
}

// An eighth of the memory this process may use (the RAM, or its container's limit if lower),
// and at most kDefaultCap: what the cache keeps is not returned to the kernel until a buffer
// of its size is freed past the limit, so its cost to the rest of the machine stays small.
// WICK_STORAGE_CACHE_BYTES overrides it. Off where a reused buffer would hide a use after
// free from a checker: sanitizer builds, and builds without NDEBUG, where a freed buffer's
// pages are unmapped and a stale access faults.
std::size_t default_limit() {
  if (const char* env = std::getenv("WICK_STORAGE_CACHE_BYTES")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') return static_cast<std::size_t>(v);
  }
  if (kSanitized || kDebug) return 0;
  constexpr std::size_t kDefaultCap = std::size_t{4} << 30;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  std::size_t memory = pages > 0 && page > 0
                           ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                           : std::size_t{8} << 30;
  if (const std::size_t cgroup = cgroup_memory_limit(); cgroup > 0)
    memory = std::min(memory, cgroup);
  return std::min(memory / 8, kDefaultCap);
}

void unmap_all(const std::vector<Mapping>& victims) {
  for (const Mapping& m : victims)
    ::munmap(m.data, m.length);
}

class Cache {
 public:
  // Never destroyed: tensors of static objects are freed after every destructor could run.
  static Cache& get() {
    static Cache* cache = new Cache();
    return *cache;
  }

  std::byte* take(std::size_t length) {
    const std::lock_guard lock(mu_);
    // The most recently freed first: its pages are the likeliest to be in the caches.
    for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
      if (it->length != length) continue;
      std::byte* data = it->data;
      free_.erase(std::next(it).base());
      bytes_ -= length;
      ++hits_;
      return data;
    }
    return nullptr;
  }

  void count_map() {
    const std::lock_guard lock(mu_);
    ++maps_;
  }

  void give(std::byte* data, std::size_t length) {
    std::vector<Mapping> victims;
    {
      std::unique_lock lock(mu_);
      if (length > limit_) {  // never kept (the cache off included): straight back
        ++unmaps_;
        lock.unlock();
        ::munmap(data, length);
        return;
      }
      // Room first: nothing below may throw once the list starts to change. Reserved only
      // when needed, so that a steady state of frees and reuses allocates nothing.
      if (bytes_ + length > limit_) victims.reserve(free_.size());
      if (free_.size() == free_.capacity()) free_.reserve(2 * free_.size() + 8);
      evict_until(limit_ - length, victims);
      free_.push_back({data, length});
      bytes_ += length;
      unmaps_ += victims.size();
    }
    unmap_all(victims);
  }

  // Sets the limit (or keeps it, for nullopt) and frees down to `target` bytes at most.
  void shrink(std::optional<std::size_t> limit, std::size_t target) {
    std::vector<Mapping> victims;
    {
      const std::lock_guard lock(mu_);
      victims.reserve(free_.size());
      if (limit) limit_ = *limit;
      evict_until(std::min(target, limit_), victims);
      unmaps_ += victims.size();
    }
    unmap_all(victims);
  }

  std::size_t limit() {
    const std::lock_guard lock(mu_);
    return limit_;
  }

  StorageCacheStats stats() {
    const std::lock_guard lock(mu_);
    return {bytes_, free_.size(), hits_, maps_, unmaps_};
  }

 private:
  Cache() : limit_(default_limit()) {
    ::pthread_atfork([] { get().before_fork(); }, [] { get().after_fork(false); },
                     [] { get().after_fork(true); });
  }

  // Moves the oldest mappings to `victims` until the cache holds at most `target` bytes.
  void evict_until(std::size_t target, std::vector<Mapping>& victims) {
    std::size_t n = 0;
    while (n < free_.size() && bytes_ > target) {
      bytes_ -= free_[n].length;
      victims.push_back(free_[n++]);
    }
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // fork() runs these with no other thread of the forking process inside the cache: `mu_` is
  // held from before the fork until after it, in the parent and in the child.
  void before_fork() {
    mu_.lock();
    for (const Mapping& m : free_)
      ::madvise(m.data, m.length, MADV_DONTFORK);  // advisory: a failure costs page copies
  }
  void after_fork(bool child) {
    if (child) {
      free_.clear();  // not mapped here; clear() frees nothing, so no malloc in the child
      bytes_ = 0;
    } else {
      for (const Mapping& m : free_)
        ::madvise(m.data, m.length, MADV_DOFORK);
    }
    mu_.unlock();
  }

  std::mutex mu_;
  std::vector<Mapping> free_;  // oldest first
  std::size_t bytes_ = 0;
  std::size_t limit_;
  uint64_t hits_ = 0;
  uint64_t maps_ = 0;
  uint64_t unmaps_ = 0;
};

}  // namespace

std::size_t storage_cache_limit() {
  return Cache::get().limit();
}

void set_storage_cache_limit(std::size_t bytes) {
  Cache::get().shrink(bytes, bytes);
}

void release_storage_cache() {
  Cache::get().shrink(std::nullopt, 0);
}

StorageCacheStats storage_cache_stats() {
  return Cache::get().stats();
}

namespace detail {

std::byte* take_mapping(std::size_t length) {
  return Cache::get().take(length);
}

void count_mapping() {
  Cache::get().count_map();
}

void give_mapping(std::byte* data, std::size_t length) noexcept {
  try {
    Cache::get().give(data, length);
  } catch (...) {
    ::munmap(data, length);  // no memory for the list: the kernel takes the mapping back
  }
}

}  // namespace detail
}  // namespace wick
