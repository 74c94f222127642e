#pragma once
/// \file
/// wick::dist::DistributedDataParallel: data-parallel training whose results do not depend on
/// the number of processes. Every rank holds the whole model; the global batch is cut into a
/// fixed number of micro-batches, each rank computes the gradients of its share of them, and the
/// gradients are summed in one fixed binary tree over the micro-batches, so that 1, 2 or 4
/// ranks (any power of two dividing the micro-batch count) train bit for bit alike.

#include <cstddef>
#include <functional>

#include "wick/core/tensor.h"
#include "wick/dist/communicator.h"
#include "wick/nn/module.h"

namespace wick::dist {

/// Settings of DistributedDataParallel.
struct DataParallelOptions {
  /// Micro-batches per global batch: a power of two, divisible by the world size. Each is a
  /// leaf of the gradient sum, so the same count gives the same training on any world size.
  int micro_batches = 4;
  /// Gradients are exchanged in buckets of about this many bytes (at least one parameter each).
  std::size_t bucket_bytes = std::size_t{4} << 20;
};

/// Wraps `module` (kept by reference) for data-parallel training over `comm`. The constructor
/// broadcasts rank 0's parameters and buffers to every rank.
///
/// Determinism: rank r computes micro-batches [r * m, (r + 1) * m) with m = micro_batches /
/// size(), each with its own forward and backward pass; its gradients are summed pairwise
/// (0+1, 2+3, then those sums, ...), the ranks' sums are exchanged (all_gather, bucket by
/// bucket) and summed in the same pairwise order, and the total is divided by micro_batches (a
/// power of two: exact). The additions are therefore the same, in the same order, for every
/// world size, and every rank ends with the same bits. The cost of this over torch's DDP:
/// micro-batches run one after the other on a rank, and the exchange moves size() partial sums
/// per rank instead of one reduced buffer.
class DistributedDataParallel {
 public:
  /// ArgumentError when micro_batches is not a power of two divisible by comm.size(), or a
  /// parameter is not float32 or float64.
  DistributedDataParallel(nn::Module& module, Communicator comm, DataParallelOptions options = {});

  /// The micro-batch loss: computes the mean loss over global micro-batch `index` (of
  /// DataParallelOptions::micro_batches) with the module and returns it (a one-element tensor
  /// that requires grad; backward() is called by backward()). For results independent of the
  /// world size it must depend on `index` alone: draw randomness (dropout, augmentation) from a
  /// Generator seeded from the step and `index`, not from a shared one, and change no buffer
  /// (buffers are broadcast by the constructor only). A loss that throws on one rank leaves the
  /// others waiting in the exchange.
  using LossFn = std::function<Tensor(int index)>;

  /// One training step's gradients: runs `loss` on each of this rank's micro-batches with
  /// backward(), then sets every trainable parameter's grad() to the mean gradient over the
  /// global batch (the same bits on every rank and every world size); a parameter no
  /// micro-batch reached keeps no gradient, as after a plain backward(). Returns the mean loss over
  /// the global batch, summed in the same tree. Call the optimizer's step() afterwards.
  double backward(const LossFn& loss);

  /// The first global micro-batch this rank computes.
  int first_micro_batch() const noexcept { return first_; }
  /// How many micro-batches this rank computes.
  int local_micro_batches() const noexcept { return local_; }
  /// The communicator.
  const Communicator& communicator() const noexcept { return comm_; }

 private:
  nn::Module& module_;
  Communicator comm_;
  DataParallelOptions options_;
  int first_ = 0;
  int local_ = 0;
};

}  // namespace wick::dist
