#pragma once
/// \file
/// The exception hierarchy every wick function throws from. Nothing in wick aborts or exits.
///
/// Every error carries its data in fields (ErrorInfo): which file, where in it, which structure,
/// what was expected and what was found. Programs and tests read the fields; what() is for
/// people, and render() is the one place that writes it.

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wick {

/// The data behind an error. Every field but `detail` may be empty.
struct ErrorInfo {
  /// Who speaks: "wick file" for the native decoder, "load", "save", ... Empty for a plain
  /// message: what() is then `detail` alone and the other fields are data only.
  std::string subject{};
  std::string file{};                ///< the file's path; empty when unknown (a stream)
  std::optional<uint64_t> offset{};  ///< byte offset in the file
  std::string structure{};  ///< what is at fault: "file header", "tensor '/w'", "trailer", ...
  std::string expected{};   ///< what the format requires there ("0x0102...", "64", "0 or 1")
  std::string found{};      ///< what the file holds instead
  std::string detail{};     ///< the explanation, for people
};

/// The message of `info`: "<subject>[ <file>][: <structure>][ at offset <offset>]: <detail>",
/// or `detail` alone when there is no subject. With `name_source` false, subject and file are
/// left out ("<structure> at offset <offset>: <detail>"), for a report that names the file
/// itself. The only place errors are worded from their fields.
std::string render(const ErrorInfo& info, bool name_source = true);

/// Base of every exception wick throws. Messages name the operation, the object involved
/// (tensor name, path, file offset) and what was expected versus what was found.
class Error : public std::runtime_error {
 public:
  /// An error that is only a message (info().detail).
  explicit Error(const std::string& message) : Error(ErrorInfo{.detail = message}) {}
  /// An error with data; what() is render(info).
  explicit Error(ErrorInfo info) : std::runtime_error(render(info)), info_(std::move(info)) {}

  /// The fields the message was rendered from.
  const ErrorInfo& info() const noexcept { return info_; }

 private:
  ErrorInfo info_;
};

/// A file or stream whose bytes do not follow the format (bad magic, checksum mismatch,
/// truncation, hostile sizes).
class FormatError : public Error {
 public:
  using Error::Error;
};

/// The operating system refused or failed an operation (open, write, fsync, rename, mmap).
class IoError : public Error {
 public:
  using Error::Error;
};

/// Tensor shapes that do not fit the operation (broadcasting, matmul, view, load_state_dict).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Any other bad argument: wrong dtype, index out of range, invalid name or option.
class ArgumentError : public Error {
 public:
  using Error::Error;
};

namespace detail {
/// Concatenates anything streamable into one message string.
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

}  // namespace wick

/// Throws `Type` with the streamed message when `cond` is false.
#define WICK_CHECK(cond, Type, ...)                            \
  do {                                                         \
    if (!(cond)) throw Type(::wick::detail::cat(__VA_ARGS__)); \
  } while (false)
