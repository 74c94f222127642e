// matmul and linear. Every product ends in matmul_block(): float32/float64 through the kernel
// table (dot products or axpy rows for skinny shapes, the packed GEMM otherwise), integers
// through a plain loop that wraps like PyTorch's. Half types are computed in float32 and
// rounded once. Operands are passed by strides, so transposed views and linear's W^T need no
// copy beyond the GEMM's own panel packing.

#include "wick/core/linalg.h"

#include <algorithm>

#include "autograd_impl.h"
#include "ops_common.h"
#include "parallel_for.h"
#include "wick/core/parallel.h"

namespace wick {

namespace {

using simd::detail::BinaryOp;

// At most this many rows (or columns) of output use the dot/axpy forms: GEMM packing would
// cost about as much as the product itself.
constexpr int64_t kSkinny = 4;

template <class T>
struct Operand {
  const T* p;
  int64_t row;  // stride between rows
  int64_t col;  // stride between columns
};

// Products with at least this many multiply-adds are split across threads (about 40 us of
// work on one core); below it the hand-off would cost more than it saves.
constexpr int64_t kParallelMacs = int64_t{1} << 22;
// Threads get slabs of C at least this wide, a multiple of every register tile's width.
constexpr int64_t kSlab = 64;

// One GEMM, split into slabs of rows or columns of C, one per thread, when it is large. Each
// element is still computed by one thread in the same order, so the result does not depend on
// the thread count.
template <class T>
void run_gemm(const simd::detail::TypedKernels<T>& kt, const simd::detail::GemmArgs<T>& g) {
  const bool by_cols = g.n >= g.m;
  const int64_t len = by_cols ? g.n : g.m;
  const int64_t parts = std::min<int64_t>(num_threads(), len / kSlab);
  if (parts <= 1 || g.m * g.n * g.k < kParallelMacs) {
    kt.gemm(g);
    return;
  }
  // Whole multiples of kSlab, the last slab taking the rest: no slab is narrower than kSlab, so
  // each takes the same kernel path the whole product would (a narrow one may not).
  const int64_t slab = len / parts / kSlab * kSlab;
  detail::parallel_for(parts, [&](int64_t t) {
    const int64_t lo = t * slab;
    const int64_t hi = t == parts - 1 ? len : lo + slab;
    simd::detail::GemmArgs<T> s = g;
    if (by_cols) {
      s.n = hi - lo;
      s.b += lo * g.b_col;
      s.c += lo * g.c_col;
      if (s.bias_j != nullptr) s.bias_j += lo;
    } else {
      s.m = hi - lo;
      s.a += lo * g.a_row;
      s.c += lo * g.c_row;
      if (s.bias_i != nullptr) s.bias_i += lo;
    }
    kt.gemm(s);
  });
}

// C [m, n] (contiguous rows) = A [m, k] * B [k, n], plus bias[j] on every row when bias is not
// null (added after the product, so fused or not the result is the same).
template <class T>
void matmul_block(int64_t m, int64_t n, int64_t k, Operand<T> a, Operand<T> b, T* c,
                  const T* bias = nullptr) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    const auto& kt = detail::kernels_for<T>(simd::detail::active_kernels());
    const bool dot_form = a.col == 1 && b.row == 1;  // rows of A and columns of B contiguous
    if (dot_form && (m <= kSkinny || n <= kSkinny)) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j)
          c[i * n + j] = kt.dot(a.p + i * a.row, b.p + j * b.col, k);
      }
    } else if (m <= kSkinny && b.col == 1) {  // rows of B contiguous: C row = sum a_ip B row p
      for (int64_t i = 0; i < m; ++i) {
        T* crow = c + i * n;
        for (int64_t j = 0; j < n; ++j)
          crow[j] = T(0);
        for (int64_t p = 0; p < k; ++p)
          kt.axpy(a.p[i * a.row + p * a.col], b.p + p * b.row, crow, n);
      }
    } else {
      simd::detail::GemmArgs<T> g{m, n, k, a.p, a.row, a.col, b.p, b.row, b.col, c, n};
      g.bias_j = bias;
      run_gemm(kt, g);
      return;
    }
    if (bias == nullptr) return;
    const auto add = kt.binary_vv[static_cast<int>(BinaryOp::Add)];
    for (int64_t i = 0; i < m; ++i)
      add(c + i * n, bias, c + i * n, n);
  } else {
    using U = detail::WideUnsigned<T>;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        U acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<U>(a.p[i * a.row + p * a.col]) *
                 static_cast<U>(b.p[p * b.row + j * b.col]);
        c[i * n + j] = static_cast<T>(acc);
        if (bias != nullptr) c[i * n + j] = detail::wrap_add(c[i * n + j], bias[j]);
      }
    }
  }
}

// `t` in dtype `d`: `t` itself when it already is, else a converted copy kept in `holder`.
const Tensor& in_dtype(const Tensor& t, DType d, Tensor& holder) {
  if (t.dtype() == d) return t;
  holder = t.to(d);
  return holder;
}

template <class F>
void visit_compute_dtype(DType cd, F&& f) {
  visit_dtype(cd, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool> && !detail::is_half_like_v<T>) f(tag);
  });
}

void check_operands(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "matmul", "first operand");
  detail::check_defined(b, "matmul", "second operand");
  WICK_CHECK(a.dim() >= 1 && b.dim() >= 1, ShapeError,
             "matmul: both operands must be at least 1-d, got shapes ", shape_str(a.shape()),
             " and ", shape_str(b.shape()));
  WICK_CHECK(a.dtype() == b.dtype(), ArgumentError,
             "matmul: operands must have the same dtype, got ", dtype_name(a.dtype()), " and ",
             dtype_name(b.dtype()));
  WICK_CHECK(a.dtype() != kBool, ArgumentError,
             "matmul: bool operands are not supported (expected a numeric dtype, got bool and "
             "bool)");
}

// The broadcast of the batch dimensions; ShapeError naming the full operand shapes.
Shape broadcast_batch(const Tensor& a, const Tensor& b, const Shape& ba, const Shape& bb) {
  const std::size_t rank = std::max(ba.size(), bb.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - ba.size() ? 1 : ba[i - (rank - ba.size())];
    const int64_t db = i < rank - bb.size() ? 1 : bb[i - (rank - bb.size())];
    WICK_CHECK(da == db || da == 1 || db == 1, ShapeError, "matmul: batch dimensions of shapes ",
               shape_str(a.shape()), " and ", shape_str(b.shape()), " cannot be broadcast (", da,
               " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (detail::needs_grad(a, b)) return detail::grad_matmul(a, b);
  check_operands(a, b);
  const int64_t ka = a.size(-1);
  const int64_t kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  WICK_CHECK(ka == kb, ShapeError, "matmul: shapes ", shape_str(a.shape()), " and ",
             shape_str(b.shape()), " cannot be multiplied (", ka, " != ", kb, ")");
  const DType dtype = a.dtype();
  const DType cd = detail::compute_dtype(dtype);
  // A as [batch..., m, k] and B as [batch..., k, n]; a 1-d operand becomes a row / column.
  const Tensor A = (a.dim() == 1 ? a.unsqueeze(0) : a).to(cd);
  const Tensor B = (b.dim() == 1 ? b.unsqueeze(1) : b).to(cd);
  const Shape batch_a(A.shape().begin(), A.shape().end() - 2);
  const Shape batch_b(B.shape().begin(), B.shape().end() - 2);
  const Shape batch = broadcast_batch(a, b, batch_a, batch_b);
  const int64_t m = A.size(-2);
  const int64_t n = B.size(-1);
  const int64_t k = ka;
  const int64_t batches = shape_numel(batch);

  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);
  Tensor C = empty({batches * m, n}, cd);

  visit_compute_dtype(cd, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* pc = static_cast<T*>(C.raw_data());
    if (batch_b.empty()) {
      // One B for every batch: fold the batches into the rows of a single product.
      const Tensor A2 = A.reshape({batches * m, k});
      matmul_block<T>(batches * m, n, k,
                      {static_cast<const T*>(A2.raw_data()), A2.stride(0), A2.stride(1)},
                      {static_cast<const T*>(B.raw_data()), B.stride(0), B.stride(1)}, pc);
      return;
    }
    Shape full_a = batch;
    full_a.insert(full_a.end(), {m, k});
    Shape full_b = batch;
    full_b.insert(full_b.end(), {k, n});
    const Tensor Ae = A.expand(full_a);
    const Tensor Be = B.expand(full_b);
    const auto* pa = static_cast<const T*>(Ae.raw_data());
    const auto* pb = static_cast<const T*>(Be.raw_data());
    const std::size_t nb = batch.size();
    Shape index(nb, 0);
    for (int64_t i = 0; i < batches; ++i) {
      int64_t oa = 0;
      int64_t ob = 0;
      for (std::size_t d = 0; d < nb; ++d) {
        oa += index[d] * Ae.strides()[d];
        ob += index[d] * Be.strides()[d];
      }
      matmul_block<T>(m, n, k, {pa + oa, Ae.strides()[nb], Ae.strides()[nb + 1]},
                      {pb + ob, Be.strides()[nb], Be.strides()[nb + 1]}, pc + i * m * n);
      for (std::size_t d = nb; d-- > 0;) {  // odometer
        if (++index[d] < batch[d]) break;
        index[d] = 0;
      }
    }
  });
  return C.view(out_shape).to(dtype);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (detail::needs_grad(x, weight, bias)) return detail::grad_linear(x, weight, bias);
  detail::check_defined(x, "linear", "input");
  detail::check_defined(weight, "linear", "weight");
  WICK_CHECK(weight.dim() == 2, ShapeError,
             "linear: weight must be 2-d [out_features, in_features], got shape ",
             shape_str(weight.shape()));
  WICK_CHECK(x.dim() >= 1, ShapeError,
             "linear: input must be at least 1-d [..., in_features], got shape ",
             shape_str(x.shape()));
  const int64_t out_features = weight.size(0);
  const int64_t in_features = weight.size(1);
  WICK_CHECK(x.size(-1) == in_features, ShapeError, "linear: input shape ", shape_str(x.shape()),
             " and weight shape ", shape_str(weight.shape()), " are incompatible (in_features ",
             x.size(-1), " != ", in_features, ")");
  WICK_CHECK(x.dtype() == weight.dtype(), ArgumentError, "linear: input dtype ",
             dtype_name(x.dtype()), " and weight dtype ", dtype_name(weight.dtype()),
             " must match");
  if (bias.defined()) {
    WICK_CHECK(bias.dim() == 1 && bias.size(0) == out_features, ShapeError, "linear: bias shape ",
               shape_str(bias.shape()), " does not match weight shape ", shape_str(weight.shape()),
               " (expected [", out_features, "])");
    WICK_CHECK(bias.dtype() == x.dtype(), ArgumentError, "linear: bias dtype ",
               dtype_name(bias.dtype()), " and input dtype ", dtype_name(x.dtype()), " must match");
  }
  WICK_CHECK(x.dtype() != kBool, ArgumentError,
             "linear: bool tensors are not supported (expected a numeric dtype, got bool)");

  // A forward of the tutorial's layers takes a few microseconds, so the handles are not copied
  // (each copy allocates its shape): operands already in the compute dtype are used in place.
  const DType dtype = x.dtype();
  const DType cd = detail::compute_dtype(dtype);
  Tensor x_cd;
  Tensor w_cd;
  Tensor bias_cd;
  const Tensor& X = in_dtype(x, cd, x_cd);
  const Tensor& W = in_dtype(weight, cd, w_cd);
  const Tensor* b = bias.defined() ? &in_dtype(bias, cd, bias_cd) : nullptr;
  if (b != nullptr && b->stride(0) != 1) {
    bias_cd = b->contiguous();
    b = &bias_cd;
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < out_shape.size(); ++d)
    rows *= out_shape[d];
  Tensor Y = empty(out_shape, cd);
  visit_compute_dtype(cd, [&](auto tag) {
    using T = typename decltype(tag)::type;
    // A 2-d X is used through its strides; other ranks are reshaped into rows, which copies
    // only when the leading dimensions do not fold into one stride.
    Tensor folded;
    const Tensor& X2 = X.dim() == 2 ? X : (folded = X.reshape({rows, in_features}));
    // B = W^T by strides: B(p, j) = W[j, p]; the bias is fused into the product.
    matmul_block<T>(rows, out_features, in_features,
                    {static_cast<const T*>(X2.raw_data()), X2.stride(0), X2.stride(1)},
                    {static_cast<const T*>(W.raw_data()), W.stride(1), W.stride(0)},
                    static_cast<T*>(Y.raw_data()),
                    b != nullptr ? static_cast<const T*>(b->raw_data()) : nullptr);
  });
  if (cd == dtype) return Y;
  return Y.to(dtype);
}

}  // namespace wick
