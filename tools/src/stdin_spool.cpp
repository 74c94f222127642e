#include "stdin_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "errors.h"

namespace wick::cli {

namespace {
std::string os_error() {
  return std::strerror(errno);
}

// Writes all `n` bytes; false on an error (errno set).
bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
}  // namespace

bool is_stdin_name(const std::string& arg) {
  return arg == "-" || arg == "/dev/stdin" || arg == "/dev/fd/0" || arg == "/proc/self/fd/0";
}

StdinSpool::StdinSpool(int fd) : dir_("stdin", "copy standard input") {
  copy(fd);
}

void StdinSpool::copy(int fd) {
  path_ = (dir_.path() / "stdin").string();
  const int out = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    throw Failure(kUnreadable, "cannot copy standard input to " + path_ + ": " + os_error());
  }
  std::vector<char> buf(std::size_t{1} << 20);
  for (;;) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) break;
    const bool failed = got < 0 || !write_all(out, buf.data(), static_cast<std::size_t>(got));
    if (failed) {
      const std::string why = os_error();
      ::close(out);
      throw Failure(kUnreadable, std::string(got < 0 ? "cannot read standard input: "
                                                     : "cannot copy standard input: ") +
                                     why);
    }
    size_ += static_cast<uint64_t>(got);
  }
  ::close(out);
}

ReplacingStream::Buf::Buf(std::ostream& out, std::string from, std::string to)
    : out_(out), from_(std::move(from)), to_(std::move(to)) {}

void ReplacingStream::Buf::flush_line() {
  for (std::size_t at = line_.find(from_); at != std::string::npos;
       at = line_.find(from_, at + to_.size())) {
    line_.replace(at, from_.size(), to_);
  }
  out_ << line_;
  line_.clear();
}

ReplacingStream::Buf::int_type ReplacingStream::Buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  line_ += traits_type::to_char_type(c);
  // A progress bar redraws its line after '\r': each redraw is passed on as it comes.
  if (c == '\n' || c == '\r') flush_line();
  return c;
}

int ReplacingStream::Buf::sync() {
  flush_line();
  out_.flush();
  return out_ ? 0 : -1;
}

std::streamsize ReplacingStream::Buf::xsputn(const char* s, std::streamsize n) {
  for (std::streamsize i = 0; i < n; ++i)
    overflow(traits_type::to_int_type(s[i]));
  return n;
}

ReplacingStream::ReplacingStream(std::ostream& sink, std::string from, std::string to)
    : std::ostream(&buf_), buf_(sink, std::move(from), std::move(to)) {}

ReplacingStream::~ReplacingStream() {
  buf_.flush_line();
}

}  // namespace wick::cli
