#pragma once
/// \file
/// Which SIMD code path the kernels run, chosen at run time for the CPU at hand.
///
/// One binary carries every path; at start-up wick picks the best one the CPU supports. The
/// environment variable WICK_SIMD (scalar, sse2, avx2, avx512) caps that choice (a level above
/// the CPU's best means the best; an unrecognised value is ignored with a warning on stderr),
/// and set_level() changes it at run time, so tests can run every path against the scalar one.

#include <optional>
#include <string_view>
#include <vector>

namespace wick::simd {

/// Code paths, from the plain C++ reference up to AVX-512.
enum class Level : int {
  Scalar = 0,  ///< portable C++, never vectorised: the reference
  SSE2 = 1,    ///< x86-64 baseline, 128-bit
  AVX2 = 2,    ///< AVX2 + FMA, 256-bit
  AVX512 = 3,  ///< AVX-512 F/CD/DQ/BW/VL, 512-bit
};

/// Lower-case name: "scalar", "sse2", "avx2", "avx512".
std::string_view level_name(Level level) noexcept;
/// Parses a name from level_name(); nullopt otherwise.
std::optional<Level> parse_level(std::string_view name) noexcept;
/// The best path this CPU and this build support.
Level best_supported_level() noexcept;
/// Every path this CPU and build support, from Scalar up.
std::vector<Level> supported_levels();
/// The path kernels use now.
Level active_level() noexcept;
/// Switches the path; ArgumentError when this CPU or build lacks it. Not thread-safe with
/// respect to running kernels: switch between computations.
void set_level(Level level);

}  // namespace wick::simd
