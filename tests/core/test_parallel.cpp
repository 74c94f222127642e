// Thread count control, and the large products that use it: results must not depend on how
// many threads computed them.

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

// Restores the thread count a test changed.
class ThreadCountScope {
 public:
  ThreadCountScope() : saved_(num_threads()) {}
  ~ThreadCountScope() { set_num_threads(saved_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

Tensor rnd(const Shape& shape, DType dtype, uint32_t seed) {
  return testing::random_values(shape, dtype, seed, -2.0, 2.0, 3);
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), a.nbytes()) == 0;
}

TEST(Parallel, SetNumThreadsChangesTheCountAndRejectsZero) {
  const ThreadCountScope scope;
  EXPECT_GE(num_threads(), 1);
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  WICK_EXPECT_THROW_MSG(set_num_threads(0), ArgumentError,
                        "set_num_threads: expected at least 1 thread, got 0");
  WICK_EXPECT_THROW_MSG(set_num_threads(-2), ArgumentError, "got -2");
  EXPECT_EQ(num_threads(), 3);
}

// Products big enough to be split (rows or columns, by which side is longer), narrow ones (the
// GEMM computes them transposed, or as dot products), a column split whose last slab is narrow,
// and linear with its fused bias: 1, 2, 3 and 5 threads give the same bits, at every SIMD
// level, and those bits are the product's (against the scalar level).
TEST(Parallel, LargeProductsAreBitIdenticalForAnyThreadCount) {
  const ThreadCountScope scope;
  const simd::Level saved_level = simd::active_level();
  uint32_t seed = 1;
  for (const DType dt : {kFloat32, kFloat64}) {
    const Tensor wide_a = rnd({96, 300}, dt, seed++), wide_b = rnd({300, 700}, dt, seed++);
    const Tensor tall_a = rnd({1500, 300}, dt, seed++), tall_b = rnd({300, 96}, dt, seed++);
    const Tensor narrow_b = rnd({300, 10}, dt, seed++);
    const Tensor x = rnd({1024, 256}, dt, seed++), w = rnd({200, 256}, dt, seed++);
    const Tensor bias = rnd({200}, dt, seed++);
    // 64 x 1024 -> 130: split by columns into 64 + 66, never a slab of 2.
    const Tensor x64 = rnd({64, 1024}, dt, seed++), w130 = rnd({130, 1024}, dt, seed++);
    const Tensor b130 = rnd({130}, dt, seed++);
    auto products = [&] {
      return std::vector<Tensor>{
          matmul(wide_a, wide_b),   matmul(tall_a, tall_b),
          matmul(tall_a, narrow_b), linear(tall_a, narrow_b.t().contiguous()),
          linear(x, w, bias),       linear(x64, w130, b130)};
    };
    simd::set_level(simd::Level::Scalar);
    set_num_threads(1);
    const std::vector<Tensor> reference = products();
    for (const simd::Level level : simd::supported_levels()) {
      simd::set_level(level);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " at " + std::string(simd::level_name(level)));
      set_num_threads(1);
      const std::vector<Tensor> one = products();
      for (std::size_t i = 0; i < one.size(); ++i) {
        EXPECT_TRUE(allclose(one[i], reference[i], 1e-5, 1e-4)) << "product " << i;
      }
      for (const int threads : {2, 3, 5}) {
        set_num_threads(threads);
        const std::vector<Tensor> many = products();
        for (std::size_t i = 0; i < one.size(); ++i)
          EXPECT_TRUE(bit_equal(many[i], one[i]))
              << "product " << i << ", " << threads << " threads";
      }
    }
  }
  simd::set_level(saved_level);
}

// A child process after fork() has none of the parent's pool threads: its large products must
// run on its own thread rather than wait for workers that are not there (alarm() turns a hang
// into a failure).
TEST(Parallel, AChildAfterForkStillComputesLargeProducts) {
  const ThreadCountScope scope;
  set_num_threads(2);
  const Tensor a = rnd({512, 512}, kFloat32, 1), b = rnd({512, 512}, kFloat32, 2);
  const Tensor want = matmul(a, b);  // starts the parent's pool
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);
    ::_exit(bit_equal(matmul(a, b), want) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Re-runs this test binary with WICK_NUM_THREADS set; the child checks its start-up count.
TEST(ParallelEnv, WickNumThreadsSetsTheStartCount) {
  if (const char* expect = std::getenv("WICK_TEST_EXPECT_THREADS")) {
    if (std::string(expect) == "default") {
      cpu_set_t set;  // the default: the CPUs this process may run on
      ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
      EXPECT_EQ(num_threads(), CPU_COUNT(&set));
    } else {
      EXPECT_EQ(num_threads(), std::atoi(expect));
    }
    return;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) GTEST_SKIP() << "cannot locate the test binary to re-run it";
  const std::pair<std::string, std::string> runs[] = {
      {"1", "1"},         {"3", "3"},        {"0", "default"},
      {"two", "default"}, {"4x", "default"}, {"", "default"},
  };
  for (const auto& [value, expect] : runs) {
    const std::string cmd = "WICK_NUM_THREADS='" + value + "' WICK_TEST_EXPECT_THREADS=" + expect +
                            " '" + self.string() +
                            "' --gtest_filter=ParallelEnv.WickNumThreadsSetsTheStartCount "
                            ">/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

}  // namespace
}  // namespace wick
