// matmul (every torch.matmul case, batch broadcasting, views, dtypes) and linear, against naive
// reference loops, plus every error message.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

Tensor rnd(const Shape& shape, DType dtype, uint32_t seed, double lo = -2.0, double hi = 2.0) {
  return testing::random_values(shape, dtype, seed, lo, hi, 3);
}

using testing::values;

// Naive [m, k] x [k, n] in double.
std::vector<double> ref_mm(const std::vector<double>& a, const std::vector<double>& b, int64_t m,
                           int64_t k, int64_t n) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        c[static_cast<std::size_t>(i * n + j)] +=
            a[static_cast<std::size_t>(i * k + p)] * b[static_cast<std::size_t>(p * n + j)];
  return c;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "at " << i;
}

double tol_for(DType dt, int64_t k) {
  const double eps = dt == kFloat64 ? 1e-15 : dt == kFloat32 ? 1e-7 : dt == kFloat16 ? 1e-3 : 8e-3;
  return eps * 4.0 * static_cast<double>(k + 4);
}

// ---- 2-d products ------------------------------------------------------------------------------

TEST(LinalgMatmul, TwoDimensionalMatchesReference) {
  const int64_t dims[][3] = {{1, 20, 256}, {1, 256, 10}, {17, 33, 5},    {5, 33, 17}, {64, 64, 64},
                             {65, 3, 129}, {2, 1, 2},    {130, 70, 257}, {4, 1000, 3}};
  uint32_t seed = 1;
  for (const DType dt : {kFloat32, kFloat64}) {
    for (const auto& d : dims) {
      const int64_t m = d[0], k = d[1], n = d[2];
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(m) + "x" + std::to_string(k) +
                   "x" + std::to_string(n));
      const Tensor a = rnd({m, k}, dt, seed++);
      const Tensor b = rnd({k, n}, dt, seed++);
      const Tensor c = matmul(a, b);
      EXPECT_EQ(c.shape(), (Shape{m, n}));
      EXPECT_EQ(c.dtype(), dt);
      expect_close(values(c), ref_mm(values(a), values(b), m, k, n), tol_for(dt, k));
    }
  }
}

TEST(LinalgMatmul, TransposedAndSlicedOperands) {
  const Tensor a = rnd({40, 30}, kFloat32, 10);
  const Tensor b = rnd({50, 40}, kFloat32, 11);
  const Tensor at = a.t();                     // [30, 40]
  const Tensor bt = b.t();                     // [40, 50]
  const Tensor bs = b.slice(1, 3, 40, 2).t();  // [19, 50], strides [2, 40]
  const Tensor as = a.slice(0, 1, 39, 2);      // [19, 30]
  const Tensor prod = matmul(at, bt);
  expect_close(values(prod), ref_mm(values(at), values(bt), 30, 40, 50), tol_for(kFloat32, 40));
  const Tensor p2 = matmul(as.t(), bs);
  expect_close(values(p2), ref_mm(values(as.t()), values(bs), 30, 19, 50), tol_for(kFloat32, 19));
  // Skinny shapes take the dot / axpy forms: check them with views too.
  const Tensor row = a.slice(0, 5, 6);  // [1, 30]
  expect_close(values(matmul(row, at.slice(1, 0, 7))),
               ref_mm(values(row), values(at.slice(1, 0, 7)), 1, 30, 7), tol_for(kFloat32, 30));
  const Tensor wide = rnd({30, 9}, kFloat32, 14);
  expect_close(values(matmul(row, wide)), ref_mm(values(row), values(wide), 1, 30, 9),
               tol_for(kFloat32, 30));
  expect_close(values(matmul(at, a.slice(1, 2, 3))),
               ref_mm(values(at), values(a.slice(1, 2, 3)), 30, 40, 1), tol_for(kFloat32, 40));
}

TEST(LinalgMatmul, VectorCases) {
  const Tensor v = tensor({1.0, 2.0, 3.0});
  const Tensor w = tensor({4.0, -5.0, 6.0});
  const Tensor d = matmul(v, w);
  EXPECT_EQ(d.dim(), 0);
  EXPECT_EQ(d.item<double>(), 12.0);
  const Tensor m = tensor({{1.0, 0.0, 2.0}, {0.0, 1.0, -1.0}});  // [2, 3]
  const Tensor mv = matmul(m, v);
  EXPECT_EQ(mv.shape(), (Shape{2}));
  EXPECT_EQ(values(mv), (std::vector<double>{7, -1}));
  const Tensor vm = matmul(tensor({1.0, 2.0}), m);
  EXPECT_EQ(vm.shape(), (Shape{3}));
  EXPECT_EQ(values(vm), (std::vector<double>{1, 2, 0}));
  // Long dot products cross the multi-accumulator block.
  const Tensor a = rnd({1025}, kFloat32, 12);
  const Tensor b = rnd({1025}, kFloat32, 13);
  EXPECT_NEAR(matmul(a, b).item<double>(), ref_mm(values(a), values(b), 1, 1025, 1)[0], 1e-3);
}

// ---- batched products --------------------------------------------------------------------------

struct BatchCase {
  Shape a, b, out;
};

TEST(LinalgMatmul, BatchedAndBroadcastCases) {
  const BatchCase cases[] = {
      {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
      {{2, 3, 4}, {4, 5}, {2, 3, 5}},
      {{3, 4}, {2, 4, 5}, {2, 3, 5}},
      {{4}, {2, 4, 5}, {2, 5}},
      {{2, 3, 4}, {4}, {2, 3}},
      {{2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2}},
      {{1, 3, 4}, {6, 4, 2}, {6, 3, 2}},
      {{2, 2, 1, 17}, {2, 1, 17, 9}, {2, 2, 1, 9}},
      {{1, 1, 20}, {20, 256}, {1, 1, 256}},
      {{3, 0, 4}, {4, 2}, {3, 0, 2}},
      {{2, 5, 0}, {2, 0, 3}, {2, 5, 3}},
  };
  uint32_t seed = 20;
  for (const DType dt : {kFloat32, kFloat64, kInt64}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + shape_str(c.a) + " x " + shape_str(c.b));
      const Tensor a = rnd(c.a, dt, seed++);
      const Tensor b = rnd(c.b, dt, seed++);
      const Tensor got = matmul(a, b);
      ASSERT_EQ(got.shape(), c.out);
      // Reference: expand both to [batch..., m, k] / [batch..., k, n] and loop.
      const Tensor A = a.dim() == 1 ? a.unsqueeze(0) : a;
      const Tensor B = b.dim() == 1 ? b.unsqueeze(1) : b;
      const int64_t m = A.size(-2), k = A.size(-1), n = B.size(-1);
      const Shape batch(c.out.begin(),
                        c.out.begin() + static_cast<std::ptrdiff_t>(c.out.size() - (a.dim() > 1) -
                                                                    (b.dim() > 1)));
      Shape fa = batch, fb = batch;
      fa.insert(fa.end(), {m, k});
      fb.insert(fb.end(), {k, n});
      const auto va = values(A.expand(fa));
      const auto vb = values(B.expand(fb));
      const auto vg = values(got);
      const int64_t nb = shape_numel(batch);
      for (int64_t i = 0; i < nb; ++i) {
        const std::vector<double> sa(va.begin() + i * m * k, va.begin() + (i + 1) * m * k);
        const std::vector<double> sb(vb.begin() + i * k * n, vb.begin() + (i + 1) * k * n);
        const std::vector<double> sg(vg.begin() + i * m * n, vg.begin() + (i + 1) * m * n);
        expect_close(sg, ref_mm(sa, sb, m, k, n), tol_for(dt, k));
      }
    }
  }
}

// ---- other dtypes ------------------------------------------------------------------------------

TEST(LinalgMatmul, IntegerProductsAreExactAndWrap) {
  const Tensor a = tensor({{1, 2}, {3, 4}});
  const Tensor b = tensor({{5, 6}, {7, 8}});
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), kInt64);
  EXPECT_EQ(values(c), (std::vector<double>{19, 22, 43, 50}));
  const Tensor i8 = from_vector(std::vector<int8_t>{100, 100}, {1, 2});
  const Tensor j8 = from_vector(std::vector<int8_t>{2, 1}, {2, 1});
  EXPECT_EQ(matmul(i8, j8).item<int64_t>(), 44);  // 300 wraps to 44 in int8, as PyTorch
  const Tensor u = from_vector(std::vector<uint8_t>{3, 4}, {2});
  EXPECT_EQ(matmul(u, u).item<int64_t>(), 25);
  EXPECT_EQ(matmul(u, u).dtype(), kUInt8);
  const int64_t big = (int64_t{1} << 40) + 3;
  const Tensor l = from_vector(std::vector<int64_t>{big, 1}, {1, 2});
  const Tensor r = from_vector(std::vector<int64_t>{5, 7}, {2, 1});
  EXPECT_EQ(matmul(l, r).item<int64_t>(), big * 5 + 7);
}

TEST(LinalgMatmul, HalfTypesAccumulateInFloat) {
  for (const DType dt : {kFloat16, kBFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor a = rnd({9, 40}, dt, 30);
    const Tensor b = rnd({40, 11}, dt, 31);
    const Tensor c = matmul(a, b);
    EXPECT_EQ(c.dtype(), dt);
    // Rounded once from the float32 product.
    EXPECT_TRUE(allclose(c, matmul(a.to(kFloat32), b.to(kFloat32)).to(dt), 0, 0));
    expect_close(values(c), ref_mm(values(a), values(b), 9, 40, 11), tol_for(dt, 40));
  }
}

// ---- errors ------------------------------------------------------------------------------------

TEST(LinalgMatmul, ShapeErrorsNameBothShapes) {
  WICK_EXPECT_THROW_MSG(matmul(zeros({2, 3}), zeros({4, 5})), ShapeError,
                        "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  WICK_EXPECT_THROW_MSG(matmul(zeros({3}), zeros({4})), ShapeError,
                        "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
  WICK_EXPECT_THROW_MSG(matmul(zeros({2, 3}), zeros({2})), ShapeError, "(3 != 2)");
  WICK_EXPECT_THROW_MSG(matmul(zeros({5}), zeros({2, 4, 3})), ShapeError,
                        "shapes [5] and [2, 4, 3] cannot be multiplied (5 != 4)");
  WICK_EXPECT_THROW_MSG(matmul(zeros({2, 3, 4}), zeros({5, 4, 2})), ShapeError,
                        "matmul: batch dimensions of shapes [2, 3, 4] and [5, 4, 2] cannot be "
                        "broadcast (2 vs 5)");
  WICK_EXPECT_THROW_MSG(matmul(scalar_tensor(1, kFloat32), zeros({3})), ShapeError,
                        "matmul: both operands must be at least 1-d, got shapes [] and [3]");
}

TEST(LinalgMatmul, DtypeErrorsNameBothDtypes) {
  WICK_EXPECT_THROW_MSG(matmul(zeros({2, 3}), zeros({3, 2}, kFloat64)), ArgumentError,
                        "matmul: operands must have the same dtype, got float32 and float64");
  WICK_EXPECT_THROW_MSG(matmul(zeros({2}, kInt32), zeros({2}, kInt64)), ArgumentError,
                        "got int32 and int64");
  WICK_EXPECT_THROW_MSG(matmul(ones({2}, kBool), ones({2}, kBool)), ArgumentError,
                        "matmul: bool operands are not supported");
  WICK_EXPECT_THROW_MSG(matmul(Tensor(), zeros({2})), ArgumentError,
                        "matmul: first operand is undefined");
  WICK_EXPECT_THROW_MSG(matmul(zeros({2}), Tensor()), ArgumentError,
                        "matmul: second operand is undefined");
}

// ---- linear ------------------------------------------------------------------------------------

// Reference y = x W^T + b over the flattened leading dims.
std::vector<double> ref_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t in = w.size(1), out = w.size(0);
  const int64_t rows = x.numel() / std::max<int64_t>(in, 1);
  const auto y = ref_mm(values(x), values(w.t()), rows, in, out);
  if (!b.defined()) return y;
  std::vector<double> r = y;
  const auto vb = values(b);
  for (std::size_t i = 0; i < r.size(); ++i)
    r[i] += vb[i % static_cast<std::size_t>(out)];
  return r;
}

TEST(LinalgLinear, MatchesReferenceForManyShapes) {
  const Shape xs[] = {{1, 20}, {7, 20}, {3, 5, 20}, {20}, {2, 1, 1, 20}};
  const int64_t outs[] = {256, 10, 1, 33};
  uint32_t seed = 40;
  for (const DType dt : {kFloat32, kFloat64}) {
    for (const auto& xshape : xs) {
      for (const int64_t out : outs) {
        for (const bool with_bias : {true, false}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " x " + shape_str(xshape) + " -> " +
                       std::to_string(out) + (with_bias ? " with bias" : ""));
          const Tensor x = rnd(xshape, dt, seed++);
          const Tensor w = rnd({out, 20}, dt, seed++);
          const Tensor b = with_bias ? rnd({out}, dt, seed++) : Tensor();
          const Tensor y = linear(x, w, b);
          Shape want = xshape;
          want.back() = out;
          ASSERT_EQ(y.shape(), want);
          EXPECT_EQ(y.dtype(), dt);
          expect_close(values(y), ref_linear(x, w, b), tol_for(dt, 20));
        }
      }
    }
  }
}

TEST(LinalgLinear, WideInputsAndViews) {
  const Tensor x = rnd({5, 256}, kFloat32, 60);
  const Tensor w = rnd({10, 256}, kFloat32, 61);
  const Tensor b = rnd({10}, kFloat32, 62);
  expect_close(values(linear(x, w, b)), ref_linear(x, w, b), tol_for(kFloat32, 256));
  // A transposed weight view, a strided input and a strided bias.
  const Tensor wt = rnd({256, 10}, kFloat32, 63).t();
  const Tensor xs = rnd({10, 256}, kFloat32, 64).slice(0, 0, 10, 2);
  const Tensor bs = rnd({20}, kFloat32, 65).slice(0, 0, 20, 2);
  expect_close(values(linear(xs, wt, bs)), ref_linear(xs.contiguous(), wt.contiguous(), bs),
               tol_for(kFloat32, 256));
  // Leading dimensions that do not fold into one stride (copied once into rows).
  const Tensor x3 = rnd({4, 3, 256}, kFloat32, 66).transpose(0, 1);
  const Tensor y3 = linear(x3, w, b);
  EXPECT_EQ(y3.shape(), (Shape{3, 4, 10}));
  expect_close(values(y3), ref_linear(x3.contiguous(), w, b), tol_for(kFloat32, 256));
  // Batch 1 (dot-product form) agrees with the batched (GEMM) row up to summation order:
  // 256 products of size <= 4 give rounding differences well below 1e-4.
  const Tensor one = x.slice(0, 2, 3);
  EXPECT_TRUE(allclose(linear(one, w, b), linear(x, w, b).slice(0, 2, 3), 1e-5, 1e-4));
}

// The bias is fused into the GEMM but added after the product, as a separate add would be: the
// same bits as matmul then +, at every SIMD level, across k-blocks (in = 300) and for narrow
// outputs (computed transposed), the tutorial's layers among them. At AVX-512, float outputs 17
// to 31 wide whose width is 1 or 2 past a multiple of 4 (17, 30) take the dot-product kernel in
// two parts; 27 takes it in one.
TEST(LinalgLinear, FusedBiasGivesTheBitsOfMatmulPlusBias) {
  const simd::Level saved = simd::active_level();
  const int64_t shapes[][3] = {{64, 20, 256}, {64, 256, 10}, {1024, 256, 10}, {37, 300, 45},
                               {300, 300, 3}, {5, 7, 33},    {64, 0, 8},      {70, 37, 30},
                               {33, 64, 17},  {40, 24, 27}};
  uint32_t seed = 900;
  for (const DType dt : {kFloat32, kFloat64}) {
    for (const auto& s : shapes) {
      const Tensor x = rnd({s[0], s[1]}, dt, seed++);
      const Tensor w = rnd({s[2], s[1]}, dt, seed++);
      const Tensor b = rnd({s[2]}, dt, seed++);
      for (const simd::Level level : simd::supported_levels()) {
        simd::set_level(level);
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(s[0]) + "x" +
                     std::to_string(s[1]) + " -> " + std::to_string(s[2]) + " at " +
                     std::string(simd::level_name(level)));
        const Tensor fused = linear(x, w, b);
        const Tensor separate = matmul(x, w.t()) + b;
        ASSERT_EQ(fused.shape(), separate.shape());
        EXPECT_EQ(std::memcmp(fused.raw_data(), separate.raw_data(), fused.nbytes()), 0);
        if (s[1] > 0) expect_close(values(fused), ref_linear(x, w, b), tol_for(dt, s[1]));
        // x as a transposed view: no dot-product form, so a narrow output is computed
        // transposed and the bias is added along the rows of C^T.
        const Tensor xt = x.t().contiguous().t();
        const Tensor fused_t = linear(xt, w, b);
        EXPECT_EQ(
            std::memcmp(fused_t.raw_data(), (matmul(xt, w.t()) + b).raw_data(), fused_t.nbytes()),
            0);
        if (s[1] > 0) expect_close(values(fused_t), ref_linear(x, w, b), tol_for(dt, s[1]));
      }
    }
  }
  simd::set_level(saved);
}

TEST(LinalgLinear, EmptyAndIntegerInputs) {
  EXPECT_EQ(linear(zeros({0, 4}), zeros({3, 4}), zeros({3})).shape(), (Shape{0, 3}));
  const Tensor y = linear(zeros({2, 0}), zeros({3, 0}), ones({3}));
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(y), std::vector<double>(6, 1.0));
  const Tensor xi = tensor({{1, 2}});
  const Tensor wi = tensor({{3, 4}, {5, 6}});
  EXPECT_EQ(values(linear(xi, wi, tensor({10, 20}))), (std::vector<double>{21, 37}));
  const Tensor h = linear(ones({2, 3}, kFloat16), ones({4, 3}, kFloat16), ones({4}, kFloat16));
  EXPECT_EQ(h.dtype(), kFloat16);
  EXPECT_EQ(values(h), std::vector<double>(8, 4.0));
}

TEST(LinalgLinear, Errors) {
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 5})), ShapeError,
                        "linear: input shape [2, 3] and weight shape [4, 5] are incompatible "
                        "(in_features 3 != 5)");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({3})), ShapeError,
                        "linear: weight must be 2-d [out_features, in_features], got shape [3]");
  WICK_EXPECT_THROW_MSG(linear(scalar_tensor(1, kFloat32), zeros({1, 1})), ShapeError,
                        "linear: input must be at least 1-d");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 3}), zeros({3})), ShapeError,
                        "linear: bias shape [3] does not match weight shape [4, 3] (expected [4])");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 3}), zeros({1, 4})), ShapeError,
                        "bias shape [1, 4]");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 3}, kFloat64)), ArgumentError,
                        "linear: input dtype float32 and weight dtype float64 must match");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 3}), zeros({4}, kFloat16)), ArgumentError,
                        "linear: bias dtype float16 and input dtype float32");
  WICK_EXPECT_THROW_MSG(linear(ones({2, 3}, kBool), ones({4, 3}, kBool)), ArgumentError,
                        "linear: bool tensors are not supported");
  WICK_EXPECT_THROW_MSG(linear(Tensor(), zeros({4, 3})), ArgumentError,
                        "linear: input is undefined");
  WICK_EXPECT_THROW_MSG(linear(zeros({2, 3}), Tensor()), ArgumentError,
                        "linear: weight is undefined");
}

}  // namespace
}  // namespace wick
