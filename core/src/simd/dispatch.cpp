// Run-time choice of the kernel table. Compiled with baseline flags: nothing here may execute
// an instruction the CPU might lack, so CPU detection uses the compiler's cpuid builtins (which
// also check that the OS saves the wider registers) rather than xsimd, whose inline helpers
// would be compiled into the per-ISA files as well.
//
// WICK_SIMD caps the start-up level: "scalar", "sse2", "avx2" or "avx512". A level above what
// the CPU supports is lowered to the best supported one; an unrecognised value is ignored (the
// best level is used) after a one-line warning on stderr. An empty value counts as unset.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels.h"
#include "wick/core/error.h"
#include "wick/core/simd.h"

namespace wick::simd {

namespace {

Level detect_best_level() noexcept {
#if WICK_SIMD_X86
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  if (avx512) return Level::AVX512;
  if (avx2) return Level::AVX2;
  return Level::SSE2;
#else
  return Level::Scalar;
#endif
}

const detail::KernelTable& table_for(Level level) noexcept {
  switch (level) {
#if WICK_SIMD_X86
    case Level::SSE2:
      return detail::sse2_kernels();
    case Level::AVX2:
      return detail::avx2_kernels();
    case Level::AVX512:
      return detail::avx512_kernels();
#endif
    default:
      return detail::scalar_kernels();
  }
}

bool is_valid(Level level) noexcept {
  return static_cast<int>(level) >= 0 && static_cast<int>(level) <= static_cast<int>(Level::AVX512);
}

struct State {
  Level best;
  std::atomic<Level> level;
  std::atomic<const detail::KernelTable*> table;

  State() : best(detect_best_level()), level(best), table(nullptr) {
    Level start = best;
    const char* env = std::getenv("WICK_SIMD");
    if (env != nullptr && *env != '\0') {
      if (const auto requested = parse_level(env)) {
        if (*requested < best) start = *requested;
      } else {
        std::fprintf(stderr,
                     "wick: ignoring unknown WICK_SIMD value '%s' (expected scalar, sse2, "
                     "avx2 or avx512); using %s\n",
                     env, std::string(level_name(best)).c_str());
      }
    }
    level.store(start);
    table.store(&table_for(start));
  }
};

// Built on first use, so ops called from other static initialisers still find a table.
State& state() noexcept {
  static State s;
  return s;
}

}  // namespace

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::Scalar:
      return "scalar";
    case Level::SSE2:
      return "sse2";
    case Level::AVX2:
      return "avx2";
    case Level::AVX512:
      return "avx512";
  }
  return "unknown";
}

std::optional<Level> parse_level(std::string_view name) noexcept {
  for (const Level l : {Level::Scalar, Level::SSE2, Level::AVX2, Level::AVX512}) {
    if (level_name(l) == name) return l;
  }
  return std::nullopt;
}

Level best_supported_level() noexcept {
  return state().best;
}

std::vector<Level> supported_levels() {
  std::vector<Level> out;
  for (int l = 0; l <= static_cast<int>(state().best); ++l)
    out.push_back(static_cast<Level>(l));
  return out;
}

Level active_level() noexcept {
  return state().level.load(std::memory_order_relaxed);
}

void set_level(Level level) {
  State& s = state();
  WICK_CHECK(is_valid(level), ArgumentError, "simd::set_level: invalid level code ",
             static_cast<int>(level), " (expected 0..", static_cast<int>(Level::AVX512), ")");
  WICK_CHECK(level <= s.best, ArgumentError, "simd::set_level: level ", level_name(level),
             " is not supported by this CPU/build (best supported: ", level_name(s.best), ")");
  s.table.store(&table_for(level), std::memory_order_relaxed);
  s.level.store(level, std::memory_order_relaxed);
}

namespace detail {
const KernelTable& active_kernels() noexcept {
  return *state().table.load(std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace wick::simd
