#include "wick/dist/communicator.h"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>

#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/core/half.h"

namespace wick::dist {

struct Communicator::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 0;
  bool owned = false;  // made by split(): freed here
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

namespace {

// MPI counts are ints: larger tensors go in chunks of this many elements.
constexpr int64_t kMaxChunk = int64_t{1} << 30;

[[noreturn]] void mpi_failure(const char* call, int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  const std::string reason(text, static_cast<std::size_t>(len));
  throw IoError(ErrorInfo{.subject = "MPI",
                          .structure = call,
                          .found = reason,
                          .detail = wick::detail::cat(call, " failed: ", reason)});
}

void check_mpi(int rc, const char* call) {
  if (rc != MPI_SUCCESS) mpi_failure(call, rc);
}

// Sums of 16-bit floats, added in float and rounded after each addition.
template <class H>
void add_16bit(void* in, void* inout, int* len, MPI_Datatype* /*type*/) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    b[i] = H(float(H::from_bits(a[i])) + float(H::from_bits(b[i]))).bits;
  }
}

// The user-defined sums, created once MPI runs and freed when Environment finalizes it.
struct HalfOps {
  MPI_Op half = MPI_OP_NULL;
  MPI_Op bfloat16 = MPI_OP_NULL;
};

HalfOps& half_ops() {
  static HalfOps ops;
  if (ops.half == MPI_OP_NULL) {
    check_mpi(MPI_Op_create(&add_16bit<Half>, 1, &ops.half), "MPI_Op_create");
    check_mpi(MPI_Op_create(&add_16bit<BFloat16>, 1, &ops.bfloat16), "MPI_Op_create");
  }
  return ops;
}

void free_half_ops() {
  HalfOps& ops = half_ops();
  MPI_Op_free(&ops.half);
  MPI_Op_free(&ops.bfloat16);
}

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::Bool:
      return MPI_C_BOOL;
    case DType::UInt8:
      return MPI_UINT8_T;
    case DType::Int8:
      return MPI_INT8_T;
    case DType::Int16:
      return MPI_INT16_T;
    case DType::Int32:
      return MPI_INT32_T;
    case DType::Int64:
      return MPI_INT64_T;
    case DType::Float16:
    case DType::BFloat16:
      return MPI_UINT16_T;  // added by the HalfOps
    case DType::Float32:
      return MPI_FLOAT;
    case DType::Float64:
      return MPI_DOUBLE;
  }
  throw ArgumentError(wick::detail::cat("dist: unknown dtype ", static_cast<int>(d)));
}

MPI_Op sum_op(DType d) {
  if (d == DType::Bool) return MPI_LOR;
  if (d == DType::Float16) return half_ops().half;
  if (d == DType::BFloat16) return half_ops().bfloat16;
  return MPI_SUM;
}

void start_mpi(int* argc, char*** argv) {
  int provided = 0;
  // Serialized: any one thread at a time may call MPI, not only the one that started it.
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  WICK_CHECK(provided >= MPI_THREAD_SERIALIZED, IoError,
             "MPI_Init_thread: this MPI offers thread level ", provided,
             ", wick needs MPI_THREAD_SERIALIZED (", MPI_THREAD_SERIALIZED, ")");
}

bool mpi_running() {
  int started = 0, finished = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&finished);
  return started != 0 && finished == 0;
}

void require_contiguous(const Tensor& t, const char* op) {
  WICK_CHECK(t.defined(), ArgumentError, op, ": the tensor is undefined");
  WICK_CHECK(t.is_contiguous(), ArgumentError, op,
             ": the tensor must be contiguous (call .contiguous() first)");
}

// Which collective a rank called, compared across ranks with the tensors.
enum class Op : int64_t { kBroadcast = 1, kAllReduce, kAllGather };

// Called by every rank before any data moves: one all-reduce of (x, -x) under MAX gives every
// rank the largest and the smallest of each rank's call (the collective, its root or ReduceOp,
// whether this rank's own checks refused it, the tensor's dtype and shape). Every rank then
// throws alike, or none does: a rank that refused its arguments must not leave the others
// waiting in the collective. `refused` is this rank's error, if its own checks failed.
void agree(const Communicator::Impl& c, Op op, int64_t detail, const Tensor& t,
           const std::exception_ptr& refused, const char* name) {
  uint64_t shape_hash = 1469598103934665603ull;  // FNV-1a over the sizes
  const bool usable = t.defined() && refused == nullptr;
  if (usable) {
    for (const int64_t s : t.shape()) {
      shape_hash = (shape_hash ^ static_cast<uint64_t>(s)) * 1099511628211ull;
    }
  }
  const std::array<int64_t, 7> mine{static_cast<int64_t>(op),
                                    detail,
                                    usable ? 0 : 1,
                                    usable ? static_cast<int64_t>(t.dtype()) : -1,
                                    usable ? t.dim() : -1,
                                    usable ? t.numel() : -1,
                                    static_cast<int64_t>(shape_hash >> 1)};
  std::array<int64_t, 14> both{};
  for (std::size_t i = 0; i < mine.size(); ++i) {
    both[i] = mine[i];
    both[i + mine.size()] = -mine[i];
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, both.data(), static_cast<int>(both.size()), MPI_INT64_T,
                          MPI_MAX, c.comm),
            "MPI_Allreduce");
  const auto same = [&](std::size_t i) { return both[i] == -both[i + mine.size()]; };
  if (refused != nullptr) std::rethrow_exception(refused);
  WICK_CHECK(both[2] == 0, ArgumentError, name, " on rank ", c.rank,
             ": another rank's arguments were refused (its error says why); nothing was sent");
  WICK_CHECK(same(0) && same(1), ArgumentError, name, " on rank ", c.rank,
             ": the ranks called different collectives, or with different roots or reductions");
  for (std::size_t i = 3; i < mine.size(); ++i) {
    WICK_CHECK(same(i), ShapeError, name, " on rank ", c.rank,
               ": the ranks passed tensors of different dtypes or shapes (this rank: ",
               dtype_name(t.dtype()), " ", shape_str(t.shape()), ")");
  }
}

// The error `check` throws, or nullptr.
template <class F>
std::exception_ptr refusal(F check) {
  try {
    check();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

template <class T>
void divide(T* p, int64_t n, int by) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = static_cast<T>(p[i] / static_cast<T>(by));
}

template <class H>
void divide_16bit(uint16_t* p, int64_t n, int by) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = H(float(H::from_bits(p[i])) / static_cast<float>(by)).bits;
}

void divide_by(Tensor& t, int by) {
  void* p = t.raw_data();
  switch (t.dtype()) {
    case DType::Float32:
      divide(static_cast<float*>(p), t.numel(), by);
      break;
    case DType::Float64:
      divide(static_cast<double*>(p), t.numel(), by);
      break;
    case DType::Float16:
      divide_16bit<Half>(static_cast<uint16_t*>(p), t.numel(), by);
      break;
    case DType::BFloat16:
      divide_16bit<BFloat16>(static_cast<uint16_t*>(p), t.numel(), by);
      break;
    default:
      break;  // refused before the sum
  }
}

}  // namespace

Communicator::Impl::~Impl() {
  // After MPI_Finalize no call is allowed, and MPI frees what is left itself.
  if (owned && mpi_running()) MPI_Comm_free(&comm);
}

Environment::Environment(int& argc, char**& argv) {
  if (mpi_running()) return;
  start_mpi(&argc, &argv);
  started_ = true;
}

Environment::~Environment() {
  if (!started_ || !mpi_running()) return;
  MPI_Barrier(MPI_COMM_WORLD);
  free_half_ops();
  MPI_Finalize();
}

Communicator Communicator::world() {
  if (!mpi_running()) {
    start_mpi(nullptr, nullptr);
    // mpirun counts a process that exits without MPI_Finalize as failed.
    std::atexit([] {
      if (!mpi_running()) return;
      free_half_ops();
      MPI_Finalize();
    });
  }
  auto impl = std::make_shared<Impl>();
  impl->comm = MPI_COMM_WORLD;
  // Errors come back as codes, which become IoErrors, instead of aborting the job (also when
  // the program started MPI itself; communicators split from it inherit the handler).
  check_mpi(MPI_Comm_set_errhandler(impl->comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(impl->comm, &impl->rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(impl->comm, &impl->size), "MPI_Comm_size");
  return Communicator(std::move(impl));
}

Communicator Communicator::split(int color) const {
  WICK_CHECK(color >= 0, ArgumentError, "split: color must be non-negative, got ", color);
  auto impl = std::make_shared<Impl>();
  check_mpi(MPI_Comm_split(impl_->comm, color, impl_->rank, &impl->comm), "MPI_Comm_split");
  impl->owned = true;
  check_mpi(MPI_Comm_rank(impl->comm, &impl->rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(impl->comm, &impl->size), "MPI_Comm_size");
  return Communicator(std::move(impl));
}

int Communicator::rank() const noexcept {
  return impl_->rank;
}

int Communicator::size() const noexcept {
  return impl_->size;
}

void Communicator::barrier() const {
  check_mpi(MPI_Barrier(impl_->comm), "MPI_Barrier");
}

void Communicator::broadcast(Tensor& t, int root) const {
  const auto refused = refusal([&] {
    WICK_CHECK(root >= 0 && root < impl_->size, ArgumentError, "broadcast: root ", root,
               " is not a rank of this ", impl_->size, "-process communicator");
    require_contiguous(t, "broadcast");
  });
  agree(*impl_, Op::kBroadcast, root, t, refused, "broadcast");
  auto* p = static_cast<std::byte*>(t.raw_data());
  for (int64_t done = 0; done < static_cast<int64_t>(t.nbytes()); done += kMaxChunk) {
    const auto n = static_cast<int>(std::min<int64_t>(kMaxChunk, t.nbytes() - done));
    check_mpi(MPI_Bcast(p + done, n, MPI_BYTE, root, impl_->comm), "MPI_Bcast");
  }
}

void Communicator::all_reduce(Tensor& t, ReduceOp op) const {
  const auto refused = refusal([&] {
    require_contiguous(t, "all_reduce");
    WICK_CHECK(op == ReduceOp::kSum || is_floating(t.dtype()), ArgumentError,
               "all_reduce: the mean of ", dtype_name(t.dtype()),
               " tensors is not defined (floating-point dtypes only)");
  });
  agree(*impl_, Op::kAllReduce, static_cast<int64_t>(op), t, refused, "all_reduce");
  const MPI_Datatype type = mpi_type(t.dtype());
  const MPI_Op mpi_op = sum_op(t.dtype());
  auto* p = static_cast<std::byte*>(t.raw_data());
  const auto es = static_cast<int64_t>(t.element_size());
  for (int64_t done = 0; done < t.numel(); done += kMaxChunk) {
    const auto n = static_cast<int>(std::min<int64_t>(kMaxChunk, t.numel() - done));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, p + done * es, n, type, mpi_op, impl_->comm),
              "MPI_Allreduce");
  }
  if (op == ReduceOp::kMean) divide_by(t, impl_->size);
}

Tensor Communicator::all_gather(const Tensor& t) const {
  const auto refused = refusal([&] {
    require_contiguous(t, "all_gather");
    WICK_CHECK(t.nbytes() <= static_cast<std::size_t>(INT_MAX), ArgumentError,
               "all_gather: ", t.nbytes(), " bytes per rank; at most ", INT_MAX, " are supported");
  });
  agree(*impl_, Op::kAllGather, 0, t, refused, "all_gather");
  Shape shape{impl_->size};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  Tensor out = empty(shape, t.dtype());
  const auto n = static_cast<int>(t.nbytes());
  check_mpi(MPI_Allgather(t.raw_data(), n, MPI_BYTE, out.raw_data(), n, MPI_BYTE, impl_->comm),
            "MPI_Allgather");
  return out;
}

}  // namespace wick::dist
