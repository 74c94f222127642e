#pragma once
// Private: zip archives through libzip, for PyTorch checkpoints and .npz files. Every size an
// archive declares is checked before memory is allocated for it, and what members inflate to is
// bounded by the file: members may not share compressed bytes (their compressed sizes add up to
// at most the file's), each inflates at most 1032:1 (deflate's limit), and a member that would
// inflate more than 4:1 is first inflated through a small buffer, its size and CRC-32 checked,
// before memory is allocated for it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wick/core/storage.h"
#include "wick/io/options.h"

struct zip;
struct zip_file;

namespace wick::io::detail {

/// One member of an archive, as its central directory describes it.
struct ZipEntry {
  std::string name;
  uint64_t size = 0;       ///< uncompressed bytes
  uint64_t comp_size = 0;  ///< bytes in the archive
  bool deflated = false;   ///< deflate (else stored)
  uint32_t crc = 0;        ///< CRC-32 of the uncompressed bytes
};

class Mapping;

/// A read-only archive. Members must be stored or deflated; anything else (encrypted, bzip2,
/// ...) is refused when read.
class ZipReader {
 public:
  /// FormatError naming `op` and the path when libzip cannot open it as an archive.
  ZipReader(const std::filesystem::path& path, std::string op);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::vector<ZipEntry>& entries() const noexcept { return entries_; }
  /// Index of the member called `name`, if any.
  std::optional<std::size_t> find(std::string_view name) const;
  /// Reads a whole member of at most `max_size` bytes.
  std::string read_all(std::size_t index, uint64_t max_size);

  /// Sequential reads of one member.
  class Stream {
   public:
    Stream(ZipReader& reader, std::size_t index);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    /// Reads exactly `n` bytes; FormatError when the member ends first or is corrupt.
    void read(void* data, std::size_t n, const char* what);
    /// Checks that nothing is left and that the member's CRC-32 matched.
    void finish();

   private:
    ZipReader& reader_;
    std::size_t index_;
    zip_file* file_ = nullptr;
    uint64_t pos_ = 0;
  };

  /// Reads member `index`, which must hold exactly `nbytes` bytes, into fresh storage.
  std::shared_ptr<Storage> read_storage(std::size_t index, uint64_t nbytes, const char* what);
  /// Bytes [`skip`, `skip` + `nbytes`) of member `index` as a view of a private, copy-on-write
  /// mapping of the archive, kept alive by the storage; nullptr when they must be read instead:
  /// the member is deflated, the view would start misaligned for `alignment`, or the archive's
  /// layout is one only libzip follows (zip_layout.h). The whole member's CRC-32 is checked
  /// first, through the mapping, whose pages are dropped behind the check: a mapped load leaves
  /// resident only what its caller then touches. FormatError when the CRC-32 does not match.
  std::shared_ptr<Storage> map_bytes(std::size_t index, uint64_t skip, uint64_t nbytes,
                                     std::size_t alignment);
  /// FormatError unless member `index` holds exactly `nbytes` bytes and passes
  /// check_plausible(): what read_storage() checks before it allocates.
  void check_storage(std::size_t index, uint64_t nbytes, const char* what);
  /// FormatError unless member `index` could plausibly expand to `nbytes` bytes (a zip bomb
  /// declares sizes its compressed data cannot produce). Call it before allocating for the
  /// member: when the member would inflate more than kVerifyRatio:1, every such member of the
  /// archive is first inflated through a small buffer, once, and refused unless it yields
  /// exactly its declared size with a matching CRC-32, so that what a refused archive makes
  /// the reader allocate stays within kVerifyRatio bytes per byte of file.
  void check_plausible(std::size_t index, uint64_t nbytes, const char* what);

  /// Inflates every member through a small buffer and checks its size and CRC-32: what
  /// `verify` adds to a load, which reads only the members it needs. Time is bounded by
  /// kMaxDeflateRatio per byte of file, memory by one buffer.
  void verify_every_member();

  /// Deflate's largest expansion: each match of at most 258 bytes costs at least one bit of
  /// length code and one of distance code.
  static constexpr uint64_t kMaxDeflateRatio = 1032;
  /// Members that inflate more than this are verified before memory is allocated for them.
  static constexpr uint64_t kVerifyRatio = 4;

  const std::string& op() const noexcept { return op_; }
  const std::string& name() const noexcept { return path_; }

 private:
  [[noreturn]] void fail(std::size_t index, const std::string& msg) const;
  void read_directory();
  bool expands(const ZipEntry& e) const {
    return e.deflated && e.size / kVerifyRatio > e.comp_size;
  }
  void verify_expanding_members();
  void verify_member(std::size_t index, std::unique_ptr<char[]>& chunk);
  bool map_archive();
  void check_mapped_crc(std::size_t index, const std::byte* data) const;

  zip* archive_ = nullptr;
  std::string op_;
  std::string path_;
  uint64_t file_size_ = 0;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;  // first member of each name
  bool expanding_verified_ = false;                     // verify_expanding_members() has run
  bool map_tried_ = false;                              // map_archive() has run
  std::shared_ptr<const Mapping> mapping_;              // set when every member was located
  std::vector<uint64_t> data_offsets_;                  // of each member, in the mapping
};

/// Writes an archive at a path. Members point at caller memory that must stay alive until
/// close(); libzip writes everything there, into a temporary file renamed over the target.
class ZipWriter {
 public:
  ZipWriter(const std::filesystem::path& path, std::string op);
  /// Without close(), nothing is written and the previous file at the path is untouched.
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  /// Adds member `name`. Stored members start at a multiple of 64 bytes in the file (as in
  /// torch.save's archives), so they can be memory-mapped as aligned arrays.
  void add(const std::string& name, const void* data, uint64_t size, bool deflate = false) {
    add(name, {{data, size}}, deflate);
  }
  /// Adds member `name` made of `fragments` (address, size) back to back.
  void add(const std::string& name, const std::vector<std::pair<const void*, uint64_t>>& fragments,
           bool deflate = false);
  /// Writes the archive; fsyncs it and its directory when `durable`. `progress`, when set, is
  /// told how far libzip got, in bytes of the members' data.
  void close(bool durable, const ProgressFn& progress = {});

 private:
  [[noreturn]] void fail(const std::string& msg);

  zip* archive_ = nullptr;
  std::string op_;
  std::filesystem::path path_;
  uint64_t offset_ = 0;  // where the next local header will start
  std::size_t members_ = 0;
  uint64_t data_bytes_ = 0;  // the members' bytes, for progress
};

}  // namespace wick::io::detail
