// Exercises the installed wick::dist under mpirun: an all_reduce, then a sharded checkpoint
// saved by every rank into DIR and loaded back; exits non-zero on a wrong result.
#include <wick/dist/communicator.h>
#include <wick/dist/sharded_checkpoint.h>
#include <wick/wick.h>

#include <iostream>

int main(int argc, char** argv) try {
  wick::dist::Environment mpi(argc, argv);
  const wick::dist::Communicator world = wick::dist::Communicator::world();
  if (argc != 2) throw wick::ArgumentError("usage: dist_consumer DIR");
  wick::Tensor ones = wick::ones({3}, wick::kInt64);
  world.all_reduce(ones);
  const wick::Value state = wick::Dict{{"w", wick::arange(10)}, {"n", ones}};
  wick::dist::save_sharded(state, argv[1], world);
  const bool ok =
      wick::dist::load_sharded(argv[1], world) == state && ones.data<int64_t>()[0] == world.size();
  std::cout << "dist consumer, rank " << world.rank() << " of " << world.size() << ": "
            << (ok ? "ok" : "WRONG RESULT") << '\n';
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "dist consumer: " << e.what() << '\n';
  return 1;
}
