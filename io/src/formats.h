#pragma once
// Private: format detection for wick::load, which reads wick files itself and hands every other
// recognised format to its reader.

#include <filesystem>
#include <optional>
#include <string_view>

#include "common/file.h"
#include "wick/io/formats.h"
#include "wick/io/value.h"

namespace wick::io::detail {

/// The format `path`'s content shows, or nullopt when it matches none (the wick reader then
/// explains what is wrong). FormatError for content that is recognised but unusable: a zip
/// archive libzip cannot open or that is neither a checkpoint nor an npz, a pre-1.6 PyTorch file.
std::optional<FileFormat> sniff_format(const std::filesystem::path& path);
/// sniff_format() of `file`, already open at `path` (one open for a whole load).
std::optional<FileFormat> sniff_format(const File& file, const std::filesystem::path& path);
/// sniff_format() from `head`, the first 16 bytes of the file at `path` (fewer in a shorter file).
std::optional<FileFormat> sniff_head(std::string_view head, const std::filesystem::path& path);

/// Loads a file of a format other than wick.
Value load_foreign(const std::filesystem::path& path, FileFormat format);

}  // namespace wick::io::detail
