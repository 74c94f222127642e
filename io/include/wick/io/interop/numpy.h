#pragma once
/// \file
/// NumPy files: `.npy` (one array) and `.npz` (a zip archive of named `.npy` members).

#include <filesystem>
#include <functional>
#include <string>

#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// Loads a `.npy` file (format versions 1.0 to 3.0). Little- and big-endian data are read;
/// a Fortran-order array becomes a tensor with column-major strides (a view, not a copy).
/// Supported dtypes are bool, uint8, int8, int16, int32, int64, float16, float32 and float64;
/// anything else (object arrays, which need pickle; structured, string, complex, unsigned 16
/// to 64-bit) is refused by name, as are headers over 10000 bytes (NumPy's own limit) and
/// files whose data is not exactly shape x itemsize bytes.
///
/// With `mmap` (numpy.load's mmap_mode="c"), the tensor views a private, copy-on-write mapping
/// of the file instead of a copy, kept alive as long as the tensor is; big-endian data, which
/// must be swapped, and data misaligned for its dtype are still read into memory.
Tensor load_npy(const std::filesystem::path& path, bool mmap = false);

/// Saves `tensor` as a version 1.0 `.npy` file in C order, as numpy.save does (header padded
/// so the data starts at a multiple of 64). Only `options.durable` applies. ArgumentError for
/// bfloat16 (NumPy has no such dtype: convert first), undefined tensors and non-empty
/// `options.metadata`.
void save_npy(const Tensor& tensor, const std::filesystem::path& path,
              const SaveOptions& options = {});

/// Loads an `.npz` archive (numpy.savez or savez_compressed: stored or deflated members) as a
/// Dict from member name without `.npy` to tensor, in archive order. Members that are not
/// `.npy` arrays and repeated names are refused.
///
/// With `mmap`, an array stored (not compressed) whose data lies aligned for its dtype in the
/// archive views a private, copy-on-write mapping of it, kept alive as long as any such tensor
/// is, after its member's CRC-32 is checked; the others are read (numpy.savez does not align its
/// members, wick's save_npz() does).
Value load_npz(const std::filesystem::path& path, bool mmap = false);

/// The arrays of an `.npz` archive one at a time, in archive order, as numpy.load's lazy
/// NpzFile gives them: `fn(key, array)` is called for each before the next is read, so memory
/// holds one array at a time besides those `fn` keeps. Refuses what load_npz() refuses, when it
/// reaches the member at fault (the arrays before it have been passed to `fn`). `progress`, when
/// set, is told after each array how many of the archive's member bytes are done.
void for_each_npz_array(const std::filesystem::path& path,
                        const std::function<void(const std::string& key, Tensor array)>& fn,
                        const ProgressFn& progress = {});

/// How save_npz() stores its members.
enum class NpzCompression {
  Stored,    ///< like numpy.savez
  Deflated,  ///< like numpy.savez_compressed
};

/// Saves `arrays`, a Dict of tensors, as an `.npz` archive: entry `key` becomes member
/// `key.npy`. The same rules as save_npy() apply to each tensor.
void save_npz(const Value& arrays, const std::filesystem::path& path,
              NpzCompression compression = NpzCompression::Stored, const SaveOptions& options = {});

}  // namespace wick::io
