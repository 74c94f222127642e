// Sharded checkpoints over MPI: the steps of io/FORMAT.md "Writers and the commit", each
// followed by an agreement so that one rank's failure stops every rank at the same step.

#include "wick/dist/sharded_checkpoint.h"

#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/io/sharded/sharded_reader.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick::dist {

namespace {

using wick::detail::cat;

// Runs `step` (no collectives inside) on this rank, then agrees: when any rank failed, every
// rank throws, the failed ones their own error.
template <class F>
void together(const Communicator& comm, const char* what, F&& step) {
  std::exception_ptr error;
  try {
    step();
  } catch (...) {
    error = std::current_exception();
  }
  const Tensor flags = comm.all_gather(full({1}, error ? 1 : 0, kInt32));
  if (error) std::rethrow_exception(error);
  std::string failed;
  const auto* f = flags.data<int32_t>();
  for (int r = 0; r < comm.size(); ++r) {
    if (f[r] != 0) failed.append(failed.empty() ? "" : ", ").append(std::to_string(r));
  }
  WICK_CHECK(failed.empty(), IoError, what, ": failed on rank ", failed, " (its error says why)");
}

// Rank 0's bytes on every rank.
std::vector<uint8_t> broadcast_bytes(const Communicator& comm, const std::vector<uint8_t>& bytes) {
  Tensor n = full({1}, static_cast<int64_t>(bytes.size()), kInt64);
  comm.broadcast(n);
  Tensor data = empty({n.data<int64_t>()[0]}, kUInt8);
  if (comm.rank() == 0 && !bytes.empty()) std::memcpy(data.raw_data(), bytes.data(), bytes.size());
  comm.broadcast(data);
  const auto* p = data.data<uint8_t>();
  return {p, p + data.numel()};
}

// Every rank's bytes, in rank order, on every rank.
std::vector<io::ShardReport> all_gather_bytes(const Communicator& comm,
                                              const io::ShardReport& mine) {
  const Tensor sizes = comm.all_gather(full({1}, static_cast<int64_t>(mine.size()), kInt64));
  int64_t longest = 0;
  for (int r = 0; r < comm.size(); ++r)
    longest = std::max(longest, sizes.data<int64_t>()[r]);
  Tensor padded = zeros({longest}, kUInt8);
  if (!mine.empty()) std::memcpy(padded.raw_data(), mine.data(), mine.size());
  const Tensor all = comm.all_gather(padded);
  std::vector<io::ShardReport> out;
  for (int r = 0; r < comm.size(); ++r) {
    const uint8_t* row = all.data<uint8_t>() + r * longest;
    out.emplace_back(row, row + sizes.data<int64_t>()[r]);
  }
  return out;
}

}  // namespace

void save_sharded(const io::ShardedState& state, const std::filesystem::path& dir,
                  const Communicator& comm, const SaveOptions& options) {
  std::unique_ptr<io::ShardedCommit> commit;  // rank 0's: removes the staging dir unless committed
  std::string staging;
  together(comm, "save_sharded: creating the staging directory", [&] {
    if (comm.rank() != 0) return;
    commit = std::make_unique<io::ShardedCommit>(dir);
    staging = commit->staging().string();
  });
  const std::vector<uint8_t> name =
      broadcast_bytes(comm, std::vector<uint8_t>(staging.begin(), staging.end()));
  staging.assign(name.begin(), name.end());
  io::ShardReport report;
  together(comm, "save_sharded: writing the shards",
           [&] { report = io::write_shard(state, staging, comm.rank(), comm.size(), options); });
  const std::vector<io::ShardReport> reports = all_gather_bytes(comm, report);
  together(comm, "save_sharded: the commit", [&] {
    if (comm.rank() == 0) commit->commit(state, reports, options);
  });
}

void save_sharded(const Value& state, const std::filesystem::path& dir, const Communicator& comm,
                  const SaveOptions& options) {
  save_sharded(io::ShardedState{state, {}}, dir, comm, options);
}

namespace {

// Opens the checkpoint, reads this rank's part with `read` and checks that every rank read the
// same checkpoint.
template <class Read>
Value load_agreed(const std::filesystem::path& dir, const Communicator& comm,
                  const LoadOptions& options, Read&& read) {
  Value out;
  uint64_t identity = 0;
  together(comm, "load_sharded", [&] {
    io::ShardedReader reader(dir, options);
    identity = reader.info().identity;
    out = read(reader);
  });
  // A save committed between two ranks' opens would give them different checkpoints.
  const Tensor all = comm.all_gather(full({1}, static_cast<int64_t>(identity), kInt64));
  for (int r = 0; r < comm.size(); ++r) {
    WICK_CHECK(static_cast<uint64_t>(all.data<int64_t>()[r]) == identity, IoError,
               "load_sharded: ranks 0 and ", r, " read different checkpoints at ", dir,
               " (a save replaced it meanwhile); load again");
  }
  return out;
}

}  // namespace

Value load_sharded(const std::filesystem::path& dir, const Communicator& comm,
                   const std::map<std::string, io::ElementRange>& slices,
                   const LoadOptions& options) {
  return load_agreed(dir, comm, options,
                     [&](io::ShardedReader& reader) { return reader.value(slices); });
}

Value load_sharded_by(const std::filesystem::path& dir, const Communicator& comm,
                      const io::SliceRule& rule, const LoadOptions& options) {
  return load_agreed(dir, comm, options,
                     [&](io::ShardedReader& reader) { return reader.value_by(rule); });
}

}  // namespace wick::dist
