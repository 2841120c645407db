#pragma once
/// @file
/// `mpp::collect` and `mpp::compose` over the futures of `mpp::mpi::Executor`: mpi4py.futures'
/// `collect` and `compose`, as `mpp/compose.hpp` gives them for local results
/// (`Future::then` and `Future::on_error` are members of the future).

#include <memory>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/mpi/detail/continuation.hpp"
#include "mpp/mpi/executor.hpp"
#include "mpp/mpi/wait.hpp"

namespace mpp {

/// mpi4py's `collect(fs)` over futures of one `mpp::mpi::Executor`: a future of the values of
/// all `futures`, in their order, once all are done. If one fails or is cancelled, the collected
/// future fails (or is cancelled) at once, without waiting for the others. Cancelling the
/// collected future cancels the inputs that have not started. The values are copied into it on
/// the root's pool, so the inputs stay readable; with no input it holds an empty vector. Root
/// only; throws `std::invalid_argument` if the futures belong to different executors, and
/// `std::logic_error` for an empty future.
///
/// ```cpp
/// std::vector<mpp::mpi::Future<double>> parts = ...;
/// std::vector<double> values = mpp::collect(parts).get();
/// ```
template <cluster_result_range Range>
[[nodiscard]] auto collect(Range&& futures) {
  using F = std::remove_cvref_t<std::ranges::range_reference_t<Range>>;
  using T = typename mpi::detail::is_future<F>::value_type;
  static_assert(!std::is_void_v<T>, "mpp::collect: the futures must have values");
  const auto watched = mpi::detail::watched_of(futures);
  if (watched.empty()) {
    throw std::invalid_argument(
        "mpp::collect: no futures given; pass at least one (the executor is found from them)");
  }
  std::vector<std::shared_ptr<mpi::detail::TaskSlot>> sources;
  for (const auto& w : watched) {
    if (!w.slot) throw std::logic_error("mpp::collect: an empty future (default-constructed)");
    if (w.core != watched.front().core) {
      throw std::invalid_argument(
          "mpp::collect: the futures belong to different executors; collect those of each "
          "executor separately");
    }
    sources.push_back(w.slot);
  }
  auto& core = *watched.front().core;
  return mpi::Future<std::vector<T>>(&core, mpi::detail::collect_slot<T>(core, std::move(sources)));
}

/// mpi4py's `compose(future, resulthook, excepthook)` over a future of `mpp::mpi::Executor`: a
/// future computed on the root's pool once `source` is done: `resulthook(value)` if it
/// succeeded, `excepthook(std::exception_ptr)` if it failed (return a value to recover, or
/// rethrow to fail). Pass `mpp::NoCallback{}` (the default) for either to pass the value or the
/// exception on unchanged. A cancelled `source` cancels the new future without calling either
/// hook; cancelling the new future cancels `source` if it has not started (see
/// `mpi::Future::then`, which is `compose` without that). Root only.
///
/// ```cpp
/// auto checked = mpp::compose(executor.submit(solve, problem),
///                             [](const Solution& s) { return s.energy; },
///                             [](std::exception_ptr) { return std::nan(""); });
/// ```
template <class T, class ResultHook = NoCallback, class ExceptHook = NoCallback>
[[nodiscard]] auto compose(const mpi::Future<T>& source, ResultHook resulthook = {},
                           ExceptHook excepthook = {}) {
  const auto watched = mpi::detail::FutureAccess::watched(source);
  if (!watched.slot) throw std::logic_error("mpp::compose: an empty future (default-constructed)");
  using U = typename mpi::detail::composed_value<T, ResultHook>::type;
  return mpi::Future<U>(
      watched.core, mpi::detail::compose_slot<T>(*watched.core, watched.slot, std::move(resulthook),
                                                 std::move(excepthook), /*cancel_source=*/true));
}

}  // namespace mpp
