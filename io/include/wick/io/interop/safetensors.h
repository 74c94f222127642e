#pragma once
/// \file
/// safetensors files (Hugging Face): an 8-byte header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the tensor bytes.

#include <filesystem>

#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// Loads a safetensors file as a Dict of tensors, in file order. Validated at least as strictly
/// as the reference implementation: header length at most 100000000 bytes and inside the file,
/// UTF-8 JSON starting with '{', no duplicate names, every tensor a known dtype with a
/// non-negative integer shape, byte ranges contiguous from 0 without gaps or overlaps, each
/// exactly shape x dtype size long, and the last one ending exactly at the end of the file.
/// The header's `__metadata__` (string to string) goes to `*metadata` when given, as string
/// Values. Dtypes wick lacks (U16, U32, U64, F8_*, C64, ...) are refused by name.
///
/// With `mmap`, the file is mapped private and copy-on-write (as LoadOptions::mmap maps a wick
/// file) and each tensor aligned for its dtype views the mapping instead of being read; the
/// mapping lives as long as any tensor does. A misaligned tensor (the format does not align
/// its data) is read into memory of its own.
Value load_safetensors(const std::filesystem::path& path, Dict* metadata = nullptr,
                       bool mmap = false);

/// Saves `tensors`, a Dict of tensors, in its order. `options.metadata` becomes the header's
/// `__metadata__` and must hold only strings; `options.durable` applies. The data starts at a
/// multiple of 64 bytes (the header is padded with spaces, as the format allows). ArgumentError
/// for anything else than a dict of defined tensors, for the reserved name "__metadata__" and
/// for names that are not UTF-8.
void save_safetensors(const Value& tensors, const std::filesystem::path& path,
                      const SaveOptions& options = {});

}  // namespace wick::io
