// The SSE2 (x86-64 baseline, 128-bit) kernel table. Compiled with its own -m flags and only reached
// after dispatch.cpp has checked that the CPU supports them.

// xsimd's own inline helpers get an ISA-specific namespace (see kernels_impl.h).
#define xsimd wick_xsimd_sse2
#include "kernels_impl.h"

namespace wick::simd::detail {

const KernelTable& sse2_kernels() noexcept {
  static const KernelTable table = make_table<xsimd::sse2>();
  return table;
}

}  // namespace wick::simd::detail
