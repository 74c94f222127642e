#pragma once
// Runs the built `wick` binary (WICK_CLI_PATH) as a child process and captures what it prints.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "io/io_testing.h"
#include "wick/wick.h"

extern char** environ;

namespace wick::testing {

struct CliRun {
  int code = -1;  ///< exit status, or -1 when the child did not exit normally
  std::string out;
  std::string err;
  bool timed_out = false;  ///< killed after the timeout (a hang)
  /// The child's peak resident memory as far as seen (its VmHWM, read every few ms while it
  /// runs; 0 when it ended before a read). Not getrusage's ru_maxrss: a spawned child inherits
  /// its parent's high-water mark across exec, and a test process is large.
  long peak_kib = 0;
};

// VmHWM of `pid` in KiB once it runs `name` (before its exec it still shares the parent's
// memory), else 0.
inline long vm_hwm_kib(pid_t pid, const std::string& name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  bool ours = false;
  while (std::getline(status, line)) {
    if (line.rfind("Name:", 0) == 0) ours = line.find(name) != std::string::npos;
    if (ours && line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

/// How long run_wick() waits before it kills the child and fails the test: a hang must fail
/// the test, not stall the suite.
inline constexpr std::chrono::seconds kCliTimeout{60};

// Waits for `pid`, killing it (SIGKILL) once `timeout` has passed. The exit status, or -1;
// `peak_kib` gets the largest VmHWM seen of the child running `wick`.
inline int wait_or_kill(pid_t pid, std::chrono::milliseconds timeout, bool& timed_out,
                        long* peak_kib = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (peak_kib != nullptr) *peak_kib = std::max(*peak_kib, vm_hwm_kib(pid, "wick"));
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// `wick ARGS...` with stdin from `stdin_file` (/dev/null unless given) and stdout/stderr
/// captured through files; killed (timed_out, code -1, a test failure) after `timeout`.
inline CliRun run_wick(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = kCliTimeout,
                       const std::string& stdin_file = "/dev/null",
                       std::vector<std::string> extra_env = {}) {
  const TempDir dir;
  const std::string out_path = (dir / "stdout").string();
  const std::string err_path = (dir / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<std::string> argv_storage = {WICK_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  CliRun run;
  // The test's environment, then `extra_env` ("NAME=value"), whose entries win: getenv takes
  // the first match, so they go first.
  std::vector<char*> env;
  for (std::string& e : extra_env)
    env.push_back(e.data());
  for (char** e = environ; *e != nullptr; ++e)
    env.push_back(*e);
  env.push_back(nullptr);
  const int rc = posix_spawn(&pid, WICK_CLI_PATH, &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "posix_spawn " << WICK_CLI_PATH;
  if (rc != 0) return run;
  run.code = wait_or_kill(pid, timeout, run.timed_out, &run.peak_kib);
  EXPECT_FALSE(run.timed_out) << "wick did not finish within " << timeout.count() << " ms";
  const auto out = read_bytes(out_path);
  const auto err = read_bytes(err_path);
  run.out.assign(out.begin(), out.end());
  run.err.assign(err.begin(), err.end());
  return run;
}

/// Flips every bit of the byte at `offset` of `file`.
inline void flip_byte(const std::filesystem::path& file, uint64_t offset) {
  std::vector<char> bytes = read_bytes(file);
  bytes.at(offset) = static_cast<char>(~bytes.at(offset));
  write_bytes(file, bytes);
}

/// A small checkpoint: a nested model state, a step count and a list.
inline Value sample_value() {
  return Dict{{"model", Dict{{"hidden", Dict{{"weight", arange(0, 6, 1, kFloat32).view({2, 3})},
                                             {"bias", tensor({0.5, -0.5})}}}}},
              {"epoch", 3},
              {"history", List{1.5, "text"}}};
}

/// Saves sample_value() with the metadata {"note": "test"}.
inline void save_sample(const std::filesystem::path& file) {
  SaveOptions options;
  options.metadata = Dict{{"note", "test"}};
  save(sample_value(), file, options);
}

/// The file offset of the first payload byte of the tensor at `path` (a JSON pointer).
inline uint64_t payload_offset(const std::filesystem::path& file, const std::string& path) {
  for (const io::EntryInfo& e : io::Reader(file).entries()) {
    if (e.path == path) return e.offset + 64;  // rank <= 4: a 64-byte record header
  }
  ADD_FAILURE() << "no tensor " << path;
  return 0;
}

/// An ostream that counts what is written to it and keeps none of it, so a command's own cost can
/// be measured without the cost of holding its output.
class CountingStream : public std::ostream {
 public:
  CountingStream() : std::ostream(&buf_) {}
  uint64_t bytes() const { return buf_.bytes; }

 private:
  struct Buf : std::streambuf {
    uint64_t bytes = 0;
    int_type overflow(int_type c) override {
      if (!traits_type::eq_int_type(c, traits_type::eof())) ++bytes;
      return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char*, std::streamsize n) override {
      bytes += static_cast<uint64_t>(n);
      return n;
    }
  };
  Buf buf_;
};

}  // namespace wick::testing
