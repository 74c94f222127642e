#pragma once
// Private: copy-mode snapshots (AsyncSaver, SnapshotMode::kCopy). The tensors of a value are
// copied into staging buffers the saver keeps between saves, and the value is rebuilt around the
// copies with the same views of the same storages, so that it is written byte for byte as the
// original would be.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "native/worker.h"
#include "wick/core/storage.h"
#include "wick/core/tensor_dict.h"
#include "wick/core/value.h"

namespace wick::io::detail {

/// Staging buffers kept between saves, bounded by a limit in bytes. Not thread-safe: the saver
/// serialises its calls.
class StagingPool {
 public:
  explicit StagingPool(std::size_t limit) : limit_(limit) {}
  std::size_t limit() const noexcept { return limit_; }
  /// Bytes allocated (in use or free).
  std::size_t held() const noexcept { return held_; }
  /// Bytes in use by snapshots not yet written.
  std::size_t in_use() const noexcept { return in_use_; }
  /// True when buffers of these sizes can be had now without exceeding the limit (freeing
  /// unused buffers of other sizes as needed).
  bool can_take(const std::vector<std::size_t>& sizes) const;
  /// Buffers of exactly these sizes: reused when free ones match, else allocated (freeing
  /// unused ones of other sizes first when the limit demands). Call only when can_take().
  std::vector<std::shared_ptr<Storage>> take(const std::vector<std::size_t>& sizes);
  /// Gives buffers back for the next snapshot. Their tensors must be gone.
  void give_back(std::vector<std::shared_ptr<Storage>> buffers);
  /// Frees every unused buffer.
  void release_free();

 private:
  std::size_t limit_;
  std::size_t held_ = 0;
  std::size_t in_use_ = 0;
  std::vector<std::shared_ptr<Storage>> free_;
};

/// The tensors of a value and the storage ranges a snapshot copies.
class SnapshotPlan {
 public:
  /// Plans the copy of the tensors `tensors` point to (in a tree the caller owns and will
  /// rebuild with rebind()).
  explicit SnapshotPlan(std::vector<Tensor*> tensors);
  /// The staging sizes needed, one per storage range.
  const std::vector<std::size_t>& sizes() const noexcept { return sizes_; }
  /// Bytes of tensor data the copy reads.
  uint64_t bytes() const noexcept { return bytes_; }
  /// Copies every range into `buffers` (as sized by sizes()), on `helper` too when it is worth
  /// it, and points the tensors at the copies.
  void copy_and_rebind(const std::vector<std::shared_ptr<Storage>>& buffers, Worker& helper);

 private:
  struct Range {
    Storage* storage;
    std::size_t lo;  // first byte copied, aligned down to kStorageAlignment
    std::size_t hi;  // one past the last byte any tensor of the storage reads
  };
  std::vector<Tensor*> tensors_;
  std::vector<uint32_t> range_of_;  // per tensor, its Range; UINT32_MAX for an empty tensor
  std::vector<Range> ranges_;
  std::vector<std::size_t> sizes_;
  uint64_t bytes_ = 0;
};

/// The tensors of `value` (a tree the caller owns), for SnapshotPlan.
std::vector<Tensor*> tensors_of(Value& value);
/// The tensors of `dict`, for SnapshotPlan.
std::vector<Tensor*> tensors_of(TensorDict& dict);

}  // namespace wick::io::detail
