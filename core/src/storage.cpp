#include "wick/core/storage.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

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

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
  if (nbytes >= kMapThreshold) {
    const std::size_t length = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
    if (std::byte* data = map_huge(length)) {
      return std::shared_ptr<Storage>(new Storage(data, nbytes, nullptr, length));
    }
    throw std::bad_alloc();
  }
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
  auto s = allocate(nbytes);
  // Fresh anonymous mappings are already zero.
  if (nbytes > 0 && s->mapped_ == 0) std::memset(s->data(), 0, nbytes);
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
    ::munmap(data_, mapped_);
  } else {
    ::operator delete (data_, std::align_val_t{kStorageAlignment});
  }
}

}  // namespace wick
