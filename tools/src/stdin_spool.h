#pragma once
// `-` (and /dev/stdin) as a file: standard input copied to a private temporary file that every
// command then reads as it reads any file. Every format needs random access somewhere (the wick
// index at the end, a zip's central directory, info's index-only read), so the copy costs disk
// space equal to the input, never memory: reading the stream straight into memory would hold
// the whole file. The reports name the input "<stdin>", never the temporary file.

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <streambuf>
#include <string>

#include "scratch_dir.h"

namespace wick::cli {

/// How reports name standard input.
inline constexpr const char* kStdinName = "<stdin>";

/// True for the arguments that mean standard input: "-", "/dev/stdin", "/dev/fd/0" and
/// "/proc/self/fd/0".
bool is_stdin_name(const std::string& arg);

/// Standard input (file descriptor `fd`), copied to a fresh temporary directory that the
/// destructor removes. Failure(kUnreadable) when the copy fails (no temporary directory, no
/// space, a read error); nothing is left behind then.
class StdinSpool {
 public:
  explicit StdinSpool(int fd = 0);
  StdinSpool(const StdinSpool&) = delete;
  StdinSpool& operator=(const StdinSpool&) = delete;

  /// The temporary file holding the input.
  const std::string& path() const noexcept { return path_; }
  /// How many bytes the input had.
  uint64_t size() const noexcept { return size_; }

 private:
  void copy(int fd);  // standard input into path_, in dir_

  ScratchDir dir_;  // removed with the copy in it, also when the constructor throws
  std::string path_;
  uint64_t size_ = 0;
};

/// An ostream that writes to `out` line by line with every `from` replaced by `to`: reports on a
/// spooled input name "<stdin>" instead of the temporary file. Holds one line at a time (up to
/// its '\n' or '\r', or a flush).
class ReplacingStream : public std::ostream {
 public:
  ReplacingStream(std::ostream& sink, std::string from, std::string to);
  ~ReplacingStream() override;
  ReplacingStream(const ReplacingStream&) = delete;
  ReplacingStream& operator=(const ReplacingStream&) = delete;

 private:
  class Buf : public std::streambuf {
   public:
    Buf(std::ostream& out, std::string from, std::string to);
    void flush_line();

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;  // std::flush: what is held goes out now

   private:
    std::ostream& out_;
    std::string from_, to_, line_;
  };
  Buf buf_;
};

}  // namespace wick::cli
