#pragma once
// Private: the byte layout of io/FORMAT.md — constants, little-endian encoding, checksums, and
// bounds-checked decoding of headers, trailers and the index.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "wick/core/dtype.h"
#include "wick/core/shape.h"
#include "wick/core/value.h"

namespace wick::io::detail {

inline constexpr std::array<uint8_t, 8> kMagic = {0x89, 'W', 'I', 'C', 'K', '\r', '\n', 0x1a};
inline constexpr std::array<uint8_t, 8> kEndMagic = {'W', 'I', 'C', 'K', 'E', 'N', 'D', '\n'};
// Note [format version]: the version this writer writes and the newest this reader knows.
// Bump it only when the bytes change, and log why here and in FORMAT.md "Version history"
// (which also says what readers do with other versions); FORMAT.md "Changing the format" lists
// everything that changes with it.
//   1.0  the first version (wick 0.1.0).
//   2.0  tuples (tag 9) and dicts with int keys (tag 10), so that everything torch.save keeps
//        in a checkpoint (optimizer state keyed by parameter index, Adam's betas) round-trips.
//        A major: a 1.x reader refuses tags it does not know, and only a major makes it name
//        the versions. Writers still write 1.0 when a value needs nothing newer. From 2.0 on
//        a reader that refuses a file of a newer minor names both versions
//        (rethrow_with_version), so an addition older readers refuse may take a minor.
//   2.1  views (tag 11) and the view table (index part 4): tensors of one value that view one
//        storage are written as one record and loaded as views of one buffer, as torch.save
//        does. A minor: a 2.0 reader refuses tag 11 naming both versions. Writers write 2.1
//        only when some storage is shared.
inline constexpr uint16_t kMajor = 2;
inline constexpr uint16_t kMinor = 1;
/// A format version, major.minor (FORMAT.md "Version history").
struct Version {
  uint16_t major = kMajor;
  uint16_t minor = kMinor;
  friend auto operator<=>(const Version&, const Version&) = default;
};
/// 1.0: the version of a file whose values use only 1.0's tags (the writer's choice then).
inline constexpr Version kVersion1{1, 0};
/// 2.0: tuples and dicts with int keys.
inline constexpr Version kVersion2{2, 0};
/// 2.1: views sharing a record (tag 11, index part 4).
inline constexpr Version kVersionViews{2, 1};

inline constexpr uint32_t kByteOrderMark = 0x01020304;
inline constexpr std::size_t kFileHeaderSize = 64;
inline constexpr std::size_t kTrailerSize = 64;
inline constexpr std::size_t kAlign = 64;
inline constexpr std::size_t kPrefixSize = 16;  // kind, flags, header size, payload size
inline constexpr std::size_t kMinRecordHeader = 64;
inline constexpr std::size_t kMaxRecordHeader = 512;
inline constexpr std::size_t kIndexHeaderSize = 64;  // FORMAT.md "Kind 2: index": H = 64
inline constexpr uint32_t kKindTensor = 1;
inline constexpr uint32_t kKindIndex = 2;
inline constexpr uint16_t kFlagOptional = 1;
inline constexpr int kMaxRank = 32;

// Field layout: one constant per row of FORMAT.md's tables, shared by every encoder and decoder,
// so that no offset is written twice. The static_asserts check each table against its
// structure's size: the fields follow each other with no gap and end where the structure does.

/// A fixed-size field of a FORMAT.md table: its "offset" and "size" columns, in bytes from the
/// start of its structure.
struct Field {
  std::size_t offset;
  std::size_t size;
  constexpr std::size_t end() const noexcept { return offset + size; }
};

/// True when `fields` lie one after the other with no gap from `begin` to `end`.
constexpr bool tiles(std::initializer_list<Field> fields, std::size_t begin, std::size_t end) {
  for (const Field& f : fields) {
    if (f.offset != begin) return false;
    begin = f.end();
  }
  return begin == end;
}

/// Reads field `F` of a structure; `T` must be as wide as FORMAT.md's table says.
template <class T, Field F>
T load_field(std::span<const std::byte> bytes) noexcept {
  static_assert(sizeof(T) == F.size, "the type does not have the field's size in FORMAT.md");
  return load_le<T>(bytes.data() + F.offset);
}

/// Writes field `F` of a structure; `T` must be as wide as FORMAT.md's table says.
template <class T, Field F>
void store_field(std::span<std::byte> bytes, T v) noexcept {
  static_assert(sizeof(T) == F.size, "the type does not have the field's size in FORMAT.md");
  store_le<T>(bytes.data() + F.offset, v);
}

// FORMAT.md "File header (64 bytes)".
namespace file_header {
inline constexpr Field kMagic{0, 8};
inline constexpr Field kMajor{8, 2};
inline constexpr Field kMinor{10, 2};
inline constexpr Field kByteOrderMark{12, 4};
inline constexpr Field kHeaderSize{16, 4};
inline constexpr Field kFlags{20, 4};      // reserved (0)
inline constexpr Field kProducer{24, 32};  // NUL-padded ASCII
inline constexpr Field kChecksum{56, 8};   // xxh3 of every byte before it
static_assert(tiles({kMagic, kMajor, kMinor, kByteOrderMark, kHeaderSize, kFlags, kProducer,
                     kChecksum},
                    0, kFileHeaderSize));
static_assert(kMagic.size == detail::kMagic.size());
}  // namespace file_header

// FORMAT.md "Records": the prefix every record header starts with, the header checksum every
// one ends with, and the payload checksum of every kind but tensor.
namespace record {
inline constexpr Field kKind{0, 4};
inline constexpr Field kFlags{4, 2};
inline constexpr Field kHeaderSize{6, 2};
inline constexpr Field kPayloadSize{8, 8};
inline constexpr Field kPayloadChecksum{16, 8};  // every kind but tensor
/// The header checksum: the last 8 bytes of a header of `header_size` bytes, over those before.
inline constexpr std::size_t kHeaderChecksumSize = 8;
constexpr std::size_t header_checksum_at(std::size_t header_size) noexcept {
  return header_size - kHeaderChecksumSize;
}
static_assert(tiles({kKind, kFlags, kHeaderSize, kPayloadSize}, 0, kPrefixSize));
static_assert(kPayloadChecksum.offset == kPrefixSize);
}  // namespace record

// FORMAT.md "Kind 1: tensor": the fields after the prefix; the sizes (8 bytes each, outermost
// first) run from kSizes.offset to zero padding up to the header checksum.
namespace tensor_header {
inline constexpr Field kId{16, 4};
inline constexpr Field kDtype{20, 1};
inline constexpr Field kRank{21, 1};
inline constexpr Field kReserved{22, 2};
inline constexpr Field kSizes{24, 8};  // one dimension's size; dimension i at size_at(i)
constexpr std::size_t size_at(std::size_t i) noexcept {
  return kSizes.offset + kSizes.size * i;
}
static_assert(tiles({kId, kDtype, kRank, kReserved}, kPrefixSize, kSizes.offset));
}  // namespace tensor_header

// FORMAT.md "Kind 2: index": the index record header (H = kIndexHeaderSize).
namespace index_header {
inline constexpr Field kPayloadChecksum = record::kPayloadChecksum;
inline constexpr Field kReserved{24, 32};
inline constexpr Field kChecksum{56, 8};
static_assert(tiles({kPayloadChecksum, kReserved, kChecksum}, kPrefixSize, kIndexHeaderSize));
static_assert(kChecksum.offset == record::header_checksum_at(kIndexHeaderSize));
}  // namespace index_header

// FORMAT.md "Kind 2: index", part 3, tensor table: one row, from the row's start. The sizes
// (8 bytes each) follow the fixed part.
namespace table_row {
inline constexpr Field kRecordOffset{0, 8};
inline constexpr Field kPayloadSize{8, 8};
inline constexpr Field kChecksum{16, 8};
inline constexpr Field kDtype{24, 1};
inline constexpr Field kRank{25, 1};
inline constexpr Field kSizes{26, 8};  // one dimension's size
/// Bytes of a row of rank 0: every row takes at least this many.
inline constexpr std::size_t kFixedSize = kRank.end();
static_assert(tiles({kRecordOffset, kPayloadSize, kChecksum, kDtype, kRank}, 0, kFixedSize));
static_assert(kSizes.offset == kFixedSize);
}  // namespace table_row

// FORMAT.md "Kind 2: index", part 4 (2.1), view table: one row, from the row's start. The
// sizes (8 bytes each, outermost first), then as many strides (8 bytes each), follow the fixed
// part.
namespace view_row {
inline constexpr Field kRecord{0, 4};  // the tensor id whose record holds the elements
inline constexpr Field kOffset{4, 8};  // in elements, from the record's first
inline constexpr Field kRank{12, 1};
inline constexpr Field kSizes{13, 8};  // one dimension's size; the strides follow the sizes
/// Bytes of a row of rank 0: every row takes at least this many.
inline constexpr std::size_t kFixedSize = kRank.end();
static_assert(tiles({kRecord, kOffset, kRank}, 0, kFixedSize));
static_assert(kSizes.offset == kFixedSize);
}  // namespace view_row

// FORMAT.md "Values" (and "Conventions" for strings): the smallest encodings, which bound every
// count before anything is allocated.
namespace values {
inline constexpr std::size_t kTagSize = 1;
inline constexpr std::size_t kLengthSize = 4;  // a string's u32 length, just before its bytes
/// A list or tuple item: at least its tag.
inline constexpr std::size_t kMinItem = kTagSize;
/// A dict entry (tag 8) or metadata entry: at least an empty key's length and a tag.
inline constexpr std::size_t kMinEntry = kLengthSize + kTagSize;
/// A tag-10 dict entry: at least a key tag, an empty string key's length and a tag.
inline constexpr std::size_t kMinTypedEntry = kTagSize + kLengthSize + kTagSize;
}  // namespace values

// FORMAT.md "Trailer (64 bytes)".
namespace trailer {
inline constexpr Field kIndexOffset{0, 8};
inline constexpr Field kFileSize{8, 8};
inline constexpr Field kIndexChecksum{16, 8};
inline constexpr Field kMajor{24, 2};
inline constexpr Field kMinor{26, 2};
inline constexpr Field kReserved{28, 20};
inline constexpr Field kChecksum{48, 8};  // xxh3 of every byte before it
inline constexpr Field kEndMagic{56, 8};
static_assert(tiles({kIndexOffset, kFileSize, kIndexChecksum, kMajor, kMinor, kReserved, kChecksum,
                     kEndMagic},
                    0, kTrailerSize));
static_assert(kEndMagic.size == detail::kEndMagic.size());
}  // namespace trailer

/// Value tags in the index (FORMAT.md "Values").
enum class Tag : uint8_t {
  None = 0,
  False = 1,
  True = 2,
  Int = 3,
  Float = 4,
  String = 5,
  Tensor = 6,
  List = 7,
  Dict = 8,        // string keys
  Tuple = 9,       // since 2.0
  KeyedDict = 10,  // since 2.0: each key an int (tag 3) or a string (tag 5), at least one int
  View = 11        // since 2.1: a row of the view table
};

/// The first format version that has `tag` (FORMAT.md "Values").
constexpr Version version_of(Tag tag) noexcept {
  if (tag == Tag::View) return kVersionViews;
  return tag == Tag::Tuple || tag == Tag::KeyedDict ? kVersion2 : kVersion1;
}
/// "tuple", "dict with int keys", "view": what a tag newer than 1.0 holds, for messages.
const char* tag_name(Tag tag) noexcept;
/// Tags whose value is a tensor: a record (6) or a view of one (11).
constexpr bool is_tensor_tag(Tag tag) noexcept {
  return tag == Tag::Tensor || tag == Tag::View;
}
/// Tags whose items are keyed (dicts) and tags whose items are in order (lists, tuples).
constexpr bool is_dict_tag(Tag tag) noexcept {
  return tag == Tag::Dict || tag == Tag::KeyedDict;
}
constexpr bool is_sequence_tag(Tag tag) noexcept {
  return tag == Tag::List || tag == Tag::Tuple;
}

/// Bytes of zero padding after `n` to reach a multiple of 64.
constexpr uint64_t pad64(uint64_t n) noexcept {
  return (kAlign - n % kAlign) % kAlign;
}

/// "0x0123456789abcdef": how checksums appear in error messages.
std::string hex64(uint64_t v);
/// FORMAT.md "Conventions": strings are UTF-8. The index of the first byte of `s` that does
/// not start a valid UTF-8 sequence (overlong forms, surrogates and code points above U+10FFFF
/// are invalid, as in Python's strict decoder), or std::string_view::npos when `s` is valid.
std::size_t utf8_error(std::string_view s) noexcept;
/// Throws the native decoder's FormatError: subject "wick file", `what` as its structure, the
/// offset, and what the format expects against what the file holds when the caller knows them.
/// Renders as "wick file: <what> at offset <offset>: <msg>".
[[noreturn]] void format_error(uint64_t offset, const std::string& what, const std::string& msg,
                               std::string expected = {}, std::string found = {});
/// Rethrows a format_error() from a decoder that did not know the file with the file's name
/// filled in ("wick file <file>: <what> at offset ..."). Decoders know offsets; the caller knows
/// which file they read. Other errors are rethrown as they are.
[[noreturn]] void rethrow_naming_file(const FormatError& e, const std::string& file);
/// Rethrows a format_error() met in a file of version `v`: when `v` is a newer minor of this
/// reader's major, with both versions added to the message, since what this reader does not
/// know may be what that version added (FORMAT.md "Version history"). Otherwise unchanged.
[[noreturn]] void rethrow_with_version(const FormatError& e, Version v);

/// XXH3-64, seed 0, on xxHash's runtime-dispatched vector path.
uint64_t xxh3(const void* data, std::size_t n) noexcept;

/// Incremental XXH3-64; gives the same result as xxh3() over the concatenated bytes.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void reset() noexcept;
  void update(const void* data, std::size_t n) noexcept;
  uint64_t digest() const noexcept;

 private:
  void* state_;  // XXH3_state_t, kept out of this header
};

/// Appends little-endian fields to a growing buffer.
class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(static_cast<std::byte>(v)); }
  void u16(uint16_t v) { put(v); }
  void u32(uint32_t v) { put(v); }
  void u64(uint64_t v) { put(v); }
  void i64(int64_t v) { put(v); }
  void f64(double v) { put(std::bit_cast<uint64_t>(v)); }
  void string(std::string_view s);  // FORMAT.md "Conventions": u32 length, then the bytes
  void bytes(const void* p, std::size_t n);
  void zeros(std::size_t n) { buf_.resize(buf_.size() + n, std::byte{0}); }
  const std::vector<std::byte>& buffer() const noexcept { return buf_; }
  std::size_t size() const noexcept { return buf_.size(); }

 private:
  template <class T>
  void put(T v) {
    const std::size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    store_le(buf_.data() + at, v);
  }
  std::vector<std::byte> buf_;
};

/// Reads little-endian fields from a byte span; every read is bounds-checked and a short read
/// throws FormatError naming `what_` and the absolute file offset.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, uint64_t file_offset, std::string what)
      : bytes_(bytes), base_(file_offset), what_(std::move(what)) {}
  uint8_t u8() { return get<uint8_t>("u8"); }
  uint16_t u16() { return get<uint16_t>("u16"); }
  uint32_t u32() { return get<uint32_t>("u32"); }
  uint64_t u64() { return get<uint64_t>("u64"); }
  int64_t i64() { return get<int64_t>("i64"); }
  double f64() { return std::bit_cast<double>(get<uint64_t>("f64")); }
  /// FORMAT.md "Conventions": a u32-length-prefixed string, as a view into the bytes read;
  /// FormatError at its length field unless it is UTF-8.
  std::string_view view(const char* field);
  /// Throws unless `n` more bytes remain.
  void need(uint64_t n, const char* field) const;
  uint64_t remaining() const noexcept { return bytes_.size() - pos_; }
  uint64_t offset() const noexcept { return base_ + pos_; }
  /// Bytes consumed so far (the position within the bytes, not the file).
  uint64_t position() const noexcept { return pos_; }
  const std::string& what() const noexcept { return what_; }

 private:
  template <class T>
  T get(const char* field) {
    need(sizeof(T), field);
    const T v = load_le<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
  uint64_t base_;
  std::string what_;
};

/// Throws FormatError unless every byte of `bytes` is zero (padding and reserved space).
/// FORMAT.md "Conventions": padding and reserved fields are zero.
void check_zero(std::span<const std::byte> bytes, uint64_t file_offset, const char* what);

/// Producer string written into headers: "wick <version>".
std::string producer_string();

struct FileHeader {
  uint16_t major = kMajor;
  uint16_t minor = kMinor;
  std::string producer;
  Version version() const noexcept { return {major, minor}; }
};
/// FORMAT.md "File header (64 bytes)", for a file of format `v`.
std::array<std::byte, kFileHeaderSize> encode_file_header(Version v);
/// FORMAT.md "File header (64 bytes)" (and "Version history" for what a version means).
/// Validates magic, byte order, sizes and checksum; refuses a newer major naming both versions.
FileHeader decode_file_header(std::span<const std::byte, kFileHeaderSize> bytes);

struct Trailer {
  uint64_t index_offset = 0;
  uint64_t file_size = 0;
  uint64_t index_checksum = 0;
  uint16_t major = kMajor;
  uint16_t minor = kMinor;
};
/// FORMAT.md "Trailer (64 bytes)".
std::array<std::byte, kTrailerSize> encode_trailer(const Trailer& t);
/// FORMAT.md "Trailer (64 bytes)".
/// Validates end magic, checksum and reserved bytes; `file_offset` is where the trailer starts.
Trailer decode_trailer(std::span<const std::byte, kTrailerSize> bytes, uint64_t file_offset);

/// The part of a record header every kind shares.
struct RecordPrefix {
  uint32_t kind = 0;
  uint16_t flags = 0;
  uint16_t header_size = 0;
  uint64_t payload_size = 0;
};
/// "tensor record header", "index record header" or "record header (kind N)", for messages.
std::string record_header_name(uint32_t kind);
/// FORMAT.md "Records": decodes and sanity-checks the prefix (the first kPrefixSize bytes) of
/// a record at `file_offset`.
RecordPrefix decode_prefix(std::span<const std::byte> bytes, uint64_t file_offset);
/// FORMAT.md "Records": verifies the checksum in the last 8 bytes of a whole record header.
void check_header_checksum(std::span<const std::byte> header, uint64_t file_offset,
                           const std::string& what);

/// What the index says about one tensor record (and what the record itself says).
struct TensorEntry {
  uint64_t record_offset = 0;
  uint64_t payload_size = 0;
  uint64_t checksum = 0;
  DType dtype = DType::Float32;
  Shape shape;
};

/// FORMAT.md "Kind 2: index", part 4: one view, elements of record `record` from `offset` on.
struct ViewEntry {
  uint32_t record = 0;
  uint64_t offset = 0;  // elements
  Shape shape;
  Shape strides;  // elements
};

/// The elements of a record a view reaches: [first, end), end = first when it has none.
struct ElementSpan {
  uint64_t first = 0;
  uint64_t end = 0;
};
/// The span of a view with these sizes and (non-negative) strides from `offset`; nullopt when
/// the last element overflows 2^63-1.
std::optional<ElementSpan> element_span(uint64_t offset, const Shape& shape, const Shape& strides);
/// True when these strides are row-major for these sizes, whatever the strides of size-1
/// dimensions (which reach no other element).
bool is_row_major(const Shape& shape, const Shape& strides) noexcept;
/// The strides with those of size-1 dimensions set to 0: two views with the same sizes reach
/// the same elements exactly when these agree (FORMAT.md "Kind 2: index", part 4).
Shape layout_strides(const Shape& shape, const Shape& strides);
/// True when no two indices of a view with these sizes and non-negative strides reach one
/// element, by the rule of FORMAT.md "Kind 2: index", part 4: sorted by stride, each dimension
/// of size > 1 steps past everything the smaller ones reach.
bool steps_past_smaller_dims(const Shape& shape, const Shape& strides);

/// FORMAT.md "Kind 1: tensor": header size of a tensor record of rank `rank`, the sizes and the
/// header checksum rounded up to 64 (H = 64 * ceil((32 + 8r) / 64)).
constexpr std::size_t tensor_header_size(std::size_t rank) noexcept {
  const std::size_t used = tensor_header::size_at(rank) + record::kHeaderChecksumSize;
  return (used + kAlign - 1) / kAlign * kAlign;
}
static_assert(tensor_header_size(0) == 64 && tensor_header_size(4) == 64 &&
              tensor_header_size(5) == 128 && tensor_header_size(12) == 128 &&
              tensor_header_size(kMaxRank) <= kMaxRecordHeader);
/// FORMAT.md "Kind 1: tensor". Writes the whole header of tensor record `id` into `out`; returns
/// its size.
std::size_t encode_tensor_header(uint32_t id, DType dtype, const Shape& shape,
                                 uint64_t payload_size, std::span<std::byte, kMaxRecordHeader> out);
/// FORMAT.md "Kind 1: tensor". Decodes a verified-size tensor header (prefix included) and checks
/// it against `expected` (the index row) when given. Returns the tensor id.
uint32_t decode_tensor_header(std::span<const std::byte> header, uint64_t file_offset,
                              TensorEntry& out);

/// FORMAT.md "Kind 1: tensor": payload bytes of a tensor of this dtype and shape; FormatError
/// on overflow (or past the 2^62 rule).
uint64_t payload_bytes(DType dtype, const Shape& shape, uint64_t file_offset);

/// FORMAT.md "Kind 2: index": the whole header of the index record.
std::array<std::byte, kIndexHeaderSize> encode_index_header(uint64_t payload_size,
                                                            uint64_t checksum);

/// The value tree of an index, flattened in pre-order so it is built and walked without
/// recursion. Lists and dicts record their item count; their items follow them. Keys and
/// string values stay in the index payload (Index::key/text), so a node costs 32 bytes however
/// long its key: a hostile index of one-byte values costs 32 bytes per byte of file while it is
/// checked (FORMAT.md "Bounds").
struct FlatNode {
  uint64_t key_at = 0;    // offset of the key in Index::payload, or an int key's bits
  uint64_t bits = 0;      // int, float (bit pattern), or offset of the string value in the payload
  uint32_t key_size = 0;  // 0 for list items, the root and int keys
  uint32_t n = 0;         // list/tuple/dict: item count; tensor: id; string: byte count
  Tag tag = Tag::None;
  bool int_key = false;  // an item of a tag-10 dict whose key is an int (in key_at)
};
static_assert(sizeof(FlatNode) == 32, "FORMAT.md's memory bound counts 32 bytes per value");

/// A decoded index payload; it owns the payload its tree points into.
struct Index {
  std::vector<std::byte> payload;
  Dict metadata;
  std::vector<FlatNode> tree;
  std::vector<TensorEntry> tensors;
  std::vector<ViewEntry> views;  // 2.1 files only

  /// The record whose elements a tensor node (tag 6 or 11) holds or views.
  uint32_t record_of(const FlatNode& n) const noexcept {
    return n.tag == Tag::View ? views[n.n].record : n.n;
  }
  /// The shape of a tensor node (tag 6 or 11).
  const Shape& shape_of(const FlatNode& n) const noexcept {
    return n.tag == Tag::View ? views[n.n].shape : tensors[n.n].shape;
  }

  /// Room for an int key's decimal digits.
  using KeyDigits = std::array<char, 20>;
  /// A dict item's key as a path step (FORMAT.md "Tree paths"): a string key as it is, an
  /// int key in decimal, written into `digits`.
  std::string_view key(const FlatNode& n, KeyDigits& digits) const noexcept;
  /// A dict item's key as a Key.
  Key key_value(const FlatNode& n) const;
  /// A string key's bytes (not for int keys).
  std::string_view key_text(const FlatNode& n) const noexcept { return view(n.key_at, n.key_size); }
  std::string_view text(const FlatNode& n) const noexcept { return view(n.bits, n.n); }

 private:
  std::string_view view(uint64_t at, uint32_t size) const noexcept {
    return {reinterpret_cast<const char*>(payload.data()) + at, size};
  }
};

/// FORMAT.md "Values": encodes a none/bool/int/float/string value (tag and contents); false for
/// other kinds.
bool encode_scalar(ByteWriter& w, const Value& v);
/// FORMAT.md "Kind 2: index", part 1: encodes a metadata dict (scalar values only:
/// ArgumentError otherwise).
void encode_metadata(ByteWriter& w, const Dict& metadata);
/// FORMAT.md "Kind 2: index", part 3: encodes one tensor table row.
void encode_table_row(ByteWriter& w, const TensorEntry& e);
/// FORMAT.md "Kind 2: index", part 4: encodes one view table row.
void encode_view_row(ByteWriter& w, const ViewEntry& v);
/// FORMAT.md "Version history": the oldest format that holds `value` with what it shares: 2.1
/// when tensors of it share a storage (see ViewPlan), else 2.0 for a tuple or a dict with an
/// int key anywhere in it, else 1.0.
Version required_version(const Value& value);
/// FORMAT.md "Kind 2: index": parses and validates a whole index payload that starts at
/// `file_offset` (metadata, value tree, tensor table, then the cross-checks between them), in
/// a file of format `v` (which decides the value tags it may use).
Index decode_index(std::vector<std::byte> payload, uint64_t file_offset, Version v);

/// FORMAT.md "Kind 2: index", part 4: view `id` of the records in `tensors` (by id), over the
/// record's storage.
Tensor make_view(const Index& index, uint32_t id, const std::vector<Tensor>& tensors);
/// FORMAT.md "Values": rebuilds the Value tree of a decoded index, putting `tensors[id]` at each
/// tensor node and a view of the record's storage at each view node (made once per view).
Value build_value(const Index& index, const std::vector<Tensor>& tensors);

/// How a tree's nodes are named and found by path (FORMAT.md "Tree paths"), built on demand in
/// one pass over Index::tree. No path is materialised: a node's path is its parent chain, so the
/// table costs 24 bytes per node however long the keys above it (a full path per node would
/// cost the square of the file: one long key above many nodes).
struct PathTable {
  static constexpr uint32_t kNone = UINT32_MAX;
  std::shared_ptr<const Index> index;
  std::vector<uint32_t> parent;   // kNone for the root
  std::vector<uint32_t> ordinal;  // position among the parent's items
  std::vector<uint64_t> length;   // bytes of the node's JSON-pointer path
  std::vector<uint32_t> first;    // containers: where their items start in `children`
  /// Items of every container grouped by container: lists in order, dicts sorted by key.
  std::vector<uint32_t> children;

  /// The JSON pointer of `node` ("" for the root).
  std::string path(uint32_t node) const;
  /// The item of container `node` named by the unescaped `step`, or kNone.
  uint32_t child(uint32_t node, std::string_view step) const;
  /// The node named by `path` (JSON pointer), or kNone; ArgumentError for a malformed path.
  uint32_t find(std::string_view path) const;
  /// The tensor nodes whose keys joined by '.' (list items by index) spell `dotted`.
  std::vector<uint32_t> find_dotted(std::string_view dotted) const;
  /// Up to `max` tensor nodes whose path is at most kMaxEdits (fewer for short queries) edits
  /// from `query`, closest first, ties in tree order. The query is compared with each path's
  /// JSON pointer when it starts with '/', with its dotted spelling otherwise. Memory is
  /// O(query size) and time O(tree bytes): see paths.cpp.
  std::vector<uint32_t> close_tensors(std::string_view query, std::size_t max) const;
  /// The most edits close_tensors() allows.
  static constexpr uint32_t kMaxEdits = 4;
};

/// Builds the path table of `index`.
std::shared_ptr<const PathTable> build_path_table(std::shared_ptr<const Index> index);

/// "'/model/hidden.weight'": the path of the first place tensor `id` appears (or "#id"). Walks
/// the tree once: only error messages call it, so loads build no names.
std::string tensor_name(const Index& index, uint32_t id);

}  // namespace wick::io::detail
