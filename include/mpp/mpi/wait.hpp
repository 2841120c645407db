#pragma once
/// @file
/// `mpp::wait` and `mpp::as_completed` over the futures of `mpp::mpi::Executor`: the same calls
/// and the same `mpp::WaitResult` as over local results, as mpi4py.futures takes
/// `concurrent.futures.wait` and `as_completed` unchanged.

#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/mpi/detail/result_iterator.hpp"
#include "mpp/mpi/executor.hpp"
#include "mpp/wait.hpp"

namespace mpp {

/// @cond MPP_INTERNAL
namespace mpi::detail {

template <class H>
struct is_future : std::false_type {};
template <class T>
struct is_future<Future<T>> : std::true_type {
  using value_type = T;
};

// One future as the waits see it.
struct Watched {
  ExecutorCore* core = nullptr;
  std::shared_ptr<TaskSlot> slot;
};

struct FutureAccess {
  template <class T>
  static Watched watched(const Future<T>& future) {
    return {future.core_, future.slot_};
  }
};

// Watches `futures` (positions in that order): the ones finished already are in
// `watch->finished` at once, in their order; the others join it as they finish. Throws
// std::invalid_argument, naming `call`, for an empty future.
std::shared_ptr<SlotWatch> watch(const std::vector<Watched>& futures, const char* call);
// The executors of `futures`, each once.
std::vector<ExecutorCore*> cores_of(const std::vector<Watched>& futures);
// Drives `cores` until `done()` holds or `deadline` passes; true if it holds.
bool drive_until(const std::vector<ExecutorCore*>& cores, const std::function<bool()>& done,
                 mpp::detail::WaitDeadline deadline);
WaitResult wait_futures(const std::vector<Watched>& futures, wait_for until,
                        mpp::detail::WaitDeadline deadline);

template <class Range>
std::vector<Watched> watched_of(const Range& futures) {
  std::vector<Watched> out;
  for (const auto& future : futures) out.push_back(FutureAccess::watched(future));
  return out;
}

}  // namespace mpi::detail
/// @endcond

/// A range of `mpp::mpi::Future<T>` of one `T`, which `mpp::wait` and `mpp::as_completed` take.
template <class Range>
concept cluster_result_range = std::ranges::input_range<Range> &&
    mpi::detail::is_future<std::remove_cvref_t<std::ranges::range_reference_t<Range>>>::value;

/// `mpp::wait` over futures of `mpp::mpi::Executor` (Python's `concurrent.futures.wait`, as
/// mpi4py.futures uses it): drives the executor until `until` holds and returns the positions
/// of the futures done then and of those not. Without a timeout the root sleeps in MPI until a
/// result arrives. On the root's driving thread only, like the futures themselves.
///
/// ```cpp
/// auto [done, not_done] = mpp::wait(futures, mpp::wait_for::first_completed);
/// ```
template <cluster_result_range Range>
WaitResult wait(const Range& futures, wait_for until = wait_for::all_completed) {
  return mpi::detail::wait_futures(mpi::detail::watched_of(futures), until, std::nullopt);
}

/// `wait` over futures that returns after `timeout` at the latest, whatever `until` says.
template <cluster_result_range Range, class Rep, class Period>
WaitResult wait(const Range& futures, wait_for until, std::chrono::duration<Rep, Period> timeout) {
  return mpi::detail::wait_futures(mpi::detail::watched_of(futures), until,
                                   mpp::detail::deadline_after(timeout));
}

namespace mpi {

/// The futures of `mpp::as_completed(futures)`, yielded as they complete: an input range that
/// owns copies of the futures; `*it` is the future that just completed (call its `get()`).
/// Advancing drives the executor until the next one completes, and throws `mpp::TimeoutError`
/// if the deadline given to `as_completed` passes first. Futures done when it was made come
/// first, in their order. Root's driving thread only.
template <class T>
class AsCompleted {
 public:
  /// The input iterator; `*it` is the future that just completed, and advancing may throw
  /// `mpp::TimeoutError`.
  using iterator = detail::ResultIterator<AsCompleted, Future<T>>;

  /// Watches `futures` until `deadline` (none: no timeout).
  AsCompleted(std::vector<Future<T>> futures, mpp::detail::WaitDeadline deadline)
      : futures_(std::move(futures)),
        watched_(detail::watched_of(futures_)),
        watch_(detail::watch(watched_, "as_completed")),
        cores_(detail::cores_of(watched_)),
        deadline_(deadline) {}

  /// Drives the executor until the first future completes (may throw `mpp::TimeoutError`).
  iterator begin() {
    advance();
    return iterator(this);
  }
  /// The end of the futures.
  std::default_sentinel_t end() const noexcept { return {}; }
  /// How many futures it watches.
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  static constexpr std::size_t none = ~std::size_t{0};

  friend iterator;
  Future<T>& current() { return futures_[current_]; }
  bool at_end() const noexcept { return current_ == none; }
  void advance() {
    if (yielded_ == futures_.size()) {
      current_ = none;
      return;
    }
    const auto arrived = [this] { return yielded_ < watch_->finished.size(); };
    if (!detail::drive_until(cores_, arrived, deadline_)) {
      mpp::detail::throw_as_completed_timeout(
          std::chrono::duration<double>(*deadline_ - start_).count(), futures_.size() - yielded_);
    }
    current_ = watch_->finished[yielded_++];
  }

  std::vector<Future<T>> futures_;
  std::vector<detail::Watched> watched_;
  std::shared_ptr<detail::SlotWatch> watch_;
  std::vector<detail::ExecutorCore*> cores_;  // found once: advancing must not rescan
  std::size_t yielded_ = 0;
  std::size_t current_ = none;
  mpp::detail::WaitDeadline deadline_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace mpi

/// `mpp::as_completed` over futures of `mpp::mpi::Executor` (mpi4py.futures with
/// `concurrent.futures.as_completed`): yields each future as it completes.
///
/// ```cpp
/// std::vector<mpp::mpi::Future<double>> futures;
/// for (double x : xs) futures.push_back(executor.submit(simulate, x));
/// for (auto& f : mpp::as_completed(futures)) std::printf("%g\n", f.get());
/// ```
template <cluster_result_range Range>
[[nodiscard]] auto as_completed(Range&& futures) {
  using F = std::remove_cvref_t<std::ranges::range_reference_t<Range>>;
  return mpi::AsCompleted<typename mpi::detail::is_future<F>::value_type>(
      detail::handles_of(std::forward<Range>(futures)), std::nullopt);
}

/// `as_completed` over futures with Python's `timeout`: advancing throws `mpp::TimeoutError` if
/// not every future completed within `timeout` of this call (the tasks go on).
template <cluster_result_range Range, class Rep, class Period>
[[nodiscard]] auto as_completed(Range&& futures, std::chrono::duration<Rep, Period> timeout) {
  using F = std::remove_cvref_t<std::ranges::range_reference_t<Range>>;
  return mpi::AsCompleted<typename mpi::detail::is_future<F>::value_type>(
      detail::handles_of(std::forward<Range>(futures)), mpp::detail::deadline_after(timeout));
}

}  // namespace mpp
