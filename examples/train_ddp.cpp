// Data-parallel training of the tutorial's MLP (64 -> 128 -> 10, Adam) on the UCI digits over
// MPI: `mpirun -n N train_ddp CHECKPOINT`. Every rank holds the model; each global batch of 32
// is cut into 4 micro-batches of 8 spread over the ranks (wick::dist::DistributedDataParallel),
// so N = 1, 2 or 4 train bit for bit alike. Every epoch ends with a sharded checkpoint (the
// directory CHECKPOINT: each rank writes about 1/N of the state, io/FORMAT.md "Sharded
// checkpoints"); a run stopped with --stop-after resumes from it on any of those world sizes and
// ends bit-identical to a run that never stopped (scripts/train_ddp.sh).
//
//   mpirun -n N train_ddp CHECKPOINT [--epochs N] [--stop-after N] [--data digits.npz]
//                        [--zero] [--export FILE] [--ballast-mb M] [--check]
//
// --zero          ZeRO-1 (wick::dist::ZeroOptimizer): each rank keeps Adam's state for its
//                 1/N of every parameter and writes only that into the checkpoint; training
//                 and checkpoints are bit-identical to plain Adam's, and either resumes the other
// --export FILE   rank 0 also saves the final state as one wick file (to compare runs by bytes)
// --ballast-mb M  adds M MiB filled with the epoch number to every checkpoint, so that saves
//                 take long enough for the kill test to land in them
// --check         only loads CHECKPOINT, verifies it is one whole epoch, prints it and exits
#include <wick/dist/data_parallel.h>
#include <wick/dist/sharded_checkpoint.h>
#include <wick/dist/zero_optimizer.h>
#include <wick/wick.h>

#include "digits.h"

#include <cstring>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#ifndef WICK_EXAMPLE_DIGITS
#define WICK_EXAMPLE_DIGITS "examples/data/digits.npz"
#endif

namespace {

constexpr int64_t kBatch = 32;
constexpr int kMicroBatches = 4;  // world sizes 1, 2 and 4 train alike
constexpr uint64_t kInitSeed = 0, kShuffleSeed = 1;

using digits::MLP;
using digits::rows;

struct Args {
  std::filesystem::path checkpoint;
  std::filesystem::path data = WICK_EXAMPLE_DIGITS;
  std::filesystem::path export_to;
  int64_t epochs = 10;
  int64_t stop_after = -1;
  int64_t ballast_mb = 0;
  bool zero = false;
  bool check = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) throw wick::ArgumentError(arg + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--epochs") {
      a.epochs = std::stoll(value());
    } else if (arg == "--stop-after") {
      a.stop_after = std::stoll(value());
    } else if (arg == "--data") {
      a.data = value();
    } else if (arg == "--export") {
      a.export_to = value();
    } else if (arg == "--ballast-mb") {
      a.ballast_mb = std::stoll(value());
    } else if (arg == "--zero") {
      a.zero = true;
    } else if (arg == "--check") {
      a.check = true;
    } else if (!arg.starts_with("--") && a.checkpoint.empty()) {
      a.checkpoint = arg;
    } else {
      throw wick::ArgumentError("unknown argument " + arg);
    }
  }
  if (a.checkpoint.empty()) {
    throw wick::ArgumentError(
        "missing the checkpoint path (usage: train_ddp CHECKPOINT [--epochs N] [--stop-after N] "
        "[--data digits.npz] [--zero] [--export FILE] [--ballast-mb M] [--check])");
  }
  return a;
}

// One epoch in an order drawn from `shuffle` (the same on every rank), full batches only (a
// partial last batch could not be cut into equal micro-batches). Returns the mean loss.
double train_epoch(MLP& net, wick::dist::DistributedDataParallel& ddp,
                   const std::function<void()>& step, const wick::Tensor& x, const wick::Tensor& y,
                   wick::Generator& shuffle) {
  const int64_t n = x.size(0);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    order[static_cast<std::size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order[static_cast<std::size_t>(i)],
              order[shuffle.next_u64() % static_cast<uint64_t>(i + 1)]);
  }
  constexpr int64_t per = kBatch / kMicroBatches;
  double total = 0.0;
  int64_t batches = 0;
  for (int64_t start = 0; start + kBatch <= n; start += kBatch) {
    total += ddp.backward([&](int i) {
      const auto from = static_cast<std::size_t>(start + i * per);
      return wick::cross_entropy(net.forward(rows(x, order, from, from + per)),
                                 rows(y, order, from, from + per));
    });
    step();
    ++batches;
  }
  return total / static_cast<double>(batches);
}

wick::Value state(MLP& net, const wick::Value& optimizer, int64_t epoch, const wick::Value& loss,
                  const wick::Generator& shuffle) {
  return wick::Dict{{"model_state_dict", wick::Value(net.state_dict())},
                    {"optimizer_state_dict", optimizer},
                    {"epoch", epoch},
                    {"loss", loss},
                    {"rng", shuffle.get_state()}};
}

// The ballast of epoch `epoch`: `mb` MiB holding the epoch, so a mix of two saves shows.
wick::Tensor ballast(int64_t mb, int64_t epoch) {
  return wick::full({mb << 18}, static_cast<float>(epoch));
}

// --check: the checkpoint loads, verified, and its ballast is its own epoch's.
int check(const std::filesystem::path& path, const wick::dist::Communicator& world) {
  const wick::Value ckpt = wick::dist::load_sharded(path, world);
  const int64_t epoch = ckpt["epoch"].as_int();
  if (const wick::Value* b = ckpt.dict().find("ballast")) {
    const wick::Tensor& t = b->tensor();
    if (!(wick::Value(t) == wick::Value(ballast(t.numel() >> 18, epoch)))) {
      std::cerr << "train_ddp: checkpoint " << path << " mixes epochs\n";
      return 1;
    }
  }
  if (world.rank() == 0) std::cout << "checkpoint intact: epoch " << epoch << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  wick::dist::Environment mpi(argc, argv);
  const wick::dist::Communicator world = wick::dist::Communicator::world();
  const Args args = parse(argc, argv);
  const bool lead = world.rank() == 0;

  if (args.check) return check(args.checkpoint, world);
  const auto [train, test] = digits::load(args.data);

  wick::Generator init(kInitSeed);
  MLP net(init);
  // Adam over the whole parameters, or (--zero) over this rank's slices of them.
  const wick::nn::AdamOptions adam_options{.lr = 1e-3};
  std::unique_ptr<wick::nn::Adam> adam;
  std::unique_ptr<wick::dist::ZeroOptimizer> zero;
  if (args.zero) {
    zero = std::make_unique<wick::dist::ZeroOptimizer>(
        net.parameters(), world, [&](std::vector<wick::Tensor> slices) {
          return std::make_unique<wick::nn::Adam>(std::move(slices), adam_options);
        });
  } else {
    adam = std::make_unique<wick::nn::Adam>(net.parameters(), adam_options);
  }
  const std::string optimizer_path = "/optimizer_state_dict";
  wick::Generator shuffle(kShuffleSeed);
  int64_t epoch = 0;
  wick::Value loss;  // the last epoch's mean loss (none before the first)
  // Every rank reads the checkpoint, whatever number of ranks wrote it: the whole of it, but
  // with --zero only its own slice of the optimizer state. (DDP's constructor below broadcasts
  // rank 0's weights anyway.) Rank 0 decides whether to resume, so that every rank takes the same
  // path (a shared file system's caches may show the directory to one rank before another).
  wick::Tensor resume = wick::full(
      {1}, lead && wick::io::is_sharded_checkpoint(args.checkpoint) ? 1 : 0, wick::kInt32);
  world.broadcast(resume);
  if (resume.item<int32_t>() != 0) {
    // Whatever wrote it (ZeRO or not, on any number of ranks), ZeRO reads its own slices.
    const wick::Value ckpt =
        zero ? wick::dist::load_sharded_by(args.checkpoint, world, zero->slice_rule(optimizer_path))
             : wick::dist::load_sharded(args.checkpoint, world);
    net.load_state_dict(ckpt["model_state_dict"]);
    if (zero) {
      zero->load_state_dict(ckpt["optimizer_state_dict"]);
    } else {
      adam->load_state_dict(ckpt["optimizer_state_dict"]);
    }
    shuffle.set_state(ckpt["rng"].tensor());
    epoch = ckpt["epoch"].as_int();
    loss = ckpt["loss"];
    if (lead)
      std::cout << "resuming after epoch " << epoch << " on " << world.size() << " rank(s)\n";
  }
  wick::dist::DistributedDataParallel ddp(net, world, {.micro_batches = kMicroBatches});

  const std::function<void()> step = [&] { zero ? zero->step() : adam->step(); };
  const auto optimizer_state = [&] { return zero ? zero->state_dict() : adam->state_dict(); };
  int64_t run_here = 0;
  while (epoch < args.epochs) {
    if (args.stop_after >= 0 && run_here == args.stop_after) {
      if (lead) std::cout << "stopping after " << run_here << " epoch(s) (--stop-after)\n";
      return 0;
    }
    const double mean = train_epoch(net, ddp, step, train.x, train.y, shuffle);
    loss = mean;
    ++epoch;
    ++run_here;
    if (lead) {
      std::cout << "epoch " << std::setw(3) << epoch << "  loss " << std::setprecision(17) << mean
                << "  test " << digits::correct(net, test) << "/" << test.y.numel() << '\n';
    }
    // A collective: it returns once the whole checkpoint is committed, on every rank.
    wick::io::ShardedState ckpt{state(net, optimizer_state(), epoch, loss, shuffle), {}};
    if (zero) ckpt.slices = zero->shard_slices(optimizer_path);
    if (args.ballast_mb > 0) ckpt.value.dict().insert("ballast", ballast(args.ballast_mb, epoch));
    wick::dist::save_sharded(ckpt, args.checkpoint, world);
  }
  if (lead && !args.export_to.empty()) {
    // ZeRO's optimizer state is whole only in the checkpoint, which holds this epoch's.
    const wick::Value optimizer =
        zero && wick::io::is_sharded_checkpoint(args.checkpoint)
            ? wick::io::load_sharded(args.checkpoint)["optimizer_state_dict"]
            : optimizer_state();
    wick::save(state(net, optimizer, epoch, loss, shuffle), args.export_to);
  }
  if (lead) std::cout << "done after " << epoch << " epochs on " << world.size() << " rank(s)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "train_ddp: " << e.what() << '\n';
  return 1;
}
