#pragma once
/// @file
/// `mpp::mpi::Executor`: `mpi4py.futures.MPIPoolExecutor` for programs where the root drives and
/// the other ranks serve.

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/continuation.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/executor_input.hpp"
#include "mpp/mpi/detail/executor_maps.hpp"
#include "mpp/mpi/detail/registry.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/executor_options.hpp"
#include "mpp/mpi/future.hpp"
#include "mpp/mpi/map_results.hpp"
#include "mpp/mpi/transfer.hpp"

namespace mpp::mpi {

/// mpi4py's `get_comm_workers()`: inside a task sent by `Executor::submit_parallel`, a
/// communicator of the workers running that call's tasks, one task per worker, so that they can
/// compute one MPI-parallel job together (collectives, point to point). Rank r of it is the
/// task of future r. Throws `mpp::mpi::UsageError` anywhere else. The communicator belongs to
/// the executor: do not free it.
///
/// ```cpp
/// double step(double x) {
///   double sum = 0;
///   MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, mpp::mpi::comm_workers());
///   return sum;
/// }
/// ```
MPI_Comm comm_workers();

/// `mpi4py.futures.MPIPoolExecutor` in the shape of `srun python -m mpi4py.futures prog.py`:
/// every rank starts the same program and registers the same functions by name; the root
/// (rank 0) submits tasks and maps, the other ranks serve them until the root shuts down, each
/// running the tasks it receives on its local `mpp::Pool` (4 × its threads in flight, up to 64 ×
/// for a function whose tasks have taken under 60 µs). Functions are not shipped, only their
/// registered index and their encoded arguments, which (like the results) must be
/// `mpp::mpi::transferable`.
///
/// ```cpp
/// mpp::mpi::Environment env(argc, argv);
/// mpp::mpi::Executor executor;
/// executor.register_function("count_primes", count_primes);
/// if (executor.serve()) return 0;                // the other ranks serve here until shutdown
/// auto f = executor.submit(count_primes, 0L, 1000L);
/// auto flags = executor.map(is_prime, candidates, {.chunksize = 100});
/// std::printf("%ld\n", f.get());
/// executor.shutdown();                           // or at the end of its scope
/// ```
///
/// With one rank, the root runs the tasks on its own local pool. The root does not compute
/// tasks when there are workers. If a task throws, its future throws `RemoteError` (rank, host,
/// item, type, message). Construction is collective; one thread per rank uses the executor.
class Executor {
 public:
  /// An executor on `MPI_COMM_WORLD`, `mpp::available_cpus()` threads per rank.
  Executor() : Executor(ExecutorOptions{}) {}
  /// An executor as `options` say.
  explicit Executor(const ExecutorOptions& options)
      : core_(std::make_unique<detail::ExecutorCore>(
            options.comm, options.threads, options.initializer, detail::max_workers_of(options),
            options.root_computes, options.root)) {}
  /// On the root: `shutdown(true)`, i.e. waits for every task and releases the workers.
  ~Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// This rank in the communicator the executor was given (`ExecutorOptions::comm`).
  int rank() const noexcept { return core_->rank(); }
  /// The number of ranks (workers are `size() - 1`, or the root itself with one rank).
  int size() const noexcept { return core_->size(); }
  /// Whether this rank drives (`ExecutorOptions::root`, rank 0 by default).
  bool is_root() const noexcept { return core_->is_root(); }

  /// Registers `f` (a function pointer, or a non-generic lambda / functor) under `name`. Call it
  /// on every rank with the same functions in the same order, before `serve()` and `submit`.
  /// Throws `std::invalid_argument` if `name` is taken.
  template <class F>
  void register_function(const std::string& name, F f) {
    core_->bind_key(detail::key_of(f), core_->add(detail::make_entry(name, f)));
  }

  /// On a worker: serves tasks until the root shuts the executor down, then returns true. On the
  /// root: returns false at once. `if (executor.serve()) return 0;`
  bool serve() { return core_->serve(); }

  /// Root: schedules `f(args...)` on a worker and returns its `Future` (Python's `submit`). `f`
  /// must be registered; `args` are converted to its parameter types and encoded.
  template <class F, class... Args>
  [[nodiscard]] auto submit(F f, Args&&... args) {
    return remote<detail::result_t<F>>(submit_slot(std::nullopt, f, std::forward<Args>(args)...));
  }

  /// `submit` with retries and a time limit, which the worker applies (see `TaskOptions`).
  /// Throws `std::invalid_argument` for a negative backoff or a time limit that is not positive.
  template <class F, class... Args>
  [[nodiscard]] auto submit(const TaskOptions& options, F f, Args&&... args) {
    return remote<detail::result_t<F>>(
        submit_slot(detail::policy_of(options), f, std::forward<Args>(args)...));
  }

  /// Root: `f(args...)` once on every worker that gets tasks (the root itself with one rank),
  /// all sent at once whatever their load, for a job that is itself MPI-parallel: inside `f`,
  /// `mpp::mpi::comm_workers()` is a communicator of exactly these tasks (mpi4py's
  /// `get_comm_workers()`). Returns one future per worker, in the workers' rank order. Needs
  /// `MPI_THREAD_MULTIPLE` (the tasks call MPI from pool threads): with less, throws
  /// `mpp::mpi::UsageError`. Other tasks may run beside them on the workers' pools.
  ///
  /// ```cpp
  /// auto parts = executor.submit_parallel(step, 1.0);  // one per worker
  /// for (auto& p : parts) total += p.get();
  /// ```
  template <class F, class... Args>
  [[nodiscard]] auto submit_parallel(F f, Args&&... args) {
    using Traits = detail::callable<F>;
    using R = std::decay_t<typename Traits::result>;
    using Params = typename Traits::args;
    static_assert(Traits::arity == sizeof...(Args),
                  "mpp::mpi::Executor::submit_parallel: wrong number of arguments for this "
                  "function");
    const std::size_t index = core_->find(detail::key_of(f), "submit_parallel");
    detail::Writer writer(detail::frame_prefix, /*borrow=*/false);  // copied for each worker
    writer.tuple(Params(std::forward<Args>(args)...));
    std::vector<Future<R>> futures;
    for (auto& slot : core_->submit_parallel(index, std::move(writer).take_message())) {
      futures.push_back(remote<R>(std::move(slot)));
    }
    return futures;
  }

  /// Python's `Pool.apply`: `f(args...)` on a worker, waited for (`submit(f, args...).get()`).
  template <class F, class... Args>
  auto apply(F f, Args&&... args) {
    return submit(f, std::forward<Args>(args)...).get();
  }
  /// `apply` with retries and a time limit (see `TaskOptions`).
  template <class F, class... Args>
  auto apply(const TaskOptions& options, F f, Args&&... args) {
    return submit(options, f, std::forward<Args>(args)...).get();
  }

  /// Python's `Pool.apply_async`: the same as `submit`, so that code written for `mpp::Pool`
  /// runs on the executor by changing the type it is given.
  template <class F, class... Args>
  [[nodiscard]] auto apply_async(F f, Args&&... args) {
    return submit(f, std::forward<Args>(args)...);
  }
  /// `apply_async` with retries and a time limit (see `TaskOptions`).
  template <class F, class... Args>
  [[nodiscard]] auto apply_async(const TaskOptions& options, F f, Args&&... args) {
    return submit(options, f, std::forward<Args>(args)...);
  }
  /// `apply_async` with Python's `callback` / `error_callback` (`mpp::callbacks`): one of them
  /// runs on the root's pool once the task is done, before the returned future is (a
  /// cancelled task calls neither). Cancelling the returned future cancels the task if it has
  /// not started.
  template <class C, class E, class F, class... Args>
  [[nodiscard]] auto apply_async(Callbacks<C, E> on_done, F f, Args&&... args) {
    return with_callbacks<detail::result_t<F>>(
        submit_slot(std::nullopt, f, std::forward<Args>(args)...), std::move(on_done));
  }
  /// `apply_async` with options and callbacks.
  template <class C, class E, class F, class... Args>
  [[nodiscard]] auto apply_async(const TaskOptions& options, Callbacks<C, E> on_done, F f,
                                 Args&&... args) {
    return with_callbacks<detail::result_t<F>>(
        submit_slot(detail::policy_of(options), f, std::forward<Args>(args)...),
        std::move(on_done));
  }

  /// Python's `Pool.map_async`: one future of every result of `f` over `items`, in input order.
  /// The input is read and its chunks queued at once (`buffersize`, `unordered` and `timeout`
  /// do not apply; use `get(timeout)`); the future fails with the first failure (naming the
  /// item), and cancelling it cancels the chunks that have not started. `retries`, `backoff`
  /// and `task_timeout` apply to each item.
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto map_async(F f, Range&& items, const ExecutorMapOptions& options = {}) {
    return remote<std::vector<detail::result_t<F>>>(
        map_slot(f, std::forward<Range>(items), options));
  }
  /// `map_async` with Python's `callback` / `error_callback`, which gets the whole vector.
  template <class F, class Range, class C, class E>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto map_async(F f, Range&& items, const ExecutorMapOptions& options,
                               Callbacks<C, E> on_done) {
    return with_callbacks<std::vector<detail::result_t<F>>>(
        map_slot(f, std::forward<Range>(items), options), std::move(on_done));
  }
  /// Python's `Pool.starmap_async`: `map_async` over tuples of arguments (see `starmap`).
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto starmap_async(F f, Range&& items, const ExecutorMapOptions& options = {}) {
    return remote<std::vector<detail::result_t<F>>>(
        starmap_slot(f, std::forward<Range>(items), options));
  }
  /// `starmap_async` with Python's `callback` / `error_callback`.
  template <class F, class Range, class C, class E>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto starmap_async(F f, Range&& items, const ExecutorMapOptions& options,
                                   Callbacks<C, E> on_done) {
    return with_callbacks<std::vector<detail::result_t<F>>>(
        starmap_slot(f, std::forward<Range>(items), options), std::move(on_done));
  }

  /// Python's `Pool.imap`: `map`, which is lazy already, in input order.
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto imap(F f, Range&& items, ExecutorMapOptions options = {}) {
    detail::refuse_checkpoint(options, "imap");
    options.unordered = false;
    return map(f, std::forward<Range>(items), options);
  }
  /// Python's `Pool.imap_unordered`: `map` in completion order.
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto imap_unordered(F f, Range&& items, ExecutorMapOptions options = {}) {
    detail::refuse_checkpoint(options, "imap_unordered");
    options.unordered = true;
    return map(f, std::forward<Range>(items), options);
  }
  /// mpi4py.util.pool's `istarmap`: `starmap`, lazy, in input order.
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto istarmap(F f, Range&& items, ExecutorMapOptions options = {}) {
    detail::refuse_checkpoint(options, "istarmap");
    options.unordered = false;
    return starmap(f, std::forward<Range>(items), options);
  }
  /// mpi4py.util.pool's `istarmap_unordered`: `starmap` in completion order.
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto istarmap_unordered(F f, Range&& items, ExecutorMapOptions options = {}) {
    detail::refuse_checkpoint(options, "istarmap_unordered");
    options.unordered = true;
    return starmap(f, std::forward<Range>(items), options);
  }

  /// Python's `Pool.close`: accepts no more tasks; those submitted go on (`shutdown(false)`).
  void close() { core_->shutdown(/*wait=*/false, /*cancel_futures=*/false); }
  /// Python's `Pool.join`: waits for every task and releases the workers. Throws
  /// `mpp::PoolStateError` unless `close()` or `terminate()` came first, as Python does.
  void join() {
    if (!core_->closed()) {
      throw PoolStateError(
          "mpp::mpi::Executor::join: call close() or terminate() first (as Python's Pool.join "
          "requires), or shutdown(), which does both");
    }
    core_->shutdown(/*wait=*/true, /*cancel_futures=*/false);
  }
  /// Python's `Pool.terminate`: cancels the tasks not started, waits for those running (a
  /// worker's thread cannot be killed) and releases the workers
  /// (`shutdown(true, true)`).
  void terminate() { core_->shutdown(/*wait=*/true, /*cancel_futures=*/true); }

  /// Root: applies a registered one-argument `f` to every item, `chunksize` items per task
  /// message, lazily: returns a `MapResults` range that yields the results in input order (or
  /// completion order with `unordered`) while at most `buffersize` tasks are in flight, so an
  /// unbounded input runs in bounded memory. Convert it to a `std::vector` to read them all. The
  /// range `items` must outlive the results when it is not a view or an rvalue.
  ///
  /// ```cpp
  /// std::vector<bool> flags = executor.map(is_prime, candidates, {.chunksize = 100});
  /// for (double r : executor.map(simulate, std::views::iota(0))) if (r < 1e-6) break;
  /// ```
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto map(F f, Range&& items, const ExecutorMapOptions& options = {}) {
    using Traits = detail::callable<F>;
    using R = std::decay_t<typename Traits::result>;
    static_assert(Traits::arity == 1, "mpp::mpi::Executor::map: f must take one argument");
    using A = std::tuple_element_t<0, typename Traits::args>;
    detail::check_map_options(options, "map");
    const std::size_t index = core_->find(detail::key_of(f), "map");
    return detail::lazy_map<R, A>(*core_, index, 1, std::forward<Range>(items), options, "map");
  }

  /// Root: `map` for a function of several arguments, each item a tuple of them (mpi4py's
  /// `starmap`, Python's `itertools.starmap`): `f(a, b)` for each `{a, b}`. Items may be any
  /// tuple-like values convertible to a `std::tuple` of `f`'s parameters (`std::pair` for two).
  ///
  /// ```cpp
  /// std::vector<std::pair<long, long>> ranges = {{0, 1000}, {1000, 2000}};
  /// std::vector<long> counts = executor.starmap(count_primes, ranges);
  /// ```
  template <class F, class Range>
  requires std::ranges::input_range<Range>
  [[nodiscard]] auto starmap(F f, Range&& items, const ExecutorMapOptions& options = {}) {
    using Traits = detail::callable<F>;
    using R = std::decay_t<typename Traits::result>;
    using Args = typename Traits::args;
    static_assert(Traits::arity >= 1 && !std::is_void_v<R>,
                  "mpp::mpi::Executor::starmap: f must take arguments and return a value");
    static_assert(mpp::mpi::transferable<Args>,
                  "mpp::mpi::Executor::starmap: the tuple of f's parameters must cross ranks: "
                  "every parameter must be serializable by cereal");
    detail::check_map_options(options, "starmap");
    const std::size_t index = core_->find(detail::key_of(f), "starmap");
    return detail::lazy_map<R, Args>(*core_, index, 2, std::forward<Range>(items), options,
                                     "starmap");
  }

  /// The number of ranks that run tasks (mpi4py's `num_workers`): the workers, at most
  /// `max_workers` of them, and the root too if it computes; 1 with a single rank, whose root
  /// runs them on its own pool.
  int num_workers() const noexcept { return core_->computing_ranks(); }

  /// Root: accepts no more tasks. With `cancel_futures`, tasks not started yet (still in the
  /// root's queue, whatever the number of ranks) are cancelled. With `wait`, returns once every
  /// task has finished and the workers were released from `serve()`; without, the rest happens
  /// while futures are waited on and at destruction.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    core_->shutdown(wait, cancel_futures);
  }

 private:
  // map_async's chunks, queued; the slot of all their results.
  template <class F, class Range>
  std::shared_ptr<detail::TaskSlot> map_slot(F f, Range&& items,
                                             const ExecutorMapOptions& options) {
    using Traits = detail::callable<F>;
    using R = std::decay_t<typename Traits::result>;
    static_assert(Traits::arity == 1, "mpp::mpi::Executor::map_async: f must take one argument");
    using A = std::tuple_element_t<0, typename Traits::args>;
    detail::check_map_options(options, "map_async");
    const std::size_t index = core_->find(detail::key_of(f), "map_async");
    return detail::whole_map<R, A>(*core_, index, 1, std::forward<Range>(items), options,
                                   "map_async");
  }
  // starmap_async's chunks, queued; the slot of all their results.
  template <class F, class Range>
  std::shared_ptr<detail::TaskSlot> starmap_slot(F f, Range&& items,
                                                 const ExecutorMapOptions& options) {
    using Traits = detail::callable<F>;
    using R = std::decay_t<typename Traits::result>;
    using Args = typename Traits::args;
    static_assert(Traits::arity >= 1 && !std::is_void_v<R>,
                  "mpp::mpi::Executor::starmap_async: f must take arguments and return a value");
    detail::check_map_options(options, "starmap_async");
    const std::size_t index = core_->find(detail::key_of(f), "starmap_async");
    return detail::whole_map<R, Args>(*core_, index, 2, std::forward<Range>(items), options,
                                      "starmap_async");
  }

  // `source`, with Python's callbacks run on the root's pool before the returned future is
  // done; cancelling it cancels `source` if it has not started.
  template <class T, class C, class E>
  Future<T> with_callbacks(std::shared_ptr<detail::TaskSlot> source, Callbacks<C, E> on_done) {
    return remote<T>(detail::callback_slot<T>(*core_, std::move(source), std::move(on_done)));
  }

  // The result that completes with `slot`.
  template <class T>
  Future<T> remote(std::shared_ptr<detail::TaskSlot> slot) {
    return detail::RemoteResult<T>::make(*core_, std::move(slot));
  }
  // Queues `f(args...)`; the slot of the task.
  template <class F, class... Args>
  std::shared_ptr<detail::TaskSlot> submit_slot(const std::optional<detail::WirePolicy>& policy,
                                                F f, Args&&... args) {
    using Traits = detail::callable<F>;
    using Params = typename Traits::args;
    static_assert(Traits::arity == sizeof...(Args),
                  "mpp::mpi::Executor::submit: wrong number of arguments for this function");
    const std::size_t index = core_->find(detail::key_of(f), "submit");
    // The arguments are converted (and so copied or moved) now, as Python pickles them at
    // submit; a large one is then sent from the converted value's own storage, or handed to
    // the task when the root runs it.
    detail::Writer writer(policy ? detail::policy_prefix : detail::frame_prefix, /*borrow=*/true);
    writer.tuple(Params(std::forward<Args>(args)...));
    detail::Message message = std::move(writer).take_message();
    if (policy) detail::write_policy(message, *policy);
    return core_->submit(index, policy ? static_cast<int>(detail::kind_with_policy) : 0,
                         std::move(message), static_cast<std::int64_t>(next_task_++));
  }

  std::unique_ptr<detail::ExecutorCore> core_;
  std::uint64_t next_task_ = 0;
};

}  // namespace mpp::mpi
