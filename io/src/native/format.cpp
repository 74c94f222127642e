#include "native/format.h"

#include <xxh_x86dispatch.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <unordered_set>
#include <utility>

#include "common/tensor_bytes.h"
#include "wick/core/error.h"
#include "wick/core/version.h"
#include "wick/io/native/checksum.h"

namespace wick::io::detail {

namespace {}  // namespace

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

void ByteWriter::string(std::string_view s) {
  WICK_CHECK(s.size() <= UINT32_MAX, ArgumentError, "save: string of ", s.size(),
             " bytes is longer than the format's 4 GiB limit");
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
  const uint32_t n = u32();
  need(n, field);
  const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
  pos_ += n;
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

std::array<std::byte, kFileHeaderSize> encode_file_header() {
  std::array<std::byte, kFileHeaderSize> h{};
  std::memcpy(h.data(), kMagic.data(), kMagic.size());
  store_le<uint16_t>(h.data() + 8, kMajor);
  store_le<uint16_t>(h.data() + 10, kMinor);
  store_le<uint32_t>(h.data() + 12, kByteOrderMark);
  store_le<uint32_t>(h.data() + 16, static_cast<uint32_t>(kFileHeaderSize));
  const std::string producer = producer_string();
  std::memcpy(h.data() + 24, producer.data(), std::min<std::size_t>(producer.size(), 31));
  store_le<uint64_t>(h.data() + 56, xxh3(h.data(), 56));
  return h;
}

FileHeader decode_file_header(std::span<const std::byte, kFileHeaderSize> h) {
  const std::string what = "file header";
  if (std::memcmp(h.data(), kMagic.data(), kMagic.size()) != 0) {
    std::string found;
    for (std::size_t i = 0; i < kMagic.size(); ++i) {
      found += wick::detail::cat(i == 0 ? "" : " ", hex64(static_cast<uint8_t>(h[i])).substr(16));
    }
    format_error(0, what, "not a wick file (bad magic; expected \\x89WICK\\r\\n\\x1a)",
                 "89 57 49 43 4b 0d 0a 1a", found);
  }
  // Before the checksum and version: a big-endian writer would have stored those big-endian
  // too, and the mark is what tells the user why the file cannot be read.
  const uint32_t bom = load_le<uint32_t>(h.data() + 12);
  if (bom != kByteOrderMark) {
    format_error(12, what,
                 wick::detail::cat("byte order mark ", hex64(bom), ", expected ",
                                   hex64(kByteOrderMark), " (only little-endian files exist)"),
                 hex64(kByteOrderMark), hex64(bom));
  }
  FileHeader out;
  out.major = load_le<uint16_t>(h.data() + 8);
  out.minor = load_le<uint16_t>(h.data() + 10);
  const uint64_t stored = load_le<uint64_t>(h.data() + 56);
  const uint64_t actual = xxh3(h.data(), 56);
  if (stored != actual) {
    format_error(0, what,
                 wick::detail::cat("checksum mismatch: stored ", hex64(stored), ", computed ",
                                   hex64(actual)),
                 hex64(stored), hex64(actual));
  }
  if (out.major > kMajor) {
    format_error(8, what,
                 wick::detail::cat("format version ", out.major, ".", out.minor,
                                   " is newer than this reader's ", kMajor, ".", kMinor,
                                   "; upgrade wick to read it"),
                 wick::detail::cat("major version at most ", kMajor),
                 wick::detail::cat(out.major, ".", out.minor));
  }
  if (out.major < 1)
    format_error(8, what, wick::detail::cat("invalid format major version ", out.major));
  const uint32_t size = load_le<uint32_t>(h.data() + 16);
  if (size != kFileHeaderSize) {
    format_error(16, what, wick::detail::cat("header size ", size, ", expected ", kFileHeaderSize),
                 std::to_string(kFileHeaderSize), std::to_string(size));
  }
  check_zero(h.subspan(20, 4), 20, "file header flags");
  const char* p = reinterpret_cast<const char*>(h.data() + 24);
  out.producer.assign(p, strnlen(p, 32));
  check_zero(h.subspan(24 + out.producer.size(), 32 - out.producer.size()),
             24 + out.producer.size(), "file header producer padding");
  return out;
}

std::array<std::byte, kTrailerSize> encode_trailer(const Trailer& t) {
  std::array<std::byte, kTrailerSize> b{};
  store_le<uint64_t>(b.data() + 0, t.index_offset);
  store_le<uint64_t>(b.data() + 8, t.file_size);
  store_le<uint64_t>(b.data() + 16, t.index_checksum);
  store_le<uint16_t>(b.data() + 24, t.major);
  store_le<uint16_t>(b.data() + 26, t.minor);
  store_le<uint64_t>(b.data() + 48, xxh3(b.data(), 48));
  std::memcpy(b.data() + 56, kEndMagic.data(), kEndMagic.size());
  return b;
}

Trailer decode_trailer(std::span<const std::byte, kTrailerSize> b, uint64_t file_offset) {
  const std::string what = "trailer";
  if (std::memcmp(b.data() + 56, kEndMagic.data(), kEndMagic.size()) != 0) {
    format_error(file_offset + 56, what,
                 "end magic WICKEND missing: the file is truncated, or was not completely written");
  }
  const uint64_t stored = load_le<uint64_t>(b.data() + 48);
  const uint64_t actual = xxh3(b.data(), 48);
  if (stored != actual) {
    format_error(file_offset, what,
                 wick::detail::cat("checksum mismatch: stored ", hex64(stored), ", computed ",
                                   hex64(actual)),
                 hex64(stored), hex64(actual));
  }
  check_zero(b.subspan(28, 20), file_offset + 28, "trailer reserved bytes");
  Trailer t;
  t.index_offset = load_le<uint64_t>(b.data() + 0);
  t.file_size = load_le<uint64_t>(b.data() + 8);
  t.index_checksum = load_le<uint64_t>(b.data() + 16);
  t.major = load_le<uint16_t>(b.data() + 24);
  t.minor = load_le<uint16_t>(b.data() + 26);
  return t;
}

std::string record_header_name(uint32_t kind) {
  if (kind == kKindTensor) return "tensor record header";
  if (kind == kKindIndex) return "index record header";
  return wick::detail::cat("record header (kind ", kind, ")");
}

RecordPrefix decode_prefix(std::span<const std::byte> b, uint64_t file_offset) {
  RecordPrefix p;
  p.kind = load_le<uint32_t>(b.data());
  p.flags = load_le<uint16_t>(b.data() + 4);
  p.header_size = load_le<uint16_t>(b.data() + 6);
  p.payload_size = load_le<uint64_t>(b.data() + 8);
  // Named only on failure: this runs for every record of every load.
  const auto what = [&] { return record_header_name(p.kind); };
  if (p.header_size < 64 || p.header_size % kAlign != 0 || p.header_size > kMaxRecordHeader) {
    format_error(file_offset + 6, what(),
                 wick::detail::cat("header size ", p.header_size,
                                   " is not a multiple of 64 between 64 and ", kMaxRecordHeader));
  }
  if ((p.flags & ~kFlagOptional) != 0) {
    format_error(file_offset + 4, what(), wick::detail::cat("unknown flag bits ", hex64(p.flags)));
  }
  if (p.payload_size > (uint64_t{1} << 62)) {
    format_error(file_offset + 8, what(),
                 wick::detail::cat("payload size ", p.payload_size, " is beyond any real file"));
  }
  return p;
}

void check_header_checksum(std::span<const std::byte> header, uint64_t file_offset,
                           const std::string& what) {
  const std::size_t n = header.size() - 8;
  const uint64_t stored = load_le<uint64_t>(header.data() + n);
  const uint64_t actual = xxh3(header.data(), n);
  if (stored != actual) {
    format_error(file_offset, what,
                 wick::detail::cat("header checksum mismatch: stored ", hex64(stored),
                                   ", computed ", hex64(actual)),
                 hex64(stored), hex64(actual));
  }
}

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

std::size_t encode_tensor_header(uint32_t id, DType dtype, const Shape& shape,
                                 uint64_t payload_size,
                                 std::span<std::byte, kMaxRecordHeader> out) {
  const std::size_t h = tensor_header_size(shape.size());
  std::byte* b = out.data();
  std::memset(b, 0, h);
  store_le<uint32_t>(b, kKindTensor);
  store_le<uint16_t>(b + 6, static_cast<uint16_t>(h));
  store_le<uint64_t>(b + 8, payload_size);
  store_le<uint32_t>(b + 16, id);
  b[20] = static_cast<std::byte>(dtype);
  b[21] = static_cast<std::byte>(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    store_le<uint64_t>(b + 24 + 8 * i, static_cast<uint64_t>(shape[i]));
  }
  store_le<uint64_t>(b + h - 8, xxh3(b, h - 8));
  return h;
}

uint32_t decode_tensor_header(std::span<const std::byte> b, uint64_t file_offset,
                              TensorEntry& out) {
  const std::string what = "tensor record header";
  check_header_checksum(b, file_offset, what);
  const RecordPrefix p = decode_prefix(b, file_offset);
  if (p.kind != kKindTensor) {
    format_error(file_offset, what,
                 wick::detail::cat("record kind ", p.kind, ", expected ", kKindTensor));
  }
  if (p.flags != 0) format_error(file_offset + 4, what, "tensor records cannot be optional");
  const uint32_t id = load_le<uint32_t>(b.data() + 16);
  const auto code = static_cast<uint8_t>(b[20]);
  const auto rank = static_cast<uint8_t>(b[21]);
  const auto dtype = dtype_from_code(code);
  if (!dtype)
    format_error(file_offset + 20, what, wick::detail::cat("unknown dtype code ", int{code}));
  if (rank > kMaxRank) {
    format_error(file_offset + 21, what,
                 wick::detail::cat("rank ", int{rank}, " exceeds ", kMaxRank));
  }
  if (p.header_size != tensor_header_size(rank)) {
    format_error(file_offset + 6, what,
                 wick::detail::cat("header size ", p.header_size, " for rank ", int{rank},
                                   ", expected ", tensor_header_size(rank)));
  }
  check_zero(b.subspan(22, 2), file_offset + 22, "tensor record reserved bytes");
  Shape shape(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const uint64_t d = load_le<uint64_t>(b.data() + 24 + 8 * i);
    if (d > static_cast<uint64_t>(INT64_MAX)) {
      format_error(file_offset + 24 + 8 * i, what,
                   wick::detail::cat("size ", d, " exceeds 2^63-1"));
    }
    shape[i] = static_cast<int64_t>(d);
  }
  const std::size_t dims_end = 24 + 8 * std::size_t{rank};
  check_zero(b.subspan(dims_end, p.header_size - 8 - dims_end), file_offset + dims_end,
             "tensor record padding");
  const uint64_t expected = payload_bytes(*dtype, shape, file_offset);
  if (expected != p.payload_size) {
    format_error(file_offset + 8, what,
                 wick::detail::cat("payload size ", p.payload_size, " but ", dtype_name(*dtype),
                                   " ", shape_str(shape), " needs ", expected));
  }
  out.record_offset = file_offset;
  out.payload_size = p.payload_size;
  out.dtype = *dtype;
  out.shape = std::move(shape);
  return id;
}

std::array<std::byte, 64> encode_index_header(uint64_t payload_size, uint64_t checksum) {
  std::array<std::byte, 64> b{};
  store_le<uint32_t>(b.data(), kKindIndex);
  store_le<uint16_t>(b.data() + 6, 64);
  store_le<uint64_t>(b.data() + 8, payload_size);
  store_le<uint64_t>(b.data() + 16, checksum);
  store_le<uint64_t>(b.data() + 56, xxh3(b.data(), 56));
  return b;
}

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

void encode_metadata(ByteWriter& w, const Dict& metadata) {
  w.u32(static_cast<uint32_t>(metadata.size()));
  for (const auto& [key, v] : metadata) {
    WICK_CHECK(!key.empty() && key.find('\0') == std::string::npos, ArgumentError,
               "save: metadata key '", key, "' must be non-empty and contain no NUL byte");
    w.string(key);
    WICK_CHECK(encode_scalar(w, v), ArgumentError, "save: metadata '", key, "' is a ",
               kind_name(v.kind()), "; metadata values must be none, bool, int, float or string");
  }
}

void encode_table_row(ByteWriter& w, const TensorEntry& e) {
  w.u64(e.record_offset);
  w.u64(e.payload_size);
  w.u64(e.checksum);
  w.u8(static_cast<uint8_t>(e.dtype));
  w.u8(static_cast<uint8_t>(e.shape.size()));
  for (const int64_t d : e.shape)
    w.u64(static_cast<uint64_t>(d));
}

namespace {
// Reads one scalar value's contents after its tag (tags 0-5). A string value stays in the
// payload: `node` records where.
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
  const uint32_t size = load_le<uint32_t>(index.payload.data() + at - 4);
  return {reinterpret_cast<const char*>(index.payload.data()) + at, size};
}

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
        format_error(payload_offset + std::next(dup)->at - 4, "index",
                     wick::detail::cat("duplicate dict key '", key_of(*dup), "'"));
      }
    }
    group = end;
  }
}

void decode_metadata(ByteReader& r, Index& index) {
  const uint32_t n_meta = r.u32();
  r.need(uint64_t{n_meta} * 5, "metadata entries");
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
      format_error(r.offset() - 1, "index",
                   wick::detail::cat("metadata '", key, "' has tag ", static_cast<int>(tag),
                                     "; metadata values are tags 0-5"));
    }
    index.metadata.insert(std::move(key), scalar_value(index, node));
  }
}

// FORMAT.md "Values": one pass over the value tree, pre-order, with an explicit stack of open
// containers. The first pass (`out` null) checks every rule and counts the nodes; the second
// fills exactly that many, so the tree costs 32 bytes per value with no growth slack.
uint64_t walk_value_tree(ByteReader& r, const Index& index, uint64_t file_offset,
                         std::vector<FlatNode>* out) {
  struct Open {
    uint32_t left;
    bool is_dict;
    std::vector<KeySeen> keys;
  };
  std::vector<Open> stack;
  uint64_t count = 0;
  while (true) {
    FlatNode node;
    if (!stack.empty() && stack.back().is_dict) {
      const uint64_t at = r.offset();
      const std::string_view key = r.view("dict key");
      if (key.find('\0') != std::string::npos) {
        format_error(at, "index", "dict key contains a NUL byte");
      }
      node.key_at = r.position() - key.size();
      node.key_size = static_cast<uint32_t>(key.size());
      if (!out)
        stack.back().keys.push_back(KeySeen{std::hash<std::string_view>{}(key), node.key_at});
    }
    const uint64_t at = r.offset();
    const auto tag = static_cast<Tag>(r.u8());
    if (!read_scalar(r, tag, node, "string value")) {
      node.tag = tag;
      if (tag == Tag::Tensor) {
        node.n = r.u32();
      } else if (tag == Tag::List || tag == Tag::Dict) {
        node.n = r.u32();
        // Each list item takes at least 1 byte, each dict entry at least 5.
        r.need(uint64_t{node.n} * (tag == Tag::Dict ? 5 : 1), "container items");
        if (stack.size() >= static_cast<std::size_t>(kMaxDepth)) {
          format_error(at, "index",
                       wick::detail::cat("nesting deeper than ", kMaxDepth, " levels"));
        }
      } else {
        format_error(at, "index", wick::detail::cat("unknown value tag ", static_cast<int>(tag)));
      }
    }
    if (count >= UINT32_MAX) format_error(at, "index", "more than 2^32-1 values in the tree");
    ++count;
    if (out) out->push_back(node);
    if ((node.tag == Tag::List || node.tag == Tag::Dict) && node.n > 0) {
      stack.push_back(Open{node.n, node.tag == Tag::Dict, {}});
      continue;
    }
    // Close every container this item completes.
    while (true) {
      if (stack.empty()) return count;
      if (--stack.back().left > 0) break;
      if (!out) refuse_duplicate_keys(stack.back().keys, index, file_offset);
      stack.pop_back();
    }
  }
}

void decode_value_tree(ByteReader& r, Index& index, uint64_t file_offset) {
  ByteReader counting = r;
  const uint64_t count = walk_value_tree(counting, index, file_offset, nullptr);
  index.tree.reserve(static_cast<std::size_t>(count));
  walk_value_tree(r, index, file_offset, &index.tree);
}

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
    format_error(at + 24, "index",
                 wick::detail::cat("tensor ", i, ": unknown dtype code ", int{code}));
  if (rank > kMaxRank)
    format_error(at + 25, "index", wick::detail::cat("tensor ", i, ": rank ", int{rank}));
  e.dtype = *dtype;
  r.need(uint64_t{rank} * 8, "tensor sizes");
  e.shape.resize(rank);
  for (auto& d : e.shape) {
    const uint64_t v = r.u64();
    if (v > static_cast<uint64_t>(INT64_MAX))
      format_error(at, "index", "tensor size exceeds 2^63-1");
    d = static_cast<int64_t>(v);
  }
  if (payload_bytes(e.dtype, e.shape, at) != e.payload_size) {
    format_error(
        at, "index",
        wick::detail::cat("tensor ", i, ": payload size ", e.payload_size, " does not match ",
                          dtype_name(e.dtype), " ", shape_str(e.shape)));
  }
  return e;
}

void decode_tensor_table(ByteReader& r, Index& index) {
  const uint32_t n_tensors = r.u32();
  r.need(uint64_t{n_tensors} * 26, "tensor table");
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
  if (r.remaining() != 0) {
    format_error(r.offset(), "index",
                 wick::detail::cat(r.remaining(), " unexpected bytes after the tensor table"));
  }
}

// Every tensor id in range, every tensor referenced.
void cross_check_tensor_ids(const Index& index, uint64_t file_offset) {
  const std::size_t n_tensors = index.tensors.size();
  std::vector<bool> used(n_tensors, false);
  for (const auto& n : index.tree) {
    if (n.tag != Tag::Tensor) continue;
    if (n.n >= n_tensors) {
      format_error(file_offset, "index",
                   wick::detail::cat("value refers to tensor ", n.n, " but the file has ",
                                     n_tensors, " tensors"));
    }
    used[n.n] = true;
  }
  for (std::size_t i = 0; i < n_tensors; ++i) {
    if (!used[i])
      format_error(file_offset, "index",
                   wick::detail::cat("tensor ", i, " is not referenced by the value tree"));
  }
}
}  // namespace

// FORMAT.md "Kind 2: index": metadata, value tree, tensor table, nothing else; then the
// cross-checks between the tree and the table.
Index decode_index(std::vector<std::byte> payload, uint64_t file_offset) {
  Index index;
  index.payload = std::move(payload);
  ByteReader r(index.payload, file_offset, "index");
  decode_metadata(r, index);
  decode_value_tree(r, index, file_offset);
  decode_tensor_table(r, index);
  cross_check_tensor_ids(index, file_offset);
  return index;
}

Value build_value(const Index& index, const std::vector<Tensor>& tensors) {
  struct Open {
    Value value;
    std::string key;
    uint32_t left;
  };
  std::vector<Open> stack;
  Value root;
  for (const FlatNode& n : index.tree) {
    Value v;
    if (n.tag == Tag::Tensor) {
      v = tensors[n.n];
    } else if (n.tag == Tag::List) {
      v = List{};
      v.list().reserve(n.n);
    } else if (n.tag == Tag::Dict) {
      v = Dict{};
    } else {
      v = scalar_value(index, n);
    }
    if ((n.tag == Tag::List || n.tag == Tag::Dict) && n.n > 0) {
      stack.push_back(Open{std::move(v), std::string(index.key(n)), n.n});
      continue;
    }
    // Attach v (and every container it completes) to its parent.
    std::string key(index.key(n));
    while (true) {
      if (stack.empty()) {
        root = std::move(v);
        break;
      }
      Open& parent = stack.back();
      if (parent.value.is_dict()) {
        parent.value.dict().insert(std::move(key), std::move(v));
      } else {
        parent.value.list().push_back(std::move(v));
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
