// The tutorial's MLP (20 -> 256 -> ReLU -> 10) forward, wick against libtorch in one binary and
// run, both on one thread (wick::set_num_threads(1), at::set_num_threads(1)) and without
// autograd. Built when CMake finds Debian's libtorch-dev
// (scripts/bench.sh installs it).

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "wick/wick.h"

namespace {

constexpr int64_t kIn = 20, kHidden = 256, kOut = 10;

void bm_wick_mlp(benchmark::State& state, int64_t batch) {
  const int saved_threads = wick::num_threads();
  wick::set_num_threads(1);
  wick::manual_seed(1);
  wick::nn::Sequential mlp{std::make_shared<wick::nn::Linear>(kIn, kHidden),
                           std::make_shared<wick::nn::ReLU>(),
                           std::make_shared<wick::nn::Linear>(kHidden, kOut)};
  const wick::Tensor x = wick::randn({batch, kIn});
  const wick::NoGradGuard no_grad;
  for (auto _ : state) {
    wick::Tensor y = mlp.forward(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  wick::set_num_threads(saved_threads);
}

void bm_torch_mlp(benchmark::State& state, int64_t batch) {
  at::set_num_threads(1);
  torch::manual_seed(1);
  torch::nn::Sequential mlp(torch::nn::Linear(kIn, kHidden), torch::nn::ReLU(),
                            torch::nn::Linear(kHidden, kOut));
  const torch::Tensor x = torch::randn({batch, kIn});
  const torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor y = mlp->forward(x);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

const int kRegistered = [] {
  for (const int64_t batch : {int64_t{1}, int64_t{64}, int64_t{1024}}) {
    const std::string b = "/batch" + std::to_string(batch);
    benchmark::RegisterBenchmark(("mlp_forward/wick" + b).c_str(), bm_wick_mlp, batch)
        ->MinWarmUpTime(0.5)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("mlp_forward/libtorch" + b).c_str(), bm_torch_mlp, batch)
        ->MinWarmUpTime(0.5)
        ->Unit(benchmark::kMicrosecond);
  }
  return 0;
}();

}  // namespace
