#pragma once
// Keeps a convert's memory near one tensor: the input is mapped (a wick file by io::Reader with
// mmap, safetensors and .npy by their mapped loads), and a writer reading it faults its pages
// into this process, where they would count until exit.
// PageRelease hands them back to the page cache every few milliseconds while the output is
// written, so resident memory stays at what the writer touched since, whatever the file's size.

#include <cstddef>
#include <filesystem>
#include <thread>
#include <vector>

#include "wick/core/value.h"

namespace wick::cli {

/// While alive, drops (madvise MADV_DONTNEED) from this process, every few milliseconds, the
/// pages under the tensors of `root` that lie in a mapping of `file` (read from
/// /proc/self/maps): a dropped page of a file mapping nothing writes is read again from the
/// file when touched, so nothing changes but the resident size. Tensors in anonymous memory
/// (which MADV_DONTNEED would zero) are never touched, and the released pages are read-only
/// while it lives: a write to them, whose page MADV_DONTNEED would drop, faults instead.
class PageRelease {
 public:
  PageRelease(const Value& root, const std::filesystem::path& file);
  ~PageRelease();
  PageRelease(const PageRelease&) = delete;
  PageRelease& operator=(const PageRelease&) = delete;

  /// Drops the pages now.
  void release() const;

 private:
  struct Range {
    std::byte* begin;
    std::size_t length;
  };
  std::vector<Range> ranges_;  // page-aligned, merged: one per storage, usually one in all
  std::jthread thread_;
};

}  // namespace wick::cli
