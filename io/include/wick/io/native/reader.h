#pragma once
/// \file
/// wick::io::Reader: random access to a wick file — list its entries from the index without
/// reading payloads, load one tensor by name, or load everything (read or memory-mapped).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/io/native/tree_path.h"
#include "wick/io/options.h"

namespace wick::io {

/// One tensor of a file, as its index describes it.
struct EntryInfo {
  /// A tensor that views another's record (format 2.1: tensors sharing a storage).
  struct View {
    uint32_t id = 0;      ///< view id: one view under several paths has one id
    uint64_t offset = 0;  ///< first element, counted from the record's first
    Shape strides;        ///< in elements
  };
  TreePath path;  ///< JSON pointer: "/model/hidden.weight", list items by index ("/layers/0")
  /// Id of the tensor record that holds the elements; tied tensors and views of one record
  /// share it (tensor_by_id() loads the record).
  uint32_t id = 0;
  DType dtype = kFloat32;    ///< element type
  Shape shape;               ///< sizes of the tensor (of the view, for a view)
  uint64_t nbytes = 0;       ///< bytes of the tensor's elements (its record's when not a view)
  uint64_t offset = 0;       ///< file offset of the tensor record
  uint64_t checksum = 0;     ///< XXH3-64 of the record's payload
  std::optional<View> view;  ///< set when the tensor is a view of its record
};

/// File-level facts from the header, trailer and index.
struct FileInfo {
  uint16_t major = 0;          ///< format version, major part (FORMAT.md)
  uint16_t minor = 0;          ///< format version, minor part
  std::string producer;        ///< "wick 0.1.0"
  uint64_t file_size = 0;      ///< bytes
  uint64_t tensor_count = 0;   ///< tensor records
  uint64_t view_count = 0;     ///< rows of the view table (format 2.1)
  uint64_t payload_bytes = 0;  ///< sum of tensor payloads
};

/// Opens a file and verifies its header, trailer and index (always: they are small).
class Reader {
 public:
  /// FormatError for anything that is not an intact wick file; IoError when it cannot be read.
  explicit Reader(const std::filesystem::path& path, LoadOptions options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// File-level facts, read when the Reader opened the file.
  const FileInfo& info() const noexcept;
  /// File-level metadata.
  const Dict& metadata() const noexcept;
  /// Every tensor path in tree order (a tied tensor appears under each of its paths). Costs
  /// memory in proportion to the file: paths are spelled out only by EntryInfo::path.str().
  std::vector<EntryInfo> entries() const;
  /// Loads the tensor at `path` (verified unless the options say otherwise): a JSON pointer
  /// ("/model/hidden.weight", "" for a file of one tensor), or the dotted spelling of
  /// PyTorch's state_dict keys ("model.hidden.weight") when exactly one tensor has it.
  /// ArgumentError naming the path and listing close matches when there is no such tensor, or
  /// naming two matches when the dotted spelling is ambiguous ({"a.b": t, "a": {"b": u}}).
  /// A view (format 2.1) is read into memory holding only its record's elements from its first
  /// to its last (the whole record is still read and checked when verifying); mmapped, it
  /// views the mapping.
  Tensor tensor(std::string_view path);
  /// Loads tensor `id` of the index (EntryInfo::id): no path lookup. ArgumentError when out of
  /// range.
  Tensor tensor_by_id(uint32_t id);
  /// Loads the whole value (read into owned memory, or mmapped per the options).
  Value value();
  /// Reads and verifies every byte of the file; FormatError on the first problem.
  void verify();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wick::io
