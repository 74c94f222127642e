#include "wick/core/storage.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "mapped_cache.h"
#include "wick/core/storage_cache.h"

namespace wick {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Below this the heap is faster (and reuses warm memory); above it, page faults dominate the
// cost of a fresh buffer and huge pages cut them by 512x.
constexpr std::size_t kMapThreshold = std::size_t{4} << 20;

// A 2 MiB-aligned anonymous mapping of `length` (a multiple of 2 MiB), or nullptr.
std::byte* map_huge(std::size_t length) {
  void* p = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* base = static_cast<std::byte*>(p);
  const auto addr = reinterpret_cast<std::uintptr_t>(base);
  const std::size_t head = (kHugePage - addr % kHugePage) % kHugePage;
  if (head > 0) ::munmap(base, head);
  if (kHugePage - head > 0) ::munmap(base + head + length, kHugePage - head);
#ifdef MADV_HUGEPAGE
  ::madvise(base + head, length, MADV_HUGEPAGE);  // advisory: failure only costs speed
#endif
  return base + head;
}
}  // namespace

// A buffer of at least kMapThreshold bytes: a cached mapping (wick/core/storage_cache.h),
// zeroed when `zeroed`, or a fresh one, which the kernel zeroes.
std::shared_ptr<Storage> Storage::allocate_mapped(std::size_t nbytes, bool zeroed) {
  if (nbytes > SIZE_MAX - kHugePage) throw std::bad_alloc();  // the rounding would wrap
  const std::size_t length = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
  std::byte* data = detail::take_mapping(length);
  const bool fresh = data == nullptr;
  if (fresh) {
    data = map_huge(length);
    if (data == nullptr) {
      // The cache may hold the memory the kernel could not find: give it back and try again.
      release_storage_cache();
      data = map_huge(length);
    }
    if (data == nullptr) throw std::bad_alloc();
    detail::count_mapping();
  }
  Storage* raw = nullptr;
  try {
    raw = new Storage(data, nbytes, nullptr, length);
  } catch (...) {
    detail::give_mapping(data, length);
    throw;
  }
  // Should the control block not fit, shared_ptr deletes `raw`, which gives the mapping back.
  std::shared_ptr<Storage> s(raw);
  if (zeroed && !fresh) std::memset(data, 0, nbytes);
  return s;
}

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
  if (nbytes >= kMapThreshold) return allocate_mapped(nbytes, false);
  std::byte* data = nullptr;
  if (nbytes > 0) {
    // Round up so vector loops may read whole cache lines at the tail without leaving the block.
    const std::size_t rounded =
        (nbytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
    data = static_cast<std::byte*>(::operator new (rounded, std::align_val_t{kStorageAlignment}));
  }
  return std::shared_ptr<Storage>(new Storage(data, nbytes, nullptr));
}

std::shared_ptr<Storage> Storage::allocate_zeroed(std::size_t nbytes) {
  if (nbytes >= kMapThreshold) return allocate_mapped(nbytes, true);
  auto s = allocate(nbytes);
  if (nbytes > 0) std::memset(s->data(), 0, nbytes);
  return s;
}

std::shared_ptr<Storage> Storage::borrow(std::byte* data, std::size_t nbytes,
                                         std::shared_ptr<const void> owner) {
  // An empty owner would make borrowed() lie and leave the bytes unowned: keep a token.
  if (!owner) owner = std::make_shared<int>(0);
  return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(owner)));
}

Storage::~Storage() {
  if (owner_ != nullptr || data_ == nullptr) return;
  if (mapped_ > 0) {
    detail::give_mapping(data_, mapped_);
  } else {
    ::operator delete (data_, std::align_val_t{kStorageAlignment});
  }
}

}  // namespace wick
