#pragma once
/// @file
/// Options of `mpp::Pool` and of its map calls, as aggregates so that C++20 designated
/// initializers read like Python's keyword arguments: `pool.map(f, xs, {.chunksize = 8})`.
///
/// Every member has a default member initializer, so naming only some of them does not trigger
/// g++'s `-Wmissing-field-initializers` under `-Wextra`.

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace mpp {

/// How the items of a map become chunks and how chunks reach threads.
enum class schedule {
  /// oneTBB's adaptive work stealing (`auto_partitioner`): ranges are split on demand when idle
  /// threads steal. Best for irregular work and the default. With `chunksize`, every chunk has
  /// exactly that many items and chunks are stolen one by one.
  adaptive,
  /// One contiguous block per thread, decided up front (OpenMP `schedule(static)`). Cheapest when
  /// every item costs the same.
  static_,
  /// Fixed chunks of `chunksize` items (default 1) claimed on demand from a shared counter
  /// (OpenMP `schedule(dynamic, chunksize)`, ipyparallel's load balancing).
  dynamic,
  /// Python's `Pool.map` default: chunks of `ceil(n / (4 × threads))` items claimed on demand.
  /// An explicit `chunksize` overrides the size, as in Python.
  python,
};

/// How long to wait before each retry (`MapOptions::backoff`, `ApplyOptions::backoff`): `initial`
/// before the first retry, then `multiplier` times the previous delay, at most `max`. With
/// `jitter`, each delay is drawn uniformly from [delay / 2, delay], so that items failing
/// together (a file server that went away) do not all retry at the same moment.
///
/// ```cpp
/// pool.map(fetch, urls, {.retries = 5, .backoff = {.initial = 10ms, .multiplier = 2, .max = 1s}});
/// pool.apply_async({.retries = 3, .backoff = {.initial = 100ms}}, fetch, url);  // fixed delay
/// ```
///
/// The delay is spent on the worker thread that runs the item, which then runs nothing else: a
/// map's items run inside oneTBB's `parallel_for`, which has no way to hand an item back to run
/// later. The wait ends early when the pool is terminated or the item's deadline passes, and then
/// no retry follows. Keep delays short next to the work, or use fewer items with longer delays.
struct Backoff {
  /// The delay before the first retry; zero (the default) retries at once.
  std::chrono::nanoseconds initial = std::chrono::nanoseconds::zero();
  /// Each later delay is the previous one times this (1: a fixed delay). Must be at least 1.
  double multiplier = 1.0;
  /// No delay is longer than this.
  std::chrono::nanoseconds max = std::chrono::seconds(60);
  /// Draw each delay from [delay / 2, delay] instead of waiting exactly `delay`.
  bool jitter = false;
};

/// Which exceptions are worth a retry (`MapOptions::retry_if`, `ApplyOptions::retry_if`): called
/// with the exception a call threw; true retries it, false fails the item at once. Empty (the
/// default): every exception is retried. Called on the worker thread, possibly by several at
/// once. If it throws, the item fails with that exception.
///
/// ```cpp
/// auto transient = [](const std::exception_ptr& e) {
///   try { std::rethrow_exception(e); } catch (const std::system_error&) { return true; }
///   catch (...) { return false; }
/// };
/// ```
using RetryPredicate = std::function<bool(const std::exception_ptr&)>;

/// Options of `map`, `map_async`, `starmap`, `starmap_async`, `imap` and `imap_unordered`.
///
/// ```cpp
/// pool.map(f, xs, {.chunksize = 8});
/// pool.map(f, xs, {.schedule = mpp::schedule::dynamic});
/// for (auto r : pool.imap(f, std::views::iota(0), {.chunksize = 64, .buffersize = 16})) ...
/// ```
///
/// What happens when a call throws is not an option here but a tag before the function, since it
/// changes the result's type: by default the first exception ends the map and is rethrown
/// (Python's behaviour); `pool.map(mpp::on_error::collect, f, xs)` runs every item and returns
/// `mpp::Outcome`s (see `mpp/outcome.hpp`).
struct MapOptions {
  /// Items per chunk, Python's `chunksize`. Unset: chosen by `schedule` (adaptive splitting, one
  /// block per thread, 1 for `dynamic`, Python's formula for `python`, 1 for `imap`). Must be
  /// positive when given.
  std::optional<std::size_t> chunksize = std::nullopt;
  /// How chunks are formed and handed to threads; see `mpp::schedule`.
  mpp::schedule schedule = mpp::schedule::adaptive;
  /// `imap` only: at most this many chunks are in flight ahead of the consumer (Python 3.16's
  /// `buffersize`), so memory stays bounded on unbounded inputs. Unset: 4 × threads. Must be
  /// positive when given.
  std::optional<std::size_t> buffersize = std::nullopt;
  /// A call that throws is run again, up to this many more times, and only its last exception is
  /// delivered (ipyparallel's `retries`). No retry once the pool is terminated.
  std::size_t retries = 0;
  /// Retry only the exceptions this accepts (Ray's `retry_exceptions`); see `RetryPredicate`.
  RetryPredicate retry_if = {};
  /// The delay before each retry; see `Backoff`. No delay by default.
  Backoff backoff = {};
  /// A time limit for each item, counted from when its call starts and covering its retries and
  /// their delays. At the limit the item's stop token is set (`mpp::this_task::stop_requested()`
  /// turns true) and no more retries start; whether it then returns or throws, the item
  /// fails with `mpp::TaskTimeoutError` naming the item, how long it ran and the limit. A thread
  /// cannot be killed: an item that never looks at its stop token runs to its end, holding its
  /// thread, and is reported overdue (by how much) in that error when it finishes. With
  /// `mpp::on_error::collect` the item becomes an error outcome and the map goes on; otherwise
  /// the map fails as with any exception. The limit belongs to the item: work it submits (a
  /// nested map or `apply_async`) has its own limits, and only sees the pool's stop. One timer
  /// thread per pool watches all deadlines; each item with a deadline costs an allocation for its
  /// stop token and a visit to the timer's lock (about 0.2 µs in all).
  ///
  /// ```cpp
  /// auto out = pool.map(mpp::on_error::collect, simulate, grid, {.task_timeout = 30s});
  /// ```
  std::optional<std::chrono::nanoseconds> task_timeout = std::nullopt;
  /// `map`, `map_async` and `starmap` only: a journal file where finished chunks are saved. A
  /// rerun of the same map (same inputs, result type and function) after a crash, kill or
  /// `mpp::InterruptedError` returns the same results and computes only what the journal lacks; a
  /// journal of another map is refused with `mpp::CheckpointError` saying what differs, as is a
  /// journal another map is writing (it is locked). Every finished chunk reaches the kernel at
  /// once (a killed process loses none) and the disk within a second (a node crash loses at
  /// most that). While such a map runs, the first SIGINT or SIGTERM stops it: running chunks
  /// finish and are saved, then it throws `mpp::InterruptedError`; a second one ends the process at
  /// once, as it would without mpp. The application's signal handlers are restored afterwards,
  /// and a signal it ignores stays ignored. Results and inputs must be serializable by cereal;
  /// chunks default to `ceil(n / 1024)` items. The journal is kept after success (a rerun then
  /// computes nothing): delete it when done.
  std::string checkpoint = {};
  /// With `checkpoint`: names the computation, e.g. `"simulate v3"`; a journal written under
  /// another tag is refused. Unset, the function's type (`typeid`) names it, which tells
  /// lambdas and function objects apart but not two plain functions of one signature, and
  /// changes when a lambda moves in the code. Set it to resume a journal across such edits and
  /// rebuilds, and change it whenever the function's results change.
  ///
  /// ```cpp
  /// pool.map(simulate, xs, {.checkpoint = "run.journal", .checkpoint_tag = "simulate v3"});
  /// ```
  std::string checkpoint_tag = {};
  /// Called with (items done, total items) as the map advances: (0, n) first, then growing
  /// counts as chunks finish, each thread adding its count about every 50 ms (so a map of short
  /// items pays for a few calls, not one per chunk; with a checkpoint, only at the start and the
  /// end), and (n, n) once before the map returns. It runs on whichever thread finished a chunk,
  /// never on two threads at once, and should return quickly; if it throws, the map fails with
  /// that exception.
  /// `mpp::progress_bar()` draws a bar like Python's tqdm. `imap` and `imap_unordered` count the
  /// results handed to the loop, on its thread, with `mpp::unknown_total` as the total while an
  /// unsized input has not run out; see `ResultStream`.
  std::function<void(std::size_t done, std::size_t total)> progress = {};
};

/// Options of `apply_async`, given before the function:
/// `pool.apply_async({.retries = 3}, fetch, url)`.
struct ApplyOptions {
  /// As `MapOptions::retries`. With retries the arguments are passed as lvalues, so that every
  /// attempt sees the same values.
  std::size_t retries = 0;
  /// As `MapOptions::retry_if`.
  RetryPredicate retry_if = {};
  /// As `MapOptions::backoff`.
  Backoff backoff = {};
  /// As `MapOptions::task_timeout`, for this task: at the limit its stop token is set, and it
  /// completes with `mpp::TaskTimeoutError` when it returns or throws. The time counts from when
  /// the task starts running, not from its submission.
  std::optional<std::chrono::nanoseconds> timeout = std::nullopt;
};

/// What a pool reports, through `PoolOptions::on_overdue`, of a task past its time limit
/// (`MapOptions::task_timeout`, `ApplyOptions::timeout`).
struct Overdue {
  /// The item's position in its map's input; none for an `apply_async` task.
  std::optional<std::size_t> index;
  /// The task's time limit.
  std::chrono::nanoseconds limit{};
  /// How long the task had run when this report was made.
  std::chrono::nanoseconds elapsed{};
  /// False: the limit has just passed, the task's stop token is set, and it is still running.
  /// True: the task has ended, `elapsed - limit` after its limit.
  bool ended = false;
};

/// Options of `mpp::Pool`, mirroring `multiprocessing.Pool(processes, initializer)`.
///
/// ```cpp
/// mpp::Pool pool({.threads = 4, .initializer = [] { seed_rng(); }});
/// ```
struct PoolOptions {
  /// Number of worker threads; unset means `mpp::available_cpus()`. Must be positive.
  std::optional<int> threads = std::nullopt;
  /// Runs once on each thread before its first task of this pool (Python's `initializer`; bind
  /// arguments with a lambda). If it throws, the pool runs no more tasks and reports
  /// `mpp::InitializerError` to every later call.
  std::function<void()> initializer = {};
  /// Linux: CPU placement. When on, a worker draining this pool's `apply_async` queue that
  /// shares its CPU with another such worker, while a CPU of its affinity mask has none, moves
  /// itself there (it pins itself for a moment, then gets its own mask back). Off by default: the
  /// kernel places the threads. Unset: on when the environment variable `MPP_PLACEMENT` is `1`,
  /// off when it is unset, empty or `0` (any other value throws `std::invalid_argument`).
  /// `true` or `false` here overrides the variable.
  ///
  /// ```cpp
  /// mpp::Pool pool({.threads = 2, .placement = true});
  /// ```
  std::optional<bool> placement = std::nullopt;
  /// Called when a task passes its time limit (`ended` false: it is still running, its stop
  /// token now set) and again when such a task ends (`ended` true): the log of stuck tasks, since
  /// a thread that ignores its stop token cannot be killed. The first call comes from the pool's
  /// timer thread, the second from the task's thread; keep it short. An exception it throws is
  /// written to stderr, and the pool goes on.
  ///
  /// ```cpp
  /// mpp::Pool pool({.on_overdue = [](const mpp::Overdue& o) {
  ///   if (!o.ended) std::clog << "item " << o.index.value_or(0) << " is stuck\n";
  /// }});
  /// ```
  std::function<void(const Overdue&)> on_overdue = {};
};

}  // namespace mpp
