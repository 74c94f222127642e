// Sharded checkpoints over MPI (io/FORMAT.md "Sharded checkpoints"), against raw write() and
// read() of the same bytes by the same processes in the same run: `mpirun -n 2
// wick_bench_sharded [--dir D] [--gib G]`. A 1 GiB state (16 float32 tensors of 64 MiB) held by
// every rank:
//   save N=2     dist::save_sharded (each rank writes half)  vs each rank write()s its half
//   load N=2->1  one rank loads the whole state              vs read() of both shard files
//   load 1->2    ZeRO-1: each rank loads its half of every tensor from a 1-writer checkpoint
//                                                            vs pread() of those byte ranges
// Every iteration's time is the slowest rank's (a collective is as slow as its last rank).
// Reads start cold: every file's cached pages are dropped (posix_fadvise DONTNEED) first. What a
// read or a load produced is held until the timer stops and freed after it, as a loader's
// caller holds the state; the raw reads' /0 rows free each buffer before reading the next
// instead (recycling a few warm megabytes rather than faulting in fresh memory for all they
// read: what no loader can do, shown for comparison with the figures before 2026-12-07).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mpi_bench.h"
#include "wick/dist/sharded_checkpoint.h"
#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kTensors = 16;
fs::path g_dir = "/work/wick-bench-sharded";
int64_t g_tensor_mib = 64;

const wick::dist::Communicator& world() {
  static const wick::dist::Communicator w = wick::dist::Communicator::world();
  return w;
}

// "<prefix><i>", appended piecewise: GCC 12 warns falsely (-Wrestrict) on "t" + to_string(i).
std::string numbered(const char* prefix, int i) {
  std::string s = prefix;
  s.append(std::to_string(i));
  return s;
}

wick::Value make_state() {
  wick::Dict d;
  for (int i = 0; i < kTensors; ++i)
    d.insert(numbered("layer", i), wick::full({g_tensor_mib << 18}, float(i)));
  return d;
}
const wick::Value& state() {
  static const wick::Value s = make_state();
  return s;
}
uint64_t state_bytes() {
  return uint64_t(kTensors) * (uint64_t(g_tensor_mib) << 20);
}

// The slowest rank's seconds for `fn`, started together.
double timed(const std::function<void()>& fn) {
  world().barrier();
  const auto t0 = Clock::now();
  fn();
  const double mine = std::chrono::duration<double>(Clock::now() - t0).count();
  const wick::Tensor all = world().all_gather(wick::full({1}, mine, wick::kFloat64));
  double worst = 0;
  for (int r = 0; r < world().size(); ++r)
    worst = std::max(worst, all.data<double>()[r]);
  return worst;
}

void must(bool ok, const char* what) {
  if (!ok) throw wick::IoError(std::string(what) + ": " + std::strerror(errno));
}

void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  must(fd >= 0 && ::fsync(fd) == 0, "fsync directory");
  ::close(fd);
}

// Cold reads: nothing being written back, and none of the files' pages cached.
void drop_cache(const fs::path& dir) {
  ::sync();
  for (const auto& e : fs::directory_iterator(dir)) {
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// write() of `n` bytes from `p` to a new file renamed over `path` (fsynced first when durable),
// in 8 MiB calls: the least an atomic save does (bench/README.md, `raw_replace`), paying for
// the old file's pages when the rename frees it, as a save replacing a checkpoint does.
void raw_write(const fs::path& path, const std::byte* p, uint64_t n, bool durable) {
  const fs::path fresh = path.string() + ".new";
  const int fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  must(fd >= 0, "open");
  for (uint64_t done = 0; done < n;) {
    const ssize_t w = ::write(fd, p + done, std::min<uint64_t>(n - done, 8 << 20));
    must(w > 0, "write");
    done += uint64_t(w);
  }
  if (durable) must(::fsync(fd) == 0, "fsync");
  ::close(fd);
  fs::rename(fresh, path);
}

// pread() of [at, at + n) of `path` into `p`, in 8 MiB calls.
void raw_read(const fs::path& path, std::byte* p, uint64_t at, uint64_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  must(fd >= 0, "open");
  for (uint64_t done = 0; done < n;) {
    const ssize_t r =
        ::pread(fd, p + done, std::min<uint64_t>(n - done, 8 << 20), off_t(at + done));
    must(r > 0, "pread");
    done += uint64_t(r);
  }
  ::close(fd);
}

fs::path rank_dir(const char* name) {
  return g_dir / name;
}

void report(benchmark::State& s, double seconds, uint64_t bytes) {
  s.SetIterationTime(seconds);
  s.counters["GiB/s"] = benchmark::Counter(double(bytes) / (1 << 30), benchmark::Counter::kIsRate);
}

// Raw: each rank write()s its half of the state's bytes to a file of its own.
void BM_RawWriteHalves(benchmark::State& s) {
  const bool durable = s.range(0) != 0;
  const int r = world().rank(), n = world().size();
  fs::create_directories(rank_dir("raw"));
  const wick::Dict& d = state().dict();
  for (auto _ : s) {
    ::sync();  // no writeback of earlier iterations competes with this one
    report(s, timed([&] {
             for (int i = r; i < kTensors; i += n) {
               const wick::Tensor& t = d.at(numbered("layer", i)).tensor();
               raw_write(rank_dir("raw") / numbered("t", i),
                         static_cast<const std::byte*>(t.raw_data()), t.nbytes(), durable);
             }
             if (durable) sync_dir(rank_dir("raw"));
           }),
           state_bytes());
  }
}

void BM_SaveSharded(benchmark::State& s) {
  wick::SaveOptions o;
  o.durable = s.range(0) != 0;
  for (auto _ : s) {
    ::sync();
    report(s, timed([&] { wick::dist::save_sharded(state(), rank_dir("n2"), world(), o); }),
           state_bytes());
  }
}

// The checkpoint of N=2 the loads read (BM_SaveSharded leaves one; a filtered run writes it).
void write_two_shards() {
  const bool missing = !fs::exists(rank_dir("n2") / "index.wick");
  world().barrier();
  if (missing) wick::dist::save_sharded(state(), rank_dir("n2"), world());
}

// N=2 -> M=1: rank 0 alone loads the whole state written by two ranks; the others wait.
// The raw loaders read into fresh memory from the allocator tensors use, as any loader must:
// its page faults are part of a load.
std::byte* fresh(wick::Tensor& holder, uint64_t n) {
  holder = wick::empty({static_cast<int64_t>(n)}, wick::kUInt8);
  return static_cast<std::byte*>(holder.raw_data());
}

void BM_RawReadWhole(benchmark::State& s) {
  write_two_shards();
  const bool hold = s.range(0) != 0;
  for (auto _ : s) {
    if (world().rank() == 0) drop_cache(rank_dir("n2"));
    std::vector<wick::Tensor> held;
    report(s, timed([&] {
             if (world().rank() != 0) return;
             for (const auto& e : fs::directory_iterator(rank_dir("n2"))) {
               const uint64_t size = fs::file_size(e.path());
               raw_read(e.path(), fresh(held.emplace_back(), size), 0, size);
               if (!hold) held.clear();
             }
           }),
           state_bytes());
  }
}

void BM_LoadWhole(benchmark::State& s) {
  write_two_shards();
  const wick::dist::Communicator alone = world().split(world().rank());
  for (auto _ : s) {
    if (world().rank() == 0) drop_cache(rank_dir("n2"));
    wick::Value held;
    report(s, timed([&] {
             if (world().rank() == 0) held = wick::io::load_sharded(rank_dir("n2"));
           }),
           state_bytes());
  }
}

// 1 -> M=2 (ZeRO-1): a checkpoint of one shard; every rank needs its even half of each tensor.
void write_one_shard() {
  if (world().rank() == 0 && !fs::exists(rank_dir("n1"))) {
    wick::io::save_sharded(state(), rank_dir("n1"), 1);
  }
  world().barrier();
}

std::map<std::string, wick::io::ElementRange> my_halves() {
  std::map<std::string, wick::io::ElementRange> out;
  for (int i = 0; i < kTensors; ++i) {
    out[numbered("/layer", i)] =
        wick::io::even_range(uint64_t(g_tensor_mib) << 18, world().rank(), world().size());
  }
  return out;
}

void BM_RawReadHalves(benchmark::State& s) {
  write_one_shard();
  // Where each piece's payload starts: the record offsets the index lists (one piece each).
  wick::io::Reader shard(rank_dir("n1") / "shard-00000-of-00001.wick");
  const std::vector<wick::io::EntryInfo> entries = shard.entries();
  const wick::io::ElementRange r = my_halves().begin()->second;  // the same for every tensor
  const bool hold = s.range(0) != 0;
  for (auto _ : s) {
    if (world().rank() == 0) drop_cache(rank_dir("n1"));
    std::vector<wick::Tensor> held;
    report(s, timed([&] {
             // Each piece's overlap with this rank's half of its tensor: its key ends with
             // "@<first element>" (FORMAT.md "Shards").
             for (const auto& e : entries) {
               const std::string key = e.path.str();
               const uint64_t start = std::stoull(key.substr(key.rfind('@') + 1));
               const uint64_t lo = std::max(start, r.start);
               const uint64_t hi = std::min(start + e.nbytes / 4, r.end());
               if (lo >= hi) continue;
               raw_read(rank_dir("n1") / "shard-00000-of-00001.wick",
                        fresh(held.emplace_back(), (hi - lo) * 4), e.offset + 64 + (lo - start) * 4,
                        (hi - lo) * 4);
               if (!hold) held.clear();
             }
           }),
           state_bytes());
  }
}

void BM_LoadHalves(benchmark::State& s) {
  write_one_shard();
  const auto halves = my_halves();
  wick::LoadOptions o;
  o.verify = s.range(0) != 0;
  for (auto _ : s) {
    if (world().rank() == 0) drop_cache(rank_dir("n1"));
    wick::Value held;
    report(s, timed([&] { held = wick::dist::load_sharded(rank_dir("n1"), world(), halves, o); }),
           state_bytes());
  }
}

// Fixed counts: every rank must run the same iterations (each is a collective).
#define WICK_SHARDED_BENCH(fn) \
  BENCHMARK(fn)->UseManualTime()->Iterations(3)->Repetitions(3)->Unit(benchmark::kMillisecond)
WICK_SHARDED_BENCH(BM_RawWriteHalves)->Arg(1)->Arg(0);
WICK_SHARDED_BENCH(BM_SaveSharded)->Arg(1)->Arg(0);
WICK_SHARDED_BENCH(BM_RawReadWhole)->Arg(1)->Arg(0);
WICK_SHARDED_BENCH(BM_LoadWhole);
WICK_SHARDED_BENCH(BM_RawReadHalves)->Arg(1)->Arg(0);
WICK_SHARDED_BENCH(BM_LoadHalves)->Arg(1)->Arg(0);

}  // namespace

int main(int argc, char** argv) {
  wick::dist::Environment mpi(argc, argv);
  // Loads into fresh memory, as the raw read() baselines: wick's cache of large buffers
  // (wick/core/storage_cache.h) would hand each load the buffers of the one before.
  wick::set_storage_cache_limit(0);
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--dir") g_dir = argv[i + 1];
    if (std::string(argv[i]) == "--tensor-mib") g_tensor_mib = std::stoll(argv[i + 1]);
  }
  if (world().rank() == 0) {
    fs::remove_all(g_dir);
    fs::create_directories(g_dir);
  }
  world().barrier();
  wick_bench::run_on_every_rank(&argc, argv);
  world().barrier();
  if (world().rank() == 0) fs::remove_all(g_dir);
  return 0;
}
