#pragma once
// Private, included only by the per-ISA files kernels_<arch>.cpp: the kernels as xsimd templates
// over the architecture tag.
//
// ODR: each per-ISA file is compiled with its own -m flags, so any function it emits out of line
// must never be merged with another file's copy by the linker. Everything here lives in an
// anonymous namespace (internal linkage, one copy per file) and uses no std:: containers or
// algorithms. xsimd's non-template helpers (constants, bit_cast, ...) would still be shared
// weak symbols in unoptimised builds, so each per-ISA file renames the xsimd namespace with
// `#define xsimd wick_xsimd_<isa>` before including this header. (Unoptimised builds still
// share a few std:: helpers xsimd calls, e.g. numeric_limits<float>::infinity(); optimised
// builds inline them all.)

#ifndef xsimd
#error "define xsimd to an ISA-specific name (wick_xsimd_<isa>) before including kernels_impl.h"
#endif

#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstring>
#include <new>

#include "kernels.h"

namespace wick::simd::detail {
namespace {

template <class T, class A>
using Vec = xsimd::batch<T, A>;

int64_t min_i64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// ---- elementwise ops on batches -------------------------------------------------------------

struct Add {
  template <class V>
  static V apply(const V& a, const V& b) {
    return a + b;
  }
};
struct Sub {
  template <class V>
  static V apply(const V& a, const V& b) {
    return a - b;
  }
};
struct Mul {
  template <class V>
  static V apply(const V& a, const V& b) {
    return a * b;
  }
};
struct Div {
  template <class V>
  static V apply(const V& a, const V& b) {
    return a / b;
  }
};
// xsimd 8.1 implements != on AVX/AVX-512 with the ordered predicate (_CMP_NEQ_OQ), which is
// false for NaN; NaN tests and != go through == and isnan (unordered) instead.

// Same selection as the scalar reference: b only when a is not NaN and b is larger or NaN.
struct Max {
  template <class V>
  static V apply(const V& a, const V& b) {
    return xsimd::select(~xsimd::isnan(a) & ((b > a) | xsimd::isnan(b)), b, a);
  }
};

// Flips the sign bit, so -(0.0) is -0.0 (xsimd's 0 - x would give +0.0).
struct Neg {
  template <class V>
  static V apply(const V& x) {
    return x ^ V(typename V::value_type(-0.0));
  }
};
struct Relu {
  template <class V>
  static V apply(const V& x) {
    const V zero(typename V::value_type(0));
    return xsimd::select(x < zero, zero, x);
  }
};
struct Exp {
  template <class V>
  static V apply(const V& x) {
    return xsimd::exp(x);
  }
};
struct Log {
  template <class V>
  static V apply(const V& x) {
    return xsimd::log(x);
  }
};
struct Tanh {
  template <class V>
  static V apply(const V& x) {
    return xsimd::tanh(x);
  }
};
struct Sigmoid {
  template <class V>
  static V apply(const V& x) {
    const V one(typename V::value_type(1));
    return one / (one + xsimd::exp(-x));
  }
};

struct Eq {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return a == b;
  }
};
struct Ne {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return ~(a == b);
  }
};
struct Lt {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return a < b;
  }
};
struct Le {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return a <= b;
  }
};
struct Gt {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return a > b;
  }
};
struct Ge {
  template <class V>
  static auto apply(const V& a, const V& b) {
    return a >= b;
  }
};

// ---- row kernels ----------------------------------------------------------------------------
// Tails (n % W elements) go through a padded stack buffer and the same batch code, so every
// element of a row is computed by the same instructions whatever its position.

template <class T, class A>
struct Tail {
  static constexpr int64_t kW = static_cast<int64_t>(Vec<T, A>::size);
  alignas(64) T a[kW];
  alignas(64) T b[kW];
  alignas(64) T out[kW];

  Tail() {
    for (int64_t i = 0; i < kW; ++i)
      a[i] = b[i] = T(1);
  }
  void load_a(const T* src, int64_t n) { std::memcpy(a, src, sizeof(T) * n); }
  void load_b(const T* src, int64_t n) { std::memcpy(b, src, sizeof(T) * n); }
  void store(T* dst, int64_t n) const { std::memcpy(dst, out, sizeof(T) * n); }
};

template <class T, class A, class Op>
void binary_vv(const T* a, const T* b, T* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(V::load_unaligned(a + i), V::load_unaligned(b + i)).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(a + i, n - i);
    t.load_b(b + i, n - i);
    Op::apply(V::load_aligned(t.a), V::load_aligned(t.b)).store_aligned(t.out);
    t.store(out + i, n - i);
  }
}

template <class T, class A, class Op>
void binary_vs(const T* a, T b, T* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  const V vb(b);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(V::load_unaligned(a + i), vb).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(a + i, n - i);
    Op::apply(V::load_aligned(t.a), vb).store_aligned(t.out);
    t.store(out + i, n - i);
  }
}

template <class T, class A, class Op>
void binary_sv(T a, const T* b, T* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  const V va(a);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(va, V::load_unaligned(b + i)).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_b(b + i, n - i);
    Op::apply(va, V::load_aligned(t.b)).store_aligned(t.out);
    t.store(out + i, n - i);
  }
}

template <class T, class A, class Op>
void unary(const T* x, T* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(V::load_unaligned(x + i)).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(x + i, n - i);
    Op::apply(V::load_aligned(t.a)).store_aligned(t.out);
    t.store(out + i, n - i);
  }
}

template <class T, class A, class Op>
void compare_vv(const T* a, const T* b, bool* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(V::load_unaligned(a + i), V::load_unaligned(b + i)).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(a + i, n - i);
    t.load_b(b + i, n - i);
    bool res[W];
    Op::apply(V::load_aligned(t.a), V::load_aligned(t.b)).store_unaligned(res);
    std::memcpy(out + i, res, static_cast<std::size_t>(n - i));
  }
}

template <class T, class A, class Op>
void compare_vs(const T* a, T b, bool* out, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  const V vb(b);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    Op::apply(V::load_unaligned(a + i), vb).store_unaligned(out + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(a + i, n - i);
    bool res[W];
    Op::apply(V::load_aligned(t.a), vb).store_unaligned(res);
    std::memcpy(out + i, res, static_cast<std::size_t>(n - i));
  }
}

// ---- reductions ------------------------------------------------------------------------------

// Four independent accumulators hide the add latency; blocks are combined in double so long
// sums do not drift.
template <class T, class A>
T sum(const T* x, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  double total = 0;
  for (int64_t start = 0; start < n; start += kSumBlock) {
    const int64_t end = min_i64(n, start + kSumBlock);
    V s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
    int64_t i = start;
    for (; i + 4 * W <= end; i += 4 * W) {
      s0 += V::load_unaligned(x + i);
      s1 += V::load_unaligned(x + i + W);
      s2 += V::load_unaligned(x + i + 2 * W);
      s3 += V::load_unaligned(x + i + 3 * W);
    }
    for (; i + W <= end; i += W)
      s0 += V::load_unaligned(x + i);
    T block = xsimd::hadd((s0 + s1) + (s2 + s3));
    for (; i < end; ++i)
      block += x[i];
    total += static_cast<double>(block);
  }
  return static_cast<T>(total);
}

template <class T>
T first_nan(const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
  }
  return x[0];
}

template <class T, class A>
T max(const T* x, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  T m = x[0];
  int64_t i = 0;
  if (n >= 2 * W) {
    V m0 = V::load_unaligned(x), m1 = V::load_unaligned(x + W);
    for (i = 2 * W; i + 2 * W <= n; i += 2 * W) {
      m0 = Max::apply(m0, V::load_unaligned(x + i));
      m1 = Max::apply(m1, V::load_unaligned(x + i + W));
    }
    alignas(64) T lanes[W];
    Max::apply(m0, m1).store_aligned(lanes);
    for (int64_t l = 0; l < W; ++l) {
      if (lanes[l] != lanes[l]) return first_nan(x, n);
      if (lanes[l] > m) m = lanes[l];
    }
  }
  for (; i < n; ++i) {
    if (x[i] != x[i]) return first_nan(x, n);
    if (x[i] > m) m = x[i];
  }
  return m;
}

template <class T, class A>
T dot(const T* a, const T* b, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  V s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = xsimd::fma(V::load_unaligned(a + i), V::load_unaligned(b + i), s0);
    s1 = xsimd::fma(V::load_unaligned(a + i + W), V::load_unaligned(b + i + W), s1);
    s2 = xsimd::fma(V::load_unaligned(a + i + 2 * W), V::load_unaligned(b + i + 2 * W), s2);
    s3 = xsimd::fma(V::load_unaligned(a + i + 3 * W), V::load_unaligned(b + i + 3 * W), s3);
  }
  for (; i + W <= n; i += W)
    s0 = xsimd::fma(V::load_unaligned(a + i), V::load_unaligned(b + i), s0);
  T acc = xsimd::hadd((s0 + s1) + (s2 + s3));
  for (; i < n; ++i)
    acc += a[i] * b[i];
  return acc;
}

template <class T, class A>
void axpy(T alpha, const T* x, T* y, int64_t n) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  const V va(alpha);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    xsimd::fma(va, V::load_unaligned(x + i), V::load_unaligned(y + i)).store_unaligned(y + i);
  if (i < n) {
    Tail<T, A> t;
    t.load_a(x + i, n - i);
    t.load_b(y + i, n - i);
    xsimd::fma(va, V::load_aligned(t.a), V::load_aligned(t.b)).store_aligned(t.out);
    t.store(y + i, n - i);
  }
}

// ---- GEMM ------------------------------------------------------------------------------------
// BLIS-style: B is packed in KC x NC blocks of NR-wide column slivers, A in MC x KC blocks of
// MR-high row slivers, and an MR x NR register tile accumulates each output block.

template <class T, class A>
struct GemmShape {
  static constexpr int64_t kW = static_cast<int64_t>(Vec<T, A>::size);
  static constexpr int64_t kNR = 2 * kW;
  // 512-bit registers come 32 to a file, so a taller tile fits.
  static constexpr int64_t kMR = sizeof(T) * kW >= 64 ? 12 : 6;
  // One NR-wide B sliver of KC rows fills about half of L1.
  static constexpr int64_t kKC = 16384 / (kNR * static_cast<int64_t>(sizeof(T)));
  static constexpr int64_t kMC = kMR * 16;
  static constexpr int64_t kNC = 2048;
};

// Frees the packing buffer on every exit path.
struct AlignedBuffer {
  void* p;
  explicit AlignedBuffer(std::size_t bytes) : p(::operator new (bytes, std::align_val_t{64})) {}
  ~AlignedBuffer() { ::operator delete (p, std::align_val_t{64}); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
};

template <class T, class A>
void pack_a(const GemmArgs<T>& g, int64_t ic, int64_t mc, int64_t pc, int64_t kc, T* ap) {
  constexpr int64_t MR = GemmShape<T, A>::kMR;
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = min_i64(MR, mc - s);
    T* dst = ap + s * kc;
    if (rows < MR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * MR * kc);
    const T* src = g.a + (ic + s) * g.a_row + pc * g.a_col;
    if (g.a_col == 1) {
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = src + r * g.a_row;
        for (int64_t p = 0; p < kc; ++p)
          dst[p * MR + r] = row[p];
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* col = src + p * g.a_col;
        for (int64_t r = 0; r < rows; ++r)
          dst[p * MR + r] = col[r * g.a_row];
      }
    }
  }
}

template <class T, class A>
void pack_b(const GemmArgs<T>& g, int64_t jc, int64_t nc, int64_t pc, int64_t kc, T* bp) {
  constexpr int64_t NR = GemmShape<T, A>::kNR;
  for (int64_t s = 0; s < nc; s += NR) {
    const int64_t cols = min_i64(NR, nc - s);
    T* dst = bp + s * kc;
    if (cols < NR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * NR * kc);
    const T* src = g.b + pc * g.b_row + (jc + s) * g.b_col;
    if (g.b_col == 1) {
      for (int64_t p = 0; p < kc; ++p)
        std::memcpy(dst + p * NR, src + p * g.b_row, sizeof(T) * cols);
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        const T* col = src + j * g.b_col;
        for (int64_t p = 0; p < kc; ++p)
          dst[p * NR + j] = col[p * g.b_row];
      }
    }
  }
}

template <class T, class A>
void micro_kernel(int64_t kc, const T* ap, const T* bp, T* c, int64_t c_row, int64_t mr, int64_t nr,
                  bool accumulate) {
  using V = Vec<T, A>;
  constexpr int64_t W = GemmShape<T, A>::kW;
  constexpr int64_t MR = GemmShape<T, A>::kMR;
  constexpr int64_t NR = GemmShape<T, A>::kNR;
  V acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int64_t i = 0; i < MR; ++i)
    acc0[i] = acc1[i] = V(T(0));
  for (int64_t p = 0; p < kc; ++p) {
    const V b0 = V::load_aligned(bp);
    const V b1 = V::load_aligned(bp + W);
#pragma GCC unroll 16
    for (int64_t i = 0; i < MR; ++i) {
      const V ai(ap[i]);
      acc0[i] = xsimd::fma(ai, b0, acc0[i]);
      acc1[i] = xsimd::fma(ai, b1, acc1[i]);
    }
    ap += MR;
    bp += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int64_t i = 0; i < MR; ++i) {
      T* row = c + i * c_row;
      if (accumulate) {
        acc0[i] += V::load_unaligned(row);
        acc1[i] += V::load_unaligned(row + W);
      }
      acc0[i].store_unaligned(row);
      acc1[i].store_unaligned(row + W);
    }
    return;
  }
  alignas(64) T tile[MR * NR];
  for (int64_t i = 0; i < MR; ++i) {
    acc0[i].store_aligned(tile + i * NR);
    acc1[i].store_aligned(tile + i * NR + W);
  }
  for (int64_t i = 0; i < mr; ++i) {
    T* row = c + i * c_row;
    for (int64_t j = 0; j < nr; ++j)
      row[j] = accumulate ? row[j] + tile[i * NR + j] : tile[i * NR + j];
  }
}

template <class T, class A>
void gemm(const GemmArgs<T>& g) {
  using S = GemmShape<T, A>;
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    for (int64_t i = 0; i < g.m; ++i)
      std::memset(static_cast<void*>(g.c + i * g.c_row), 0, sizeof(T) * g.n);
    return;
  }
  const int64_t kc_max = min_i64(S::kKC, g.k);
  const int64_t mc_max = (min_i64(S::kMC, g.m) + S::kMR - 1) / S::kMR * S::kMR;
  const int64_t nc_max = (min_i64(S::kNC, g.n) + S::kNR - 1) / S::kNR * S::kNR;
  AlignedBuffer abuf(sizeof(T) * static_cast<std::size_t>(mc_max * kc_max));
  AlignedBuffer bbuf(sizeof(T) * static_cast<std::size_t>(nc_max * kc_max));
  T* ap = static_cast<T*>(abuf.p);
  T* bp = static_cast<T*>(bbuf.p);
  for (int64_t jc = 0; jc < g.n; jc += S::kNC) {
    const int64_t nc = min_i64(S::kNC, g.n - jc);
    for (int64_t pc = 0; pc < g.k; pc += S::kKC) {
      const int64_t kc = min_i64(S::kKC, g.k - pc);
      pack_b<T, A>(g, jc, nc, pc, kc, bp);
      for (int64_t ic = 0; ic < g.m; ic += S::kMC) {
        const int64_t mc = min_i64(S::kMC, g.m - ic);
        pack_a<T, A>(g, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += S::kNR) {
          for (int64_t ir = 0; ir < mc; ir += S::kMR) {
            micro_kernel<T, A>(kc, ap + ir * kc, bp + jr * kc, g.c + (ic + ir) * g.c_row + jc + jr,
                               g.c_row, min_i64(S::kMR, mc - ir), min_i64(S::kNR, nc - jr), pc > 0);
          }
        }
      }
    }
  }
}

// ---- the table -------------------------------------------------------------------------------

template <class T, class A>
TypedKernels<T> make_typed() {
  return TypedKernels<T>{
      {binary_vv<T, A, Add>, binary_vv<T, A, Sub>, binary_vv<T, A, Mul>, binary_vv<T, A, Div>,
       binary_vv<T, A, Max>},
      {binary_vs<T, A, Add>, binary_vs<T, A, Sub>, binary_vs<T, A, Mul>, binary_vs<T, A, Div>,
       binary_vs<T, A, Max>},
      {binary_sv<T, A, Add>, binary_sv<T, A, Sub>, binary_sv<T, A, Mul>, binary_sv<T, A, Div>,
       binary_sv<T, A, Max>},
      {unary<T, A, Neg>, unary<T, A, Relu>, unary<T, A, Exp>, unary<T, A, Log>, unary<T, A, Tanh>,
       unary<T, A, Sigmoid>},
      {compare_vv<T, A, Eq>, compare_vv<T, A, Ne>, compare_vv<T, A, Lt>, compare_vv<T, A, Le>,
       compare_vv<T, A, Gt>, compare_vv<T, A, Ge>},
      {compare_vs<T, A, Eq>, compare_vs<T, A, Ne>, compare_vs<T, A, Lt>, compare_vs<T, A, Le>,
       compare_vs<T, A, Gt>, compare_vs<T, A, Ge>},
      sum<T, A>,
      max<T, A>,
      dot<T, A>,
      axpy<T, A>,
      gemm<T, A>,
  };
}

template <class A>
KernelTable make_table() {
  return KernelTable{make_typed<float, A>(), make_typed<double, A>()};
}

}  // namespace
}  // namespace wick::simd::detail
