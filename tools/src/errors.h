#pragma once
// Exit codes and the mapping from wick's exceptions to them.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "wick/core/error.h"

namespace wick::cli {

/// What `wick` returns. Documented in `wick --help` (kExitCodeHelp) and README.md.
enum ExitCode : int {
  kOk = 0,          ///< success; verify: intact; diff: equal
  kDiffer = 1,      ///< diff: the files differ
  kUsage = 2,       ///< bad command line, or no such path inside the file
  kUnreadable = 3,  ///< missing file, directory, no permission, read error
  kNotWick = 4,     ///< the file is in no format wick reads (io::recognise_format)
  kCorrupt = 5,     ///< a file of a known format that fails a rule or that the library refuses
  kOther = 6,       ///< anything else (out of memory, an internal error)
};

/// The exit-code table for --help.
extern const char* const kExitCodeHelp;

/// Ends a subcommand with `code`; what() is the message for stderr (without the "wick: ").
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// True when `file` is a regular file starting with the 8-byte wick magic (io/FORMAT.md), so a
/// FormatError means "corrupt" rather than "not a wick file". Never blocks (a FIFO is false).
bool has_wick_magic(const std::filesystem::path& file);

/// Failure(kUnreadable) when `file` exists but is not a regular file (a FIFO, a device, a
/// directory, a socket): every command calls it before opening a file, because opening a FIFO
/// blocks until a writer appears and a device may never end. Missing files pass, so the
/// library's own "cannot open" error names them. A sharded checkpoint directory is a usage
/// error instead (kUsage): the commands that read one (kShardedCommands) check for it first.
void check_regular_file(const std::filesystem::path& file);

/// The subcommands that read a sharded checkpoint directory, for messages.
inline constexpr std::string_view kShardedCommands = "info, verify and cat";

/// `e`'s message without the file it names (wick::render without subject and file), for
/// reports that print the file name themselves.
std::string without_file_name(const Error& e);

/// The Failure for an IoError while reading `file`: unreadable.
Failure file_failure(const std::filesystem::path& file, const IoError& e);
/// The Failure for a FormatError while reading `file`: corrupt or refused (kCorrupt) when its
/// content is a format wick reads, else kNotWick; both carry the library's message.
Failure file_failure(const std::filesystem::path& file, const FormatError& e);

/// The file `e` names (index.wick, a shard), relative to the sharded checkpoint `dir` when it is
/// inside it; empty when `e` names none.
std::string sharded_file(const std::filesystem::path& dir, const Error& e);

/// `e`'s message for a report on the sharded checkpoint `dir`: sharded_file() and ": ", then what
/// render() writes without subject and file.
std::string sharded_message(const std::filesystem::path& dir, const Error& e);

/// The Failure for a library error while reading the sharded checkpoint `dir`: unreadable for an
/// IoError, corrupt for a FormatError, naming the file at fault (sharded_message()).
Failure sharded_failure(const std::filesystem::path& dir, const IoError& e);
/// \overload
Failure sharded_failure(const std::filesystem::path& dir, const FormatError& e);

/// Runs `fn` on the sharded checkpoint `dir`, turning wick's file errors into a Failure that
/// names `dir` and the file at fault.
template <class F>
auto on_sharded(const std::filesystem::path& dir, F&& fn) -> decltype(fn()) {
  try {
    return std::forward<F>(fn)();
  } catch (const IoError& e) {
    throw sharded_failure(dir, e);
  } catch (const FormatError& e) {
    throw sharded_failure(dir, e);
  }
}

/// Runs `fn` on `file` once it is known to be a regular file (check_regular_file), turning
/// wick's file errors into a Failure that names `file`.
template <class F>
auto on_file(const std::filesystem::path& file, F&& fn) -> decltype(fn()) {
  check_regular_file(file);
  try {
    return std::forward<F>(fn)();
  } catch (const IoError& e) {
    throw file_failure(file, e);
  } catch (const FormatError& e) {
    throw file_failure(file, e);
  }
}

}  // namespace wick::cli
