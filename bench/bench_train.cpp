// A whole training step (forward, cross-entropy loss, backward, Adam step) of wick against
// libtorch, both on one thread (wick::set_num_threads(1), at::set_num_threads(1)), for
//   digits: Linear(64, 128) -> ReLU -> Linear(128, 10), batch 32 (the tutorial's MLP);
//   wide:   Linear(784, 1024) -> ReLU -> Linear(1024, 1024) -> ReLU -> Linear(1024, 10),
//           batch 256.
// Both start from the same weights (wick's, copied into libtorch) and train on the same fixed
// batch; the first kCheckedSteps losses must agree to kLossTolerance (relative) or the case is
// skipped with the numbers. Counters per steady-state step: heap_allocs_per_step (global
// operator new calls, replaced below with counting versions; libtorch's tensor data comes
// from posix_memalign and is not in it), and for wick buffer_maps_per_step /
// buffer_hits_per_step (wick/core/storage_cache.h: large buffers the kernel was asked for /
// the cache served). first_loss is the loss of the first step, loss_rel_diff the largest
// relative difference of the checked losses.
//
//   build/bench/wick_bench_train --benchmark_filter=train_step/digits
//   python3 bench/train.py --build build --reps 5     (with PyTorch eager beside it)
// Built when CMake finds Debian's libtorch-dev (scripts/deps.sh --bench installs it).

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wick/core/storage_cache.h"
#include "wick/wick.h"

// ---- Counting global operator new / delete ------------------------------------------------
// Only counts and forwards to malloc / aligned_alloc / free, so both frameworks' small
// allocations (tensor handles, autograd nodes, wick's small tensor buffers) are seen. The
// counter is one relaxed atomic: a few cycles per call, the same for both.

namespace {

std::atomic<uint64_t> g_operator_new_calls{0};

void* counted_new(std::size_t n) {
  g_operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* counted_new_aligned(std::size_t n, std::align_val_t al) {
  g_operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(al);
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t rounded = (n == 0 ? align : (n + align - 1) / align * align);
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) {
  return counted_new(n);
}
void* operator new[](std::size_t n) {
  return counted_new(n);
}
void* operator new(std::size_t n, std::align_val_t al) {
  return counted_new_aligned(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al) {
  return counted_new_aligned(n, al);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return counted_new_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}
// glibc's free takes aligned_alloc's blocks too, so every delete is free().
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

constexpr uint64_t kSeed = 23;
constexpr int kCheckedSteps = 3;
constexpr double kLossTolerance = 1e-5;
// Steps after the checked ones and before the timed loop, so the loop starts from the state
// every later step sees (Adam's buffers exist, the buffer cache holds last step's buffers).
constexpr int kSettleSteps = 2;
constexpr double kLr = 1e-3;

struct ModelSpec {
  std::vector<int64_t> widths;  // in, hidden..., classes
  int64_t batch;
};

const ModelSpec kDigits{{64, 128, 10}, 32};
const ModelSpec kWide{{784, 1024, 1024, 10}, 256};

// The fixed batch: standard normal inputs and uniformly drawn classes.
struct Batch {
  wick::Tensor x, target;
};

Batch make_batch(const ModelSpec& spec, wick::Generator& gen) {
  const int64_t classes = spec.widths.back();
  std::vector<int64_t> target(static_cast<std::size_t>(spec.batch));
  for (int64_t& c : target)
    c = static_cast<int64_t>(gen.next_u64() % static_cast<uint64_t>(classes));
  return {wick::randn({spec.batch, spec.widths.front()}, gen),
          wick::from_vector(target, {spec.batch})};
}

struct WickStep {
  wick::nn::Sequential net;
  std::unique_ptr<wick::nn::Adam> opt;
  Batch batch;

  explicit WickStep(const ModelSpec& spec) {
    wick::Generator gen(kSeed);
    const std::size_t layers = spec.widths.size() - 1;
    for (std::size_t i = 0; i < layers; ++i) {
      net.emplace_back<wick::nn::Linear>(spec.widths[i], spec.widths[i + 1], true, gen);
      if (i + 1 < layers) net.emplace_back<wick::nn::ReLU>();
    }
    opt = std::make_unique<wick::nn::Adam>(net.parameters(), wick::nn::AdamOptions{.lr = kLr});
    batch = make_batch(spec, gen);
  }

  wick::Tensor step() {
    opt->zero_grad();
    wick::Tensor loss = wick::cross_entropy(net.forward(batch.x), batch.target);
    loss.backward();
    opt->step();
    return loss;
  }
};

// A copy of a contiguous wick tensor as a libtorch one of the same shape and dtype.
torch::Tensor to_torch(const wick::Tensor& t) {
  const std::vector<int64_t> sizes(t.shape().begin(), t.shape().end());
  const auto dtype = t.dtype() == wick::kInt64 ? torch::kInt64 : torch::kFloat32;
  return torch::from_blob(const_cast<void*>(t.raw_data()), sizes, dtype).clone();
}

struct TorchStep {
  torch::nn::Sequential net;
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::Adam> opt;
  torch::Tensor x, target;

  // The same layers, with `from`'s parameters (Linear weights are [out, in] in both) and batch.
  TorchStep(const ModelSpec& spec, const WickStep& from) {
    const std::size_t layers = spec.widths.size() - 1;
    for (std::size_t i = 0; i < layers; ++i) {
      net->push_back(torch::nn::Linear(spec.widths[i], spec.widths[i + 1]));
      if (i + 1 < layers) net->push_back(torch::nn::ReLU());
    }
    params = net->parameters();
    const std::vector<wick::Tensor> mine = from.net.parameters();
    if (mine.size() != params.size()) throw std::runtime_error("parameter counts differ");
    const torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor src = to_torch(mine[i]);
      if (!src.sizes().equals(params[i].sizes()))
        throw std::runtime_error("parameter " + std::to_string(i) + " shapes differ");
      params[i].copy_(src);
    }
    opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(kLr));
    x = to_torch(from.batch.x);
    target = to_torch(from.batch.target);
  }

  torch::Tensor step() {
    // Gradients set to None as wick's zero_grad() does (and PyTorch 2's default): libtorch
    // 1.13's zero_grad() would zero them and backward would add into them, an extra pass.
    for (torch::Tensor& p : params)
      p.mutable_grad().reset();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), target);
    loss.backward();
    opt->step();
    return loss;
  }
};

// Runs the first kCheckedSteps on both; an empty string when every loss agrees, else the
// numbers. `first_loss` gets wick's first loss, `max_rel` the largest relative difference.
std::string check_first_steps(WickStep& w, TorchStep& t, double& first_loss, double& max_rel) {
  std::string error;
  for (int i = 0; i < kCheckedSteps; ++i) {
    const double lw = w.step().item<float>();
    const double lt = t.step().item<float>();
    if (i == 0) first_loss = lw;
    const double rel = std::abs(lw - lt) / std::max(std::abs(lt), 1e-30);
    max_rel = std::max(max_rel, rel);
    if (!(rel <= kLossTolerance)) {
      error += "step " + std::to_string(i + 1) + ": wick " + std::to_string(lw) + " libtorch " +
               std::to_string(lt) + " (relative " + std::to_string(rel) + "); ";
    }
  }
  return error.empty() ? error : "losses differ: " + error;
}

struct OneThread {
  int saved = wick::num_threads();
  OneThread() {
    wick::set_num_threads(1);
    at::set_num_threads(1);
  }
  ~OneThread() { wick::set_num_threads(saved); }
};

struct Counts {
  uint64_t news, maps, hits;
};

Counts counts_now() {
  const wick::StorageCacheStats s = wick::storage_cache_stats();
  return {g_operator_new_calls.load(std::memory_order_relaxed), s.maps, s.hits};
}

void set_per_step(benchmark::State& state, const char* name, uint64_t total) {
  state.counters[name] = static_cast<double>(total) / static_cast<double>(state.iterations());
}

// Builds both models, checks their first steps, then times `Timed`'s steps. The other
// framework's model is freed before the timed loop so it holds no memory during it.
template <class Timed>
void bm_train_step(benchmark::State& state, const ModelSpec& spec) {
  const OneThread one_thread;
  auto w = std::make_unique<WickStep>(spec);
  auto t = std::make_unique<TorchStep>(spec, *w);
  double first_loss = 0, max_rel = 0;
  const std::string error = check_first_steps(*w, *t, first_loss, max_rel);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  Timed& timed = [&]() -> Timed& {
    if constexpr (std::is_same_v<Timed, WickStep>) {
      t.reset();
      return *w;
    } else {
      w.reset();
      return *t;
    }
  }();
  for (int i = 0; i < kSettleSteps; ++i)
    timed.step();

  const Counts before = counts_now();
  for (auto _ : state) {
    auto loss = timed.step();
    benchmark::DoNotOptimize(loss);
  }
  const Counts after = counts_now();
  state.counters["first_loss"] = first_loss;
  state.counters["loss_rel_diff"] = max_rel;
  set_per_step(state, "heap_allocs_per_step", after.news - before.news);
  if constexpr (std::is_same_v<Timed, WickStep>) {
    set_per_step(state, "buffer_maps_per_step", after.maps - before.maps);
    set_per_step(state, "buffer_hits_per_step", after.hits - before.hits);
  }
}

const int kRegistered = [] {
  for (const auto& [name, spec] : {std::pair{"digits", &kDigits}, std::pair{"wide", &kWide}}) {
    const std::string base = std::string("train_step/") + name;
    benchmark::RegisterBenchmark((base + "/wick").c_str(), bm_train_step<WickStep>, *spec)
        ->MinWarmUpTime(0.5)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "/libtorch").c_str(), bm_train_step<TorchStep>, *spec)
        ->MinWarmUpTime(0.5)
        ->Unit(benchmark::kMicrosecond);
  }
  return 0;
}();

}  // namespace
