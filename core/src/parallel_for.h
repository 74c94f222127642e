#pragma once
// Private: a small pool that runs the pieces of one large kernel on num_threads() threads.

#include <cstdint>
#include <functional>

namespace wick::detail {

/// Runs task(0) .. task(n - 1), spread over at most num_threads() threads (the caller runs
/// one share), and returns when all have finished. Tasks must not depend on each other's
/// order. A call made from inside a task, or while another call is running, runs its tasks on
/// the calling thread. The first exception a task throws is rethrown here after all finish.
void parallel_for(int64_t n, const std::function<void(int64_t)>& task);

}  // namespace wick::detail
