#pragma once
/// \file
/// wick::dist::ZeroOptimizer: ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations
/// Toward Training Trillion Parameter Models", 2020) over any nn::Optimizer. Every rank holds
/// the whole model and, after DistributedDataParallel::backward(), the whole averaged gradient,
/// but the optimizer state of only its slice of each parameter: rank r of N owns elements
/// io::even_range(numel, r, N) of every parameter (flattened in row-major order), steps the
/// optimizer over those slices, and the ranks then all-gather the updated slices so every rank
/// ends the step with the same whole parameters. Optimizer state per rank is about 1/N of a
/// replicated optimizer's.
///
/// Determinism: the optimizers of nn/ update element by element, so a parameter's slice steps
/// to the same bits it would as part of the whole parameter; ZeRO training is bit-identical to
/// training with the inner optimizer over the whole parameters, for every world size (the
/// tests check it at 1, 2 and 4 ranks).
///
/// Checkpoints: state_dict() is the inner optimizer's (PyTorch's layout, see nn/optimizer.h)
/// with every per-parameter buffer replaced by this rank's slice (1-D). Saved with
/// shard_slices() through dist::save_sharded(), the checkpoint holds the whole buffers, so it
/// loads on any number of ranks (through slice_rule()) and, in one process
/// (io::load_sharded()), as the state_dict() of the inner optimizer over whole parameters, the
/// one torch.optim takes. In one process (size() 1) it is the inner optimizer with no exchange.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wick/core/tensor.h"
#include "wick/core/value.h"
#include "wick/dist/communicator.h"
#include "wick/io/sharded/sharded_reader.h"
#include "wick/io/sharded/sharded_state.h"
#include "wick/nn/optimizer.h"

namespace wick::dist {

/// Settings of ZeroOptimizer.
struct ZeroOptions {
  /// Updated slices are exchanged in parts of this many bytes per rank (at most 1 GiB: MPI
  /// counts are ints); a part may end inside a parameter.
  std::size_t bucket_bytes = std::size_t{4} << 20;
};

/// ZeRO-1: each rank keeps the optimizer state of its slice of every parameter (top of file).
class ZeroOptimizer {
 public:
  /// Builds the inner optimizer over the parameter slices it is given (1-D leaves that share
  /// storage with the parameters), e.g. `[](auto s) { return std::make_unique<nn::Adam>(s); }`.
  using Factory = std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor> slices)>;

  /// Takes handles to `params` (float32 or float64 contiguous leaves that require grad, each
  /// listed once, as nn::Optimizer wants them) and builds this rank's inner optimizer with
  /// `make`. ArgumentError for a bad parameter or a factory that returns no optimizer. A
  /// collective: it then checks that every rank passed the same shapes and dtypes (ShapeError
  /// on every rank otherwise), so a rank whose own arguments are refused leaves the others
  /// waiting, as DistributedDataParallel's constructor does.
  ZeroOptimizer(std::vector<Tensor> params, Communicator comm, const Factory& make,
                ZeroOptions options = {});

  /// Steps the inner optimizer over this rank's slices (with the slices of the gradients: call
  /// it after DistributedDataParallel::backward(), which leaves every rank the same ones), then
  /// all-gathers the slices: every parameter ends whole and the same on every rank. A
  /// collective: every rank calls it.
  void step();
  /// Clears the gradients of the parameters (step() drops the slices' own after each step).
  void zero_grad();

  /// The learning rate.
  double lr() const noexcept { return inner_->lr(); }
  /// Sets the learning rate (on this rank: set the same one on every rank).
  void set_lr(double lr) { inner_->set_lr(lr); }

  /// The inner optimizer's state_dict(): PyTorch's layout, every buffer this rank's slice.
  Value state_dict() const { return inner_->state_dict(); }
  /// Loads a state_dict() of this rank's slices (as state_dict() gives it, or as
  /// dist::load_sharded_by() with slice_rule() reads it); see nn::Optimizer::load_state_dict().
  void load_state_dict(const Value& state) { inner_->load_state_dict(state); }

  /// The slices of state_dict() placed at tree path `prefix` (a JSON pointer such as
  /// "/optimizer") of a saved state, for io::ShardedState::slices: every tensor of
  /// `state/I` but the step, as elements of a tensor shaped like parameter I.
  std::map<std::string, io::ShardSlice> shard_slices(const std::string& prefix) const;
  /// Reads this rank's slices of the optimizer state saved at `prefix`, for
  /// dist::load_sharded_by(): a tensor at `prefix/state/I/NAME` other than the step, shaped like
  /// parameter I, is read as this rank's slice of it. The checkpoint may have been
  /// written on any number of ranks, by a ZeroOptimizer or by the inner optimizer itself.
  io::SliceRule slice_rule(const std::string& prefix) const;

  /// The elements of parameter `i` this rank owns.
  io::ElementRange owned(std::size_t i) const { return owned_.at(i); }
  /// The whole parameters, in the order of the state_dict indices.
  const std::vector<Tensor>& params() const noexcept { return params_; }
  /// The inner optimizer (over this rank's slices).
  const nn::Optimizer& local() const noexcept { return *inner_; }
  /// The communicator.
  const Communicator& communicator() const noexcept { return comm_; }

 private:
  void gather() const;
  void place(int r, std::size_t from, const uint8_t* bytes, std::size_t len) const;

  std::vector<Tensor> params_;
  std::vector<Tensor> slices_;           // [i]: 1-D view of params_[i]'s owned elements
  std::vector<io::ElementRange> owned_;  // [i]: even_range(numel, rank, size)
  std::vector<std::size_t> at_;          // [i]: params_[i]'s offset in a gathered row
  std::size_t row_ = 0;                  // bytes of a gathered row
  std::size_t part_ = 0;                 // bytes of a row per all_gather
  Communicator comm_;
  std::unique_ptr<nn::Optimizer> inner_;
};

}  // namespace wick::dist
