#pragma once
/// @file
/// The options of `mpp::mpi::Executor`: of the executor, of its maps, and of one task.

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "mpp/options.hpp"

namespace mpp::mpi {

/// Options of `mpp::mpi::Executor`.
struct ExecutorOptions {
  /// Threads of each rank's local pool, which runs the tasks a worker receives; unset means
  /// `mpp::mpi::node_threads()`: the rank's share of its node's CPUs (`MPP_NUM_THREADS` wins).
  std::optional<int> threads = std::nullopt;
  /// The ranks taking part; mpp duplicates it. Rank 0 of it drives. An intercommunicator or
  /// `MPI_COMM_NULL` is refused with `std::invalid_argument` (on every rank given it).
  MPI_Comm comm = MPI_COMM_WORLD;
  /// Runs once on each worker thread before its first task (see `mpp::PoolOptions`). If it
  /// throws, the executor is broken: pending and later tasks fail with `BrokenExecutor`.
  std::function<void()> initializer = {};
  /// mpi4py's `max_workers`: only ranks 1 to `max_workers` get tasks (the others serve idle
  /// until shutdown). Unset: the `MPP_MAX_WORKERS` environment variable (as
  /// `MPI4PY_FUTURES_MAX_WORKERS`), else every rank but the root. Must be at least 1; a number
  /// past the ranks there are means all of them.
  std::optional<int> max_workers = std::nullopt;
  /// Whether the root runs tasks too when there are workers (on its own pool, taking its share
  /// like a worker), instead of only driving them, which is all mpi4py's root can do. A task
  /// the root ran fails with a `RemoteError` naming rank 0, as it would on a worker.
  bool root_computes = false;
  /// The rank of `comm` that drives (mpi4py's `MPICommExecutor(comm, root)`); the others
  /// serve. Must be a rank of `comm`, else `std::invalid_argument` on every rank.
  int root = 0;
};

/// Options of `Executor::map`, as in `MPIPoolExecutor.map(fn, iterable, chunksize=1,
/// buffersize=..., unordered=False)`.
struct ExecutorMapOptions {
  /// Items per task message. Must be at least 1. Unset: 1 for `map`, `imap` and their kin
  /// (mpi4py.futures' default, so that results come as soon as each item is done); for
  /// `map_async` and `starmap_async` over a sized input, Python's `Pool.map` default:
  /// ceil(n / (4 × the threads of the ranks that compute)).
  std::optional<std::size_t> chunksize = std::nullopt;
  /// Return the results in completion order instead of input order.
  bool unordered = false;
  /// Tasks (chunks) in flight at most; the input is read only as far as they reach. Unset: twice
  /// what the workers take at once (4 × their threads each, up to 64 × while tasks take under
  /// 60 µs, so that tiny tasks do not wait on round trips). Must be at least 1.
  std::optional<std::size_t> buffersize = std::nullopt;
  /// Reading a result throws `mpp::TimeoutError` once this long has passed since `map` was
  /// called (mpi4py's `timeout`); the range then ends and the tasks not sent are cancelled.
  /// Unset: no limit.
  std::optional<std::chrono::duration<double>> timeout = std::nullopt;
  /// Calls of an item that throws again on its worker before the item fails, as
  /// `mpp::MapOptions::retries` (every exception is retried: a predicate cannot be sent).
  std::size_t retries = 0;
  /// The delay before each retry, as `mpp::MapOptions::backoff`.
  Backoff backoff = {};
  /// A time limit for each item on its worker, as `mpp::MapOptions::task_timeout`: its stop
  /// token is set then, and it fails with `mpp::TaskTimeoutError` (a `RemoteError` naming that
  /// type on the root). Unset: no limit. Must be positive.
  std::optional<std::chrono::nanoseconds> task_timeout = std::nullopt;
  /// A journal file on the root, as `mpp::MapOptions::checkpoint`: each chunk's results are
  /// appended as they reach the root, and a rerun of the same map (same inputs, result type and
  /// registered name) submits only the chunks the journal lacks and returns the same results.
  /// For `map`, `starmap`, `map_async` and `starmap_async` over an input of known size with
  /// random access; refused with `std::invalid_argument` with `unordered` and by `imap` and its
  /// kin, as `mpp::Pool` refuses it there. Chunks default to `ceil(n / 1024)` items, `chunksize`
  /// wins. A killed root loses only the chunks not yet back (with `map`, not yet read). Unlike
  /// `mpp::Pool::map`, the executor leaves SIGINT and SIGTERM to the application.
  std::string checkpoint = {};
  /// With `checkpoint`, as `mpp::MapOptions::checkpoint_tag`. Unset, the name the function was
  /// registered under names the computation.
  std::string checkpoint_tag = {};
  /// Called on the root with (items done, total items): (0, n) first, growing counts, and
  /// (n, n) once at the end. `map` and its kin count the results handed to the loop, on its
  /// thread, as `mpp::Pool::imap` does (`mpp::unknown_total` while an unsized input has not run
  /// out); `map_async` and `starmap_async` count the chunks whose results reached the root,
  /// report on the root's pool, and report (n, n) before the future is ready. Calls never
  /// overlap; if one throws, the map fails with its exception.
  std::function<void(std::size_t done, std::size_t total)> progress = {};
};

/// Retries and a time limit for a task of `Executor::submit`, as in `mpp::ApplyOptions`: the
/// worker retries it and watches its deadline. `retry_if` has no counterpart, since a predicate
/// cannot cross ranks: every exception is retried.
///
/// ```cpp
/// auto f = executor.submit({.retries = 2, .timeout = 30s}, simulate, params);
/// ```
struct TaskOptions {
  /// Calls of the task that throws again before it fails.
  std::size_t retries = 0;
  /// The delay before each retry, as `mpp::ApplyOptions::backoff`.
  Backoff backoff = {};
  /// The task's time limit, counted on its worker from its start and covering its retries: its
  /// stop token is set then (`mpp::this_task::stop_requested()`), and it fails with
  /// `mpp::TaskTimeoutError` (a `RemoteError` naming that type on the root). Must be positive.
  std::optional<std::chrono::nanoseconds> timeout = std::nullopt;
};

}  // namespace mpp::mpi
