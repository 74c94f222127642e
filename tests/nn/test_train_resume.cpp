// Training that resumes bit-exactly: N epochs straight versus k epochs, a checkpoint file, every
// object destroyed, fresh objects loaded from the file, and N - k more epochs. Parameters,
// optimizer state and the shuffling generator must end bit-identical.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "io/io_testing.h"
#include "wick/core/autograd.h"
#include "wick/core/creation.h"
#include "wick/core/linalg.h"
#include "wick/core/loss.h"
#include "wick/core/ops.h"
#include "wick/core/random.h"
#include "wick/core/reduce.h"
#include "wick/core/value.h"
#include "wick/io/serialize.h"
#include "wick/nn/adam.h"
#include "wick/nn/linear.h"
#include "wick/nn/sgd.h"

namespace wick::nn {
namespace {

constexpr int64_t kSamples = 96, kFeatures = 6, kClasses = 3, kBatch = 16;

// Synthetic data: Gaussian inputs, labels from a fixed random linear map.
struct Data {
  Tensor x, y;
  Data() {
    Generator gen(7);
    x = randn({kSamples, kFeatures}, gen);
    const Tensor w = randn({kFeatures, kClasses}, gen);
    y = argmax(matmul(x, w), 1);
  }
};

struct Net : Module {
  Linear hidden, output;
  explicit Net(Generator& gen) : hidden(kFeatures, 12, true, gen), output(12, kClasses, true, gen) {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  Tensor forward(const Tensor& x) { return output(relu(hidden(x))); }
};

enum class Kind { SgdMomentum, Adam, AdamW };

// Everything a training run owns. `init_seed` differs between the runs so that only loading
// can make them agree.
struct TrainingRun {
  Generator init;
  Net net;
  std::unique_ptr<Optimizer> opt;
  Generator shuffle;
  int64_t epoch = 0;
  TrainingRun(Kind kind, uint64_t init_seed, uint64_t shuffle_seed)
      : init(init_seed), net(init), shuffle(shuffle_seed) {
    switch (kind) {
      case Kind::SgdMomentum:
        opt = std::make_unique<SGD>(net.parameters(),
                                    SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
        break;
      case Kind::Adam:
        opt = std::make_unique<Adam>(net.parameters(), AdamOptions{.lr = 0.01, .amsgrad = true});
        break;
      case Kind::AdamW:
        opt = std::make_unique<AdamW>(net.parameters(), AdamWOptions{.lr = 0.01});
        break;
    }
  }
};

// Rows `idx` of a contiguous tensor.
Tensor rows(const Tensor& t, const std::vector<int64_t>& idx) {
  Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(idx.size());
  Tensor out = empty(shape, t.dtype());
  const std::size_t row_bytes = t.nbytes() / static_cast<std::size_t>(t.size(0));
  for (std::size_t i = 0; i < idx.size(); ++i) {
    std::memcpy(static_cast<char*>(out.raw_data()) + i * row_bytes,
                static_cast<const char*>(t.raw_data()) + idx[i] * row_bytes, row_bytes);
  }
  return out;
}

void train_epoch(TrainingRun& run, const Data& data) {
  std::vector<int64_t> order(kSamples);
  for (int64_t i = 0; i < kSamples; ++i)
    order[i] = i;
  for (int64_t i = kSamples - 1; i > 0; --i)  // Fisher-Yates
    std::swap(order[i], order[run.shuffle.next_u64() % static_cast<uint64_t>(i + 1)]);
  for (int64_t start = 0; start < kSamples; start += kBatch) {
    const std::vector<int64_t> idx(order.begin() + start, order.begin() + start + kBatch);
    run.opt->zero_grad();
    const Tensor loss = cross_entropy(run.net.forward(rows(data.x, idx)), rows(data.y, idx));
    loss.backward();
    run.opt->step();
  }
  ++run.epoch;
}

void save_checkpoint(const TrainingRun& run, const std::filesystem::path& path) {
  save(Dict{{"model", Value(run.net.state_dict())},
            {"optimizer", Value(run.opt->state_dict())},
            {"epoch", run.epoch},
            {"rng", run.shuffle.get_state()}},
       path);
}

void load_checkpoint(TrainingRun& run, const std::filesystem::path& path, bool restore_rng = true) {
  const Value ckpt = load(path);
  run.net.load_state_dict(ckpt["model"]);
  run.opt->load_state_dict(ckpt["optimizer"]);
  run.epoch = ckpt["epoch"].as_int();
  if (restore_rng) run.shuffle.set_state(ckpt["rng"].tensor());
}

bool same_bytes(const TensorDict& a, const TensorDict& b) {
  if (a.keys() != b.keys()) return false;
  for (const auto& [key, t] : a) {
    const Tensor u = b.at(key);
    if (t.dtype() != u.dtype() || t.shape() != u.shape()) return false;
    const Tensor ct = t.contiguous(), cu = u.contiguous();
    if (std::memcmp(ct.raw_data(), cu.raw_data(), ct.nbytes()) != 0) return false;
  }
  return true;
}

constexpr int kEpochs = 5, kStopAfter = 2;

void check_resume(Kind kind) {
  const Data data;
  testing::TempDir dir;
  const auto path = dir / "ckpt.wick";

  TrainingRun straight(kind, 1, 2);
  for (int e = 0; e < kEpochs; ++e) {
    train_epoch(straight, data);
    if (e + 1 == kStopAfter) save_checkpoint(straight, dir / "midway.wick");
  }

  {
    TrainingRun first(kind, 1, 2);
    for (int e = 0; e < kStopAfter; ++e)
      train_epoch(first, data);
    save_checkpoint(first, path);
  }  // every object of the first half is gone
  TrainingRun resumed(kind, 99, 98);
  load_checkpoint(resumed, path);
  ASSERT_EQ(resumed.epoch, kStopAfter);
  while (resumed.epoch < kEpochs)
    train_epoch(resumed, data);

  EXPECT_TRUE(same_bytes(resumed.net.state_dict(), straight.net.state_dict()));
  // Value equality compares tensors bit for bit.
  EXPECT_TRUE(resumed.opt->state_dict() == straight.opt->state_dict());
  EXPECT_TRUE(resumed.shuffle == straight.shuffle);
  // The checkpoint file of the first half equals the one the straight run wrote at that epoch.
  EXPECT_EQ(testing::read_bytes(path), testing::read_bytes(dir / "midway.wick"));

  // Controls: training moved the parameters after the checkpoint, and resuming without the
  // generator's state (a different shuffle order) ends elsewhere, so the comparison above can fail.
  TrainingRun at_checkpoint(kind, 5, 6);
  load_checkpoint(at_checkpoint, path);
  EXPECT_FALSE(same_bytes(at_checkpoint.net.state_dict(), straight.net.state_dict()));
  TrainingRun no_rng(kind, 5, 6);
  load_checkpoint(no_rng, path, false);
  while (no_rng.epoch < kEpochs)
    train_epoch(no_rng, data);
  EXPECT_FALSE(same_bytes(no_rng.net.state_dict(), straight.net.state_dict()));
}

TEST(TrainResume, SgdWithMomentumResumesBitExactly) {
  check_resume(Kind::SgdMomentum);
}
TEST(TrainResume, AdamResumesBitExactly) {
  check_resume(Kind::Adam);
}
TEST(TrainResume, AdamWResumesBitExactly) {
  check_resume(Kind::AdamW);
}

TEST(TrainResume, TrainingLowersTheLoss) {
  const Data data;
  TrainingRun run(Kind::Adam, 1, 2);
  auto full_loss = [&] {
    NoGradGuard no_grad;
    return cross_entropy(run.net.forward(data.x), data.y).item<double>();
  };
  const double before = full_loss();
  for (int e = 0; e < 20; ++e)
    train_epoch(run, data);
  EXPECT_LT(full_loss(), 0.5 * before);
}

}  // namespace
}  // namespace wick::nn
