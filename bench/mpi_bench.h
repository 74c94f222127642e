#pragma once
// Google Benchmark under mpirun: every rank runs the same benchmarks with the same fixed
// iteration counts (each iteration is a collective), and only rank 0 reports.

#include <benchmark/benchmark.h>

#include <vector>

#include "wick/dist/communicator.h"

namespace wick_bench {

/// Reports nothing: the ranks other than 0.
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

/// Runs the registered benchmarks on every rank; rank 0 prints them.
inline void run_on_every_rank(int* argc, char** argv) {
  benchmark::Initialize(argc, argv);
  if (wick::dist::Communicator::world().rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
}

}  // namespace wick_bench
