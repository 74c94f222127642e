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
#include "wick/io/value.h"

namespace wick::io::detail {

/// A storage a pickle refers to by persistent id: ("storage", torch.<T>Storage, key, location,
/// numel).
struct StorageRef {
  DType dtype = kFloat32;
  std::string key;
  std::string location;
  int64_t numel = 0;
};

/// Returns the bytes of a storage (exactly numel * dtype size of them).
using StorageLoader = std::function<std::shared_ptr<Storage>(const StorageRef&)>;

/// Bounds on what a pickle may make the reader hold.
struct PickleLimits {
  std::size_t max_objects = std::size_t{1} << 22;  ///< objects created (ints, strings, lists, ...)
  std::size_t max_items = std::size_t{1} << 24;    ///< stack entries plus container items
  std::size_t max_marks = 4096;                    ///< MARKs open at once
  /// Nodes of the resulting value tree; 0 means 4 per pickle byte plus 1024, which a real
  /// checkpoint never nears but which stops memo references from multiplying a small pickle
  /// into a huge tree.
  std::size_t max_values = 0;
};

/// Reads `data` (a data.pkl). Each storage is loaded once per key and shared by the tensors that
/// view it. FormatError starting with `where` for anything outside the weights-only subset.
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
