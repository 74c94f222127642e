// Trains the tutorial's MLP (64 -> 128 -> 10) on the UCI handwritten digits with Adam, saving a
// checkpoint after every epoch and resuming from it when it exists. A run that is stopped and
// resumed ends with exactly the parameters of a run that never stopped.
//
//   train_resume CHECKPOINT [--epochs N] [--stop-after N] [--data digits.npz] [--losses FILE]
//                [--async [--snapshot auto|copy|fork]]
//
// --stop-after N exits (status 0) after N epochs of this process, as if it had been killed
// there; running the same command again without it resumes from CHECKPOINT. --stop-after 0 on a
// new run writes the epoch-0 checkpoint. --losses FILE writes one line per epoch this process
// trains: `<epoch> <mean loss, 17 digits> <test samples right>`.
//
// The checkpoint has the keys of PyTorch's tutorial ("Saving and loading a general checkpoint"):
// model_state_dict, optimizer_state_dict (torch.optim's layout), epoch, loss (the last epoch's
// mean, None at epoch 0) and rng (the shuffling generator's state). A CHECKPOINT ending in .pt is
// written as torch.save writes it, so that examples/train_resume.py, its PyTorch twin, resumes
// it (and this program resumes what that one writes: scripts/cross_resume.sh).
//
// --async writes each checkpoint in the background with one wick::io::AsyncSaver, kept for the
// whole run, so the next epoch trains while the file is written; --snapshot picks how the
// saver takes its snapshot (SnapshotMode; auto by default). The files are the same bytes as
// without --async. The program waits for the last save before it exits, --stop-after included,
// so a save's error still fails the run. --async refuses a .pt CHECKPOINT: torch.save's format
// is written by save_as, which has no background variant, and saving it synchronously under
// --async would hide that the flag did nothing.
#include <wick/wick.h>

#include "digits.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#ifndef WICK_EXAMPLE_DIGITS
#define WICK_EXAMPLE_DIGITS "examples/data/digits.npz"
#endif

namespace {

constexpr int64_t kBatch = 32;
constexpr uint64_t kInitSeed = 0, kShuffleSeed = 1;

using digits::MLP;
using digits::rows;
using digits::Split;

// Percentage of `split` the model classifies correctly (and the count).
double accuracy(MLP& net, const Split& split, int64_t& correct) {
  correct = digits::correct(net, split);
  return 100.0 * static_cast<double>(correct) / static_cast<double>(split.y.numel());
}

// One pass over the training split in an order drawn from `shuffle`; returns the mean loss.
double train_epoch(MLP& net, wick::nn::Optimizer& opt, const Split& train,
                   wick::Generator& shuffle) {
  const int64_t n = train.x.size(0);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  for (int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
    std::swap(order[i], order[shuffle.next_u64() % static_cast<uint64_t>(i + 1)]);
  double total = 0.0;
  int64_t batches = 0;
  for (int64_t start = 0; start < n; start += kBatch) {
    const std::vector<int64_t> idx(order.begin() + start,
                                   order.begin() + std::min(start + kBatch, n));
    opt.zero_grad();
    const wick::Tensor loss = wick::cross_entropy(net.forward(rows(train.x, idx, 0, idx.size())),
                                                  rows(train.y, idx, 0, idx.size()));
    loss.backward();
    opt.step();
    total += loss.item<double>();
    ++batches;
  }
  return total / static_cast<double>(batches);
}

struct Args {
  std::filesystem::path checkpoint;
  std::filesystem::path data = WICK_EXAMPLE_DIGITS;
  std::filesystem::path losses;
  int64_t epochs = 20;
  int64_t stop_after = -1;
  bool async = false;
  wick::io::SnapshotMode snapshot = wick::io::SnapshotMode::kAuto;
};

Args parse(int argc, char** argv) {
  Args a;
  bool snapshot_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw wick::ArgumentError(arg + " needs a value");
      return argv[++i];
    };
    auto count = [&]() -> int64_t {
      const std::string v = next();
      std::size_t used = 0;
      int64_t n = -1;
      try {
        n = std::stoll(v, &used);
      } catch (const std::exception&) {
      }
      if (n < 0 || used != v.size()) {
        throw wick::ArgumentError(arg + " needs a whole number >= 0, got '" + v + "'");
      }
      return n;
    };
    if (arg == "--epochs") {
      a.epochs = count();
    } else if (arg == "--stop-after") {
      a.stop_after = count();
    } else if (arg == "--data") {
      a.data = next();
    } else if (arg == "--losses") {
      a.losses = next();
    } else if (arg == "--async") {
      a.async = true;
    } else if (arg == "--snapshot") {
      snapshot_given = true;
      const std::string v = next();
      if (v == "auto") {
        a.snapshot = wick::io::SnapshotMode::kAuto;
      } else if (v == "copy") {
        a.snapshot = wick::io::SnapshotMode::kCopy;
      } else if (v == "fork") {
        a.snapshot = wick::io::SnapshotMode::kFork;
      } else {
        throw wick::ArgumentError("--snapshot needs auto, copy or fork, got '" + v + "'");
      }
    } else if (!arg.starts_with("--") && a.checkpoint.empty()) {
      a.checkpoint = arg;
    } else {
      throw wick::ArgumentError("unknown argument: " + arg);
    }
  }
  if (a.checkpoint.empty()) {
    throw wick::ArgumentError(
        "missing the checkpoint path (usage: train_resume CHECKPOINT [--epochs N] "
        "[--stop-after N] [--data digits.npz] [--losses FILE] [--async [--snapshot MODE]])");
  }
  if (snapshot_given && !a.async) throw wick::ArgumentError("--snapshot needs --async");
  if (a.async && a.checkpoint.extension() == ".pt") {
    throw wick::ArgumentError(
        "--async saves wick checkpoints only; " + a.checkpoint.string() +
        " would be written in torch.save's format, which has no background writer: drop "
        "--async or name a wick checkpoint (not .pt)");
  }
  return a;
}

// Writes the checkpoints: each atomically (a crash leaves the previous one or this one, never a
// torn file), as torch.save would for a .pt path, and in the background with --async.
class Checkpointer {
 public:
  explicit Checkpointer(const Args& args) : path_(args.checkpoint), snapshot_(args.snapshot) {
    // One saver for the whole run: its staging buffers are reused by every epoch's save.
    if (args.async) saver_.emplace();
  }

  void save(MLP& net, const wick::nn::Adam& opt, int64_t epoch, const wick::Value& loss,
            const wick::Generator& shuffle);

  // Waits for the save in flight, if any; throws its error.
  void wait() {
    if (saver_) saver_->wait();
  }

  // With --async: how the saves went (call after wait()).
  void print_summary(std::ostream& out) const;

 private:
  std::filesystem::path path_;
  wick::io::SnapshotMode snapshot_;
  std::optional<wick::io::AsyncSaver> saver_;
  std::vector<wick::io::SaveHandle> saves_;
};

void Checkpointer::save(MLP& net, const wick::nn::Adam& opt, int64_t epoch, const wick::Value& loss,
                        const wick::Generator& shuffle) {
  const wick::Value ckpt = wick::Dict{{"model_state_dict", wick::Value(net.state_dict())},
                                      {"optimizer_state_dict", opt.state_dict()},
                                      {"epoch", epoch},
                                      {"loss", loss},
                                      {"rng", shuffle.get_state()}};
  if (saver_) {
    // Returns once the snapshot is taken: the next epoch may then change every tensor.
    saves_.push_back(saver_->save(ckpt, path_, {}, snapshot_));
  } else if (path_.extension() == ".pt") {
    wick::io::save_as(ckpt, path_, wick::io::FileFormat::PyTorch);
  } else {
    wick::save(ckpt, path_);
  }
}

void Checkpointer::print_summary(std::ostream& out) const {
  if (!saver_ || saves_.empty()) return;
  double stall = 0.0, worst = 0.0, snapshot = 0.0;
  int forked = 0;
  for (const wick::io::SaveHandle& h : saves_) {
    const wick::io::SaveStats st = h.stats();
    stall += st.stall_seconds;
    worst = std::max(worst, st.stall_seconds);
    snapshot += st.snapshot_seconds;
    forked += st.mode == wick::io::SnapshotMode::kFork ? 1 : 0;
  }
  out << "background checkpoints: " << saves_.size() << " saves (" << forked
      << " forked), training held " << std::setprecision(3) << stall * 1e3 << " ms in all, "
      << worst * 1e3 << " ms at most, of which snapshots " << snapshot * 1e3
      << " ms (the rest: waiting for the previous save)\n";
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);

  const auto [train, test] = digits::load(args.data);

  wick::Generator init(kInitSeed);
  MLP net(init);
  wick::nn::Adam opt(net.parameters(), {.lr = 1e-3});
  wick::Generator shuffle(kShuffleSeed);
  int64_t epoch = 0;

  if (std::filesystem::exists(args.checkpoint)) {
    const wick::Value ckpt = wick::load(args.checkpoint);
    // Checkpoints of wick 1.x's example keep "model" and "optimizer" (its flat layout, which
    // load_state_dict still takes).
    const bool v1 = ckpt.dict().contains("model");
    net.load_state_dict(ckpt[v1 ? "model" : "model_state_dict"]);
    opt.load_state_dict(ckpt[v1 ? "optimizer" : "optimizer_state_dict"]);
    shuffle.set_state(ckpt["rng"].tensor());
    epoch = ckpt["epoch"].as_int();
    std::cout << "resuming from " << args.checkpoint.string() << " after epoch " << epoch << '\n';
  }

  std::ofstream losses;
  if (!args.losses.empty()) {
    losses.open(args.losses, std::ios::trunc);
    if (!losses) throw wick::IoError("cannot write " + args.losses.string());
    losses << std::setprecision(17);
  }
  std::cout << std::fixed;
  Checkpointer checkpointer(args);
  int64_t run_here = 0;
  while (epoch < args.epochs) {
    if (args.stop_after >= 0 && run_here == args.stop_after) {
      if (run_here == 0 && !std::filesystem::exists(args.checkpoint))
        checkpointer.save(net, opt, epoch, wick::Value(), shuffle);
      // As if killed here, but only once the checkpoint is whole: the next run resumes it.
      checkpointer.wait();
      checkpointer.print_summary(std::cout);
      std::cout << "stopping after " << run_here
                << " epoch(s) (--stop-after); run again to resume\n";
      return 0;
    }
    const double loss = train_epoch(net, opt, train, shuffle);
    ++epoch;
    ++run_here;
    int64_t correct = 0;
    const double acc = accuracy(net, test, correct);
    std::cout << "epoch " << std::setw(3) << epoch << "  loss " << std::setprecision(4) << loss
              << "  test accuracy " << std::setprecision(2) << acc << "% (" << correct << "/"
              << test.y.numel() << ")\n";
    if (losses.is_open()) losses << epoch << ' ' << loss << ' ' << correct << '\n';
    checkpointer.save(net, opt, epoch, loss, shuffle);
  }
  // Before the last accuracy line, so that a failed save fails the run.
  checkpointer.wait();
  int64_t correct = 0;
  const double acc = accuracy(net, test, correct);
  std::cout << "final test accuracy: " << std::setprecision(2) << acc << "% (" << correct << "/"
            << test.y.numel() << ") after " << epoch << " epochs\n";
  checkpointer.print_summary(std::cout);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "train_resume: " << e.what() << '\n';
  return 1;
}
