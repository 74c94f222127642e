#include "common/file.h"

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
#include <climits>
#include <cstring>
#include <istream>
#include <ostream>
#include <random>
#include <thread>

#include "wick/core/error.h"

namespace wick::io::detail {

std::string os_error() {
  return std::strerror(errno);
}

IoError io_failure(std::string operation, std::string file, std::string reason, std::string message,
                   std::optional<uint64_t> offset) {
  return IoError(ErrorInfo{.file = std::move(file),
                           .offset = offset,
                           .structure = std::move(operation),
                           .found = std::move(reason),
                           .detail = std::move(message)});
}

void truncated(const char* what, uint64_t offset, uint64_t needed, uint64_t available,
               std::string detail) {
  throw FormatError(ErrorInfo{.subject = "wick file",
                              .offset = offset,
                              .structure = what,
                              .expected = wick::detail::cat(needed, " bytes"),
                              .found = wick::detail::cat(available, " bytes"),
                              .detail = std::move(detail)});
}

void OstreamSink::write(const void* data, std::size_t n) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out_.good()) {
    throw io_failure("write", "", "the stream's state is not good",
                     wick::detail::cat("save: writing ", n,
                                       " bytes to the output stream failed at offset ", written_),
                     written_);
  }
  written_ += n;
}

void OstreamSink::flush() {
  out_.flush();
  WICK_CHECK(out_.good(), IoError, "save: flushing the output stream failed after ", written_,
             " bytes");
}

std::size_t write_all(int fd, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;  // no progress and no error: give up rather than spin
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  return done;
}

void FdSink::write(const void* data, std::size_t n) {
  const std::size_t done = write_all(fd_, data, n);
  written_ += done;
  if (done < n) {
    const std::string err = os_error();
    throw io_failure(
        "write", file_, err,
        wick::detail::cat("save: write to ", name_, " failed at offset ", written_, ": ", err),
        written_);
  }
}

namespace {
constexpr std::size_t kSuffixLength = 12;
constexpr const char* kTempMarker = ".wick-tmp-";
// The name an unnamed temp file gets just before its rename: 12 characters from [0-9a-z], so
// that it is a temp name to the named scheme's cleaners too.
constexpr const char* kLinkSuffix = "000000000000";
// How long a save waits for another live save to rename its file away from that name before it
// takes a random one instead. The wait is normally one rename (microseconds to a few hundred
// milliseconds when the rename frees a large replaced file); longer means a stopped process.
constexpr auto kLinkWait = std::chrono::seconds(1);

std::string random_suffix() {
  // Unique across processes and threads; not security-sensitive (O_EXCL guards collisions).
  // Seeded once: a std::random_device per call cost 15 us, 5% of a small save. The pid
  // keeps a forked child, which inherits the seed and the counter, apart from its parent.
  static const uint64_t seed = [] {
    std::random_device rd;
    return uint64_t{rd()} << 32 | rd();
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t x = seed ^ static_cast<uint64_t>(::getpid()) << 32;
  x += (counter.fetch_add(1) + 1) * 0x9e3779b97f4a7c15;  // splitmix64
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  x ^= x >> 31;
  static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (; s.size() < kSuffixLength; x /= 36)
    s += digits[x % 36];
  return s;
}

std::string proc_path(int fd) {
  std::string path = "/proc/self/fd/";  // appended: GCC 12's -Wrestrict misfires on "..." + s
  return path.append(std::to_string(fd));
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

enum class TempState {
  kGone,     // nothing is at the name now (it was a dead save's and is removed, or it vanished)
  kLive,     // a live save holds it
  kForeign,  // not a temp file wick made (no regular file, or no lock to be had), left alone
};

// Removes the temp file at `p` when its save is dead.
TempState remove_if_dead(const std::filesystem::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return errno == ENOENT ? TempState::kGone : TempState::kForeign;
  struct stat opened {};
  struct stat named {};
  TempState state = TempState::kForeign;
  if (::fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode)) {
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      state = errno == EWOULDBLOCK ? TempState::kLive : TempState::kForeign;
    } else if (::lstat(p.c_str(), &named) != 0 || !same_file(opened, named)) {
      state = TempState::kGone;  // renamed or removed meanwhile: what is there now is not it
    } else {
      // Unlink only what is still the file we locked, so a name reused meanwhile is left alone.
      state = ::unlink(p.c_str()) == 0 || errno == ENOENT ? TempState::kGone : TempState::kForeign;
    }
  }
  ::close(fd);
  return state;
}

// Best effort: removes the temp files `prefix`* in `dir` left by saves that died. Any failure
// (no permission, a file that vanished, a file system without flock) leaves the file alone.
void remove_stale_temps(const std::filesystem::path& dir, const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (is_temp_of(name, prefix)) remove_if_dead(dir / name);
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

}  // namespace

void fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const std::string err = os_error();
    throw io_failure("open directory", dir.string(), err,
                     wick::detail::cat("save: cannot open directory ", dir, " to fsync it: ", err));
  }
  const int rc = ::fsync(fd);
  const std::string err = rc != 0 ? os_error() : "";
  ::close(fd);
  if (rc != 0) {
    throw io_failure("fsync directory", dir.string(), err,
                     wick::detail::cat("save: fsync of directory ", dir, " failed: ", err));
  }
}

AtomicFile::AtomicFile(std::filesystem::path target, Temp temp) : target_(std::move(target)) {
  WICK_CHECK(!target_.filename().empty(), ArgumentError, "save: path ", target_,
             " names a directory, not a file");
  dir_ = target_.has_parent_path() ? target_.parent_path() : ".";
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict, PR 105329) on "." + string.
  std::string prefix = ".";
  prefix.append(target_.filename().string()).append(kTempMarker);
  prefix_ = std::move(prefix);
  // Checked now: an unnamed file would otherwise meet the limit only when it is named, after
  // all its bytes are written.
  WICK_CHECK(prefix_.size() + kSuffixLength <= NAME_MAX, IoError,
             "save: cannot create a temporary file in ", dir_, " for ", target_,
             ": its name would be ", prefix_.size() + kSuffixLength, " bytes, over the limit of ",
             NAME_MAX);
  if (temp == Temp::kNamed || !open_unnamed()) open_named();
  try {
    sink_ = std::make_unique<FdSink>(
        fd_,
        named_ ? temp_.string() : wick::detail::cat("the unnamed temporary file for ", target_),
        target_.string());
  } catch (...) {
    if (named_) ::unlink(temp_.c_str());
    ::close(fd_);
    throw;
  }
}

bool AtomicFile::open_unnamed() {
#if defined(O_TMPFILE)
  // Fails on file systems without O_TMPFILE (NFS, some FUSE); other errors (no permission,
  // no space) recur in open_named(), which reports them.
  const int fd = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) return false;
  // commit() names the file through /proc/self/fd (linkat with AT_EMPTY_PATH needs a
  // capability); a process without /proc could never name it. Checked once per process.
  static const bool proc_fd_links = [fd] {
    struct stat opened {};
    struct stat via_proc {};
    return ::fstat(fd, &opened) == 0 && ::stat(proc_path(fd).c_str(), &via_proc) == 0 &&
           same_file(opened, via_proc);
  }();
  if (!proc_fd_links) {
    ::close(fd);
    return false;
  }
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  fd_ = fd;
  try {
    temp_ = dir_ / (prefix_ + kLinkSuffix);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return true;
#else
  return false;
#endif
}

void AtomicFile::open_named() {
  // First, so the space of dead saves' temp files is free before this one needs it.
  remove_stale_temps(dir_, prefix_);
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temp_ = dir_ / (prefix_ + random_suffix());
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) {
      const std::string err = os_error();
      throw io_failure("create temporary file", target_.string(), err,
                       wick::detail::cat("save: cannot create a temporary file in ", dir_, " for ",
                                         target_, ": ", err));
    }
    if (fd_ >= 0 && !lock_temp(fd_, temp_)) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  WICK_CHECK(fd_ >= 0, IoError, "save: could not pick a unique temporary name in ", dir_, " for ",
             target_, ": 100 random names were all taken");
  named_ = true;
}

void AtomicFile::link_unnamed() {
  const std::string from = proc_path(fd_);
  auto deadline = std::chrono::steady_clock::now() + kLinkWait;
  auto pause = std::chrono::microseconds(20);
  for (int random_names = 0;;) {
    if (::linkat(AT_FDCWD, from.c_str(), AT_FDCWD, temp_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      named_ = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EEXIST) {
      const std::string err = os_error();
      throw io_failure("link temporary file", target_.string(), err,
                       wick::detail::cat("save: cannot link the temporary file for ", target_,
                                         " as ", temp_, ": ", err));
    }
    const TempState state = remove_if_dead(temp_);
    if (state == TempState::kGone) continue;
    if (state == TempState::kLive && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(pause);  // another save's rename is under way
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
      continue;
    }
    WICK_CHECK(++random_names <= 100, IoError, "save: could not pick a unique temporary name in ",
               dir_, " for ", target_, ": 100 random names were all taken");
    // Random names are rare here, so this save can afford to list the directory: it removes
    // those of saves that died between their link and their rename, which no other save names.
    if (random_names == 1) remove_stale_temps(dir_, prefix_);
    temp_ = dir_ / (prefix_ + random_suffix());
    deadline = std::chrono::steady_clock::time_point::min();  // random names are not waited for
  }
}

AtomicFile::~AtomicFile() {
  // Unlink while still holding the lock, so no cleaner races for the name. An unnamed file
  // needs nothing: the kernel frees it with its last descriptor.
  if (named_ && !committed_) ::unlink(temp_.c_str());
  if (fd_ >= 0) ::close(fd_);
}

void AtomicFile::commit(bool durable) {
  const std::string name = named_ ? temp_.string() : "the unnamed temporary file";
  if (durable && ::fsync(fd_) != 0) {
    const std::string err = os_error();
    throw io_failure(
        "fsync", target_.string(), err,
        wick::detail::cat("save: fsync of ", name, " for ", target_, " failed: ", err));
  }
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0) {
    // Keep the permission bits of the file being replaced.
    if (::fchmod(fd_, st.st_mode & 07777) != 0) {
      const std::string err = os_error();
      throw io_failure(
          "fchmod", target_.string(), err,
          wick::detail::cat("save: cannot copy the permissions of ", target_, ": ", err));
    }
  }
  // close() reports deferred write errors (NFS) and must come before the rename; a duplicate
  // descriptor keeps the lock (and an unnamed file) until the file has its final name.
  const int lock_fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  WICK_CHECK(lock_fd >= 0, IoError, "save: cannot duplicate the descriptor of ", name, " for ",
             target_, ": ", os_error());
  const int rc = ::close(fd_);
  fd_ = lock_fd;
  if (rc != 0) {
    const std::string err = os_error();
    throw io_failure("close", target_.string(), err,
                     wick::detail::cat("save: closing ", name, " for ", target_, " failed: ", err));
  }
  if (!named_) link_unnamed();
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string err = os_error();
    // Now, while the lock is held: a writer kept alive after this error would otherwise keep
    // the name every other save to the target first tries.
    ::unlink(temp_.c_str());
    named_ = false;
    throw io_failure("rename", target_.string(), err,
                     wick::detail::cat("save: cannot rename ", temp_, " to ", target_, ": ", err));
  }
  committed_ = true;
  ::close(fd_);
  fd_ = -1;
  if (durable) fsync_directory(dir_);
}

void Source::read_exact(void* data, std::size_t n, const char* what) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = read_some(p + got, n - got);
    if (r == 0) {
      truncated(what, pos_ - got, n, got,
                wick::detail::cat("truncated: needs ", n, " bytes, the data ends after ", got));
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
    throw io_failure("read", "", "the stream's badbit is set",
                     wick::detail::cat("load: reading the input stream failed at offset ", pos_),
                     pos_);
  }
  pos_ += got;
  return got;
}

File::File(const std::filesystem::path& path) : name_(path.string()) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat() refuses it. It changes
  // nothing for regular files, whose reads never block in that sense.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    const std::string err = os_error();
    throw io_failure("open", path.string(), err,
                     wick::detail::cat("load: cannot open ", path, ": ", err));
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd_, &st) == 0;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    const std::string err = !stat_ok               ? os_error()
                            : S_ISDIR(st.st_mode)  ? "is a directory"
                            : S_ISFIFO(st.st_mode) ? "a FIFO"
                            : S_ISSOCK(st.st_mode) ? "a socket"
                                                   : "a device";
    ::close(fd_);
    fd_ = -1;
    throw io_failure("open", path.string(), err,
                     wick::detail::cat("load: ", path, " is not a regular file (", err, ")"));
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
      const std::string err = os_error();
      throw io_failure(
          "read", name_, err,
          wick::detail::cat("load: read of ", name_, " failed at offset ", offset + got, ": ", err),
          offset + got);
    }
    if (r == 0) {
      truncated(what, offset, n, got,
                wick::detail::cat("truncated: needs ", n, " bytes, ", name_, " ends after ", got));
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
    // No bigger than the file: a 256 KiB buffer for a 32 KiB checkpoint cost more in malloc
    // and free (heap consolidation) than its reads.
    : file_(file),
      buf_size_(static_cast<std::size_t>(
          std::clamp<uint64_t>(file.size(), 1, static_cast<uint64_t>(kReadAhead)))),
      buf_(std::make_unique_for_overwrite<std::byte[]>(buf_size_)) {}

std::size_t FileSource::pread_some(void* data, std::size_t n) {
  while (true) {
    const ssize_t r = ::pread(file_.fd(), data, n, static_cast<off_t>(file_pos_));
    if (r >= 0) {
      file_pos_ += static_cast<uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
    if (errno != EINTR) {
      const std::string err = os_error();
      throw io_failure("read", file_.name(), err,
                       wick::detail::cat("load: read of ", file_.name(), " failed at offset ",
                                         file_pos_, ": ", err),
                       file_pos_);
    }
  }
}

std::string_view FileSource::peek(std::size_t n) {
  if (buf_pos_ == buf_len_) {
    buf_pos_ = 0;
    buf_len_ = pread_some(buf_.get(), buf_size_);
  }
  return {reinterpret_cast<const char*>(buf_.get() + buf_pos_), std::min(n, buf_len_ - buf_pos_)};
}

std::size_t FileSource::read_some(void* data, std::size_t n) {
  if (buf_pos_ == buf_len_) {
    if (n >= kDirectRead) {
      const std::size_t got = pread_some(data, n);
      pos_ += got;
      return got;
    }
    buf_pos_ = 0;
    buf_len_ = pread_some(buf_.get(), buf_size_);
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
    truncated(what, pos_, n, left,
              wick::detail::cat("truncated: needs ", n, " bytes, the file has ", left, " left"));
  }
  auto s = Storage::borrow(mapping_->data() + pos_, n, mapping_);
  pos_ += n;
  return s;
}

}  // namespace wick::io::detail
