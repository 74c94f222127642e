// Counts wick's anonymous mappings in decode_bounds.h's live-memory figure. Storage::allocate
// (core/src/storage.cpp) maps tensors of 4 MiB and more with mmap instead of malloc, so the
// sanitizer's heap hooks never see them; a zip bomb inflated into such a tensor would pass
// unmeasured. Linked with -Wl,--wrap=mmap,--wrap=munmap, every call to mmap/munmap from the
// statically linked objects (libwick.a, the targets) comes here first. Shared libraries (libc's
// own, libzip, zlib) keep calling the real functions, and the sanitizer allocator maps its
// memory with raw system calls, so nothing is counted twice.
//
// map_huge() maps a larger region and unmaps its unaligned head and tail, so the anonymous
// regions are kept as an interval set and each munmap subtracts exactly the bytes it releases
// from them; unmapping a file mapping releases nothing counted.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "decode_bounds.h"

extern "C" {
void* __real_mmap(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset);
int __real_munmap(void* addr, std::size_t length);
void* __wrap_mmap(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset);
int __wrap_munmap(void* addr, std::size_t length);
}

namespace {

struct Regions {
  std::mutex mutex;
  std::map<uintptr_t, uintptr_t> end_of;  // start -> end of each counted anonymous region
};

// Never destroyed: mappings may be released during static destruction.
Regions& regions() {
  static Regions* r = new Regions;
  return *r;
}

// Removes [lo, hi) from the counted regions; returns how many counted bytes it held.
uint64_t release(uintptr_t lo, uintptr_t hi) {
  Regions& r = regions();
  const std::lock_guard<std::mutex> lock(r.mutex);
  uint64_t released = 0;
  auto it = r.end_of.upper_bound(lo);
  if (it != r.end_of.begin()) --it;
  while (it != r.end_of.end() && it->first < hi) {
    const uintptr_t start = it->first;
    const uintptr_t end = it->second;
    if (end <= lo) {
      ++it;
      continue;
    }
    const uintptr_t cut_lo = start > lo ? start : lo;
    const uintptr_t cut_hi = end < hi ? end : hi;
    released += cut_hi - cut_lo;
    it = r.end_of.erase(it);
    if (start < cut_lo) r.end_of.emplace(start, cut_lo);
    if (cut_hi < end) {
      it = r.end_of.emplace(cut_hi, end).first;
      ++it;
    }
  }
  return released;
}

// The kernel maps and unmaps whole pages.
uintptr_t page_end(uintptr_t lo, std::size_t length) {
  constexpr uintptr_t kPage = 4096;
  return (lo + length + kPage - 1) / kPage * kPage;
}

[[maybe_unused]] const bool kRegistered = [] {
  wick::bounds::detail::g_mappings_counted.store(true);
  return true;
}();

}  // namespace

extern "C" void* __wrap_mmap(void* addr, std::size_t length, int prot, int flags, int fd,
                             off_t offset) {
  void* p = __real_mmap(addr, length, prot, flags, fd, offset);
  if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) != 0 && length > 0) {
    const auto lo = reinterpret_cast<uintptr_t>(p);
    const uintptr_t hi = page_end(lo, length);
    // A fixed mapping may replace part of a counted one.
    if ((flags & MAP_FIXED) != 0) {
      wick::bounds::detail::sub_live(static_cast<int64_t>(release(lo, hi)));
    }
    {
      Regions& r = regions();
      const std::lock_guard<std::mutex> lock(r.mutex);
      r.end_of.emplace(lo, hi);
    }
    wick::bounds::detail::add_live(static_cast<int64_t>(hi - lo));
  }
  return p;
}

extern "C" int __wrap_munmap(void* addr, std::size_t length) {
  const int rc = __real_munmap(addr, length);
  if (rc == 0 && length > 0) {
    const auto lo = reinterpret_cast<uintptr_t>(addr);
    wick::bounds::detail::sub_live(static_cast<int64_t>(release(lo, page_end(lo, length))));
  }
  return rc;
}
