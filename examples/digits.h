#pragma once
// What the digits examples share (train_resume, train_ddp, and bench/bench_ddp.cpp): the
// tutorial's MLP with the digits' 64 pixels in and 10 classes out, the data split, mini-batch
// rows, and the test accuracy.
#include <wick/wick.h>

#include <cstring>
#include <filesystem>
#include <vector>

namespace digits {

inline constexpr int64_t kTrain = 1437;  // the first 1437 samples train, the last 360 test

struct MLP : wick::nn::Module {
  wick::nn::Linear hidden, output;
  explicit MLP(wick::Generator& gen) : hidden(64, 128, true, gen), output(128, 10, true, gen) {
    register_module("hidden", hidden);
    register_module("output", output);
  }
  wick::Tensor forward(const wick::Tensor& x) { return output(wick::relu(hidden(x))); }
};

struct Split {
  wick::Tensor x, y;  // float32 [N, 64] in [0, 1], int64 [N]
};

struct Data {
  Split train, test;
};

// The digits file (uint8 pixels 0..16 and labels; examples/data/README.md), split.
inline Data load(const std::filesystem::path& path) {
  const wick::Value file = wick::load(path);
  const wick::Tensor x = (file["images"].tensor().to(wick::kFloat32) / 16.0).contiguous();
  const wick::Tensor y = file["labels"].tensor().to(wick::kInt64).contiguous();
  const int64_t n = x.size(0);
  return {{x.slice(0, 0, kTrain).contiguous(), y.slice(0, 0, kTrain).contiguous()},
          {x.slice(0, kTrain, n).contiguous(), y.slice(0, kTrain, n).contiguous()}};
}

// Rows idx[from, to) of a contiguous tensor (a mini-batch).
inline wick::Tensor rows(const wick::Tensor& t, const std::vector<int64_t>& idx, std::size_t from,
                         std::size_t to) {
  wick::Shape shape = t.shape();
  shape[0] = static_cast<int64_t>(to - from);
  wick::Tensor out = wick::empty(shape, t.dtype());
  const std::size_t row_bytes = t.nbytes() / static_cast<std::size_t>(t.size(0));
  for (std::size_t i = from; i < to; ++i) {
    std::memcpy(
        static_cast<char*>(out.raw_data()) + (i - from) * row_bytes,
        static_cast<const char*>(t.raw_data()) + static_cast<std::size_t>(idx[i]) * row_bytes,
        row_bytes);
  }
  return out;
}

// Samples of `split` the model classifies correctly.
inline int64_t correct(MLP& net, const Split& split) {
  wick::NoGradGuard no_grad;
  const wick::Tensor pred = wick::argmax(net.forward(split.x), 1);
  int64_t right = 0;
  for (int64_t i = 0; i < pred.numel(); ++i) {
    right += pred.data<int64_t>()[i] == split.y.data<int64_t>()[i] ? 1 : 0;
  }
  return right;
}

}  // namespace digits
