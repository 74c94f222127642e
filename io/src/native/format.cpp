#include "native/format.h"

#include <xxh_x86dispatch.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cinttypes>
#include <compare>
#include <cstdio>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "common/tensor_bytes.h"
#include "native/views.h"
#include "wick/core/error.h"
#include "wick/core/version.h"
#include "wick/io/native/checksum.h"
#include "wick/io/native/tree_path.h"

namespace wick::io::detail {

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

void format_error(uint64_t offset, const std::string& what, const std::string& msg,
                  std::string expected, std::string found) {
  throw FormatError(ErrorInfo{.subject = "wick file",
                              .offset = offset,
                              .structure = what,
                              .expected = std::move(expected),
                              .found = std::move(found),
                              .detail = msg});
}

void rethrow_with_version(const FormatError& e, Version v) {
  const Version reader{kMajor, kMinor};
  if (e.info().subject != "wick file" || v.major != reader.major || v <= reader) throw e;
  ErrorInfo newer = e.info();
  newer.detail += wick::detail::cat("; the file is format ", v.major, ".", v.minor,
                                    ", newer than this reader's ", reader.major, ".", reader.minor,
                                    ": unless it is damaged, upgrade wick to read it");
  throw FormatError(std::move(newer));
}

void rethrow_naming_file(const FormatError& e, const std::string& file) {
  if (e.info().subject != "wick file" || !e.info().file.empty()) throw e;
  ErrorInfo named = e.info();
  named.file = file;
  throw FormatError(std::move(named));
}

uint64_t xxh3(const void* data, std::size_t n) noexcept {
  return XXH3_64bits_dispatch(data, n);
}

Hasher::Hasher() : state_(XXH3_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  reset();
}
Hasher::~Hasher() {
  XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}
void Hasher::reset() noexcept {
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
void Hasher::update(const void* data, std::size_t n) noexcept {
  if (n > 0) XXH3_64bits_update_dispatch(static_cast<XXH3_state_t*>(state_), data, n);
}
uint64_t Hasher::digest() const noexcept {
  return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_));
}

std::size_t utf8_error(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The sequence length and the range of its second byte (RFC 3629, table 3-7 of Unicode):
    // the narrowed ranges are what refuses overlong forms, surrogates and > U+10FFFF.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string_view::npos;
}

void ByteWriter::string(std::string_view s) {
  WICK_CHECK(s.size() <= UINT32_MAX, ArgumentError, "save: string of ", s.size(),
             " bytes is longer than the format's 4 GiB limit");
  // Writers never write what readers refuse; callers check earlier where they can, so that
  // nothing is written, and this catches every string they did not.
  const std::size_t bad = utf8_error(s);
  WICK_CHECK(bad == std::string_view::npos, ArgumentError, "save: a string of ", s.size(),
             " bytes is not valid UTF-8 (byte ", bad, "); wick files hold UTF-8 strings");
  u32(static_cast<uint32_t>(s.size()));
  bytes(s.data(), s.size());
}

void ByteWriter::bytes(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  buf_.insert(buf_.end(), b, b + n);
}

void ByteReader::need(uint64_t n, const char* field) const {
  if (n > remaining()) {
    format_error(offset(), what_,
                 wick::detail::cat("truncated: ", field, " needs ", n, " bytes, only ", remaining(),
                                   " remain"),
                 wick::detail::cat(n, " bytes"), wick::detail::cat(remaining(), " bytes"));
  }
}

std::string_view ByteReader::view(const char* field) {
  const uint64_t at = offset();
  const uint32_t n = u32();
  need(n, field);
  const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
  pos_ += n;
  // FORMAT.md "Conventions": every string is UTF-8; refused at its length field.
  if (const std::size_t bad = utf8_error(s); bad != std::string_view::npos) {
    format_error(at, what_,
                 wick::detail::cat(field, " is not valid UTF-8 (byte ", bad, " of ", n, " is ",
                                   hex64(static_cast<unsigned char>(s[bad])).substr(16), ")"));
  }
  return s;
}

void check_zero(std::span<const std::byte> bytes, uint64_t file_offset, const char* what) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != std::byte{0}) {
      format_error(file_offset + i, what,
                   wick::detail::cat("padding/reserved byte is ", static_cast<int>(bytes[i]),
                                     ", expected 0 (the file is corrupt)"),
                   "0", std::to_string(static_cast<int>(bytes[i])));
    }
  }
}

std::string producer_string() {
  return wick::detail::cat("wick ", wick::version());
}

// FORMAT.md "File header (64 bytes)".
std::array<std::byte, kFileHeaderSize> encode_file_header(Version v) {
  namespace f = file_header;
  std::array<std::byte, kFileHeaderSize> h{};
  std::memcpy(h.data() + f::kMagic.offset, kMagic.data(), kMagic.size());
  store_field<uint16_t, f::kMajor>(h, v.major);
  store_field<uint16_t, f::kMinor>(h, v.minor);
  store_field<uint32_t, f::kByteOrderMark>(h, kByteOrderMark);
  store_field<uint32_t, f::kHeaderSize>(h, static_cast<uint32_t>(kFileHeaderSize));
  // At most one byte short of the field, so the producer always ends in a NUL.
  const std::string producer = producer_string();
  std::memcpy(h.data() + f::kProducer.offset, producer.data(),
              std::min<std::size_t>(producer.size(), f::kProducer.size - 1));
  store_field<uint64_t, f::kChecksum>(h, xxh3(h.data(), f::kChecksum.offset));
  return h;
}

// FORMAT.md "File header (64 bytes)"; "Version history" says what a reader does with a version.
FileHeader decode_file_header(std::span<const std::byte, kFileHeaderSize> h) {
  namespace f = file_header;
  const std::string what = "file header";
  if (std::memcmp(h.data() + f::kMagic.offset, kMagic.data(), kMagic.size()) != 0) {
    std::string found;
    for (std::size_t i = 0; i < kMagic.size(); ++i) {
      found += wick::detail::cat(i == 0 ? "" : " ",
                                 hex64(static_cast<uint8_t>(h[f::kMagic.offset + i])).substr(16));
    }
    format_error(f::kMagic.offset, what,
                 "not a wick file (bad magic; expected \\x89WICK\\r\\n\\x1a)",
                 "89 57 49 43 4b 0d 0a 1a", found);
  }
  // Before the checksum and version: a big-endian writer would have stored those big-endian
  // too, and the mark is what tells the user why the file cannot be read.
  const auto bom = load_field<uint32_t, f::kByteOrderMark>(h);
  if (bom != kByteOrderMark) {
    format_error(f::kByteOrderMark.offset, what,
                 wick::detail::cat("byte order mark ", hex64(bom), ", expected ",
                                   hex64(kByteOrderMark), " (only little-endian files exist)"),
                 hex64(kByteOrderMark), hex64(bom));
  }
  FileHeader out;
  out.major = load_field<uint16_t, f::kMajor>(h);
  out.minor = load_field<uint16_t, f::kMinor>(h);
  const auto stored = load_field<uint64_t, f::kChecksum>(h);
  const uint64_t actual = xxh3(h.data(), f::kChecksum.offset);
  if (stored != actual) {
    format_error(0, what,
                 wick::detail::cat("checksum mismatch: stored ", hex64(stored), ", computed ",
                                   hex64(actual)),
                 hex64(stored), hex64(actual));
  }
  if (out.major > kMajor) {
    format_error(f::kMajor.offset, what,
                 wick::detail::cat("format version ", out.major, ".", out.minor,
                                   " is newer than this reader's ", kMajor, ".", kMinor,
                                   "; upgrade wick to read it"),
                 wick::detail::cat("major version at most ", kMajor),
                 wick::detail::cat(out.major, ".", out.minor));
  }
  if (out.major < 1)
    format_error(f::kMajor.offset, what,
                 wick::detail::cat("invalid format major version ", out.major));
  // What a newer minor may have changed is refused naming both versions, as later records are.
  try {
    const auto size = load_field<uint32_t, f::kHeaderSize>(h);
    if (size != kFileHeaderSize) {
      format_error(f::kHeaderSize.offset, what,
                   wick::detail::cat("header size ", size, ", expected ", kFileHeaderSize),
                   std::to_string(kFileHeaderSize), std::to_string(size));
    }
    check_zero(h.subspan(f::kFlags.offset, f::kFlags.size), f::kFlags.offset, "file header flags");
    const char* p = reinterpret_cast<const char*>(h.data() + f::kProducer.offset);
    out.producer.assign(p, strnlen(p, f::kProducer.size));
    const std::size_t padding_at = f::kProducer.offset + out.producer.size();
    check_zero(h.subspan(padding_at, f::kProducer.end() - padding_at), padding_at,
               "file header producer padding");
  } catch (const FormatError& e) {
    rethrow_with_version(e, out.version());
  }
  return out;
}

// FORMAT.md "Trailer (64 bytes)".
std::array<std::byte, kTrailerSize> encode_trailer(const Trailer& t) {
  namespace f = trailer;
  std::array<std::byte, kTrailerSize> b{};
  store_field<uint64_t, f::kIndexOffset>(b, t.index_offset);
  store_field<uint64_t, f::kFileSize>(b, t.file_size);
  store_field<uint64_t, f::kIndexChecksum>(b, t.index_checksum);
  store_field<uint16_t, f::kMajor>(b, t.major);
  store_field<uint16_t, f::kMinor>(b, t.minor);
  store_field<uint64_t, f::kChecksum>(b, xxh3(b.data(), f::kChecksum.offset));
  std::memcpy(b.data() + f::kEndMagic.offset, kEndMagic.data(), kEndMagic.size());
  return b;
}

// FORMAT.md "Trailer (64 bytes)".
Trailer decode_trailer(std::span<const std::byte, kTrailerSize> b, uint64_t file_offset) {
  namespace f = trailer;
  const std::string what = "trailer";
  if (std::memcmp(b.data() + f::kEndMagic.offset, kEndMagic.data(), kEndMagic.size()) != 0) {
    format_error(file_offset + f::kEndMagic.offset, what,
                 "end magic WICKEND missing: the file is truncated, or was not completely written");
  }
  const auto stored = load_field<uint64_t, f::kChecksum>(b);
  const uint64_t actual = xxh3(b.data(), f::kChecksum.offset);
  if (stored != actual) {
    format_error(file_offset, what,
                 wick::detail::cat("checksum mismatch: stored ", hex64(stored), ", computed ",
                                   hex64(actual)),
                 hex64(stored), hex64(actual));
  }
  check_zero(b.subspan(f::kReserved.offset, f::kReserved.size), file_offset + f::kReserved.offset,
             "trailer reserved bytes");
  Trailer t;
  t.index_offset = load_field<uint64_t, f::kIndexOffset>(b);
  t.file_size = load_field<uint64_t, f::kFileSize>(b);
  t.index_checksum = load_field<uint64_t, f::kIndexChecksum>(b);
  t.major = load_field<uint16_t, f::kMajor>(b);
  t.minor = load_field<uint16_t, f::kMinor>(b);
  return t;
}

// FORMAT.md "Records".
std::string record_header_name(uint32_t kind) {
  if (kind == kKindTensor) return "tensor record header";
  if (kind == kKindIndex) return "index record header";
  return wick::detail::cat("record header (kind ", kind, ")");
}

// FORMAT.md "Records": the prefix.
RecordPrefix decode_prefix(std::span<const std::byte> b, uint64_t file_offset) {
  namespace f = record;
  RecordPrefix p;
  p.kind = load_field<uint32_t, f::kKind>(b);
  p.flags = load_field<uint16_t, f::kFlags>(b);
  p.header_size = load_field<uint16_t, f::kHeaderSize>(b);
  p.payload_size = load_field<uint64_t, f::kPayloadSize>(b);
  // Named only on failure: this runs for every record of every load.
  const auto what = [&] { return record_header_name(p.kind); };
  if (p.header_size < kMinRecordHeader || p.header_size % kAlign != 0 ||
      p.header_size > kMaxRecordHeader) {
    format_error(file_offset + f::kHeaderSize.offset, what(),
                 wick::detail::cat("header size ", p.header_size, " is not a multiple of ", kAlign,
                                   " between ", kMinRecordHeader, " and ", kMaxRecordHeader));
  }
  if ((p.flags & ~kFlagOptional) != 0) {
    format_error(file_offset + f::kFlags.offset, what(),
                 wick::detail::cat("unknown flag bits ", hex64(p.flags)));
  }
  if (p.payload_size > (uint64_t{1} << 62)) {
    format_error(file_offset + f::kPayloadSize.offset, what(),
                 wick::detail::cat("payload size ", p.payload_size, " is beyond any real file"));
  }
  return p;
}

// FORMAT.md "Records": the header checksum, at H-8.
void check_header_checksum(std::span<const std::byte> header, uint64_t file_offset,
                           const std::string& what) {
  const std::size_t n = record::header_checksum_at(header.size());
  const uint64_t stored = load_le<uint64_t>(header.data() + n);
  const uint64_t actual = xxh3(header.data(), n);
  if (stored != actual) {
    format_error(file_offset, what,
                 wick::detail::cat("header checksum mismatch: stored ", hex64(stored),
                                   ", computed ", hex64(actual)),
                 hex64(stored), hex64(actual));
  }
}

// FORMAT.md "Kind 1: tensor": P = product(sizes) * dtype size, within the 2^62 rule.
uint64_t payload_bytes(DType dtype, const Shape& shape, uint64_t file_offset) {
  // The shared shape rule (zero sizes count as 1), so the verdict never depends on where a zero
  // is and every accepted shape's strides fit in int64.
  const std::optional<uint64_t> n = bounded_nbytes(shape, dtype);
  if (!n) {
    format_error(
        file_offset, "tensor record",
        wick::detail::cat("shape ", shape_str(shape), " of ", dtype, " overflows 2^62 bytes"));
  }
  return *n;
}

// FORMAT.md "Kind 1: tensor": prefix (flags 0), id, dtype, rank, sizes, zero padding, checksum.
std::size_t encode_tensor_header(uint32_t id, DType dtype, const Shape& shape,
                                 uint64_t payload_size,
                                 std::span<std::byte, kMaxRecordHeader> out) {
  namespace f = tensor_header;
  const std::size_t h = tensor_header_size(shape.size());
  std::memset(out.data(), 0, h);
  store_field<uint32_t, record::kKind>(out, kKindTensor);
  store_field<uint16_t, record::kHeaderSize>(out, static_cast<uint16_t>(h));
  store_field<uint64_t, record::kPayloadSize>(out, payload_size);
  store_field<uint32_t, f::kId>(out, id);
  store_field<uint8_t, f::kDtype>(out, static_cast<uint8_t>(dtype));
  store_field<uint8_t, f::kRank>(out, static_cast<uint8_t>(shape.size()));
  for (std::size_t i = 0; i < shape.size(); ++i) {
    store_le<uint64_t>(out.data() + f::size_at(i), static_cast<uint64_t>(shape[i]));
  }
  const std::size_t checksum_at = record::header_checksum_at(h);
  store_le<uint64_t>(out.data() + checksum_at, xxh3(out.data(), checksum_at));
  return h;
}

// FORMAT.md "Kind 1: tensor".
uint32_t decode_tensor_header(std::span<const std::byte> b, uint64_t file_offset,
                              TensorEntry& out) {
  namespace f = tensor_header;
  const std::string what = "tensor record header";
  check_header_checksum(b, file_offset, what);
  const RecordPrefix p = decode_prefix(b, file_offset);
  if (p.kind != kKindTensor) {
    format_error(file_offset, what,
                 wick::detail::cat("record kind ", p.kind, ", expected ", kKindTensor));
  }
  if (p.flags != 0) {
    format_error(file_offset + record::kFlags.offset, what, "tensor records cannot be optional");
  }
  const auto id = load_field<uint32_t, f::kId>(b);
  const auto code = load_field<uint8_t, f::kDtype>(b);
  const auto rank = load_field<uint8_t, f::kRank>(b);
  const auto dtype = dtype_from_code(code);
  if (!dtype) {
    format_error(file_offset + f::kDtype.offset, what,
                 wick::detail::cat("unknown dtype code ", int{code}));
  }
  if (rank > kMaxRank) {
    format_error(file_offset + f::kRank.offset, what,
                 wick::detail::cat("rank ", int{rank}, " exceeds ", kMaxRank));
  }
  if (p.header_size != tensor_header_size(rank)) {
    format_error(file_offset + record::kHeaderSize.offset, what,
                 wick::detail::cat("header size ", p.header_size, " for rank ", int{rank},
                                   ", expected ", tensor_header_size(rank)));
  }
  check_zero(b.subspan(f::kReserved.offset, f::kReserved.size), file_offset + f::kReserved.offset,
             "tensor record reserved bytes");
  Shape shape(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const uint64_t d = load_le<uint64_t>(b.data() + f::size_at(i));
    if (d > static_cast<uint64_t>(INT64_MAX)) {
      format_error(file_offset + f::size_at(i), what,
                   wick::detail::cat("size ", d, " exceeds 2^63-1"));
    }
    shape[i] = static_cast<int64_t>(d);
  }
  const std::size_t dims_end = f::size_at(rank);
  check_zero(b.subspan(dims_end, record::header_checksum_at(p.header_size) - dims_end),
             file_offset + dims_end, "tensor record padding");
  const uint64_t expected = payload_bytes(*dtype, shape, file_offset);
  if (expected != p.payload_size) {
    format_error(file_offset + record::kPayloadSize.offset, what,
                 wick::detail::cat("payload size ", p.payload_size, " but ", dtype_name(*dtype),
                                   " ", shape_str(shape), " needs ", expected));
  }
  out.record_offset = file_offset;
  out.payload_size = p.payload_size;
  out.dtype = *dtype;
  out.shape = std::move(shape);
  return id;
}

// FORMAT.md "Kind 2: index": the record header (flags 0, H = 64, reserved bytes 0).
std::array<std::byte, kIndexHeaderSize> encode_index_header(uint64_t payload_size,
                                                            uint64_t checksum) {
  namespace f = index_header;
  std::array<std::byte, kIndexHeaderSize> b{};
  store_field<uint32_t, record::kKind>(b, kKindIndex);
  store_field<uint16_t, record::kHeaderSize>(b, static_cast<uint16_t>(kIndexHeaderSize));
  store_field<uint64_t, record::kPayloadSize>(b, payload_size);
  store_field<uint64_t, f::kPayloadChecksum>(b, checksum);
  store_field<uint64_t, f::kChecksum>(b, xxh3(b.data(), f::kChecksum.offset));
  return b;
}

// FORMAT.md "Values": tags 0 to 5 and their contents.
bool encode_scalar(ByteWriter& w, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None:
      w.u8(static_cast<uint8_t>(Tag::None));
      return true;
    case Value::Kind::Bool:
      w.u8(static_cast<uint8_t>(v.as_bool() ? Tag::True : Tag::False));
      return true;
    case Value::Kind::Int:
      w.u8(static_cast<uint8_t>(Tag::Int));
      w.i64(v.as_int());
      return true;
    case Value::Kind::Float:
      w.u8(static_cast<uint8_t>(Tag::Float));
      w.f64(v.as_float());
      return true;
    case Value::Kind::String:
      w.u8(static_cast<uint8_t>(Tag::String));
      w.string(v.as_string());
      return true;
    default:
      return false;
  }
}

// FORMAT.md "Kind 2: index", part 1 (metadata): u32 count, then key + scalar per entry.
void encode_metadata(ByteWriter& w, const Dict& metadata) {
  w.u32(static_cast<uint32_t>(metadata.size()));
  for (const auto& [k, v] : metadata) {
    WICK_CHECK(k.is_string(), ArgumentError, "save: metadata key ", k,
               " is an int; metadata keys are strings");
    const std::string& key = k.str();
    WICK_CHECK(!key.empty() && key.find('\0') == std::string::npos, ArgumentError,
               "save: metadata key '", key, "' must be non-empty and contain no NUL byte");
    w.string(key);
    WICK_CHECK(encode_scalar(w, v), ArgumentError, "save: metadata '", key, "' is a ",
               kind_name(v.kind()), "; metadata values must be none, bool, int, float or string");
  }
}

// FORMAT.md "Kind 2: index", part 3 (tensor table): one row, its fields in table_row's order.
void encode_table_row(ByteWriter& w, const TensorEntry& e) {
  w.u64(e.record_offset);
  w.u64(e.payload_size);
  w.u64(e.checksum);
  w.u8(static_cast<uint8_t>(e.dtype));
  w.u8(static_cast<uint8_t>(e.shape.size()));
  for (const int64_t d : e.shape)
    w.u64(static_cast<uint64_t>(d));
}

// FORMAT.md "Kind 2: index", part 4 (view table): one row, its fields in view_row's order.
void encode_view_row(ByteWriter& w, const ViewEntry& v) {
  w.u32(v.record);
  w.u64(v.offset);
  w.u8(static_cast<uint8_t>(v.shape.size()));
  for (const int64_t d : v.shape)
    w.u64(static_cast<uint64_t>(d));
  for (const int64_t d : v.strides)
    w.u64(static_cast<uint64_t>(d));
}

const char* tag_name(Tag tag) noexcept {
  switch (tag) {
    case Tag::Tuple:
      return "tuple";
    case Tag::KeyedDict:
      return "dict with int keys";
    case Tag::View:
      return "view";
    default:
      return "value";
  }
}

std::optional<ElementSpan> element_span(uint64_t offset, const Shape& shape, const Shape& strides) {
  uint64_t last = offset;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return ElementSpan{offset, offset};
    uint64_t step = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(shape[i] - 1),
                               static_cast<uint64_t>(strides[i]), &step) ||
        __builtin_add_overflow(last, step, &last) || last >= static_cast<uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
  }
  return ElementSpan{offset, last + 1};
}

bool is_row_major(const Shape& shape, const Shape& strides) noexcept {
  int64_t expected = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

Shape layout_strides(const Shape& shape, const Shape& strides) {
  Shape out = strides;
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 1) out[d] = 0;
  return out;
}

bool steps_past_smaller_dims(const Shape& shape, const Shape& strides) {
  // Dimensions of size above 1, by increasing stride: an insertion sort into a fixed array, as
  // ranks are at most 32 (checked before) and a save asks this of every tensor it may share.
  std::array<std::size_t, kMaxRank> dims;
  std::size_t n = 0;
  for (std::size_t i = 0; i < shape.size() && n < dims.size(); ++i) {
    if (shape[i] <= 1) continue;
    std::size_t at = n++;
    for (; at > 0 && strides[dims[at - 1]] > strides[i]; --at)
      dims[at] = dims[at - 1];
    dims[at] = i;
  }
  uint64_t reach = 0;  // the furthest element the smaller dimensions reach, from the first
  for (std::size_t k = 0; k < n; ++k) {
    const auto stride = static_cast<uint64_t>(strides[dims[k]]);
    if (stride <= reach) return false;
    // Within 2^63 by element_span's check (callers make it first).
    reach += stride * static_cast<uint64_t>(shape[dims[k]] - 1);
  }
  return true;
}

namespace {
// FORMAT.md "Values": one scalar value's contents after its tag (tags 0-5). A string value
// stays in the payload: `node` records where.
bool read_scalar(ByteReader& r, Tag tag, FlatNode& node, const char* field) {
  node.tag = tag;
  switch (tag) {
    case Tag::None:
    case Tag::False:
    case Tag::True:
      return true;
    case Tag::Int:
    case Tag::Float:
      node.bits = r.u64();
      return true;
    case Tag::String: {
      const std::string_view s = r.view(field);
      node.bits = r.position() - s.size();
      node.n = static_cast<uint32_t>(s.size());
      return true;
    }
    default:
      return false;
  }
}

Value scalar_value(const Index& index, const FlatNode& n) {
  switch (n.tag) {
    case Tag::False:
      return false;
    case Tag::True:
      return true;
    case Tag::Int:
      return static_cast<int64_t>(n.bits);
    case Tag::Float:
      return std::bit_cast<double>(n.bits);
    case Tag::String:
      return std::string(index.text(n));
    default:
      return nullptr;
  }
}

std::string key_error(std::string_view key) {
  return key.find('\0') != std::string::npos ? "contains a NUL byte" : "is empty";
}

// ---- Part 1: metadata ----------------------------------------------------------------------

// FORMAT.md "Kind 2: index", part 1: keys unique, non-empty, no NUL; values scalars. Metadata
// is small and returned as a Dict, so it is built in one pass (no FlatNode tree).
void decode_metadata(ByteReader& r, Index& index) {
  const uint32_t n_meta = r.u32();
  r.need(uint64_t{n_meta} * values::kMinEntry, "metadata entries");
  for (uint32_t i = 0; i < n_meta; ++i) {
    const uint64_t at = r.offset();
    std::string key(r.view("metadata key"));
    if (key.empty() || key.find('\0') != std::string::npos) {
      format_error(at, "index", wick::detail::cat("metadata key ", key_error(key)));
    }
    if (index.metadata.contains(key)) {
      format_error(at, "index", wick::detail::cat("duplicate metadata key '", key, "'"));
    }
    FlatNode node;
    const auto tag = static_cast<Tag>(r.u8());
    if (!read_scalar(r, tag, node, "metadata string")) {
      format_error(r.offset() - values::kTagSize, "index",
                   wick::detail::cat("metadata '", key, "' has tag ", static_cast<int>(tag),
                                     "; metadata values are tags 0-5"));
    }
    index.metadata.insert(std::move(key), scalar_value(index, node));
  }
}

// ---- Part 2: value tree --------------------------------------------------------------------

// A dict's keys, to find duplicates by sorting when the dict closes: 16 bytes a key (a hash
// and where the key is), against several times that for a hash set. Sorting integers keeps it
// cheap; keys are compared only when their hashes are equal.
struct KeySeen {
  uint64_t hash;
  uint64_t at;  // offset of the key in the payload; its u32 length prefix is just before
  bool operator<(const KeySeen& o) const noexcept {
    return hash != o.hash ? hash < o.hash : at < o.at;
  }
};

std::string_view key_at(const Index& index, uint64_t at) {
  const auto size = load_le<uint32_t>(index.payload.data() + at - values::kLengthSize);
  return {reinterpret_cast<const char*>(index.payload.data()) + at, size};
}

// FORMAT.md "Values": dict keys are unique.
void refuse_duplicate_keys(std::vector<KeySeen>& keys, const Index& index,
                           uint64_t payload_offset) {
  std::sort(keys.begin(), keys.end());
  auto key_of = [&](const KeySeen& k) { return key_at(index, k.at); };
  for (auto group = keys.begin(); group != keys.end();) {
    auto end =
        std::find_if(group, keys.end(), [&](const KeySeen& k) { return k.hash != group->hash; });
    if (end - group > 1) {
      // Equal hashes: sort the group by key, so that crafted collisions cost O(n log n), not n^2.
      std::sort(group, end, [&](const KeySeen& a, const KeySeen& b) {
        const auto ka = key_of(a), kb = key_of(b);
        return ka != kb ? ka < kb : a.at < b.at;
      });
      const auto dup = std::adjacent_find(
          group, end, [&](const KeySeen& a, const KeySeen& b) { return key_of(a) == key_of(b); });
      if (dup != end) {
        // The later of the two, at its length prefix.
        format_error(payload_offset + std::next(dup)->at - values::kLengthSize, "index",
                     wick::detail::cat("duplicate dict key '", key_of(*dup), "'"));
      }
    }
    group = end;
  }
}

// FORMAT.md "Values": a dict item's key, which may be empty but holds no NUL. The node keeps
// where it is, not a copy (FlatNode's 32 bytes).
std::string_view read_dict_key(ByteReader& r, FlatNode& node) {
  const uint64_t at = r.offset();
  const std::string_view key = r.view("dict key");
  if (key.find('\0') != std::string::npos)
    format_error(at, "index", "dict key contains a NUL byte");
  node.key_at = r.position() - key.size();
  node.key_size = static_cast<uint32_t>(key.size());
  return key;
}

// A tag-10 dict's int key and the file offset of its key tag, to find duplicates by sorting.
struct IntKeySeen {
  int64_t key;
  uint64_t at;
  bool operator<(const IntKeySeen& o) const noexcept {
    return key != o.key ? key < o.key : at < o.at;
  }
};

// FORMAT.md "Values", tag 10: a key is an int (tag 3, i64) or a string (tag 5). An int key's
// bits go in the node; a string key stays in the payload as for tag 8.
void read_typed_key(ByteReader& r, FlatNode& node) {
  const uint64_t at = r.offset();
  const auto tag = static_cast<Tag>(r.u8());
  if (tag == Tag::Int) {
    node.int_key = true;
    node.key_at = r.u64();
  } else if (tag == Tag::String) {
    read_dict_key(r, node);
  } else {
    format_error(at, "index",
                 wick::detail::cat("dict key tag ", static_cast<int>(tag),
                                   ": keys of a tag-10 dict are ints (3) or strings (5)"),
                 "3 or 5", std::to_string(static_cast<int>(tag)));
  }
}

// FORMAT.md "Values": one value's tag and contents; a container's items follow it. `depth` is
// the number of containers open around it. A container's count is checked against the bytes
// left before the caller opens it, so no count can make it allocate ahead of the file. Tags a
// file's version does not have are refused (a 1.0 file with a tuple was not written by wick).
void read_value(ByteReader& r, FlatNode& node, std::size_t depth, Version v) {
  const uint64_t at = r.offset();
  const auto tag = static_cast<Tag>(r.u8());
  if (read_scalar(r, tag, node, "string value")) return;
  node.tag = tag;
  const bool known = is_tensor_tag(tag) || is_dict_tag(tag) || is_sequence_tag(tag);
  if (!known) {
    format_error(at, "index", wick::detail::cat("unknown value tag ", static_cast<int>(tag)));
  }
  if (const Version needs = version_of(tag); needs > v) {
    format_error(at, "index",
                 wick::detail::cat("value tag ", static_cast<int>(tag), " (", tag_name(tag),
                                   ") needs format ", needs.major, ".", needs.minor,
                                   "; the file is ", v.major, ".", v.minor),
                 wick::detail::cat("format ", needs.major, ".", needs.minor),
                 wick::detail::cat(v.major, ".", v.minor));
  }
  if (is_tensor_tag(tag)) {
    node.n = r.u32();  // checked against the tables in cross_check_ids()
    return;
  }
  node.n = r.u32();
  if (tag == Tag::KeyedDict && node.n == 0) {
    format_error(at, "index", "an empty dict with int keys (tag 10); an empty dict is tag 8");
  }
  const uint64_t min_item = tag == Tag::Dict        ? values::kMinEntry
                            : tag == Tag::KeyedDict ? values::kMinTypedEntry
                                                    : values::kMinItem;
  r.need(uint64_t{node.n} * min_item, "container items");
  if (depth >= static_cast<std::size_t>(kMaxDepth)) {
    format_error(at, "index", wick::detail::cat("nesting deeper than ", kMaxDepth, " levels"));
  }
}

bool is_open_container(const FlatNode& n) {
  return (is_dict_tag(n.tag) || is_sequence_tag(n.tag)) && n.n > 0;
}

// A container whose items are being read; the explicit stack replaces recursion, so a deeply
// nested file cannot exhaust the native stack.
struct OpenContainer {
  uint32_t left;  // items still to read
  Tag tag;
  uint64_t at;                       // file offset of its tag, for errors
  std::vector<KeySeen> keys;         // first pass only: its string keys so far, checked at close
  std::vector<IntKeySeen> int_keys;  // first pass only: its int keys so far (tag 10)
};

// FORMAT.md "Values", tag 10: int keys are unique, at least one key is an int (a dict of
// string keys only is tag 8, so that every value has one encoding), and no string key spells
// an int key's digits (FORMAT.md "Tree paths": every node has one path).
void check_int_keys(std::vector<IntKeySeen>& keys, const std::vector<KeySeen>& strings,
                    const Index& index, uint64_t at) {
  if (keys.empty()) {
    format_error(at, "index", "a dict with int keys (tag 10) has none; a dict of strings is tag 8");
  }
  std::sort(keys.begin(), keys.end());
  const auto same = [](const IntKeySeen& a, const IntKeySeen& b) { return a.key == b.key; };
  if (const auto dup = std::adjacent_find(keys.begin(), keys.end(), same); dup != keys.end()) {
    // The later of the two, at its key tag.
    format_error(std::next(dup)->at, "index", wick::detail::cat("duplicate dict key ", dup->key));
  }
  for (const KeySeen& s : strings) {
    const std::optional<int64_t> i = int_key_step(key_at(index, s.at));
    if (i && std::binary_search(
                 keys.begin(), keys.end(), IntKeySeen{*i, 0},
                 [](const IntKeySeen& a, const IntKeySeen& b) { return a.key < b.key; })) {
      format_error(at, "index",
                   wick::detail::cat("a dict has both the int key ", *i, " and the string key '",
                                     *i, "', which a path cannot tell apart"));
    }
  }
}

// Closes every container the item just read completes, checking each dict's keys on the first
// pass (`checking`). True when the root is complete: the tree ends there.
bool close_completed(std::vector<OpenContainer>& stack, const Index& index, uint64_t file_offset,
                     bool checking) {
  while (true) {
    if (stack.empty()) return true;
    OpenContainer& c = stack.back();
    if (--c.left > 0) return false;
    if (checking) {
      refuse_duplicate_keys(c.keys, index, file_offset);
      if (c.tag == Tag::KeyedDict) check_int_keys(c.int_keys, c.keys, index, c.at);
    }
    stack.pop_back();
  }
}

// FORMAT.md "Values": one pass over the value tree, pre-order. The first pass (`out` null)
// checks every rule and counts the nodes; the second fills exactly that many, so the tree costs
// 32 bytes per value with no growth slack (FORMAT.md "Bounds", FlatNode).
uint64_t walk_value_tree(ByteReader& r, const Index& index, uint64_t file_offset, Version v,
                         std::vector<FlatNode>* out) {
  std::vector<OpenContainer> stack;
  uint64_t count = 0;
  while (true) {
    FlatNode node;
    const Tag parent = stack.empty() ? Tag::None : stack.back().tag;
    if (parent == Tag::Dict) {
      const std::string_view key = read_dict_key(r, node);
      if (!out)
        stack.back().keys.push_back(KeySeen{std::hash<std::string_view>{}(key), node.key_at});
    } else if (parent == Tag::KeyedDict) {
      const uint64_t key_at = r.offset();
      read_typed_key(r, node);
      if (!out && node.int_key) {
        stack.back().int_keys.push_back(IntKeySeen{static_cast<int64_t>(node.key_at), key_at});
      } else if (!out) {
        const std::string_view key = index.key_text(node);
        stack.back().keys.push_back(KeySeen{std::hash<std::string_view>{}(key), node.key_at});
      }
    }
    const uint64_t at = r.offset();
    read_value(r, node, stack.size(), v);
    if (count >= UINT32_MAX) format_error(at, "index", "more than 2^32-1 values in the tree");
    ++count;
    if (out) out->push_back(node);
    if (is_open_container(node)) {
      stack.push_back(OpenContainer{node.n, node.tag, at, {}, {}});
      continue;
    }
    if (close_completed(stack, index, file_offset, out == nullptr)) return count;
  }
}

// FORMAT.md "Kind 2: index", part 2: the root value. Two passes over the same bytes (count,
// then fill), so Index::tree is allocated once at its exact size.
void decode_value_tree(ByteReader& r, Index& index, uint64_t file_offset, Version v) {
  ByteReader counting = r;
  const uint64_t count = walk_value_tree(counting, index, file_offset, v, nullptr);
  index.tree.reserve(static_cast<std::size_t>(count));
  walk_value_tree(r, index, file_offset, v, &index.tree);
}

// ---- Part 3: tensor table ------------------------------------------------------------------

// FORMAT.md "Kind 2: index", part 3: one row, read in table_row's order; errors point at the
// row's field.
TensorEntry decode_table_row(ByteReader& r, uint32_t i) {
  const uint64_t at = r.offset();
  TensorEntry e;
  e.record_offset = r.u64();
  e.payload_size = r.u64();
  e.checksum = r.u64();
  const uint8_t code = r.u8();
  const uint8_t rank = r.u8();
  const auto dtype = dtype_from_code(code);
  if (!dtype)
    format_error(at + table_row::kDtype.offset, "index",
                 wick::detail::cat("tensor ", i, ": unknown dtype code ", int{code}));
  if (rank > kMaxRank)
    format_error(at + table_row::kRank.offset, "index",
                 wick::detail::cat("tensor ", i, ": rank ", int{rank}));
  e.dtype = *dtype;
  r.need(uint64_t{rank} * table_row::kSizes.size, "tensor sizes");
  e.shape.resize(rank);
  for (auto& d : e.shape) {
    const uint64_t v = r.u64();
    if (v > static_cast<uint64_t>(INT64_MAX))
      format_error(at, "index", "tensor size exceeds 2^63-1");
    d = static_cast<int64_t>(v);
  }
  // The 2^62 rule, named as the row's other faults are (a record names its own).
  const std::optional<uint64_t> expected = bounded_nbytes(e.shape, e.dtype);
  if (!expected) {
    format_error(at, "index",
                 wick::detail::cat("tensor ", i, ": shape ", shape_str(e.shape), " of ", e.dtype,
                                   " overflows 2^62 bytes"));
  }
  if (*expected != e.payload_size) {
    format_error(
        at, "index",
        wick::detail::cat("tensor ", i, ": payload size ", e.payload_size, " does not match ",
                          dtype_name(e.dtype), " ", shape_str(e.shape)));
  }
  return e;
}

// FORMAT.md "Kind 2: index", part 3: the table, in id order with records at increasing aligned
// offsets after the file header.
void decode_tensor_table(ByteReader& r, Index& index) {
  const uint32_t n_tensors = r.u32();
  r.need(uint64_t{n_tensors} * table_row::kFixedSize, "tensor table");
  index.tensors.reserve(n_tensors);
  for (uint32_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = r.offset();
    TensorEntry e = decode_table_row(r, i);
    if (e.record_offset % kAlign != 0 || e.record_offset < kFileHeaderSize ||
        (i > 0 && e.record_offset <= index.tensors.back().record_offset)) {
      format_error(at, "index",
                   wick::detail::cat("tensor ", i, ": record offset ", e.record_offset,
                                     " is misaligned, inside the header, or not after the "
                                     "previous record"));
    }
    index.tensors.push_back(std::move(e));
  }
}

// ---- Part 4: view table (2.1) ----------------------------------------------------------------

// A size, stride or offset of view `i`: at most 2^63-1, as in a tensor record.
int64_t read_view_field(ByteReader& r, uint32_t i, const char* field) {
  const uint64_t at = r.offset();
  const uint64_t v = r.u64();
  if (v > static_cast<uint64_t>(INT64_MAX)) {
    format_error(at, "index", wick::detail::cat("view ", i, ": ", field, " exceeds 2^63-1"));
  }
  return static_cast<int64_t>(v);
}

// FORMAT.md "Kind 2: index", part 4: one row, read in view_row's order.
ViewEntry decode_view_row(ByteReader& r, uint32_t i) {
  const uint64_t at = r.offset();
  ViewEntry e;
  e.record = r.u32();
  e.offset = static_cast<uint64_t>(read_view_field(r, i, "offset"));
  const uint8_t rank = r.u8();
  if (rank > kMaxRank) {
    format_error(at + view_row::kRank.offset, "index",
                 wick::detail::cat("view ", i, ": rank ", int{rank}));
  }
  r.need(uint64_t{rank} * 2 * view_row::kSizes.size, "view sizes and strides");
  e.shape.resize(rank);
  e.strides.resize(rank);
  for (auto& d : e.shape)
    d = read_view_field(r, i, "size");
  for (auto& d : e.strides)
    d = read_view_field(r, i, "stride");
  return e;
}

std::string view_str(const ViewEntry& e) {
  return wick::detail::cat("offset ", e.offset, ", sizes ", shape_str(e.shape), ", strides ",
                           shape_str(e.strides));
}

// FORMAT.md "Kind 2: index", part 4, the rules of one row against its record: an existing
// record, at least one element, within the 2^62 rule, no element reached twice, every element
// inside the record, and not the record's own layout (that is tag 6).
void check_view(const Index& index, const ViewEntry& e, uint32_t i, uint64_t at) {
  const std::size_t n_tensors = index.tensors.size();
  if (e.record >= n_tensors) {
    format_error(at, "index",
                 wick::detail::cat("view ", i, " refers to tensor ", e.record, " but the file has ",
                                   n_tensors, " tensors"));
  }
  const TensorEntry& rec = index.tensors[e.record];
  if (!bounded_nbytes(e.shape, rec.dtype)) {
    format_error(at, "index",
                 wick::detail::cat("view ", i, ": shape ", shape_str(e.shape), " of ", rec.dtype,
                                   " overflows 2^62 bytes"));
  }
  if (shape_numel(e.shape) == 0) {
    format_error(at, "index",
                 wick::detail::cat("view ", i,
                                   " has no elements; an empty tensor is a record "
                                   "(tag 6)"));
  }
  const uint64_t numel = rec.payload_size / dtype_size(rec.dtype);
  const std::optional<ElementSpan> span = element_span(e.offset, e.shape, e.strides);
  if (!span || span->end > numel) {
    format_error(at, "index",
                 wick::detail::cat("view ", i, " (", view_str(e), ") runs past the ", numel,
                                   " elements of tensor ", e.record));
  }
  if (!steps_past_smaller_dims(e.shape, e.strides)) {
    format_error(at, "index",
                 wick::detail::cat("view ", i, " (", view_str(e),
                                   ") reaches an element twice; a view does not overlap itself"));
  }
  if (e.offset == 0 && e.shape == rec.shape && is_row_major(e.shape, e.strides)) {
    format_error(at, "index",
                 wick::detail::cat("view ", i, " is all of tensor ", e.record,
                                   " as it is stored; that is tag 6"));
  }
}

// FORMAT.md "Kind 2: index", part 4: no two rows reach the same elements the same way (one
// view referenced twice is one row; strides of size-1 dimensions do not count), found by
// sorting row indices, so a hostile table costs O(n log n) and a few bytes a row.
void refuse_repeated_views(const Index& index, uint64_t file_offset) {
  std::vector<uint32_t> order(index.views.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[i] = i;
  // -1, 0 or 1 as row a's layout sorts before, with or after row b's.
  const auto compare = [&](uint32_t a, uint32_t b) {
    const ViewEntry& x = index.views[a];
    const ViewEntry& y = index.views[b];
    if (const auto c =
            std::tie(x.record, x.offset, x.shape) <=> std::tie(y.record, y.offset, y.shape);
        c != 0) {
      return c < 0 ? -1 : 1;
    }
    for (std::size_t d = 0; d < x.shape.size(); ++d) {
      if (x.shape[d] != 1 && x.strides[d] != y.strides[d])
        return x.strides[d] < y.strides[d] ? -1 : 1;
    }
    return 0;
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int c = compare(a, b);
    return c != 0 ? c < 0 : a < b;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (compare(order[k - 1], order[k]) == 0) {
      format_error(file_offset, "index",
                   wick::detail::cat("view ", order[k], " repeats view ", order[k - 1]));
    }
  }
}

// FORMAT.md "Kind 2: index", part 4: u32 count, then the rows.
void decode_view_table(ByteReader& r, Index& index) {
  const uint32_t n_views = r.u32();
  r.need(uint64_t{n_views} * view_row::kFixedSize, "view table");
  index.views.reserve(n_views);
  for (uint32_t i = 0; i < n_views; ++i) {
    const uint64_t at = r.offset();
    index.views.push_back(decode_view_row(r, i));
    check_view(index, index.views.back(), i, at);
  }
  refuse_repeated_views(index, r.offset());
}

// ---- Cross-checks --------------------------------------------------------------------------

// FORMAT.md "Values": every tensor (view) id in the tree is below the tensor (view) table's
// count, every view is referenced, and every record is referenced by the tree or a view. Only
// possible once the tree and the tables are read.
void cross_check_ids(const Index& index, uint64_t file_offset) {
  const std::size_t n_tensors = index.tensors.size();
  const std::size_t n_views = index.views.size();
  std::vector<bool> used(n_tensors, false);
  std::vector<bool> viewed(n_views, false);
  for (const auto& n : index.tree) {
    if (!is_tensor_tag(n.tag)) continue;
    const bool view = n.tag == Tag::View;
    if (n.n >= (view ? n_views : n_tensors)) {
      format_error(file_offset, "index",
                   wick::detail::cat("value refers to ", view ? "view " : "tensor ", n.n,
                                     " but the file has ", view ? n_views : n_tensors,
                                     view ? " views" : " tensors"));
    }
    (view ? viewed : used)[n.n] = true;
  }
  for (std::size_t i = 0; i < n_views; ++i) {
    if (!viewed[i])
      format_error(file_offset, "index",
                   wick::detail::cat("view ", i, " is not referenced by the value tree"));
    used[index.views[i].record] = true;
  }
  for (std::size_t i = 0; i < n_tensors; ++i) {
    if (!used[i])
      format_error(file_offset, "index",
                   wick::detail::cat("tensor ", i, " is not referenced by the value tree",
                                     n_views > 0 ? " or a view" : ""));
  }
}
}  // namespace

// One walk of the tree: the tensors for the view plan, and whether a tag of 2.0 is needed.
Version required_version(const Value& value) {
  bool needs_2_0 = false;
  if (ViewPlan(tensors_in_tree_order(value, &needs_2_0)).any()) return kVersionViews;
  return needs_2_0 ? kVersion2 : kVersion1;
}

// FORMAT.md "Kind 2: index": metadata, value tree, tensor table, view table (2.1), nothing
// else; then the cross-checks between the tree and the tables.
Index decode_index(std::vector<std::byte> payload, uint64_t file_offset, Version v) {
  Index index;
  index.payload = std::move(payload);
  ByteReader r(index.payload, file_offset, "index");
  decode_metadata(r, index);
  decode_value_tree(r, index, file_offset, v);
  decode_tensor_table(r, index);
  if (v >= kVersionViews) decode_view_table(r, index);
  if (r.remaining() != 0) {
    format_error(r.offset(), "index",
                 wick::detail::cat(r.remaining(), " unexpected bytes after the ",
                                   v >= kVersionViews ? "view" : "tensor", " table"));
  }
  cross_check_ids(index, file_offset);
  return index;
}

std::string_view Index::key(const FlatNode& n, KeyDigits& digits) const noexcept {
  if (!n.int_key) return key_text(n);
  const auto [end, ec] =
      std::to_chars(digits.data(), digits.data() + digits.size(), static_cast<int64_t>(n.key_at));
  return {digits.data(), static_cast<std::size_t>(end - digits.data())};
}

Key Index::key_value(const FlatNode& n) const {
  if (n.int_key) return static_cast<int64_t>(n.key_at);
  return key_text(n);
}

// FORMAT.md "Kind 2: index", part 4: the elements of the record from the view's offset on,
// over the record's storage (records load with offset 0 unless Reader::tensor read a part).
Tensor make_view(const Index& index, uint32_t id, const std::vector<Tensor>& tensors) {
  const ViewEntry& e = index.views[id];
  const Tensor& rec = tensors[e.record];
  return Tensor(rec.storage(), e.shape, e.strides, rec.offset() + static_cast<int64_t>(e.offset),
                rec.dtype());
}

// FORMAT.md "Values": the Value tree of a decoded index, rebuilt from its pre-order nodes.
Value build_value(const Index& index, const std::vector<Tensor>& tensors) {
  struct Open {
    Value value;
    Key key;
    uint32_t left;
  };
  std::vector<Open> stack;
  std::vector<Tensor> views(index.views.size());  // made once each, however often referenced
  Value root;
  for (const FlatNode& n : index.tree) {
    Value v;
    if (n.tag == Tag::Tensor) {
      v = tensors[n.n];
    } else if (n.tag == Tag::View) {
      if (!views[n.n].defined()) views[n.n] = make_view(index, n.n, tensors);
      v = views[n.n];
    } else if (n.tag == Tag::List) {
      v = List{};
      v.list().reserve(n.n);
    } else if (n.tag == Tag::Tuple) {
      v = Tuple{};
      v.tuple().reserve(n.n);
    } else if (is_dict_tag(n.tag)) {
      v = Dict{};
    } else {
      v = scalar_value(index, n);
    }
    Key key = index.key_value(n);
    if (is_open_container(n)) {
      stack.push_back(Open{std::move(v), std::move(key), n.n});
      continue;
    }
    // Attach v (and every container it completes) to its parent.
    while (true) {
      if (stack.empty()) {
        root = std::move(v);
        break;
      }
      Open& parent = stack.back();
      if (parent.value.is_dict()) {
        parent.value.dict().insert(std::move(key), std::move(v));
      } else if (parent.value.is_list()) {
        parent.value.list().push_back(std::move(v));
      } else {
        parent.value.tuple().push_back(std::move(v));
      }
      if (--parent.left > 0) break;
      v = std::move(parent.value);
      key = std::move(parent.key);
      stack.pop_back();
    }
  }
  return root;
}

}  // namespace wick::io::detail

namespace wick::io {

uint64_t checksum(const void* data, std::size_t n) noexcept {
  return detail::xxh3(data, n);
}

}  // namespace wick::io
