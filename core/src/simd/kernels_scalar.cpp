// The Scalar level: plain C++ loops, compiled with -fno-tree-vectorize. Every SIMD level is
// tested against this table.

#include <cmath>
#include <cstring>

#include "kernels.h"

namespace wick::simd::detail {
namespace {

struct Add {
  template <class T>
  static T apply(T a, T b) {
    return a + b;
  }
};
struct Sub {
  template <class T>
  static T apply(T a, T b) {
    return a - b;
  }
};
struct Mul {
  template <class T>
  static T apply(T a, T b) {
    return a * b;
  }
};
struct Div {
  template <class T>
  static T apply(T a, T b) {
    return a / b;
  }
};
struct Max {
  template <class T>
  static T apply(T a, T b) {
    return (a == a && (b > a || b != b)) ? b : a;
  }
};
struct Min {
  template <class T>
  static T apply(T a, T b) {
    return (a == a && (b < a || b != b)) ? b : a;
  }
};

struct Neg {
  template <class T>
  static T apply(T x) {
    return -x;
  }
};
struct Relu {
  template <class T>
  static T apply(T x) {
    return x < T(0) ? T(0) : x;
  }
};
struct Abs {
  template <class T>
  static T apply(T x) {
    return std::abs(x);
  }
};
struct Exp {
  template <class T>
  static T apply(T x) {
    return std::exp(x);
  }
};
struct Log {
  template <class T>
  static T apply(T x) {
    return std::log(x);
  }
};
struct Tanh {
  template <class T>
  static T apply(T x) {
    return std::tanh(x);
  }
};
struct Sigmoid {
  template <class T>
  static T apply(T x) {
    return T(1) / (T(1) + std::exp(-x));
  }
};

struct Eq {
  template <class T>
  static bool apply(T a, T b) {
    return a == b;
  }
};
struct Ne {
  template <class T>
  static bool apply(T a, T b) {
    return a != b;
  }
};
struct Lt {
  template <class T>
  static bool apply(T a, T b) {
    return a < b;
  }
};
struct Le {
  template <class T>
  static bool apply(T a, T b) {
    return a <= b;
  }
};
struct Gt {
  template <class T>
  static bool apply(T a, T b) {
    return a > b;
  }
};
struct Ge {
  template <class T>
  static bool apply(T a, T b) {
    return a >= b;
  }
};

template <class T, class Op>
void binary_vv(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b[i]);
}
template <class T, class Op>
void binary_vs(const T* a, T b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b);
}
template <class T, class Op>
void binary_sv(T a, const T* b, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a, b[i]);
}
template <class T, class Op>
void unary(const T* x, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(x[i]);
}
template <class T, class Op>
void compare_vv(const T* a, const T* b, bool* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b[i]);
}
template <class T, class Op>
void compare_vs(const T* a, T b, bool* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = Op::apply(a[i], b);
}

template <class T>
T sum(const T* x, int64_t n) {
  double total = 0;
  for (int64_t start = 0; start < n; start += kSumBlock) {
    const int64_t end = n - start < kSumBlock ? n : start + kSumBlock;
    T block = 0;
    for (int64_t i = start; i < end; ++i)
      block += x[i];
    total += static_cast<double>(block);
  }
  return static_cast<T>(total);
}

template <class T>
T max(const T* x, int64_t n) {
  T m = x[0];
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] != x[i]) return x[i];  // the first NaN
    if (x[i] > m) m = x[i];
  }
  return m;
}

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
  for (int64_t i = 0; i < n; ++i)
    acc += a[i] * b[i];
  return acc;
}

template <class T>
void axpy(T alpha, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] += alpha * x[i];
}

// i-p-j order: the inner loop runs along a row of C and (for row-major B) a row of B. The bias
// is added after the product, as in the SIMD kernels.
template <class T>
void gemm(const GemmArgs<T>& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    T* c = g.c + i * g.c_row;
    for (int64_t j = 0; j < g.n; ++j)
      c[j * g.c_col] = 0;
    for (int64_t p = 0; p < g.k; ++p) {
      const T aip = g.a[i * g.a_row + p * g.a_col];
      const T* b = g.b + p * g.b_row;
      for (int64_t j = 0; j < g.n; ++j)
        c[j * g.c_col] += aip * b[j * g.b_col];
    }
    for (int64_t j = 0; g.bias_j != nullptr && j < g.n; ++j)
      c[j * g.c_col] += g.bias_j[j];
    for (int64_t j = 0; g.bias_i != nullptr && j < g.n; ++j)
      c[j * g.c_col] += g.bias_i[i];
  }
}

// The reference: PyTorch's single-tensor Adam for one element, mul_ then add_, addcmul's
// value * t1 * t2, addcdiv's value * t1 / t2; maximize negates the gradient first.
template <class T>
void adam(const AdamArgs<T>& a) {
  for (int64_t i = 0; i < a.n; ++i) {
    T grad = a.maximize ? -a.g[i] : a.g[i];
    if (a.decoupled) {
      a.p[i] = a.p[i] * a.decay;
    } else if (a.coupled_decay) {
      grad = grad + a.wd * a.p[i];
    }
    a.m[i] = a.m[i] * a.beta1 + a.one_minus_beta1 * grad;
    a.v[i] = a.v[i] * a.beta2 + a.one_minus_beta2 * grad * grad;
    T second = a.v[i];
    // torch.maximum: a NaN wins
    if (a.vmax != nullptr) second = a.vmax[i] = Max::apply(a.vmax[i], a.v[i]);
    const T denom = std::sqrt(second) / a.bc2_sqrt + a.eps;
    a.p[i] = a.p[i] + a.neg_step_size * a.m[i] / denom;
  }
}

template <class T>
TypedKernels<T> make_typed() {
  return TypedKernels<T>{
      {binary_vv<T, Add>, binary_vv<T, Sub>, binary_vv<T, Mul>, binary_vv<T, Div>,
       binary_vv<T, Max>, binary_vv<T, Min>},
      {binary_vs<T, Add>, binary_vs<T, Sub>, binary_vs<T, Mul>, binary_vs<T, Div>,
       binary_vs<T, Max>, binary_vs<T, Min>},
      {binary_sv<T, Add>, binary_sv<T, Sub>, binary_sv<T, Mul>, binary_sv<T, Div>,
       binary_sv<T, Max>, binary_sv<T, Min>},
      {unary<T, Neg>, unary<T, Relu>, unary<T, Exp>, unary<T, Log>, unary<T, Tanh>,
       unary<T, Sigmoid>, unary<T, Abs>},
      {compare_vv<T, Eq>, compare_vv<T, Ne>, compare_vv<T, Lt>, compare_vv<T, Le>,
       compare_vv<T, Gt>, compare_vv<T, Ge>},
      {compare_vs<T, Eq>, compare_vs<T, Ne>, compare_vs<T, Lt>, compare_vs<T, Le>,
       compare_vs<T, Gt>, compare_vs<T, Ge>},
      sum<T>,
      max<T>,
      dot<T>,
      axpy<T>,
      gemm<T>,
      adam<T>,
  };
}

}  // namespace

const KernelTable& scalar_kernels() noexcept {
  static const KernelTable table{make_typed<float>(), make_typed<double>()};
  return table;
}

}  // namespace wick::simd::detail
