// Steps 1 and 3 of a sharded save (io/FORMAT.md "Writers and the commit"): the locked staging
// directory, the index, and the rename that makes the checkpoint whole at once.

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <random>
#include <string>
#include <system_error>

#include "common/file.h"
#include "sharded/layout.h"
#include "sharded/plan.h"
#include "sharded/report.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/io/serialize.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick::io {

namespace {

using io::detail::io_failure;
using io::detail::os_error;
using wick::detail::cat;
namespace fs = std::filesystem;

constexpr std::string_view kStagingMarker = ".wick-staging-";
constexpr std::string_view kOldMarker = ".wick-old-";

std::string hidden_prefix(const fs::path& target, std::string_view marker) {
  std::string prefix = ".";
  prefix.append(target.filename().string()).append(marker);
  return prefix;
}

constexpr std::string_view kLockSuffix = ".lock";

// A directory beside the target and the lock file that marks it alive: `<dir>.lock`, a regular
// file opened for writing (NFS emulates flock with fcntl locks, which need that), created and
// locked before the directory exists and unlinked after it is gone, so a cleaner never meets a
// live save's directory with its lock free (FORMAT.md "Writers and the commit").
struct LockedDir {
  fs::path dir;
  int lock_fd = -1;
  fs::path lock_path() const { return dir.string() + std::string(kLockSuffix); }
  // Unlinks the lock file and releases the lock (the directory must be gone or renamed).
  void release() noexcept {
    if (lock_fd < 0) return;
    ::unlink(lock_path().c_str());
    ::close(lock_fd);
    lock_fd = -1;
  }
};

// Opens `lock` and takes its flock, exclusive; -1 when it is missing or held (and `wait` is
// false).
int take_lock(const fs::path& lock, bool wait, int flags = 0) {
  const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC | flags, 0600);
  if (fd < 0) return -1;
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    ::close(fd);
    return -1;
  }
  return fd;
}

// A fresh, locked directory beside `target`: `.<name><marker>` and six random characters. mkdir(2)
// under a random name, not mkdtemp(3): the checkpoint directory this becomes gets the mode a mkdir
// gives (0777 less the umask), not mkdtemp's 0700.
LockedDir make_locked_dir(const fs::path& target, std::string_view marker) {
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  for (int attempt = 0;; ++attempt) {
    std::string name = hidden_prefix(target, marker);
    for (int i = 0; i < 6; ++i)
      name += kChars[rd() % kChars.size()];
    LockedDir d{target.parent_path() / name};
    d.lock_fd = take_lock(d.lock_path(), true, O_CREAT | O_EXCL);
    if (d.lock_fd >= 0) {
      if (::mkdir(d.dir.c_str(), 0777) == 0) return d;
      const int err = errno;
      d.release();
      errno = err;
    }
    if (errno == EEXIST && attempt < 100) continue;
    const std::string err = os_error();
    throw io_failure("mkdir", d.dir.string(), err,
                     cat("save_sharded: cannot create a directory beside ", target, ": ", err));
  }
}

// Directories of saves that died (their lock file free): staging ones are removed; a moved-aside
// checkpoint (the two-rename fallback) is put back when the target is missing, else removed.
void recover_dead_saves(const fs::path& target) {
  std::error_code ec;
  std::vector<fs::path> locks;
  for (const auto& entry : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if ((name.starts_with(hidden_prefix(target, kStagingMarker)) ||
         name.starts_with(hidden_prefix(target, kOldMarker))) &&
        name.ends_with(kLockSuffix)) {
      locks.push_back(entry.path());
    }
  }
  for (const fs::path& lock : locks) {
    const int fd = take_lock(lock, false);
    if (fd < 0) continue;
    LockedDir d{fs::path(lock.string().substr(0, lock.string().size() - kLockSuffix.size())), fd};
    const bool aside = d.dir.filename().string().starts_with(hidden_prefix(target, kOldMarker));
    if (aside && !fs::exists(fs::symlink_status(target, ec)) &&
        fs::exists(d.dir / sharded::kIndexName, ec)) {
      ::rename(d.dir.c_str(), target.c_str());  // the previous checkpoint, back in place
    }
    fs::remove_all(d.dir, ec);
    d.release();
  }
}

// Refuses to replace what is not a sharded checkpoint: its contents would be deleted.
void check_replaceable(const fs::path& target) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(target, ec);
  if (!fs::exists(st)) return;
  WICK_CHECK(fs::is_directory(st), ArgumentError, "save_sharded: ", target,
             " exists and is not a directory");
  WICK_CHECK(fs::exists(target / sharded::kIndexName) || fs::is_empty(target, ec), ArgumentError,
             "save_sharded: ", target,
             " is a directory but not a sharded checkpoint (no index.wick); remove it or choose "
             "another directory");
}

void rename_or_throw(const fs::path& from, const fs::path& to, unsigned flags) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0) return;
  const std::string err = os_error();
  throw io_failure("rename", to.string(), err,
                   cat("save_sharded: cannot move ", from, " to ", to, ": ", err));
}

// "Writers and the commit", step 4. Returns where the previous checkpoint went (nowhere, or
// the staging name after an exchange, or a moved-aside directory; the caller removes it).
LockedDir put_in_place(const fs::path& staging, const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target, ec))) {
    rename_or_throw(staging, target, RENAME_NOREPLACE);
    return {};
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    return LockedDir{staging};
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    rename_or_throw(staging, target, RENAME_EXCHANGE);  // throws with errno's message
  }
  // No RENAME_EXCHANGE on this file system: two renames, the target missing between them. A
  // crash there leaves the old checkpoint aside, locked by nobody: the next save puts it back.
  LockedDir aside = make_locked_dir(target, kOldMarker);
  ::rmdir(aside.dir.c_str());  // only its name and lock were wanted
  rename_or_throw(target, aside.dir, 0);
  try {
    rename_or_throw(staging, target, 0);
  } catch (...) {
    ::rename(aside.dir.c_str(), target.c_str());
    aside.release();
    throw;
  }
  return aside;
}

Value index_value(const sharded::Structure& s, uint32_t world_size,
                  const std::vector<sharded::Report>& reports,
                  const std::vector<sharded::Piece>& pieces) {
  using namespace sharded;
  Tensor shards = empty({world_size, kShardColumns}, kInt64);
  auto* sh = shards.data<int64_t>();
  for (uint32_t r = 0; r < world_size; ++r) {
    sh[r * kShardColumns + kShardSize] = static_cast<int64_t>(reports[r].shard_size);
    sh[r * kShardColumns + kShardIndexChecksum] =
        static_cast<int64_t>(reports[r].shard_index_checksum);
  }
  List tensors;
  for (const TensorSpec& t : s.tensors) {
    List shape(t.shape.begin(), t.shape.end());
    tensors.emplace_back(List{t.path, static_cast<int64_t>(t.dtype), std::move(shape)});
  }
  Tensor table = empty({static_cast<int64_t>(pieces.size()), kPieceColumns}, kInt64);
  auto* row = table.data<int64_t>();
  for (const Piece& p : pieces) {
    for (const uint64_t v :
         {uint64_t{p.tensor}, uint64_t{p.shard}, p.start, p.count, p.offset, p.checksum}) {
      *row++ = static_cast<int64_t>(v);
    }
  }
  Dict root;
  root.insert(std::string(kWorldSize), Value(static_cast<int64_t>(world_size)));
  root.insert(std::string(kShards), std::move(shards));
  root.insert(std::string(kState), s.skeleton);
  root.insert(std::string(kTensors), std::move(tensors));
  root.insert(std::string(kPieces), std::move(table));
  return root;
}

// Every rank's pieces, sorted by tensor then start, checked to tile every tensor exactly.
std::vector<sharded::Piece> tile(const sharded::Structure& s,
                                 const std::vector<sharded::Report>& reports) {
  std::vector<sharded::Piece> pieces;
  for (const auto& r : reports)
    pieces.insert(pieces.end(), r.pieces.begin(), r.pieces.end());
  std::sort(pieces.begin(), pieces.end(), [](const auto& a, const auto& b) {
    return a.tensor != b.tensor ? a.tensor < b.tensor : a.start < b.start;
  });
  std::size_t i = 0;
  for (uint32_t t = 0; t < s.tensors.size(); ++t) {
    uint64_t next = 0;
    for (; i < pieces.size() && pieces[i].tensor == t; ++i) {
      WICK_CHECK(pieces[i].start == next, ArgumentError, "save_sharded: the slices of '",
                 s.tensors[t].path, "' ", pieces[i].start < next ? "overlap" : "leave a gap",
                 " at element ", std::min(next, pieces[i].start), " (rank ", pieces[i].shard,
                 "'s starts at ", pieces[i].start, ")");
      next += pieces[i].count;
    }
    WICK_CHECK(next == s.tensors[t].numel, ArgumentError, "save_sharded: the slices of '",
               s.tensors[t].path, "' cover elements [0, ", next, ") of ", s.tensors[t].numel);
  }
  WICK_CHECK(i == pieces.size(), ArgumentError, "save_sharded: a report names tensor ",
             i < pieces.size() ? pieces[i].tensor : 0, " of ", s.tensors.size());
  return pieces;
}

}  // namespace

struct ShardedCommit::Impl {
  fs::path target;
  LockedDir staging;
  bool committed = false;
};

ShardedCommit::ShardedCommit(const fs::path& target) : impl_(std::make_unique<Impl>()) {
  fs::path t = fs::absolute(target).lexically_normal();
  if (t.filename().empty()) t = t.parent_path();  // "ckpt/" names "ckpt"
  WICK_CHECK(hidden_prefix(t, kStagingMarker).size() + 6 + kLockSuffix.size() <= NAME_MAX,
             ArgumentError, "save_sharded: the name of ", t,
             " is too long for a staging directory beside it");
  impl_->target = t;
  recover_dead_saves(t);
  check_replaceable(t);
  impl_->staging = make_locked_dir(t, kStagingMarker);
}

ShardedCommit::~ShardedCommit() {
  std::error_code ec;
  if (!impl_->committed) fs::remove_all(impl_->staging.dir, ec);
  impl_->staging.release();
}

const fs::path& ShardedCommit::staging() const noexcept {
  return impl_->staging.dir;
}

void ShardedCommit::commit(const ShardedState& state, const std::vector<ShardReport>& reports,
                           const SaveOptions& options) {
  using namespace sharded;
  WICK_CHECK(!impl_->committed, ArgumentError, "save_sharded: this checkpoint is committed");
  WICK_CHECK(!options.metadata.contains(std::string(kLayoutKey)), ArgumentError,
             "save_sharded: metadata key '", kLayoutKey, "' is wick's own");
  const Structure s = describe(state);
  std::vector<Report> decoded;
  for (std::size_t r = 0; r < reports.size(); ++r) {
    decoded.push_back(decode_report(reports[r], "a report"));
    WICK_CHECK(decoded[r].rank == r && decoded[r].world_size == reports.size(), ArgumentError,
               "save_sharded: report ", r, " is rank ", decoded[r].rank, " of ",
               decoded[r].world_size, ", not rank ", r, " of ", reports.size());
    WICK_CHECK(decoded[r].structure_hash == s.hash, ArgumentError, "save_sharded: rank ", r,
               "'s state differs from rank 0's in its tensors' paths, dtypes, shapes or "
               "slicing");
  }
  WICK_CHECK(!reports.empty(), ArgumentError, "save_sharded: no shard reports");
  const auto world = static_cast<uint32_t>(reports.size());
  const Value index = index_value(s, world, decoded, tile(s, decoded));
  SaveOptions index_options = options;
  index_options.progress = {};
  index_options.metadata.insert(std::string(kLayoutKey), Value(kLayoutVersion));
  save(index, impl_->staging.dir / kIndexName, index_options);
  if (options.durable) io::detail::fsync_directory(impl_->staging.dir);
  LockedDir old = put_in_place(impl_->staging.dir, impl_->target);
  impl_->committed = true;
  std::error_code ec;
  if (!old.dir.empty()) fs::remove_all(old.dir, ec);
  old.release();
  if (!options.durable) return;
  try {
    io::detail::fsync_directory(impl_->target.parent_path());
  } catch (const IoError& e) {
    ErrorInfo i = e.info();
    i.detail = cat("save_sharded: the new checkpoint is in place at ", impl_->target,
                   " but may not survive a power loss: ", i.detail);
    throw IoError(i);
  }
}

void save_sharded(const Value& state, const fs::path& dir, int world_size,
                  const SaveOptions& options) {
  const ShardedState s{state, {}};
  ShardedCommit commit(dir);
  std::vector<ShardReport> reports;
  for (int r = 0; r < world_size; ++r)
    reports.push_back(write_shard(s, commit.staging(), r, world_size, options));
  commit.commit(s, reports, options);
}

}  // namespace wick::io
