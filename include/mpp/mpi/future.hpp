#pragma once
/// @file
/// `mpp::mpi::Future`: the result of a task of `mpp::mpi::Executor`.

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "mpp/async_result.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/detail/continuation.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"

namespace mpp::mpi {

class Executor;

/// @cond MPP_INTERNAL
namespace detail {
struct FutureAccess;  // for mpp::wait and mpp::as_completed (mpi/wait.hpp)
}  // namespace detail
/// @endcond

/// The result of `Executor::submit`, like `concurrent.futures.Future`. Waiting on it drives the
/// executor: tasks are sent and results collected while the root waits on a future, submits,
/// maps or shuts down. Used on the root's driving thread only (not thread-safe). Every member
/// but `valid()` throws `std::logic_error` on an empty (default-constructed) future.
///
/// ```cpp
/// auto f = executor.submit(count_primes, 0L, 1000000L);
/// long n = f.get();
/// ```
template <class T>
class Future {
 public:
  /// The type of the task's value.
  using value_type = T;

  /// An empty future; `valid()` is false.
  Future() = default;

  /// Waits for the task and returns its value; throws `mpp::mpi::RemoteError` if it threw on a
  /// worker (with one rank: the task's own exception), `mpp::CancelledError` if it was cancelled.
  /// Each call returns a copy of the value.
  T get() & { return read(/*take=*/false); }
  /// As `get()`, on a future about to go (`executor.submit(f, x).get()`): a large vector or
  /// string that came from a worker is moved out rather than copied when no copy of this future
  /// (and no continuation) holds the task any more.
  T get() && { return read(/*take=*/true); }
  /// As `get()`, but throws `mpp::TimeoutError` if the result is not there within `timeout`.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    if (!wait(timeout)) mpp::detail::throw_timeout(std::chrono::duration<double>(timeout).count());
    return get();
  }
  /// Waits until the task is done or cancelled.
  void wait() { core_->wait(slot(), std::nullopt); }
  /// Waits at most `timeout`; returns `done()`.
  template <class Rep, class Period>
  [[nodiscard]] bool wait(std::chrono::duration<Rep, Period> timeout) {
    return core_->wait(slot(), std::chrono::steady_clock::now() +
                                   std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  /// Whether the task finished or was cancelled; lets the executor progress (unless it is done
  /// already), never blocks.
  [[nodiscard]] bool done() {
    if (!slot().finished()) core_->poll();
    return slot().state == detail::TaskSlot::State::done || cancelled();
  }
  /// Cancels the task if it has not started yet, i.e. still waits in the root's queue (each
  /// rank takes 4 × its threads tasks at a time, up to 64 × while its tasks are tiny, with one
  /// rank as with several); true if it is cancelled.
  bool cancel() { return core_->cancel(slot()); }
  /// Whether the task was cancelled.
  [[nodiscard]] bool cancelled() const {
    return slot().state == detail::TaskSlot::State::cancelled;
  }
  /// `multiprocessing`'s `ready()`: the same as `done()`.
  [[nodiscard]] bool ready() { return done(); }
  /// Whether the task finished with a value (not an exception, not cancelled); throws
  /// `mpp::NotReadyError` if it has not finished, as Python's `AsyncResult.successful()`.
  [[nodiscard]] bool successful() {
    if (!done()) mpp::detail::throw_not_ready();
    return slot().state == detail::TaskSlot::State::done && slot().ok;
  }
  /// Whether this future refers to a task.
  [[nodiscard]] bool valid() const noexcept { return slot_ != nullptr; }

  /// mpi4py's `then`: a future of `f(value)`, computed on the root's own pool once this future
  /// is done (also when it is done already); `f` gets the value as `const T&` (nothing for
  /// `void`). If this future failed or was cancelled, `f` is not called and the new one fails
  /// with the same exception (`cancelled()` then holds for it too). `f` never runs on the
  /// thread that waits: waiting on any future of the executor starts it on the pool. Its value
  /// is kept encoded like a task's result, so it must be `mpp::mpi::transferable`. Cancelling
  /// the new future does not cancel this one. Root only; throws `std::logic_error` on an empty
  /// future.
  ///
  /// ```cpp
  /// auto energy = executor.submit(simulate, params).then([](const State& s) { return s.e; });
  /// ```
  template <class F>
  [[nodiscard]] auto then(F f) const {
    using U = typename detail::composed_value<T, F>::type;
    return Future<U>(core_, detail::compose_slot<T>(*core_, checked_slot(), std::move(f),
                                                    NoCallback{}, /*cancel_source=*/false));
  }

  /// Python's `Future.add_done_callback(fn)`: calls `fn(future)` (with a `Future<T>&` equal to
  /// this one) once the future is done, failed or cancelled, also when it is already. It runs as
  /// a task of the root's pool, once the root drives the executor (waits, submits, maps or shuts
  /// down), and must not drive it in turn: read the future with `get()`, `done()` or
  /// `successful()`, but do not submit or wait on others there. A callback that throws is
  /// reported on stderr and otherwise ignored, as Python logs it. Root only.
  ///
  /// ```cpp
  /// f.add_done_callback([](mpp::mpi::Future<double>& done) { log(done.get()); });
  /// ```
  template <class Fn>
  requires std::invocable < Fn&, Future<T>
  & > void add_done_callback(Fn fn) {
    detail::ExecutorCore& core = *core_;
    slot().when_finished(
        [&core, fn = std::move(fn), self = *this](const std::shared_ptr<detail::TaskSlot>&) {
          auto task = core.make_continuation();
          task->run = [fn, self]() mutable {
            try {
              std::invoke(fn, self);
            } catch (const std::exception& e) {
              std::fprintf(stderr, "mpp: a done callback of an mpi::Future threw (ignored): %s\n",
                           e.what());
            } catch (...) {
              std::fprintf(stderr, "mpp: a done callback of an mpi::Future threw (ignored)\n");
            }
            auto nothing = [] {};
            return detail::encoded_outcome<void>(nothing);
          };
          core.start_local(std::move(task));
        });
    core_->poll();  // starts it now if the future is done already
  }

  /// A `try`/`except` around this future: a future equal to this one, except that an exception
  /// (not a cancellation) becomes the value `g(std::exception_ptr)` returns, computed on the
  /// root's pool (mpi4py's `compose` with only an `excepthook`). `g` may rethrow to keep a
  /// failure. Root only.
  ///
  /// ```cpp
  /// auto safe = executor.submit(parse, text).on_error([](std::exception_ptr) { return 0; });
  /// ```
  template <class G>
  requires std::invocable<G&, std::exception_ptr>
  [[nodiscard]] Future<T> on_error(G g) const {
    return Future<T>(core_, detail::compose_slot<T>(*core_, checked_slot(), NoCallback{},
                                                    std::move(g), /*cancel_source=*/false));
  }

  /// Used by `Executor`.
  Future(detail::ExecutorCore* core, std::shared_ptr<detail::TaskSlot> slot)
      : core_(core), slot_(std::move(slot)) {}

 private:
  friend struct detail::FutureAccess;
  friend class Executor;

  // The slot; an empty future throws std::logic_error rather than crash.
  const std::shared_ptr<detail::TaskSlot>& checked_slot() const {
    if (!slot_) {
      throw std::logic_error(
          "mpp::mpi::Future: this future holds no task (default-constructed); use one returned "
          "by Executor::submit");
    }
    return slot_;
  }
  detail::TaskSlot& slot() const { return *checked_slot(); }
  // The value: with `take`, moved out of the blocks it came in if nothing else holds the task
  // once it is done (the executor drops it then); else copied.
  T read(bool take) {
    wait();
    if (!slot().ok) core_->rethrow(slot());
    if constexpr (!std::is_void_v<T>) {
      detail::Reader reader(slot().result(), take && slot_.use_count() == 1);
      return reader.template value<T>();
    }
  }

  detail::ExecutorCore* core_ = nullptr;
  std::shared_ptr<detail::TaskSlot> slot_;
};

}  // namespace mpp::mpi
