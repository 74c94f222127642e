#pragma once
// Shared test helpers.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "wick/core/creation.h"

/// Expects `stmt` to throw `Type` whose what() contains `substring`.
#define WICK_EXPECT_THROW_MSG(stmt, Type, substring)                                         \
  do {                                                                                       \
    try {                                                                                    \
      (void)(stmt);                                                                          \
      ADD_FAILURE() << "expected " #Type " from: " #stmt;                                    \
    } catch (const Type& wick_caught_) {                                                     \
      EXPECT_NE(std::string(wick_caught_.what()).find(substring), std::string::npos)         \
          << "message: " << wick_caught_.what() << "\nexpected to contain: " << (substring); \
    } catch (const std::exception& wick_other_) {                                            \
      ADD_FAILURE() << "expected " #Type ", got another exception: " << wick_other_.what();  \
    }                                                                                        \
  } while (false)

namespace wick::testing {

/// True in sanitizer builds, where tests that repeat an operation many times do fewer rounds.
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

/// The process's resident-memory high-water mark since construction (Linux: resets VmHWM
/// through /proc/self/clear_refs). `available()` is false where that cannot be done.
class PeakRss {
 public:
  PeakRss() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.close();
    start_ = status_kib("VmRSS:");
    available_ = clear.good() && start_ > 0 && status_kib("VmHWM:") <= start_ + 256;
  }
  bool available() const { return available_; }
  /// Bytes by which the peak rose above the resident size at construction.
  uint64_t growth() const {
    const uint64_t hwm = status_kib("VmHWM:");
    return hwm > start_ ? (hwm - start_) * 1024 : 0;
  }

 private:
  static uint64_t status_kib(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size()));
    }
    return 0;
  }
  uint64_t start_ = 0;
  bool available_ = false;
};

/// Values uniform in [lo, hi) from std::mt19937(seed) — an independent source, not wick's own
/// generator — converted to `dtype`; non-floating dtypes get round(value * int_scale).
inline Tensor random_values(const Shape& shape, DType dtype, uint32_t seed, double lo, double hi,
                            double int_scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (double& x : v)
    x = is_floating(dtype) ? dist(rng) : std::round(dist(rng) * int_scale);
  return from_vector(v, shape).to(dtype);
}

/// The elements of any tensor as doubles, in row-major order.
inline std::vector<double> values(const Tensor& t) {
  const Tensor c = t.to(kFloat64).contiguous();
  const auto s = c.span<double>();
  return {s.begin(), s.end()};
}

}  // namespace wick::testing
