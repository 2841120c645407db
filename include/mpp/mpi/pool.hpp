#pragma once
/// @file
/// `mpp::mpi::Pool`: `map`, `starmap`, `imap` and `imap_unordered` across the ranks of an MPI
/// job, each rank computing its share on its own `mpp::Pool` (MPI between processes, work
/// stealing inside one).

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/call_order.hpp"
#include "mpp/mpi/detail/call_thread.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/map_driver.hpp"
#include "mpp/mpi/detail/outcome_wire.hpp"
#include "mpp/mpi/detail/stream.hpp"
#include "mpp/mpi/detail/stream_start.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/stream.hpp"
#include "mpp/mpi/transfer.hpp"
#include "mpp/options.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi {

/// Where the results of a collective map are returned.
enum class results {
  /// The full result vector on the root (rank 0), an empty vector on the other ranks (the
  /// default, like `mpi4py`'s executor and `MPI_Gather`).
  on_root,
  /// The full result vector on every rank (like `MPI_Allgather`).
  on_every_rank,
};

/// Options of `mpp::mpi::Pool`.
///
/// ```cpp
/// mpp::mpi::Pool cluster({.threads = 4});             // 4 threads on every rank
/// mpp::mpi::Pool half({.comm = my_subcommunicator});  // another communicator
/// ```
struct PoolOptions {
  /// Threads of each rank's local `mpp::Pool`; unset means `mpp::mpi::node_threads()`: the
  /// rank's share of its node's CPUs among the ranks whose affinity masks overlap its own
  /// (`MPP_NUM_THREADS` wins). Must be positive.
  std::optional<int> threads = std::nullopt;
  /// The communicator whose ranks take part. mpp duplicates it, so its traffic never meets the
  /// application's own messages on it. An intercommunicator or `MPI_COMM_NULL` is refused with
  /// `std::invalid_argument` (on every rank given it).
  MPI_Comm comm = MPI_COMM_WORLD;
  /// Runs once on each worker thread of each rank before its first task (see `mpp::PoolOptions`).
  std::function<void()> initializer = {};
};

/// Items present only on the root, made by `mpp::mpi::from_root`.
template <class View>
struct FromRoot {
  /// The items (a view of them); ignored on the other ranks.
  View items;
};

/// Marks a map's input as present on the root only: the root sends it out, and the other ranks
/// pass any range of the same type (usually empty), which is ignored. With `schedule::static_`
/// each rank receives just its block (`MPI_Scatterv`); with the dynamic schedules every rank
/// receives the whole input (`MPI_Bcast`, in pieces of at most 1 GiB), since any rank may claim
/// any chunk. Items must be `mpp::mpi::transferable`. The range must outlive the call.
///
/// ```cpp
/// std::vector<Job> jobs;
/// if (cluster.is_root()) jobs = read_jobs("jobs.txt");
/// auto out = cluster.map(run_job, mpp::mpi::from_root(jobs));
/// ```
template <std::ranges::viewable_range Range>
requires std::ranges::sized_range<Range> FromRoot<std::views::all_t<Range>> from_root(
    Range&& items) {
  return {std::views::all(std::forward<Range>(items))};
}

/// `map`, `starmap` and `imap` over all the ranks of a communicator, called by every rank (SPMD:
/// each rank runs the same program, so functions are never shipped). The result is returned on
/// the root (rank 0) and an empty vector elsewhere, or on every rank with
/// `results::on_every_rank`. Inputs are present on every rank (the range itself), or on the root
/// only (`mpp::mpi::from_root(items)`). The options are `mpp::MapOptions`, with the same words
/// on every rank; schedules, checkpoints and progress across ranks are described in
/// `docs/mpi.md`. If an item throws on some rank, the call throws on every rank: that rank its
/// own exception, the others `mpp::mpi::RemoteError`; ranks that disagree on sizes, options or
/// types get `mpp::mpi::CollectiveMismatchError`. With one rank every call is the local pool's.
///
/// ```cpp
/// mpp::mpi::Environment env(argc, argv);
/// mpp::mpi::Pool cluster;                        // MPI_COMM_WORLD, available_cpus() threads
/// auto squares = cluster.map([](int x) { return x * x; }, std::views::iota(0, 1000));
/// if (cluster.is_root()) std::printf("%d\n", squares[999]);
/// ```
///
/// Construction and destruction are collective over the communicator. Not thread-safe: one
/// thread per rank makes the calls, in the same order on every rank (other threads may use
/// other mpp MPI objects when MPI provides `MPI_THREAD_MULTIPLE`).
class Pool {
 public:
  /// A pool on `MPI_COMM_WORLD` with `mpp::available_cpus()` threads per rank.
  Pool() : Pool(PoolOptions{}) {}
  /// A pool as `options` say; throws `std::invalid_argument` if `threads <= 0` or `comm` is
  /// not an intracommunicator.
  explicit Pool(const PoolOptions& options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// This process's rank in the pool's communicator.
  int rank() const noexcept { return comm_->rank(); }
  /// The number of ranks.
  int size() const noexcept { return comm_->size(); }
  /// Whether this rank is the root (rank 0), where results arrive.
  bool is_root() const noexcept { return comm_->rank() == 0; }
  /// Threads of this rank's local pool.
  int threads() const noexcept { return local_.threads(); }
  /// This rank's processor name (`MPI_Get_processor_name`).
  const std::string& host() const noexcept { return comm_->host(); }
  /// This rank's local pool, for work that stays on the rank.
  mpp::Pool& local() noexcept { return local_; }

  /// Applies `f` to every item, across all ranks; items present on every rank. Returns the
  /// results in input order on the root (or every rank, see `where`), an empty vector elsewhere.
  /// `f` runs concurrently on the threads of each rank. Collective.
  ///
  /// ```cpp
  /// auto r = cluster.map(simulate, params, {.chunksize = 4, .schedule = mpp::schedule::dynamic});
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range> std::vector<mpp::detail::map_result_t<F, Range>>
  map(F&& f, Range&& items, const MapOptions& options = {}, results where = results::on_root) {
    Turn turn(*this);
    return maps_.everywhere("map", f, items, options, where == results::on_every_rank);
  }

  /// `map` with the items on the root only (see `mpp::mpi::from_root`). Collective.
  template <class F, class View>
  requires sized_input<View> && mappable<F, View> std::vector<mpp::detail::map_result_t<F, View>>
  map(F&& f, FromRoot<View> input, const MapOptions& options = {},
      results where = results::on_root) {
    Turn turn(*this);
    return maps_.rooted("map", f, input.items, options, where == results::on_every_rank);
  }

  /// `map` that keeps going when items fail: every item runs, and the root gets one
  /// `mpp::Outcome` per item in input order (the other ranks an empty vector) holding its value
  /// or its exception: the item's own where the root ran it, `mpp::mpi::RemoteError` (naming the
  /// rank, host, item, type and message) where another rank did. `retries`, `retry_if`,
  /// `backoff` and `task_timeout` apply to each item first; an item past its limit becomes a
  /// `mpp::TaskTimeoutError` outcome. Collective.
  ///
  /// ```cpp
  /// for (const auto& o : cluster.map(mpp::on_error::collect, simulate, grid))
  ///   if (!o) ++failed;
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
      std::vector<mpp::Outcome<mpp::detail::map_result_t<F, Range>>> map(
          mpp::on_error::collect_t, F&& f, Range&& items, const MapOptions& options = {}) {
    using R = mpp::detail::map_result_t<F, Range>;
    return collected<R>(
        f, options, [&](auto& each, const MapOptions& inner) { return map(each, items, inner); });
  }

  /// The collecting `map` with the items on the root only (see `mpp::mpi::from_root`).
  template <class F, class View>
  requires sized_input<View> && mappable<F, View>
      std::vector<mpp::Outcome<mpp::detail::map_result_t<F, View>>> map(
          mpp::on_error::collect_t, F&& f, FromRoot<View> input, const MapOptions& options = {}) {
    using R = mpp::detail::map_result_t<F, View>;
    return collected<R>(f, options, [&](auto& each, const MapOptions& inner) {
      return map(each, std::move(input), inner);
    });
  }

  /// `map` over tuple-like items, calling `f(std::get<0>(t), ...)` (Python's `starmap`).
  /// Collective.
  ///
  /// ```cpp
  /// std::vector<std::pair<int, int>> ranges = ...;
  /// auto counts = cluster.starmap(count_primes, ranges);
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<mpp::detail::Unpack<F&>, Range>
  auto starmap(F&& f, Range&& items, const MapOptions& options = {},
               results where = results::on_root) {
    Turn turn(*this);
    mpp::detail::Unpack<F&> unpack{f};
    return maps_.everywhere("starmap", unpack, items, options, where == results::on_every_rank);
  }

  /// `starmap` with the items on the root only. Collective.
  template <class F, class View>
  requires sized_input<View> && mappable<mpp::detail::Unpack<F&>, View>
  auto starmap(F&& f, FromRoot<View> input, const MapOptions& options = {},
               results where = results::on_root) {
    Turn turn(*this);
    mpp::detail::Unpack<F&> unpack{f};
    return maps_.rooted("starmap", unpack, input.items, options, where == results::on_every_rank);
  }

  /// `map` that returns at once (Python's `map_async`); the collective call runs on the pool's
  /// call thread and its result (the vector on the root, empty elsewhere) arrives in the
  /// `mpp::AsyncResult`, the handle of the local pool's `map_async`: `get()` rethrows as `map`
  /// throws, and `mpp::wait`, `mpp::as_completed` and `then` take it. `cancel()` returns false:
  /// the other ranks make the call whatever this one does. Every rank calls it, like `map`.
  /// Calls on one pool run one after the other in the order they were made, so several may be
  /// in flight.
  /// `f` and `items` are copied or moved into the call; pass `std::views::all(items)` to share
  /// `items` instead, keeping it alive until the result is ready; a copy that throws throws
  /// here, before the call takes its place in the pool's order, so later calls still run.
  /// Needs MPI to provide `MPI_THREAD_MULTIPLE` (else throws `mpp::mpi::UsageError` on every
  /// rank).
  ///
  /// ```cpp
  /// auto pending = cluster.map_async(simulate, params);
  /// do_something_else();
  /// auto results = pending.get();
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] mpp::AsyncResult<std::vector<mpp::detail::map_result_t<F, Range>>> map_async(
      F&& f, Range&& items, const MapOptions& options = {}, results where = results::on_root) {
    return map_async(std::forward<F>(f), std::forward<Range>(items), options,
                     mpp::callbacks(NoCallback{}), where);
  }

  /// `map_async` with Python's `callback` and `error_callback` (see `mpp::callbacks`): on each
  /// rank, after its part of the call, the callback gets the results where they are delivered
  /// (the root, or every rank with `results::on_every_rank`), or the error callback gets the
  /// exception the result will rethrow; either runs before the result is ready, on the call
  /// thread. If the callback throws, the result rethrows that.
  ///
  /// ```cpp
  /// auto done = cluster.map_async(simulate, params, {},
  ///                               mpp::callbacks([](const auto& r) { save(r); }));
  /// ```
  template <class F, class Range, class C, class E>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] mpp::AsyncResult<std::vector<mpp::detail::map_result_t<F, Range>>> map_async(
      F&& f, Range&& items, const MapOptions& options, Callbacks<C, E> on_done,
      results where = results::on_root) {
    check_async("map_async");
    maps_.finish_open_stream();
    // The copies (or moves) of `f`, `items` and `options` are made before the call takes its
    // turn: if one throws, no turn is left that nobody would ever end.
    auto call = std::make_shared<AsyncCall<std::decay_t<F>, std::decay_t<Range>>>(
        std::forward<F>(f), std::forward<Range>(items), options, where);
    using Out = std::vector<mpp::detail::map_result_t<F, Range>>;
    const std::uint64_t ticket = order_.take();
    auto run = [this, ticket, call, on_done = std::move(on_done)]() mutable {
      detail::CallOrder::Turn turn(order_, ticket);
      Out out;
      try {
        out = maps_.everywhere("map_async", call->f, call->items, call->options,
                               call->where == results::on_every_rank);
      } catch (...) {
        if constexpr (!std::is_same_v<E, NoCallback>) {
          on_done.error_callback(std::current_exception());
        }
        throw;
      }
      if constexpr (!std::is_same_v<C, NoCallback>) {
        if (is_root() || call->where == results::on_every_rank)
          on_done.callback(std::as_const(out));
      }
      return out;
    };
    return detail::start_call<Out>(calls_, std::move(run), [this, ticket] { order_.end(ticket); });
  }

  /// `starmap` that returns at once (Python's `starmap_async`); see `map_async`.
  template <class F, class Range>
  requires sized_input<Range> && mappable<mpp::detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] auto starmap_async(F&& f, Range&& items, const MapOptions& options = {},
                                   results where = results::on_root) {
    return map_async(mpp::detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                     std::forward<Range>(items), options, where);
  }

  /// `starmap_async` with callbacks; see the `map_async` that takes them.
  template <class F, class Range, class C, class E>
  requires sized_input<Range> && mappable<mpp::detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] auto starmap_async(F&& f, Range&& items, const MapOptions& options,
                                   Callbacks<C, E> on_done, results where = results::on_root) {
    return map_async(mpp::detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                     std::forward<Range>(items), options, std::move(on_done), where);
  }

  /// Lazily applies `f` to every item across all ranks, yielding the results on the root in
  /// input order as chunks finish (Python's `imap`); items present on every rank. Other ranks
  /// compute their share before the call returns and get an empty stream, whose loop waits for
  /// the root to finish and throws if the map failed (see `mpp::mpi::Stream`). Chunks are
  /// claimed dynamically as by `map`'s dynamic schedules (`static_`: chunks of `chunksize`, or
  /// of n / all threads). `progress` on the root counts the results handed to the loop (if it
  /// throws, the loop ends with its exception); `checkpoint` is refused (`std::invalid_argument`).
  /// Collective; `f` and rvalue `items` are moved into the stream, an lvalue range must outlive
  /// it. With one rank the same protocol runs on the local pool.
  ///
  /// The root's loop paces the ranks: no rank computes a chunk more than `buffersize` chunks
  /// (default 4 x the threads of all ranks, at least two batches of the widest rank) past the
  /// loop, so the root holds about that many results however slowly the loop reads. The other
  /// ranks' `imap` calls therefore return only as the root's loop nears the end: let the root
  /// start its loop before any other collective call of the program.
  ///
  /// ```cpp
  /// for (const Frame& frame : cluster.imap(render, scenes)) write(frame);  // on every rank
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] Stream<mpp::detail::map_result_t<F, Range>> imap(F&& f, Range&& items,
                                                                 const MapOptions& options = {}) {
    return stream_everywhere("imap", std::forward<F>(f), std::forward<Range>(items), options,
                             /*ordered=*/true);
  }

  /// `imap` with the items on the root only (see `mpp::mpi::from_root`): every rank receives
  /// them first. Collective.
  template <class F, class View>
  requires sized_input<View> && mappable<F, View>
  [[nodiscard]] Stream<mpp::detail::map_result_t<F, View>> imap(F&& f, FromRoot<View> input,
                                                                const MapOptions& options = {}) {
    return stream_from_root("imap", std::forward<F>(f), std::move(input), options,
                            /*ordered=*/true);
  }

  /// `imap` that yields each chunk's results as soon as the chunk reaches the root, whichever
  /// rank computed it (Python's `imap_unordered`); within a chunk, in input order. A rank
  /// computes a batch of chunks at a time (one per thread) and sends it whole, so a slow item
  /// holds back its batch, not the other ranks' chunks; with one rank, the order is therefore
  /// close to the input's. The same pacing, failures and early stop as `imap`: when an item
  /// fails, the chunks that arrived are yielded first, then the failure is thrown. Collective.
  ///
  /// ```cpp
  /// for (const Sample& s : cluster.imap_unordered(simulate, seeds)) histogram.add(s);
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] Stream<mpp::detail::map_result_t<F, Range>> imap_unordered(
      F&& f, Range&& items, const MapOptions& options = {}) {
    return stream_everywhere("imap_unordered", std::forward<F>(f), std::forward<Range>(items),
                             options, /*ordered=*/false);
  }

  /// `imap_unordered` with the items on the root only (see `mpp::mpi::from_root`). Collective.
  template <class F, class View>
  requires sized_input<View> && mappable<F, View>
  [[nodiscard]] Stream<mpp::detail::map_result_t<F, View>> imap_unordered(
      F&& f, FromRoot<View> input, const MapOptions& options = {}) {
    return stream_from_root("imap_unordered", std::forward<F>(f), std::move(input), options,
                            /*ordered=*/false);
  }

  /// `imap` over tuple-like items, calling `f(std::get<0>(t), ...)` (mpi4py.util.pool's
  /// `istarmap`). Collective.
  ///
  /// ```cpp
  /// for (long n : cluster.istarmap(count_primes, ranges)) total += n;
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<mpp::detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] Stream<mpp::detail::map_result_t<mpp::detail::Unpack<std::decay_t<F>>, Range>>
  istarmap(F&& f, Range&& items, const MapOptions& options = {}) {
    return stream_everywhere("istarmap", mpp::detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                             std::forward<Range>(items), options, /*ordered=*/true);
  }

  /// `istarmap` yielding chunks as they arrive (mpi4py.util.pool's `istarmap_unordered`).
  /// Collective.
  template <class F, class Range>
  requires sized_input<Range> && mappable<mpp::detail::Unpack<std::decay_t<F>>, Range>
  [[nodiscard]] Stream<mpp::detail::map_result_t<mpp::detail::Unpack<std::decay_t<F>>, Range>>
  istarmap_unordered(F&& f, Range&& items, const MapOptions& options = {}) {
    return stream_everywhere("istarmap_unordered",
                             mpp::detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                             std::forward<Range>(items), options, /*ordered=*/false);
  }

  /// `imap` that keeps going when items fail: the root's loop yields one `mpp::Outcome` per
  /// item in input order, holding its value or its exception (the item's own where the root ran
  /// it, `mpp::mpi::RemoteError` naming the item where another rank did), as the collecting
  /// `map` does. Collective.
  ///
  /// ```cpp
  /// for (const auto& o : cluster.imap(mpp::on_error::collect, simulate, grid)) if (o) use(*o);
  /// ```
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] OutcomeStream<mpp::detail::map_result_t<F, Range>> imap(
      mpp::on_error::collect_t, F&& f, Range&& items, const MapOptions& options = {}) {
    return collecting_stream("imap", std::forward<F>(f), std::forward<Range>(items), options,
                             /*ordered=*/true);
  }

  /// `imap_unordered` that keeps going when items fail (see the collecting `imap`).
  template <class F, class Range>
  requires sized_input<Range> && mappable<F, Range>
  [[nodiscard]] OutcomeStream<mpp::detail::map_result_t<F, Range>> imap_unordered(
      mpp::on_error::collect_t, F&& f, Range&& items, const MapOptions& options = {}) {
    return collecting_stream("imap_unordered", std::forward<F>(f), std::forward<Range>(items),
                             options, /*ordered=*/false);
  }

 private:
  // A collecting map: `run(each, inner)` maps `each` (see detail::collecting) with `inner`.
  template <class R, class F, class Run>
  std::vector<mpp::Outcome<R>> collected(F& f, const MapOptions& options, Run run) {
    auto each = detail::collecting<R>([&f](auto&& item) -> R { return std::invoke(f, item); },
                                      maps_.item_policy(options, "map"), rank(), host());
    return detail::outcomes_of(run(each, detail::without_policy(options)));
  }

  // The collecting imap and imap_unordered.
  template <class F, class Range>
  OutcomeStream<mpp::detail::map_result_t<F, Range>> collecting_stream(const char* call, F&& f,
                                                                       Range&& items,
                                                                       const MapOptions& options,
                                                                       bool ordered) {
    using R = mpp::detail::map_result_t<F, Range>;
    auto each = detail::collecting<R>(
        [f = std::forward<F>(f)](auto&& item) mutable -> R { return std::invoke(f, item); },
        maps_.item_policy(options, call), rank(), host());
    return OutcomeStream<R>(stream_everywhere(call, std::move(each), std::forward<Range>(items),
                                              detail::without_policy(options), ordered));
  }

  // imap and imap_unordered over items on every rank.
  template <class F, class Range>
  Stream<mpp::detail::map_result_t<F, Range>> stream_everywhere(const char* call, F&& f,
                                                                Range&& items,
                                                                const MapOptions& options,
                                                                bool ordered) {
    using R = mpp::detail::map_result_t<F, Range>;
    using Inputs = detail::StreamInputs<std::decay_t<F>, std::views::all_t<Range>,
                                        std::ranges::range_value_t<Range>>;
    Turn turn(*this);
    auto inputs =
        std::make_shared<Inputs>(std::forward<F>(f), std::views::all(std::forward<Range>(items)));
    return maps_.open_stream<R, std::ranges::range_value_t<Range>>(inputs, call, options, false,
                                                                   ordered);
  }

  // imap and imap_unordered over items on the root only.
  template <class F, class View>
  Stream<mpp::detail::map_result_t<F, View>> stream_from_root(const char* call, F&& f,
                                                              FromRoot<View> input,
                                                              const MapOptions& options,
                                                              bool ordered) {
    using R = mpp::detail::map_result_t<F, View>;
    using T = std::ranges::range_value_t<View>;
    detail::require_transferable<T>();
    Turn turn(*this);
    auto inputs = std::make_shared<detail::StreamInputs<std::decay_t<F>, View, T>>(
        std::forward<F>(f), std::move(input.items));
    return maps_.open_stream<R, T>(inputs, call, options, true, ordered);
  }

  // A collective call's turn (see detail::CallOrder); a stream still open is completed first.
  class Turn : detail::CallOrder::Turn {
   public:
    explicit Turn(Pool& pool) : detail::CallOrder::Turn(pool.order_) {
      pool.maps_.finish_open_stream();
    }
  };

  void check_async(const char* call) const;

  // What map_async keeps for its thread: its own `f`, `items` and options.
  template <class F, class Range>
  struct AsyncCall {
    template <class G, class R>
    AsyncCall(G&& g, R&& r, const MapOptions& o, results w)
        : f(std::forward<G>(g)), items(std::forward<R>(r)), options(o), where(w) {}
    F f;
    Range items;
    MapOptions options;
    results where;
  };

  mpp::Pool local_;
  std::unique_ptr<detail::Comm> comm_;
  detail::CallOrder order_;
  detail::MapDriver maps_{*comm_, local_};
  // Runs the map_async calls; declared after what they use, so it is joined before that goes.
  detail::CallThread calls_;
};

}  // namespace mpp::mpi
