// Throughput of the elementwise kernels against memcpy, and matmul FLOP/s, each at the start-up
// SIMD level (the best this CPU supports unless WICK_SIMD caps it, so `WICK_SIMD=avx2` measures
// AVX2) and at Scalar.
//
// Bytes per second count every byte read and written: memcpy and relu move 2x the buffer size,
// add 3x (two inputs, one output), so all three compare directly. "op" cases call the public
// API, which allocates its result on every call (at 64 MiB the fresh pages' faults are part of
// that cost, and `clone` is their baseline); "kernel" cases run the active kernel table into a
// preallocated buffer, against memcpy.
//
// Matrix products run on one thread (as the OpenBLAS yardstick, cblas_sgemm with
// openblas_set_num_threads(1)) and, at the best level, on two.

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "wick/wick.h"

#if WICK_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace {

using wick::Tensor;
using wick::simd::Level;
using wick::simd::detail::BinaryOp;
using wick::simd::detail::UnaryOp;

constexpr int64_t kBufferBytes[] = {int64_t{16} << 10, int64_t{256} << 10, int64_t{64} << 20};
constexpr int64_t kMatmulSizes[] = {256, 512, 1024};

std::string size_name(int64_t bytes) {
  return bytes >= (int64_t{1} << 20) ? std::to_string(bytes >> 20) + "MiB"
                                     : std::to_string(bytes >> 10) + "KiB";
}

// Runs one benchmark at `level` and restores the previous level afterwards.
class LevelScope {
 public:
  explicit LevelScope(Level level) : saved_(wick::simd::active_level()) {
    wick::simd::set_level(level);
  }
  ~LevelScope() { wick::simd::set_level(saved_); }
  LevelScope(const LevelScope&) = delete;
  LevelScope& operator=(const LevelScope&) = delete;

 private:
  Level saved_;
};

// Runs one benchmark on `threads` threads and restores the previous count afterwards.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : saved_(wick::num_threads()) {
    wick::set_num_threads(threads);
  }
  ~ThreadScope() { wick::set_num_threads(saved_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

Tensor input(const wick::Shape& shape, uint64_t seed) {
  wick::Generator gen(seed);
  return wick::uniform(shape, -1.0, 1.0, gen);
}

void bm_memcpy(benchmark::State& state, int64_t bytes) {
  std::vector<char> src(static_cast<std::size_t>(bytes), 1);
  std::vector<char> dst(static_cast<std::size_t>(bytes));
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), dst.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

// The baseline of the "op" cases: a copy into a fresh tensor (torch's x.clone()), which pays
// for the same allocation and page faults as an op's result.
void bm_clone(benchmark::State& state, int64_t bytes) {
  const Tensor x = input({bytes / 4}, 1);
  for (auto _ : state) {
    Tensor y = x.clone();
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

void bm_relu_op(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const Tensor x = input({bytes / 4}, 1);
  for (auto _ : state) {
    Tensor y = wick::relu(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

void bm_relu_kernel(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const int64_t n = bytes / 4;
  const Tensor x = input({n}, 1);
  Tensor y = wick::empty({n});
  const auto relu = wick::simd::detail::active_kernels().f32.unary[static_cast<int>(UnaryOp::Relu)];
  for (auto _ : state) {
    relu(x.data<float>(), y.data<float>(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

// A reduction reads its input once: bytes processed are the input's.
void bm_sum_op(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const Tensor x = input({bytes / 4}, 1);
  for (auto _ : state) {
    Tensor s = wick::sum(x);
    benchmark::DoNotOptimize(s.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void bm_add_op(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const Tensor a = input({bytes / 4}, 1);
  const Tensor b = input({bytes / 4}, 2);
  for (auto _ : state) {
    Tensor c = a + b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * bytes);
}

void bm_add_kernel(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const int64_t n = bytes / 4;
  const Tensor a = input({n}, 1);
  const Tensor b = input({n}, 2);
  Tensor c = wick::empty({n});
  const auto add =
      wick::simd::detail::active_kernels().f32.binary_vv[static_cast<int>(BinaryOp::Add)];
  for (auto _ : state) {
    add(a.data<float>(), b.data<float>(), c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * bytes);
}

// Bias add, the broadcasting case a Linear layer hits: [256, n] + [n].
void bm_bias_add_op(benchmark::State& state, Level level, int64_t bytes) {
  const LevelScope scope(level);
  const int64_t cols = 1024;
  const int64_t rows = bytes / 4 / cols;
  const Tensor a = input({rows, cols}, 1);
  const Tensor b = input({cols}, 2);
  for (auto _ : state) {
    Tensor c = a + b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * bytes);
}

void bm_matmul(benchmark::State& state, Level level, int threads, int64_t n) {
  const LevelScope scope(level);
  const ThreadScope thread_scope(threads);
  const Tensor a = input({n, n}, 1);
  const Tensor b = input({n, n}, 2);
  for (auto _ : state) {
    Tensor c = wick::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void bm_linear(benchmark::State& state, Level level, int threads, int64_t batch, int64_t in,
               int64_t out) {
  const LevelScope scope(level);
  const ThreadScope thread_scope(threads);
  const Tensor x = input({batch, in}, 1);
  const Tensor w = input({out, in}, 2);
  const Tensor bias = input({out}, 3);
  for (auto _ : state) {
    Tensor y = wick::linear(x, w, bias);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(batch * in * out),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

#if WICK_BENCH_OPENBLAS
// The same work as wick::matmul: a fresh [n, n] result, C = A B.
void bm_openblas_matmul(benchmark::State& state, int threads, int64_t n) {
  openblas_set_num_threads(threads);
  // The kernel OpenBLAS picked for this CPU (cblas.h declares it): the yardstick's speed depends
  // on it, and OPENBLAS_CORETYPE in the environment can override the choice.
  state.SetLabel(openblas_get_corename());
  const Tensor a = input({n, n}, 1);
  const Tensor b = input({n, n}, 2);
  const auto ni = static_cast<blasint>(n);
  for (auto _ : state) {
    Tensor c = wick::empty({n, n});
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0F, a.data<float>(), ni,
                b.data<float>(), ni, 0.0F, c.data<float>(), ni);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// The same work as wick::linear (and torch's addmm): a fresh result filled with the bias rows,
// then Y = X W^T + Y.
void bm_openblas_linear(benchmark::State& state, int threads, int64_t batch, int64_t in,
                        int64_t out) {
  openblas_set_num_threads(threads);
  state.SetLabel(openblas_get_corename());  // see bm_openblas_matmul
  const Tensor x = input({batch, in}, 1);
  const Tensor w = input({out, in}, 2);
  const Tensor bias = input({out}, 3);
  for (auto _ : state) {
    Tensor y = wick::empty({batch, out});
    float* py = y.data<float>();
    for (int64_t r = 0; r < batch; ++r)
      std::memcpy(py + r * out, bias.data<float>(), sizeof(float) * static_cast<std::size_t>(out));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(batch),
                static_cast<blasint>(out), static_cast<blasint>(in), 1.0F, x.data<float>(),
                static_cast<blasint>(in), w.data<float>(), static_cast<blasint>(in), 1.0F, py,
                static_cast<blasint>(out));
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(batch * in * out),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
#endif

// The tutorial's layers (20 -> 256 -> 10) and a square one, at the batches the issue names.
struct LinearShape {
  int64_t batch, in, out;
};
constexpr LinearShape kLinearShapes[] = {{64, 20, 256},   {64, 256, 10},   {1024, 20, 256},
                                         {1024, 256, 10}, {1, 1024, 1024}, {64, 1024, 1024}};

std::string linear_name(const LinearShape& s) {
  return "batch" + std::to_string(s.batch) + "/" + std::to_string(s.in) + "x" +
         std::to_string(s.out);
}

// Every case warms up first: the first passes pay for page faults and a cold cache.
benchmark::internal::Benchmark* add(benchmark::internal::Benchmark* b) {
  return b->MinWarmUpTime(0.5);
}

const int kRegistered = [] {
  const Level best = wick::simd::active_level();
  std::vector<Level> levels = {best};
  if (best != Level::Scalar) levels.push_back(Level::Scalar);
  for (const int64_t bytes : kBufferBytes) {
    add(benchmark::RegisterBenchmark(("memcpy/" + size_name(bytes)).c_str(), bm_memcpy, bytes));
    add(benchmark::RegisterBenchmark(("clone/" + size_name(bytes)).c_str(), bm_clone, bytes));
  }
  for (const Level level : levels) {
    const std::string lv(wick::simd::level_name(level));
    for (const int64_t bytes : kBufferBytes) {
      const std::string sz = size_name(bytes);
      add(benchmark::RegisterBenchmark(("relu_kernel/" + lv + "/" + sz).c_str(), bm_relu_kernel,
                                       level, bytes));
      add(benchmark::RegisterBenchmark(("relu_op/" + lv + "/" + sz).c_str(), bm_relu_op, level,
                                       bytes));
      add(benchmark::RegisterBenchmark(("add_kernel/" + lv + "/" + sz).c_str(), bm_add_kernel,
                                       level, bytes));
      add(benchmark::RegisterBenchmark(("add_op/" + lv + "/" + sz).c_str(), bm_add_op, level,
                                       bytes));
      add(benchmark::RegisterBenchmark(("sum_op/" + lv + "/" + sz).c_str(), bm_sum_op, level,
                                       bytes));
    }
    add(benchmark::RegisterBenchmark(("bias_add_op/" + lv + "/4MiB").c_str(), bm_bias_add_op, level,
                                     int64_t{4} << 20));
    // One thread (the yardstick's setting) at every level; the best level on two threads too.
    for (const int threads : {1, 2}) {
      if (threads > 1 && level != best) continue;
      const std::string name = lv + (threads > 1 ? "_2threads" : "");
      for (const int64_t n : kMatmulSizes) {
        add(benchmark::RegisterBenchmark(("matmul/" + name + "/" + std::to_string(n)).c_str(),
                                         bm_matmul, level, threads, n))
            ->Unit(benchmark::kMillisecond);
      }
      for (const LinearShape& sh : kLinearShapes) {
        add(benchmark::RegisterBenchmark(("linear/" + name + "/" + linear_name(sh)).c_str(),
                                         bm_linear, level, threads, sh.batch, sh.in, sh.out))
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
#if WICK_BENCH_OPENBLAS
  for (const int threads : {1, 2}) {
    const std::string th = threads == 1 ? "openblas" : "openblas_2threads";
    for (const int64_t n : kMatmulSizes) {
      add(benchmark::RegisterBenchmark(("matmul/" + th + "/" + std::to_string(n)).c_str(),
                                       bm_openblas_matmul, threads, n))
          ->Unit(benchmark::kMillisecond);
    }
    for (const LinearShape& sh : kLinearShapes) {
      add(benchmark::RegisterBenchmark(("linear/" + th + "/" + linear_name(sh)).c_str(),
                                       bm_openblas_linear, threads, sh.batch, sh.in, sh.out))
          ->Unit(benchmark::kMicrosecond);
    }
  }
#endif
  return 0;
}();

}  // namespace
