#pragma once
// Private: the pickle subset a weights-only torch.load accepts, read into a wick Value and
// written from one. Nothing here ever runs code named by a pickle: the reader knows a fixed list
// of globals (tensor rebuild functions, storage types, OrderedDict, torch.Size) and refuses
// every other one by name.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/storage.h"
#include "wick/core/tensor.h"
#include "wick/core/value.h"

namespace wick::io::detail {

/// The most bytes of data.pkl load_pytorch reads and save_pytorch writes. A state dict's pickle
/// takes ~100 bytes per tensor; anything near this is hostile.
inline constexpr uint64_t kMaxPickleBytes = uint64_t{256} << 20;
/// The most dimensions a tensor in a pickle may have, read or written.
inline constexpr std::size_t kMaxPickleRank = 64;

/// A storage a pickle refers to by persistent id: ("storage", torch.<T>Storage, key, location,
/// numel).
struct StorageRef {
  DType dtype = kFloat32;
  std::string key;
  std::string location;
  int64_t numel = 0;
};

/// Returns the bytes of each storage of `refs` (exactly numel * dtype size of them), in order.
/// Called once, after the whole pickle has been read and checked, so that a file refused for
/// its pickle costs no storage memory; it may check every reference before reading any.
using StorageLoader =
    std::function<std::vector<std::shared_ptr<Storage>>(const std::vector<StorageRef>&)>;

/// Bounds on what a pickle may make the reader hold.
struct PickleLimits {
  std::size_t max_objects = std::size_t{1} << 22;  ///< objects created (ints, strings, lists, ...)
  std::size_t max_items = std::size_t{1} << 24;    ///< stack entries plus container items
  std::size_t max_marks = 4096;                    ///< MARKs open at once
  /// Bytes the reader may hold: the objects it builds while reading (strings, containers,
  /// tensors, memo) plus the value tree it returns, where every string, key, container and
  /// tensor counts in full each time memo references repeat it. 0 means
  /// pickle_budget(data.size()).
  std::size_t max_bytes = 0;
};

/// The default PickleLimits::max_bytes per byte of pickle, and on top of them.
inline constexpr std::size_t kPickleBytesPerByte = 32;
inline constexpr std::size_t kPickleBaseBytes = std::size_t{8} << 20;

/// Bytes of memory a pickle taking `file_bytes` bytes of its file may make the reader hold:
/// kPickleBytesPerByte per byte plus kPickleBaseBytes. A state dict's pickle needs about 10 per
/// byte (objects plus tree); only memo references, or one-byte objects by the million, need
/// more, and those are how a small file would otherwise take gigabytes.
std::size_t pickle_budget(uint64_t file_bytes);

/// Reads `data` (a data.pkl). Each storage is loaded once per key, after the whole pickle has
/// been checked, and shared by the tensors that view it. FormatError starting with `where` for
/// anything outside the weights-only subset or beyond `limits`.
Value unpickle_weights(std::string_view data, const StorageLoader& load_storage,
                       const std::string& where, const PickleLimits& limits = {});

/// One storage record a pickled value refers to: `data` (contiguous, one dimension) goes to
/// data/<key>.
struct PickledStorage {
  std::string key;
  Tensor data;
};

/// The pickle (protocol 2, as torch.save writes) of `value`, plus the storages it refers to.
/// Tensors sharing storage keep sharing it (one record, offsets and strides preserved).
/// ArgumentError for undefined tensors, nesting deeper than 512 and non-UTF-8 strings.
std::string pickle_weights(const Value& value, std::vector<PickledStorage>& storages,
                           const std::string& op);

}  // namespace wick::io::detail
