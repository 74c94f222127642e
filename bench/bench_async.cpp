// Background checkpoints (wick::io::AsyncSaver): what a save costs the training that goes on
// while it is written, each figure against a baseline measured in the same run.
//   wick_bench_async --benchmark_counters_tabular=true
// Names read <measure>/<workload>[/<variant>]:
// - copy_stall: the time save() holds the caller in copy mode, against a memcpy of the same
//   bytes into buffers already faulted in (the least a copy snapshot can cost). Steady state: a
//   warm-up save first, so the staging buffers exist. Counter ratio = stall / memcpy. The
//   saver copies on two threads (wick::num_threads() = 2), or on one with /1thread; the memcpy
//   is always one thread's.
// - fork_stall: the time save() holds the caller in fork mode, against a synchronous fast save
//   (wick::save, durable = false) of the same state. Counter ratio = stall / sync save.
// - fork_memory/<workload>/{idle,writing}: the child's extra memory (SaveStats::extra_bytes)
//   while the parent waits, and while it rewrites every tensor in a loop as training would.
// - train_inflight/<mode>/{fast,durable}: steps/s of an MLP training loop (4 x Linear(4096,
//   4096), 256 MiB of float32 parameters, SGD, one compute thread) with a save in flight,
//   against the same loop with none. Counter ratio = with / without.
// - train_cadence/<mode>: training with a checkpoint every N steps (N steps take several save
//   durations) against the same steps without; also with synchronous checkpoints.
// The training benchmarks pin the compute thread to CPU 0 and the saver's threads (or its
// child) to CPU 1 with sched_setaffinity (see Pinning); their label lists where each ran.
// Files go to $WICK_BENCH_DIR (default: the temp directory).
#include <benchmark/benchmark.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "wick/wick.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using wick::io::SnapshotMode;

constexpr double kMiB = 1 << 20;

fs::path bench_dir() {
  const char* env = std::getenv("WICK_BENCH_DIR");
  return env != nullptr ? fs::path(env) : fs::temp_directory_path();
}

// The files of this run, removed at exit: a whole run leaves about 4.8 GiB otherwise.
std::vector<fs::path>& files_made() {
  static std::vector<fs::path> files;
  static const bool cleanup = [] {
    std::atexit([] {
      std::error_code ec;
      for (const fs::path& f : files_made())
        fs::remove(f, ec);
    });
    return true;
  }();
  (void)cleanup;
  return files;
}

fs::path file_for(const std::string& name, const char* kind) {
  fs::path p = bench_dir() / ("wick-bench-async-" + name + "-" + kind);
  files_made().push_back(p);
  return p;
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Page faults of the calling thread so far (fork mode's copy-on-write shows up here).
double thread_faults() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_minflt + ru.ru_majflt);
}

// Seconds the calling thread has waited in a run queue, ready but not running (the second field
// of /proc/thread-self/schedstat): against the CPU time, whether a slower step was kept from
// its core or was blocked.
double thread_runqueue_wait() {
  std::ifstream in("/proc/thread-self/schedstat");
  double run_ns = 0, wait_ns = 0;
  in >> run_ns >> wait_ns;
  return wait_ns * 1e-9;
}

// CPU seconds of the calling thread so far, user and system: against the wall clock, whether
// a slower step computed more or waited.
double thread_cpu() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec);
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// 256MiB: 16 float32 [4096, 1024] tensors; 1GiB: 64 of them. Built per benchmark and freed
// after it, so that one benchmark's memory does not enlarge the next one's fork. The values
// are a cheap pattern: what is measured moves bytes and never looks at them.
wick::TensorDict make_state(const std::string& name, uint64_t& bytes) {
  const int tensors = name == "1GiB" ? 64 : 16;
  wick::TensorDict state;
  bytes = 0;
  for (int i = 0; i < tensors; ++i) {
    wick::Tensor t = wick::empty({4096, 1024});
    float* p = t.data<float>();
    for (int64_t j = 0; j < t.numel(); ++j)
      p[j] = static_cast<float>((j * 7 + i) % 1000) * 1e-3F;
    bytes += t.nbytes();
    state.insert("layers." + std::to_string(i) + ".weight", std::move(t));
  }
  return state;
}

// Buffers the size of each tensor, faulted in once: the memcpy baseline copies into them, as
// the saver's kept staging buffers receive a steady-state copy snapshot.
std::vector<std::shared_ptr<wick::Storage>> prefaulted_like(const wick::TensorDict& state) {
  std::vector<std::shared_ptr<wick::Storage>> out;
  for (const auto& [k, t] : state) {
    auto& s = out.emplace_back(wick::Storage::allocate(t.nbytes()));
    std::memset(s->data(), 1, t.nbytes());
  }
  return out;
}

void copy_all(const wick::TensorDict& state, std::vector<std::shared_ptr<wick::Storage>>& dst) {
  std::size_t i = 0;
  for (const auto& [k, t] : state)
    std::memcpy(dst[i++]->data(), t.raw_data(), t.nbytes());
  benchmark::ClobberMemory();
}

// One pass of a parameter update over every tensor (p -= 1e-3 p), as an optimizer step writes
// every page of the state. Stops early, between tensors, once `stop` says so.
void rewrite_all(wick::TensorDict& state, const std::function<bool()>& stop) {
  for (auto& [k, t] : state) {
    if (stop()) return;
    float* p = t.data<float>();
    for (int64_t j = 0; j < t.numel(); ++j)
      p[j] -= 1e-3F * p[j];
  }
  benchmark::ClobberMemory();
}

// --- snapshot stalls ----------------------------------------------------------------------

// The snapshot (save() returning) and its baseline alternate iteration by iteration (which
// goes first alternates too), each timed alone, and the save is waited for outside both: the
// drift of the shared machine then hits both alike. The manual time of an iteration is the
// stall; `ratio` = total stall / total baseline time.
void stall_vs(benchmark::State& st, const std::string& name, SnapshotMode mode, int threads) {
  const int saved_threads = wick::num_threads();
  wick::set_num_threads(threads);
  uint64_t bytes = 0;
  wick::TensorDict state = make_state(name, bytes);
  std::vector<std::shared_ptr<wick::Storage>> copies;
  if (mode == SnapshotMode::kCopy) copies = prefaulted_like(state);
  wick::SaveOptions o;
  o.durable = false;
  const fs::path async_path = file_for(name, "async.wick");
  const fs::path sync_path = file_for(name, "sync.wick");
  wick::io::AsyncSaver saver;
  // Warm-up: the staging buffers exist (copy mode) and both target files exist, so every
  // timed save replaces a file as the baseline does.
  saver.save(state, async_path, o, mode).wait();
  if (mode == SnapshotMode::kFork) wick::save(state, sync_path, o);

  Clock::duration t_stall{}, t_base{};
  double snapshot_s = 0, extra_max = 0, write_s = 0;
  bool save_first = false;
  for (auto _ : st) {
    Clock::duration stall{};
    for (int turn = 0; turn < 2; ++turn) {
      if ((turn == 0) == save_first) {
        const auto t0 = Clock::now();
        if (mode == SnapshotMode::kCopy) {
          copy_all(state, copies);
        } else {
          wick::save(state, sync_path, o);
        }
        t_base += Clock::now() - t0;
      } else {
        const auto t0 = Clock::now();
        wick::io::SaveHandle h = saver.save(state, async_path, o, mode);
        stall = Clock::now() - t0;
        h.wait();
        write_s += seconds(Clock::now() - t0);
        const wick::io::SaveStats s = h.stats();
        snapshot_s += s.snapshot_seconds;
        extra_max = std::max(extra_max, static_cast<double>(s.extra_bytes) / kMiB);
      }
    }
    t_stall += stall;
    save_first = !save_first;
    st.SetIterationTime(seconds(stall));
  }
  const auto n = static_cast<double>(st.iterations());
  st.counters["ratio"] = seconds(t_stall) / seconds(t_base);
  st.counters["stall_ms"] = seconds(t_stall) * 1e3 / n;
  st.counters["base_ms"] = seconds(t_base) * 1e3 / n;
  st.counters["snapshot_ms"] = snapshot_s * 1e3 / n;
  st.counters["save_done_ms"] = write_s * 1e3 / n;
  st.counters["extra_MiB"] = extra_max;
  st.counters["staging_MiB"] = static_cast<double>(saver.staging_bytes()) / kMiB;
  st.counters["data_MiB"] = static_cast<double>(bytes) / kMiB;
  st.counters["threads"] = threads;
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * bytes));
  wick::set_num_threads(saved_threads);
}

// Fork mode's extra memory: the pages the parent writes while the child still needs their old
// contents. `writing`: the parent rewrites every tensor, pass after pass, until the save is done
// (training that updates every parameter); otherwise it only waits.
void fork_memory(benchmark::State& st, const std::string& name, bool writing) {
  uint64_t bytes = 0;
  wick::TensorDict state = make_state(name, bytes);
  wick::SaveOptions o;
  o.durable = false;
  const fs::path path = file_for(name, "fork.wick");
  wick::io::AsyncSaver saver;
  saver.save(state, path, o, SnapshotMode::kFork).wait();
  double extra_max = 0, passes = 0, done_s = 0, stall_s = 0;
  for (auto _ : st) {
    const auto t0 = Clock::now();
    wick::io::SaveHandle h = saver.save(state, path, o, SnapshotMode::kFork);
    stall_s += seconds(Clock::now() - t0);
    while (writing && !h.done()) {
      rewrite_all(state, [&] { return h.done(); });
      passes += 1;
    }
    h.wait();
    const auto elapsed = Clock::now() - t0;
    done_s += seconds(elapsed);
    st.SetIterationTime(seconds(elapsed));
    extra_max = std::max(extra_max, static_cast<double>(h.stats().extra_bytes) / kMiB);
  }
  const auto n = static_cast<double>(st.iterations());
  st.counters["extra_MiB"] = extra_max;
  st.counters["extra_per_data"] = extra_max / (static_cast<double>(bytes) / kMiB);
  st.counters["parent_passes"] = passes / n;
  st.counters["stall_ms"] = stall_s * 1e3 / n;
  st.counters["save_done_ms"] = done_s * 1e3 / n;
  st.counters["data_MiB"] = static_cast<double>(bytes) / kMiB;
}

// --- training -----------------------------------------------------------------------------

// Pinning: the compute thread runs on CPU 0; threads and processes inherit the affinity of the
// thread that creates them, so the main thread moves to CPU 1 while it constructs the saver and
// calls save() (the saver's writer thread, the writer's helpers and a forked child start there
// and stay), and back to CPU 0 to train. Does nothing on a machine with one CPU.
class Pinning {
 public:
  Pinning() : on_(::sysconf(_SC_NPROCESSORS_ONLN) >= 2) {}
  void compute() const { pin(0); }
  void saver() const { pin(1); }
  void none() const {
    if (!on_) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c = 0; c < 2; ++c)
      CPU_SET(c, &set);
    ::sched_setaffinity(0, sizeof(set), &set);
  }

 private:
  void pin(int cpu) const {
    if (!on_) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof(set), &set);
  }
  bool on_;
};

std::string read_line(const fs::path& p, const std::string& key) {
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
  return {};
}

// Where each thread of this process (and each child) may run and last ran:
// "name[allowed CPUs]@last CPU ...", read from /proc while a save is in flight.
std::string describe_threads() {
  std::ostringstream out;
  auto describe = [&](const fs::path& task, const std::string& tag) {
    std::string comm;
    std::ifstream(task / "comm") >> comm;
    std::string allowed = read_line(task / "status", "Cpus_allowed_list:");
    allowed.erase(0, allowed.find_first_not_of(" \t"));
    // Field 39 of stat is the CPU the task last ran on; the name (field 2) may hold spaces.
    std::string stat;
    std::getline(std::ifstream(task / "stat"), stat);
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 39 && rest >> field; ++i) {
    }
    out << tag << comm << "[" << allowed << "]@" << field << ' ';
  };
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
    describe(task.path(), "");
    std::ifstream children(task.path() / "children");
    for (std::string pid; children >> pid;) {
      for (const auto& ct : fs::directory_iterator("/proc/" + pid + "/task", ec))
        describe(ct.path(), "child:");
    }
  }
  return out.str();
}

// The MLP: kLayers x Linear(4096, 4096) with ReLU between, 64 MiB of weights each.
constexpr int kLayers = 4;
constexpr int64_t kWidth = 4096;
// Small batches keep a step short next to a save, so that a save spans several steps; each
// step still reads and writes every parameter, as any training step does.
constexpr int64_t kBatch = 16;

struct Trainer {
  wick::nn::Sequential net;
  std::unique_ptr<wick::nn::SGD> opt;
  wick::Tensor x, target;

  Trainer() {
    wick::Generator g(1);
    for (int i = 0; i < kLayers; ++i) {
      net.emplace_back<wick::nn::Linear>(kWidth, kWidth, true, g);
      if (i + 1 < kLayers) net.emplace_back<wick::nn::ReLU>();
    }
    wick::nn::SGDOptions so;
    so.lr = 1e-4;
    opt = std::make_unique<wick::nn::SGD>(net.parameters(), so);
    x = wick::randn({kBatch, kWidth}, g);
    target = wick::randn({kBatch, kWidth}, g);
  }
  void step() {
    opt->zero_grad();
    const wick::Tensor loss = wick::mse_loss(net.forward(x), target);
    loss.backward();
    opt->step();
  }
  // The state a checkpoint holds (shares storage with the parameters).
  wick::TensorDict state() const { return net.state_dict(); }
};

struct TrainSetup {
  Pinning pin;
  int saved_threads = wick::num_threads();
  TrainSetup() {
    wick::set_num_threads(1);
    pin.compute();
  }
  ~TrainSetup() {
    pin.none();
    wick::set_num_threads(saved_threads);
  }
};

// Steps/s with a save in flight against none, alternating: kWarm steps alone, then kRounds
// times: kPlain steps with no save (timed), then one save and steps until it is done. A step
// counts as "with a save" when it started while the save was in flight; its whole time counts,
// and so does the stall of save(), so the ratio errs towards the save's cost.
void train_inflight(benchmark::State& st, SnapshotMode mode, bool durable) {
  constexpr int kWarm = 3, kRounds = 5, kPlain = 6;
  TrainSetup setup;
  Trainer tr;
  const wick::TensorDict sd = tr.state();
  wick::SaveOptions o;
  o.durable = durable;
  const fs::path path = file_for("mlp256", "train.wick");
  setup.pin.saver();
  wick::io::AsyncSaver saver;
  saver.save(sd, path, o, mode).wait();  // staging exists, the file exists
  setup.pin.compute();
  for (int i = 0; i < kWarm; ++i)
    tr.step();

  double plain_s = 0, with_s = 0, stall_s = 0, save_s = 0, extra_max = 0;
  double plain_faults = 0, with_faults = 0, plain_cpu = 0, with_cpu = 0;
  double plain_rq = 0, with_rq = 0;
  int64_t plain_steps = 0, with_steps = 0;
  std::string where;
  for (auto _ : st) {
    for (int r = 0; r < kRounds; ++r) {
      const auto p0 = Clock::now();
      const double f0 = thread_faults();
      const double c0 = thread_cpu();
      const double q0 = thread_runqueue_wait();
      for (int i = 0; i < kPlain; ++i)
        tr.step();
      plain_s += seconds(Clock::now() - p0);
      plain_faults += thread_faults() - f0;
      plain_cpu += thread_cpu() - c0;
      plain_rq += thread_runqueue_wait() - q0;
      plain_steps += kPlain;

      const auto t0 = Clock::now();
      const double f1 = thread_faults();
      setup.pin.saver();
      wick::io::SaveHandle h = saver.save(sd, path, o, mode);
      setup.pin.compute();
      const auto t1 = Clock::now();
      const double c1 = thread_cpu();
      const double q1 = thread_runqueue_wait();
      stall_s += seconds(t1 - t0);
      if (r == 0) where = describe_threads();
      auto t_end = t1;
      while (!h.done()) {
        tr.step();
        t_end = Clock::now();
        ++with_steps;
      }
      with_faults += thread_faults() - f1;
      with_cpu += thread_cpu() - c1;
      with_rq += thread_runqueue_wait() - q1;
      h.wait();
      with_s += seconds(t_end - t0);
      // An upper bound: done() is looked at between steps.
      save_s += seconds(t_end - t0);
      extra_max = std::max(extra_max, static_cast<double>(h.stats().extra_bytes) / kMiB);
    }
    st.SetIterationTime(plain_s + with_s);
  }
  const double plain_rate = static_cast<double>(plain_steps) / plain_s;
  const double with_rate = static_cast<double>(with_steps) / with_s;
  st.counters["ratio"] = with_rate / plain_rate;
  st.counters["steps_per_s_plain"] = plain_rate;
  st.counters["steps_per_s_saving"] = with_rate;
  st.counters["steps_per_save"] = static_cast<double>(with_steps) / kRounds;
  st.counters["step_ms_plain"] = plain_s * 1e3 / static_cast<double>(plain_steps);
  // The steps alone, the stall of save() taken out.
  st.counters["step_ms_saving"] = (with_s - stall_s) * 1e3 / static_cast<double>(with_steps);
  st.counters["faults_per_step_plain"] = plain_faults / static_cast<double>(plain_steps);
  st.counters["faults_per_step_saving"] = with_faults / static_cast<double>(with_steps);
  st.counters["cpu_ms_per_step_plain"] = plain_cpu * 1e3 / static_cast<double>(plain_steps);
  st.counters["cpu_ms_per_step_saving"] = with_cpu * 1e3 / static_cast<double>(with_steps);
  st.counters["rq_ms_per_step_plain"] = plain_rq * 1e3 / static_cast<double>(plain_steps);
  st.counters["rq_ms_per_step_saving"] = with_rq * 1e3 / static_cast<double>(with_steps);
  st.counters["stall_ms"] = stall_s * 1e3 / kRounds;
  st.counters["save_done_ms"] = save_s * 1e3 / kRounds;
  st.counters["extra_MiB"] = extra_max;
  double state_bytes = 0;
  for (const auto& [k, t] : sd)
    state_bytes += static_cast<double>(t.nbytes());
  st.counters["state_MiB"] = state_bytes / kMiB;
  st.SetLabel(where);
}

// A run with a checkpoint every N steps, against the same run without. N is set so that N steps
// take kSpan times as long as one save (both measured first), as a run that checkpoints every
// few minutes would. One cycle is N steps with no save, N steps after an async save (then a
// wait(), normally instant, so the save is paid for within the cycle) and N steps after a
// synchronous wick::save (durable = false) on the compute thread. The three alternate cycle by
// cycle, kCycles times (which goes first rotates), so the drift of a shared machine hits them
// alike; the totals give the ratios.
void train_cadence(benchmark::State& st, SnapshotMode mode) {
  constexpr int kCycles = 6;
  constexpr double kSpan = 4.0;
  TrainSetup setup;
  Trainer tr;
  const wick::TensorDict sd = tr.state();
  wick::SaveOptions o;
  o.durable = false;
  const fs::path path = file_for("mlp256", "cadence.wick");
  const fs::path sync_path = file_for("mlp256", "cadence-sync.wick");
  setup.pin.saver();
  wick::io::AsyncSaver saver;
  const auto s0 = Clock::now();
  saver.save(sd, path, o, mode).wait();
  const double save_once = seconds(Clock::now() - s0);
  setup.pin.compute();
  wick::save(sd, sync_path, o);
  tr.step();  // warm-up
  const auto w0 = Clock::now();
  for (int i = 0; i < 2; ++i)
    tr.step();
  const double step_once = seconds(Clock::now() - w0) / 2;
  const int n = std::max(4, static_cast<int>(std::ceil(kSpan * save_once / step_once)));

  double none_s = 0, async_s = 0, sync_s = 0, stall_s = 0;
  for (auto _ : st) {
    for (int c = 0; c < kCycles; ++c) {
      for (int turn = 0; turn < 3; ++turn) {
        const int phase = (turn + c) % 3;
        const auto t0 = Clock::now();
        if (phase == 1) {
          setup.pin.saver();
          saver.save(sd, path, o, mode);
          setup.pin.compute();
          stall_s += seconds(Clock::now() - t0);
        } else if (phase == 2) {
          wick::save(sd, sync_path, o);
        }
        for (int i = 0; i < n; ++i)
          tr.step();
        if (phase == 1) saver.wait();
        (phase == 0 ? none_s : phase == 1 ? async_s : sync_s) += seconds(Clock::now() - t0);
      }
    }
    st.SetIterationTime(none_s + async_s + sync_s);
  }
  st.counters["ratio"] = none_s / async_s;
  st.counters["ratio_sync"] = none_s / sync_s;
  st.counters["steps_per_save"] = n;
  st.counters["step_ms"] = step_once * 1e3;
  st.counters["save_ms"] = save_once * 1e3;
  st.counters["stall_ms"] = stall_s * 1e3 / kCycles;
  st.counters["cycle_s_none"] = none_s / kCycles;
  st.counters["cycle_s_async"] = async_s / kCycles;
  st.counters["cycle_s_sync"] = sync_s / kCycles;
}

// --- registration -------------------------------------------------------------------------

void add(int iterations, const std::string& name, std::function<void(benchmark::State&)> fn) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& s) { fn(s); })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond);
}

const bool registered = [] {
  for (const std::string w : {"256MiB", "1GiB"}) {
    const int n = w == "1GiB" ? 5 : 10;
    // The copy runs on wick::num_threads() threads (two from 32 MiB); the memcpy baseline on
    // one. /1thread holds both to one thread, as a training loop on one compute thread would.
    add(n, "copy_stall/" + w, [w](auto& s) { stall_vs(s, w, SnapshotMode::kCopy, 2); });
    add(n, "copy_stall/" + w + "/1thread",
        [w](auto& s) { stall_vs(s, w, SnapshotMode::kCopy, 1); });
    add(n, "fork_stall/" + w, [w](auto& s) { stall_vs(s, w, SnapshotMode::kFork, 2); });
    add(3, "fork_memory/" + w + "/idle", [w](auto& s) { fork_memory(s, w, false); });
    add(3, "fork_memory/" + w + "/writing", [w](auto& s) { fork_memory(s, w, true); });
  }
  // fast: durable = false, as the stall benchmarks; durable: the default, which also fsyncs.
  for (const bool durable : {false, true}) {
    const std::string d = durable ? "/durable" : "/fast";
    add(1, "train_inflight/copy" + d,
        [durable](auto& s) { train_inflight(s, SnapshotMode::kCopy, durable); });
    add(1, "train_inflight/fork" + d,
        [durable](auto& s) { train_inflight(s, SnapshotMode::kFork, durable); });
  }
  add(1, "train_cadence/copy", [](auto& s) { train_cadence(s, SnapshotMode::kCopy); });
  add(1, "train_cadence/fork", [](auto& s) { train_cadence(s, SnapshotMode::kFork); });
  return true;
}();

}  // namespace
