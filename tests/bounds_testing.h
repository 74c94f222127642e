#pragma once
// The decode bounds of io/FORMAT.md "Bounds", measured: every decode path, native or foreign,
// must finish (load or refuse) in memory a + b * file_size and time c * file_size, whatever the
// file claims or repeats. expect_bounded() runs one decode, measures it, fails the test when a
// bound is exceeded, and remembers the worst ratios over the whole run for the summary that
// CI's reliability-counts step prints.
//
// Memory is measured two ways:
//  - under ASan: the allocator's own count of live heap bytes, tracked at every malloc and free
//    through the sanitizer hooks, so the figure is exact and free of quarantine effects;
//  - otherwise: the rise of the resident-set high-water mark (VmHWM, reset through
//    /proc/self/clear_refs), which also sees mmap'd and page-cache-backed memory.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "testing.h"

#include "fuzz/decode_bounds.h"  // the heap hooks, shared with the fuzz harness

namespace wick::testing {

/// One stated bound of io/FORMAT.md "Bounds": memory <= mem_base + mem_per_byte * file_size,
/// time <= sec_base + sec_per_mb * file_size / 2^20 (Release; sanitizer builds get
/// kSanitizerSlowdown times the time). The fuzz harness's type, so that a bound both measure
/// (bounds::kShardedBound) is stated once, in tests/fuzz/decode_bounds.h.
using DecodeBound = bounds::DecodeBound;

/// ASan + UBSan run the same code several times slower; the time bound stretches by this much.
inline constexpr double kSanitizerSlowdown = 20.0;

/// WICK_BOUNDS_CACHE_MIB=N: decodes run with wick's buffer cache on, limited to N MiB and
/// empty at the start of each, and each memory bound grows by those N MiB, the most the cache
/// can keep of what the decode freed. Unset (the default): the cache is off while a decode is
/// measured, so that every buffer it takes shows.
inline std::size_t bounds_cache_bytes() {
  static const std::size_t bytes = [] {
    const char* env = std::getenv("WICK_BOUNDS_CACHE_MIB");
    return env != nullptr ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) << 20
                          : std::size_t{0};
  }();
  return bytes;
}

/// Peak memory growth and elapsed time from construction on.
class DecodeMeter {
 public:
  DecodeMeter() : heap_(bounds::detail::heap_hooks()) {
    if (heap_) {
      base_ = bounds::detail::g_live.load();
      bounds::detail::g_peak.store(base_);
    }
    start_ = std::chrono::steady_clock::now();
  }
  /// False when neither way of measuring memory works here (no /proc).
  bool memory_available() const { return heap_ || rss_.available(); }
  uint64_t memory_growth() const {
    if (heap_) {
      const int64_t peak = bounds::detail::g_peak.load();
      return peak > base_ ? static_cast<uint64_t>(peak - base_) : 0;
    }
    return rss_.growth();
  }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  // Declared first: the cache is set (off by default) before the RSS baseline is read.
  bounds::StorageCacheLimit cache_{bounds_cache_bytes()};
  PeakRss rss_;
  bool heap_ = false;
  int64_t base_ = 0;
  std::chrono::steady_clock::time_point start_;
};

/// Worst memory per file byte and worst time per MB over every bounded decode of the run.
struct BoundsSummary {
  int decodes = 0;
  double worst_bytes_per_byte = 0;  // (memory growth - mem_base) / file_size, clamped at 0
  std::string worst_memory_case;
  uint64_t worst_memory_growth = 0;
  double worst_sec_per_mb = 0;  // seconds / max(file MB, 1 MiB): small files count as 1 MiB
  std::string worst_time_case;
  std::map<std::string, int> per_bound;
};
inline BoundsSummary& bounds_summary() {
  static BoundsSummary s;
  return s;
}

class BoundsSummaryPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    const BoundsSummary& s = bounds_summary();
    if (s.decodes == 0) return;
    std::printf(
        "decode bounds: %d bounded decodes; worst memory %.2f bytes per file byte above the base "
        "(%s, %.1f MiB peak growth); worst time %.4f s per MB (%s)%s\n",
        s.decodes, s.worst_bytes_per_byte, s.worst_memory_case.c_str(),
        static_cast<double>(s.worst_memory_growth) / (1 << 20), s.worst_sec_per_mb,
        s.worst_time_case.c_str(),
        kSanitized ? " [sanitizer build: heap bytes counted by the allocator]" : "");
    if (bounds_cache_bytes() > 0) {
      std::printf(
          "decode bounds: measured with the buffer cache on, %zu MiB (added to each base)\n",
          bounds_cache_bytes() >> 20);
    }
    for (const auto& [name, n] : s.per_bound)
      std::printf("decode bounds:   %-28s %d decodes\n", name.c_str(), n);
  }
};
[[maybe_unused]] inline ::testing::Environment* const kBoundsSummaryPrinter =
    ::testing::AddGlobalTestEnvironment(new BoundsSummaryPrinter);

/// Runs `decode` (which may throw: a refusal is a fine outcome, the caller checks which), and
/// fails the test when it took more memory or time than `bound` allows for `file_size` bytes.
/// `what` names the case in failures and in the summary. Rethrows what `decode` threw.
inline void expect_bounded(const std::string& what, uint64_t file_size, const DecodeBound& bound,
                           const std::function<void()>& decode) {
  DecodeMeter meter;
  std::exception_ptr thrown;
  try {
    decode();
  } catch (...) {
    thrown = std::current_exception();
  }
  const double secs = meter.seconds();
  const double mb = static_cast<double>(file_size) / (1 << 20);
  const double time_limit =
      (bound.sec_base + bound.sec_per_mb * mb) * (kSanitized ? kSanitizerSlowdown : 1.0);
  EXPECT_LE(secs, time_limit) << what << ": " << file_size << "-byte file took " << secs
                              << " s; the bound '" << bound.name << "' allows " << time_limit;
  BoundsSummary& s = bounds_summary();
  ++s.decodes;
  ++s.per_bound[bound.name];
  const double per_mb = secs / std::max(mb, 1.0);
  if (per_mb > s.worst_sec_per_mb) {
    s.worst_sec_per_mb = per_mb;
    s.worst_time_case = what;
  }
  if (meter.memory_available()) {
    const uint64_t growth = meter.memory_growth();
    const uint64_t base = bound.mem_base + bounds_cache_bytes();
    const double limit =
        static_cast<double>(base) + bound.mem_per_byte * static_cast<double>(file_size);
    EXPECT_LE(static_cast<double>(growth), limit)
        << what << ": " << file_size << "-byte file raised memory by " << growth
        << " bytes; the bound '" << bound.name << "' allows " << limit;
    const double above = growth > base ? static_cast<double>(growth - base) /
                                             static_cast<double>(std::max<uint64_t>(file_size, 1))
                                       : 0.0;
    if (above > s.worst_bytes_per_byte || s.worst_memory_case.empty()) {
      s.worst_bytes_per_byte = above;
      s.worst_memory_case = what;
      s.worst_memory_growth = growth;
    }
  }
  if (thrown) std::rethrow_exception(thrown);
}

}  // namespace wick::testing
