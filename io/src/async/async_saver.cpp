// AsyncSaver: a save is a State shared by its handles and the saver. Copy-mode saves queue for
// one writer thread, in order; fork-mode saves each have a thread that follows their child.
// Saves to one path end in the order they were asked: a newer one drops a queued older one
// (superseded), kills an older child, and waits for an older one being written in this process.

#include "wick/io/async_saver.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <ostream>
#include <streambuf>
#include <thread>
#include <variant>
#include <vector>

#include "async/fork_save.h"
#include "async/snapshot.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/io/serialize.h"

namespace wick::io {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::size_t default_staging_limit() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::size_t{1} << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4;
}

// What a save writes: the caller's tree (fork mode: the child sees it as it was at the fork)
// or the saver's own copy of it (copy mode).
using Tree = std::variant<Value, TensorDict>;
using TreeRef = std::variant<const Value*, const TensorDict*>;

void save_tree(TreeRef tree, const std::filesystem::path& path, const SaveOptions& options) {
  std::visit([&](const auto* t) { wick::save(*t, path, options); }, tree);
}

// Discards what it is given.
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char* /*s*/, std::streamsize n) override { return n; }
};

// Throws, at the call, what wick::save would refuse (undefined tensors, nesting, strings that
// are not UTF-8, metadata, a format version that cannot hold the value): the tree is saved to
// nowhere with every tensor replaced by an empty one of its dtype, so no tensor data is read.
void check_saveable(TreeRef tree, const SaveOptions& options) {
  Tree skeleton = std::visit([](const auto* t) { return Tree(*t); }, tree);
  for (Tensor* t : std::visit([](auto& v) { return detail::tensors_of(v); }, skeleton)) {
    if (t->defined()) *t = empty({0}, t->dtype());
  }
  SaveOptions dry = options;
  dry.progress = nullptr;
  NullBuffer nowhere;
  std::ostream out(&nowhere);
  std::visit([&](const auto& v) { wick::save(v, out, dry); }, skeleton);
}
}  // namespace

struct SaveHandle::State {
  std::filesystem::path path;
  SaveOptions options;  // what the writer uses: progress reports to this state
  ProgressFn user_progress;
  // Copy mode: the snapshot and its staging buffers, until written.
  std::optional<Tree> snapshot;
  std::vector<std::shared_ptr<Storage>> buffers;
  // Fork mode: the child, and whether a newer save to the path killed it.
  detail::ForkedSave child;
  std::atomic<bool> killed{false};
  // Older saves of the same path still in flight when this one was asked: this one writes only
  // once they are done (set before the save is handed to its thread).
  std::vector<std::shared_ptr<State>> after;
  bool armed = false;  // fork mode: `after` is set and the thread may go on (guarded by `mu`)

  std::atomic<uint64_t> done_bytes{0};
  std::atomic<uint64_t> total_bytes{0};
  std::atomic<bool> error_thrown{false};
  mutable std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  bool superseded = false;
  std::exception_ptr error;
  SaveStats stats;
  std::exception_ptr progress_error;  // only the thread that writes (or follows the child) sets it

  void report(uint64_t done, uint64_t total) {
    done_bytes.store(done, std::memory_order_relaxed);
    total_bytes.store(total, std::memory_order_relaxed);
    if (!user_progress || progress_error != nullptr) return;
    // A callback that throws is not called again, and its error becomes the save's (unless the
    // save has one of its own): a fork-mode child cannot be stopped by it anyway.
    try {
      user_progress(done, total);
    } catch (...) {
      progress_error = std::current_exception();
    }
  }
  void finish(std::exception_ptr e, bool dropped, uint64_t extra) {
    {
      const std::lock_guard lock(mu);
      error = e != nullptr ? std::move(e) : progress_error;
      superseded = dropped;
      if (extra != 0) stats.extra_bytes = extra;
      finished = true;
    }
    cv.notify_all();
  }
  // The error, once: whoever takes it throws it.
  std::exception_ptr take_error() {
    const std::lock_guard lock(mu);
    if (error == nullptr || error_thrown.exchange(true)) return nullptr;
    return error;
  }
};

SaveHandle::State& SaveHandle::state() const {
  WICK_CHECK(state_ != nullptr, ArgumentError, "SaveHandle: an empty handle refers to no save");
  return *state_;
}

bool SaveHandle::done() const {
  const std::lock_guard lock(state().mu);
  return state_->finished;
}

void SaveHandle::wait() {
  State& s = state();
  {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.finished; });
  }
  if (auto e = s.take_error()) std::rethrow_exception(e);
}

std::pair<uint64_t, uint64_t> SaveHandle::progress() const {
  return {state().done_bytes.load(), state_->total_bytes.load()};
}

bool SaveHandle::superseded() const {
  const std::lock_guard lock(state().mu);
  return state_->superseded;
}

SaveStats SaveHandle::stats() const {
  const std::lock_guard lock(state().mu);
  return state_->stats;
}

const std::filesystem::path& SaveHandle::path() const {
  return state().path;
}

using State = SaveHandle::State;

struct AsyncSaver::Impl {
  explicit Impl(AsyncSaveOptions o)
      : config(o), pool(o.staging_limit != 0 ? o.staging_limit : default_staging_limit()) {}

  std::optional<SaveHandle> start(TreeRef tree, const std::filesystem::path& path,
                                  const SaveOptions& options, std::optional<SnapshotMode> mode,
                                  bool or_return);
  bool start_copy(const std::shared_ptr<State>& s, Tree& tree, detail::SnapshotPlan& plan,
                  std::unique_lock<std::mutex>& lock, bool or_return);
  void start_fork(const std::shared_ptr<State>& s, TreeRef tree,
                  std::unique_lock<std::mutex>& lock);
  std::vector<std::shared_ptr<State>> supersede_older(const std::filesystem::path& path,
                                                      std::unique_lock<std::mutex>& lock);
  void write_loop();
  void follow_child(const std::shared_ptr<State>& s);
  void ended(const std::shared_ptr<State>& s, std::exception_ptr e, bool dropped, uint64_t extra);
  std::exception_ptr unthrown_error();  // with mu held
  void join_reapers(bool all);

  AsyncSaveOptions config;
  mutable std::mutex mu;
  std::condition_variable cv;  // a save ended or was dropped
  int in_flight = 0;
  std::vector<std::shared_ptr<State>> live;    // in flight, in the order asked
  std::deque<std::shared_ptr<State>> queue;    // copy mode, not started
  std::vector<std::shared_ptr<State>> failed;  // ended with an error perhaps not thrown yet
  detail::StagingPool pool;
  std::thread writer;
  bool stop = false;
  std::vector<std::pair<std::shared_ptr<State>, std::thread>> reapers;
  std::mutex reapers_mu;
  // Snapshots copy one at a time: the helper thread takes one caller's work at a time.
  std::mutex copy_mu;
  detail::Worker copier;
};

std::exception_ptr AsyncSaver::Impl::unthrown_error() {
  for (auto it = failed.begin(); it != failed.end();) {
    auto e = (*it)->take_error();
    it = failed.erase(it);
    if (e) return e;
  }
  return nullptr;
}

void AsyncSaver::Impl::ended(const std::shared_ptr<State>& s, std::exception_ptr e, bool dropped,
                             uint64_t extra) {
  const bool failed_save = e != nullptr || s->progress_error != nullptr;
  {
    // One step under `mu`: whoever sees the slot free (wait(), the next save(), in_flight())
    // finds the save finished with its error, and whoever sees it finished finds the slot free.
    const std::lock_guard lock(mu);
    s->finish(std::move(e), dropped, extra);
    if (!s->buffers.empty()) pool.give_back(std::move(s->buffers));
    s->buffers.clear();
    std::erase(live, s);
    // kill_child() is called under `mu` on the saves in `live` only.
    if (s->child.pidfd >= 0) ::close(s->child.pidfd);
    s->child.pidfd = -1;
    --in_flight;
    if (failed_save) failed.push_back(s);
  }
  cv.notify_all();
}

// Drops the queued copy-mode saves of `path` unwritten and kills the children writing it (the
// file keeps whatever was there); returns the older saves of `path` still in flight, which the
// new save must wait for before it writes. Waited for on the save's own thread, never here:
// an older save may be held by its progress callback, and the caller by the older save.
std::vector<std::shared_ptr<State>> AsyncSaver::Impl::supersede_older(
    const std::filesystem::path& path, std::unique_lock<std::mutex>& lock) {
  for (auto it = queue.begin(); it != queue.end();) {
    if ((*it)->path != path) {
      ++it;
      continue;
    }
    auto s = *it;
    it = queue.erase(it);
    s->snapshot.reset();  // its tensors go before its buffers return to the pool
    lock.unlock();
    ended(s, nullptr, true, 0);
    lock.lock();
    it = queue.begin();
  }
  std::vector<std::shared_ptr<State>> older;
  for (const auto& other : live) {
    if (other->path != path) continue;
    if (other->child.pid > 0) {
      other->killed = true;
      detail::kill_child(other->child);
    }
    older.push_back(other);
  }
  return older;
}

namespace {
void wait_until_done(const std::vector<std::shared_ptr<State>>& saves) {
  for (const auto& o : saves) {
    std::unique_lock lock(o->mu);
    o->cv.wait(lock, [&] { return o->finished; });
  }
}
}  // namespace

void AsyncSaver::Impl::write_loop() {
  std::unique_lock lock(mu);
  for (;;) {
    cv.wait(lock, [&] { return stop || !queue.empty(); });
    if (queue.empty()) return;
    auto s = queue.front();
    queue.pop_front();
    lock.unlock();
    wait_until_done(s->after);
    s->after.clear();
    std::exception_ptr error;
    try {
      std::visit([&](const auto& t) { wick::save(t, s->path, s->options); }, *s->snapshot);
    } catch (...) {
      error = std::current_exception();
    }
    s->snapshot.reset();
    ended(s, std::move(error), false, 0);
    lock.lock();
  }
}

// False, with nothing started, when `or_return` and the staging limit has no room now.
bool AsyncSaver::Impl::start_copy(const std::shared_ptr<State>& s, Tree& tree,
                                  detail::SnapshotPlan& plan, std::unique_lock<std::mutex>& lock,
                                  bool or_return) {
  // Everything that may fail for want of a thread or memory comes before the buffers are
  // taken, so that a failure leaves nothing half done.
  if (!writer.joinable()) writer = std::thread([this] { write_loop(); });
  live.reserve(live.size() + 1);
  // Room in the staging limit: saves in flight give their buffers back as they end.
  if (or_return && !pool.can_take(plan.sizes())) return false;
  cv.wait(lock, [&] { return pool.can_take(plan.sizes()); });
  s->buffers = pool.take(plan.sizes());
  s->stats.extra_bytes = plan.bytes();
  lock.unlock();
  const auto t0 = Clock::now();
  {
    const std::lock_guard copying(copy_mu);
    plan.copy_and_rebind(s->buffers, copier);
  }
  s->stats.snapshot_seconds = seconds_since(t0);
  s->snapshot = std::move(tree);
  lock.lock();
  s->after = supersede_older(s->path, lock);
  live.push_back(s);
  queue.push_back(s);
  cv.notify_all();
  return true;
}

void AsyncSaver::Impl::start_fork(const std::shared_ptr<State>& s, TreeRef tree,
                                  std::unique_lock<std::mutex>& lock) {
  live.reserve(live.size() + 1);
  {
    const std::lock_guard reaping(reapers_mu);
    reapers.reserve(reapers.size() + 1);
  }
  const auto t0 = Clock::now();
  s->child =
      detail::fork_save([&](const SaveOptions& o) { save_tree(tree, s->path, o); }, s->options);
  s->stats.snapshot_seconds = seconds_since(t0);
  std::thread reaper;
  try {
    reaper = std::thread([this, s] { follow_child(s); });
  } catch (...) {
    detail::abandon_child(s->child);  // it has written nothing: the go-ahead never came
    throw;
  }
  // Only once this save is sure to run may it supersede older ones (kill their children).
  s->after = supersede_older(s->path, lock);
  {
    const std::lock_guard state_lock(s->mu);
    s->armed = true;
  }
  s->cv.notify_all();
  live.push_back(s);
  const std::lock_guard reaping(reapers_mu);
  reapers.emplace_back(s, std::move(reaper));
}

// The thread of one fork-mode save: lets the child write once older saves of the path are
// done, relays its progress, and ends the save with its outcome.
void AsyncSaver::Impl::follow_child(const std::shared_ptr<State>& s) {
  std::exception_ptr error;
  uint64_t extra = 0;
  {
    std::unique_lock state_lock(s->mu);
    s->cv.wait(state_lock, [&] { return s->armed; });
  }
  try {
    wait_until_done(s->after);
    s->after.clear();
    detail::release_child(s->child);
    auto outcome = detail::await_child(s->child, [&](uint64_t d, uint64_t t) { s->report(d, t); });
    error = outcome.error;
    extra = outcome.extra_bytes;
  } catch (...) {
    error = std::current_exception();
    detail::abandon_child(s->child);
  }
  const bool dropped = s->killed.load();
  ended(s, dropped ? nullptr : error, dropped, extra);
}

std::optional<SaveHandle> AsyncSaver::Impl::start(TreeRef tree, const std::filesystem::path& path,
                                                  const SaveOptions& options,
                                                  std::optional<SnapshotMode> mode,
                                                  bool or_return) {
  const auto t0 = Clock::now();
  check_saveable(tree, options);
  join_reapers(false);
  std::unique_lock lock(mu);
  while (in_flight >= config.max_in_flight) {
    if (or_return) return std::nullopt;
    cv.wait(lock);
  }
  // After the wait: the save waited for may have failed meanwhile.
  if (auto e = unthrown_error()) std::rethrow_exception(e);
  ++in_flight;  // the slot is ours from here; ended() gives it back
  auto s = std::make_shared<State>();
  // Absolute: saves to one file under two spellings are ordered alike, and a chdir() after the
  // call changes nothing.
  s->path = std::filesystem::absolute(path).lexically_normal();
  s->options = options;
  s->user_progress = options.progress;
  s->options.progress = [raw = s.get()](uint64_t d, uint64_t t) { raw->report(d, t); };
  try {
    SnapshotMode m = mode.value_or(config.mode);
    // The plan copies the tree's containers (not its tensors' data), to rebind the copy's
    // tensors in copy mode; in fork mode it only counts the bytes.
    Tree copy = std::visit([](const auto* t) { return Tree(*t); }, tree);
    detail::SnapshotPlan plan(std::visit([](auto& t) { return detail::tensors_of(t); }, copy));
    const bool fits = plan.bytes() <= pool.limit();
    WICK_CHECK(fits || m != SnapshotMode::kCopy, ArgumentError, "AsyncSaver::save: the ",
               plan.bytes(), "-byte snapshot of ", path.string(), " exceeds the ", pool.limit(),
               "-byte staging limit (raise it, or save in fork mode)");
    if (m == SnapshotMode::kAuto) m = fits ? SnapshotMode::kCopy : SnapshotMode::kFork;
    s->stats.mode = m;
    s->stats.snapshot_bytes = plan.bytes();
    if (m == SnapshotMode::kCopy) {
      // `plan` points into `copy`: not moved.
      if (!start_copy(s, copy, plan, lock, or_return)) {
        --in_flight;
        cv.notify_all();
        return std::nullopt;
      }
    } else {
      start_fork(s, tree, lock);
    }
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();
    if (!s->buffers.empty()) pool.give_back(std::move(s->buffers));
    --in_flight;
    cv.notify_all();
    throw;
  }
  lock.unlock();
  {
    const std::lock_guard state_lock(s->mu);  // the save may be ending already
    s->stats.stall_seconds = seconds_since(t0);
  }
  return SaveHandle(s);
}

void AsyncSaver::Impl::join_reapers(bool all) {
  std::vector<std::thread> done;
  {
    const std::lock_guard lock(reapers_mu);
    for (auto it = reapers.begin(); it != reapers.end();) {
      bool finished = all;
      if (!finished) {
        const std::lock_guard state_lock(it->first->mu);
        finished = it->first->finished;
      }
      if (finished) {
        done.push_back(std::move(it->second));
        it = reapers.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& t : done)
    t.join();
}

AsyncSaver::AsyncSaver(AsyncSaveOptions options) {
  WICK_CHECK(options.max_in_flight >= 1, ArgumentError,
             "AsyncSaver: max_in_flight must be at least 1, got ", options.max_in_flight);
  impl_ = std::make_unique<Impl>(options);
}

AsyncSaver::~AsyncSaver() {
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [&] { return impl_->in_flight == 0; });
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  impl_->join_reapers(true);
  // The last chance to report errors nobody asked for: they must not vanish.
  for (const auto& s : impl_->failed) {
    if (auto e = s->take_error()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "wick: a background save to %s failed and was never waited for: %s\n",
                     s->path.c_str(), ex.what());
      } catch (...) {
        std::fprintf(stderr,
                     "wick: a background save to %s failed (an exception of unknown type) and "
                     "was never waited for\n",
                     s->path.c_str());
      }
    }
  }
}

SaveHandle AsyncSaver::save(const Value& value, const std::filesystem::path& path,
                            const SaveOptions& options, std::optional<SnapshotMode> mode) {
  return *impl_->start(&value, path, options, mode, false);
}

SaveHandle AsyncSaver::save(const TensorDict& tensors, const std::filesystem::path& path,
                            const SaveOptions& options, std::optional<SnapshotMode> mode) {
  return *impl_->start(&tensors, path, options, mode, false);
}

std::optional<SaveHandle> AsyncSaver::try_save(const Value& value,
                                               const std::filesystem::path& path,
                                               const SaveOptions& options,
                                               std::optional<SnapshotMode> mode) {
  return impl_->start(&value, path, options, mode, true);
}

std::optional<SaveHandle> AsyncSaver::try_save(const TensorDict& tensors,
                                               const std::filesystem::path& path,
                                               const SaveOptions& options,
                                               std::optional<SnapshotMode> mode) {
  return impl_->start(&tensors, path, options, mode, true);
}

void AsyncSaver::wait() {
  std::exception_ptr e;
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [&] { return impl_->in_flight == 0; });
    e = impl_->unthrown_error();
  }
  impl_->join_reapers(false);
  if (e) std::rethrow_exception(e);
}

bool AsyncSaver::done() const {
  return in_flight() == 0;
}

int AsyncSaver::in_flight() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->in_flight;
}

std::size_t AsyncSaver::staging_bytes() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->pool.held();
}

void AsyncSaver::release_staging() {
  const std::lock_guard lock(impl_->mu);
  impl_->pool.release_free();
}

}  // namespace wick::io
