#pragma once
// Private: the format table, and format detection for wick::load, which reads wick files itself
// and hands every other recognised format to its reader.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/file.h"
#include "wick/core/value.h"
#include "wick/io/formats.h"
#include "wick/io/options.h"

namespace wick::io::detail {

/// How surely a file's first bytes show a format.
enum class Match : uint8_t {
  kNo,
  /// A sign that other formats' files can show too (safetensors' '{' at byte 8): taken only
  /// when no format's magic matches.
  kGuess,
  /// The format's magic: files of other formats never start with it.
  kSure,
};

/// What a sniff function sees of a file: its first bytes, and its path for the sniffs that must
/// look further (a zip archive is told apart by its members).
class Probe {
 public:
  /// `head` is the first 16 bytes of the file at `path` (fewer in a shorter file).
  Probe(std::string_view head, const std::filesystem::path& path) : head_(head), path_(path) {}

  std::string_view head() const noexcept { return head_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  /// What a file starting with a zip signature holds: PyTorch (<dir>/data.pkl) or Npz (only
  /// .npy members). Read once however many rows ask. FormatError for anything else.
  FileFormat zip_kind() const;

 private:
  std::string_view head_;
  const std::filesystem::path& path_;
  mutable std::optional<FileFormat> zip_kind_;
};

/// One row of the format table: everything wick knows about a format. A new format is an adapter
/// (its reader and writer, io/src/interop/) and one row.
struct FormatRow {
  /// Name, description and extensions, as formats() shows them.
  FormatInfo info;
  /// How detect_format()'s error names the content it recognises ("PyTorch (torch.save zip)").
  std::string_view content;
  /// Whether the file's first bytes are this format's; may throw FormatError for content that
  /// is recognised but unusable (a pre-1.6 PyTorch file).
  Match (*sniff)(const Probe& probe);
  /// Loads a file of this format; when `metadata` is not null, also its file metadata where the
  /// format has some (left empty elsewhere). With `mmap`, tensors view a private mapping of the
  /// file where the format allows it (wick, safetensors, .npy; the zip formats are read).
  Value (*load)(const std::filesystem::path& path, Dict* metadata, bool mmap);
  /// save_as() for this format; `op` starts error messages ("save_as(npy)").
  void (*save)(const Value& value, const std::filesystem::path& path, const SaveOptions& options,
               const std::string& op);
};

/// The format table, in FileFormat order (format_rows()[i].info.id == FileFormat(i)).
std::span<const FormatRow> format_rows() noexcept;
/// The row of `format`. ArgumentError for a value FileFormat does not name.
const FormatRow& format_row(FileFormat format);

/// The format `path`'s content shows, or nullopt when it matches none (the wick reader then
/// explains what is wrong). FormatError for content that is recognised but unusable: a zip
/// archive libzip cannot open or that is neither a checkpoint nor an npz, a pre-1.6 PyTorch file.
std::optional<FileFormat> sniff_format(const std::filesystem::path& path);
/// sniff_format() of `file`, already open at `path` (one open for a whole load).
std::optional<FileFormat> sniff_format(const File& file, const std::filesystem::path& path);
/// sniff_format() from `head`, the first 16 bytes of the file at `path` (fewer in a shorter file).
/// Every row's sniff is asked, in table order: the first kSure wins, else the first kGuess.
std::optional<FileFormat> sniff_head(std::string_view head, const std::filesystem::path& path);

/// Loads a file of a format other than wick.
Value load_foreign(const std::filesystem::path& path, FileFormat format, bool mmap);

}  // namespace wick::io::detail
