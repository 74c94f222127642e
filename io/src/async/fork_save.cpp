// The child's report pipe carries records of one type byte and a little-endian payload:
//   'P' done:u64 total:u64   progress (at most one per kProgressStep bytes, and the last)
//   'M' bytes:u64            the child's private memory at its end
//   'E' kind:u8 error        the save failed: ErrorInfo's fields (see put_error)
//   'D'                      the file is written and renamed into place
// A child that ends without 'E' or 'D' was killed.

#include "async/fork_save.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <string_view>

#include "common/file.h"
#include "wick/core/error.h"
#include "wick/core/parallel.h"

namespace wick::io::detail {

namespace {

constexpr uint64_t kProgressStep = uint64_t{1} << 20;
// Without a pidfd, how often the parent looks whether a silent child has ended (the end of the
// pipe alone cannot tell: a process forked meanwhile by the program may hold its write end).
constexpr int kPollMs = 20;

enum class Kind : uint8_t { kError, kFormat, kIo, kShape, kArgument, kOther };

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

Kind kind_of(const Error& e) {
  if (dynamic_cast<const FormatError*>(&e) != nullptr) return Kind::kFormat;
  if (dynamic_cast<const IoError*>(&e) != nullptr) return Kind::kIo;
  if (dynamic_cast<const ShapeError*>(&e) != nullptr) return Kind::kShape;
  if (dynamic_cast<const ArgumentError*>(&e) != nullptr) return Kind::kArgument;
  return Kind::kError;
}

std::string error_record(Kind kind, const ErrorInfo& info) {
  std::string out(1, 'E');
  out += static_cast<char>(kind);
  for (const std::string* s :
       {&info.subject, &info.file, &info.structure, &info.expected, &info.found, &info.detail}) {
    put_str(out, *s);
  }
  out += info.offset.has_value() ? '\1' : '\0';
  put_u64(out, info.offset.value_or(0));
  return out;
}

// The child's private memory: the pages the parent wrote since the fork (the child kept the
// originals), the pages the child wrote, and its own allocations. Read with plain read(2):
// stdio's locks may have been held by another thread of the parent at the fork.
uint64_t private_bytes() noexcept {
  const int fd = ::open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  std::size_t len = 0;
  for (ssize_t got = 0; len < sizeof buf - 1; len += static_cast<std::size_t>(got)) {
    got = ::read(fd, buf + len, sizeof buf - 1 - len);
    if (got <= 0) break;
  }
  ::close(fd);
  buf[len] = '\0';
  uint64_t kib = 0;
  for (const char* field : {"Private_Clean:", "Private_Dirty:"}) {
    if (const char* at = std::strstr(buf, field))
      kib += std::strtoull(at + std::strlen(field), nullptr, 10);
  }
  return kib * 1024;
}

// Waits for the parent's go-ahead on `go_fd`: a byte to write, the end of the socket (the
// parent dropped this save, or died) to leave without writing.
bool wait_for_go(int go_fd) noexcept {
  char go = 0;
  ssize_t got = 0;
  do {
    got = ::read(go_fd, &go, 1);
  } while (got < 0 && errno == EINTR);
  ::close(go_fd);
  return got == 1;
}

[[noreturn]] void child_main(int fd, int go_fd, pid_t parent,
                             const std::function<void(const SaveOptions&)>& write,
                             SaveOptions options) {
  // The parent's handlers are not the child's business: Ctrl-C or a SIGTERM to the process
  // group ends the child (the file keeps its previous contents) instead of running a handler
  // that may call exit() and with it the parent's atexit functions.
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE})
    ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!wait_for_go(go_fd)) ::_exit(3);
  // One thread: the parent's helper threads do not exist here, and starting threads in the
  // child of a threaded process is what sanitizers and some libraries cannot follow.
  wick::set_num_threads(1);
  uint64_t reported = 0;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (::getppid() != parent) throw IoError("save: the process that started it has ended");
    if (done - reported < kProgressStep && done != total) return;
    reported = done;
    std::string rec(1, 'P');
    put_u64(rec, done);
    put_u64(rec, total);
    if (write_all(fd, rec.data(), rec.size()) != rec.size()) {
      throw IoError("save: the process that started it stopped listening");
    }
  };
  std::string last;
  int status = 0;
  try {
    write(options);
    last.push_back('M');
    put_u64(last, private_bytes());
    last += 'D';
  } catch (const Error& e) {
    last = error_record(kind_of(e), e.info());
    status = 1;
  } catch (const std::exception& e) {
    last = error_record(Kind::kOther, ErrorInfo{.detail = e.what()});
    status = 1;
  } catch (...) {
    status = 2;
  }
  write_all(fd, last.data(), last.size());
  ::_exit(status);
}

uint64_t u64_at(std::string_view rec, std::size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t{static_cast<uint8_t>(rec[at + i])} << (8 * i);
  return v;
}

// Reads the records of one child from its pipe.
class Reports {
 public:
  explicit Reports(int fd) : fd_(fd) {}
  // Appends what the pipe holds, waiting up to `wait_ms` for it or for `pidfd` (when >= 0) to
  // say the child ended: the bytes read, 0 when none came, -1 at the pipe's end.
  ssize_t pull(int wait_ms, int pidfd = -1) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (::poll(p, pidfd >= 0 ? 2 : 1, wait_ms) <= 0 || (p[0].revents == 0)) return 0;
    char buf[4096];
    const ssize_t got = ::read(fd_, buf, sizeof buf);
    if (got < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (got == 0) return -1;
    buf_.append(buf, static_cast<std::size_t>(got));
    return got;
  }
  // The next whole record, or an empty view when it has not fully arrived.
  std::string_view next() {
    if (pos_ >= buf_.size()) return {};
    std::size_t n = 0;
    switch (buf_[pos_]) {
      case 'P':
        n = 17;
        break;
      case 'M':
        n = 9;
        break;
      case 'D':
        n = 1;
        break;
      case 'E':
        n = error_size();
        break;
      default:
        n = buf_.size() - pos_;
        break;  // not ours: taken whole, then ignored
    }
    if (n == 0 || buf_.size() - pos_ < n) return {};
    const std::string_view rec(buf_.data() + pos_, n);
    pos_ += n;
    return rec;
  }

 private:
  // The size of the 'E' record at pos_, or 0 while its lengths have not all arrived.
  std::size_t error_size() const {
    std::size_t at = pos_ + 2;
    for (int i = 0; i < 6; ++i) {
      if (buf_.size() < at + 8) return 0;
      at += 8 + u64_at(buf_, at);
      if (at > buf_.size()) return 0;
    }
    return at + 9 - pos_;
  }

  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
};

std::exception_ptr rebuild_error(std::string_view rec) {
  const auto kind = static_cast<Kind>(rec[1]);
  ErrorInfo info;
  std::size_t at = 2;
  for (std::string* s :
       {&info.subject, &info.file, &info.structure, &info.expected, &info.found, &info.detail}) {
    const uint64_t n = u64_at(rec, at);
    *s = std::string(rec.substr(at + 8, n));
    at += 8 + n;
  }
  if (rec[at] != '\0') info.offset = u64_at(rec, at + 1);
  switch (kind) {
    case Kind::kFormat:
      return std::make_exception_ptr(FormatError(std::move(info)));
    case Kind::kIo:
      return std::make_exception_ptr(IoError(std::move(info)));
    case Kind::kShape:
      return std::make_exception_ptr(ShapeError(std::move(info)));
    case Kind::kArgument:
      return std::make_exception_ptr(ArgumentError(std::move(info)));
    default:
      return std::make_exception_ptr(Error(std::move(info)));
  }
}

std::string describe_end(pid_t pid, int status) {
  if (WIFSIGNALED(status)) {
    return wick::detail::cat("the writer process (pid ", pid, ") was killed by signal ",
                             WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  return wick::detail::cat("the writer process (pid ", pid, ") exited with status ",
                           WEXITSTATUS(status), " without reporting");
}

}  // namespace

ForkedSave fork_save(const std::function<void(const SaveOptions&)>& write,
                     const SaveOptions& options) {
  // The report pipe, and a socket for the go-ahead: a socket, so that telling a child that
  // already died raises EPIPE and not SIGPIPE (send's MSG_NOSIGNAL).
  int fds[2];
  int go[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    const std::string err = os_error();
    throw io_failure("pipe", "", err,
                     wick::detail::cat("save: cannot create a pipe for the writer process: ", err));
  }
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) != 0) {
    const std::string err = os_error();
    ::close(fds[0]);
    ::close(fds[1]);
    throw io_failure(
        "socketpair", "", err,
        wick::detail::cat("save: cannot create a socket for the writer process: ", err));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::close(go[0]);
    child_main(fds[1], go[1], parent, write, options);
  }
  ::close(fds[1]);
  ::close(go[1]);
  if (pid < 0) {
    const std::string err = os_error();
    ::close(fds[0]);
    ::close(go[0]);
    throw io_failure("fork", "", err,
                     wick::detail::cat("save: cannot start the writer process: ", err));
  }
  // The kernel may lack pidfds (before Linux 5.3): kill_child() then signals the pid. Called
  // through syscall(): glibc 2.36's <sys/pidfd.h> does not declare its functions extern "C".
  return {pid, fds[0], static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)), go[0]};
}

void release_child(ForkedSave& child) noexcept {
  if (child.go_fd < 0) return;
  const char go = 'G';
  ::send(child.go_fd, &go, 1, MSG_NOSIGNAL);  // fails only when the child is gone: nothing to do
  ::close(child.go_fd);
  child.go_fd = -1;
}

void abandon_child(ForkedSave& child) noexcept {
  kill_child(child);
  if (child.go_fd >= 0) ::close(child.go_fd);
  child.go_fd = -1;
  if (child.report_fd >= 0) ::close(child.report_fd);
  child.report_fd = -1;
  while (child.pid > 0 && ::waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void kill_child(const ForkedSave& child) noexcept {
  if (child.pidfd >= 0) {
    ::syscall(SYS_pidfd_send_signal, child.pidfd, SIGKILL, nullptr, 0);
  } else if (child.pid > 0) {
    ::kill(child.pid, SIGKILL);
  }
}

ForkOutcome await_child(const ForkedSave& child, const ProgressFn& progress) {
  ForkOutcome out;
  Reports reports(child.report_fd);
  bool ended = false;  // 'D' or 'E' read
  bool open = true;
  bool reaped = false;
  int status = 0;
  const auto take = [&] {
    for (std::string_view rec = reports.next(); !rec.empty(); rec = reports.next()) {
      if (rec[0] == 'P' && progress) progress(u64_at(rec, 1), u64_at(rec, 9));
      if (rec[0] == 'M') out.extra_bytes = u64_at(rec, 1);
      if (rec[0] == 'E') out.error = rebuild_error(rec);
      ended = ended || rec[0] == 'D' || rec[0] == 'E';
    }
  };
  while (!ended && !reaped) {
    if (open) open = reports.pull(child.pidfd >= 0 ? -1 : kPollMs, child.pidfd) >= 0;
    take();
    if (ended) break;
    // Silent: has it ended? Then take what it left in the pipe, without waiting for the end.
    // ECHILD: reaped by someone else (SIGCHLD ignored, or a waitpid(-1) of the program's).
    const pid_t r = ::waitpid(child.pid, &status, open ? WNOHANG : 0);
    if (r == child.pid || (r < 0 && errno == ECHILD)) {
      reaped = true;
      while (open && reports.pull(0) > 0) {
      }
      take();
    }
  }
  while (!reaped && ::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::close(child.report_fd);
  if (!ended) {
    const std::string why = describe_end(child.pid, status);
    out.error =
        std::make_exception_ptr(io_failure("write", "", why, wick::detail::cat("save: ", why)));
  }
  return out;
}

}  // namespace wick::io::detail
