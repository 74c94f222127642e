#include "wick/dist/data_parallel.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "wick/core/creation.h"
#include "wick/core/error.h"

namespace wick::dist {

namespace {

bool power_of_two(int n) {
  return n > 0 && (n & (n - 1)) == 0;
}

// Sums rows[0..n) pairwise into rows[0]: (0+1), (2+3), then those sums, ... n a power of two.
// The one order of additions every world size shares (see the class comment).
template <class T>
void pairwise_sum(std::vector<T*>& rows, std::size_t len) {
  for (std::size_t width = rows.size(); width > 1; width /= 2) {
    for (std::size_t i = 0; i < width / 2; ++i) {
      T* out = rows[i];
      const T* a = rows[2 * i];
      const T* b = rows[2 * i + 1];
      for (std::size_t k = 0; k < len; ++k)
        out[k] = a[k] + b[k];
    }
  }
}

// The gradient step for parameters of one dtype T.
template <class T>
class Reduction {
 public:
  // Each leaf: every parameter's gradient, then the loss, then per parameter 1 when the
  // micro-batch gave it a gradient (summed like the rest: a parameter no micro-batch of any
  // rank reached keeps no gradient, as after a plain backward(), so the optimizer skips it).
  Reduction(const std::vector<Tensor>& params, int leaves)
      : params_(params), grads_(total_numel(params)), len_(grads_ + 1 + params.size()) {
    leaves_.assign(static_cast<std::size_t>(leaves), std::vector<T>(len_));
  }

  // Copies the parameters' gradients and `loss` into leaf `k`.
  void take_leaf(int k, double loss) {
    T* leaf = leaves_[static_cast<std::size_t>(k)].data();
    T* out = leaf;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor g = params_[i].grad();
      const auto n = static_cast<std::size_t>(params_[i].numel());
      if (g.defined()) {
        const Tensor c = g.contiguous();
        std::memcpy(out, c.raw_data(), n * sizeof(T));
      } else {
        std::fill(out, out + n, T(0));  // a parameter the loss did not reach
      }
      leaf[grads_ + 1 + i] = g.defined() ? T(1) : T(0);
      out += n;
    }
    leaf[grads_] = static_cast<T>(loss);
  }

  // Sums the leaves, exchanges the ranks' sums bucket by bucket, sums those, scales by
  // 1 / `micro_batches`, sets the gradients and returns the mean loss.
  double finish(const Communicator& comm, int micro_batches, std::size_t bucket_bytes) {
    std::vector<T*> rows;
    for (auto& leaf : leaves_)
      rows.push_back(leaf.data());
    pairwise_sum(rows, len_);
    T* partial = rows[0];
    const std::size_t bucket = std::max<std::size_t>(1, bucket_bytes / sizeof(T));
    for (const auto& [from, to] : buckets(bucket)) {
      Tensor mine = empty({static_cast<int64_t>(to - from)}, dtype());
      std::memcpy(mine.raw_data(), partial + from, (to - from) * sizeof(T));
      Tensor all = comm.all_gather(mine);
      std::vector<T*> ranks;
      for (int r = 0; r < comm.size(); ++r)
        ranks.push_back(static_cast<T*>(all.raw_data()) + r * (to - from));
      pairwise_sum(ranks, to - from);
      std::memcpy(partial + from, ranks[0], (to - from) * sizeof(T));
    }
    // A power of two: the same rounding on every world size (exact but for subnormals).
    const T scale = T(1) / static_cast<T>(micro_batches);
    for (std::size_t k = 0; k <= grads_; ++k) {
      partial[k] *= scale;
    }
    const T* grad = partial;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto n = static_cast<std::size_t>(params_[i].numel());
      Tensor handle = params_[i];
      if (partial[grads_ + 1 + i] > T(0)) {
        Tensor g = empty(handle.shape(), handle.dtype());
        std::memcpy(g.raw_data(), grad, n * sizeof(T));
        handle.set_grad(std::move(g));
      } else {
        handle.set_grad(Tensor());
      }
      grad += n;
    }
    return static_cast<double>(partial[grads_]);
  }

 private:
  static std::size_t total_numel(const std::vector<Tensor>& params) {
    std::size_t n = 0;
    for (const Tensor& p : params)
      n += static_cast<std::size_t>(p.numel());
    return n;
  }
  static DType dtype() { return sizeof(T) == 4 ? kFloat32 : kFloat64; }

  // Element ranges of the flat leaf, cut at parameter boundaries once `bucket` elements are
  // reached (the loss and the flags ride in the last).
  std::vector<std::pair<std::size_t, std::size_t>> buckets(std::size_t bucket) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    std::size_t from = 0, at = 0;
    for (const Tensor& p : params_) {
      at += static_cast<std::size_t>(p.numel());
      if (at - from >= bucket && at < grads_) {
        out.emplace_back(from, at);
        from = at;
      }
    }
    out.emplace_back(from, len_);
    return out;
  }

  const std::vector<Tensor>& params_;
  std::size_t grads_;  // elements of all gradients
  std::size_t len_;
  std::vector<std::vector<T>> leaves_;
};

// The parameters the optimizer updates: frozen ones (requires_grad() false) are left alone.
std::vector<Tensor> trainable(const nn::Module& module) {
  std::vector<Tensor> out;
  for (const Tensor& p : module.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

template <class T>
double run_step(nn::Module& module, const Communicator& comm, const DataParallelOptions& options,
                int first, int local, const DistributedDataParallel::LossFn& loss_fn) {
  const std::vector<Tensor> params = trainable(module);
  Reduction<T> reduction(params, local);
  for (int k = 0; k < local; ++k) {
    module.zero_grad();
    const Tensor loss = loss_fn(first + k);
    WICK_CHECK(loss.defined() && loss.numel() == 1, ArgumentError,
               "DistributedDataParallel::backward: the loss of micro-batch ", first + k,
               " must be a one-element tensor");
    loss.backward();
    reduction.take_leaf(k, loss.item<double>());
  }
  return reduction.finish(comm, options.micro_batches, options.bucket_bytes);
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& module, Communicator comm,
                                                 DataParallelOptions options)
    : module_(module), comm_(std::move(comm)), options_(options) {
  const int n = comm_.size();
  WICK_CHECK(
      power_of_two(options.micro_batches) && power_of_two(n) && options.micro_batches % n == 0,
      ArgumentError, "DistributedDataParallel: micro_batches (", options.micro_batches,
      ") must be a power of two divisible by the world size (", n,
      ", itself a power of two), so that every world size sums the gradients in one "
      "tree");
  const std::vector<Tensor> params = module_.parameters();
  WICK_CHECK(!params.empty(), ArgumentError,
             "DistributedDataParallel: the module has no parameters");
  for (const Tensor& p : params) {
    WICK_CHECK(
        p.dtype() == params.front().dtype() && (p.dtype() == kFloat32 || p.dtype() == kFloat64),
        ArgumentError,
        "DistributedDataParallel: parameters must all be float32 or all float64, found ",
        dtype_name(params.front().dtype()), " and ", dtype_name(p.dtype()));
  }
  // Every rank starts from rank 0's weights (and buffers: running statistics, counters).
  for (Tensor p : params)
    comm_.broadcast(p);
  for (auto& [name, b] : module_.named_buffers())
    comm_.broadcast(b);
  local_ = options.micro_batches / n;
  first_ = comm_.rank() * local_;
}

double DistributedDataParallel::backward(const LossFn& loss) {
  WICK_CHECK(!trainable(module_).empty(), ArgumentError,
             "DistributedDataParallel::backward: no parameter requires grad");
  if (module_.parameters().front().dtype() == kFloat64) {
    return run_step<double>(module_, comm_, options_, first_, local_, loss);
  }
  return run_step<float>(module_, comm_, options_, first_, local_, loss);
}

}  // namespace wick::dist
