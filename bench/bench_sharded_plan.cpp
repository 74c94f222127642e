// Planning a sharded checkpoint past this machine: the index and the commit of io/FORMAT.md
// "Sharded checkpoints" at 1,024 writers (and 64, 256 for the trend), simulated in one process:
// every writer's shard is written by io::write_shard into one staging directory, and what is
// timed is rank 0's part: commit() (checking 1,024 reports, writing index.wick, the rename) and
// a reader opening the result. The counters give the index's size and the bytes rank 0 gathers
// (every writer's report), which is what the metadata gather moves over the network.
//
// State: 48 layers of 4 tensors of 512 x 512 float32 (1 MiB each) and Adam's two moments of
// each: 576 tensors, 576 MiB, 1,000 piece rows and more (tensors cut where writers' ranges end).
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;

const wick::Value& model_state() {
  static const wick::Value s = [] {
    wick::Dict model, exp_avg, exp_avg_sq;
    for (int layer = 0; layer < 48; ++layer) {
      for (const char* name : {"attn.qkv", "attn.out", "mlp.up", "mlp.down"}) {
        std::string key = "layers.";
        key.append(std::to_string(layer)).append(".").append(name);
        model.insert(key, wick::full({512, 512}, 1.0f));
        exp_avg.insert(key, wick::full({512, 512}, 0.5f));
        exp_avg_sq.insert(key, wick::full({512, 512}, 0.25f));
      }
    }
    return wick::Value(wick::Dict{{"model", model},
                                  {"optimizer", wick::Dict{{"exp_avg", exp_avg},
                                                           {"exp_avg_sq", exp_avg_sq},
                                                           {"step", wick::Value(int64_t{1000})}}}});
  }();
  return s;
}

void BM_CommitAndOpen(benchmark::State& state) {
  const int writers = static_cast<int>(state.range(0));
  const bool durable = state.range(1) != 0;
  const fs::path dir = fs::temp_directory_path() / ("wick-plan-" + std::to_string(writers));
  wick::SaveOptions options;
  options.durable = durable;
  wick::SaveOptions fast;  // the shards (not timed)
  fast.durable = false;
  double commit_s = 0, open_s = 0;
  uint64_t gathered = 0, largest = 0;
  for (auto _ : state) {
    state.PauseTiming();
    wick::io::ShardedCommit commit(dir);
    std::vector<wick::io::ShardReport> reports;
    for (int r = 0; r < writers; ++r) {
      reports.push_back(
          wick::io::write_shard({model_state(), {}}, commit.staging(), r, writers, fast));
    }
    gathered = largest = 0;
    for (const auto& rep : reports) {
      gathered += rep.size();
      largest = std::max<uint64_t>(largest, rep.size());
    }
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    commit.commit({model_state(), {}}, reports, options);
    const auto t1 = std::chrono::steady_clock::now();
    const wick::io::ShardedReader reader(dir);
    benchmark::DoNotOptimize(reader.info());
    const auto t2 = std::chrono::steady_clock::now();
    commit_s += std::chrono::duration<double>(t1 - t0).count();
    open_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const wick::io::ShardedReader reader(dir);
  state.counters["index_KiB"] = static_cast<double>(reader.info().index_size) / 1024;
  state.counters["pieces"] = static_cast<double>(reader.info().piece_count);
  state.counters["gathered_KiB"] = static_cast<double>(gathered) / 1024;
  state.counters["report_max_B"] = static_cast<double>(largest);
  state.counters["commit_ms"] = commit_s * 1000 / static_cast<double>(state.iterations());
  state.counters["open_ms"] = open_s * 1000 / static_cast<double>(state.iterations());
  fs::remove_all(dir);
}
// (writers, durable commit)
BENCHMARK(BM_CommitAndOpen)
    ->Args({64, 0})
    ->Args({256, 0})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
