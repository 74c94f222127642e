#pragma once
/// \file
/// AsyncSaver: checkpoints written in the background. Training stalls only while the saver takes
/// a snapshot of the value (a copy into staging memory, or a fork()); the file is then written
/// with every guarantee of wick::save (atomic, durable by default, checksummed,
/// crash-consistent) while training goes on and modifies the tensors.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

#include "wick/core/tensor_dict.h"
#include "wick/core/value.h"
#include "wick/io/options.h"

namespace wick::io {

/// How an asynchronous save takes its snapshot of the value.
enum class SnapshotMode {
  /// Copy when the tensors fit in the staging limit, fork otherwise.
  kAuto,
  /// Copy every tensor into staging buffers the saver keeps between saves. The stall is a
  /// memcpy of the tensors' bytes (on two threads from 32 MiB when wick::num_threads() >= 2);
  /// the extra memory is the staging buffers, at most AsyncSaveOptions::staging_limit. A writer
  /// thread of this process then writes the file.
  kCopy,
  /// fork(): a child process writes the file from its copy-on-write view of the memory, as
  /// Redis' BGSAVE does. The stall is the fork (copying page tables: about 2 ms per GiB of
  /// 4 KiB pages, much less for huge pages) and grows with the process' whole memory, not only
  /// the tensors. The extra memory is the pages the process writes while the child runs (each
  /// is copied once, at the cost of a page fault), which for training that updates every
  /// parameter is up to the whole state, copied 4 KiB at a time by the first writes after the
  /// fork (slower than copy mode's memcpy: prefer copy mode for training that updates every
  /// parameter between checkpoints: a fault of about 2 µs per 4 KiB page on a Zen 4 VM, 0.13 s
  /// per 256 MiB rewritten while the child runs). The freed buffers wick keeps for reuse
  /// (wick/core/storage_cache.h) are not shared with the child, so gradients written into them
  /// copy nothing. The child writes on one thread and gives up, leaving the
  /// previous file, when its parent dies; it runs none of the parent's signal handlers (SIGINT
  /// or SIGTERM to the process group ends it, the previous file stays). Not for MPI jobs on
  /// RDMA transports, whose registered memory a child cannot read.
  kFork,
};

/// Settings of an AsyncSaver.
struct AsyncSaveOptions {
  /// Saves in flight at once (>= 1). save() waits while this many are running; try_save()
  /// returns instead.
  int max_in_flight = 1;
  /// Copy mode: the most bytes of staging memory the saver holds, for all saves in flight
  /// together. Buffers are kept between saves and reused (the next save of the same state
  /// allocates nothing). A snapshot larger than the limit is forked in kAuto mode and refused
  /// (ArgumentError) in kCopy mode. The default is a quarter of the physical memory.
  std::size_t staging_limit = 0;
  /// The snapshot mode of saves that do not name one.
  SnapshotMode mode = SnapshotMode::kAuto;
};

/// What a save did, once done.
struct SaveStats {
  /// The mode the snapshot was taken in (kCopy or kFork, never kAuto).
  SnapshotMode mode = SnapshotMode::kCopy;
  /// Seconds the caller of save() was held: waiting for a free slot plus the snapshot.
  double stall_seconds = 0;
  /// Seconds of the snapshot alone (the copy, or the fork).
  double snapshot_seconds = 0;
  /// Bytes of tensor data in the snapshot.
  uint64_t snapshot_bytes = 0;
  /// Extra memory the save used: the staging bytes in copy mode; in fork mode the child's
  /// private memory when it finished (the pages the parent wrote meanwhile, which the child
  /// kept, plus the child's own buffers), read from the child's /proc/self/smaps_rollup.
  uint64_t extra_bytes = 0;
};

/// One save in flight or done. Handles are cheap to copy; every copy sees the same save.
class SaveHandle {
 public:
  /// An empty handle (valid() is false).
  SaveHandle() = default;
  /// True when this handle refers to a save.
  bool valid() const noexcept { return state_ != nullptr; }
  /// True when the file is written (or the save failed, or was superseded).
  bool done() const;
  /// Waits until done; throws the save's error (IoError for a full disk, ...) unless it was
  /// already thrown by another wait() or by AsyncSaver::save().
  void wait();
  /// Bytes written so far and in all (the tensor payload bytes, as SaveOptions::progress).
  std::pair<uint64_t, uint64_t> progress() const;
  /// True when a newer save to the same path was asked before this one ended: this one was
  /// dropped (a queued copy-mode save is never started, a fork-mode child is killed) and the
  /// newer one writes the file. Not an error.
  bool superseded() const;
  /// What the save did; meaningful once done().
  SaveStats stats() const;
  /// The file being written.
  const std::filesystem::path& path() const;

  // The methods above throw ArgumentError on an empty handle.

  /// Internal: the shared state of one save.
  struct State;
  /// Internal: a handle on `state`.
  explicit SaveHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  State& state() const;
  std::shared_ptr<State> state_;
};

/// Writes checkpoints in the background. save() returns once it holds a snapshot of the value:
/// the caller may then modify the tensors at once, and the file holds the values at the time
/// of the call, bit for bit (the same bytes wick::save writes). The file appears at `path` in
/// one rename, so the previous checkpoint stays whole until the new one is complete, whether
/// the process exits, crashes or is killed meanwhile.
///
/// Errors (a full disk, a permission denied) are never lost: each is thrown once, by the first
/// of SaveHandle::wait(), AsyncSaver::wait() and the next save() or try_save() to come; the
/// destructor, which cannot throw, writes any error never thrown to stderr. Saves to one path
/// finish in the order they were asked, so the newest is the one left.
///
/// Methods may be called from several threads. SaveOptions::progress, when set, is called from a
/// thread of the saver, and must not call this saver (that thread would wait for itself).
/// Paths are made absolute at the call: one file under two spellings is one path, and a later
/// chdir() changes nothing.
class AsyncSaver {
 public:
  /// A saver with `options` (ArgumentError for max_in_flight < 1).
  explicit AsyncSaver(AsyncSaveOptions options = {});
  /// Waits for every save in flight (see the class comment about errors).
  ~AsyncSaver();
  AsyncSaver(const AsyncSaver&) = delete;
  AsyncSaver& operator=(const AsyncSaver&) = delete;

  /// Snapshots `value` and writes it to `path` in the background; waits first while
  /// max_in_flight saves are running. Throws an earlier save's error not yet thrown (this save is
  /// then not started), ArgumentError for values save() refuses or a snapshot over the staging
  /// limit in kCopy mode, IoError when no process or thread can be started.
  SaveHandle save(const Value& value, const std::filesystem::path& path,
                  const SaveOptions& options = {}, std::optional<SnapshotMode> mode = std::nullopt);
  /// save() of a dict of tensors (a state_dict), written as wick::save writes one.
  SaveHandle save(const TensorDict& tensors, const std::filesystem::path& path,
                  const SaveOptions& options = {}, std::optional<SnapshotMode> mode = std::nullopt);
  /// save(), or nothing (std::nullopt) when max_in_flight saves are running: for a training
  /// loop that would rather skip a checkpoint than wait for one.
  std::optional<SaveHandle> try_save(const Value& value, const std::filesystem::path& path,
                                     const SaveOptions& options = {},
                                     std::optional<SnapshotMode> mode = std::nullopt);
  /// try_save() of a dict of tensors.
  std::optional<SaveHandle> try_save(const TensorDict& tensors, const std::filesystem::path& path,
                                     const SaveOptions& options = {},
                                     std::optional<SnapshotMode> mode = std::nullopt);
  /// Waits for every save in flight; throws the first error not yet thrown.
  void wait();
  /// True when no save is in flight.
  bool done() const;
  /// Saves in flight.
  int in_flight() const;
  /// Bytes of staging memory held (copy mode), in use or kept for the next save.
  std::size_t staging_bytes() const;
  /// Frees the staging buffers no save in flight uses. Those of 4 MiB and more go to wick's
  /// cache of large buffers (wick/core/storage_cache.h), which the next tensors of their sizes
  /// reuse; release_storage_cache() gives them back to the system.
  void release_staging();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wick::io
