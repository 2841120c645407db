#pragma once
/// @file
/// `mpp::Pool`: Python's `multiprocessing.Pool` as a oneTBB work-stealing thread pool.

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/detail/checkpoint.hpp"
#include "mpp/detail/core.hpp"
#include "mpp/detail/function_task.hpp"
#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/detail/progress.hpp"
#include "mpp/options.hpp"
#include "mpp/outcome.hpp"
#include "mpp/stream.hpp"

namespace mpp {

namespace detail {
template <class F, class Range>
using map_result_t = std::decay_t<std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>>;

// Calls `f` with the elements of a tuple-like item: starmap's adapter.
template <class F>
struct Unpack {
  F f;
  template <class Tuple>
  decltype(auto) operator()(Tuple&& args) {
    return std::apply(f, std::forward<Tuple>(args));
  }
};

template <class T>
struct is_callbacks : std::false_type {};
template <class C, class E>
struct is_callbacks<Callbacks<C, E>> : std::true_type {};
}  // namespace detail

/// A range `map` accepts: its size is known up front (vectors, lists, `std::views::iota(0, n)`).
template <class Range>
concept sized_input = std::ranges::sized_range<Range> && std::ranges::input_range<Range>;

/// A function `map` can apply to each item of `Range`, returning a value.
template <class F, class Range>
concept mappable =
    std::ranges::input_range<Range> && std::invocable<F&, std::ranges::range_reference_t<Range>> &&
    !std::is_void_v<std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>>;

/// A function `transform` can apply to each item of `Range`, writing the result through `Out`, a
/// random-access iterator whose elements are distinct objects (`*it` is an lvalue reference), so
/// that threads can write neighbouring elements at once; this rules out proxies such as
/// `std::vector<bool>`'s.
template <class F, class Range, class Out>
concept transformable_into = std::ranges::input_range<Range> && std::random_access_iterator<Out> &&
    std::is_lvalue_reference_v<std::iter_reference_t<Out>> &&
    std::invocable<F&, std::ranges::range_reference_t<Range>> &&
    std::indirectly_writable<Out, std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>>;

/// A thread pool with the interface of Python's `multiprocessing.Pool`, running on a oneTBB
/// arena: work stealing balances irregular items, and several pools share TBB's threads instead
/// of oversubscribing the machine.
///
/// ```cpp
/// mpp::Pool pool;                                    // Pool()      : mpp::available_cpus()
/// std::vector<int> squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 100));
/// auto r = pool.apply_async(std::gcd<int, int>, 12, 18);
/// int g = r.get();
/// ```
///
/// Life cycle as in Python: running → `close()` (no new work; submitted work completes) or
/// `terminate()` (work not started is cancelled) → `join()`. The destructor closes and joins, so
/// submitted work is never abandoned. All members are thread-safe: several threads may submit at
/// once, and tasks may submit to and wait on their own pool (an untimed wait runs the awaited
/// task on the waiting thread if it has not started).
///
/// Work submitted from outside the pool is run first in, first out. Work a task of the pool
/// submits goes to the deque of the thread running that task, as with `tbb::task_group::run`:
/// that thread takes its newest first, idle threads steal the oldest, which makes recursive
/// programs (a task per call, each waiting for its children) as fast as hand-written oneTBB.
class Pool {
 public:
  /// `Pool()`: `mpp::available_cpus()` threads.
  Pool() : Pool(PoolOptions{}) {}
  /// `Pool(n)`: `threads` threads; throws `std::invalid_argument` if `threads <= 0`.
  explicit Pool(int threads) : Pool(PoolOptions{.threads = threads}) {}
  /// `Pool(n, initializer)`: see `PoolOptions`.
  explicit Pool(const PoolOptions& options) : core_(std::make_unique<detail::PoolCore>(options)) {}

  /// Closes the pool and waits for all submitted work (Python's `with Pool() as p:` exit calls
  /// `terminate`; mpp prefers never to drop work). Call `terminate()` first to cancel instead.
  ///
  /// When the destructor runs on one of the pool's own tasks (the task, or a callback, held the
  /// last `std::shared_ptr` to the pool), it cannot wait for itself: the pool closes, the work
  /// already submitted still runs, and the pool's threads and memory are freed when its last
  /// task returns.
  ///
  /// In a child process made by `fork()`, a pool inherited from the parent is leaked instead:
  /// its threads exist only in the parent (see `mpp::ForkError`).
  ~Pool() {
    if (core_->forked_away()) {  // in a forked child: its threads are in the parent, see ForkError
      (void)core_.release();
      return;
    }
    core_->close();
    if (detail::current_core() == core_.get()) {
      detail::PoolCore::free_when_idle(std::move(core_));
      return;
    }
    core_->join();
  }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// The number of worker threads, i.e. how many tasks run at once.
  int threads() const noexcept { return core_->threads(); }

  /// Runs `f(args...)` on the pool and returns its result (Python's `apply`); rethrows what it
  /// threw.
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto apply(F&& f, Args&&... args) {
    return apply_async(std::forward<F>(f), std::forward<Args>(args)...).get();
  }

  /// Submits `f(args...)` and returns its `AsyncResult` at once (Python's `apply_async`). `f`
  /// and `args` are copied or moved into the task, like `std::async`. From outside the pool the
  /// task joins a first-in, first-out queue; from one of the pool's own tasks it goes to the
  /// running thread's deque, to be run by that thread (newest first) or stolen by an idle one.
  ///
  /// ```cpp
  /// std::uint64_t fib(mpp::Pool& pool, int n) {  // a task per call, as with tbb::task_group
  ///   if (n < 2) return n;
  ///   auto child = pool.apply_async(fib, std::ref(pool), n - 1);
  ///   const std::uint64_t other = fib(pool, n - 2);
  ///   return child.get() + other;  // runs the child here unless another thread took it
  /// }
  /// ```
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  [[nodiscard]] auto apply_async(F&& f, Args&&... args) {
    return apply_async(ApplyOptions{}, mpp::callbacks(NoCallback{}), std::forward<F>(f),
                       std::forward<Args>(args)...);
  }

  /// `apply_async` with options: `pool.apply_async({.retries = 3}, f, x)`.
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  [[nodiscard]] auto apply_async(const ApplyOptions& options, F&& f, Args&&... args) {
    return apply_async(options, mpp::callbacks(NoCallback{}), std::forward<F>(f),
                       std::forward<Args>(args)...);
  }

  /// `apply_async` with Python's `callback` / `error_callback`, made by `mpp::callbacks`.
  template <class C, class E, class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  [[nodiscard]] auto apply_async(Callbacks<C, E> on_done, F&& f, Args&&... args) {
    return apply_async(ApplyOptions{}, std::move(on_done), std::forward<F>(f),
                       std::forward<Args>(args)...);
  }

  /// `apply_async` with options and callbacks.
  template <class C, class E, class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  [[nodiscard]] auto apply_async(const ApplyOptions& options, Callbacks<C, E> on_done, F&& f,
                                 Args&&... args) {
    using Fn = std::decay_t<F>;
    using R = std::decay_t<std::invoke_result_t<Fn, std::decay_t<Args>...>>;
    constexpr bool retryable = std::is_invocable_v<Fn&, std::decay_t<Args>&...>;
    if constexpr (!retryable) {
      if (options.retries != 0) {
        detail::throw_invalid_argument(
            "Pool::apply_async: retries need a function callable with lvalue arguments, so that "
            "every attempt sees the same values; take the arguments by value or const&");
      }
    }
    return submit<R>(
        "apply_async",
        [f = std::forward<F>(f), args = std::make_tuple(std::forward<Args>(args)...),
         policy = detail::shared_policy(options, core_.get(), "apply_async")]() mutable -> R {
          if (!policy) return std::apply(std::move(f), std::move(args));
          if constexpr (retryable) {
            if (policy->retries != 0) {
              return detail::run_item(*policy, std::nullopt,
                                      [&]() -> R { return std::apply(f, args); });
            }
          }
          // Only a deadline: the one call may take its arguments as rvalues.
          return detail::run_item(*policy, std::nullopt,
                                  [&]() -> R { return std::apply(std::move(f), std::move(args)); });
        },
        std::move(on_done));
  }

  /// Applies `f` to every item of `items` and returns the results in input order (Python's
  /// `map`). Blocks until done; the calling thread helps. `items` is any sized range and is
  /// neither copied nor modified. If a call throws, the map stops handing out chunks and rethrows
  /// that exception (the first one, with its type); chunks already running finish first.
  ///
  /// `f` is called concurrently from several threads and must allow that.
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range> std::vector<detail::map_result_t<F, Range>> map(
      F&& f, Range&& items, const MapOptions& options = {}) {
    return map_impl<false>("map", f, items, options);
  }

  /// `map` that keeps going when calls throw: every item runs, and the result holds one
  /// `mpp::Outcome` per item, in input order, with its value or its exception (a timed-out item,
  /// see `MapOptions::task_timeout`, holds `mpp::TaskTimeoutError`). Only a pool that stops
  /// (`terminate()`, a failed initializer) ends it early, with that exception.
  ///
  /// ```cpp
  /// auto out = pool.map(mpp::on_error::collect, simulate, grid, {.task_timeout = 10s});
  /// const auto failed = std::ranges::count_if(out, [](const auto& o) { return !o; });
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
      std::vector<Outcome<detail::map_result_t<F, Range>>> map(on_error::collect_t, F&& f,
                                                               Range&& items,
                                                               const MapOptions& options = {}) {
    return map_impl<true>("map", f, items, options);
  }

  /// `map` that returns at once with an `AsyncResult` of the whole vector (Python's
  /// `map_async`). `f` and `items` are copied or moved into the task; pass
  /// `std::views::all(items)` to share `items` instead, keeping it alive until the result is
  /// ready.
  template <class F, class Range, class C = NoCallback, class E = NoCallback>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] auto map_async(F&& f, Range&& items, const MapOptions& options = {},
                               Callbacks<C, E> on_done = {}) {
    return map_async_impl<false>(std::forward<F>(f), std::forward<Range>(items), options,
                                 std::move(on_done));
  }

  /// `map_async` that keeps going when calls throw, as `map(mpp::on_error::collect, ...)`: the
  /// result holds a `std::vector<mpp::Outcome<R>>`.
  template <class F, class Range, class C = NoCallback, class E = NoCallback>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] auto map_async(on_error::collect_t, F&& f, Range&& items,
                               const MapOptions& options = {}, Callbacks<C, E> on_done = {}) {
    return map_async_impl<true>(std::forward<F>(f), std::forward<Range>(items), options,
                                std::move(on_done));
  }

  /// `map` over tuple-like items, calling `f(std::get<0>(t), std::get<1>(t), ...)` (Python's
  /// `starmap`).
  template <class F, class Range>
  requires sized_input<Range> && mappable<detail::Unpack<F&>, Range>
  auto starmap(F&& f, Range&& items, const MapOptions& options = {}) {
    detail::Unpack<F&> unpack{f};
    return map_impl<false>("starmap", unpack, items, options);
  }

  /// `starmap` that keeps going when calls throw, as `map(mpp::on_error::collect, ...)`.
  template <class F, class Range>
  requires sized_input<Range> && mappable<detail::Unpack<F&>, Range>
  auto starmap(on_error::collect_t, F&& f, Range&& items, const MapOptions& options = {}) {
    detail::Unpack<F&> unpack{f};
    return map_impl<true>("starmap", unpack, items, options);
  }

  /// `starmap` returning an `AsyncResult` (Python's `starmap_async`); copies as `map_async`.
  template <class F, class Range, class C = NoCallback, class E = NoCallback>
  requires sized_input<Range> && mappable<detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] auto starmap_async(F&& f, Range&& items, const MapOptions& options = {},
                                   Callbacks<C, E> on_done = {}) {
    return map_async(detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                     std::forward<Range>(items), options, std::move(on_done));
  }

  /// `starmap_async` that keeps going when calls throw, as `map(mpp::on_error::collect, ...)`.
  template <class F, class Range, class C = NoCallback, class E = NoCallback>
  requires sized_input<Range> && mappable<detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] auto starmap_async(on_error::collect_t, F&& f, Range&& items,
                                   const MapOptions& options = {}, Callbacks<C, E> on_done = {}) {
    return map_async(on_error::collect, detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                     std::forward<Range>(items), options, std::move(on_done));
  }

  /// Writes `f(x)` for each item `x` of `items` into `out`, in input order, and returns the end
  /// of what it wrote: `std::transform` run by the pool, for a caller who reuses its buffers
  /// instead of receiving a new vector from `map`. Blocks until done; the calling thread helps.
  ///
  /// ```cpp
  /// std::vector<double> out(xs.size());     // allocated once ...
  /// for (int step = 0; step < steps; ++step)
  ///   pool.transform(xs, out, [](double x) { return 2 * x; });  // ... filled every step
  /// pool.transform(xs, xs, f);             // in place, as std::transform allows
  /// ```
  ///
  /// - `items`: any sized range, as for `map`; neither copied nor modified (unless it is `out`).
  /// - `out`: a sized random-access range (a vector, array, `std::span`) of at least
  ///   `size(items)` elements; the first `size(items)` are assigned, the rest left alone.
  ///   Too small throws `std::invalid_argument` naming both sizes, before any call of `f`.
  ///   `out` may be `items` itself; any other overlap of the two is undefined.
  /// - `f`: called concurrently from several threads with each item, and must allow that.
  /// - `options`: `chunksize`, `schedule`, `retries` and `progress` as for `map`; `buffersize`
  ///   is ignored; a `checkpoint` throws `std::invalid_argument` (the results live in the
  ///   caller's buffer, not in a vector the journal could rebuild).
  ///
  /// Returns `std::ranges::begin(out) + size(items)` (`std::ranges::dangling` for an rvalue
  /// container, as `std::ranges::transform` does). If a call of `f` throws, no more chunks are
  /// handed out and that exception (the first, with its type) is rethrown once running chunks
  /// finish; `out` then holds the results of the chunks that completed, and its other elements
  /// are unspecified (assigned or as they were). Thread-safe, like every member.
  template <class Range, std::ranges::random_access_range Out, class F>
  requires sized_input<Range> && std::ranges::sized_range<Out> &&
      transformable_into<F, Range, std::ranges::iterator_t<Out>>
          std::ranges::borrowed_iterator_t<Out> transform(Range&& items, Out&& out, F&& f,
                                                          const MapOptions& options = {}) {
    const auto n = static_cast<std::size_t>(std::ranges::size(items));
    detail::check_transform(options, n, static_cast<std::size_t>(std::ranges::size(out)));
    return transform_impl(f, items, std::ranges::begin(out), options);
  }

  /// `transform` into the elements starting at `out`, a random-access iterator (a pointer, a
  /// vector's `begin()`), which must have room for `size(items)` of them: as with
  /// `std::transform`, that size cannot be checked. Returns `out + size(items)`.
  ///
  /// ```cpp
  /// pool.transform(xs, buffer.data() + offset, f);
  /// ```
  template <class Range, std::random_access_iterator Out, class F>
  requires sized_input<Range> && transformable_into<F, Range, Out> Out
  transform(Range&& items, Out out, F&& f, const MapOptions& options = {}) {
    detail::check_transform(options, 0, std::nullopt);
    return transform_impl(f, items, std::move(out), options);
  }

  /// Lazily applies `f` to the items of any input range, yielding results in input order
  /// (Python's `imap`); see `ResultStream`. Works on unbounded and single-pass ranges; at most
  /// `options.buffersize` chunks of `options.chunksize` items (default 1) are in flight.
  /// An lvalue range is iterated in place and must outlive the stream; an rvalue is moved in.
  template <class F, std::ranges::viewable_range Range>
  requires std::ranges::input_range<Range> && mappable<std::decay_t<F>, Range>
  [[nodiscard]] auto imap(F&& f, Range&& items, const MapOptions& options = {}) {
    return make_stream<true, false>("imap", std::forward<F>(f), std::forward<Range>(items),
                                    options);
  }

  /// `imap` that keeps going when calls throw: it yields an `mpp::Outcome` per item, in input
  /// order, holding the value or the exception (`mpp::TaskTimeoutError` for an item past its
  /// `task_timeout`).
  ///
  /// ```cpp
  /// for (const mpp::Outcome<double>& o : pool.imap(mpp::on_error::collect, simulate, xs)) ...
  /// ```
  template <class F, std::ranges::viewable_range Range>
  requires std::ranges::input_range<Range> && mappable<std::decay_t<F>, Range>
  [[nodiscard]] auto imap(on_error::collect_t, F&& f, Range&& items,
                          const MapOptions& options = {}) {
    return make_stream<true, true>("imap", std::forward<F>(f), std::forward<Range>(items), options);
  }

  /// As `imap`, but yields each result as soon as its chunk finishes (Python's
  /// `imap_unordered`).
  template <class F, std::ranges::viewable_range Range>
  requires std::ranges::input_range<Range> && mappable<std::decay_t<F>, Range>
  [[nodiscard]] auto imap_unordered(F&& f, Range&& items, const MapOptions& options = {}) {
    return make_stream<false, false>("imap_unordered", std::forward<F>(f),
                                     std::forward<Range>(items), options);
  }

  /// `imap_unordered` that keeps going when calls throw, yielding `mpp::Outcome`s as their
  /// chunks finish (see the collecting `imap`).
  template <class F, std::ranges::viewable_range Range>
  requires std::ranges::input_range<Range> && mappable<std::decay_t<F>, Range>
  [[nodiscard]] auto imap_unordered(on_error::collect_t, F&& f, Range&& items,
                                    const MapOptions& options = {}) {
    return make_stream<false, true>("imap_unordered", std::forward<F>(f),
                                    std::forward<Range>(items), options);
  }

  /// Accepts no more work; what was submitted still runs. Idempotent.
  void close() noexcept { core_->close(); }

  /// Waits until all submitted work has finished. Throws `mpp::PoolStateError` (a
  /// `std::logic_error`) unless `close()` or `terminate()` was called first, as Python does, or
  /// when called from one of the pool's own tasks; `mpp::ForkError` in a child process made by
  /// `fork()` after the pool was created.
  void join() { core_->join(); }

  /// Stops the pool: work that has not started completes with `mpp::CancelledError`, running
  /// maps stop handing out chunks, and running tasks see `mpp::this_task::stop_requested()`.
  /// Returns once running tasks have returned. Idempotent.
  void terminate() { core_->terminate(); }

 private:
  template <class R, class Fn, class C, class E>
  AsyncResult<R> submit(const char* call, Fn&& fn, Callbacks<C, E> on_done,
                        bool stoppable = false) {
    using Task = detail::FunctionTask<R, std::decay_t<Fn>, C, E>;
    Task* task =
        Task::create(core_.get(), std::forward<Fn>(fn), std::move(on_done), core_->spawns_here());
    if (stoppable) task->make_stoppable();  // AsyncResult::cancel may stop its running map
    AsyncResult<R> result(detail::TaskRef<detail::ResultState<R>>{task});  // one reference
    core_->submit(call, task);                                             // and the other
    return result;
  }

  template <bool Collect, class F, class Range, class C, class E>
  auto map_async_impl(F&& f, Range&& items, const MapOptions& options, Callbacks<C, E> on_done) {
    using R = detail::map_result_t<F, Range>;
    using Results = std::vector<std::conditional_t<Collect, Outcome<R>, R>>;
    // Bad options throw here, as in Python, rather than later from get().
    (void)detail::checked_chunksize(options, "map_async");
    (void)detail::item_policy(options, core_.get(), "map_async");
    if constexpr (Collect) detail::check_collect(options, "map_async");
    return submit<Results>(
        "map_async",
        [this, f = std::forward<F>(f), items = std::forward<Range>(items), options]() mutable {
          return map_impl<Collect>("map_async", f, items, options);
        },
        std::move(on_done), /*stoppable=*/true);
  }

  // Collect: each item's outcome is kept (on_error::collect) instead of the first exception
  // ending the map.
  template <bool Collect, class F, class Range>
  auto map_impl(const char* call, F& f, Range& items, const MapOptions& options) {
    using R = detail::map_result_t<F, Range>;
    using Result = std::conditional_t<Collect, Outcome<R>, R>;
    const std::size_t chunksize = detail::checked_chunksize(options, call);
    const detail::ItemPolicy policy = detail::item_policy(options, core_.get(), call);
    if constexpr (Collect) detail::check_collect(options, call);
    std::vector<Result> results;
    core_->run_isolated(call, [&](tbb::task_group_context& context) {
      detail::ItemAccess<Range> access(items);
      detail::ProgressReporter progress(options.progress, access.size(), /*paced=*/true);
      if constexpr (!Collect) {
        if (!options.checkpoint.empty()) {
          results = detail::map_with_journal<R>(access, f, options, chunksize, context);
          progress.finish();
          return;
        }
      }
      detail::ResultBuffer<Result> buffer(access.size());
      detail::for_each_chunk(access.size(), options, chunksize, threads(), context,
                             [&](std::size_t begin, std::size_t end) {
                               map_chunk<Collect>(f, access, policy, begin, end, buffer);
                               progress.add(end - begin);
                             });
      progress.finish();
      results = std::move(buffer).release();
    });
    return results;
  }

  // Runs items [begin, end) of a map into `buffer`.
  template <bool Collect, class F, class Access, class Buffer>
  static void map_chunk(F& f, const Access& access, const detail::ItemPolicy& policy,
                        std::size_t begin, std::size_t end, Buffer& buffer) {
    if constexpr (!Collect) {
      if (policy.plain()) {  // the hot path: nothing around the call
        for (std::size_t i = begin; i < end; ++i) buffer.set(i, std::invoke(f, access[i]));
        return;
      }
    }
    for (std::size_t i = begin; i < end; ++i) {
      decltype(auto) item = access[i];
      auto call = [&] { return std::invoke(f, item); };
      if constexpr (Collect) {
        buffer.set(i, detail::collect_item(policy, i, call));
      } else {
        buffer.set(i, detail::run_item(policy, i, call));
      }
    }
  }

  template <class F, class Range, class Out>
  Out transform_impl(F& f, Range& items, Out out, const MapOptions& options) {
    const std::size_t chunksize = detail::checked_chunksize(options, "transform");
    const detail::ItemPolicy policy = detail::item_policy(options, core_.get(), "transform");
    std::size_t n = 0;
    core_->run_isolated("transform", [&](tbb::task_group_context& context) {
      detail::ItemAccess<Range> access(items);
      n = access.size();
      detail::ProgressReporter progress(options.progress, n, /*paced=*/true);
      detail::for_each_chunk(
          n, options, chunksize, threads(), context, [&](std::size_t begin, std::size_t end) {
            using Diff = std::iter_difference_t<Out>;
            if (policy.plain()) {
              for (std::size_t i = begin; i < end; ++i) {
                out[static_cast<Diff>(i)] = std::invoke(f, access[i]);
              }
            } else {
              for (std::size_t i = begin; i < end; ++i) {
                decltype(auto) item = access[i];
                out[static_cast<Diff>(i)] =
                    detail::run_item(policy, i, [&] { return std::invoke(f, item); });
              }
            }
            progress.add(end - begin);
          });
      progress.finish();
    });
    return out + static_cast<std::iter_difference_t<Out>>(n);
  }

  template <bool Ordered, bool Collect, class F, class Range>
  auto make_stream(const char* call, F&& f, Range&& items, const MapOptions& options) {
    using View = std::views::all_t<Range>;
    if (!options.checkpoint.empty()) {
      detail::throw_invalid_argument(std::string("Pool::") + call +
                                     ": checkpoint works with map, map_async and starmap, whose "
                                     "results are complete at the end; not with streams");
    }
    std::size_t chunksize = detail::checked_chunksize(options, call);
    if (chunksize == 0) chunksize = 1;
    const std::size_t window = detail::checked_buffersize(options, threads(), call);
    return ResultStream<std::decay_t<F>, View, Ordered, Collect>(
        *core_, std::forward<F>(f), std::views::all(std::forward<Range>(items)), chunksize, window,
        detail::item_policy(options, core_.get(), call), options.progress, call);
  }

  friend detail::PoolCore& detail::core_of(Pool& pool) noexcept;
  std::unique_ptr<detail::PoolCore> core_;
};

inline detail::PoolCore& detail::core_of(Pool& pool) noexcept {
  return *pool.core_;
}

}  // namespace mpp
