#pragma once
/// @file
/// `mpp::AsyncResult<T>`: the handle of a task submitted with `apply_async`, `map_async` or
/// `starmap_async`, shaped like Python's `multiprocessing.pool.AsyncResult`.

#include <chrono>
#include <concepts>
#include <exception>
#include <type_traits>
#include <utility>

#include "mpp/callbacks.hpp"
#include "mpp/detail/task_state.hpp"
#include "mpp/errors.hpp"

namespace mpp {

class Pool;
template <class T>
class AsyncResult;

namespace detail {

// The pool's core, for the continuations (defined in pool.hpp).
PoolCore& core_of(Pool& pool) noexcept;
// The state behind a handle, for mpp::wait and friends (defined below).
struct ResultAccess;

// A function `then` can call with the value of an AsyncResult<T> (`const T&`, or nothing).
template <class F, class T>
concept continuation_for = (std::is_void_v<T> && std::invocable<F&>) ||
                           (!std::is_void_v<T> &&
                            std::invocable<F&, std::add_lvalue_reference_t<const T>>);

}  // namespace detail

/// The result of an asynchronous task, Python's `AsyncResult` and `concurrent.futures.Future` in
/// one: `get`, `wait`, `ready`, `successful`, `cancel`, `done`. It is the one handle type of mpp:
/// `mpp::Pool` and `mpp::mpi::Pool` return it, and so does `mpp::mpi::Executor` for tasks on
/// other ranks (`mpp::mpi::Future<T>` names the same type), so local and cluster results mix in
/// one vector, one `mpp::wait` and one `mpp::as_completed`. Copies share the same task; for a
/// pool's results all members are thread-safe, so several threads may wait for and read one
/// result. A result of an `mpp::mpi::Executor` (or a continuation of one) completes as the root
/// drives the executor, which waiting on it does: use it on the root's driving thread only.
///
/// ```cpp
/// mpp::AsyncResult<int> r = pool.apply_async(square, 7);
/// if (r.wait(100ms)) std::printf("%d\n", r.get());
/// ```
///
/// Waiting from inside a task of the same pool never deadlocks: if the awaited task has not
/// started, an untimed `get()` or `wait()` runs it on the waiting thread. When the awaited task
/// was submitted by a task of the pool (it went to that thread's deque) and another thread took
/// it, an untimed wait on a thread of the pool runs other tasks submitted that way meanwhile, as
/// `tbb::task_group::wait` does, so recursion keeps every thread busy; do not hold a lock across
/// such a wait that those tasks need. A timed wait never runs a task: it returns (or throws
/// `mpp::TimeoutError`) by its deadline, since the awaited task could run longer and might need a
/// lock the waiting thread holds.
template <class T>
class AsyncResult {
 public:
  /// The type of the task's value.
  using value_type = T;

  /// An empty handle; every call but `valid()` throws `std::logic_error`.
  AsyncResult() = default;
  /// A handle to the same task: copies share the task and its value.
  AsyncResult(const AsyncResult& other) noexcept : state_(other.state_) {
    if (state_.get()) state_.get()->add_handle();
  }
  /// Takes over `other`'s task; `other` becomes empty.
  AsyncResult(AsyncResult&& other) noexcept = default;
  /// Refers to `other`'s task instead (copied or moved in).
  AsyncResult& operator=(AsyncResult other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  /// Lets go of the task; a task still running goes on (its pool keeps it).
  ~AsyncResult() {
    if (state_.get()) state_.get()->drop_handle();
  }

  /// Waits for the task and returns its value, or rethrows its exception with its type intact
  /// (`mpp::CancelledError` if it was cancelled by `cancel()` or `terminate()`). Returns a
  /// reference to the stored value on lvalues, and the value itself on rvalues
  /// (`pool.apply_async(f).get()`).
  std::add_lvalue_reference_t<const T> get() const& {
    wait();
    return checked_value();
  }
  /// The value, moved out when this is the last handle to it (no copy of it, and no
  /// continuation, still reads it) and copied otherwise, so that copies never see it emptied.
  /// A value that cannot be copied is always moved: then only one handle may take it.
  T get() && {
    wait();
    if (state().error()) std::rethrow_exception(state().error());
    if constexpr (!std::is_void_v<T>) {
      if constexpr (std::is_copy_constructible_v<T>) {
        if (!state().sole_handle()) return state().value();
      }
      return std::move(state().value());
    }
  }
  /// As `get()`, but throws `mpp::TimeoutError` if the result is not ready within `timeout`.
  template <class Rep, class Period>
  std::add_lvalue_reference_t<const T> get(std::chrono::duration<Rep, Period> timeout) const {
    if (!wait(timeout)) detail::throw_timeout(std::chrono::duration<double>(timeout).count());
    return checked_value();
  }

  /// Blocks until the result is ready. Inside a task of the same pool, runs the awaited task on
  /// this thread if it has not started, and may run other nested tasks of the pool while another
  /// thread runs it (see above).
  void wait() const { state().wait(); }
  /// Blocks until the result is ready or `timeout` has passed; returns `ready()`. Only sleeps:
  /// never runs the awaited task, so it returns by its deadline.
  template <class Rep, class Period>
  [[nodiscard]] bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return state().wait_until(std::chrono::steady_clock::now() +
                              std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  /// Whether the task has finished (with a value or an exception). Never blocks; on a result of
  /// an `mpp::mpi::Executor`, lets the executor progress first.
  [[nodiscard]] bool ready() const {
    detail::ResultState<T>& s = state();
    if (!s.ready()) s.poll_driver();
    return s.ready();
  }
  /// Whether the task finished without an exception; throws `mpp::NotReadyError` (a
  /// `std::logic_error`) if it has not finished yet, like Python's `ValueError`.
  [[nodiscard]] bool successful() const {
    if (!ready()) detail::throw_not_ready();
    return !state().error();
  }
  /// Whether this handle refers to a task.
  [[nodiscard]] bool valid() const noexcept { return state_.get() != nullptr; }

  /// Python's `Future.cancel()`: if the task has not started, it never will; the result
  /// completes at once with `mpp::CancelledError` (the `error_callback`, if any, runs on this
  /// thread with it, and continuations and `mpp::wait` see it), and `cancel` returns true. A task
  /// that is running or finished is left alone and `cancel` returns false, except a `map_async`
  /// whose map has started: its chunks not yet started are skipped, and the result completes
  /// with `mpp::CancelledError` once the running ones return (`cancel` returns true). The result
  /// of a collective call (`mpp::mpi::Pool::map_async`) is never cancelled: the other ranks make
  /// the call whatever this one does, so `cancel` returns false. Thread-safe,
  /// also against the task starting at the same moment: then exactly one of the two wins. Throws
  /// `std::logic_error` on an empty handle.
  ///
  /// ```cpp
  /// auto r = pool.apply_async(slow);
  /// if (r.cancel()) assert(r.cancelled());  // r.get() throws mpp::CancelledError
  /// ```
  bool cancel() const { return state().cancel(); }
  /// Python's `Future.cancelled()`: whether the result is ready with `mpp::CancelledError`
  /// (cancelled by `cancel()` or `terminate()`, or a continuation of a cancelled result).
  [[nodiscard]] bool cancelled() const { return ready() && state().cancelled(); }
  /// Python's `Future.done()`: the same as `ready()`.
  [[nodiscard]] bool done() const { return ready(); }

  /// mpi4py's `then`: a result of `f(value)`, run on `pool` once this result is ready (also when
  /// it is ready already). `f` gets the value as `const T&` (nothing for `void`); its return
  /// value, or exception, becomes the new result's. If this result failed or was cancelled, `f`
  /// is not called and the new result fails with the same exception (`cancelled()` then holds
  /// for it too).
  ///
  /// The continuation is never run inline by the thread that completes this result: it is
  /// submitted to `pool` then, so it never blocks a worker while it waits. `pool` counts it as
  /// submitted work from this call on (its destructor and `join()` wait for it); throws
  /// `mpp::PoolStateError` if `pool` is closed. A new result is made each time, so a chain can
  /// never wait for itself. Cancelling the new result does not cancel this one. Thread-safe.
  ///
  /// ```cpp
  /// auto area = pool.apply_async(radius).then(pool, [](double r) { return 3.14159 * r * r; });
  /// ```
  template <class F>
  requires detail::continuation_for<F, T>
  [[nodiscard]] auto then(Pool& pool, F f) const;

  /// A `try`/`except` around this result: a result equal to this one, except that an exception
  /// (not a cancellation) becomes the value `g(std::exception_ptr)` returns, computed on `pool`
  /// (mpi4py's `compose` with only an `excepthook`). `g` may rethrow to keep a failure. As with
  /// `then`, `g` runs on the pool, never inline, and `pool` counts it from this call on.
  ///
  /// ```cpp
  /// auto safe = pool.apply_async(parse, text)
  ///                 .on_error(pool, [](std::exception_ptr) { return 0; });
  /// ```
  template <class G>
  requires std::invocable<G&, std::exception_ptr>
  [[nodiscard]] AsyncResult<T> on_error(Pool& pool, G g) const;

  /// `then` on the result's own pool: the pool that runs the task, or for a task of an
  /// `mpp::mpi::Executor` the root's pool (mpi4py's `Future.then`). That pool must still exist.
  /// Throws `std::logic_error` for a result that has no pool of its own
  /// (`mpp::mpi::Pool::map_async`'s); pass one to `then(pool, f)`.
  ///
  /// ```cpp
  /// auto energy = executor.submit(simulate, params).then([](const State& s) { return s.e; });
  /// ```
  template <class F>
  requires detail::continuation_for<F, T>
  [[nodiscard]] auto then(F f) const;
  /// `on_error` on the result's own pool (see `then(f)`).
  template <class G>
  requires std::invocable<G&, std::exception_ptr>
  [[nodiscard]] AsyncResult<T> on_error(G g) const;

  /// Python's `Future.add_done_callback(fn)`: calls `fn(result)` (with an `AsyncResult<T>&`
  /// equal to this one) once the result is ready, also when it is already, as a task of the
  /// result's own pool (see `then(f)`), which counts it as work. A callback that throws is
  /// reported on stderr and otherwise ignored, as Python logs it.
  ///
  /// ```cpp
  /// f.add_done_callback([](mpp::AsyncResult<double>& done) { log(done.get()); });
  /// ```
  template <class Fn>
  requires std::invocable < Fn&, AsyncResult<T>
  & > void add_done_callback(Fn fn) const;

  /// Wraps a reference to a task's state; used by `mpp::Pool`.
  explicit AsyncResult(detail::TaskRef<detail::ResultState<T>> state) noexcept
      : state_(std::move(state)) {}

 private:
  friend struct detail::ResultAccess;

  detail::ResultState<T>& state() const {
    if (!state_.get()) detail::throw_empty_result();
    return *state_.get();
  }
  std::add_lvalue_reference_t<const T> checked_value() const {
    if (state().error()) std::rethrow_exception(state().error());
    return state().value();
  }

  detail::TaskRef<detail::ResultState<T>> state_;
};

namespace detail {
// The state behind a handle; throws std::logic_error for an empty one.
struct ResultAccess {
  template <class T>
  static ResultState<T>& state(const AsyncResult<T>& result) {
    return result.state();
  }
  template <class T>
  static const TaskRef<ResultState<T>>& ref(const AsyncResult<T>& result) noexcept {
    return result.state_;
  }
};
}  // namespace detail

}  // namespace mpp

#include "mpp/detail/continuation.hpp"
