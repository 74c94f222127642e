#include "file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <istream>
#include <ostream>
#include <random>

#include "wick/core/error.h"

namespace wick::io::detail {

std::string os_error() {
  return std::strerror(errno);
}

void OstreamSink::write(const void* data, std::size_t n) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  WICK_CHECK(out_.good(), IoError, "save: writing ", n,
             " bytes to the output stream failed at offset ", written_);
  written_ += n;
}

void OstreamSink::flush() {
  out_.flush();
  WICK_CHECK(out_.good(), IoError, "save: flushing the output stream failed after ", written_,
             " bytes");
}

void FdSink::write(const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(wick::detail::cat("save: write to ", name_, " failed at offset ", written_,
                                      ": ", os_error()));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
}

namespace {
constexpr std::size_t kSuffixLength = 12;
constexpr const char* kTempMarker = ".wick-tmp-";

std::string random_suffix() {
  // Unique across processes and threads; not security-sensitive (O_EXCL guards collisions).
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  const uint64_t v = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(::getpid()) << 20 ^
                     counter.fetch_add(1);
  static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (uint64_t x = v; s.size() < kSuffixLength; x /= 36)
    s += digits[x % 36];
  return s;
}

// Temp files and their writers: a writer holds flock(LOCK_EX) on its temp file from creation
// until the rename, and the kernel drops that lock when the writer's process ends, however it
// ends (SIGKILL, crash). A lock that can be taken therefore marks a temp file whose writer is
// gone; one that cannot belongs to a live save, in this process or another. No pids or ages are
// involved, so pid reuse and slow writers are no danger.

bool is_temp_of(const std::string& name, const std::string& prefix) {
  if (name.size() != prefix.size() + kSuffixLength || name.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'); });
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Best effort: removes the temp files `prefix`* in `dir` left by saves that died. Any failure
// (no permission, a file that vanished, a file system without flock) leaves the file alone.
void remove_stale_temps(const std::filesystem::path& dir, const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (!is_temp_of(name, prefix)) continue;
    const std::filesystem::path p = dir / name;
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat opened {};
    struct stat named {};
    // Unlink only what is still the file we locked, so a name reused meanwhile is left alone.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &opened) == 0 &&
        S_ISREG(opened.st_mode) && ::lstat(p.c_str(), &named) == 0 && same_file(opened, named)) {
      ::unlink(p.c_str());
    }
    ::close(fd);
  }
  ::closedir(d);
}

// Locks a freshly created temp file. False when a cleaner removed it between the open and the
// lock (it saw an unlocked temp file): the caller then picks another name.
bool lock_temp(int fd, const std::filesystem::path& path) {
  while (::flock(fd, LOCK_EX) != 0) {
    // No flock on this file system: cleaners cannot lock the file either, so it is never removed.
    if (errno != EINTR) return true;
  }
  struct stat opened {};
  struct stat named {};
  return ::fstat(fd, &opened) == 0 && ::lstat(path.c_str(), &named) == 0 &&
         same_file(opened, named);
}

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw IoError(
        wick::detail::cat("save: cannot open directory ", dir, " to fsync it: ", os_error()));
  }
  const int rc = ::fsync(fd);
  const std::string err = rc != 0 ? os_error() : "";
  ::close(fd);
  WICK_CHECK(rc == 0, IoError, "save: fsync of directory ", dir, " failed: ", err);
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  WICK_CHECK(!target_.filename().empty(), ArgumentError, "save: path ", target_,
             " names a directory, not a file");
  const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : ".";
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict, PR 105329) on "." + string.
  std::string prefix = ".";
  prefix.append(target_.filename().string()).append(kTempMarker);
  // First, so the space of dead saves' temp files is free before this one needs it.
  remove_stale_temps(dir, prefix);
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temp_ = dir / (prefix + random_suffix());
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) {
      throw IoError(wick::detail::cat("save: cannot create a temporary file in ", dir, " for ",
                                      target_, ": ", os_error()));
    }
    if (fd_ >= 0 && !lock_temp(fd_, temp_)) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  WICK_CHECK(fd_ >= 0, IoError, "save: could not pick a unique temporary name in ", dir);
  sink_ = std::make_unique<FdSink>(fd_, temp_.string());
}

AtomicFile::~AtomicFile() {
  // Unlink while still holding the lock, so no cleaner races for the name.
  if (!committed_) ::unlink(temp_.c_str());
  if (fd_ >= 0) ::close(fd_);
}

void AtomicFile::commit(bool durable) {
  if (durable && ::fsync(fd_) != 0) {
    throw IoError(wick::detail::cat("save: fsync of ", temp_, " failed: ", os_error()));
  }
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0) {
    // Keep the permission bits of the file being replaced.
    if (::fchmod(fd_, st.st_mode & 07777) != 0) {
      throw IoError(
          wick::detail::cat("save: cannot copy the permissions of ", target_, ": ", os_error()));
    }
  }
  // close() reports deferred write errors (NFS) and must come before the rename; a duplicate
  // descriptor keeps the lock until the file has its final name.
  const int lock_fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  WICK_CHECK(lock_fd >= 0, IoError, "save: cannot duplicate the descriptor of ", temp_, ": ",
             os_error());
  const int rc = ::close(fd_);
  fd_ = lock_fd;
  if (rc != 0) {
    throw IoError(wick::detail::cat("save: closing ", temp_, " failed: ", os_error()));
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw IoError(
        wick::detail::cat("save: cannot rename ", temp_, " to ", target_, ": ", os_error()));
  }
  committed_ = true;
  ::close(fd_);
  fd_ = -1;
  if (durable) fsync_directory(target_.has_parent_path() ? target_.parent_path() : ".");
}

void Source::read_exact(void* data, std::size_t n, const char* what) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = read_some(p + got, n - got);
    if (r == 0) {
      throw FormatError(wick::detail::cat("wick file: ", what, " at offset ", pos_ - got,
                                          ": truncated: needs ", n, " bytes, the data ends after ",
                                          got));
    }
    got += r;
  }
}

std::shared_ptr<Storage> Source::borrow(std::size_t, const char*) {
  return nullptr;
}

std::size_t IstreamSource::read_some(void* data, std::size_t n) {
  in_.read(static_cast<char*>(data), static_cast<std::streamsize>(n));
  const auto got = static_cast<std::size_t>(in_.gcount());
  if (got < n && in_.bad()) {
    throw IoError(wick::detail::cat("load: reading the input stream failed at offset ", pos_));
  }
  pos_ += got;
  return got;
}

File::File(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  WICK_CHECK(fd_ >= 0, IoError, "load: cannot open ", path, ": ", os_error());
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string err = S_ISDIR(st.st_mode) ? "is a directory" : os_error();
    ::close(fd_);
    fd_ = -1;
    throw IoError(wick::detail::cat("load: ", path, " is not a regular file (", err, ")"));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

void File::read_at(void* data, std::size_t n, uint64_t offset, const char* what) const {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd_, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      throw IoError(wick::detail::cat("load: read of ", name_, " failed at offset ", offset + got,
                                      ": ", os_error()));
    }
    if (r == 0) {
      throw FormatError(wick::detail::cat("wick file: ", what, " at offset ", offset,
                                          ": truncated: needs ", n, " bytes, ", name_,
                                          " ends after ", got));
    }
    got += static_cast<std::size_t>(r);
  }
}

namespace {
constexpr std::size_t kReadAhead = std::size_t{256} << 10;
// Reads at least this large skip the buffer: one copy, straight into the caller's memory.
constexpr std::size_t kDirectRead = std::size_t{64} << 10;
}  // namespace

FileSource::FileSource(const File& file)
    : file_(file), buf_(std::make_unique_for_overwrite<std::byte[]>(kReadAhead)) {}

std::size_t FileSource::pread_some(void* data, std::size_t n) {
  while (true) {
    const ssize_t r = ::pread(file_.fd(), data, n, static_cast<off_t>(file_pos_));
    if (r >= 0) {
      file_pos_ += static_cast<uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
    if (errno != EINTR) {
      throw IoError(wick::detail::cat("load: read of ", file_.name(), " failed at offset ",
                                      file_pos_, ": ", os_error()));
    }
  }
}

std::size_t FileSource::read_some(void* data, std::size_t n) {
  if (buf_pos_ == buf_len_) {
    if (n >= kDirectRead) {
      const std::size_t got = pread_some(data, n);
      pos_ += got;
      return got;
    }
    buf_pos_ = 0;
    buf_len_ = pread_some(buf_.get(), kReadAhead);
  }
  std::size_t got = std::min(n, buf_len_ - buf_pos_);
  std::memcpy(data, buf_.get() + buf_pos_, got);
  buf_pos_ += got;
  // A large read that drains the buffer takes the rest straight from the file: refilling for
  // a few bytes would misalign every later chunk and copy all of them twice.
  if (got < n && n >= kDirectRead) got += pread_some(static_cast<std::byte*>(data) + got, n - got);
  pos_ += got;
  return got;
}

Mapping::Mapping(const File& file) : size_(file.size()) {
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd(), 0);
  WICK_CHECK(p != MAP_FAILED, IoError, "load: mmap of ", file.name(), " (", size_,
             " bytes) failed: ", os_error());
  data_ = static_cast<std::byte*>(p);
}

Mapping::~Mapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

std::size_t MappedSource::read_some(void* data, std::size_t n) {
  const uint64_t left = mapping_->size() - pos_;
  const std::size_t got = static_cast<std::size_t>(std::min<uint64_t>(n, left));
  if (got > 0) std::memcpy(data, mapping_->data() + pos_, got);
  pos_ += got;
  return got;
}

std::optional<uint64_t> MappedSource::size() const {
  return mapping_->size();
}

std::shared_ptr<Storage> MappedSource::borrow(std::size_t n, const char* what) {
  const uint64_t left = mapping_->size() - pos_;
  if (n > left) {
    throw FormatError(wick::detail::cat("wick file: ", what, " at offset ", pos_,
                                        ": truncated: needs ", n, " bytes, the file has ", left,
                                        " left"));
  }
  auto s = Storage::borrow(mapping_->data() + pos_, n, mapping_);
  pos_ += n;
  return s;
}

}  // namespace wick::io::detail
