// Serialization throughput: wick save/load against raw write()/read()/memcpy/XXH3 on the same
// bytes, in the same run and directory, so the ratios survive the drift of shared machines.
//   wick_bench_io --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Files go to $WICK_BENCH_DIR (default: the system temp directory).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;

fs::path bench_dir() {
  const char* env = std::getenv("WICK_BENCH_DIR");
  return env != nullptr ? fs::path(env) : fs::temp_directory_path();
}

// The workloads: the tutorial's MLP, and n float32 [1024, 1024] weights with [1024] biases.
struct Workload {
  wick::TensorDict state;
  uint64_t bytes = 0;
};

const Workload& workload(int64_t which) {
  static std::map<int64_t, Workload> cache;
  auto [it, fresh] = cache.try_emplace(which);
  if (!fresh) return it->second;
  Workload& w = it->second;
  wick::Generator g(1);
  auto add = [&](std::string name, wick::Tensor t) {
    w.bytes += t.nbytes();
    w.state.insert(std::move(name), std::move(t));
  };
  if (which == 0) {
    add("hidden.weight", wick::randn({256, 20}, g));
    add("hidden.bias", wick::randn({256}, g));
    add("output.weight", wick::randn({10, 256}, g));
    add("output.bias", wick::randn({10}, g));
  } else {
    for (int64_t i = 0; i < which; ++i) {
      add("layers." + std::to_string(i) + ".weight", wick::randn({1024, 1024}, g));
      add("layers." + std::to_string(i) + ".bias", wick::randn({1024}, g));
    }
  }
  return w;
}

const char* name_of(int64_t which) {
  return which == 0 ? "mlp" : which == 64 ? "256MiB" : "1GiB";
}

fs::path file_for(int64_t which, const char* kind) {
  return bench_dir() / (std::string("wick-bench-") + name_of(which) + "-" + kind);
}

void finish(benchmark::State& state, uint64_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetLabel(name_of(state.range(0)));
}

void BM_SaveFile(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  wick::SaveOptions o;
  o.durable = state.range(1) != 0;
  const fs::path p = file_for(state.range(0), "save.wick");
  for (auto _ : state)
    wick::save(w.state, p, o);
  finish(state, w.bytes);
}

void BM_RawWrite(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  const bool durable = state.range(1) != 0;
  const fs::path p = file_for(state.range(0), "raw.bin");
  for (auto _ : state) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (const auto& [k, t] : w.state) {
      const char* d = static_cast<const char*>(t.raw_data());
      for (std::size_t done = 0, n = t.nbytes(); done < n;) {
        const ssize_t r = ::write(fd, d + done, std::min<std::size_t>(n - done, 1 << 20));
        if (r <= 0) state.SkipWithError("write failed");
        done += static_cast<std::size_t>(r);
      }
    }
    if (durable) ::fsync(fd);
    ::close(fd);
  }
  finish(state, w.bytes);
}

void BM_SaveMemory(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  std::string buffer;
  for (auto _ : state) {
    std::ostringstream out(std::move(buffer));
    wick::save(w.state, out);
    buffer = std::move(out).str();
  }
  finish(state, w.bytes);
}

void BM_Load(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  const fs::path p = file_for(state.range(0), "load.wick");
  if (!fs::exists(p)) wick::save(w.state, p);
  wick::LoadOptions o;
  o.verify = state.range(1) != 0;
  o.mmap = state.range(2) != 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(wick::load(p, o));
  finish(state, w.bytes);
  state.SetLabel(std::string(name_of(state.range(0))) + (o.mmap ? " mmap" : " read") +
                 (o.verify ? " verified" : " unverified"));
}

void BM_RawRead(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  const fs::path p = file_for(state.range(0), "load.wick");
  if (!fs::exists(p)) wick::save(w.state, p);
  for (auto _ : state) {
    // Same work as a load: fresh aligned buffers, one per tensor, all alive at the end.
    std::vector<std::shared_ptr<wick::Storage>> kept;
    const int fd = ::open(p.c_str(), O_RDONLY);
    for (const auto& [k, t] : w.state) {
      auto& s = kept.emplace_back(wick::Storage::allocate(t.nbytes()));
      for (std::size_t done = 0, n = t.nbytes(); done < n;) {
        const ssize_t r = ::read(fd, s->data() + done, std::min<std::size_t>(n - done, 1 << 20));
        if (r <= 0) break;
        done += static_cast<std::size_t>(r);
      }
      benchmark::DoNotOptimize(s->data());
    }
    ::close(fd);
  }
  finish(state, w.bytes);
}

void BM_Memcpy(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  for (auto _ : state) {
    std::vector<std::shared_ptr<wick::Storage>> kept;
    for (const auto& [k, t] : w.state) {
      auto& s = kept.emplace_back(wick::Storage::allocate(t.nbytes()));
      std::memcpy(s->data(), t.raw_data(), t.nbytes());
      benchmark::DoNotOptimize(s->data());
    }
  }
  finish(state, w.bytes);
}

void BM_Checksum(benchmark::State& state) {
  const Workload& w = workload(state.range(0));
  for (auto _ : state) {
    uint64_t h = 0;
    for (const auto& [k, t] : w.state)
      h ^= wick::io::checksum(t.raw_data(), t.nbytes());
    benchmark::DoNotOptimize(h);
  }
  finish(state, w.bytes);
}

void workloads(benchmark::internal::Benchmark* b, std::initializer_list<int64_t> extra = {}) {
  for (int64_t which : {0, 64}) {
    if (extra.size() == 0)
      b->Args({which});
    else
      for (int64_t e : extra)
        b->Args({which, e});
  }
}

}  // namespace

BENCHMARK(BM_SaveFile)->Apply([](auto* b) { workloads(b, {0, 1}); }) -> UseRealTime();
BENCHMARK(BM_RawWrite)->Apply([](auto* b) { workloads(b, {0, 1}); }) -> UseRealTime();
BENCHMARK(BM_SaveMemory)->Apply([](auto* b) { workloads(b); }) -> UseRealTime();
BENCHMARK(BM_Load)->ArgsProduct({{0, 64}, {1, 0}, {0, 1}})->UseRealTime();
BENCHMARK(BM_RawRead)->Apply([](auto* b) { workloads(b); }) -> UseRealTime();
BENCHMARK(BM_Memcpy)->Apply([](auto* b) { workloads(b); }) -> UseRealTime();
BENCHMARK(BM_Checksum)->Apply([](auto* b) { workloads(b); }) -> UseRealTime();
