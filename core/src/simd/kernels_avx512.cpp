// The AVX-512 F/CD/DQ/BW/VL (512-bit) kernel table. Compiled with its own -m flags and only reached
// after dispatch.cpp has checked that the CPU supports them.

// GCC 12's avx512fintrin.h trips its own -Wmaybe-uninitialized (the _mm512_undefined_* idiom,
// GCC PR 105593); the warning is about the compiler's headers, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// xsimd's own inline helpers get an ISA-specific namespace (see kernels_impl.h).
#define xsimd wick_xsimd_avx512
#include "kernels_impl.h"

namespace wick::simd::detail {

const KernelTable& avx512_kernels() noexcept {
  // The float/double kernels need nothing from BW; xsimd 8.1's avx512bw integer select (used
  // inside its double log) does not compile at -O0, so the table is built for avx512dq.
  static const KernelTable table = make_table<xsimd::avx512dq>();
  return table;
}

}  // namespace wick::simd::detail
