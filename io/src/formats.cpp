#include "formats.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>

#include "common/file.h"
#include "common/tensor_bytes.h"
#include "interop/zip.h"
#include "wick/core/error.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/interop/pytorch.h"
#include "wick/io/interop/safetensors.h"
#include "wick/io/native/reader.h"
#include "wick/io/serialize.h"

namespace wick::io {
namespace {

constexpr std::string_view kWickMagic = "\x89WICK";
constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr std::string_view kZipMagic = "PK\x03\x04";
constexpr std::string_view kEmptyZipMagic = "PK\x05\x06";
// torch.save before 1.6: a pickled magic number, then pickles of the objects.
constexpr std::string_view kLegacyTorchMagic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8";

std::string hex_bytes(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if (!out.empty()) out += ' ';
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

FileFormat classify_zip(const std::filesystem::path& path) {
  std::optional<detail::ZipReader> zip;
  try {
    zip.emplace(path, "load");
  } catch (const FormatError& e) {
    throw FormatError(wick::detail::cat(
        "load: ", path,
        " is not a wick file, and starts like a zip archive (PyTorch checkpoint or "
        "npz) but is not one either: ",
        e.what()));
  }
  const auto& entries = zip->entries();
  if (!entries.empty()) {
    const std::string& first = entries.front().name;
    const auto slash = first.find('/');
    if (slash != std::string::npos && zip->find(first.substr(0, slash + 1) + "data.pkl")) {
      return FileFormat::PyTorch;
    }
  }
  const auto odd = std::find_if(entries.begin(), entries.end(), [](const detail::ZipEntry& e) {
    return !e.name.ends_with(".npy");
  });
  WICK_CHECK(odd == entries.end(), FormatError, "load: ", path,
             " is a zip archive but neither a torch.save checkpoint (no <dir>/data.pkl) nor an "
             "npz (member '",
             odd->name, "' is not an .npy array)");
  return FileFormat::Npz;
}

// Nested dicts and lists as one flat dict of dotted paths, for formats that hold only that.
void flatten_into(Dict& out, const Value& v, const std::string& prefix, int depth,
                  const std::string& op) {
  if (v.is_tensor()) {
    WICK_CHECK(!out.contains(prefix), ArgumentError, op, ": flattening gives the key '", prefix,
               "' twice");
    out.insert(prefix, v);
    return;
  }
  WICK_CHECK(v.is_dict() || v.is_list(), ArgumentError, op, ": '", prefix, "' is a ",
             kind_name(v.kind()), "; the format holds only tensors");
  WICK_CHECK(depth < detail::kMaxDepth, ArgumentError, op, ": nesting deeper than ",
             detail::kMaxDepth);
  const auto child = [&](const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  };
  if (v.is_list()) {
    for (std::size_t i = 0; i < v.list().size(); ++i) {
      flatten_into(out, v.list()[i], child(std::to_string(i)), depth + 1, op);
    }
  } else {
    for (const auto& [key, item] : v.dict())
      flatten_into(out, item, child(key), depth + 1, op);
  }
}

Dict flatten(const Value& v, const std::string& op) {
  Dict out;
  if (v.is_tensor()) {
    out.insert("arr_0", v);
    return out;
  }
  WICK_CHECK(v.is_dict() || v.is_list(), ArgumentError, op, ": expected tensors, got a ",
             kind_name(v.kind()));
  flatten_into(out, v, "", 0, op);
  return out;
}

}  // namespace

std::string_view format_name(FileFormat format) noexcept {
  switch (format) {
    case FileFormat::Wick:
      return "wick";
    case FileFormat::PyTorch:
      return "pytorch";
    case FileFormat::Safetensors:
      return "safetensors";
    case FileFormat::Npy:
      return "npy";
    case FileFormat::Npz:
      return "npz";
  }
  return "?";
}

std::optional<FileFormat> format_from_name(std::string_view name) noexcept {
  for (FileFormat f : {FileFormat::Wick, FileFormat::PyTorch, FileFormat::Safetensors,
                       FileFormat::Npy, FileFormat::Npz}) {
    if (format_name(f) == name) return f;
  }
  return std::nullopt;
}

std::optional<FileFormat> format_from_extension(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".wick") return FileFormat::Wick;
  if (ext == ".pt" || ext == ".pth") return FileFormat::PyTorch;
  if (ext == ".safetensors") return FileFormat::Safetensors;
  if (ext == ".npy") return FileFormat::Npy;
  if (ext == ".npz") return FileFormat::Npz;
  return std::nullopt;
}

namespace detail {

std::optional<FileFormat> sniff_format(const std::filesystem::path& path) {
  return sniff_format(File(path), path);
}

std::optional<FileFormat> sniff_format(const File& file, const std::filesystem::path& path) {
  std::string head(static_cast<std::size_t>(std::min<uint64_t>(file.size(), 16)), '\0');
  file.read_at(head.data(), head.size(), 0, "file header");
  return sniff_head(head, path);
}

std::optional<FileFormat> sniff_head(std::string_view h, const std::filesystem::path& path) {
  if (h.starts_with(kWickMagic)) return FileFormat::Wick;
  if (h.starts_with(kNpyMagic)) return FileFormat::Npy;
  if (h.starts_with(kZipMagic) || h.starts_with(kEmptyZipMagic)) return classify_zip(path);
  WICK_CHECK(!h.starts_with(kLegacyTorchMagic), FormatError, "load: ", path,
             " is a legacy PyTorch file (torch.save before 1.6, or "
             "_use_new_zipfile_serialization=False), which is not supported: save it again "
             "with a current torch.save");
  if (h.size() > 8 && h[8] == '{') return FileFormat::Safetensors;
  return std::nullopt;
}

Value load_foreign(const std::filesystem::path& path, FileFormat format) {
  switch (format) {
    case FileFormat::PyTorch:
      return load_pytorch(path);
    case FileFormat::Safetensors:
      return load_safetensors(path);
    case FileFormat::Npy:
      return load_npy(path);
    case FileFormat::Npz:
      return load_npz(path);
    case FileFormat::Wick:
      break;
  }
  return wick::load(path);
}

}  // namespace detail

FileFormat detect_format(const std::filesystem::path& path) {
  if (const auto f = detail::sniff_format(path)) return *f;
  std::string head;
  {
    const detail::File file(path);
    head.resize(static_cast<std::size_t>(std::min<uint64_t>(file.size(), 8)));
    file.read_at(head.data(), head.size(), 0, "file header");
  }
  throw FormatError(wick::detail::cat(
      "detect_format: ", path, ": unrecognised content (first bytes: ",
      head.empty() ? std::string("none, the file is empty") : hex_bytes(head),
      "); wick reads wick, PyTorch (torch.save zip), safetensors, .npy and .npz files"));
}

void save_as(const Value& value, const std::filesystem::path& path, FileFormat format,
             const SaveOptions& options) {
  const std::string op = "save_as(" + std::string(format_name(format)) + ")";
  SaveOptions plain = options;
  plain.metadata = Dict{};
  switch (format) {
    case FileFormat::Wick:
      return wick::save(value, path, options);
    case FileFormat::PyTorch:
      return save_pytorch(value, path, plain);
    case FileFormat::Safetensors: {
      SaveOptions o = plain;
      for (const auto& [key, v] : options.metadata) {
        if (v.is_string()) {
          o.metadata.insert(key, v);
        } else {
          std::ostringstream repr;
          repr << v;
          o.metadata.insert(key, repr.str());
        }
      }
      return save_safetensors(flatten(value, op), path, o);
    }
    case FileFormat::Npy:
      WICK_CHECK(value.is_tensor(), ArgumentError, op, ": an .npy file holds one tensor, got a ",
                 kind_name(value.kind()));
      return save_npy(value.tensor(), path, plain);
    case FileFormat::Npz:
      return save_npz(flatten(value, op), path, NpzCompression::Stored, plain);
  }
}

void convert(const std::filesystem::path& in, const std::filesystem::path& out,
             std::optional<FileFormat> format, const SaveOptions& options) {
  if (!format) format = format_from_extension(out);
  WICK_CHECK(format.has_value(), ArgumentError, "convert: cannot tell the output format from ", out,
             "; name one of wick, pytorch, safetensors, npy, npz (or use the extension .wick, "
             ".pt, .pth, .safetensors, .npy or .npz)");
  const FileFormat from = detect_format(in);
  Dict metadata;
  Value value;
  if (from == FileFormat::Wick) {
    metadata = Reader(in).metadata();
    value = wick::load(in);
  } else if (from == FileFormat::Safetensors) {
    value = load_safetensors(in, &metadata);
  } else {
    value = detail::load_foreign(in, from);
  }
  SaveOptions o = options;
  o.metadata = std::move(metadata);
  for (const auto& [key, v] : options.metadata)
    o.metadata.insert_or_assign(key, v);
  save_as(value, out, *format, o);
}

}  // namespace wick::io
