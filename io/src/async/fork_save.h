#pragma once
// Private: copy-on-write saves (AsyncSaver, SnapshotMode::kFork). fork() gives a child process
// the memory of the parent as it was at the call; the child writes the file from it and reports
// progress, the memory it came to own, and its outcome over a pipe, whose records are defined in
// fork_save.cpp.

#include <sys/types.h>

#include <cstdint>
#include <exception>
#include <functional>

#include "wick/io/options.h"

namespace wick::io::detail {

/// A child writing a file.
struct ForkedSave {
  pid_t pid = -1;
  int report_fd = -1;  ///< the read end of the child's report pipe (close-on-exec)
  int pidfd = -1;      ///< the child's pidfd (-1 where the kernel has none), for kill_child
  int go_fd = -1;      ///< the parent's end of the go-ahead socket, until release_child()
};

/// Forks a child that, once release_child() lets it go, calls `write(options)` on one thread, with
/// `options.progress` replaced by reports to the parent, and exits without running this process'
/// exit handlers. The child gives up (throws from its progress reports, so the save leaves the
/// previous file) when its parent dies. IoError when no process can be started.
ForkedSave fork_save(const std::function<void(const SaveOptions&)>& write,
                     const SaveOptions& options);

/// Lets `child` write (it holds its snapshot from the fork on, and writes nothing before this,
/// so that saves to one path can be written in the order they were asked). Closes go_fd.
void release_child(ForkedSave& child) noexcept;

/// Gives up on a child that was never released or whose following failed: kills it, reaps it
/// and closes its descriptors but the pidfd (see await_child()).
void abandon_child(ForkedSave& child) noexcept;

/// SIGKILLs `child` unless it has been reaped: through its pidfd, which cannot reach another
/// process that took its pid after it was reaped. Without a pidfd, only while await_child()
/// has not reaped it (the caller must make sure of that).
void kill_child(const ForkedSave& child) noexcept;

/// What a child reported once it ended.
struct ForkOutcome {
  std::exception_ptr error;  ///< the save's error, rebuilt with its kind and fields
  uint64_t extra_bytes = 0;  ///< the child's private memory at its end (smaps_rollup)
};

/// Reads `child`'s reports until it ends, calling `progress` (may be empty) for each progress
/// report, then reaps it and closes its pipe. Its pidfd stays open for the caller to close
/// where no kill_child() can be using it. A child killed before it reported an outcome
/// yields an IoError naming the signal.
ForkOutcome await_child(const ForkedSave& child, const ProgressFn& progress);

}  // namespace wick::io::detail
