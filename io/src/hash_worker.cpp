#include "hash_worker.h"

#include <unistd.h>

#include "wick/core/parallel.h"
#include "wick/io/checksum.h"

namespace wick::io::detail {

HashWorker::~HashWorker() {
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
  thread_.join();  // run() finishes a pending job before it looks at stop_
}

bool HashWorker::worthwhile() noexcept {
  return wick::num_threads() >= 2;  // the CPUs this process may use, or WICK_NUM_THREADS
}

bool HashWorker::start(const void* data, std::size_t n) noexcept {
  if (::getpid() != owner_) return false;  // a child after fork(): the worker is not here
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {
      return false;  // no thread to be had (a thread limit, memory): the caller hashes inline
    }
  }
  {
    const std::lock_guard lock(mu_);
    data_ = data;
    size_ = n;
    pending_ = true;
  }
  cv_.notify_all();
  return true;
}

uint64_t HashWorker::wait() noexcept {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !pending_; });
  return digest_;
}

void HashWorker::run() noexcept {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (!pending_) return;
    const void* data = data_;
    const std::size_t n = size_;
    lock.unlock();
    const uint64_t digest = checksum(data, n);
    lock.lock();
    digest_ = digest;
    pending_ = false;
    cv_.notify_all();
  }
}

}  // namespace wick::io::detail
