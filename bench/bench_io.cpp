// Serialization throughput: wick save/load against raw write()/read()/memcpy/XXH3 on the same
// bytes, in the same run and directory, so ratios survive the drift of shared machines.
//   wick_bench_io --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Names read <operation>/<workload>. Files go to $WICK_BENCH_DIR (default: the temp directory).
// bench/compare.py runs this binary and PyTorch/NumPy on the same workloads and prints ratios.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;

// Loads are measured into fresh memory, as the raw read() baseline and the peers (torch.load,
// np.load, each in a process of its own) read: wick's cache of large buffers
// (wick/core/storage_cache.h) would hand every load after the first the buffers of the one
// before, already faulted in.
const bool g_no_storage_cache = [] {
  wick::set_storage_cache_limit(0);
  return true;
}();

fs::path bench_dir() {
  const char* env = std::getenv("WICK_BENCH_DIR");
  return env != nullptr ? fs::path(env) : fs::temp_directory_path();
}

struct Workload {
  wick::TensorDict state;
  uint64_t bytes = 0;
};

// mlp: the tutorial's MLP. 256MiB/1GiB: float32 [1024, 1024] weights + [1024] biases.
// small10k: 10,000 float32 tensors of 1 to 4 KiB. bf16: 256 MiB of bfloat16 [2048, 1024].
const Workload& workload(const std::string& name) {
  static std::map<std::string, Workload> cache;
  auto [it, fresh] = cache.try_emplace(name);
  Workload& w = it->second;
  if (!fresh) return w;
  wick::Generator g(1);
  auto add = [&](std::string key, wick::Tensor t) {
    w.bytes += t.nbytes();
    w.state.insert(std::move(key), std::move(t));
  };
  if (name == "mlp") {
    add("hidden.weight", wick::randn({256, 20}, g));
    add("hidden.bias", wick::randn({256}, g));
    add("output.weight", wick::randn({10, 256}, g));
    add("output.bias", wick::randn({10}, g));
  } else if (name == "small10k") {
    for (int i = 0; i < 10000; ++i)
      add("t" + std::to_string(i), wick::randn({256 + i % 769}, g));
  } else if (name == "bf16") {
    for (int i = 0; i < 64; ++i)
      add("w" + std::to_string(i), wick::randn({2048, 1024}, g).to(wick::kBFloat16));
  } else {
    const int layers = name == "1GiB" ? 256 : 64;
    for (int i = 0; i < layers; ++i) {
      add("layers." + std::to_string(i) + ".weight", wick::randn({1024, 1024}, g));
      add("layers." + std::to_string(i) + ".bias", wick::randn({1024}, g));
    }
  }
  return w;
}

fs::path file_for(const std::string& workload, const char* kind) {
  return bench_dir() / ("wick-bench-" + workload + "-" + kind);
}

// The saved file every load benchmark reads (written once per process).
const fs::path& saved_file(const std::string& name) {
  static std::map<std::string, fs::path> files;
  auto [it, fresh] = files.try_emplace(name, file_for(name, "load.wick"));
  if (fresh) wick::save(workload(name).state, it->second);
  return it->second;
}

// Peak resident memory above the level at the start of the benchmark, via VmHWM (reset by
// writing 5 to /proc/self/clear_refs).
class PeakMemory {
 public:
  PeakMemory() {
    std::ofstream("/proc/self/clear_refs") << "5";
    start_ = read("VmRSS:");
  }
  double extra_mib() const { return static_cast<double>(read("VmHWM:") - start_) / 1024.0; }

 private:
  static int64_t read(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string k;
    int64_t kb = 0;
    while (in >> k) {
      if (k == key) {
        in >> kb;
        return kb;
      }
      in.ignore(1 << 10, '\n');
    }
    return 0;
  }
  int64_t start_;
};

void report(benchmark::State& state, const Workload& w, const PeakMemory& mem) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.bytes));
  state.counters["tensors"] = static_cast<double>(w.state.size());
  state.counters["peak_extra_MiB"] = mem.extra_mib();
  state.counters["data_MiB"] = static_cast<double>(w.bytes) / (1 << 20);
}

// --- wick ---------------------------------------------------------------------------------

void save_file(benchmark::State& state, const std::string& name, bool durable) {
  const Workload& w = workload(name);
  wick::SaveOptions o;
  o.durable = durable;
  const fs::path p = file_for(name, "save.wick");
  PeakMemory mem;
  for (auto _ : state)
    wick::save(w.state, p, o);
  report(state, w, mem);
}

// An ostream over a preallocated buffer: measures the writer, not std::string growth.
class FixedBuf : public std::streambuf {
 public:
  explicit FixedBuf(std::size_t n) : data_(n) { rewind(); }
  void rewind() { setp(data_.data(), data_.data() + data_.size()); }

 private:
  std::vector<char> data_;
};

void save_memory(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  FixedBuf buf(w.bytes + w.state.size() * 256 + (1 << 20));
  std::ostream out(&buf);
  PeakMemory mem;
  for (auto _ : state) {
    buf.rewind();
    wick::save(w.state, out);
  }
  report(state, w, mem);
}

void load(benchmark::State& state, const std::string& name, bool verify, bool mmap) {
  const Workload& w = workload(name);
  const fs::path& p = saved_file(name);
  wick::LoadOptions o;
  o.verify = verify;
  o.mmap = mmap;
  PeakMemory mem;
  for (auto _ : state)
    benchmark::DoNotOptimize(wick::load(p, o));
  report(state, w, mem);
}

void load_one(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  const fs::path& p = saved_file(name);
  const std::string key = w.state.items()[w.state.size() / 2].first;
  const uint64_t bytes = w.state.at(key).nbytes();
  PeakMemory mem;
  for (auto _ : state)
    benchmark::DoNotOptimize(wick::io::Reader(p).tensor(key));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["peak_extra_MiB"] = mem.extra_mib();
}

// --- baselines ----------------------------------------------------------------------------

// One raw write of the workload's bytes to `p`; false when a write failed. `replace` writes a
// new file beside the target and renames it over (then, when durable, syncs the directory too):
// the least an atomic save must do. Otherwise the target is truncated and rewritten in place,
// the baseline.
bool write_raw_once(const Workload& w, const fs::path& p, bool durable, bool replace) {
  const fs::path temp = p.string() + ".tmp";
  const fs::path& out = replace ? temp : p;
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = fd >= 0;
  for (const auto& [k, t] : w.state) {
    const char* d = static_cast<const char*>(t.raw_data());
    for (std::size_t done = 0, n = t.nbytes(); ok && done < n;) {
      const ssize_t r = ::write(fd, d + done, std::min<std::size_t>(n - done, 1 << 20));
      ok = r > 0;
      done += ok ? static_cast<std::size_t>(r) : 0;
    }
  }
  if (durable) ::fsync(fd);
  ::close(fd);
  if (replace) ok = ok && ::rename(temp.c_str(), p.c_str()) == 0;
  if (replace && durable) {
    // The rename is durable only once the directory is synced too.
    const int dir = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
    ::fsync(dir);
    ::close(dir);
  }
  return ok;
}

void raw_write(benchmark::State& state, const std::string& name, bool durable, bool replace) {
  const Workload& w = workload(name);
  const fs::path p = file_for(name, "raw.bin");
  PeakMemory mem;
  for (auto _ : state) {
    if (!write_raw_once(w, p, durable, replace)) state.SkipWithError("write failed");
  }
  report(state, w, mem);
}

// The same work as a load: a fresh aligned buffer per tensor, all alive at the end.
void read_raw_once(const Workload& w, const fs::path& p) {
  std::vector<std::shared_ptr<wick::Storage>> kept;
  kept.reserve(w.state.size());
  const int fd = ::open(p.c_str(), O_RDONLY);
  for (const auto& [k, t] : w.state) {
    auto& s = kept.emplace_back(wick::Storage::allocate(t.nbytes()));
    for (std::size_t done = 0, n = t.nbytes(); done < n;) {
      const ssize_t r = ::read(fd, s->data() + done, std::min<std::size_t>(n - done, 1 << 20));
      if (r <= 0) break;
      done += static_cast<std::size_t>(r);
    }
  }
  ::close(fd);
  benchmark::DoNotOptimize(kept.data());
}

void raw_read(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  const fs::path& p = saved_file(name);
  PeakMemory mem;
  for (auto _ : state)
    read_raw_once(w, p);
  report(state, w, mem);
}

// wick and its baseline alternate iteration by iteration (which goes first alternates too),
// each timed alone; the counter `ratio` is the baseline's total time over wick's, so above 1
// means wick is faster. Drift of the shared machine then hits both alike, where two benchmarks
// run one after the other may each see a different machine.
void paired(benchmark::State& state, const std::function<void()>& mine,
            const std::function<void()>& base) {
  using Clock = std::chrono::steady_clock;
  Clock::duration t_mine{}, t_base{};
  bool mine_first = true;
  for (auto _ : state) {
    for (int turn = 0; turn < 2; ++turn) {
      const bool run_mine = (turn == 0) == mine_first;
      const auto t0 = Clock::now();
      run_mine ? mine() : base();
      (run_mine ? t_mine : t_base) += Clock::now() - t0;
    }
    mine_first = !mine_first;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ratio"] =
      std::chrono::duration<double>(t_base).count() / std::chrono::duration<double>(t_mine).count();
  state.counters["wick_ms"] = std::chrono::duration<double, std::milli>(t_mine).count() / n;
  state.counters["base_ms"] = std::chrono::duration<double, std::milli>(t_base).count() / n;
}

void paired_save(benchmark::State& state, const std::string& name, bool durable) {
  const Workload& w = workload(name);
  wick::SaveOptions o;
  o.durable = durable;
  const fs::path mine = file_for(name, "save.wick");
  const fs::path base = file_for(name, "raw.bin");
  paired(
      state, [&] { wick::save(w.state, mine, o); },
      [&] {
        if (!write_raw_once(w, base, durable, false)) state.SkipWithError("write failed");
      });
}

void paired_load(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  const fs::path& p = saved_file(name);
  paired(
      state, [&] { benchmark::DoNotOptimize(wick::load(p)); }, [&] { read_raw_once(w, p); });
}

// A directory that also holds 10,000 other files (a run's checkpoints, a dataset's shards).
// What else is in its directory must not slow a save down.
const fs::path& crowded_dir() {
  static const fs::path dir = [] {
    fs::path d = bench_dir() / "wick-bench-crowded";
    fs::create_directories(d);
    for (int i = 0; i < 10000; ++i) {
      std::string name = "other-";  // appended: GCC 12's -Wrestrict misfires on "..." + s
      std::ofstream(d / name.append(std::to_string(i)));
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(bench_dir() / "wick-bench-crowded", ec);
    });
    return d;
  }();
  return dir;
}

// The tutorial's MLP saved fast into the crowded directory, by wick or by a raw replace.
void crowded_save(benchmark::State& state, bool raw) {
  const Workload& w = workload("mlp");
  const fs::path p = crowded_dir() / (raw ? "mlp.raw" : "mlp.wick");
  wick::SaveOptions o;
  o.durable = false;
  PeakMemory mem;
  for (auto _ : state) {
    if (!raw) {
      wick::save(w.state, p, o);
    } else if (!write_raw_once(w, p, false, true)) {
      state.SkipWithError("write failed");
    }
  }
  report(state, w, mem);
}

void copy_memory(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  PeakMemory mem;
  for (auto _ : state) {
    std::vector<std::shared_ptr<wick::Storage>> kept;
    kept.reserve(w.state.size());
    for (const auto& [k, t] : w.state) {
      auto& s = kept.emplace_back(wick::Storage::allocate(t.nbytes()));
      std::memcpy(s->data(), t.raw_data(), t.nbytes());
    }
    benchmark::DoNotOptimize(kept.data());
  }
  report(state, w, mem);
}

void xxh3(benchmark::State& state, const std::string& name) {
  const Workload& w = workload(name);
  PeakMemory mem;
  for (auto _ : state) {
    uint64_t h = 0;
    for (const auto& [k, t] : w.state)
      h ^= wick::io::checksum(t.raw_data(), t.nbytes());
    benchmark::DoNotOptimize(h);
  }
  report(state, w, mem);
}

// --- registration -------------------------------------------------------------------------

void add(const std::string& name, std::function<void(benchmark::State&)> fn) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& s) { fn(s); })
      ->UseRealTime()
      // The first passes pay for a cold page cache and for the kernel assembling huge pages.
      ->MinWarmUpTime(1.0)
      ->Unit(benchmark::kMillisecond);
}

const bool registered = [] {
  for (const std::string w : {"mlp", "small10k", "256MiB", "bf16", "1GiB"}) {
    add("save_file_fast/" + w, [w](auto& s) { save_file(s, w, false); });
    add("save_file_durable/" + w, [w](auto& s) { save_file(s, w, true); });
    add("save_memory/" + w, [w](auto& s) { save_memory(s, w); });
    add("load_verified/" + w, [w](auto& s) { load(s, w, true, false); });
    add("load_unverified/" + w, [w](auto& s) { load(s, w, false, false); });
    add("mmap_verified/" + w, [w](auto& s) { load(s, w, true, true); });
    add("mmap_unverified/" + w, [w](auto& s) { load(s, w, false, true); });
    add("raw_write/" + w, [w](auto& s) { raw_write(s, w, false, false); });
    add("raw_write_fsync/" + w, [w](auto& s) { raw_write(s, w, true, false); });
    add("raw_replace/" + w, [w](auto& s) { raw_write(s, w, false, true); });
    add("raw_replace_fsync/" + w, [w](auto& s) { raw_write(s, w, true, true); });
    add("raw_read/" + w, [w](auto& s) { raw_read(s, w); });
    add("memcpy/" + w, [w](auto& s) { copy_memory(s, w); });
    add("xxh3/" + w, [w](auto& s) { xxh3(s, w); });
  }
  for (const std::string w : {"256MiB", "bf16", "1GiB"}) {
    add("paired_save_fast/" + w, [w](auto& s) { paired_save(s, w, false); });
    add("paired_save_durable/" + w, [w](auto& s) { paired_save(s, w, true); });
    add("paired_load_verified/" + w, [w](auto& s) { paired_load(s, w); });
  }
  add("save_file_fast_crowded/mlp", [](auto& s) { crowded_save(s, false); });
  add("raw_replace_crowded/mlp", [](auto& s) { crowded_save(s, true); });
  add("load_one_by_name/1GiB", [](auto& s) { load_one(s, "1GiB"); });
  add("load_one_by_name/256MiB", [](auto& s) { load_one(s, "256MiB"); });
  return true;
}();

}  // namespace
