// The AVX2 + FMA (256-bit) kernel table. Compiled with its own -m flags and only reached after
// dispatch.cpp has checked that the CPU supports them.

// xsimd's own inline helpers get an ISA-specific namespace (see kernels_impl.h).
#define xsimd wick_xsimd_avx2
#include "kernels_impl.h"

namespace wick::simd::detail {

const KernelTable& avx2_kernels() noexcept {
  static const KernelTable table = make_table<xsimd::fma3<xsimd::avx2>>();
  return table;
}

void gemm_dots_avx2(const GemmArgs<float>& args) {
  gemm_dots<float, xsimd::fma3<xsimd::avx2>>(args);
}

}  // namespace wick::simd::detail
