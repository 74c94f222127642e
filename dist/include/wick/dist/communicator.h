#pragma once
/// \file
/// wick::dist::Communicator: collectives on tensors across the processes of an MPI job
/// (OpenMPI from Debian; launched with `mpirun -n N`). The header does not include <mpi.h>.

#include <memory>

#include "wick/core/tensor.h"

namespace wick::dist {

/// Starts MPI for this process (MPI_Init_thread at MPI_THREAD_SERIALIZED: any thread may call
/// the collectives, one at a time) unless the program
/// already has, and finalizes it at destruction when it started it. Create one in main() before
/// any Communicator; without one, Communicator::world() starts MPI itself and leaves it running
/// until exit.
class Environment {
 public:
  /// Starts MPI with the program's arguments (mpirun's own are taken out). IoError when MPI
  /// cannot start.
  Environment(int& argc, char**& argv);
  /// Finalizes MPI if this object started it (after a barrier, so no rank leaves early).
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool started_ = false;
};

/// How all_reduce() combines the ranks' tensors.
enum class ReduceOp {
  /// Elementwise sum (for bool: logical or, as torch.distributed does).
  kSum,
  /// Elementwise sum divided by size() (floating-point dtypes only).
  kMean,
};

/// A group of processes, each with a rank from 0 to size() - 1. Every collective must be called
/// by all ranks in the same order with tensors of one dtype and shape (root's shape for
/// broadcast): the collectives check this first, with one small all-reduce, and throw
/// ShapeError on every rank instead of hanging or corrupting memory; ArgumentError on every rank
/// when the ranks called different collectives (or roots, or reductions), or when one rank's
/// own arguments are refused (that rank throws its own error). Tensors must be contiguous
/// (ArgumentError otherwise). MPI failures throw IoError naming the call and MPI's message.
/// Copies share the underlying group.
class Communicator {
 public:
  /// All processes of the job (MPI_COMM_WORLD), starting MPI if nobody has.
  static Communicator world();

  /// The ranks that pass the same `color` form a new communicator, ranked in this one's order
  /// (MPI_Comm_split; a collective over this communicator). Freed when its last copy goes.
  Communicator split(int color) const;

  /// This process' rank.
  int rank() const noexcept;
  /// The number of processes.
  int size() const noexcept;

  /// Waits until every rank has called barrier().
  void barrier() const;
  /// Replaces `t` on every rank with root's `t`, bit for bit.
  void broadcast(Tensor& t, int root = 0) const;
  /// Combines `t` across ranks in place. Every rank ends with the same bits with Open MPI's
  /// reductions (which the tests check; the MPI standard only recommends it). Float16 and
  /// bfloat16 are added in float and rounded after each addition.
  void all_reduce(Tensor& t, ReduceOp op = ReduceOp::kSum) const;
  /// Every rank's `t`, stacked in rank order: shape [size(), t.shape()...].
  Tensor all_gather(const Tensor& t) const;

  /// Internal: the MPI objects behind a communicator.
  struct Impl;

 private:
  explicit Communicator(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace wick::dist
