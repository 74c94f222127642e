#pragma once
// Private: the table of kernels each SIMD level provides. Ops fetch the active table once per
// call (active_kernels()) and then run whole rows through its function pointers.

#include <cstdint>

namespace wick::simd::detail {

/// Elementwise binary ops. Max and Min propagate NaN (a NaN in either operand wins, `a` first) and
/// keep `a` on ties, so a running max over rows matches a sequential scan.
enum class BinaryOp : int { Add, Sub, Mul, Div, Max, Min };
inline constexpr int kNumBinaryOps = 6;

/// Elementwise unary ops. Relu is `x < 0 ? 0 : x` (keeps -0.0 and NaN, as PyTorch); Abs clears the
/// sign bit (abs(-0.0) is 0.0, NaN stays NaN).
enum class UnaryOp : int { Neg, Relu, Exp, Log, Tanh, Sigmoid, Abs };
inline constexpr int kNumUnaryOps = 7;

/// Comparisons giving bool; the scalar-vector form is the vector-scalar form of mirror().
enum class CompareOp : int { Eq, Ne, Lt, Le, Gt, Ge };
inline constexpr int kNumCompareOps = 6;

/// `s op v` == `v mirror(op) s`.
constexpr CompareOp mirror(CompareOp op) noexcept {
  switch (op) {
    case CompareOp::Lt:
      return CompareOp::Gt;
    case CompareOp::Le:
      return CompareOp::Ge;
    case CompareOp::Gt:
      return CompareOp::Lt;
    case CompareOp::Ge:
      return CompareOp::Le;
    default:
      return op;
  }
}

/// C = A * B (+ bias) for A [m, k], B [k, n] given by element strides (any layout: transposed
/// views and W^T of linear need no copy), C by element strides too. The optional bias is added
/// once to every output: bias_j[j] to column j (linear's bias), bias_i[i] to row i. k == 0
/// fills C with the bias alone (zeros without one).
template <class T>
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const T* a = nullptr;
  int64_t a_row = 0, a_col = 0;  // A(i, p) = a[i * a_row + p * a_col]
  const T* b = nullptr;
  int64_t b_row = 0, b_col = 0;  // B(p, j) = b[p * b_row + j * b_col]
  T* c = nullptr;
  int64_t c_row = 0, c_col = 1;  // C(i, j) = c[i * c_row + j * c_col]
  const T* bias_j = nullptr;     // contiguous, n elements
  const T* bias_i = nullptr;     // contiguous, m elements
};

/// One Adam / AdamW update of n elements, in PyTorch's single-tensor order of operations (see
/// wick/core/optim_kernels.h): every element's result is the same at every SIMD level.
template <class T>
struct AdamArgs {
  T* p = nullptr;
  const T* g = nullptr;
  T* m = nullptr;
  T* v = nullptr;
  T* vmax = nullptr;  // amsgrad's running maximum of v, or nullptr
  int64_t n = 0;
  T neg_step_size = 0, bc2_sqrt = 1, decay = 1, wd = 0, beta1 = 0, one_minus_beta1 = 1, beta2 = 0,
    one_minus_beta2 = 1, eps = 0;
  bool maximize = false;
  bool decoupled = false;      // AdamW: p *= decay first
  bool coupled_decay = false;  // Adam with weight_decay != 0: grad += wd * p
};

/// Kernels for one element type. Pointers need no alignment; `out` may alias an input exactly
/// (in-place), never partially.
template <class T>
struct TypedKernels {
  using BinaryVV = void (*)(const T* a, const T* b, T* out, int64_t n);
  using BinaryVS = void (*)(const T* a, T b, T* out, int64_t n);
  using BinarySV = void (*)(T a, const T* b, T* out, int64_t n);
  using Unary = void (*)(const T* x, T* out, int64_t n);
  using CompareVV = void (*)(const T* a, const T* b, bool* out, int64_t n);
  using CompareVS = void (*)(const T* a, T b, bool* out, int64_t n);

  BinaryVV binary_vv[kNumBinaryOps];
  BinaryVS binary_vs[kNumBinaryOps];
  BinarySV binary_sv[kNumBinaryOps];
  Unary unary[kNumUnaryOps];
  CompareVV compare_vv[kNumCompareOps];
  CompareVS compare_vs[kNumCompareOps];
  /// Sum in blocks of kSumBlock elements (multi-accumulator inside a block, blocks added in
  /// double), so the order differs from a naive left-to-right loop.
  T (*sum)(const T* x, int64_t n);
  /// Largest element, n >= 1. NaN propagates: the first NaN in memory order is returned.
  T (*max)(const T* x, int64_t n);
  /// Dot product (multi-accumulator, FMA where the ISA has it).
  T (*dot)(const T* a, const T* b, int64_t n);
  /// y += alpha * x (FMA where the ISA has it).
  void (*axpy)(T alpha, const T* x, T* y, int64_t n);
  void (*gemm)(const GemmArgs<T>& args);
  void (*adam)(const AdamArgs<T>& args);
};

/// Elements per independently accumulated block of sum().
inline constexpr int64_t kSumBlock = 4096;

struct KernelTable {
  TypedKernels<float> f32;
  TypedKernels<double> f64;
};

const KernelTable& scalar_kernels() noexcept;
#if WICK_SIMD_X86
const KernelTable& sse2_kernels() noexcept;
const KernelTable& avx2_kernels() noexcept;
const KernelTable& avx512_kernels() noexcept;
/// The AVX2 table's float dot-product GEMM, which the AVX-512 table uses too (see dots() in
/// kernels_impl.h).
void gemm_dots_avx2(const GemmArgs<float>& args);
#endif

/// The table of the active level (see wick::simd::set_level).
const KernelTable& active_kernels() noexcept;

}  // namespace wick::simd::detail
