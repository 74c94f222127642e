#pragma once
// Private: where each member's data starts in a zip archive, found by walking its central
// directory and local headers (PKWARE's APPNOTE.TXT 6.3, sections cited in zip_layout.cpp).
// libzip reads archives but does not say where a member's bytes lie; with this, a stored member
// can be mapped instead of copied. The walk is a cross-check, never the authority: when it
// disagrees with libzip's reading of the archive (member count, names, sizes) or a record lies
// out of bounds, it finds nothing, and the caller reads the members through libzip as before.
// Time is linear in the central directory's size, memory one offset per member.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "interop/zip.h"

namespace wick::io::detail {

/// The file offset of each member's first data byte, in the order of `entries` (libzip's,
/// which is the central directory's), or nothing when the walk cannot vouch for them all.
std::optional<std::vector<uint64_t>> member_data_offsets(std::span<const std::byte> file,
                                                         const std::vector<ZipEntry>& entries);

}  // namespace wick::io::detail
