// Fused optimizer updates (wick/core/optim_kernels.h): every SIMD level gives the scalar
// reference's values bit for bit (NaNs aside) (the per-element code nn::Adam ran before, PyTorch's
// order of operations), for every variant, tails of every length, NaN and infinity; the argument
// checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "testing.h"
#include "wick/core/creation.h"
#include "wick/core/optim_kernels.h"
#include "wick/core/parallel.h"
#include "wick/core/simd.h"

namespace wick {
namespace {

using simd::Level;

struct State {
  Tensor p, g, m, v, vmax;
};

// Values with NaN, infinities, zeros and both signs sprinkled in, so that every branch of the
// arithmetic (amsgrad's NaN-propagating max above all) is reached.
State make_state(int64_t n, DType dtype, bool amsgrad, uint32_t seed) {
  auto rnd = [&](uint32_t s, double lo, double hi) {
    return testing::random_values({n}, kFloat64, seed * 7 + s, lo, hi);
  };
  State st{rnd(1, -2, 2), rnd(2, -3, 3), rnd(3, -1, 1), rnd(4, 0, 2), Tensor()};
  if (amsgrad) st.vmax = rnd(5, 0, 2);
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), 0.0, -0.0};
  for (int64_t i = 0; i < n; i += 5) {
    const double x = specials[(i / 5) % 4];
    Tensor& t = (i / 5) % 3 == 0 ? st.g : (i / 5) % 3 == 1 ? st.v : st.m;
    t.data<double>()[i] = x;
    if (amsgrad && i % 3 == 0) st.vmax.data<double>()[i] = x;
  }
  for (Tensor* t : {&st.p, &st.g, &st.m, &st.v, &st.vmax})
    if (t->defined()) *t = t->to(dtype);
  return st;
}

State clone(const State& s) {
  return {s.p.clone(), s.g.clone(), s.m.clone(), s.v.clone(),
          s.vmax.defined() ? s.vmax.clone() : Tensor()};
}

// Bit for bit, except that any NaN matches any NaN: when both operands of an add are NaN,
// which one comes out (its sign and payload) is the compiler's choice of operand order.
template <class T>
bool same_values(const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return false;
  }
  return true;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel() || a.dtype() != b.dtype()) return false;
  return a.dtype() == kFloat32 ? same_values(a.data<float>(), b.data<float>(), a.numel())
                               : same_values(a.data<double>(), b.data<double>(), a.numel());
}

class OptimKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = simd::active_level();
    threads_ = num_threads();
  }
  void TearDown() override {
    simd::set_level(level_);
    set_num_threads(threads_);
  }

 private:
  Level level_ = Level::Scalar;
  int threads_ = 1;
};

TEST_F(OptimKernels, AdamGivesTheScalarReferencesBytesAtEveryLevel) {
  const std::vector<AdamStep> variants = {
      {.lr = 1e-3, .step = 1},
      {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .step = 7},
      {.lr = 0.01, .weight_decay = 0.1, .step = 3},                     // Adam: L2 in the gradient
      {.lr = 0.01, .weight_decay = 0.1, .decoupled = true, .step = 3},  // AdamW
      {.lr = 0.02, .maximize = true, .step = 2},
  };
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const int64_t n : {1, 7, 15, 16, 17, 33, 100, 1025}) {
      for (const bool amsgrad : {false, true}) {
        for (std::size_t vi = 0; vi < variants.size(); ++vi) {
          const State start = make_state(n, dtype, amsgrad, static_cast<uint32_t>(n + vi));
          simd::set_level(Level::Scalar);
          State want = clone(start);
          adam_step_(want.p, want.g, want.m, want.v, want.vmax, variants[vi]);
          for (const Level level : simd::supported_levels()) {
            simd::set_level(level);
            State got = clone(start);
            adam_step_(got.p, got.g, got.m, got.v, got.vmax, variants[vi]);
            const auto where = ::testing::Message()
                               << simd::level_name(level) << " " << dtype_name(dtype) << " n=" << n
                               << " amsgrad=" << amsgrad << " variant " << vi;
            EXPECT_TRUE(same_bytes(got.p, want.p)) << where;
            EXPECT_TRUE(same_bytes(got.m, want.m)) << where;
            EXPECT_TRUE(same_bytes(got.v, want.v)) << where;
            if (amsgrad) {
              EXPECT_TRUE(same_bytes(got.vmax, want.vmax)) << where;
            }
          }
        }
      }
    }
  }
}

// The first step of Adam moves each element by lr (bias correction), whatever the gradient's
// scale: a check of the arithmetic itself, not only of agreement between levels.
TEST_F(OptimKernels, AdamFirstStepMovesByLr) {
  Tensor p = tensor({1.0, 1.0, 1.0}).to(kFloat64);
  Tensor g = tensor({0.5, -3.0, 1e-3}).to(kFloat64);
  Tensor m = zeros({3}, kFloat64), v = zeros({3}, kFloat64), none;
  adam_step_(p, g, m, v, none, {.lr = 0.1});
  EXPECT_NEAR(p.data<double>()[0], 0.9, 1e-7);
  EXPECT_NEAR(p.data<double>()[1], 1.1, 1e-7);
  EXPECT_NEAR(p.data<double>()[2], 0.9, 1e-5);
  EXPECT_DOUBLE_EQ(m.data<double>()[1], -0.3);
}

// Large tensors are split over the thread pool; the pieces give the same bytes as one thread.
TEST_F(OptimKernels, AdamOnSeveralThreadsGivesTheSameBytes) {
  const int64_t n = (int64_t{1} << 18) + 3;
  const State start = make_state(n, kFloat32, true, 11);
  set_num_threads(1);
  State one = clone(start);
  adam_step_(one.p, one.g, one.m, one.v, one.vmax, {.lr = 0.01, .step = 5});
  set_num_threads(4);
  State four = clone(start);
  adam_step_(four.p, four.g, four.m, four.v, four.vmax, {.lr = 0.01, .step = 5});
  EXPECT_TRUE(same_bytes(one.p, four.p));
  EXPECT_TRUE(same_bytes(one.vmax, four.vmax));
}

TEST_F(OptimKernels, AdamRefusesMismatchedTensors) {
  Tensor p = zeros({4}), g = zeros({4}), m = zeros({4}), v = zeros({4}), none;
  Tensor short_g = zeros({3});
  WICK_EXPECT_THROW_MSG(adam_step_(p, short_g, m, v, none, {}), ShapeError,
                        "adam_step_: the gradient has shape [3], the parameter [4]");
  Tensor g64 = zeros({4}, kFloat64);
  WICK_EXPECT_THROW_MSG(adam_step_(p, g64, m, v, none, {}), ArgumentError,
                        "the gradient has dtype float64, the parameter float32");
  Tensor strided = zeros({8}).slice(0, 0, 8, 2);
  WICK_EXPECT_THROW_MSG(adam_step_(p, g, strided, v, none, {}), ArgumentError,
                        "exp_avg is not contiguous");
  Tensor ints = zeros({4}, kInt32);
  WICK_EXPECT_THROW_MSG(adam_step_(ints, g, m, v, none, {}), ArgumentError,
                        "expected float32 or float64");
  Tensor undefined;
  WICK_EXPECT_THROW_MSG(adam_step_(p, undefined, m, v, none, {}), ArgumentError,
                        "the gradient is undefined");
}

}  // namespace
}  // namespace wick
