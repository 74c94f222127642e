#pragma once
/// \file
/// The exception hierarchy every wick function throws from. Nothing in wick aborts or exits.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wick {

/// Base of every exception wick throws. Messages name the operation, the object involved
/// (tensor name, path, file offset) and what was expected versus what was found.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
