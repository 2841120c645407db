#pragma once
/// @file
/// Results made of other results, as mpi4py's `mpi4py.futures.collect` and `compose`
/// (`AsyncResult::then` and `on_error` are members of the handle).

#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/pool.hpp"

namespace mpp {

namespace detail {
template <class H>
struct is_valued_result : std::false_type {};
template <class T>
struct is_valued_result<AsyncResult<T>> : std::bool_constant<!std::is_void_v<T>> {};
// An element of a range `collect` takes: an AsyncResult<T> with a value.
template <class Reference>
concept values_to_collect = is_valued_result<std::remove_cvref_t<Reference>>::value;

// Copies of the handles `collect` was given; an empty one throws std::logic_error here.
template <class Range>
auto inputs_to_collect(Range&& results) {
  using T = typename std::remove_cvref_t<std::ranges::range_reference_t<Range>>::value_type;
  std::vector<AsyncResult<T>> inputs;
  if constexpr (std::ranges::sized_range<Range>) inputs.reserve(std::ranges::size(results));
  for (auto&& result : results) {
    (void)ResultAccess::state(result);
    inputs.push_back(result);
  }
  return inputs;
}
}  // namespace detail

/// mpi4py's `collect(fs)` (C++'s `when_all`): one result holding the values of all `results`,
/// in their order, computed on `pool` once every input is ready. If an input fails or is
/// cancelled, the collected result fails at once with that exception (the first to complete
/// with one) and does not wait for the others. Cancelling the collected result cancels the
/// inputs that have not started. The inputs may come from any pool; `pool` counts the collected
/// result as submitted work from this call on, and throws `mpp::PoolStateError` if it is closed.
/// The values are copied, so the inputs stay readable. Thread-safe.
///
/// ```cpp
/// std::vector<mpp::AsyncResult<double>> parts = ...;
/// std::vector<double> values = mpp::collect(pool, parts).get();
/// ```
template <std::ranges::input_range Range>
requires detail::values_to_collect<std::ranges::range_reference_t<Range>>
[[nodiscard]] auto collect(Pool& pool, Range&& results) {
  auto inputs = detail::inputs_to_collect(std::forward<Range>(results));
  return detail::collect_on(detail::core_of(pool), std::move(inputs));
}

/// `collect` on the inputs' own pool (mpi4py's `collect(fs)` without naming one): the pool of
/// the first input, or for results of an `mpp::mpi::Executor` its root's pool (see
/// `AsyncResult::then(f)`). Throws `std::invalid_argument` for no inputs, since the pool is found
/// from them.
///
/// ```cpp
/// std::vector<mpp::mpi::Future<double>> parts = ...;  // executor.submit(...)
/// std::vector<double> values = mpp::collect(parts).get();
/// ```
template <std::ranges::input_range Range>
requires detail::values_to_collect<std::ranges::range_reference_t<Range>>
[[nodiscard]] auto collect(Range&& results) {
  auto inputs = detail::inputs_to_collect(std::forward<Range>(results));
  if (inputs.empty()) {
    throw std::invalid_argument(
        "mpp::collect: no results given, so no pool to run on; pass at least one, or name the "
        "pool: mpp::collect(pool, results)");
  }
  detail::PoolCore& home = detail::home_of(inputs.front(), "collect");
  return detail::collect_on(home, std::move(inputs));
}

/// mpi4py's `compose(future, resulthook, excepthook)`: a result computed on `pool` once
/// `source` is ready: `resulthook(value)` if it succeeded, `excepthook(std::exception_ptr)` if it
/// failed (return a value to recover, or rethrow to fail). Pass `mpp::NoCallback{}` (the
/// default) for either to pass the value or the exception on unchanged. A cancelled `source`
/// cancels the new result without calling either hook; cancelling the new result cancels
/// `source` if it has not started. The hooks run on the pool, never inline (see
/// `AsyncResult::then`, which is `compose` without the backward cancellation). Thread-safe.
///
/// ```cpp
/// auto checked = mpp::compose(pool, pool.apply_async(solve, problem),
///                             [](const Solution& s) { return s.energy; },
///                             [](std::exception_ptr) { return std::nan(""); });
/// ```
template <class T, class ResultHook = NoCallback, class ExceptHook = NoCallback>
[[nodiscard]] auto compose(Pool& pool, const AsyncResult<T>& source, ResultHook resulthook = {},
                           ExceptHook excepthook = {}) {
  (void)detail::ResultAccess::state(source);
  return detail::compose_on(detail::core_of(pool), "compose", source, std::move(resulthook),
                            std::move(excepthook), true);
}

/// `compose` on `source`'s own pool (see `AsyncResult::then(f)`): mpi4py's
/// `compose(future, resulthook, excepthook)` as it is spelled there.
///
/// ```cpp
/// auto checked = mpp::compose(executor.submit(solve, problem),
///                             [](const Solution& s) { return s.energy; });
/// ```
template <class T, class ResultHook = NoCallback, class ExceptHook = NoCallback>
[[nodiscard]] auto compose(const AsyncResult<T>& source, ResultHook resulthook = {},
                           ExceptHook excepthook = {}) {
  return detail::compose_on(detail::home_of(source, "compose"), "compose", source,
                            std::move(resulthook), std::move(excepthook), true);
}

}  // namespace mpp
