#pragma once
/// @file
/// What a task can know about where it runs: its worker's index, worker-local state, and
/// whether the pool asks it to stop.

#include <oneapi/tbb/enumerable_thread_specific.h>

#include <stop_token>
#include <utility>

namespace mpp {

namespace this_worker {
/// The index, in `[0, threads)`, of the calling thread's slot in the pool whose task it is
/// running, or -1 when called outside a pool task. Indices are stable while a task runs; with
/// work stealing, consecutive tasks may see different indices.
int index() noexcept;
}  // namespace this_worker

namespace this_task {
/// True once the pool running the calling task was `terminate()`d, or the task's time limit
/// (`MapOptions::task_timeout`, `ApplyOptions::timeout`) has passed: a long task should check it
/// and return early, since threads cannot be killed. False outside pool tasks.
bool stop_requested() noexcept;
/// The stop token of the calling task (for `std::stop_callback` and
/// `std::condition_variable_any::wait`): it stops when `stop_requested()` turns true. A token
/// that never stops outside pool tasks.
std::stop_token stop_token() noexcept;
}  // namespace this_task

/// One `T` per thread, created on a thread's first `local()` call: scratch buffers, random
/// generators, partial sums. A thin wrapper over oneTBB's `enumerable_thread_specific`.
/// `local()` is thread-safe; iterating and `combine` must not run concurrently with `local()`.
///
/// ```cpp
/// mpp::worker_local<std::mt19937> rng([] { return std::mt19937(std::random_device{}()); });
/// pool.map([&](int) { return std::uniform_real_distribution<>()(rng.local()); }, xs);
/// ```
template <class T>
class worker_local {
 public:
  /// Each thread's `T` is value-initialized.
  worker_local() = default;
  /// Each thread's `T` is a copy of `exemplar`.
  explicit worker_local(const T& exemplar) : values_(exemplar) {}
  /// Each thread's `T` is `make()`'s result.
  template <class Make>
  requires std::is_invocable_r_v<T, Make&>
  explicit worker_local(Make make) : values_(std::move(make)) {}

  /// The calling thread's `T`, created on first use.
  T& local() { return values_.local(); }
  /// How many threads have created their `T`.
  std::size_t size() const { return values_.size(); }
  /// Reduces all threads' values with `op` (e.g. `std::plus<>()`), Python's final reduce.
  template <class Op>
  T combine(Op op) {
    return values_.combine(std::move(op));
  }
  /// Calls `f(value)` for each thread's value.
  template <class F>
  void for_each(F f) {
    values_.combine_each(std::move(f));
  }
  /// Iteration over all threads' values: the first.
  auto begin() { return values_.begin(); }
  /// Iteration over all threads' values: past the last.
  auto end() { return values_.end(); }

 private:
  tbb::enumerable_thread_specific<T> values_;
};

}  // namespace mpp
