#include "interop/zip_layout.h"

#include <algorithm>
#include <string_view>

#include "common/bytes.h"

namespace wick::io::detail {
namespace {

// APPNOTE 4.3.16: end of central directory record.
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kEndEntries = 10;   // total entries, 2 bytes
constexpr uint64_t kEndDirSize = 12;   // 4 bytes
constexpr uint64_t kEndDirStart = 16;  // 4 bytes
constexpr uint64_t kEndCommentSize = 20;
constexpr uint64_t kMaxComment = 0xFFFF;
// APPNOTE 4.3.15: zip64 end of central directory locator, just before the record above.
constexpr uint32_t kLocatorSignature = 0x07064b50;
constexpr uint64_t kLocatorSize = 20;
constexpr uint64_t kLocatorEnd64 = 8;  // offset of the zip64 record, 8 bytes
// APPNOTE 4.3.14: zip64 end of central directory record.
constexpr uint32_t kEnd64Signature = 0x06064b50;
constexpr uint64_t kEnd64Size = 56;
constexpr uint64_t kEnd64Entries = 32;   // 8 bytes
constexpr uint64_t kEnd64DirSize = 40;   // 8 bytes
constexpr uint64_t kEnd64DirStart = 48;  // 8 bytes
// APPNOTE 4.3.12: central directory file header.
constexpr uint32_t kDirSignature = 0x02014b50;
constexpr uint64_t kDirSize = 46;
constexpr uint64_t kDirCompSize = 20;  // 4 bytes
constexpr uint64_t kDirSizeField = 24;
constexpr uint64_t kDirNameSize = 28;
constexpr uint64_t kDirExtraSize = 30;
constexpr uint64_t kDirCommentSize = 32;
constexpr uint64_t kDirDiskStart = 34;
constexpr uint64_t kDirLocalStart = 42;  // 4 bytes
// APPNOTE 4.5.3: the zip64 extended information extra field; its 8-byte values appear only
// for the header fields that hold all ones, in this order.
constexpr uint16_t kZip64FieldId = 0x0001;
constexpr uint32_t kAllOnes32 = 0xFFFFFFFF;
constexpr uint16_t kAllOnes16 = 0xFFFF;
// APPNOTE 4.3.7: local file header.
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr uint64_t kLocalSize = 30;
constexpr uint64_t kLocalNameSize = 26;
constexpr uint64_t kLocalExtraSize = 28;

// Bounds-checked little-endian reads of the file.
class Bytes {
 public:
  explicit Bytes(std::span<const std::byte> file) : file_(file) {}
  uint64_t size() const { return file_.size(); }
  bool has(uint64_t off, uint64_t n) const { return off <= size() && n <= size() - off; }
  template <class T>
  T get(uint64_t off) const {
    return load_le<T>(file_.data() + off);  // callers checked has(off, sizeof(T))
  }
  std::string_view text(uint64_t off, uint64_t n) const {
    return {reinterpret_cast<const char*>(file_.data() + off), static_cast<std::size_t>(n)};
  }

 private:
  std::span<const std::byte> file_;
};

struct Directory {
  uint64_t entries = 0;
  uint64_t start = 0;
  uint64_t size = 0;
};

// The end record whose comment runs exactly to the end of the file, the last one if several
// do; its zip64 record when a locator precedes it.
std::optional<Directory> find_directory(const Bytes& b) {
  if (b.size() < kEndSize) return std::nullopt;
  const uint64_t lowest = b.size() - kEndSize - std::min(b.size() - kEndSize, kMaxComment);
  for (uint64_t pos = b.size() - kEndSize + 1; pos-- > lowest;) {
    if (b.get<uint32_t>(pos) != kEndSignature) continue;
    if (b.get<uint16_t>(pos + kEndCommentSize) != b.size() - pos - kEndSize) continue;
    Directory d{b.get<uint16_t>(pos + kEndEntries), b.get<uint32_t>(pos + kEndDirStart),
                b.get<uint32_t>(pos + kEndDirSize)};
    if (pos < kLocatorSize || b.get<uint32_t>(pos - kLocatorSize) != kLocatorSignature) return d;
    const auto end64 = b.get<uint64_t>(pos - kLocatorSize + kLocatorEnd64);
    if (!b.has(end64, kEnd64Size) || b.get<uint32_t>(end64) != kEnd64Signature) {
      return std::nullopt;
    }
    return Directory{b.get<uint64_t>(end64 + kEnd64Entries),
                     b.get<uint64_t>(end64 + kEnd64DirStart),
                     b.get<uint64_t>(end64 + kEnd64DirSize)};
  }
  return std::nullopt;
}

// A central directory header's compressed size and local header offset, each taken from the
// zip64 extra field when the header holds all ones.
struct Sizes {
  uint64_t comp_size = 0;
  uint64_t local = 0;
};

std::optional<Sizes> header_sizes(const Bytes& b, uint64_t pos) {
  Sizes s{b.get<uint32_t>(pos + kDirCompSize), b.get<uint32_t>(pos + kDirLocalStart)};
  const bool size64 = b.get<uint32_t>(pos + kDirSizeField) == kAllOnes32;
  const bool comp64 = s.comp_size == kAllOnes32;
  const bool local64 = s.local == kAllOnes32;
  if (!size64 && !comp64 && !local64) return s;
  uint64_t field = pos + kDirSize + b.get<uint16_t>(pos + kDirNameSize);
  const uint64_t end = field + b.get<uint16_t>(pos + kDirExtraSize);
  while (field + 4 <= end) {
    const auto id = b.get<uint16_t>(field);
    const auto len = b.get<uint16_t>(field + 2);
    uint64_t v = field + 4;
    if (v + len > end) return std::nullopt;
    if (id == kZip64FieldId) {
      const uint64_t need = 8 * (uint64_t{size64} + comp64 + local64);
      if (len < need) return std::nullopt;
      if (size64) v += 8;
      if (comp64) s.comp_size = b.get<uint64_t>(v), v += 8;
      if (local64) s.local = b.get<uint64_t>(v);
      return s;
    }
    field = v + len;
  }
  return std::nullopt;
}

// Where the data of the member whose local header is at `local` starts, when that header is
// one and names `name`, and its `comp_size` bytes end inside the file.
std::optional<uint64_t> data_start(const Bytes& b, uint64_t local, std::string_view name,
                                   uint64_t comp_size) {
  if (!b.has(local, kLocalSize) || b.get<uint32_t>(local) != kLocalSignature) return std::nullopt;
  const uint64_t name_size = b.get<uint16_t>(local + kLocalNameSize);
  const uint64_t data = local + kLocalSize + name_size + b.get<uint16_t>(local + kLocalExtraSize);
  if (!b.has(local + kLocalSize, name_size) || b.text(local + kLocalSize, name_size) != name ||
      !b.has(data, comp_size)) {
    return std::nullopt;
  }
  return data;
}

}  // namespace

std::optional<std::vector<uint64_t>> member_data_offsets(std::span<const std::byte> file,
                                                         const std::vector<ZipEntry>& entries) {
  const Bytes b(file);
  const std::optional<Directory> dir = find_directory(b);
  if (!dir || dir->entries != entries.size() || !b.has(dir->start, dir->size)) return std::nullopt;
  std::vector<uint64_t> offsets;
  offsets.reserve(entries.size());
  const uint64_t end = dir->start + dir->size;
  uint64_t pos = dir->start;
  for (const ZipEntry& e : entries) {
    if (pos + kDirSize > end || b.get<uint32_t>(pos) != kDirSignature) return std::nullopt;
    const uint64_t name_size = b.get<uint16_t>(pos + kDirNameSize);
    const uint64_t next = pos + kDirSize + name_size + b.get<uint16_t>(pos + kDirExtraSize) +
                          b.get<uint16_t>(pos + kDirCommentSize);
    // Archives split over disks are not read by libzip either.
    const uint16_t disk = b.get<uint16_t>(pos + kDirDiskStart);
    if (next > end || (disk != 0 && disk != kAllOnes16)) return std::nullopt;
    const std::optional<Sizes> s = header_sizes(b, pos);
    if (!s || s->comp_size != e.comp_size || b.text(pos + kDirSize, name_size) != e.name) {
      return std::nullopt;
    }
    const std::optional<uint64_t> data = data_start(b, s->local, e.name, e.comp_size);
    if (!data) return std::nullopt;
    offsets.push_back(*data);
    pos = next;
  }
  return offsets;
}

}  // namespace wick::io::detail
