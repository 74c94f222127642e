// Every SIMD level against the Scalar reference: elementwise ops bit-exact, transcendentals,
// sums, dot products and matrix products within tight tolerances, on awkward sizes and on
// misaligned views. Also the level API itself and the WICK_SIMD start-up cap.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops_common.h"
#include "simd/kernels.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using simd::Level;

const std::vector<int64_t> kSizes = {0,  1,  3,  7,  8,  15,   16,   17,
                                     31, 33, 63, 64, 65, 1023, 1024, 1025};

// Restores the level active before the test, whatever the test did.
class SimdTest : public ::testing::Test {
 protected:
  void SetUp() override { original_ = simd::active_level(); }
  void TearDown() override { simd::set_level(original_); }

 private:
  Level original_ = Level::Scalar;
};

Tensor rnd(const Shape& shape, DType dtype, uint32_t seed, double lo = -3.0, double hi = 3.0) {
  return testing::random_values(shape, kFloat64, seed, lo, hi).to(dtype);
}

// The same values at element offset `off` into a larger storage: a misaligned contiguous view.
Tensor shifted(const Tensor& t, int64_t off) {
  Tensor big = zeros({t.numel() + off}, t.dtype());
  Tensor view = big.slice(0, off, off + t.numel()).view(t.shape());
  view.copy_(t);
  return view;
}

// Sprinkles NaN, +-inf, -0.0 and exact duplicates of neighbours into a float tensor.
Tensor with_specials(const Tensor& t) {
  Tensor out = t.clone();
  const int64_t n = out.numel();
  Tensor flat = out.view({n});
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(), -0.0, 0.0};
  for (int64_t i = 5; i < n; i += 11)
    flat.select(0, i).fill_(specials[(i / 11) % 5]);
  return out;
}

struct Case {
  std::string name;
  std::function<Tensor()> run;
  bool exact = true;
  double rtol = 0;
  double atol = 0;
};

// Runs every case at Scalar, then at each other supported level, and compares.
void check_levels(const std::vector<Case>& cases) {
  simd::set_level(Level::Scalar);
  std::vector<Tensor> refs;
  for (const Case& c : cases)
    refs.push_back(c.run());
  for (const Level level : simd::supported_levels()) {
    simd::set_level(level);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(std::string(simd::level_name(level)) + ": " + cases[i].name);
      const Tensor got = cases[i].run();
      ASSERT_EQ(got.dtype(), refs[i].dtype());
      ASSERT_EQ(got.shape(), refs[i].shape());
      if (cases[i].exact) {
        EXPECT_TRUE(bitwise_equal(got, refs[i])) << "got " << got << "\nwant " << refs[i];
      } else {
        EXPECT_TRUE(allclose(got, refs[i], cases[i].rtol, cases[i].atol, /*equal_nan=*/true))
            << "got " << got << "\nwant " << refs[i];
      }
    }
  }
}

template <class T>
std::vector<Case> elementwise_cases(int64_t n, int64_t off_a, int64_t off_b) {
  constexpr DType dt = dtype_of<T>();
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  const std::string tag = std::string(dtype_name(dt)) + " n=" + std::to_string(n) + " offsets " +
                          std::to_string(off_a) + "/" + std::to_string(off_b);
  const auto seed = static_cast<uint32_t>(n * 7 + off_a);
  const Tensor a = shifted(with_specials(rnd({n}, dt, seed)), off_a);
  const Tensor b = shifted(with_specials(rnd({n}, dt, seed + 1)), off_b);
  // Equal elements in places so that == / <= / >= see ties.
  const Tensor b_ties = shifted(b.clone(), off_b);
  for (int64_t i = 0; i < n; i += 3)
    b_ties.select(0, i).copy_(a.select(0, i));
  const Tensor pos = shifted(rnd({n}, dt, seed + 2, 0.01, 50.0), off_a);
  const Tensor rows = shifted(rnd({3, n}, dt, seed + 3), off_b);
  const Tensor one = rnd({1}, dt, seed + 4);

  std::vector<Case> cs = {
      {"add", [=] { return a + b; }},
      {"sub", [=] { return a - b; }},
      {"mul", [=] { return a * b; }},
      {"div", [=] { return a / b; }},
      {"add scalar", [=] { return a + 1.5; }},
      {"scalar sub", [=] { return 1.5 - a; }},
      {"scalar div", [=] { return 2.5 / a; }},
      {"mul scalar", [=] { return a * -0.75; }},
      {"bias add [3, n] + [n]", [=] { return rows + a; }},
      {"row broadcast [3, n] * [3, 1]", [=] { return rows * rows.slice(1, 0, 1); }},
      {"neg", [=] { return -a; }},
      {"relu", [=] { return relu(a); }},
      {"abs", [=] { return abs(a); }},
      {"maximum", [=] { return maximum(a, b_ties); }},
      {"minimum", [=] { return minimum(a, b_ties); }},
      {"maximum broadcast [3, n], [n]", [=] { return maximum(rows, a); }},
      {"minimum scalar vector", [=] { return minimum(one, a); }},
      {"minimum vector scalar", [=] { return minimum(a, one); }},
      {"exp", [=] { return exp(a); }, false, tol, 0},
      {"log", [=] { return log(pos); }, false, tol, tol},
      {"log of negatives", [=] { return log(a); }, false, tol, tol},
      {"tanh", [=] { return tanh(a); }, false, tol, tol},
      {"sigmoid", [=] { return sigmoid(a); }, false, tol, tol},
      {"sigmoid large", [=] { return sigmoid(a * 40.0); }, false, tol, tol},
      {"eq", [=] { return a == b_ties; }},
      {"ne", [=] { return a != b_ties; }},
      {"lt", [=] { return a < b_ties; }},
      {"le", [=] { return a <= b_ties; }},
      {"gt", [=] { return a > b_ties; }},
      {"ge", [=] { return a >= b_ties; }},
      {"lt scalar", [=] { return a < 0.5; }},
      {"ge scalar", [=] { return a >= -0.0; }},
      {"scalar lt vector", [=] { return lt(one, a); }},
      {"scalar ge vector", [=] { return ge(one, a); }},
      {"max", [=] { return n > 0 ? max(a) : scalar_tensor(0, dt); }},
      {"max finite", [=] { return n > 0 ? max(pos) : scalar_tensor(0, dt); }},
      {"argmax", [=] { return n > 0 ? argmax(a) : scalar_tensor(0, kInt64); }},
      {"argmax finite", [=] { return n > 0 ? argmax(pos) : scalar_tensor(0, kInt64); }},
      {"max dim 0 (rows)", [=] { return max(rows, 0); }},
      {"max dim 1", [=] { return n > 0 ? max(rows, 1) : zeros({3}, dt); }},
      {"argmax dim 1", [=] { return n > 0 ? argmax(rows, 1) : zeros({3}, kInt64); }},
  };
  for (Case& c : cs)
    c.name += " " + tag;
  return cs;
}

template <class T>
std::vector<Case> reduction_cases(int64_t n, int64_t off) {
  constexpr DType dt = dtype_of<T>();
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  // Values are at most 3 in size, so any sum's rounding error is below eps * 3 * n-ish.
  const double atol = eps * 10.0 * static_cast<double>(n + 1);
  const std::string tag = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
  const auto seed = static_cast<uint32_t>(n * 13 + off);
  const Tensor a = shifted(rnd({n}, dt, seed), off);
  const Tensor b = shifted(rnd({n}, dt, seed + 1), off + 1);
  const Tensor rows = shifted(rnd({3, n}, dt, seed + 2), off);
  const Tensor m5 = rnd({5, n}, dt, seed + 3);
  const Tensor n6 = rnd({n, 6}, dt, seed + 4);
  const Tensor w = rnd({7, n}, dt, seed + 5);
  const Tensor w13 = rnd({13, n}, dt, seed + 6);
  const Tensor bias13 = rnd({13}, dt, seed + 7);
  const Tensor wide = rnd({n, 40}, dt, seed + 8);

  std::vector<Case> cs = {
      {"sum", [=] { return sum(a); }, false, eps, atol},
      {"mean", [=] { return mean(a); }, false, eps, atol},
      {"sum dim 1", [=] { return sum(rows, 1); }, false, eps, atol},
      {"sum dim 0", [=] { return sum(rows, 0); }, false, eps, atol},
      {"mean dim 0 keepdim", [=] { return mean(rows, 0, true); }, false, eps, atol},
      {"dot", [=] { return matmul(a, b); }, false, eps, atol * 3},
      {"gemm [5, n] x [n, 6]", [=] { return matmul(m5, n6); }, false, eps, atol * 3},
      {"vector x matrix [n] x [n, 40]", [=] { return matmul(a, wide); }, false, eps, atol * 3},
      {"gemm transposed [6, n]^T^T", [=] { return matmul(n6.t(), m5.t()); }, false, eps, atol * 3},
      {"linear dot form", [=] { return linear(rows.slice(0, 0, 2), w); }, false, eps, atol * 3},
      {"linear gemm form",
       [=] {
         return linear(rnd({9, n}, dt, seed + 9), w13, bias13);
       },
       false, eps, atol * 3},
  };
  for (Case& c : cs)
    c.name += " " + tag;
  return cs;
}

TEST_F(SimdTest, ElementwiseFloat32MatchesScalarOnEverySize) {
  for (const int64_t n : kSizes)
    check_levels(elementwise_cases<float>(n, 0, 0));
}

TEST_F(SimdTest, ElementwiseFloat64MatchesScalarOnEverySize) {
  for (const int64_t n : kSizes)
    check_levels(elementwise_cases<double>(n, 0, 0));
}

TEST_F(SimdTest, ElementwiseMatchesScalarOnMisalignedViews) {
  for (const int64_t n : kSizes) {
    check_levels(elementwise_cases<float>(n, 1, 3));
    check_levels(elementwise_cases<double>(n, 1, 0));
  }
}

TEST_F(SimdTest, ReductionsAndProductsMatchScalarOnEverySize) {
  for (const int64_t n : kSizes) {
    check_levels(reduction_cases<float>(n, 0));
    check_levels(reduction_cases<double>(n, 0));
  }
}

TEST_F(SimdTest, ReductionsAndProductsMatchScalarOnMisalignedViews) {
  for (const int64_t n : kSizes) {
    check_levels(reduction_cases<float>(n, 3));
    check_levels(reduction_cases<double>(n, 1));
  }
}

// Rows of 16 MiB and more are stored with non-temporal stores once the output is aligned; the
// first elements before that go through the padded tail path. Results misaligned by 0..3
// elements and a length that is no multiple of any vector width, against the scalar table,
// bit for bit, straight through the kernel table (public ops always produce aligned results).
template <class T>
void check_streamed_rows() {
  using K = simd::detail::TypedKernels<T>;
  using simd::detail::BinaryOp;
  using simd::detail::UnaryOp;
  const int64_t n = (int64_t{16} << 20) / static_cast<int64_t>(sizeof(T)) + 13;
  const Tensor a = rnd({n + 8}, dtype_of<T>(), 7);
  const Tensor b = rnd({n + 8}, dtype_of<T>(), 8);
  const K& scalar = detail::kernels_for<T>(simd::detail::scalar_kernels());
  for (const Level level : simd::supported_levels()) {
    simd::set_level(level);
    const K& k = detail::kernels_for<T>(simd::detail::active_kernels());
    for (int64_t off = 0; off < 4; ++off) {
      SCOPED_TRACE(std::string(simd::level_name(level)) + " " +
                   std::string(dtype_name(dtype_of<T>())) + " offset " + std::to_string(off));
      std::vector<T> got(static_cast<std::size_t>(n + 8)), want(got.size());
      const T* pa = a.data<T>() + off;
      const T* pb = b.data<T>() + 3 - off;
      auto same = [&] {
        return std::memcmp(got.data() + off, want.data() + off, sizeof(T) * n) == 0;
      };
      k.unary[static_cast<int>(UnaryOp::Relu)](pa, got.data() + off, n);
      scalar.unary[static_cast<int>(UnaryOp::Relu)](pa, want.data() + off, n);
      EXPECT_TRUE(same()) << "relu";
      k.unary[static_cast<int>(UnaryOp::Abs)](pa, got.data() + off, n);
      scalar.unary[static_cast<int>(UnaryOp::Abs)](pa, want.data() + off, n);
      EXPECT_TRUE(same()) << "abs";
      k.binary_vv[static_cast<int>(BinaryOp::Min)](pa, pb, got.data() + off, n);
      scalar.binary_vv[static_cast<int>(BinaryOp::Min)](pa, pb, want.data() + off, n);
      EXPECT_TRUE(same()) << "min";
      k.binary_vv[static_cast<int>(BinaryOp::Add)](pa, pb, got.data() + off, n);
      scalar.binary_vv[static_cast<int>(BinaryOp::Add)](pa, pb, want.data() + off, n);
      EXPECT_TRUE(same()) << "add";
      k.binary_vs[static_cast<int>(BinaryOp::Mul)](pa, T(1.5), got.data() + off, n);
      scalar.binary_vs[static_cast<int>(BinaryOp::Mul)](pa, T(1.5), want.data() + off, n);
      EXPECT_TRUE(same()) << "mul by a scalar";
      k.binary_sv[static_cast<int>(BinaryOp::Sub)](T(2), pb, got.data() + off, n);
      scalar.binary_sv[static_cast<int>(BinaryOp::Sub)](T(2), pb, want.data() + off, n);
      EXPECT_TRUE(same()) << "scalar minus";
      // In place, as a kernel may be called with out == a.
      std::vector<T> inplace(pa, pa + n);
      k.binary_vv[static_cast<int>(BinaryOp::Add)](inplace.data(), pb, inplace.data(), n);
      scalar.binary_vv[static_cast<int>(BinaryOp::Add)](pa, pb, want.data(), n);
      EXPECT_EQ(std::memcmp(inplace.data(), want.data(), sizeof(T) * n), 0) << "in-place add";
    }
  }
}

TEST_F(SimdTest, LargeRowsStreamedMatchScalarAtEveryAlignment) {
  check_streamed_rows<float>();
  check_streamed_rows<double>();
}

// Shapes that cross the GEMM's register-tile, cache-block and panel boundaries.
TEST_F(SimdTest, MatmulAcrossBlockBoundariesMatchesScalar) {
  std::vector<Case> cs;
  const Shape shapes[][2] = {{{200, 300}, {300, 150}}, {{7, 3}, {3, 2100}}, {{33, 17}, {17, 65}},
                             {{13, 257}, {257, 31}},   {{6, 5}, {5, 32}},   {{12, 0}, {0, 9}}};
  uint32_t seed = 100;
  for (const DType dt : {kFloat32, kFloat64}) {
    const double eps = dt == kFloat32 ? 1e-5 : 1e-13;
    for (const auto& s : shapes) {
      const Tensor a = rnd(s[0], dt, seed++);
      const Tensor b = rnd(s[1], dt, seed++);
      const double atol = eps * static_cast<double>(s[0][1] + 1);
      cs.push_back({"matmul " + shape_str(s[0]) + " x " + shape_str(s[1]) + " " +
                        std::string(dtype_name(dt)),
                    [=] { return matmul(a, b); }, false, eps, atol});
      cs.push_back(
          {"matmul of transposed views " + shape_str(s[0]) + " " + std::string(dtype_name(dt)),
           [=] { return matmul(b.t(), a.t()); }, false, eps, atol});
    }
  }
  check_levels(cs);
}

TEST_F(SimdTest, SupportedLevelsStartAtScalarAndEndAtBest) {
  const auto levels = simd::supported_levels();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), Level::Scalar);
  EXPECT_EQ(levels.back(), simd::best_supported_level());
  for (std::size_t i = 0; i < levels.size(); ++i)
    EXPECT_EQ(static_cast<int>(levels[i]), static_cast<int>(i));
}

TEST_F(SimdTest, SetLevelSwitchesTheActiveLevel) {
  for (const Level level : simd::supported_levels()) {
    simd::set_level(level);
    EXPECT_EQ(simd::active_level(), level);
  }
}

TEST_F(SimdTest, SetLevelRejectsUnsupportedAndInvalidLevels) {
  const Level before = simd::active_level();
  WICK_EXPECT_THROW_MSG(simd::set_level(static_cast<Level>(7)), ArgumentError,
                        "invalid level code 7");
  WICK_EXPECT_THROW_MSG(simd::set_level(static_cast<Level>(-1)), ArgumentError,
                        "invalid level code -1");
  for (int l = static_cast<int>(simd::best_supported_level()) + 1;
       l <= static_cast<int>(Level::AVX512); ++l) {
    const auto level = static_cast<Level>(l);
    WICK_EXPECT_THROW_MSG(simd::set_level(level), ArgumentError,
                          std::string(simd::level_name(level)) + " is not supported");
  }
  EXPECT_EQ(simd::active_level(), before);
}

TEST(SimdNames, LevelNamesRoundTrip) {
  EXPECT_EQ(simd::level_name(Level::Scalar), "scalar");
  EXPECT_EQ(simd::level_name(Level::SSE2), "sse2");
  EXPECT_EQ(simd::level_name(Level::AVX2), "avx2");
  EXPECT_EQ(simd::level_name(Level::AVX512), "avx512");
  EXPECT_EQ(simd::level_name(static_cast<Level>(9)), "unknown");
  for (const Level l : {Level::Scalar, Level::SSE2, Level::AVX2, Level::AVX512})
    EXPECT_EQ(simd::parse_level(simd::level_name(l)), l);
}

TEST(SimdNames, ParseLevelRejectsOtherStrings) {
  for (const char* s : {"", "AVX2", "avx", "avx-512", "sse", "scalar ", "neon", "unknown"})
    EXPECT_EQ(simd::parse_level(s), std::nullopt) << s;
}

// Re-runs this test binary with WICK_SIMD set; the child checks its start-up level.
TEST(SimdEnv, WickSimdCapsTheStartLevel) {
  if (const char* expect = std::getenv("WICK_TEST_EXPECT_LEVEL")) {
    EXPECT_EQ(simd::level_name(simd::active_level()), std::string(expect));
    return;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) GTEST_SKIP() << "cannot locate the test binary to re-run it";
  const Level best = simd::best_supported_level();
  auto capped = [&](Level l) { return l < best ? l : best; };
  const std::pair<std::string, Level> runs[] = {
      {"scalar", Level::Scalar},
      {"sse2", capped(Level::SSE2)},
      {"avx2", capped(Level::AVX2)},
      {"avx512", capped(Level::AVX512)},
      {"bogus", best},
      {"", best},
  };
  for (const auto& [value, level] : runs) {
    const std::string cmd =
        "WICK_SIMD='" + value + "' WICK_TEST_EXPECT_LEVEL=" + std::string(simd::level_name(level)) +
        " '" + self.string() + "' --gtest_filter=SimdEnv.WickSimdCapsTheStartLevel >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

}  // namespace
}  // namespace wick
