#pragma once
/// \file
/// Reference-counted byte buffers that tensors view.

#include <cstddef>
#include <memory>

namespace wick {

/// Alignment of every buffer wick allocates: one cache line, and the widest SIMD register.
inline constexpr std::size_t kStorageAlignment = 64;

/// A contiguous byte buffer shared by every tensor that views it. Either owned (64-byte aligned
/// heap memory) or borrowed from something kept alive by `owner` (e.g. a memory-mapped file).
class Storage {
 public:
  /// Allocates `nbytes` uninitialised bytes, 64-byte aligned. Throws std::bad_alloc.
  /// Buffers of 4 MiB and more are 2 MiB-aligned, huge-page backed mappings of their own: a
  /// fresh 1 GiB tensor then costs 512 page faults instead of 262144. Freed, they go to the
  /// cache of wick/core/storage_cache.h, and the next buffer of their size reuses them.
  static std::shared_ptr<Storage> allocate(std::size_t nbytes);
  /// Allocates `nbytes` zeroed bytes, 64-byte aligned.
  static std::shared_ptr<Storage> allocate_zeroed(std::size_t nbytes);
  /// Views external memory; `owner` is kept alive as long as the storage is.
  static std::shared_ptr<Storage> borrow(std::byte* data, std::size_t nbytes,
                                         std::shared_ptr<const void> owner);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  /// First byte (nullptr when nbytes() == 0).
  std::byte* data() noexcept { return data_; }
  /// First byte (nullptr when nbytes() == 0).
  const std::byte* data() const noexcept { return data_; }
  /// Size in bytes.
  std::size_t nbytes() const noexcept { return nbytes_; }
  /// True when the bytes belong to another object (see borrow()).
  bool borrowed() const noexcept { return owner_ != nullptr; }

 private:
  static std::shared_ptr<Storage> allocate_mapped(std::size_t nbytes, bool zeroed);

  Storage(std::byte* data, std::size_t nbytes, std::shared_ptr<const void> owner,
          std::size_t mapped = 0) noexcept
      : data_(data), nbytes_(nbytes), mapped_(mapped), owner_(std::move(owner)) {}

  std::byte* data_;
  std::size_t nbytes_;
  std::size_t mapped_;  // length of our own anonymous mapping, 0 for heap memory
  std::shared_ptr<const void> owner_;
};

}  // namespace wick
