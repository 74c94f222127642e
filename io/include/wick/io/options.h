#pragma once
/// \file
/// Options for saving and loading wick files.

#include <cstdint>
#include <functional>

#include "wick/core/value.h"

namespace wick {

/// Called as bytes are written or read: (bytes done, bytes in all). For wick files `total`
/// counts tensor payload bytes and is 0 when unknown in advance (a Writer fed tensor by
/// tensor); the foreign writers (save_as) count the bytes of the file they write (for the zip
/// formats, of its members). A callback should not throw: the zip writers hand its exception
/// back only once the archive is written.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

/// How save() writes.
struct SaveOptions {
  /// Saving to a path always goes through a temporary file renamed over the target, so a
  /// crash or error never leaves a partial file there. Durable (the default) also fsyncs the
  /// file and its directory, so the new file survives a power loss once save() returns;
  /// false skips both fsyncs for speed.
  bool durable = true;
  /// File-level metadata: values must be none, bool, int, float or string.
  Dict metadata;
  /// Progress callback (may be empty).
  ProgressFn progress;
  /// wick files: the format version to write (io/FORMAT.md "Version history"): 1.0, 2.0, 2.1,
  /// or 0.0 for the oldest that holds the value. save() then writes 1.0 unless the value has a
  /// tuple or a dict with an int key, which need 2.0, or tensors that view one storage, which
  /// 2.1 keeps as views of one record (older versions store each as a copy). An io::Writer
  /// cannot look ahead: it writes 1.0 unless told otherwise, and refuses an entry its version
  /// cannot hold; its add() stores each tensor's elements on their own (a view as a copy),
  /// sharing only identical views.
  int format_major = 0;
  /// See format_major.
  int format_minor = 0;
};

/// How load() reads.
struct LoadOptions {
  /// Verify every checksum and structural rule (the default). Turn off only for trusted files:
  /// a corrupt file then yields wrong values instead of an error (it still never crashes).
  bool verify = true;
  /// Memory-map the file (paths only): tensors become zero-copy views of a private,
  /// copy-on-write mapping, kept alive as long as any of them is. The foreign formats are
  /// mapped too: safetensors and .npy files, and the stored members of PyTorch and .npz
  /// archives (after their CRC-32 is checked); a tensor misaligned for its dtype, a compressed
  /// member, or .npy data that must be byte-swapped is read instead.
  bool mmap = false;
  /// Progress callback (may be empty).
  ProgressFn progress;
};

}  // namespace wick
