#include "wick/core/storage.h"

#include <cstring>
#include <new>

namespace wick {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
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
  if (owner_ == nullptr && data_ != nullptr) {
    ::operator delete (data_, std::align_val_t{kStorageAlignment});
  }
}

}  // namespace wick
