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

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

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
struct Min {
  template <class V>
  static V apply(const V& a, const V& b) {
    return xsimd::select(~xsimd::isnan(a) & ((b < a) | xsimd::isnan(b)), b, a);
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
// Clears the sign bit, as std::abs does (NaN keeps its payload).
struct Abs {
  template <class V>
  static V apply(const V& x) {
    return xsimd::abs(x);
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

// Results of at least this many bytes are written with non-temporal stores. They would not stay
// in cache anyway, and a plain store first reads each line it writes and leaves it dirty in
// cache: into an existing buffer the stream is 1.3x faster (relu on 64 MiB), and a fresh result
// also spares the kernel, zeroing its next pages, from writing those dirty lines back.
inline constexpr int64_t kStreamBytes = int64_t{16} << 20;

template <class T, class A>
void stream_store(T* p, const Vec<T, A>& v) {
  constexpr std::size_t kBytes = sizeof(T) * Vec<T, A>::size;
  if constexpr (kBytes == 64 && std::is_same_v<T, float>) {
    _mm512_stream_ps(p, v);
  } else if constexpr (kBytes == 64) {
    _mm512_stream_pd(p, v);
  } else if constexpr (kBytes == 32 && std::is_same_v<T, float>) {
    _mm256_stream_ps(p, v);
  } else if constexpr (kBytes == 32) {
    _mm256_stream_pd(p, v);
  } else if constexpr (std::is_same_v<T, float>) {
    _mm_stream_ps(p, v);
  } else {
    _mm_stream_pd(p, v);
  }
}

// Drives a row kernel: full(i) is the batch of results at i, part(i, count) computes and stores
// count < W results at i through a padded buffer (the same batch code, so an element's result
// does not depend on its position). Large rows stream their stores once `out` is aligned, unless
// they are written in place: there a narrow streamed store would leave the rest of a line the
// next load reads in flight.
template <class T, class A, class Full, class Part>
void run_row(T* out, int64_t n, bool in_place, const Full& full, const Part& part) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  int64_t i = 0;
  const auto misalign = reinterpret_cast<std::uintptr_t>(out) % sizeof(V);
  if (!in_place && n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes &&
      misalign % sizeof(T) == 0) {
    const int64_t head =
        misalign == 0 ? 0 : static_cast<int64_t>((sizeof(V) - misalign) / sizeof(T));
    if (head > 0) part(0, head);
    for (i = head; i + W <= n; i += W)
      stream_store<T, A>(out + i, full(i));
    _mm_sfence();  // streamed stores are weakly ordered: publish them before returning
  } else {
    for (; i + W <= n; i += W)
      full(i).store_unaligned(out + i);
  }
  if (i < n) part(i, n - i);
}

template <class T, class A, class Op>
void binary_vv(const T* a, const T* b, T* out, int64_t n) {
  using V = Vec<T, A>;
  run_row<T, A>(
      out, n, out == a || out == b,
      [&](int64_t i) { return Op::apply(V::load_unaligned(a + i), V::load_unaligned(b + i)); },
      [&](int64_t i, int64_t count) {
        Tail<T, A> t;
        t.load_a(a + i, count);
        t.load_b(b + i, count);
        Op::apply(V::load_aligned(t.a), V::load_aligned(t.b)).store_aligned(t.out);
        t.store(out + i, count);
      });
}

template <class T, class A, class Op>
void binary_vs(const T* a, T b, T* out, int64_t n) {
  using V = Vec<T, A>;
  const V vb(b);
  run_row<T, A>(
      out, n, out == a, [&](int64_t i) { return Op::apply(V::load_unaligned(a + i), vb); },
      [&](int64_t i, int64_t count) {
        Tail<T, A> t;
        t.load_a(a + i, count);
        Op::apply(V::load_aligned(t.a), vb).store_aligned(t.out);
        t.store(out + i, count);
      });
}

template <class T, class A, class Op>
void binary_sv(T a, const T* b, T* out, int64_t n) {
  using V = Vec<T, A>;
  const V va(a);
  run_row<T, A>(
      out, n, out == b, [&](int64_t i) { return Op::apply(va, V::load_unaligned(b + i)); },
      [&](int64_t i, int64_t count) {
        Tail<T, A> t;
        t.load_b(b + i, count);
        Op::apply(va, V::load_aligned(t.b)).store_aligned(t.out);
        t.store(out + i, count);
      });
}

template <class T, class A, class Op>
void unary(const T* x, T* out, int64_t n) {
  using V = Vec<T, A>;
  run_row<T, A>(
      out, n, out == x, [&](int64_t i) { return Op::apply(V::load_unaligned(x + i)); },
      [&](int64_t i, int64_t count) {
        Tail<T, A> t;
        t.load_a(x + i, count);
        Op::apply(V::load_aligned(t.a)).store_aligned(t.out);
        t.store(out + i, count);
      });
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
  // 512-bit registers come 32 to a file, so a taller tile fits. A multiple of 3: the m-edge
  // uses tiles of a third and two thirds of it.
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

// Panel packing of float operands stored contiguously along k (linear's W^T, or x's rows):
// in-register 8x8 (AVX) and 4x4 (SSE) transposes. The scalar loop reads along k but must store
// across the panel one element at a time, and was the slow part of small products.

// out[t * ldo + i] = in[i * ld + t] for an 8x8 block.
inline void transpose8(const float* in, int64_t ld, float* out, int64_t ldo) {
#if defined(__AVX__)
  __m256 r[8];
  for (int i = 0; i < 8; ++i)
    r[i] = _mm256_loadu_ps(in + i * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out + 0 * ldo, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * ldo, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * ldo, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * ldo, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * ldo, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * ldo, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * ldo, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * ldo, _mm256_permute2f128_ps(s3, s7, 0x31));
#else
  (void)in, (void)ld, (void)out, (void)ldo;
#endif
}

// out[t * ldo + i] = in[i * ld + t] for a 4x4 block.
inline void transpose4(const float* in, int64_t ld, float* out, int64_t ldo) {
  __m128 r0 = _mm_loadu_ps(in), r1 = _mm_loadu_ps(in + ld);
  __m128 r2 = _mm_loadu_ps(in + 2 * ld), r3 = _mm_loadu_ps(in + 3 * ld);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(out, r0);
  _mm_storeu_ps(out + ldo, r1);
  _mm_storeu_ps(out + 2 * ldo, r2);
  _mm_storeu_ps(out + 3 * ldo, r3);
}

// dst[p * ldo + i] = src[i * ld + p] for i < count, p < kc: `count` vectors, each contiguous
// along k, laid side by side in a panel whose rows are ldo apart. False (nothing done) for
// types other than float.
template <class T>
bool transpose_panel(const T* src, int64_t ld, int64_t count, int64_t kc, T* dst, int64_t ldo) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
#if defined(__AVX__)
    constexpr bool kHave8 = true;
#else
    constexpr bool kHave8 = false;
#endif
    const int64_t pb = kc / 8 * 8;
    const int64_t pb4 = kc / 4 * 4;
    int64_t i = 0;
    auto tail = [&](int64_t from, int64_t to, int64_t p0) {
      for (int64_t x = from; x < to; ++x) {
        for (int64_t p = p0; p < kc; ++p)
          dst[p * ldo + x] = src[x * ld + p];
      }
    };
    for (; kHave8 && i + 8 <= count; i += 8) {
      for (int64_t p = 0; p < pb; p += 8)
        transpose8(src + i * ld + p, ld, dst + p * ldo + i, ldo);
      for (int64_t p = pb; p < pb4; p += 4) {  // linear 20 -> 256 has k = 16 + 4
        transpose4(src + i * ld + p, ld, dst + p * ldo + i, ldo);
        transpose4(src + (i + 4) * ld + p, ld, dst + p * ldo + i + 4, ldo);
      }
      tail(i, i + 8, pb4);
    }
    for (; i + 4 <= count; i += 4) {
      for (int64_t p = 0; p < pb4; p += 4)
        transpose4(src + i * ld + p, ld, dst + p * ldo + i, ldo);
      tail(i, i + 4, pb4);
    }
    tail(i, count, 0);
    return true;
  }
}

template <class T, class A>
void pack_a(const GemmArgs<T>& g, int64_t ic, int64_t mc, int64_t pc, int64_t kc, T* ap) {
  constexpr int64_t MR = GemmShape<T, A>::kMR;
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = min_i64(MR, mc - s);
    T* dst = ap + s * kc;
    if (rows < MR) std::memset(static_cast<void*>(dst), 0, sizeof(T) * MR * kc);
    const T* src = g.a + (ic + s) * g.a_row + pc * g.a_col;
    if (g.a_col == 1 && transpose_panel(src, g.a_row, rows, kc, dst, MR)) {
      continue;
    }
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
    } else if (g.b_row != 1 || !transpose_panel(src, g.b_col, cols, kc, dst, NR)) {
      for (int64_t j = 0; j < cols; ++j) {
        const T* col = src + j * g.b_col;
        for (int64_t p = 0; p < kc; ++p)
          dst[p * NR + j] = col[p * g.b_row];
      }
    }
  }
}

// Accumulates an MR x NR tile over kc steps and writes it to C, added to what is there when
// `accumulate` (a later k-block). The last k-block (`last`) then adds the bias (bj: per column,
// then bi: per row; either may be null) after the product, as a separate add would: the fused
// result is bit-identical to matmul followed by a bias add.
// ROWS <= MR rows of the panel are computed: the m-edge of C takes the smallest variant that
// covers it rather than a whole MR-high tile.
template <class T, class A, int64_t ROWS>
void micro_kernel(int64_t kc, const T* ap, const T* bp, T* c, int64_t c_row, int64_t c_col,
                  int64_t mr, int64_t nr, bool accumulate, bool last, const T* bj, const T* bi) {
  using V = Vec<T, A>;
  constexpr int64_t W = GemmShape<T, A>::kW;
  constexpr int64_t PANEL = GemmShape<T, A>::kMR;  // the packed panel's row stride
  constexpr int64_t MR = ROWS;
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
    ap += PANEL;
    bp += NR;
  }
  const bool biased = last && (bj != nullptr || bi != nullptr);
  if (mr == MR && nr == NR && c_col == 1) {
    V bias0(T(0)), bias1(T(0));
    if (biased && bj != nullptr) {
      bias0 = V::load_unaligned(bj);
      bias1 = V::load_unaligned(bj + W);
    }
#pragma GCC unroll 16
    for (int64_t i = 0; i < MR; ++i) {
      T* row = c + i * c_row;
      if (accumulate) {
        acc0[i] += V::load_unaligned(row);
        acc1[i] += V::load_unaligned(row + W);
      }
      if (biased && bj != nullptr) {
        acc0[i] += bias0;
        acc1[i] += bias1;
      }
      if (biased && bi != nullptr) {
        const V bias_row(bi[i]);
        acc0[i] += bias_row;
        acc1[i] += bias_row;
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
    for (int64_t j = 0; j < nr; ++j) {
      T v = tile[i * NR + j];
      if (accumulate) v += row[j * c_col];
      if (biased && bj != nullptr) v += bj[j];
      if (biased && bi != nullptr) v += bi[i];
      row[j * c_col] = v;
    }
  }
}

// Keeps a loaded vector in a register: left alone, GCC folds the load into each FMA that uses
// it, loading the same row CB times, and the kernel becomes bound by loads instead of FMAs.
template <class V>
void in_register(V& v) {
  __asm__("" : "+v"(v.data));
}

// Lane i of the result = the sum of the lanes of acc[i], for W vectors, kept in registers.
// Not for 512-bit floats: xsimd 8.1's AVX-512 haddp for float returns its sums with lanes 2-3
// and 4-5 of each half swapped (those dot products run in the AVX2 unit, see dots()).
template <class T, class A>
[[gnu::always_inline]] inline Vec<T, A> lane_sums(const Vec<T, A>* acc) {
  static_assert(!(std::is_same_v<T, float> && Vec<T, A>::size == 16),
                "xsimd 8.1's AVX-512 float haddp permutes its lanes");
  return xsimd::haddp(acc);
}

// Narrow outputs whose operands both run contiguously along k (linear's x W^T with few outputs,
// the tutorial's 256 -> 10 layer): dot products, no packing. Each block of RB x CB outputs
// (RB * CB == W) keeps one vector accumulator per output, and lane_sums reduces all W of them
// at once into one vector, to which the biases are added as vectors. Rows and columns past the
// edge repeat the last one and are not stored.
template <class T, class A, int64_t CB>
void gemm_dots(const GemmArgs<T>& g) {
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  constexpr int64_t RB = W / CB;
  if (g.n > W * CB) {  // more column blocks than the bias table below holds: in parts
    for (int64_t j = 0; j < g.n; j += W * CB) {
      GemmArgs<T> part = g;
      part.n = min_i64(W * CB, g.n - j);
      part.b += j * g.b_col;
      part.c += j * g.c_col;
      if (part.bias_j != nullptr) part.bias_j += j;
      gemm_dots<T, A, CB>(part);
    }
    return;
  }
  // bias_j as each column block's sums need it: lane r * CB + c holds bias_j[j0 + c].
  alignas(64) T bias_rows[W * W];
  if (g.bias_j != nullptr) {
    for (int64_t j0 = 0; j0 < g.n; j0 += CB) {
      for (int64_t x = 0; x < W; ++x)
        bias_rows[j0 / CB * W + x] = g.bias_j[min_i64(j0 + x % CB, g.n - 1)];
    }
  }
  const int64_t kv = g.k / W * W;
  for (int64_t i0 = 0; i0 < g.m; i0 += RB) {
    const T* arow[RB];
    for (int64_t r = 0; r < RB; ++r)
      arow[r] = g.a + min_i64(i0 + r, g.m - 1) * g.a_row;
    alignas(64) T bias_cols[W];  // lane r * CB + c holds bias_i[i0 + r]
    if (g.bias_i != nullptr) {
      for (int64_t x = 0; x < W; ++x)
        bias_cols[x] = g.bias_i[min_i64(i0 + x / CB, g.m - 1)];
    }
    for (int64_t j0 = 0; j0 < g.n; j0 += CB) {
      const T* bcol[CB];
      for (int64_t c = 0; c < CB; ++c)
        bcol[c] = g.b + min_i64(j0 + c, g.n - 1) * g.b_col;
      V acc[W];
#pragma GCC unroll 16
      for (int64_t x = 0; x < W; ++x)
        acc[x] = V(T(0));
      for (int64_t p = 0; p < kv; p += W) {
        V bv[CB];
#pragma GCC unroll 16
        for (int64_t c = 0; c < CB; ++c)
          bv[c] = V::load_unaligned(bcol[c] + p);
#pragma GCC unroll 16
        for (int64_t r = 0; r < RB; ++r) {
          V av = V::load_unaligned(arow[r] + p);
          in_register(av);
#pragma GCC unroll 16
          for (int64_t c = 0; c < CB; ++c)
            acc[r * CB + c] = xsimd::fma(av, bv[c], acc[r * CB + c]);
        }
      }
      alignas(64) T sums[W];
      V s = lane_sums<T, A>(acc);
      if (kv < g.k) {  // the k % W tail, in scalar
        s.store_aligned(sums);
        for (int64_t r = 0; r < RB; ++r) {
          for (int64_t c = 0; c < CB; ++c) {
            for (int64_t p = kv; p < g.k; ++p)
              sums[r * CB + c] += arow[r][p] * bcol[c][p];
          }
        }
        s = V::load_aligned(sums);
      }
      if (g.bias_j != nullptr) s += V::load_aligned(bias_rows + j0 / CB * W);
      if (g.bias_i != nullptr) s += V::load_aligned(bias_cols);
      s.store_aligned(sums);
      const int64_t rows = min_i64(RB, g.m - i0);
      const int64_t cols = min_i64(CB, g.n - j0);
      T* out = g.c + i0 * g.c_row + j0 * g.c_col;
      if (rows == RB && cols == CB && g.c_col == 1) {
#pragma GCC unroll 16
        for (int64_t r = 0; r < RB; ++r)
          std::memcpy(out + r * g.c_row, sums + r * CB, sizeof(T) * CB);
      } else {
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < cols; ++c)
            out[r * g.c_row + c * g.c_col] = sums[r * CB + c];
        }
      }
    }
  }
}

// The block width that wastes the fewest columns of an n-wide C (ties: the wider block, which
// reads A fewer times).
template <class T, class A>
void gemm_dots(const GemmArgs<T>& g) {
  constexpr int64_t W = Vec<T, A>::size;
  constexpr int64_t kWide = W >= 4 ? 4 : W;
  auto waste = [&](int64_t cb) { return (g.n + cb - 1) / cb * cb - g.n; };
  if (waste(kWide) <= waste(2)) {
    gemm_dots<T, A, kWide>(g);
  } else {
    gemm_dots<T, A, 2>(g);
  }
}

// Float dot products run 256 bits wide on AVX-512 CPUs, compiled in the AVX2 unit: on Zen 4
// (two 256-bit FMA pipes) linear 256 -> 10 at batch 64 took 3.5 us there against 4.3 us for the
// same kernel compiled in the AVX-512 unit and 4.5 us at 512 bits, whose 16-lane reductions
// cost more per output.
template <class T, class A>
void dots(const GemmArgs<T>& g) {
  if constexpr (std::is_same_v<T, float> && Vec<T, A>::size == 16) {
#if WICK_SIMD_X86
    gemm_dots_avx2(g);
#else
    static_assert(sizeof(T) == 0, "16-lane float vectors outside x86");
#endif
  } else {
    gemm_dots<T, A>(g);
  }
}

template <class T, class A>
void gemm(const GemmArgs<T>& g) {
  using S = GemmShape<T, A>;
  if (g.m <= 0 || g.n <= 0) return;
  if (g.n < S::kNR && g.a_col == 1 && g.b_row == 1) {
    dots<T, A>(g);
    return;
  }
  if (g.n < S::kNR && g.m > g.n) {
    // A narrow C (linear's 256 -> 10) would leave most of each NR-wide tile empty: compute
    // C^T = B^T A^T instead, whose rows are the short side.
    GemmArgs<T> t;
    t.m = g.n;
    t.n = g.m;
    t.k = g.k;
    t.a = g.b;
    t.a_row = g.b_col;
    t.a_col = g.b_row;
    t.b = g.a;
    t.b_row = g.a_col;
    t.b_col = g.a_row;
    t.c = g.c;
    t.c_row = g.c_col;
    t.c_col = g.c_row;
    t.bias_j = g.bias_i;
    t.bias_i = g.bias_j;
    gemm<T, A>(t);
    return;
  }
  if (g.k <= 0) {
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        T v(0);
        if (g.bias_j != nullptr) v += g.bias_j[j];
        if (g.bias_i != nullptr) v += g.bias_i[i];
        g.c[i * g.c_row + j * g.c_col] = v;
      }
    }
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
          const T* bj = g.bias_j != nullptr ? g.bias_j + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += S::kMR) {
            const T* bi = g.bias_i != nullptr ? g.bias_i + ic + ir : nullptr;
            const int64_t mr = min_i64(S::kMR, mc - ir);
            constexpr int64_t kThird = S::kMR / 3;
            const auto kernel = mr > 2 * kThird ? micro_kernel<T, A, S::kMR>
                                : mr > kThird   ? micro_kernel<T, A, 2 * kThird>
                                                : micro_kernel<T, A, kThird>;
            kernel(kc, ap + ir * kc, bp + jr * kc, g.c + (ic + ir) * g.c_row + (jc + jr) * g.c_col,
                   g.c_row, g.c_col, mr, min_i64(S::kNR, nc - jr), pc > 0, pc + kc == g.k, bj, bi);
          }
        }
      }
    }
  }
}

// ---- optimizer updates -------------------------------------------------------------------------

// AdamArgs' update on W elements at a time, with the reference's operations in its order
// (kernels_scalar.cpp) and no fused multiply-add, so each element rounds as it does there and
// in PyTorch's separate mul_ and add_. GCC contracts a * b + c on vectors too, by default in
// C++ and with FMA enabled (the AVX2 and AVX-512 files): hence fp-contract=off for this
// function (clang contracts only within one expression, which each xsimd operator is, but is
// told the same). The tail goes through buffers padded with ones, as the other row kernels'.
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
template <class T, class A>
void adam(const AdamArgs<T>& a) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  using V = Vec<T, A>;
  constexpr int64_t W = V::size;
  const V neg_step(a.neg_step_size), bc2(a.bc2_sqrt), decay(a.decay), wd(a.wd), b1(a.beta1),
      omb1(a.one_minus_beta1), b2(a.beta2), omb2(a.one_minus_beta2), eps(a.eps);
  const auto block = [&](const T* gp, T* pp, T* mp, T* vp, T* vmp) {
    V grad = V::load_unaligned(gp);
    if (a.maximize) grad = grad ^ V(T(-0.0));  // flips the sign bit, of a NaN too, as -g does
    V p = V::load_unaligned(pp);
    if (a.decoupled) {
      p = p * decay;
    } else if (a.coupled_decay) {
      grad = grad + wd * p;
    }
    const V m = V::load_unaligned(mp) * b1 + omb1 * grad;
    const V v = V::load_unaligned(vp) * b2 + (omb2 * grad) * grad;
    m.store_unaligned(mp);
    v.store_unaligned(vp);
    V second = v;
    if (vmp != nullptr) {
      second = Max::apply(V::load_unaligned(vmp), v);  // torch.maximum: a NaN wins
      second.store_unaligned(vmp);
    }
    const V denom = xsimd::sqrt(second) / bc2 + eps;
    (p + (neg_step * m) / denom).store_unaligned(pp);
  };
  int64_t i = 0;
  for (; i + W <= a.n; i += W)
    block(a.g + i, a.p + i, a.m + i, a.v + i, a.vmax != nullptr ? a.vmax + i : nullptr);
  if (i == a.n) return;
  const int64_t rest = a.n - i;
  alignas(64) T g[W], p[W], m[W], v[W], vm[W];
  for (int64_t j = 0; j < W; ++j)
    g[j] = p[j] = m[j] = v[j] = vm[j] = T(1);
  std::memcpy(g, a.g + i, sizeof(T) * rest);
  std::memcpy(p, a.p + i, sizeof(T) * rest);
  std::memcpy(m, a.m + i, sizeof(T) * rest);
  std::memcpy(v, a.v + i, sizeof(T) * rest);
  if (a.vmax != nullptr) std::memcpy(vm, a.vmax + i, sizeof(T) * rest);
  block(g, p, m, v, a.vmax != nullptr ? vm : nullptr);
  std::memcpy(a.p + i, p, sizeof(T) * rest);
  std::memcpy(a.m + i, m, sizeof(T) * rest);
  std::memcpy(a.v + i, v, sizeof(T) * rest);
  if (a.vmax != nullptr) std::memcpy(a.vmax + i, vm, sizeof(T) * rest);
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

// ---- the table -------------------------------------------------------------------------------

template <class T, class A>
TypedKernels<T> make_typed() {
  return TypedKernels<T>{
      {binary_vv<T, A, Add>, binary_vv<T, A, Sub>, binary_vv<T, A, Mul>, binary_vv<T, A, Div>,
       binary_vv<T, A, Max>, binary_vv<T, A, Min>},
      {binary_vs<T, A, Add>, binary_vs<T, A, Sub>, binary_vs<T, A, Mul>, binary_vs<T, A, Div>,
       binary_vs<T, A, Max>, binary_vs<T, A, Min>},
      {binary_sv<T, A, Add>, binary_sv<T, A, Sub>, binary_sv<T, A, Mul>, binary_sv<T, A, Div>,
       binary_sv<T, A, Max>, binary_sv<T, A, Min>},
      {unary<T, A, Neg>, unary<T, A, Relu>, unary<T, A, Exp>, unary<T, A, Log>, unary<T, A, Tanh>,
       unary<T, A, Sigmoid>, unary<T, A, Abs>},
      {compare_vv<T, A, Eq>, compare_vv<T, A, Ne>, compare_vv<T, A, Lt>, compare_vv<T, A, Le>,
       compare_vv<T, A, Gt>, compare_vv<T, A, Ge>},
      {compare_vs<T, A, Eq>, compare_vs<T, A, Ne>, compare_vs<T, A, Lt>, compare_vs<T, A, Le>,
       compare_vs<T, A, Gt>, compare_vs<T, A, Ge>},
      sum<T, A>,
      max<T, A>,
      dot<T, A>,
      axpy<T, A>,
      gemm<T, A>,
      adam<T, A>,
  };
}

template <class A>
KernelTable make_table() {
  return KernelTable{make_typed<float, A>(), make_typed<double, A>()};
}

}  // namespace
}  // namespace wick::simd::detail
