#pragma once
// Private: one background thread that runs jobs in the order they were posted. A save uses two
// (writer.cpp): one hashes large payloads while the writer's thread copies them into the file,
// one starts the file's writeback as it grows. A load uses one to fault in the pages of large
// payloads while they are read (parse.cpp).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include <sys/types.h>
#include <unistd.h>

namespace wick::io::detail {

class Worker {
 public:
  Worker() = default;
  /// Finishes the posted jobs, then stops the thread.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// True when wick may use a second core (wick::num_threads() >= 2).
  static bool worthwhile() noexcept;

  /// Queues `job` (a callable that must not throw), starting the thread on first use. False,
  /// and nothing queued, when no thread or memory could be had, or in a child after fork() when
  /// the thread was started before it: the caller then does the work itself or goes without.
  /// post(), drain() and the destructor must all be called from one thread.
  template <class F>
  bool post(F&& job) noexcept {
    try {
      return push(std::function<void()>(std::forward<F>(job)));
    } catch (...) {
      return false;  // no thread (a thread limit) or no memory to be had
    }
  }
  /// Waits until every posted job is done.
  void drain() noexcept;

 private:
  bool push(std::function<void()>&& job);
  void run() noexcept;

  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;  // run() is doing a job it took off the queue
  bool stop_ = false;
  pid_t owner_ = 0;  // the process that started thread_ (read only once it is joinable)
};

/// A fresh buffer's pages are zeroed by the kernel as read() first writes them: 43% of a 256 MiB
/// load's profile (clear_page_erms), which the read()-into-fresh-buffers baseline pays as well.
/// For payloads at least kPrefaultFrom big, a second thread faults in all but the first
/// kPrefaultLead bytes (one huge page, which the reader faults in itself) while they are read.
inline constexpr uint64_t kPrefaultFrom = uint64_t{4} << 20;
inline constexpr uint64_t kPrefaultLead = uint64_t{2} << 20;

/// Starts faulting in [p + kPrefaultLead, p + n) on `worker`; true when it did (drain it before
/// the buffer goes). MADV_POPULATE_WRITE (Linux 5.14) changes no byte, so read() may fill the
/// same pages at the same time; without it, nothing is done (touching the pages by hand could
/// overwrite bytes read() has just put there).
bool prefault(Worker* worker, std::byte* p, uint64_t n);

/// Drains a worker when a scope ends, however it ends (an exception from the write), so a job
/// never outlives the memory or descriptor it uses.
class DrainOnExit {
 public:
  explicit DrainOnExit(Worker& worker) noexcept : worker_(&worker) {}
  /// Null: nothing to wait for.
  explicit DrainOnExit(Worker* worker) noexcept : worker_(worker) {}
  ~DrainOnExit() {
    if (worker_ != nullptr) worker_->drain();
  }
  DrainOnExit(const DrainOnExit&) = delete;
  DrainOnExit& operator=(const DrainOnExit&) = delete;

 private:
  Worker* worker_;
};

}  // namespace wick::io::detail
