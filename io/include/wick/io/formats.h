#pragma once
/// \file
/// The file formats wick reads and writes, told apart by content, and conversion between them.
/// wick::load(path) uses detect_format(), so it opens any of them.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// A file format wick reads and writes.
enum class FileFormat : uint8_t {
  Wick,         ///< wick's own format (io/FORMAT.md)
  PyTorch,      ///< torch.save's zip archive (wick/io/interop/pytorch.h)
  Safetensors,  ///< Hugging Face safetensors (wick/io/interop/safetensors.h)
  Npy,          ///< one NumPy array (wick/io/interop/numpy.h)
  Npz,          ///< a zip archive of NumPy arrays (wick/io/interop/numpy.h)
};

/// How many formats FileFormat names. A new format is one more enumerator, this count, and one
/// row of the format table (io/src/formats.cpp), whose static_assert checks the count.
inline constexpr std::size_t kFormatCount = 5;

/// What wick says about a format, for help texts and messages.
struct FormatInfo {
  FileFormat id;  ///< the format this row describes
  /// format_name(id): the name format_from_name() and `wick convert --to` take ("pytorch").
  std::string_view name;
  /// How texts for people name it ("PyTorch zip (torch.save)").
  std::string_view description;
  /// What a load of this format followed by verify_archive() checks, and what the format gives
  /// no way to check ("every checksum matches"; for safetensors, that its data has none).
  std::string_view checks;
  /// The extensions format_from_extension() maps to it, dot included, the usual one first
  /// (".pt", ".pth").
  std::span<const std::string_view> extensions;
};

/// Every format, in FileFormat order (formats()[i].id == FileFormat(i)).
std::span<const FormatInfo> formats() noexcept;

/// "wick", "pytorch", "safetensors", "npy", "npz"; "?" for a value FileFormat does not name.
std::string_view format_name(FileFormat format) noexcept;

/// Parses a format_name(); nullopt for anything else.
std::optional<FileFormat> format_from_name(std::string_view name) noexcept;

/// The format an output file's extension conventionally means: .wick, .pt/.pth, .safetensors,
/// .npy, .npz (case-sensitive); nullopt for any other.
std::optional<FileFormat> format_from_extension(const std::filesystem::path& path);

/// The format of the file at `path`, from its content, never its name: the wick magic
/// `\x89WICK`, `\x93NUMPY`, a zip archive holding `<dir>/data.pkl` (PyTorch) or only `.npy`
/// members (npz), or an 8-byte length followed by '{' (safetensors). FormatError naming the
/// first bytes when nothing matches (a pre-1.6 PyTorch file is named as such), IoError when the
/// file cannot be read.
FileFormat detect_format(const std::filesystem::path& path);

/// detect_format() without its error for content no format matches: nullopt then, so a caller
/// can tell "not a file wick reads" from "a file wick recognised and refused". Still FormatError
/// for content that is recognised but unusable (a zip archive that is neither a checkpoint nor
/// an npz, a pre-1.6 PyTorch file), IoError when the file cannot be read.
std::optional<FileFormat> recognise_format(const std::filesystem::path& path);

/// What a verified load cannot check of a zip archive (PyTorch, .npz): every member is
/// inflated through a small buffer and its size and CRC-32 checked, the members a load does
/// not read too (a PyTorch archive's `version`, storages no tensor uses). Nothing for the other
/// formats: a wick load checks every checksum, and safetensors and .npy have none. FormatError
/// naming the member, IoError when the file cannot be read. Memory is one buffer; time is
/// bounded by deflate's largest expansion (1032:1) per byte of file.
void verify_archive(const std::filesystem::path& path);

/// Saves `value` at `path` in `format`, with that format's save function: wick::save,
/// save_pytorch, save_safetensors, save_npy or save_npz. For safetensors and npz, nested dicts
/// and lists are first flattened to dotted keys ("model.hidden.weight", list items by index)
/// and a lone tensor is named "arr_0" (as numpy.savez names it); every leaf must be a tensor.
/// npy takes a lone tensor. Metadata goes where the format has room for it (wick; safetensors,
/// where non-string values are written as their Python repr) and is dropped elsewhere.
void save_as(const Value& value, const std::filesystem::path& path, FileFormat format,
             const SaveOptions& options = {});

/// Loads `in` (any format, detected by content) and saves it at `out` in `format`, or in the
/// format out's extension names when `format` is nullopt (ArgumentError when it names none).
/// File metadata is carried over between wick and safetensors files.
void convert(const std::filesystem::path& in, const std::filesystem::path& out,
             std::optional<FileFormat> format = std::nullopt, const SaveOptions& options = {});

}  // namespace wick::io
