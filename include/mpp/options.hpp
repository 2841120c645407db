#pragma once
/// @file
/// Options of `mpp::Pool` and of its map calls, as aggregates so that C++20 designated
/// initializers read like Python's keyword arguments: `pool.map(f, xs, {.chunksize = 8})`.
///
/// Every member has a default member initializer, so naming only some of them does not trigger
/// g++'s `-Wmissing-field-initializers` under `-Wextra`.

#include <cstddef>
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

/// Options of `map`, `map_async`, `starmap`, `starmap_async`, `imap` and `imap_unordered`.
///
/// ```cpp
/// pool.map(f, xs, {.chunksize = 8});
/// pool.map(f, xs, {.schedule = mpp::schedule::dynamic});
/// for (auto r : pool.imap(f, std::views::iota(0), {.chunksize = 64, .buffersize = 16})) ...
/// ```
struct MapOptions {
  /// Items per chunk, Python's `chunksize`. Unset: chosen by `schedule` (adaptive splitting, one
  /// block per thread, 1 for `dynamic`, Python's formula for `python`, 1 for `imap`). Must be
  /// positive when given.
  std::optional<std::size_t> chunksize = std::nullopt;
  /// How chunks are formed and handed to threads; see `mpp::schedule`.
  mpp::schedule schedule = mpp::schedule::adaptive;
  /// `imap` only: at most this many chunks are in flight ahead of the consumer (Python 3.15's
  /// `buffersize`), so memory stays bounded on unbounded inputs. Unset: 4 × threads. Must be
  /// positive when given.
  std::optional<std::size_t> buffersize = std::nullopt;
  /// A call that throws is run again, up to this many more times, and only its last exception is
  /// delivered (ipyparallel's `retries`). No retry once the pool is terminated.
  std::size_t retries = 0;
  /// `map`, `map_async` and `starmap` only: a journal file where finished chunks are saved. A
  /// rerun of the same map (same inputs, result type and function) after a crash, kill or
  /// `mpp::Interrupted` returns the same results and computes only what the journal lacks; a
  /// journal of another map is refused with `mpp::CheckpointError` saying what differs, as is a
  /// journal another map is writing (it is locked). Every finished chunk reaches the kernel at
  /// once (a killed process loses none) and the disk within a second (a node crash loses at
  /// most that). While such a map runs, the first SIGINT or SIGTERM stops it: running chunks
  /// finish and are saved, then it throws `mpp::Interrupted`; a second one ends the process at
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
};

}  // namespace mpp
