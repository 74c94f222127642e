// The main() of the dist tests: every rank of an `mpirun -n N` job runs every test (each test's
// collectives are called by all ranks in the same order), rank 0 prints, and the job fails when
// any rank's test fails.
#include <gtest/gtest.h>

#include "wick/dist/communicator.h"
#include "wick/wick.h"

int main(int argc, char** argv) {
  wick::dist::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const wick::dist::Communicator world = wick::dist::Communicator::world();
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  wick::Tensor any = wick::full({1}, failed != 0 ? 1 : 0, wick::kInt64);
  world.all_reduce(any);
  if (world.rank() == 0 && any.item<int64_t>() != 0 && failed == 0) {
    std::fprintf(stderr, "dist tests: %lld other rank(s) failed\n",
                 static_cast<long long>(any.item<int64_t>()));
  }
  return any.item<int64_t>() != 0 ? 1 : 0;
}
