#pragma once
/// \file
/// wick::io::Writer: the low-level streaming writer behind save(), for models too large to
/// gather into one value: tensors go out as they are added, and only their index is kept.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>

#include "wick/core/tensor_dict.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// Writes one wick file front to back, never seeking. Memory use is a fixed buffer (1 MiB)
/// plus the index (a few dozen bytes per tensor).
///
///     wick::io::Writer w("model.wick");
///     for (auto& [name, t] : layers) w.add(name, t);   // streamed now
///     w.finish();                                      // the file appears at the path
///
/// Either add() entries and finish() (the root is a dict of them), or call finish(root) once.
class Writer {
 public:
  /// Writes to `out`. The caller keeps the stream alive until finish() returns.
  explicit Writer(std::ostream& out, SaveOptions options = {});
  /// Writes to a temporary file beside `path`; finish() renames it over `path` (atomically,
  /// durably by default). Destroying the writer without finish() removes the temporary file and
  /// leaves any previous file at `path` untouched.
  explicit Writer(const std::filesystem::path& path, SaveOptions options = {});
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Appends `key` -> `value` to the root dict, writing its tensors now. A tensor already
  /// written (same storage and view) is stored once and shared. ArgumentError on a duplicate key.
  void add(const std::string& key, const Value& value);
  /// add() for a single tensor, without building a Value around it.
  void add(const std::string& key, const Tensor& tensor);
  /// Completes the file with the dict of added entries as its root.
  void finish();
  /// Completes the file with `root` as its value; only when nothing was add()ed.
  void finish(const Value& root);
  /// finish(root) for a dict of tensors (a state_dict), without building a Value from it.
  void finish(const TensorDict& root);
  /// Bytes written so far.
  uint64_t bytes_written() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wick::io
