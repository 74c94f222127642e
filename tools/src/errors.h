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
/// library's own "cannot open" error names them.
void check_regular_file(const std::filesystem::path& file);

/// `e`'s message without the file it names (wick::render without subject and file), for
/// reports that print the file name themselves.
std::string without_file_name(const Error& e);

/// The Failure for an IoError while reading `file`: unreadable.
Failure file_failure(const std::filesystem::path& file, const IoError& e);
/// The Failure for a FormatError while reading `file`: corrupt or refused (kCorrupt) when its
/// content is a format wick reads, else kNotWick; both carry the library's message.
Failure file_failure(const std::filesystem::path& file, const FormatError& e);

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
