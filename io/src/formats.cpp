#include "formats.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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

bool is_zip(std::string_view head) {
  return head.starts_with(kZipMagic) || head.starts_with(kEmptyZipMagic);
}

FileFormat classify_zip(const std::filesystem::path& path) {
  std::optional<detail::ZipReader> zip;
  try {
    zip.emplace(path, "load");
  } catch (const FormatError& e) {
    throw FormatError(
        ErrorInfo{.file = path.string(),
                  .offset = 0,
                  .structure = "zip archive",
                  .found = e.what(),
                  .detail = wick::detail::cat(
                      "load: ", path,
                      " is not a wick file, and starts like a zip archive (PyTorch checkpoint or "
                      "npz) but is not one either: ",
                      e.what())});
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
  if (odd != entries.end()) {
    throw FormatError(ErrorInfo{
        .file = path.string(),
        .structure = wick::detail::cat("zip member '", odd->name, "'"),
        .expected = "an .npy array, or <dir>/data.pkl",
        .detail = wick::detail::cat(
            "load: ", path,
            " is a zip archive but neither a torch.save checkpoint (no <dir>/data.pkl) nor an "
            "npz (member '",
            odd->name, "' is not an .npy array)")});
  }
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
  WICK_CHECK(v.is_dict() || v.is_list() || v.is_tuple(), ArgumentError, op, ": '", prefix,
             "' is a ", kind_name(v.kind()), "; the format holds only tensors");
  WICK_CHECK(depth < detail::kMaxDepth, ArgumentError, op, ": nesting deeper than ",
             detail::kMaxDepth);
  const auto child = [&](const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  };
  if (!v.is_dict()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      flatten_into(out, v[i], child(std::to_string(i)), depth + 1, op);
  } else {
    // An int key is named by its digits, as a list index is.
    for (const auto& [key, item] : v.dict())
      flatten_into(out, item, child(key.text()), depth + 1, op);
  }
}

Dict flatten(const Value& v, const std::string& op) {
  Dict out;
  if (v.is_tensor()) {
    out.insert("arr_0", v);
    return out;
  }
  WICK_CHECK(v.is_dict() || v.is_list() || v.is_tuple(), ArgumentError, op,
             ": expected tensors, got a ", kind_name(v.kind()));
  flatten_into(out, v, "", 0, op);
  return out;
}

// "a, b and c": `items` separated by `sep`, the last two by `last`.
std::string join(const std::vector<std::string_view>& items, std::string_view sep,
                 std::string_view last) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? last : sep;
    out += items[i];
  }
  return out;
}

// A copy of `options` without metadata, for formats that have no room for it.
SaveOptions without_metadata(const SaveOptions& options) {
  SaveOptions plain = options;
  plain.metadata = Dict{};
  return plain;
}

// The rows' functions, one group per format. Each adapts the format's own reader and writer
// (wick/io/interop/) to the table's signatures.

detail::Match sniff_wick(const detail::Probe& probe) {
  return probe.head().starts_with(kWickMagic) ? detail::Match::kSure : detail::Match::kNo;
}

Value load_wick_file(const std::filesystem::path& path, Dict* metadata, bool mmap) {
  LoadOptions options;
  options.mmap = mmap;
  Reader reader(path, options);
  if (metadata) *metadata = reader.metadata();
  return reader.value();
}

void save_wick_file(const Value& value, const std::filesystem::path& path,
                    const SaveOptions& options, const std::string& /*op*/) {
  wick::save(value, path, options);
}

detail::Match sniff_pytorch(const detail::Probe& probe) {
  if (is_zip(probe.head())) {
    return probe.zip_kind() == FileFormat::PyTorch ? detail::Match::kSure : detail::Match::kNo;
  }
  WICK_CHECK(!probe.head().starts_with(kLegacyTorchMagic), FormatError, "load: ", probe.path(),
             " is a legacy PyTorch file (torch.save before 1.6, or "
             "_use_new_zipfile_serialization=False), which is not supported: save it again "
             "with a current torch.save");
  return detail::Match::kNo;
}

Value load_pytorch_file(const std::filesystem::path& path, Dict* /*metadata*/, bool mmap) {
  return load_pytorch(path, mmap);
}

void save_pytorch_file(const Value& value, const std::filesystem::path& path,
                       const SaveOptions& options, const std::string& /*op*/) {
  save_pytorch(value, path, without_metadata(options));
}

// Only a guess: any file can have '{' at byte 8, so it is taken only when no row's magic
// matches (detail::sniff_head).
detail::Match sniff_safetensors(const detail::Probe& probe) {
  const std::string_view h = probe.head();
  return h.size() > 8 && h[8] == '{' ? detail::Match::kGuess : detail::Match::kNo;
}

Value load_safetensors_file(const std::filesystem::path& path, Dict* metadata, bool mmap) {
  return load_safetensors(path, metadata, mmap);
}

void save_safetensors_file(const Value& value, const std::filesystem::path& path,
                           const SaveOptions& options, const std::string& op) {
  // safetensors metadata is strings only: other values are written as their repr.
  SaveOptions o = without_metadata(options);
  for (const auto& [key, v] : options.metadata) {
    if (v.is_string()) {
      o.metadata.insert(key, v);
    } else {
      std::ostringstream repr;
      repr << v;
      o.metadata.insert(key, repr.str());
    }
  }
  save_safetensors(flatten(value, op), path, o);
}

detail::Match sniff_npy(const detail::Probe& probe) {
  return probe.head().starts_with(kNpyMagic) ? detail::Match::kSure : detail::Match::kNo;
}

Value load_npy_file(const std::filesystem::path& path, Dict* /*metadata*/, bool mmap) {
  return load_npy(path, mmap);
}

void save_npy_file(const Value& value, const std::filesystem::path& path,
                   const SaveOptions& options, const std::string& op) {
  WICK_CHECK(value.is_tensor(), ArgumentError, op, ": an .npy file holds one tensor, got a ",
             kind_name(value.kind()));
  save_npy(value.tensor(), path, without_metadata(options));
}

detail::Match sniff_npz(const detail::Probe& probe) {
  return is_zip(probe.head()) && probe.zip_kind() == FileFormat::Npz ? detail::Match::kSure
                                                                     : detail::Match::kNo;
}

Value load_npz_file(const std::filesystem::path& path, Dict* /*metadata*/, bool mmap) {
  return load_npz(path, mmap);
}

void save_npz_file(const Value& value, const std::filesystem::path& path,
                   const SaveOptions& options, const std::string& op) {
  save_npz(flatten(value, op), path, NpzCompression::Stored, without_metadata(options));
}

constexpr std::string_view kWickExtensions[] = {".wick"};
constexpr std::string_view kPytorchExtensions[] = {".pt", ".pth"};
constexpr std::string_view kSafetensorsExtensions[] = {".safetensors"};
constexpr std::string_view kNpyExtensions[] = {".npy"};
constexpr std::string_view kNpzExtensions[] = {".npz"};

// The format table. Row order is FileFormat order, and the order messages and help texts list
// the formats in; sniffs are asked in this order too (see detail::sniff_head).
constexpr detail::FormatRow kFormats[] = {
    {{FileFormat::Wick, "wick", "wick", "every checksum matches", kWickExtensions},
     "wick",
     sniff_wick,
     load_wick_file,
     save_wick_file},
    {{FileFormat::PyTorch, "pytorch", "PyTorch zip (torch.save)",
      "zip structure, every member's CRC-32 and the pickle checked", kPytorchExtensions},
     "PyTorch (torch.save zip)",
     sniff_pytorch,
     load_pytorch_file,
     save_pytorch_file},
    {{FileFormat::Safetensors, "safetensors", "safetensors",
      "header and byte ranges checked; safetensors has no checksums, so damaged tensor data "
      "cannot be detected",
      kSafetensorsExtensions},
     "safetensors",
     sniff_safetensors,
     load_safetensors_file,
     save_safetensors_file},
    {{FileFormat::Npy, "npy", "NumPy .npy",
      "header and size checked; .npy has no checksums, so damaged tensor data cannot be "
      "detected",
      kNpyExtensions},
     ".npy",
     sniff_npy,
     load_npy_file,
     save_npy_file},
    {{FileFormat::Npz, "npz", "NumPy .npz (zip)",
      "zip structure, every member's CRC-32 and every .npy header checked", kNpzExtensions},
     ".npz",
     sniff_npz,
     load_npz_file,
     save_npz_file},
};
static_assert(std::size(kFormats) == kFormatCount, "one row per FileFormat");
static_assert(
    [] {
      for (std::size_t i = 0; i < std::size(kFormats); ++i) {
        if (kFormats[i].info.id != static_cast<FileFormat>(i)) return false;
      }
      return true;
    }(),
    "row i describes FileFormat(i): format_row() indexes the table by format");

// The public part of each row, for formats().
constexpr std::array<FormatInfo, kFormatCount> kInfos = [] {
  std::array<FormatInfo, kFormatCount> out{};
  for (std::size_t i = 0; i < kFormatCount; ++i)
    out[i] = kFormats[i].info;
  return out;
}();

// "wick, pytorch, safetensors, npy, npz (or use the extension .wick, .pt, .pth, ...)".
std::string names_and_extensions() {
  std::vector<std::string_view> names;
  std::vector<std::string_view> extensions;
  for (const detail::FormatRow& row : kFormats) {
    names.push_back(row.info.name);
    extensions.insert(extensions.end(), row.info.extensions.begin(), row.info.extensions.end());
  }
  return join(names, ", ", ", ") + " (or use the extension " + join(extensions, ", ", " or ") + ")";
}

// "wick, PyTorch (torch.save zip), safetensors, .npy and .npz".
std::string contents() {
  std::vector<std::string_view> items;
  for (const detail::FormatRow& row : kFormats)
    items.push_back(row.content);
  return join(items, ", ", " and ");
}

}  // namespace

std::span<const FormatInfo> formats() noexcept {
  return kInfos;
}

std::string_view format_name(FileFormat format) noexcept {
  const auto i = static_cast<std::size_t>(format);
  return i < std::size(kFormats) ? kFormats[i].info.name : "?";
}

std::optional<FileFormat> format_from_name(std::string_view name) noexcept {
  for (const detail::FormatRow& row : kFormats) {
    if (row.info.name == name) return row.info.id;
  }
  return std::nullopt;
}

std::optional<FileFormat> format_from_extension(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  for (const detail::FormatRow& row : kFormats) {
    for (std::string_view e : row.info.extensions) {
      if (e == ext) return row.info.id;
    }
  }
  return std::nullopt;
}

namespace detail {

FileFormat Probe::zip_kind() const {
  if (!zip_kind_) zip_kind_ = classify_zip(path_);
  return *zip_kind_;
}

std::span<const FormatRow> format_rows() noexcept {
  return kFormats;
}

const FormatRow& format_row(FileFormat format) {
  const auto i = static_cast<std::size_t>(format);
  WICK_CHECK(i < std::size(kFormats), ArgumentError, "no file format numbered ", i);
  return kFormats[i];
}

std::optional<FileFormat> sniff_format(const std::filesystem::path& path) {
  return sniff_format(File(path), path);
}

std::optional<FileFormat> sniff_format(const File& file, const std::filesystem::path& path) {
  std::string head(static_cast<std::size_t>(std::min<uint64_t>(file.size(), 16)), '\0');
  file.read_at(head.data(), head.size(), 0, "file header");
  return sniff_head(head, path);
}

std::optional<FileFormat> sniff_head(std::string_view head, const std::filesystem::path& path) {
  const Probe probe(head, path);
  std::optional<FileFormat> guess;
  for (const FormatRow& row : kFormats) {
    const Match m = row.sniff(probe);
    if (m == Match::kSure) return row.info.id;
    if (m == Match::kGuess && !guess) guess = row.info.id;
  }
  return guess;
}

Value load_foreign(const std::filesystem::path& path, FileFormat format, bool mmap) {
  return format_row(format).load(path, nullptr, mmap);
}

}  // namespace detail

std::optional<FileFormat> recognise_format(const std::filesystem::path& path) {
  return detail::sniff_format(path);
}

FileFormat detect_format(const std::filesystem::path& path) {
  if (const auto f = detail::sniff_format(path)) return *f;
  std::string head;
  {
    const detail::File file(path);
    head.resize(static_cast<std::size_t>(std::min<uint64_t>(file.size(), 8)));
    file.read_at(head.data(), head.size(), 0, "file header");
  }
  throw FormatError(
      wick::detail::cat("detect_format: ", path, ": unrecognised content (first bytes: ",
                        head.empty() ? std::string("none, the file is empty") : hex_bytes(head),
                        "); wick reads ", contents(), " files"));
}

void save_as(const Value& value, const std::filesystem::path& path, FileFormat format,
             const SaveOptions& options) {
  const std::string op = "save_as(" + std::string(format_name(format)) + ")";
  detail::format_row(format).save(value, path, options, op);
}

void verify_archive(const std::filesystem::path& path) {
  const FileFormat format = detect_format(path);
  if (format == FileFormat::PyTorch || format == FileFormat::Npz) {
    detail::ZipReader(path, "verify_archive").verify_every_member();
  }
}

void convert(const std::filesystem::path& in, const std::filesystem::path& out,
             std::optional<FileFormat> format, const SaveOptions& options) {
  if (!format) format = format_from_extension(out);
  WICK_CHECK(format.has_value(), ArgumentError, "convert: cannot tell the output format from ", out,
             "; name one of ", names_and_extensions());
  const FileFormat from = detect_format(in);
  // File metadata is carried over where both formats have room for it (wick, safetensors).
  Dict metadata;
  Value value = detail::format_row(from).load(in, &metadata, false);
  SaveOptions o = options;
  o.metadata = std::move(metadata);
  for (const auto& [key, v] : options.metadata)
    o.metadata.insert_or_assign(key, v);
  save_as(value, out, *format, o);
}

}  // namespace wick::io
