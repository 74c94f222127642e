#pragma once
/// \file
/// How many threads wick's large kernels (matrix products) may use.
///
/// Work is split only when it is big enough to gain from it, so small products always run on
/// the calling thread. The default is the number of CPUs the process may run on; the
/// environment variable WICK_NUM_THREADS (a positive integer) sets it at start-up, and
/// set_num_threads() changes it at run time. Results do not depend on the thread count: each
/// output element is computed by one thread, in the same order. Saves hash large tensors on a
/// second thread when the count is 2 or more.

namespace wick {

/// Threads large kernels may use (>= 1).
int num_threads() noexcept;

/// Sets the thread count (1 = never split work) for products started from now on; one already
/// running keeps its count. ArgumentError when `n` < 1.
void set_num_threads(int n);

}  // namespace wick
