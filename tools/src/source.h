#pragma once
// Opening a file of any format wick::load reads (wick, PyTorch, safetensors, .npy, .npz), told
// apart by content, for the commands that work on all of them.

#include <cstdint>
#include <string>
#include <string_view>

#include "wick/core/value.h"
#include "wick/io/formats.h"
#include "wick/io/sharded/sharded_reader.h"

namespace wick::cli {

/// How reports name a format: "wick", "PyTorch zip (torch.save)", "safetensors", "NumPy .npy",
/// "NumPy .npz (zip)".
std::string_view format_label(io::FileFormat format);

/// What `verify` checks in a foreign format, and what that format cannot show.
std::string_view foreign_checks(io::FileFormat format);

/// Failure(kNotWick) when `file` is an empty regular file: nothing to read, which says more
/// than "unrecognised content".
void check_not_empty(const std::string& file);

/// The format of `file`, from its content (io::detect_format); Failure as on_file() throws it,
/// and Failure(kNotWick) for an empty file (nothing to read, rather than "unrecognised").
io::FileFormat detect(const std::string& file);

/// A whole file, loaded and verified as far as its format allows.
struct Loaded {
  io::FileFormat format = io::FileFormat::Wick;
  Value root;
  Dict metadata;  ///< the file's metadata where the format has some (wick, safetensors)
};

/// Loads `file` in whatever format it is; Failure as on_file() throws it. It is mapped: tensors
/// view the file's pages wherever its format lets them (in the zip formats, stored members
/// aligned for their dtype, as torch.save and wick write them), the others are read.
/// `verify` = false skips a wick file's checksums (for a caller that has just checked them).
Loaded load_any(const std::string& file, bool verify = true);

/// How --json reports name a sharded checkpoint directory's format.
inline constexpr std::string_view kShardedFormatName = "wick-sharded";

/// How reports name a sharded checkpoint of `shards` shards: "wick sharded checkpoint (3 shards)".
std::string sharded_label(uint64_t shards);

/// The tree of the sharded checkpoint `reader` reads, from its index alone: every tensor is an
/// empty 1-D tensor of its dtype (a slice of no elements), so no shard is read. For finding
/// paths and listing the values beside the tensors.
Value sharded_skeleton(io::ShardedReader& reader);

}  // namespace wick::cli
