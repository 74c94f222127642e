#include "native/worker.h"

#include <sys/mman.h>

#include "wick/core/parallel.h"

namespace wick::io::detail {

Worker::~Worker() {
  if (!thread_.joinable()) return;
  if (::getpid() != owner_) {
    thread_.detach();  // a child after fork(): the thread exists only in the parent
    return;
  }
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();  // run() empties the queue before it looks at stop_
}

bool Worker::worthwhile() noexcept {
  return wick::num_threads() >= 2;  // the CPUs this process may use, or WICK_NUM_THREADS
}

bool Worker::push(std::function<void()>&& job) {
  if (!thread_.joinable()) {
    owner_ = ::getpid();  // here, not at construction: a Worker never used costs no syscall
    thread_ = std::thread([this] { run(); });
  } else if (::getpid() != owner_) {
    return false;  // a child after fork(): the thread is not here
  }
  {
    const std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  return true;
}

void Worker::drain() noexcept {
  if (!thread_.joinable()) return;   // nothing was ever posted
  if (::getpid() != owner_) return;  // a child after fork(): nothing of the parent's runs here
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void Worker::run() noexcept {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    const std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    job();
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

bool prefault(Worker* worker, std::byte* p, uint64_t n) {
#if defined(MADV_POPULATE_WRITE)
  if (worker == nullptr || n < kPrefaultFrom || !Worker::worthwhile()) return false;
  return worker->post(
      [from = p + kPrefaultLead, len = static_cast<std::size_t>(n - kPrefaultLead)] {
        ::madvise(from, len, MADV_POPULATE_WRITE);  // a hint: on failure read() faults them in
      });
#else
  (void)worker, (void)p, (void)n;
  return false;
#endif
}

}  // namespace wick::io::detail
