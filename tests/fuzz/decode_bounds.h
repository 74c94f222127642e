#pragma once
// The decode bounds of io/FORMAT.md "Guarantees" as named constants, and a meter that measures
// one decode against them: peak memory growth and CPU time. Header-only and free of GoogleTest,
// so that the fuzz targets (tests/fuzz/), the regression replay (FuzzRegressions.*) and the
// hostile suites can all share one set of numbers.
//
// Memory is what the process holds above what it held when the decode started, at its peak:
//  - heap bytes, counted exactly at every malloc and free through the sanitizer allocator's
//    hooks (ASan builds only; libFuzzer installs a hook pair of its own, and ASan keeps up to
//    five, so the two coexist);
//  - plus wick's own anonymous mappings (core/src/storage.cpp maps tensors of 4 MiB and more
//    instead of allocating them, which no malloc hook sees), counted by mapped_memory.cpp when
//    a binary links it with -Wl,--wrap=mmap,--wrap=munmap (tests/fuzz/CMakeLists.txt).
// Time is the process's CPU time (every thread), not wall time: the bound is about work done per
// byte, and CPU time does not grow when other processes share the cores. A decode that blocks
// without working is libFuzzer's -timeout's to catch.

#include <errno.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "wick/core/storage_cache.h"

#if defined(__SANITIZE_ADDRESS__)
#define WICK_DECODE_BOUNDS_HEAP_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WICK_DECODE_BOUNDS_HEAP_HOOKS 1
#endif
#endif
#ifdef WICK_DECODE_BOUNDS_HEAP_HOOKS
// Declared here: GCC ships no <sanitizer/allocator_interface.h>; clang's header declares the
// same functions the same way.
extern "C" {
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                  std::size_t),
                                              void (*free_hook)(const volatile void*));
std::size_t __sanitizer_get_allocated_size(const volatile void* p);
}
#endif

namespace wick::bounds {

/// One stated bound: a decode of a file of n bytes, loaded or refused, takes at most
/// mem_base + mem_per_byte * n bytes of memory and sec_base + sec_per_mb * n / 2^20 seconds of
/// CPU time in a Release build (kSanitizerSlowdown times that under ASan + UBSan).
struct DecodeBound {
  const char* name;
  uint64_t mem_base;
  double mem_per_byte;
  double sec_base;
  double sec_per_mb;
};

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

/// wick's own format, any decode path. The base is the stream's read-ahead (a stream gets at
/// most 64 MiB ahead of the bytes received). The slope is set by the densest value a file can
/// hold: a one-byte `none` or `bool` becomes a 112-byte Value in a list, measured at 141-145
/// bytes per byte of file for valid files of 400,000 to 1,000,000 of them (nested lists, keys
/// and tensor references cost 30-36), so 160 bytes per byte.
inline constexpr DecodeBound kNativeBound{"native wick file", 64 * kMiB, 160.0, 1.0, 2.0};
/// Zip archives (.pt, .npz): deflate turns a byte into at most 1032 (each 258-byte match costs
/// at least two bits), and what the archive's pickle or .npy headers make a reader hold costs
/// no more than kNativeBound's slope (a stored pickle of a million one-byte values measured 81
/// bytes per byte; a deflated one may inflate only to its budget of 32 bytes per compressed
/// byte plus 8 MiB).
inline constexpr DecodeBound kZipBound{"zip archive (.pt, .npz)", 64 * kMiB, 1032.0 + 160.0, 1.0,
                                       2.0};
/// safetensors: a JSON header parsed into a value tree.
inline constexpr DecodeBound kSafetensorsBound{"safetensors", 64 * kMiB, 64.0, 1.0, 2.0};
/// .npy: a header of at most 10,000 bytes, then the data.
inline constexpr DecodeBound kNpyBound{"npy", 64 * kMiB, 64.0, 1.0, 2.0};

/// A sharded checkpoint (io/FORMAT.md "Sharded checkpoints", "Bounds"), any call of
/// io::ShardedReader or load(dir), measured against the bytes of all its files: the index is
/// read under the wick file's whole-load row, and what a load allocates for tensors is bounded
/// by the shards' real sizes, so the same numbers hold over the whole directory.
/// tests/io/test_sharded.cpp's hostile indexes are measured against this one too.
inline constexpr DecodeBound kShardedBound{"sharded checkpoint", 64 * kMiB, 160.0, 2.0, 2.0};

/// ASan + UBSan run the same code several times slower; time bounds stretch by this much there.
inline constexpr double kSanitizerSlowdown = 20.0;

/// The time base the fuzz harness checks instead of a bound's sec_base. The stated base (1 s)
/// is for files read cold from a disk; every fuzz input is at most 64 KiB in tmpfs and decodes
/// in milliseconds, and a 20 s sanitizer base would never fire before libFuzzer's -timeout=10.
/// 50 ms (1 s under sanitizers) is ten times the 0.1 s of CPU time that ASan's allocator now
/// and then spends recycling its quarantine inside an unlucky decode, and a hundred times what
/// a decode of a fuzz input takes otherwise, so what this catches is work out of proportion to
/// the bytes.
inline constexpr double kSmallInputSecBase = 0.05;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

/// The bound for a file that starts with `head` (at least its first 8 bytes when it has them),
/// told apart as wick::io::detect_format() does: wick magic, NumPy magic, a zip signature;
/// anything else is read as safetensors, the one format without a magic number.
inline const DecodeBound& bound_for(std::string_view head) {
  if (head.starts_with("\x89WICK\r\n\x1a")) return kNativeBound;
  if (head.starts_with("\x93NUMPY")) return kNpyBound;
  if (head.starts_with("PK")) return kZipBound;
  return kSafetensorsBound;
}

namespace detail {
// Live bytes (heap + counted mappings) and their peak since the last reset. Signed: frees of
// blocks allocated before the hooks were installed take it below where it started.
inline std::atomic<int64_t> g_live{0};
inline std::atomic<int64_t> g_peak{0};
inline std::atomic<bool> g_mappings_counted{false};

inline void add_live(int64_t n) {
  const int64_t now = g_live.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
inline void sub_live(int64_t n) {
  g_live.fetch_sub(n, std::memory_order_relaxed);
}

#ifdef WICK_DECODE_BOUNDS_HEAP_HOOKS
inline void on_malloc(const volatile void*, std::size_t size) {
  add_live(static_cast<int64_t>(size));
}
inline void on_free(const volatile void* p) {
  // ASan calls the hook before it releases the block, so its size is still known.
  if (p != nullptr) {
    sub_live(static_cast<int64_t>(__sanitizer_get_allocated_size(const_cast<void*>(p))));
  }
}
#endif

/// True once the heap hooks are in place (ASan builds); false elsewhere.
inline bool heap_hooks() {
#ifdef WICK_DECODE_BOUNDS_HEAP_HOOKS
  static const bool installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
  return installed;
#else
  return false;
#endif
}

inline double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace detail

/// Sets wick's cache of large buffers (wick/core/storage_cache.h) to `bytes`, emptied, while it
/// lives, then restores the limit it found. 0 turns the cache off: a decode handed a cached
/// buffer maps no memory and faults in no page, so neither the mapping count nor the RSS would
/// see the memory it uses. A limit above 0 measures a decode as a program with the cache on
/// runs it: it can then hold at most `bytes` more, the buffers it freed and the cache kept.
class StorageCacheLimit {
 public:
  explicit StorageCacheLimit(std::size_t bytes) : saved_(wick::storage_cache_limit()) {
    wick::set_storage_cache_limit(0);
    wick::set_storage_cache_limit(bytes);
  }
  ~StorageCacheLimit() {
    wick::set_storage_cache_limit(0);
    wick::set_storage_cache_limit(saved_);
  }
  StorageCacheLimit(const StorageCacheLimit&) = delete;
  StorageCacheLimit& operator=(const StorageCacheLimit&) = delete;

 private:
  std::size_t saved_;
};

/// Peak memory growth and CPU time from construction on. One at a time: constructing a meter
/// restarts the peak.
class DecodeMeter {
 public:
  DecodeMeter() : heap_(detail::heap_hooks()) {
    base_ = detail::g_live.load();
    detail::g_peak.store(base_);
    cpu_start_ = detail::cpu_seconds();
  }
  /// False where memory cannot be counted (no ASan).
  bool memory_available() const { return heap_; }
  /// True when wick's anonymous mappings count too (mapped_memory.cpp is linked in).
  static bool mappings_counted() { return detail::g_mappings_counted.load(); }
  uint64_t memory_growth() const {
    const int64_t peak = detail::g_peak.load();
    return peak > base_ ? static_cast<uint64_t>(peak - base_) : 0;
  }
  double cpu_seconds() const { return detail::cpu_seconds() - cpu_start_; }

 private:
  StorageCacheLimit no_cache_{0};
  bool heap_;
  int64_t base_ = 0;
  double cpu_start_ = 0;
};

/// The limits `bound` sets for a file of `file_size` bytes, as the fuzz harness checks them.
struct Limits {
  double memory;   // bytes
  double seconds;  // CPU seconds
};
inline Limits limits_for(const DecodeBound& bound, uint64_t file_size) {
  const double mb = static_cast<double>(file_size) / static_cast<double>(kMiB);
  return {static_cast<double>(bound.mem_base) + bound.mem_per_byte * static_cast<double>(file_size),
          (kSmallInputSecBase + bound.sec_per_mb * mb) * (kSanitized ? kSanitizerSlowdown : 1.0)};
}

/// Inputs at least this large count towards the steepest memory slope reported: on smaller
/// ones a few KiB of fixed cost reads as a steep slope.
inline constexpr uint64_t kSlopeMinBytes = 4096;

/// The worst figures seen per bound, printed at exit as "wick fuzz bounds: ..." lines (which
/// scripts/fuzz.sh collects): memory as bytes per file byte above the base, as
/// tests/bounds_testing.h reports it (0 while every input stays under the base), the steepest
/// growth per file byte (inputs of kSlopeMinBytes or more: how close a file of the same
/// structure but a thousand times larger would come to the slope) and the largest growth; time
/// as CPU seconds per MB, files under 1 MiB counting as 1 MiB.
class BoundsLog {
 public:
  static BoundsLog& get() {
    static BoundsLog* log = [] {
      auto* l = new BoundsLog;  // never destroyed: the exit handler below reads it
      std::atexit([] { get().print(stderr); });
      return l;
    }();
    return *log;
  }

  void record(const DecodeBound& bound, const std::string& what, uint64_t file_size,
              bool memory_measured, uint64_t growth, double seconds) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Worst& w = worst_[bound.name];
    w.bound = &bound;
    ++w.decodes;
    if (memory_measured) {
      w.memory_measured = true;
      const double n = static_cast<double>(std::max<uint64_t>(file_size, 1));
      const double above =
          growth > bound.mem_base ? static_cast<double>(growth - bound.mem_base) / n : 0.0;
      w.above_base_per_byte = std::max(w.above_base_per_byte, above);
      if (file_size >= kSlopeMinBytes && static_cast<double>(growth) / n >= w.slope) {
        w.slope = static_cast<double>(growth) / n;
        w.slope_file_size = file_size;
        w.slope_case = what;
      }
      if (growth >= w.growth) {
        w.growth = growth;
        w.growth_file_size = file_size;
        w.growth_case = what;
      }
    }
    const double mb = std::max(static_cast<double>(file_size) / static_cast<double>(kMiB), 1.0);
    if (seconds / mb >= w.sec_per_mb) {
      w.sec_per_mb = seconds / mb;
      w.time_file_size = file_size;
      w.time_case = what;
    }
  }

  void print(std::FILE* out) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, w] : worst_) {
      std::fprintf(out, "wick fuzz bounds: %s: %s: %llu decodes", program_invocation_short_name,
                   name.c_str(), static_cast<unsigned long long>(w.decodes));
      if (w.memory_measured) {
        std::fprintf(
            out,
            "; memory: worst %.2f bytes per file byte above the %llu MiB base (bound "
            "%.0f), steepest %.1f bytes per byte (%llu bytes, %s), largest growth %.1f "
            "KiB (%llu bytes, %s)%s",
            w.above_base_per_byte, static_cast<unsigned long long>(w.bound->mem_base / kMiB),
            w.bound->mem_per_byte, w.slope, static_cast<unsigned long long>(w.slope_file_size),
            w.slope_case.c_str(), static_cast<double>(w.growth) / 1024.0,
            static_cast<unsigned long long>(w.growth_file_size), w.growth_case.c_str(),
            DecodeMeter::mappings_counted() ? "" : " [wick's own mappings not counted]");
      } else {
        std::fprintf(out, "; memory: not measured (no ASan)");
      }
      std::fprintf(out, "; time: worst %.4f CPU s per MB (%llu bytes, %s)%s\n", w.sec_per_mb,
                   static_cast<unsigned long long>(w.time_file_size), w.time_case.c_str(),
                   kSanitized ? " [sanitizer build]" : "");
    }
    std::fflush(out);
  }

 private:
  struct Worst {
    const DecodeBound* bound = nullptr;
    uint64_t decodes = 0;
    bool memory_measured = false;
    double above_base_per_byte = 0;
    double slope = 0;
    uint64_t slope_file_size = 0;
    std::string slope_case;
    uint64_t growth = 0;
    uint64_t growth_file_size = 0;
    std::string growth_case;
    double sec_per_mb = 0;
    uint64_t time_file_size = 0;
    std::string time_case;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Worst> worst_;
};

}  // namespace wick::bounds
