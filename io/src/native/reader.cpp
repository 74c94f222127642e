#include "wick/io/native/reader.h"

#include <algorithm>
#include <cstring>

#include "common/file.h"
#include "native/format.h"
#include "native/parse.h"
#include "wick/core/error.h"

namespace wick::io {

using namespace detail;

namespace {
constexpr std::size_t kReadChunk = std::size_t{256} << 10;
constexpr uint64_t kMinFileSize = kFileHeaderSize + kIndexHeaderSize + kTrailerSize;

// FORMAT.md "What a refusal reports", 6: every random-access refusal names its structure.
[[noreturn]] void fail(const std::string& file, uint64_t offset, const std::string& structure,
                       const std::string& msg) {
  throw FormatError(ErrorInfo{.subject = "wick file",
                              .file = file,
                              .offset = offset,
                              .structure = structure,
                              .detail = msg});
}
}  // namespace

class Reader::Impl {
 public:
  Impl(const std::filesystem::path& path, LoadOptions options)
      : file_(path), options_(std::move(options)) {
    try {
      open();
    } catch (const FormatError& e) {
      rethrow_naming_file(e, file_.name());
    }
    if (options_.mmap) mapping_ = std::make_shared<const Mapping>(file_);
  }

  // FORMAT.md "How readers use this", random access: the header and the trailer, the index
  // record the trailer points at, and then that the records the index lists tile the file.
  void open() {
    const uint64_t size = file_.size();
    if (size < kMinFileSize) refuse_short_file(size);
    std::array<std::byte, kFileHeaderSize> header{};
    file_.read_at(header.data(), header.size(), 0, "file header");
    const FileHeader fh = decode_file_header(header);
    try {
      open_from_the_end(size, fh);
    } catch (const FormatError& e) {
      rethrow_with_version(e, fh.version());
    }
  }

  // FORMAT.md "How readers use this", random access: trailer, index, records tiling the file.
  void open_from_the_end(uint64_t size, const FileHeader& fh) {
    const Trailer t = read_trailer(size, fh);
    index_ = std::make_shared<const Index>(read_index(size, t, fh.version()));
    check_records_tile(t.index_offset);
    info_.major = fh.major;
    info_.minor = fh.minor;
    info_.producer = fh.producer;
    info_.file_size = size;
    info_.tensor_count = index_->tensors.size();
    info_.view_count = index_->views.size();
    for (const TensorEntry& e : index_->tensors)
      info_.payload_bytes += e.payload_size;
  }

  // A file too short for a header, an index record header and a trailer: "not a wick file"
  // when the magic is wrong, "truncated" when it is right.
  [[noreturn]] void refuse_short_file(uint64_t size) const {
    const std::string& name = file_.name();
    std::array<std::byte, kMagic.size()> magic{};
    file_.read_at(magic.data(), static_cast<std::size_t>(std::min<uint64_t>(size, magic.size())),
                  file_header::kMagic.offset, "file header");
    if (size < magic.size() || std::memcmp(magic.data(), kMagic.data(), kMagic.size()) != 0) {
      fail(name, 0, "file header",
           wick::detail::cat("not a wick file (", size, " bytes, bad magic)"));
    }
    fail(name, size, "trailer",
         wick::detail::cat("truncated: ", size, " bytes is less than the minimum ", kMinFileSize));
  }

  // FORMAT.md "Trailer (64 bytes)": the file's last bytes; it must agree with the header and
  // the file's size, and point at an index record inside the file.
  Trailer read_trailer(uint64_t size, const FileHeader& fh) const {
    const std::string& name = file_.name();
    const uint64_t trailer_at = size - kTrailerSize;
    std::array<std::byte, kTrailerSize> tb{};
    file_.read_at(tb.data(), tb.size(), trailer_at, "trailer");
    const Trailer t = decode_trailer(tb, trailer_at);
    if (t.major != fh.major || t.minor != fh.minor) {
      fail(name, trailer_at, "trailer",
           wick::detail::cat("the trailer says version ", t.major, ".", t.minor,
                             " but the header says ", fh.major, ".", fh.minor));
    }
    if (t.file_size != size) {
      fail(name, trailer_at, "trailer",
           wick::detail::cat("the trailer says the file is ", t.file_size, " bytes but it is ",
                             size, " (truncated or appended to)"));
    }
    if (t.index_offset % kAlign != 0 || t.index_offset < kFileHeaderSize ||
        t.index_offset > trailer_at - kIndexHeaderSize) {
      fail(name, trailer_at, "trailer",
           wick::detail::cat("index offset ", t.index_offset, " is outside the file"));
    }
    return t;
  }

  // FORMAT.md "Kind 2: index": the record the trailer points at, whose payload (and padding)
  // ends exactly where the trailer starts.
  Index read_index(uint64_t size, const Trailer& t, Version v) const {
    namespace f = index_header;
    const std::string& name = file_.name();
    std::array<std::byte, kIndexHeaderSize> ih{};
    file_.read_at(ih.data(), ih.size(), t.index_offset, "index record header");
    check_header_checksum(ih, t.index_offset, "index record header");
    const RecordPrefix p = decode_prefix(ih, t.index_offset);
    const auto stored = load_field<uint64_t, f::kPayloadChecksum>(ih);
    if (p.kind != kKindIndex || p.header_size != kIndexHeaderSize || p.flags != 0 ||
        stored != t.index_checksum) {
      fail(name, t.index_offset, "index record header",
           "the trailer does not point at an index record");
    }
    check_zero(std::span<const std::byte>(ih).subspan(f::kReserved.offset, f::kReserved.size),
               t.index_offset + f::kReserved.offset, "index record reserved bytes");
    const uint64_t payload_at = t.index_offset + kIndexHeaderSize;
    const uint64_t payload_end = size - kTrailerSize;
    if (p.payload_size > payload_end - payload_at ||
        payload_at + p.payload_size + pad64(p.payload_size) != payload_end) {
      fail(name, t.index_offset + record::kPayloadSize.offset, "index record header",
           wick::detail::cat("index payload of ", p.payload_size,
                             " bytes does not end where the trailer starts"));
    }
    std::vector<std::byte> payload(static_cast<std::size_t>(p.payload_size));
    file_.read_at(payload.data(), payload.size(), payload_at, "index");
    const uint64_t actual = xxh3(payload.data(), payload.size());
    if (actual != stored) {
      throw FormatError(ErrorInfo{.subject = "wick file",
                                  .file = name,
                                  .offset = payload_at,
                                  .structure = "index",
                                  .expected = std::to_string(stored),
                                  .found = std::to_string(actual),
                                  .detail = wick::detail::cat("index checksum mismatch: stored ",
                                                              stored, ", computed ", actual)});
    }
    return decode_index(std::move(payload), payload_at, v);
  }

  const FileInfo& info() const noexcept { return info_; }
  const Dict& metadata() const noexcept { return index_->metadata; }

  std::vector<EntryInfo> entries() const {
    const std::shared_ptr<const PathTable>& table = paths();
    // Reserved at its size: growing by doubling would hold two copies at once (FORMAT.md
    // "Bounds" counts one EntryInfo, with its sizes and strides, per reference).
    std::vector<EntryInfo> out;
    out.reserve(static_cast<std::size_t>(
        std::count_if(index_->tree.begin(), index_->tree.end(),
                      [](const FlatNode& n) { return is_tensor_tag(n.tag); })));
    for (uint32_t node = 0; node < index_->tree.size(); ++node) {
      const FlatNode& n = index_->tree[node];
      if (!is_tensor_tag(n.tag)) continue;
      const TensorEntry& e = index_->tensors[index_->record_of(n)];
      EntryInfo info{TreePath(table, node), index_->record_of(n), e.dtype,    e.shape,
                     e.payload_size,        e.record_offset,      e.checksum, std::nullopt};
      if (n.tag == Tag::View) {
        const ViewEntry& v = index_->views[n.n];
        info.shape = v.shape;
        info.nbytes = static_cast<uint64_t>(shape_numel(v.shape)) * dtype_size(e.dtype);
        info.view = EntryInfo::View{n.n, v.offset, v.strides};
      }
      out.push_back(std::move(info));
    }
    return out;
  }

  Tensor tensor(std::string_view path) {
    const PathTable& table = *paths();
    if (path.empty() || path.front() == '/') {
      const uint32_t node = table.find(path);
      if (node != PathTable::kNone && is_tensor_tag(index_->tree[node].tag)) {
        return load_node(index_->tree[node]);
      }
      not_found(path);
    }
    // The dotted spelling PyTorch users know ("hidden.weight"), when only one tensor has it.
    const std::vector<uint32_t> found = table.find_dotted(path);
    if (found.size() == 1) return load_node(index_->tree[found[0]]);
    if (found.empty()) not_found(path);
    throw ArgumentError(wick::detail::cat(
        "Reader::tensor: '", path, "' names ", found.size(), " tensors in ", file_.name(), " (",
        table.path(found[0]), ", ", table.path(found[1]), "); name one by its JSON pointer"));
  }

  Tensor tensor_by_id(uint32_t id) {
    WICK_CHECK(id < index_->tensors.size(), ArgumentError, "Reader::tensor_by_id: tensor ", id,
               " of ", file_.name(), ", which has ", index_->tensors.size(), " tensors");
    return load_tensor(id, options_.verify);
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
    tensors.reserve(index_->tensors.size());
    for (uint32_t id = 0; id < index_->tensors.size(); ++id)
      tensors.push_back(load_tensor(id, false));
    return build_value(*index_, tensors);
  }

  void verify() {
    FileSource src(file_);
    parse_stream(src, ParseOptions{true, false, options_.progress, file_.name()});
  }

 private:
  const std::shared_ptr<const PathTable>& paths() const {
    if (!paths_) paths_ = build_path_table(index_);
    return paths_;
  }

  // "'/model/w'": the first path of tensor `id`, for error messages. The first reference of
  // every tensor is found once, so naming every tensor of a corrupt file stays linear.
  std::string name_of(uint32_t id) const {
    if (first_ref_.empty()) {
      first_ref_.assign(index_->tensors.size(), PathTable::kNone);
      for (uint32_t node = static_cast<uint32_t>(index_->tree.size()); node-- > 0;) {
        const FlatNode& n = index_->tree[node];
        if (is_tensor_tag(n.tag) && index_->record_of(n) < first_ref_.size())
          first_ref_[index_->record_of(n)] = node;
      }
    }
    if (id >= first_ref_.size() || first_ref_[id] == PathTable::kNone) {
      return wick::detail::cat("#", id);
    }
    return wick::detail::cat("'", paths()->path(first_ref_[id]), "'");
  }

  // Names up to five tensors: first those whose path is a few edits from `path`
  // (PathTable::close_tensors), then those below a key that contains the last step asked for
  // (or whose own key is part of it). Each is one pass over the tree; paths are spelled out only
  // for the five named.
  [[noreturn]] void not_found(std::string_view path) const {
    constexpr std::size_t kShown = 5;
    const PathTable& table = *paths();
    std::vector<uint32_t> names = table.close_tensors(path, kShown);
    const std::size_t cut = path.find_last_of("/.");
    const std::string_view want = cut == std::string_view::npos ? path : path.substr(cut + 1);
    std::vector<bool> below(want.empty() ? 0 : index_->tree.size(), false);
    for (uint32_t node = 1; node < below.size() && names.size() < kShown; ++node) {
      const FlatNode& n = index_->tree[node];
      const uint32_t parent = table.parent[node];
      Index::KeyDigits digits;
      const std::string_view key = index_->key(n, digits);
      const bool keyed = is_dict_tag(index_->tree[parent].tag);
      below[node] = below[parent] || (keyed && key.find(want) != std::string_view::npos);
      if (is_tensor_tag(n.tag) &&
          (below[node] || (keyed && want.find(key) != std::string_view::npos)) &&
          std::find(names.begin(), names.end(), node) == names.end())
        names.push_back(node);
    }
    std::string hint;
    for (const uint32_t node : names)
      hint += (hint.empty() ? "; did you mean '" : ", '") + table.path(node) + "'";
    throw ArgumentError(wick::detail::cat("Reader::tensor: no tensor at '", path, "' in ",
                                          file_.name(), " (", index_->tensors.size(), " tensors",
                                          hint, hint.empty() ? ")" : "?)"));
  }

  // FORMAT.md "How readers use this": the records a random-access reader uses must tile the
  // file from the header to the index, so that no bytes between them can hold another file's
  // records (a complete file followed by a second one would otherwise read as the second).
  // Gaps between tensor records may hold only optional records, whose headers are checked here.
  void check_records_tile(uint64_t index_offset) {
    uint64_t at = kFileHeaderSize;
    try {
      for (uint32_t i = 0; i < index_->tensors.size(); ++i) {
        const TensorEntry& e = index_->tensors[i];
        const uint64_t h = tensor_header_size(e.shape.size());
        if (e.record_offset < at || e.record_offset > index_offset ||
            e.payload_size > index_offset - e.record_offset ||
            h > index_offset - e.record_offset - e.payload_size ||
            pad64(e.payload_size) > index_offset - e.record_offset - e.payload_size - h) {
          fail(file_.name(), e.record_offset, "tensor " + name_of(i),
               wick::detail::cat("tensor ", name_of(i), ": record (", e.payload_size,
                                 " payload bytes) overlaps another record or lies outside the "
                                 "data"));
        }
        skip_optional_records(at, e.record_offset, i);
        at = e.record_offset + h + e.payload_size + pad64(e.payload_size);
      }
      skip_optional_records(at, index_offset, static_cast<uint32_t>(index_->tensors.size()));
    } catch (const FormatError& e) {
      rethrow_naming_file(e, file_.name());
    }
  }

  // FORMAT.md "Records": steps over the optional records from `at` to `until`, where tensor
  // record `next` starts, checking each header (kind, flags, size, checksum).
  void skip_optional_records(uint64_t at, uint64_t until, uint32_t next) const {
    while (at < until) {
      std::array<std::byte, kMaxRecordHeader> hb{};
      file_.read_at(hb.data(), kPrefixSize, at, "record header");
      RecordPrefix p;
      try {
        p = decode_prefix(hb, at);
      } catch (const FormatError&) {
        // Not a record at all: most likely the record before it is not the size the index says.
        if (next > 0) check_record_header(next - 1);
        throw;
      }
      if (p.kind == kKindTensor || p.kind == kKindIndex) {
        format_error(at, record_header_name(p.kind),
                     wick::detail::cat("a ", p.kind == kKindTensor ? "tensor" : "second index",
                                       " record that the index does not list (only optional "
                                       "records may lie between the records it lists)"));
      }
      if ((p.flags & kFlagOptional) == 0) {
        format_error(at, "record header",
                     wick::detail::cat("unknown required record kind ", p.kind,
                                       " (written by a newer wick?)"));
      }
      const uint64_t room = until - at;
      if (p.header_size > room || p.payload_size > room - p.header_size ||
          pad64(p.payload_size) > room - p.header_size - p.payload_size) {
        format_error(at, record_header_name(p.kind),
                     wick::detail::cat("optional record of ", p.payload_size,
                                       " payload bytes runs past the next record, at ", until));
      }
      file_.read_at(hb.data() + kPrefixSize, p.header_size - kPrefixSize, at + kPrefixSize,
                    "record header");
      check_header_checksum(std::span<const std::byte>(hb.data(), p.header_size), at,
                            record_header_name(p.kind));
      at += p.header_size + p.payload_size + pad64(p.payload_size);
    }
  }

  Tensor load_tensor(uint32_t id, bool verify) {
    try {
      return read_tensor(id, verify);
    } catch (const FormatError& e) {
      rethrow_from_file(e);
    }
  }

  // A decoder's error as the user sees it: naming the file, and both versions when the file's
  // is a newer minor.
  [[noreturn]] void rethrow_from_file(const FormatError& e) const {
    try {
      rethrow_with_version(e, Version{info_.major, info_.minor});
    } catch (const FormatError& versioned) {
      rethrow_naming_file(versioned, file_.name());
    }
  }

  // FORMAT.md "Kind 1: tensor" against "Kind 2: index", part 3: the record's own header must say
  // what the index row says.
  void check_record_header(uint32_t id) const {
    const TensorEntry& e = index_->tensors[id];
    std::vector<std::byte> header(tensor_header_size(e.shape.size()));
    file_.read_at(header.data(), header.size(), e.record_offset, "tensor record header");
    // A record whose header is not as long as the index row's rank says: read all of it, so
    // the error names what is wrong with the record rather than a checksum in the wrong place.
    const RecordPrefix p = decode_prefix(header, e.record_offset);
    if (p.header_size != header.size()) {
      header.resize(p.header_size);
      file_.read_at(header.data(), header.size(), e.record_offset, "tensor record header");
    }
    TensorEntry rec;
    const uint32_t rec_id = decode_tensor_header(header, e.record_offset, rec);
    if (rec_id != id || rec.dtype != e.dtype || rec.shape != e.shape) {
      fail(file_.name(), e.record_offset, "tensor " + name_of(id),
           wick::detail::cat("tensor ", name_of(id), ": the record (id ", rec_id, ", ",
                             dtype_name(rec.dtype), " ", shape_str(rec.shape),
                             ") disagrees with the index"));
    }
  }

  // FORMAT.md "Kind 1: tensor": the payload right after the record header, hashed against the
  // index row's checksum when verifying.
  Tensor read_tensor(uint32_t id, bool verify) {
    const TensorEntry& e = index_->tensors[id];
    return Tensor(read_payload(id, 0, e.payload_size, verify), e.shape, contiguous_strides(e.shape),
                  0, e.dtype);
  }

  // FORMAT.md "Kind 2: index", part 4: a tensor node, a view read as the elements it reaches
  // of its record.
  Tensor load_node(const FlatNode& n) {
    if (n.tag != Tag::View) return load_tensor(n.n, options_.verify);
    const ViewEntry& v = index_->views[n.n];
    const TensorEntry& e = index_->tensors[v.record];
    const ElementSpan span = *element_span(v.offset, v.shape, v.strides);  // checked by decode
    const uint64_t es = dtype_size(e.dtype);
    try {
      return Tensor(
          read_payload(v.record, span.first * es, (span.end - span.first) * es, options_.verify),
          v.shape, v.strides, 0, e.dtype);
    } catch (const FormatError& err) {
      rethrow_from_file(err);
    }
  }

  // FORMAT.md "Kind 1: tensor": bytes [from, from + n) of record `id`'s payload. Verifying
  // checks the record's header and all of its payload, hash and bool bytes (read through a
  // bounded buffer where it is not kept), so a record refused whole is refused in part too.
  std::shared_ptr<Storage> read_payload(uint32_t id, uint64_t from, uint64_t n, bool verify) {
    const TensorEntry& e = index_->tensors[id];
    const uint64_t payload_at = e.record_offset + tensor_header_size(e.shape.size());
    if (verify) check_record_header(id);
    std::shared_ptr<Storage> storage;
    Hasher hasher;
    if (mapping_) {
      storage = Storage::borrow(mapping_->data() + payload_at + from, static_cast<std::size_t>(n),
                                mapping_);
      if (verify)
        check_chunk(id, payload_at, 0, mapping_->data() + payload_at,
                    static_cast<std::size_t>(e.payload_size), hasher);
    } else {
      storage = Storage::allocate(static_cast<std::size_t>(n));
      read_range(id, payload_at, from, *storage, verify ? &hasher : nullptr);
    }
    if (verify && hasher.digest() != e.checksum) {
      payload_checksum_error(name_of(id), e.record_offset, e.checksum, hasher.digest());
    }
    if (!verify) check_bools(id, payload_at + from, from, storage->data(), storage->nbytes());
    return storage;
  }

  // Hashes bytes [at, at + n) of record `id`'s payload and checks them as bools if it is one.
  void check_chunk(uint32_t id, uint64_t payload_at, uint64_t at, const std::byte* p, std::size_t n,
                   Hasher& hasher) const {
    hasher.update(p, n);
    check_bools(id, payload_at + at, at, p, n);
  }

  // FORMAT.md "Dtypes": every byte of a bool payload is 0 or 1.
  void check_bools(uint32_t id, uint64_t file_offset, uint64_t first_element, const std::byte* p,
                   std::size_t n) const {
    if (index_->tensors[id].dtype != kBool) return;
    if (std::any_of(p, p + n, [](std::byte b) { return static_cast<uint8_t>(b) > 1; })) {
      check_bool_payload(p, n, file_offset, name_of(id), first_element);
    }
  }

  // Reads payload bytes [from, from + out.nbytes()) of record `id` into `out` in kReadChunk
  // pieces; with a hasher, reads and checks the whole payload, keeping only those bytes.
  void read_range(uint32_t id, uint64_t payload_at, uint64_t from, Storage& out,
                  Hasher* hasher) const {
    const uint64_t to = from + out.nbytes();
    const uint64_t lo = hasher ? 0 : from;
    const uint64_t hi = hasher ? index_->tensors[id].payload_size : to;
    std::vector<std::byte> bounce;  // for pieces not wholly kept
    for (uint64_t at = lo; at < hi; at += kReadChunk) {
      const auto c = static_cast<std::size_t>(std::min<uint64_t>(kReadChunk, hi - at));
      const bool kept = at >= from && at + c <= to;
      if (!kept) bounce.resize(kReadChunk);
      std::byte* dst = kept ? out.data() + (at - from) : bounce.data();
      file_.read_at(dst, c, payload_at + at, "tensor payload");
      if (hasher) check_chunk(id, payload_at, at, dst, c, *hasher);
      if (kept) continue;
      const uint64_t a = std::max(at, from), b = std::min(at + c, to);
      if (a < b) std::memcpy(out.data() + (a - from), dst + (a - at), b - a);
    }
  }

  File file_;
  LoadOptions options_;
  std::shared_ptr<const Index> index_;
  mutable std::shared_ptr<const PathTable> paths_;  // built by the first entries() or tensor()
  mutable std::vector<uint32_t> first_ref_;         // built by the first name_of()
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
Tensor Reader::tensor_by_id(uint32_t id) {
  return impl_->tensor_by_id(id);
}
Value Reader::value() {
  return impl_->value();
}
void Reader::verify() {
  impl_->verify();
}

}  // namespace wick::io
