// Data-parallel training step of the digits MLP (64 -> 128 -> 10, Adam, global batch 32, one
// compute thread per rank) over MPI: `mpirun -n N wick_bench_ddp`. Every rank runs the same fixed
// iteration counts (each step is a collective, so ranks must agree on them); rank 0 reports.
// bench/ddp_compare.py runs it beside torch DDP (Gloo) on the same model and batch.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "wick/dist/data_parallel.h"
#include "wick/dist/zero_optimizer.h"
#include "wick/wick.h"

#include "digits.h"  // examples/: the digits MLP
#include "mpi_bench.h"

namespace {

constexpr int64_t kBatch = 32;

using digits::MLP;

// One global batch of 32 per step over `micro` micro-batches (the same batch every step: the
// data pipeline is not what is measured); Adam over the whole parameters, or with `zero` over
// this rank's slices of them (ZeRO-1, one all-gather of the updated slices per step).
void ddp_steps(benchmark::State& state, bool zero) {
  const int micro = static_cast<int>(state.range(0));
  const wick::dist::Communicator world = wick::dist::Communicator::world();
  wick::Generator gen(0);
  MLP net(gen);
  const wick::Tensor x = wick::rand({kBatch, 64}, gen);
  const wick::Tensor y = (wick::rand({kBatch}, gen) * 10.0).to(wick::kInt64);
  wick::dist::DistributedDataParallel ddp(net, world, {.micro_batches = micro});
  const auto adam = [](std::vector<wick::Tensor> p) {
    return std::make_unique<wick::nn::Adam>(std::move(p), wick::nn::AdamOptions{.lr = 1e-3});
  };
  std::unique_ptr<wick::nn::Adam> opt = zero ? nullptr : adam(net.parameters());
  std::unique_ptr<wick::dist::ZeroOptimizer> sharded =
      zero ? std::make_unique<wick::dist::ZeroOptimizer>(net.parameters(), world, adam) : nullptr;
  const int64_t per = kBatch / micro;
  world.barrier();
  for (auto _ : state) {
    const double loss = ddp.backward([&](int i) {
      return wick::cross_entropy(net.forward(x.slice(0, i * per, (i + 1) * per)),
                                 y.slice(0, i * per, (i + 1) * per));
    });
    zero ? sharded->step() : opt->step();
    benchmark::DoNotOptimize(loss);
  }
  state.counters["ranks"] = world.size();
}

void BM_DdpStep(benchmark::State& state) {
  ddp_steps(state, false);
}
// Fixed counts: every rank must run the same number of steps.
BENCHMARK(BM_DdpStep)->Arg(4)->Iterations(300)->Repetitions(5)->Unit(benchmark::kMicrosecond);

void BM_DdpZeroStep(benchmark::State& state) {
  ddp_steps(state, true);
}
BENCHMARK(BM_DdpZeroStep)->Arg(4)->Iterations(300)->Repetitions(5)->Unit(benchmark::kMicrosecond);

// The same step in one process without DDP (plain backward on the whole batch): the floor.
void BM_PlainStep(benchmark::State& state) {
  wick::Generator gen(0);
  MLP net(gen);
  const wick::Tensor x = wick::rand({kBatch, 64}, gen);
  const wick::Tensor y = (wick::rand({kBatch}, gen) * 10.0).to(wick::kInt64);
  wick::nn::Adam opt(net.parameters(), {.lr = 1e-3});
  for (auto _ : state) {
    opt.zero_grad();
    const wick::Tensor loss = wick::cross_entropy(net.forward(x), y);
    loss.backward();
    opt.step();
  }
}
BENCHMARK(BM_PlainStep)->Iterations(300)->Repetitions(5)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  wick::dist::Environment mpi(argc, argv);
  wick::set_num_threads(1);  // one compute thread per rank, as torch.set_num_threads(1)
  wick_bench::run_on_every_rank(&argc, argv);
  return 0;
}
