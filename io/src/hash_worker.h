#pragma once
// Private: hashes one payload on a second core while the writer's thread copies it to the file.
//
// A buffered file write runs at the speed of the kernel's page-cache copy (about 1.5 GB/s here),
// far below memory bandwidth, so XXH3 (about 28 GB/s) on another core costs the save nothing;
// inline it was 5-7% of a large save. Loads do not do this: a read-and-hash pair is bound by
// memory bandwidth, and splitting it across cores was measured slower (bench/README.md).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include <sys/types.h>
#include <unistd.h>

namespace wick::io::detail {

class HashWorker {
 public:
  HashWorker() = default;
  /// Waits for a running job, then stops the thread.
  ~HashWorker();
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  /// True when wick may use a second core (wick::num_threads() >= 2); the worker starts on
  /// first use.
  static bool worthwhile() noexcept;

  /// Starts XXH3 over [data, data + n) on the worker thread. The bytes must stay alive and
  /// unchanged until wait() returns. False (and nothing started) when no thread could be made:
  /// the caller hashes inline.
  bool start(const void* data, std::size_t n) noexcept;
  /// Waits for the job start() began and returns its digest.
  uint64_t wait() noexcept;

 private:
  void run() noexcept;

  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  const void* data_ = nullptr;
  std::size_t size_ = 0;
  uint64_t digest_ = 0;
  bool pending_ = false;  // a job is queued or running
  bool stop_ = false;
  const pid_t owner_ = ::getpid();
};

/// Waits for the worker's job when a scope ends early (an exception from the write), so the
/// worker never reads a tensor its owner has already freed.
class HashWait {
 public:
  explicit HashWait(HashWorker& worker) noexcept : worker_(worker) {}
  ~HashWait() { worker_.wait(); }
  HashWait(const HashWait&) = delete;
  HashWait& operator=(const HashWait&) = delete;

 private:
  HashWorker& worker_;
};

}  // namespace wick::io::detail
