// Throughput of the elementwise kernels against memcpy, and matmul FLOP/s, each at the start-up
// SIMD level (the best this CPU supports unless WICK_SIMD caps it, so `WICK_SIMD=avx2` measures
// AVX2) and at Scalar.
//
// Bytes per second count every byte read and written: memcpy and relu move 2x the buffer size,
// add 3x (two inputs, one output), so all three compare directly. "op" cases call the public
// API, which allocates its result on every call (at 64 MiB the fresh pages' faults are part of
// that cost); "kernel" cases run the active kernel table into a preallocated buffer.

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "wick/wick.h"

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

void bm_matmul(benchmark::State& state, Level level, int64_t n) {
  const LevelScope scope(level);
  const Tensor a = input({n, n}, 1);
  const Tensor b = input({n, n}, 2);
  for (auto _ : state) {
    Tensor c = wick::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void bm_linear(benchmark::State& state, Level level, int64_t batch) {
  const LevelScope scope(level);
  const int64_t in = 1024, out = 1024;
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

const int kRegistered = [] {
  const Level best = wick::simd::active_level();
  std::vector<Level> levels = {best};
  if (best != Level::Scalar) levels.push_back(Level::Scalar);
  for (const int64_t bytes : kBufferBytes) {
    benchmark::RegisterBenchmark(("memcpy/" + size_name(bytes)).c_str(), bm_memcpy, bytes);
  }
  for (const Level level : levels) {
    const std::string lv(wick::simd::level_name(level));
    for (const int64_t bytes : kBufferBytes) {
      const std::string sz = size_name(bytes);
      benchmark::RegisterBenchmark(("relu_kernel/" + lv + "/" + sz).c_str(), bm_relu_kernel, level,
                                   bytes);
      benchmark::RegisterBenchmark(("relu_op/" + lv + "/" + sz).c_str(), bm_relu_op, level, bytes);
      benchmark::RegisterBenchmark(("add_kernel/" + lv + "/" + sz).c_str(), bm_add_kernel, level,
                                   bytes);
      benchmark::RegisterBenchmark(("add_op/" + lv + "/" + sz).c_str(), bm_add_op, level, bytes);
    }
    benchmark::RegisterBenchmark(("bias_add_op/" + lv + "/4MiB").c_str(), bm_bias_add_op, level,
                                 int64_t{4} << 20);
    for (const int64_t n : kMatmulSizes) {
      benchmark::RegisterBenchmark(("matmul/" + lv + "/" + std::to_string(n)).c_str(), bm_matmul,
                                   level, n)
          ->Unit(benchmark::kMillisecond);
    }
    for (const int64_t batch : {int64_t{1}, int64_t{64}}) {
      benchmark::RegisterBenchmark(
          ("linear_1024x1024/" + lv + "/batch" + std::to_string(batch)).c_str(), bm_linear, level,
          batch)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return 0;
}();

}  // namespace
