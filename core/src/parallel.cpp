// The pool behind parallel_for(): num_threads() - 1 workers, started on first use, parked on a
// condition variable between calls, and left running at exit. One call at a time owns the pool;
// a call that finds it busy (a second user thread, or a task calling parallel_for) runs serially
// instead of waiting, so nested and concurrent use can never deadlock.

#include "parallel_for.h"

#include <sched.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "wick/core/error.h"
#include "wick/core/parallel.h"

namespace wick {

namespace {

int default_threads() noexcept {
  int n = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n < 1) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  if (const char* env = std::getenv("WICK_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end == '\0' && v >= 1 && v <= 4096) return static_cast<int>(v);
    std::fprintf(stderr,
                 "wick: ignoring WICK_NUM_THREADS='%s' (expected an integer from 1 to 4096); "
                 "using %d\n",
                 env, n);
  }
  return n;
}

std::atomic<int>& thread_setting() noexcept {
  static std::atomic<int> n{default_threads()};
  return n;
}

// Set while a thread runs tasks, so a nested parallel_for runs serially.
thread_local bool in_task = false;

class Pool {
 public:
  // False when the pool cannot take the call (busy, or in a child process after fork(), where
  // the workers do not exist): the caller then runs the tasks itself.
  bool run(int64_t n, int threads, const std::function<void(int64_t)>& task) {
    if (::getpid() != owner_) return false;
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) return false;
    struct Release {
      std::atomic<bool>& busy;
      ~Release() { busy.store(false, std::memory_order_release); }
    } release{busy_};
    const int joiners = grow(threads - 1);
    if (joiners == 0) return false;
    {
      const std::lock_guard lock(mu_);
      task_ = &task;
      count_ = n;
      next_ = 0;
      joiners_ = joiners;
      active_ = joiners;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock lock(mu_);
    done_.wait(lock, [this] { return active_ == 0; });
    task_ = nullptr;
    const std::exception_ptr error = std::exchange(error_, nullptr);
    if (error) std::rethrow_exception(error);
    return true;
  }

 private:
  // Starts workers up to `wanted`; returns how many there are (fewer when the system refuses
  // more threads, which only costs speed).
  int grow(int wanted) {
    while (static_cast<int>(workers_.size()) < wanted) {
      try {
        workers_.emplace_back([this, id = static_cast<int>(workers_.size())] { loop(id); });
      } catch (const std::system_error&) {
        break;
      }
    }
    return std::min(wanted, static_cast<int>(workers_.size()));
  }

  // Claims tasks until none are left; records the first exception.
  void work() {
    in_task = true;
    for (;;) {
      int64_t i = 0;
      {
        const std::lock_guard lock(mu_);
        if (next_ >= count_) break;
        i = next_++;
      }
      try {
        (*task_)(i);
      } catch (...) {
        const std::lock_guard lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    in_task = false;
  }

  void loop(int id) {
    uint64_t seen = 0;
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= joiners_) continue;  // this call wants fewer threads
      lock.unlock();
      work();
      lock.lock();
      if (--active_ == 0) done_.notify_all();
    }
  }

  std::atomic<bool> busy_{false};  // a call owns the pool
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t count_ = 0, next_ = 0;
  int joiners_ = 0;  // workers taking part in the current call
  int active_ = 0;   // of those, the ones not finished yet
  uint64_t generation_ = 0;
  std::exception_ptr error_;
  const pid_t owner_ = ::getpid();
};

// Never destroyed: parked workers simply end with the process, so a large product run by another
// static object's destructor at exit still finds its pool.
Pool& pool() {
  static Pool* const p = new Pool;
  return *p;
}

}  // namespace

namespace detail {

void parallel_for(int64_t n, const std::function<void(int64_t)>& task) {
  const int64_t threads = std::min<int64_t>(num_threads(), n);
  if (threads > 1 && !in_task && pool().run(n, static_cast<int>(threads), task)) return;
  for (int64_t i = 0; i < n; ++i)
    task(i);
}

}  // namespace detail

int num_threads() noexcept {
  return thread_setting().load(std::memory_order_relaxed);
}

void set_num_threads(int n) {
  WICK_CHECK(n >= 1, ArgumentError, "set_num_threads: expected at least 1 thread, got ", n);
  thread_setting().store(n, std::memory_order_relaxed);
}

}  // namespace wick
