#include "wick/io/reader.h"

#include <algorithm>

#include "file.h"
#include "format.h"
#include "parse.h"
#include "wick/core/error.h"

namespace wick::io {

using namespace detail;

namespace {
constexpr std::size_t kReadChunk = std::size_t{256} << 10;
constexpr uint64_t kMinFileSize = kFileHeaderSize + 64 + kTrailerSize;

[[noreturn]] void fail(const std::string& file, uint64_t offset, const std::string& msg) {
  throw FormatError(wick::detail::cat("wick file ", file, " at offset ", offset, ": ", msg));
}
}  // namespace

class Reader::Impl {
 public:
  Impl(const std::filesystem::path& path, LoadOptions options)
      : file_(path), options_(std::move(options)) {
    const uint64_t size = file_.size();
    const std::string& name = file_.name();
    std::array<std::byte, kFileHeaderSize> header{};
    if (size < kMinFileSize) {
      // Say "not a wick file" when the magic is wrong, "truncated" when it is right.
      file_.read_at(header.data(), static_cast<std::size_t>(std::min<uint64_t>(size, 8)), 0,
                    "file header");
      if (size < 8 || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) {
        fail(name, 0, wick::detail::cat("not a wick file (", size, " bytes, bad magic)"));
      }
      fail(
          name, size,
          wick::detail::cat("truncated: ", size, " bytes is less than the minimum ", kMinFileSize));
    }
    file_.read_at(header.data(), header.size(), 0, "file header");
    const FileHeader fh = decode_file_header(header);
    std::array<std::byte, kTrailerSize> tb{};
    file_.read_at(tb.data(), tb.size(), size - kTrailerSize, "trailer");
    const Trailer t = decode_trailer(tb, size - kTrailerSize);
    if (t.major != fh.major || t.minor != fh.minor) {
      fail(name, size - kTrailerSize,
           wick::detail::cat("the trailer says version ", t.major, ".", t.minor,
                             " but the header says ", fh.major, ".", fh.minor));
    }
    if (t.file_size != size) {
      fail(name, size - kTrailerSize,
           wick::detail::cat("the trailer says the file is ", t.file_size, " bytes but it is ",
                             size, " (truncated or appended to)"));
    }
    if (t.index_offset % kAlign != 0 || t.index_offset < kFileHeaderSize ||
        t.index_offset > size - kTrailerSize - 64) {
      fail(name, size - kTrailerSize,
           wick::detail::cat("index offset ", t.index_offset, " is outside the file"));
    }
    std::array<std::byte, 64> ih{};
    file_.read_at(ih.data(), ih.size(), t.index_offset, "index record header");
    check_header_checksum(ih, t.index_offset, "index record header");
    const RecordPrefix p = decode_prefix(ih, t.index_offset);
    const uint64_t stored = load_le<uint64_t>(ih.data() + 16);
    if (p.kind != kKindIndex || p.header_size != 64 || p.flags != 0 || stored != t.index_checksum) {
      fail(name, t.index_offset, "the trailer does not point at an index record");
    }
    check_zero(std::span<const std::byte>(ih).subspan(24, 32), t.index_offset + 24,
               "index record reserved bytes");
    const uint64_t payload_end = size - kTrailerSize;
    if (p.payload_size > payload_end - t.index_offset - 64 ||
        t.index_offset + 64 + p.payload_size + pad64(p.payload_size) != payload_end) {
      fail(name, t.index_offset + 8,
           wick::detail::cat("index payload of ", p.payload_size,
                             " bytes does not end where the trailer starts"));
    }
    std::vector<std::byte> payload(static_cast<std::size_t>(p.payload_size));
    file_.read_at(payload.data(), payload.size(), t.index_offset + 64, "index");
    const uint64_t actual = xxh3(payload.data(), payload.size());
    if (actual != stored) {
      fail(name, t.index_offset + 64,
           wick::detail::cat("index checksum mismatch: stored ", stored, ", computed ", actual));
    }
    index_ = decode_index(std::move(payload), t.index_offset + 64);
    names_ = tensor_names(index_);
    // Every record and its payload must lie between the header and the index, in order.
    uint64_t prev_end = kFileHeaderSize;
    for (std::size_t i = 0; i < index_.tensors.size(); ++i) {
      const TensorEntry& e = index_.tensors[i];
      const uint64_t h = tensor_header_size(e.shape.size());
      if (e.record_offset < prev_end || e.record_offset > t.index_offset ||
          e.payload_size > t.index_offset - e.record_offset ||
          h > t.index_offset - e.record_offset - e.payload_size) {
        fail(name, e.record_offset,
             wick::detail::cat("tensor ", names_[i], ": record (", e.payload_size,
                               " payload bytes) overlaps another record or lies outside the data"));
      }
      prev_end = e.record_offset + h + e.payload_size;
    }
    info_.major = fh.major;
    info_.minor = fh.minor;
    info_.producer = fh.producer;
    info_.file_size = size;
    info_.tensor_count = index_.tensors.size();
    for (const TensorEntry& e : index_.tensors)
      info_.payload_bytes += e.payload_size;
    if (options_.mmap) mapping_ = std::make_shared<const Mapping>(file_);
  }

  const FileInfo& info() const noexcept { return info_; }
  const Dict& metadata() const noexcept { return index_.metadata; }

  std::vector<EntryInfo> entries() const {
    std::vector<EntryInfo> out;
    for (const auto& [path, id] : tensor_paths(index_)) {
      const TensorEntry& e = index_.tensors[id];
      out.push_back(
          EntryInfo{path, id, e.dtype, e.shape, e.payload_size, e.record_offset, e.checksum});
    }
    return out;
  }

  Tensor tensor(std::string_view path) {
    std::vector<std::string> similar;
    for (const auto& [p, id] : tensor_paths(index_)) {
      if (p == path) return load_tensor(id, options_.verify);
      if (similar.size() < 5 &&
          (p.find(path) != std::string::npos || path.find(p) != std::string::npos)) {
        similar.push_back("'" + p + "'");
      }
    }
    std::string hint;
    for (const auto& s : similar)
      hint += (hint.empty() ? "; similar: " : ", ") + s;
    throw ArgumentError(wick::detail::cat("Reader::tensor: no tensor at '", path, "' in ",
                                          file_.name(), " (", index_.tensors.size(), " tensors",
                                          hint, ")"));
  }

  Value value() {
    if (options_.verify || !mapping_) {
      // One sequential pass checks every byte and is the fastest way to read a whole file.
      ParseOptions po{options_.verify, true, options_.progress, file_.name()};
      if (mapping_) {
        MappedSource src(mapping_);
        return parse_stream(src, po).value;
      }
      FileSource src(file_);
      return parse_stream(src, po).value;
    }
    // Unverified mmap: trust the (checksummed) index and touch no payload page.
    std::vector<Tensor> tensors;
    tensors.reserve(index_.tensors.size());
    for (uint32_t id = 0; id < index_.tensors.size(); ++id)
      tensors.push_back(load_tensor(id, false));
    return build_value(index_, tensors);
  }

  void verify() {
    FileSource src(file_);
    parse_stream(src, ParseOptions{true, false, options_.progress, file_.name()});
  }

 private:
  Tensor load_tensor(uint32_t id, bool verify) {
    try {
      return read_tensor(id, verify);
    } catch (const FormatError& e) {
      rethrow_naming_file(e, file_.name());
    }
  }

  Tensor read_tensor(uint32_t id, bool verify) {
    const TensorEntry& e = index_.tensors[id];
    const uint64_t h = tensor_header_size(e.shape.size());
    const uint64_t payload_at = e.record_offset + h;
    if (verify) {
      std::vector<std::byte> header(static_cast<std::size_t>(h));
      file_.read_at(header.data(), header.size(), e.record_offset, "tensor record header");
      TensorEntry rec;
      const uint32_t rec_id = decode_tensor_header(header, e.record_offset, rec);
      if (rec_id != id || rec.dtype != e.dtype || rec.shape != e.shape) {
        fail(file_.name(), e.record_offset,
             wick::detail::cat("tensor ", names_[id], ": the record (id ", rec_id, ", ",
                               dtype_name(rec.dtype), " ", shape_str(rec.shape),
                               ") disagrees with the index"));
      }
    }
    std::shared_ptr<Storage> storage;
    Hasher hasher;
    if (mapping_) {
      storage = Storage::borrow(mapping_->data() + payload_at,
                                static_cast<std::size_t>(e.payload_size), mapping_);
      if (verify) hasher.update(storage->data(), storage->nbytes());
    } else {
      storage = Storage::allocate(static_cast<std::size_t>(e.payload_size));
      for (uint64_t done = 0; done < e.payload_size; done += kReadChunk) {
        const auto c =
            static_cast<std::size_t>(std::min<uint64_t>(kReadChunk, e.payload_size - done));
        file_.read_at(storage->data() + done, c, payload_at + done, "tensor payload");
        if (verify) hasher.update(storage->data() + done, c);
      }
    }
    if (verify && hasher.digest() != e.checksum) {
      payload_checksum_error(names_[id], e.record_offset, e.checksum, hasher.digest());
    }
    if (e.dtype == kBool)
      check_bool_payload(storage->data(), storage->nbytes(), payload_at, names_[id]);
    return Tensor(std::move(storage), e.shape, contiguous_strides(e.shape), 0, e.dtype);
  }

  File file_;
  LoadOptions options_;
  Index index_;
  std::vector<std::string> names_;
  FileInfo info_;
  std::shared_ptr<const Mapping> mapping_;
};

Reader::Reader(const std::filesystem::path& path, LoadOptions options)
    : impl_(std::make_unique<Impl>(path, std::move(options))) {}
Reader::~Reader() = default;
const FileInfo& Reader::info() const noexcept {
  return impl_->info();
}
const Dict& Reader::metadata() const noexcept {
  return impl_->metadata();
}
std::vector<EntryInfo> Reader::entries() const {
  return impl_->entries();
}
Tensor Reader::tensor(std::string_view path) {
  return impl_->tensor(path);
}
Value Reader::value() {
  return impl_->value();
}
void Reader::verify() {
  impl_->verify();
}

}  // namespace wick::io
