#pragma once
// Private: byte sinks and sources over std::streams and POSIX file descriptors, the atomic
// temp-file-and-rename save, and read-only file mappings.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wick/core/error.h"
#include "wick/core/storage.h"

namespace wick::io::detail {

/// Where a writer's bytes go. Errors throw IoError naming the destination and the offset.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Writes all `n` bytes or throws.
  virtual void write(const void* data, std::size_t n) = 0;
  /// Pushes buffered bytes to the destination.
  virtual void flush() {}
};

/// Writes to a std::ostream.
class OstreamSink final : public Sink {
 public:
  explicit OstreamSink(std::ostream& out) : out_(out) {}
  void write(const void* data, std::size_t n) override;
  void flush() override;

 private:
  std::ostream& out_;
  uint64_t written_ = 0;
};

/// Writes to a file descriptor with write(2), retrying on EINTR and partial writes. `name` is
/// how messages call it (a temp file has none of its own); `file` is the path errors carry.
class FdSink final : public Sink {
 public:
  FdSink(int fd, std::string name, std::string file)
      : fd_(fd), name_(std::move(name)), file_(std::move(file)) {}
  void write(const void* data, std::size_t n) override;

 private:
  int fd_;
  std::string name_;
  std::string file_;
  uint64_t written_ = 0;
};

/// A temporary file beside `target` that becomes `target` only on commit(); destroyed without
/// commit() it is removed, so the previous file at `target` is never touched by a failed save.
///
/// Where the file system allows (Linux O_TMPFILE), the file has no name while it is written: a
/// save that dies leaves nothing behind, and no save has to look for the files of dead ones.
/// commit() links it as `.<name>.wick-tmp-000000000000` and renames that over the target.
/// Elsewhere it is `.<name>.wick-tmp-<random>` from the start, and each save first removes the
/// temp files of dead saves. io/FORMAT.md ("Writers") specifies both.
class AtomicFile {
 public:
  /// How the temp file is made: `kAuto` takes an unnamed one when it can; `kNamed` always
  /// names it (the fallback, chosen explicitly only by tests).
  enum class Temp { kAuto, kNamed };

  explicit AtomicFile(std::filesystem::path target, Temp temp = Temp::kAuto);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Sink& sink() noexcept { return *sink_; }
  /// The temp file's descriptor, open until commit() or destruction.
  int fd() const noexcept { return fd_; }
  /// fsync (when durable), keep the target's permissions, name the file if it is unnamed,
  /// rename it over the target, and fsync the directory (when durable).
  void commit(bool durable);
  /// The temp file's name: the one it has, or the one commit() will first try to give it.
  const std::filesystem::path& temp_path() const noexcept { return temp_; }
  /// False while the temp file has no name in the directory.
  bool named() const noexcept { return named_; }

 private:
  bool open_unnamed();
  void open_named();
  void link_unnamed();

  std::filesystem::path target_;
  std::filesystem::path dir_;
  std::string prefix_;  // ".<name>.wick-tmp-"
  std::filesystem::path temp_;
  int fd_ = -1;
  std::unique_ptr<FdSink> sink_;
  bool named_ = false;
  bool committed_ = false;
};

/// Where a reader's bytes come from.
class Source {
 public:
  virtual ~Source() = default;
  /// Reads up to `n` bytes; returns 0 only at the end of the data.
  virtual std::size_t read_some(void* data, std::size_t n) = 0;
  /// Total bytes when known (regular files), for bounding allocations.
  virtual std::optional<uint64_t> size() const { return std::nullopt; }
  /// Reads exactly `n` bytes or throws FormatError ("truncated") naming `what` and the offset.
  void read_exact(void* data, std::size_t n, const char* what);
  /// Bytes consumed so far.
  uint64_t position() const noexcept { return pos_; }
  /// For sources backed by memory: the next `n` bytes as storage borrowing that memory
  /// (consuming them), or nullptr when the source must copy. Throws when fewer remain.
  virtual std::shared_ptr<Storage> borrow(std::size_t n, const char* what);

 protected:
  uint64_t pos_ = 0;
};

/// Reads from a std::istream; consumes nothing past what is asked.
class IstreamSource final : public Source {
 public:
  explicit IstreamSource(std::istream& in) : in_(in) {}
  std::size_t read_some(void* data, std::size_t n) override;

 private:
  std::istream& in_;
};

/// An open file descriptor, closed on destruction.
class File {
 public:
  /// Opens `path` for reading; IoError naming the path and the OS error.
  explicit File(const std::filesystem::path& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const noexcept { return fd_; }
  uint64_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }
  /// Reads exactly `n` bytes at `offset` (pread); FormatError when the file ends first.
  void read_at(void* data, std::size_t n, uint64_t offset, const char* what) const;

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string name_;
};

/// Sequential reads from a File; pread(2) at its own offset, so several sources may share a File.
/// Small reads (record headers, small payloads, padding) come from a read-ahead buffer, so a
/// file of many small tensors costs a few syscalls per 256 KiB, not several per tensor; reads at
/// least as large as the buffer go straight into the caller's memory.
class FileSource final : public Source {
 public:
  explicit FileSource(const File& file);
  std::size_t read_some(void* data, std::size_t n) override;
  /// Up to `n` of the next bytes without consuming them, read into the buffer when it is empty;
  /// fewer when the buffer holds fewer (at the end of the file, or after a short read). A load
  /// tells the format from the first bytes and parses on from the same read.
  std::string_view peek(std::size_t n);
  std::optional<uint64_t> size() const override { return file_.size(); }

 private:
  std::size_t pread_some(void* data, std::size_t n);  // at file_pos_, retrying EINTR

  const File& file_;
  std::size_t buf_size_;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t buf_pos_ = 0;
  std::size_t buf_len_ = 0;
  uint64_t file_pos_ = 0;  // where the next pread starts (pos_ plus what is buffered)
};

/// A private, copy-on-write mapping of a whole file: tensors may be written to without
/// touching the file, and a later save that renames a new file over the path leaves the
/// mapping's contents unchanged.
class Mapping {
 public:
  Mapping(const File& file);
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::byte* data() const noexcept { return data_; }
  uint64_t size() const noexcept { return size_; }

 private:
  std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

/// Reads a Mapping front to back; payloads are borrowed from the mapping, not copied.
class MappedSource final : public Source {
 public:
  explicit MappedSource(std::shared_ptr<const Mapping> mapping) : mapping_(std::move(mapping)) {}
  std::size_t read_some(void* data, std::size_t n) override;
  std::optional<uint64_t> size() const override;
  std::shared_ptr<Storage> borrow(std::size_t n, const char* what) override;

 private:
  std::shared_ptr<const Mapping> mapping_;
};

/// Writes `n` bytes to `fd` with write(2), retrying on EINTR and partial writes; returns the
/// bytes written, fewer than `n` only on an error (errno then says which).
std::size_t write_all(int fd, const void* data, std::size_t n) noexcept;

/// fsyncs the directory `dir` (after a rename in it, so the rename survives a power loss).
void fsync_directory(const std::filesystem::path& dir);

/// "strerror(errno)" of the current errno.
std::string os_error();

/// The IoError of a failed system call: `message` is what() (worded at the call site, which
/// knows the operation), and the fields hold the data — the `file` involved, the `operation`
/// that failed (as `structure`), the system's `reason` (as `found`) and, for reads and writes,
/// the byte `offset`.
IoError io_failure(std::string operation, std::string file, std::string reason, std::string message,
                   std::optional<uint64_t> offset = {});

/// Throws the FormatError of a read of `needed` bytes of `what` at `offset` that found only
/// `available` (subject "wick file": only wick files are read through Source and File).
[[noreturn]] void truncated(const char* what, uint64_t offset, uint64_t needed, uint64_t available,
                            std::string detail);

}  // namespace wick::io::detail
