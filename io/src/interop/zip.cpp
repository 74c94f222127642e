#include "interop/zip.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <system_error>

#include "common/file.h"
#include "common/tensor_bytes.h"
#include "interop/zip_layout.h"
#include "wick/core/error.h"

namespace wick::io::detail {
namespace {

// The buffer members are verified through (check_plausible()).
constexpr std::size_t kVerifyChunk = std::size_t{64} << 10;
// How much of a mapped member is checked (CRC-32) before its pages are dropped.
constexpr uint64_t kMappedCrcChunk = uint64_t{8} << 20;
// Bytes of a local file header before the name; the zip64 extra field libzip adds to it for
// members of 4 GiB or more; the 'FB' extra field torch pads local headers with.
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kZip64LocalExtra = 20;
constexpr uint16_t kPaddingFieldId = 0x4246;
constexpr uint64_t kAlignment = 64;
// Fixed member timestamps keep the archive's bytes deterministic.
constexpr time_t kMemberTime = 946684800;  // 2000-01-01
// How often libzip reports progress: every 1% of the archive.
constexpr double kProgressPrecision = 0.01;

std::string error_string(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string s = zip_error_strerror(&err);
  zip_error_fini(&err);
  return s;
}

}  // namespace

ZipReader::ZipReader(const std::filesystem::path& path, std::string op)
    : op_(std::move(op)), path_(path.string()) {
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path, ec);
  if (ec) {
    throw io_failure("stat", path_, ec.message(),
                     wick::detail::cat(op_, ": cannot read ", path, ": ", ec.message()));
  }
  int code = 0;
  archive_ = zip_open(path_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive_ == nullptr) {
    const std::string what = error_string(code);
    if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_MEMORY) {
      throw io_failure("open", path_, what,
                       wick::detail::cat(op_, ": cannot open ", path, ": ", what));
    }
    throw FormatError(wick::detail::cat(op_, ": ", path, " is not a readable zip archive: ", what));
  }
  // A throwing constructor runs no destructor: release the archive here (found by fuzzing,
  // tests/fuzz/regressions/fuzz_load_path-zip-leak-on-bad-member).
  try {
    read_directory();
  } catch (...) {
    zip_discard(archive_);
    archive_ = nullptr;
    throw;
  }
}

void ZipReader::read_directory() {
  const zip_int64_t n = zip_get_num_entries(archive_, 0);
  entries_.reserve(static_cast<std::size_t>(std::max<zip_int64_t>(n, 0)));
  uint64_t compressed = 0;  // bytes of members so far
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive_, static_cast<zip_uint64_t>(i), 0, &st) != 0) {
      fail(static_cast<std::size_t>(i), zip_strerror(archive_));
    }
    const zip_uint64_t need =
        ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_CRC;
    if ((st.valid & need) != need) fail(static_cast<std::size_t>(i), "incomplete directory entry");
    entries_.push_back({st.name, st.size, st.comp_size, st.comp_method == ZIP_CM_DEFLATE, st.crc});
    index_.emplace(entries_.back().name, entries_.size() - 1);
    // Members that overlap (each one's data running on into the next's, all sharing one
    // kernel, as the "better zip bomb" does) would multiply what the file inflates to; libzip
    // only checks that each member ends before the directory. Disjoint members' compressed
    // sizes add up to less than the file.
    if (st.comp_size > file_size_ - std::min(compressed, file_size_)) {
      fail(entries_.size() - 1,
           wick::detail::cat("the members' compressed sizes add up to more than the ", file_size_,
                             "-byte archive: members overlap"));
    }
    compressed += st.comp_size;
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
      fail(entries_.size() - 1, wick::detail::cat("compression method ", st.comp_method,
                                                  " (only stored and deflated are supported)"));
    }
    if (st.valid & ZIP_STAT_ENCRYPTION_METHOD && st.encryption_method != ZIP_EM_NONE) {
      fail(entries_.size() - 1, "the member is encrypted");
    }
    if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size) {
      fail(entries_.size() - 1, wick::detail::cat("stored member of ", st.size, " bytes occupies ",
                                                  st.comp_size, " bytes of the archive"));
    }
  }
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(archive_);
}

void ZipReader::fail(std::size_t index, const std::string& msg) const {
  std::string member = "#";
  if (index < entries_.size()) {
    member = entries_[index].name;
  } else {
    member += std::to_string(index);
  }
  throw FormatError(wick::detail::cat(op_, ": ", path_, ": zip member '", member, "': ", msg));
}

std::optional<std::size_t> ZipReader::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void ZipReader::check_plausible(std::size_t index, uint64_t nbytes, const char* what) {
  const ZipEntry& e = entries_.at(index);
  if (e.deflated) {
    const uint64_t cap = e.comp_size > std::numeric_limits<uint64_t>::max() / kMaxDeflateRatio
                             ? std::numeric_limits<uint64_t>::max()
                             : e.comp_size * kMaxDeflateRatio;
    if (nbytes > cap) {
      fail(index,
           wick::detail::cat(what, " of ", nbytes, " bytes cannot come from ", e.comp_size,
                             " deflated bytes (deflate expands at most ", kMaxDeflateRatio, ":1)"));
    }
  } else if (nbytes > file_size_) {
    fail(index, wick::detail::cat(what, " of ", nbytes, " stored bytes exceeds the ", file_size_,
                                  "-byte archive"));
  }
  if (expands(e) && !expanding_verified_) verify_expanding_members();
}

// A wrong CRC-32 or a stream shorter than declared is found only at the end of a member; for
// members that inflate much, finding it after allocating their declared size would make a
// small file cost gigabytes. So every such member is inflated once through a small buffer,
// all of them before the first allocation (a valid member followed by a corrupt one costs
// nothing either). Legit files pay a second inflation of highly compressible data only.
void ZipReader::verify_member(std::size_t index, std::unique_ptr<char[]>& chunk) {
  const ZipEntry& e = entries_[index];
  if (e.deflated && e.size / kMaxDeflateRatio > e.comp_size) {
    fail(index,
         wick::detail::cat("member of ", e.size, " bytes cannot come from ", e.comp_size,
                           " deflated bytes (deflate expands at most ", kMaxDeflateRatio, ":1)"));
  }
  if (!chunk) chunk = std::make_unique<char[]>(kVerifyChunk);
  Stream s(*this, index);
  for (uint64_t left = e.size; left > 0;) {
    const auto n = static_cast<std::size_t>(std::min<uint64_t>(left, kVerifyChunk));
    s.read(chunk.get(), n, "member");
    left -= n;
  }
  s.finish();
}

void ZipReader::verify_expanding_members() {
  expanding_verified_ = true;
  std::unique_ptr<char[]> chunk;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (expands(entries_[i])) verify_member(i, chunk);
  }
}

void ZipReader::verify_every_member() {
  std::unique_ptr<char[]> chunk;
  for (std::size_t i = 0; i < entries_.size(); ++i)
    verify_member(i, chunk);
}

std::string ZipReader::read_all(std::size_t index, uint64_t max_size) {
  const ZipEntry& e = entries_.at(index);
  if (e.size > max_size) {
    fail(index, wick::detail::cat("member of ", e.size, " bytes exceeds the limit of ", max_size));
  }
  check_plausible(index, e.size, "member");
  std::string out(static_cast<std::size_t>(e.size), '\0');
  Stream s(*this, index);
  s.read(out.data(), out.size(), "member");
  s.finish();
  return out;
}

void ZipReader::check_storage(std::size_t index, uint64_t nbytes, const char* what) {
  const ZipEntry& e = entries_.at(index);
  if (e.size != nbytes) {
    fail(index, wick::detail::cat(what, " needs ", nbytes, " bytes, the member holds ", e.size));
  }
  check_plausible(index, nbytes, what);
}

std::shared_ptr<Storage> ZipReader::read_storage(std::size_t index, uint64_t nbytes,
                                                 const char* what) {
  check_storage(index, nbytes, what);
  auto storage = Storage::allocate(static_cast<std::size_t>(nbytes));
  Stream s(*this, index);
  s.read(storage->data(), storage->nbytes(), what);
  s.finish();
  return storage;
}

bool ZipReader::map_archive() {
  if (map_tried_) return mapping_ != nullptr;
  map_tried_ = true;
  const File file(path_);
  if (file.size() != file_size_) return false;  // replaced since libzip opened it: read
  auto mapping = std::make_shared<const Mapping>(file);
  auto offsets =
      member_data_offsets({mapping->data(), static_cast<std::size_t>(mapping->size())}, entries_);
  if (!offsets) return false;
  data_offsets_ = std::move(*offsets);
  mapping_ = std::move(mapping);
  return true;
}

// What libzip compares at the end of a read, over the mapping. Clean pages of a private file
// mapping come back from the file when touched again, so those wholly inside the member are
// dropped (MADV_DONTNEED) behind the check: checking a 1 GiB member leaves nothing resident.
void ZipReader::check_mapped_crc(std::size_t index, const std::byte* data) const {
  const ZipEntry& e = entries_[index];
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  uintptr_t dropped = (begin + page - 1) / page * page;  // first page wholly in the member
  uLong crc = ::crc32_z(0, nullptr, 0);
  for (uint64_t done = 0; done < e.size;) {
    const uint64_t n = std::min(e.size - done, kMappedCrcChunk);
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(data + done), static_cast<z_size_t>(n));
    done += n;
    const uintptr_t upto = (begin + done) / page * page;
    if (upto > dropped) {
      ::madvise(reinterpret_cast<void*>(dropped), upto - dropped, MADV_DONTNEED);
      dropped = upto;
    }
  }
  // libzip's words for the same fault when the member is read.
  if (crc != e.crc) fail(index, "CRC error");
}

std::shared_ptr<Storage> ZipReader::map_bytes(std::size_t index, uint64_t skip, uint64_t nbytes,
                                              std::size_t alignment) {
  const ZipEntry& e = entries_.at(index);
  if (e.deflated || nbytes == 0 || skip > e.size || nbytes > e.size - skip || !map_archive()) {
    return nullptr;
  }
  std::byte* data = mapping_->data() + data_offsets_[index];
  if (reinterpret_cast<uintptr_t>(data + skip) % alignment != 0) return nullptr;
  check_mapped_crc(index, data);
  return Storage::borrow(data + skip, static_cast<std::size_t>(nbytes), mapping_);
}

ZipReader::Stream::Stream(ZipReader& reader, std::size_t index) : reader_(reader), index_(index) {
  file_ = zip_fopen_index(reader_.archive_, index, 0);
  if (file_ == nullptr) reader_.fail(index, zip_strerror(reader_.archive_));
}

ZipReader::Stream::~Stream() {
  if (file_ != nullptr) zip_fclose(file_);
}

void ZipReader::Stream::read(void* data, std::size_t n, const char* what) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    // Chunks keep each libzip call well inside its signed return type.
    const std::size_t want = std::min<std::size_t>(n - got, std::size_t{1} << 30);
    const zip_int64_t r = zip_fread(file_, p + got, want);
    if (r < 0) reader_.fail(index_, wick::detail::cat(what, ": ", zip_file_strerror(file_)));
    if (r == 0) {
      reader_.fail(index_, wick::detail::cat(what, " at byte ", pos_, ": truncated: needs ", n,
                                             " bytes, the member ends after ", got));
    }
    got += static_cast<std::size_t>(r);
    pos_ += static_cast<uint64_t>(r);
  }
}

void ZipReader::Stream::finish() {
  // One more read reaches the end of the member, where libzip compares the CRC-32.
  std::array<char, 1> extra{};
  const zip_int64_t r = zip_fread(file_, extra.data(), extra.size());
  if (r < 0) reader_.fail(index_, zip_file_strerror(file_));
  if (r > 0) reader_.fail(index_, wick::detail::cat("unexpected bytes after byte ", pos_));
  const int rc = zip_fclose(file_);
  file_ = nullptr;
  if (rc != 0) reader_.fail(index_, error_string(rc));
}

ZipWriter::ZipWriter(const std::filesystem::path& path, std::string op)
    : op_(std::move(op)), path_(path) {
  WICK_CHECK(!path_.filename().empty(), ArgumentError, op_, ": path ", path_,
             " names a directory, not a file");
  int code = 0;
  archive_ = zip_open(path_.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive_ == nullptr) {
    const std::string what = error_string(code);
    throw io_failure("create", path_.string(), what,
                     wick::detail::cat(op_, ": cannot create ", path_, ": ", what));
  }
}

ZipWriter::~ZipWriter() {
  if (archive_ != nullptr) zip_discard(archive_);
}

void ZipWriter::fail(const std::string& msg) {
  const std::string reason = zip_strerror(archive_);
  throw io_failure("write", path_.string(), reason,
                   wick::detail::cat(op_, ": writing ", path_, ": ", msg, ": ", reason));
}

void ZipWriter::add(const std::string& name,
                    const std::vector<std::pair<const void*, uint64_t>>& fragments, bool deflate) {
  std::vector<zip_buffer_fragment_t> parts;
  uint64_t size = 0;
  for (const auto& [data, n] : fragments) {
    if (n == 0) continue;
    // libzip only reads the fragments; its declaration is not const-correct.
    parts.push_back({static_cast<zip_uint8_t*>(const_cast<void*>(data)), n});
    size += n;
  }
  static const zip_buffer_fragment_t kNone{};
  zip_source_t* src =
      zip_source_buffer_fragment(archive_, parts.empty() ? &kNone : parts.data(), parts.size(), 0);
  if (src == nullptr) fail("cannot add '" + name + "'");
  const zip_int64_t idx = zip_file_add(archive_, name.c_str(), src, ZIP_FL_ENC_UTF_8);
  if (idx < 0) {
    zip_source_free(src);
    fail("cannot add '" + name + "'");
  }
  const auto index = static_cast<zip_uint64_t>(idx);
  ++members_;
  data_bytes_ += size;
  if (zip_file_set_mtime(archive_, index, kMemberTime, 0) != 0) fail("cannot date '" + name + "'");
  if (deflate) {
    if (zip_set_file_compression(archive_, index, ZIP_CM_DEFLATE, 0) != 0) {
      fail("cannot deflate '" + name + "'");
    }
    offset_ = std::numeric_limits<uint64_t>::max();  // unknown from here on: no more aligning
    return;
  }
  if (zip_set_file_compression(archive_, index, ZIP_CM_STORE, 0) != 0) {
    fail("cannot store '" + name + "'");
  }
  if (offset_ == std::numeric_limits<uint64_t>::max()) return;
  // Pad the local header with an extra field so that the data starts at a multiple of 64.
  const uint64_t zip64 = size > 0xFFFFFFFFu ? kZip64LocalExtra : 0;
  const uint64_t header = offset_ + kLocalHeaderSize + name.size() + zip64 + 4;
  const auto pad = static_cast<uint16_t>((kAlignment - header % kAlignment) % kAlignment);
  static const std::array<zip_uint8_t, kAlignment> kZeros{};
  if (zip_file_extra_field_set(archive_, index, kPaddingFieldId, ZIP_EXTRA_FIELD_NEW, kZeros.data(),
                               pad, ZIP_FL_LOCAL) != 0) {
    fail("cannot align '" + name + "'");
  }
  offset_ = header + pad + size;
}

void ZipWriter::close(bool durable, const ProgressFn& progress) {
  if (members_ == 0) {
    // libzip deletes an archive left with no members; numpy.savez() of nothing is a valid
    // zip holding only its end-of-directory record.
    zip_discard(archive_);
    archive_ = nullptr;
    static constexpr char kEmptyZip[22] = {'P', 'K', 5, 6};
    write_atomically(path_, durable, [](Sink& sink) { sink.write(kEmptyZip, sizeof kEmptyZip); });
    return;
  }
  struct Reported {
    const ProgressFn* fn;
    uint64_t total;
    std::exception_ptr thrown;  // no exception may cross libzip's C frames
  } reported{&progress, data_bytes_, nullptr};
  if (progress) {
    // libzip reports the fraction of the archive written, from 0 to 1.
    const auto report = [](zip_t*, double fraction, void* state) {
      auto* r = static_cast<Reported*>(state);
      if (r->thrown) return;
      try {
        (*r->fn)(static_cast<uint64_t>(fraction * static_cast<double>(r->total)), r->total);
      } catch (...) {
        r->thrown = std::current_exception();
      }
    };
    zip_register_progress_callback_with_state(archive_, kProgressPrecision, report, nullptr,
                                              &reported);
  }
  if (zip_close(archive_) != 0) fail("cannot write the archive");
  archive_ = nullptr;
  if (durable) sync_file_and_directory(path_, op_);
  if (reported.thrown) std::rethrow_exception(reported.thrown);
  // libzip's last report may stop short of 1 (rounding, members too small to report).
  if (progress) progress(data_bytes_, data_bytes_);
}

}  // namespace wick::io::detail
