// The SSE2 (x86-64 baseline, 128-bit) kernel table. Compiled with its own -m flags and only reached
// after dispatch.cpp has checked that the CPU supports them.

#include "kernels_impl.h"

namespace wick::simd::detail {

const KernelTable& sse2_kernels() noexcept {
  static const KernelTable table = make_table<xsimd::sse2>();
  return table;
}

}  // namespace wick::simd::detail
