#pragma once
/// @file
/// Boost.Asio completion tokens for the pool's asynchronous calls: `mpp::async_apply`,
/// `mpp::async_map` and `mpp::async_starmap` take a completion token as their last argument, so
/// the same call gives a callback, a `std::future` (`asio::use_future`), a C++20 coroutine
/// (`asio::use_awaitable`) or a lazy operation (`asio::deferred`, Boost 1.80 and later).
///
/// ```cpp
/// #include <mpp/asio.hpp>
/// namespace asio = boost::asio;
///
/// asio::awaitable<void> serve(mpp::Pool& pool) {
///   // The coroutine is suspended while the pool works; the io_context keeps running.
///   std::vector<double> ys = co_await mpp::async_map(pool, simulate, xs, asio::use_awaitable);
/// }
/// ```
///
/// The work runs on the pool; the completion handler runs on the handler's associated executor
/// (for `use_awaitable`, the coroutine's executor; for a plain callback, Asio's system executor
/// unless it is bound with `asio::bind_executor`), never on a pool worker. Until the handler has
/// run, the operation counts as outstanding work of that executor, so `io_context::run()` does not
/// return early. The completion signature is `void(std::exception_ptr, R)`
/// (`void(std::exception_ptr)` for `void` tasks), as for `asio::co_spawn`: with `use_awaitable` and
/// `use_future` an exception of the task is rethrown by `co_await` or `future::get`; a callback
/// receives it as its first argument and a default-constructed `R`, so `R` must be
/// default-constructible.
///
/// Needs Boost.Asio (`find_package(Boost)`, target `Boost::headers`); the rest of mpp does not.
/// With Boost 1.74 (Debian 12), include this header before `<boost/asio/awaitable.hpp>` or
/// `<boost/asio.hpp>`, or include `<utility>` first: that Asio header uses `std::exchange`
/// without including it.

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "mpp/pool.hpp"

namespace mpp {

/// @cond MPP_INTERNAL
namespace detail::asio {

template <class R>
struct completion {
  using signature = void(std::exception_ptr, R);
};
template <>
struct completion<void> {
  using signature = void(std::exception_ptr);
};

// One asynchronous operation: the handler, and the outstanding work that keeps the handler's
// executor alive until the handler has been posted to it. Touched by one thread at a time: the
// initiating thread, then the pool worker that runs the task.
template <class Handler, class R>
class Operation {
 public:
  explicit Operation(Handler handler)
      : handler_(std::move(handler)),
        work_(boost::asio::make_work_guard(boost::asio::get_associated_executor(handler_))) {}

  // Runs `fn` and delivers its value or exception.
  template <class Fn>
  void run(Fn& fn) {
    std::exception_ptr error;
    if constexpr (std::is_void_v<R>) {
      try {
        std::invoke(fn);
      } catch (...) {
        error = std::current_exception();
      }
      deliver(std::move(error));
    } else {
      std::optional<R> value;
      try {
        value.emplace(std::invoke(fn));
      } catch (...) {
        error = std::current_exception();
        value.emplace();
      }
      deliver(std::move(error), std::move(*value));
    }
  }

  // Delivers a failure that happened outside `fn` (cancelled, pool closed, initializer failed).
  void fail(std::exception_ptr error) {
    if constexpr (std::is_void_v<R>) {
      deliver(std::move(error));
    } else {
      deliver(std::move(error), R{});
    }
  }

 private:
  // Posts the handler with its arguments to the handler's executor; at most once.
  template <class... Values>
  void deliver(std::exception_ptr error, Values&&... values) {
    if (delivered_) return;
    delivered_ = true;
    boost::asio::post(work_.get_executor(),
                      [handler = std::move(handler_), error = std::move(error),
                       ... values = std::forward<Values>(values)]() mutable {
                        std::move(handler)(std::move(error), std::move(values)...);
                      });
    work_.reset();  // the posted handler is now the executor's outstanding work
  }

  Handler handler_;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work_;
  bool delivered_ = false;
};

// Submits `fn` (returning R) to `pool` and completes `handler` with its outcome. A failure to
// submit (a closed pool) completes the handler too, as Asio's own operations report errors.
template <class R, class Handler, class Fn>
void submit(Pool& pool, Handler&& handler, Fn&& fn) {
  auto op = std::make_shared<Operation<std::decay_t<Handler>, R>>(std::forward<Handler>(handler));
  try {
    // The task delivers its own value or exception; the error callback sees only failures from
    // outside it (cancellation by terminate(), a failed initializer).
    (void)pool.apply_async(
        mpp::callbacks(NoCallback{}, [op](const std::exception_ptr& error) { op->fail(error); }),
        [op, fn = std::forward<Fn>(fn)]() mutable { op->run(fn); });
  } catch (...) {
    op->fail(std::current_exception());
  }
}

struct InitiateApply {
  Pool* pool;
  template <class Handler, class F, class... Args>
  void operator()(Handler&& handler, F&& f, Args&&... args) const {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    submit<std::decay_t<R>>(
        *pool, std::forward<Handler>(handler),
        [f = std::forward<F>(f), args = std::make_tuple(std::forward<Args>(args)...)]() mutable {
          return std::apply(std::move(f), std::move(args));
        });
  }
};

struct InitiateMap {
  Pool* pool;
  template <class Handler, class F, class Range>
  void operator()(Handler&& handler, F&& f, Range&& items, const MapOptions& options) const {
    using R = std::vector<detail::map_result_t<std::decay_t<F>&, std::decay_t<Range>&>>;
    submit<R>(*pool, std::forward<Handler>(handler),
              [pool = pool, f = std::forward<F>(f), items = std::forward<Range>(items),
               options]() mutable { return pool->map(f, items, options); });
  }
};

// Whether `F` can be called with the decayed first `sizeof...(I)` types of `Tuple`.
template <class F, class Tuple, class Indices>
struct invocable_with_prefix;
template <class F, class Tuple, std::size_t... I>
struct invocable_with_prefix<F, Tuple, std::index_sequence<I...>>
    : std::bool_constant<
          std::invocable<std::decay_t<F>, std::decay_t<std::tuple_element_t<I, Tuple>>...>> {};

template <class F, class... ArgsAndToken>
concept applicable =
    sizeof...(ArgsAndToken) >= 1 &&
    invocable_with_prefix<F, std::tuple<ArgsAndToken...>,
                          std::make_index_sequence<sizeof...(ArgsAndToken) - 1>>::value;

template <class F, class Tuple, std::size_t... I>
auto async_apply(Pool& pool, F&& f, Tuple&& all, std::index_sequence<I...>) {
  constexpr std::size_t last = std::tuple_size_v<std::remove_reference_t<Tuple>> - 1;
  using R = std::decay_t<
      std::invoke_result_t<std::decay_t<F>, std::decay_t<std::tuple_element_t<I, Tuple>>...>>;
  static_assert(std::is_void_v<R> || std::default_initializable<R>,
                "mpp::async_apply: the result type must be default-constructible, because the "
                "completion (std::exception_ptr, R) passes an R beside an exception");
  return boost::asio::async_initiate<std::tuple_element_t<last, Tuple>,
                                     typename completion<R>::signature>(
      InitiateApply{&pool}, std::get<last>(all), std::forward<F>(f),
      std::get<I>(std::move(all))...);
}

}  // namespace detail::asio
/// @endcond

/// Runs `f(args...)` on `pool` and completes `token` with `(std::exception_ptr, R)`; the Asio
/// form of `Pool::apply_async`. The token is the last argument; `f` and `args` are copied or moved
/// into the task, as by `apply_async`.
///
/// ```cpp
/// int g = co_await mpp::async_apply(pool, std::gcd<int, int>, 12, 18, asio::use_awaitable);
/// std::future<int> r = mpp::async_apply(pool, slow_square, 7, asio::use_future);
/// mpp::async_apply(pool, slow_square, 7, asio::bind_executor(io, [](std::exception_ptr e, int v) {
///   if (!e) std::printf("%d\n", v);                     // runs on io's thread
/// }));
/// ```
///
/// @param pool The pool that runs the call; it must outlive the operation (for `deferred`, until
///   the operation has completed).
/// @param f The function, called once on a pool worker.
/// @param args_and_token The arguments of `f`, then the completion token.
/// @return Whatever the token's `async_result` makes: nothing for a callback, a `std::future<R>`,
///   an `asio::awaitable<R>`, a deferred operation.
///
/// Thread-safe, like `apply_async`. Errors of the submission itself (a closed pool:
/// `mpp::PoolStateError`) and cancellation by `terminate()` (`mpp::CancelledError`) are delivered
/// through the token, never thrown by this call.
template <class F, class... ArgsAndToken>
requires detail::asio::applicable<F, ArgsAndToken...>
auto async_apply(Pool& pool, F&& f, ArgsAndToken&&... args_and_token) {
  return detail::asio::async_apply(
      pool, std::forward<F>(f),
      std::forward_as_tuple(std::forward<ArgsAndToken>(args_and_token)...),
      std::make_index_sequence<sizeof...(ArgsAndToken) - 1>{});
}

/// Applies `f` to every item of `items` on `pool` and completes `token` with
/// `(std::exception_ptr, std::vector<R>)`, the results in input order; the Asio form of
/// `Pool::map_async`, with the same options and the same copying of `f` and `items` (pass
/// `std::views::all(items)` to share them).
///
/// ```cpp
/// asio::awaitable<double> total(mpp::Pool& pool, const std::vector<double>& xs) {
///   auto ys = co_await mpp::async_map(pool, simulate, std::views::all(xs), {.chunksize = 64},
///                                     asio::use_awaitable);
///   co_return std::accumulate(ys.begin(), ys.end(), 0.0);
/// }
/// ```
///
/// @param pool The pool that runs the map; it must outlive the operation.
/// @param f The function, called concurrently on the pool's workers.
/// @param items A sized range, copied or moved into the operation.
/// @param options Chunking and scheduling, as for `Pool::map`.
/// @param token The completion token.
/// @return What the token's `async_result` makes (see `async_apply`).
///
/// Thread-safe. If a call of `f` throws, the map stops and the token receives that exception.
template <class F, class Range, class Token>
requires sized_input<Range> && mappable < std::decay_t<F>
&, std::decay_t<Range>& >
       auto async_map(Pool& pool, F&& f, Range&& items, const MapOptions& options, Token&& token) {
  using R = std::vector<detail::map_result_t<std::decay_t<F>&, std::decay_t<Range>&>>;
  return boost::asio::async_initiate<Token, void(std::exception_ptr, R)>(
      detail::asio::InitiateMap{&pool}, token, std::forward<F>(f), std::forward<Range>(items),
      options);
}

/// `async_map` with default `MapOptions`.
template <class F, class Range, class Token>
requires sized_input<Range> && mappable < std::decay_t<F>
&, std::decay_t<Range>& > auto async_map(Pool& pool, F&& f, Range&& items, Token&& token) {
  return async_map(pool, std::forward<F>(f), std::forward<Range>(items), MapOptions{},
                   std::forward<Token>(token));
}

/// `async_map` over tuple-like items, calling `f(std::get<0>(t), std::get<1>(t), ...)`; the Asio
/// form of `Pool::starmap_async`.
///
/// ```cpp
/// std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}};
/// auto sums = co_await mpp::async_starmap(pool, std::plus<>(), pairs, asio::use_awaitable);
/// ```
template <class F, class Range, class Token>
requires sized_input<Range> && mappable < detail::Unpack<std::decay_t<F>>
&, std::decay_t<Range>& > auto async_starmap(Pool& pool, F&& f, Range&& items,
                                             const MapOptions& options, Token&& token) {
  return async_map(pool, detail::Unpack<std::decay_t<F>>{std::forward<F>(f)},
                   std::forward<Range>(items), options, std::forward<Token>(token));
}

/// `async_starmap` with default `MapOptions`.
template <class F, class Range, class Token>
requires sized_input<Range> && mappable < detail::Unpack<std::decay_t<F>>
&, std::decay_t<Range>& > auto async_starmap(Pool& pool, F&& f, Range&& items, Token&& token) {
  return async_starmap(pool, std::forward<F>(f), std::forward<Range>(items), MapOptions{},
                       std::forward<Token>(token));
}

}  // namespace mpp
