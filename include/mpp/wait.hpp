#pragma once
/// @file
/// Waiting on many results together, as Python's `concurrent.futures`: `mpp::wait` and
/// `mpp::as_completed`, over results of one type or, through `mpp::AnyResult`, of several.

#include <chrono>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/detail/completion_set.hpp"
#include "mpp/errors.hpp"

namespace mpp {

/// A handle to a result of any type: what `mpp::wait` and `mpp::as_completed` take when the
/// results differ in type. It converts implicitly from every `AsyncResult<T>` and shares its
/// task; it can wait for, cancel and inspect the result, but not read its value (keep the typed
/// handle for that). Thread-safe, like `AsyncResult`.
///
/// ```cpp
/// auto n = pool.apply_async(count_lines, path);     // AsyncResult<int>
/// auto s = pool.apply_async(read_title, path);      // AsyncResult<std::string>
/// auto [done, not_done] = mpp::wait({n, s}, mpp::wait_for::first_completed);
/// ```
class AnyResult {
 public:
  /// An empty handle; every call but `valid()` throws `std::logic_error`.
  AnyResult() = default;
  /// A handle to the task of `result` (an empty one for an empty `result`).
  template <class T>
  AnyResult(const AsyncResult<T>& result) noexcept {  // NOLINT: converts implicitly on purpose
    if (auto* state = detail::ResultAccess::ref(result).get()) {
      state->add_ref();
      state_ = detail::TaskRef<detail::TaskState>(state);
    }
  }

  /// Whether this handle refers to a task.
  [[nodiscard]] bool valid() const noexcept { return state_.get() != nullptr; }
  /// Whether the task has finished (with a value or an exception). Never blocks.
  [[nodiscard]] bool ready() const { return state().ready(); }
  /// Python's `done()`: the same as `ready()`.
  [[nodiscard]] bool done() const { return ready(); }
  /// Whether the task finished with `mpp::CancelledError`.
  [[nodiscard]] bool cancelled() const { return ready() && state().cancelled(); }
  /// Whether the task finished without an exception; `mpp::NotReadyError` if not finished.
  [[nodiscard]] bool successful() const {
    if (!ready()) detail::throw_not_ready();
    return !state().error();
  }
  /// `AsyncResult::cancel`: cancels the task if it has not started; returns whether it did.
  bool cancel() const { return state().cancel(); }
  /// Blocks until the result is ready (see `AsyncResult::wait`).
  void wait() const { state().wait(); }
  /// Blocks until the result is ready or `timeout` passed; returns `ready()`.
  template <class Rep, class Period>
  [[nodiscard]] bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return state().wait_until(std::chrono::steady_clock::now() +
                              std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  /// Waits, then rethrows the task's exception, if it has one (Python's `result()` without the
  /// value).
  void get() const {
    wait();
    if (state().error()) std::rethrow_exception(state().error());
  }
  /// Python's `exception()`: waits, then returns the task's exception, or null.
  std::exception_ptr exception() const {
    wait();
    return state().error();
  }

  /// The task's state; used by `mpp::wait` and `mpp::as_completed`.
  detail::TaskState& task() const { return state(); }

 private:
  detail::TaskState& state() const {
    if (!state_.get()) detail::throw_empty_result();
    return *state_.get();
  }
  detail::TaskRef<detail::TaskState> state_;
};

/// Python's `return_when` of `concurrent.futures.wait`.
enum class wait_for {
  first_completed,  ///< return once any result is ready (`FIRST_COMPLETED`)
  first_exception,  ///< once any result failed, or all are ready (`FIRST_EXCEPTION`)
  all_completed,    ///< once all results are ready (`ALL_COMPLETED`)
};

/// What `mpp::wait` returns: positions in the range it was given, in increasing order, of the
/// results that were ready when it returned and of those that were not. Positions rather than
/// handles: the caller's own container already holds the typed handles, and `results[i]` reads
/// as well as a copy would.
struct WaitResult {
  std::vector<std::size_t> done;      ///< ready (with a value, an exception or cancelled)
  std::vector<std::size_t> not_done;  ///< still pending or running
};

namespace detail {

template <class H>
struct is_result_handle : std::false_type {};
template <class T>
struct is_result_handle<AsyncResult<T>> : std::true_type {};
template <>
struct is_result_handle<AnyResult> : std::true_type {};

template <class T>
TaskState& task_of(const AsyncResult<T>& result) {
  return ResultAccess::state(result);
}
inline TaskState& task_of(const AnyResult& result) {
  return result.task();
}

template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  return std::chrono::steady_clock::now() +
         std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
}

// The tasks of `results`, in order (throws std::logic_error for an empty handle).
template <class Range>
std::vector<TaskState*> tasks_of(const Range& results) {
  std::vector<TaskState*> tasks;
  if constexpr (std::ranges::sized_range<const Range>) tasks.reserve(std::ranges::size(results));
  for (const auto& result : results) tasks.push_back(&task_of(result));
  return tasks;
}

// A range whose size a const view of it knows: as_completed copies it as it watches.
template <class Range>
concept sized_when_const = std::ranges::sized_range<const Range>;

WaitResult wait_tasks(const std::vector<TaskState*>& tasks, wait_for until, WaitDeadline deadline);

}  // namespace detail

/// A range of result handles `mpp::wait` and `mpp::as_completed` take: `AsyncResult<T>` of one
/// `T`, or `mpp::AnyResult`.
template <class Range>
concept result_range = std::ranges::input_range<Range> &&
    detail::is_result_handle<std::remove_cvref_t<std::ranges::range_reference_t<Range>>>::value;

/// Python's `concurrent.futures.wait(fs, return_when=...)`: blocks until the condition `until`
/// holds for `results` (by default, all are ready) and returns which were ready then and which
/// were not, as positions in `results` (see `WaitResult`). The waiting thread sleeps until a
/// result completes; it does not poll. Inside a task of the results' pool, it runs their tasks
/// that have not started, as `AsyncResult::wait` does. Thread-safe; `results` is not modified.
///
/// ```cpp
/// auto [done, not_done] = mpp::wait(results, mpp::wait_for::first_exception);
/// for (std::size_t i : done) if (!results[i].successful()) ...
/// ```
template <result_range Range>
WaitResult wait(const Range& results, wait_for until = wait_for::all_completed) {
  return detail::wait_tasks(detail::tasks_of(results), until, std::nullopt);
}

/// `wait` that returns after `timeout` at the latest, whatever `until` says (Python's
/// `timeout=`): the results not ready by then are in `not_done`. Only sleeps; never runs a task.
template <result_range Range, class Rep, class Period>
WaitResult wait(const Range& results, wait_for until, std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_tasks(detail::tasks_of(results), until, detail::deadline_after(timeout));
}

/// `wait` over results of different types: `mpp::wait({a, b}, mpp::wait_for::first_completed)`.
inline WaitResult wait(std::initializer_list<AnyResult> results,
                       wait_for until = wait_for::all_completed) {
  return detail::wait_tasks(detail::tasks_of(results), until, std::nullopt);
}

/// `wait` over results of different types, with a timeout.
template <class Rep, class Period>
WaitResult wait(std::initializer_list<AnyResult> results, wait_for until,
                std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_tasks(detail::tasks_of(results), until, detail::deadline_after(timeout));
}

/// The results of `mpp::as_completed`, yielded as they complete: an input range (iterate it
/// once) that owns copies of the handles. Advancing blocks until the next result completes, and
/// throws `mpp::TimeoutError` if the deadline given to `as_completed` passes first. As for any
/// input iterator, `*it` is valid until the iterator advances, which drops the range's copy of
/// that handle: copy the handle to keep it. Not thread-safe: iterate it from one thread. Results
/// that complete in the order given, as a pool's mostly do, come in that order, each as it
/// completes, at the cost of a loop of `get()`; one that takes longer holds the others back for
/// about a millisecond, after which every result comes as it completes.
template <class Handle>
class AsCompleted {
 public:
  /// The input iterator; `*it` is the handle of the result that just completed.
  class iterator {
   public:
    /// The handle type yielded.
    using value_type = Handle;
    /// As for every input iterator.
    using difference_type = std::ptrdiff_t;
    /// What `*it` gives.
    using reference = const Handle&;
    /// A singular iterator, for the iterator concepts.
    iterator() = default;
    /// The result that completed.
    reference operator*() const { return owner_->results_[owner_->current_]; }
    /// Points at the handle.
    const Handle* operator->() const { return &**this; }
    /// Waits for the next result; may throw `mpp::TimeoutError`.
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    /// As `++it`.
    void operator++(int) { ++*this; }
    /// Whether every result was yielded.
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.at_end();
    }

   private:
    bool at_end() const noexcept { return owner_->current_ == detail::CompletionSet::none; }
    friend class AsCompleted;
    explicit iterator(AsCompleted* owner) noexcept : owner_(owner) {}
    AsCompleted* owner_ = nullptr;
  };

  /// Watches `results` until `deadline` (none: no timeout).
  AsCompleted(std::vector<Handle>&& results, detail::WaitDeadline deadline)
      : results_(std::move(results)),
        set_(detail::CompletionSet::watch(results_,
                                          [](const Handle& h) { return &detail::task_of(h); })),
        remaining_(results_.size()),
        deadline_(deadline) {}
  /// Watches copies of the handles in `results`, a sized range, until `deadline`.
  template <detail::sized_when_const Range>
  AsCompleted(const Range& results, detail::WaitDeadline deadline)
      : set_(copy_and_watch(results)), remaining_(results_.size()), deadline_(deadline) {}
  ~AsCompleted() {
    if (set_) set_->release();
  }
  /// Takes over `other`'s results and watching; `other` must not be read afterwards.
  AsCompleted(AsCompleted&& other) noexcept
      : results_(std::move(other.results_)),
        set_(std::exchange(other.set_, nullptr)),
        remaining_(other.remaining_),
        current_(other.current_),
        deadline_(other.deadline_) {}
  AsCompleted& operator=(AsCompleted&&) = delete;
  AsCompleted(const AsCompleted&) = delete;
  AsCompleted& operator=(const AsCompleted&) = delete;

  /// Waits for the first result to complete (may throw `mpp::TimeoutError`); call once.
  iterator begin() {
    advance();
    return iterator(this);
  }
  /// The end of the results.
  std::default_sentinel_t end() const noexcept { return {}; }
  /// How many results it watches.
  std::size_t size() const noexcept { return results_.size(); }

 private:
  void advance() {
    // Drops the copy of the handle yielded last, as CPython's as_completed drops each future it
    // has yielded (bpo-14406): a result nobody else holds, and its value, go now, not at the end.
    if (current_ != detail::CompletionSet::none) results_[current_] = Handle();
    if (remaining_ == 0) {
      current_ = detail::CompletionSet::none;
      return;
    }
    const std::size_t index = set_->next(deadline_);
    if (index == detail::CompletionSet::none) {
      detail::throw_as_completed_timeout(timeout_seconds(), remaining_);
    }
    --remaining_;
    current_ = index;
  }
  // Copies each handle and watches its task in the same step, while the task is in the cache.
  template <class Range>
  detail::CompletionSet* copy_and_watch(const Range& results) {
    results_.reserve(std::ranges::size(results));
    return detail::CompletionSet::watch(
        results, [this](const Handle& h) { return &detail::task_of(results_.emplace_back(h)); });
  }
  double timeout_seconds() const {
    return std::chrono::duration<double>(*deadline_ - start_).count();
  }

  std::vector<Handle> results_;
  detail::CompletionSet* set_;
  std::size_t remaining_;
  std::size_t current_ = detail::CompletionSet::none;
  detail::WaitDeadline deadline_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

namespace detail {
// An rvalue vector of handles is moved in; any other range that is sized when const is copied
// as it is watched; the rest (a filter view, say) are copied first.
template <class Range>
auto make_as_completed(Range&& results, WaitDeadline deadline) {
  using Handle = std::remove_cvref_t<std::ranges::range_reference_t<Range>>;
  if constexpr (std::is_same_v<std::remove_cvref_t<Range>, std::vector<Handle>> &&
                !std::is_lvalue_reference_v<Range>) {
    return AsCompleted<Handle>(std::move(results), deadline);
  } else if constexpr (sized_when_const<std::remove_reference_t<Range>>) {
    return AsCompleted<Handle>(results, deadline);
  } else {
    std::vector<Handle> handles;
    for (auto&& result : results) handles.push_back(result);
    return AsCompleted<Handle>(std::move(handles), deadline);
  }
}
}  // namespace detail

/// Python's `concurrent.futures.as_completed(fs)`: iterates over `results` in the order they
/// complete, each handle once, sleeping while none is ready (it does not poll). The handles are
/// copied (or moved from an rvalue vector), so `results` may go away meanwhile. Positions count,
/// not tasks: a result given twice is yielded twice (Python's, which takes a set, yields it once).
///
/// ```cpp
/// std::vector<mpp::AsyncResult<double>> results;
/// for (double x : xs) results.push_back(pool.apply_async(simulate, x));
/// for (const auto& r : mpp::as_completed(results)) std::printf("%g\n", r.get());
/// ```
///
/// Inside a task of the results' pool, an untimed `as_completed` runs their tasks that have not
/// started rather than sleep, as `AsyncResult::wait` does.
template <result_range Range>
[[nodiscard]] auto as_completed(Range&& results) {
  return detail::make_as_completed(std::forward<Range>(results), std::nullopt);
}

/// `as_completed` with Python's `timeout`: if the results are not all yielded within `timeout`
/// of this call, advancing the iterator throws `mpp::TimeoutError` (the tasks keep running).
template <result_range Range, class Rep, class Period>
[[nodiscard]] auto as_completed(Range&& results, std::chrono::duration<Rep, Period> timeout) {
  return detail::make_as_completed(std::forward<Range>(results), detail::deadline_after(timeout));
}

/// `as_completed` over results of different types: `mpp::as_completed({a, b, c})`.
[[nodiscard]] inline AsCompleted<AnyResult> as_completed(std::initializer_list<AnyResult> results) {
  return AsCompleted<AnyResult>(results, std::nullopt);
}

}  // namespace mpp
