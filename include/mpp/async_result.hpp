#pragma once
/// @file
/// `mpp::AsyncResult<T>`: the handle of a task submitted with `apply_async`, `map_async` or
/// `starmap_async`, shaped like Python's `multiprocessing.pool.AsyncResult`.

#include <oneapi/tbb/detail/_small_object_pool.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "mpp/detail/task_allocator.hpp"
#include "mpp/errors.hpp"

namespace mpp {

class Pool;
template <class T>
class AsyncResult;

namespace detail {

class PoolCore;
class TaskState;
class Driver;

// The pool's core, for the continuations (defined in pool.hpp).
PoolCore& core_of(Pool& pool) noexcept;
// The state behind a handle, for mpp::wait and friends (defined below).
struct ResultAccess;

// A function `then` can call with the value of an AsyncResult<T> (`const T&`, or nothing).
template <class F, class T>
concept continuation_for = (std::is_void_v<T> && std::invocable<F&>) ||
                           (!std::is_void_v<T> &&
                            std::invocable<F&, std::add_lvalue_reference_t<const T>>);

// Something to do once a task completes (mpp::wait, mpp::as_completed, continuations): an
// intrusive list node, so that watching a task allocates nothing in the task. `fire` runs exactly
// once, on the thread that completes the task (or registers the hook after it completed), after
// the result is published; it must not throw and must not block.
struct CompletionHook {
  CompletionHook* next = nullptr;
  void (*fire)(CompletionHook* self, TaskState& task) noexcept = nullptr;
};

// The type-erased part of an asynchronous task: who runs it, waiting for it, and its references
// (a handle's and the pool queue's). It is kept small (no mutex, no std::function, no separate
// reference-count block): a burst of apply_async allocates one per task, and the worker that runs
// it and the thread that waits for it share its cache line.
class TaskState {
 public:
  TaskState(const TaskState&) = delete;
  TaskState& operator=(const TaskState&) = delete;

  // Runs the task for the pool's queue and drops the queue's reference; if a waiting thread ran
  // it already, only drops the reference.
  void run_from_queue() noexcept;
  // Runs the task for the copy spawned into a thread's deque (a submission from inside the pool,
  // see PoolCore::submit), lets threads waiting for that copy go, and drops the copy's reference.
  void run_spawned() noexcept;
  // Called before the task is spawned: waiters may then wait for the spawned copy in oneTBB's
  // dispatch loop, running other spawned tasks of the pool meanwhile.
  void mark_spawned() noexcept {
    spawned_ = true;
    spawn_wait_.reserve();
  }
  // The spawned copy will not run the task (it was queued instead): waiters in oneTBB's loop go.
  void release_spawned() noexcept { spawn_wait_.release(); }
  bool ready() const noexcept { return status(word_.load(std::memory_order_acquire)) == done; }
  // Completes a task that has not started with mpp::CancelledError (`reason`, if given: the
  // cancellation of a continuation's antecedent), on the calling thread, or stops the running
  // map of a map_async; false otherwise. See AsyncResult::cancel.
  bool cancel(std::exception_ptr reason = nullptr) noexcept;
  // Whether the task completed with mpp::CancelledError; only meaningful once ready().
  bool cancelled() const noexcept { return cancelled_; }
  // The task whose function runs on the calling thread, if its function may be stopped by
  // cancel() (a map_async's), taken so that a map nested in it does not take it again; for
  // PoolCore::run_isolated.
  static TaskState* take_stoppable_here() noexcept;
  // While the map of a running map_async runs, cancel() cancels its context: chunks not started
  // are skipped. detach_map returns whether cancel() did.
  void attach_map(tbb::task_group_context* context) noexcept;
  bool detach_map() noexcept;
  // Marks the task as one whose function cancel() may stop (map_async); before it is submitted.
  void make_stoppable() noexcept { stoppable_ = true; }
  // Marks the task as one cancel() leaves alone: a collective call (mpi::Pool::map_async), which
  // the other ranks make whatever this one does. Before it is submitted.
  void make_uncancellable() noexcept { uncancellable_ = true; }
  // Runs `hook` once the task completes: at once, on this thread, if it has.
  void on_completion(CompletionHook* hook) noexcept;
  // Runs the task on the calling thread if nobody started it and the thread runs work of the
  // task's pool, as an untimed wait does (mpp::wait helps this way).
  void help();
  // Wait for the task; a task with a driver is waited on by driving it (see Driver).
  void wait();
  bool wait_until(std::chrono::steady_clock::time_point deadline);
  // Sleeps until the task completes or `deadline` passes, without driving or helping.
  bool sleep_until(std::chrono::steady_clock::time_point deadline);

  // The driver whose progress completes the task or what it waits for (a result of
  // mpp::mpi::Executor, or a continuation of one), or null; set before the task is shared.
  Driver* driver() const noexcept { return driver_; }
  void set_driver(Driver* driver) noexcept { driver_ = driver; }
  // Lets the driver progress if the task has one and is not ready (ready() polls this way).
  void poll_driver();
  // The pool that runs continuations made without naming one (AsyncResult::then(f)): the
  // task's own pool, or an executor's root pool; null if it has none.
  virtual PoolCore* home() const noexcept { return core_; }
  const std::exception_ptr& error() const noexcept { return error_; }

  // The result handles (AsyncResult copies, continuations' included) that may still read the
  // value: get() on an rvalue moves it out only when its own handle is the last.
  void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
  void drop_handle() noexcept { handles_.fetch_sub(1, std::memory_order_acq_rel); }
  bool sole_handle() const noexcept { return handles_.load(std::memory_order_acquire) == 1; }

  void add_ref() noexcept { word_.fetch_add(one_ref, std::memory_order_relaxed); }
  void drop_ref() noexcept {
    if (refs(word_.fetch_sub(one_ref, std::memory_order_acq_rel)) == 1) destroy();
  }

 protected:
  // Starts with two references: the result handle's and the pool queue's. `core` is null for a
  // task that no pool runs: a thread of its own calls run_from_queue (mpi::Pool::map_async).
  explicit TaskState(PoolCore* core) noexcept : core_(core) {}
  // A task freed unfinished (a pool that never ran it) still fires its hooks, which only read
  // its state: waiters are not left waiting for it.
  virtual ~TaskState() {
    if (hooks_.load(std::memory_order_relaxed) != nullptr) fire_hooks();
  }
  virtual void invoke() = 0;
  // Destroys the task's function once it ran (or will never run), so that what it captured is
  // not kept alive by the result handle.
  virtual void release_function() noexcept = 0;
  // Calls Python's callback or error_callback, whichever applies (may throw).
  virtual void notify_callbacks() = 0;
  // Destroys and frees the task with the allocator that made it.
  virtual void destroy() noexcept = 0;

 public:
  // spawn_copy_size bytes, aligned to 64, in the task's own allocation where PoolCore may build
  // the spawned copy of the task; nullptr if the task has none (it was not made for spawning).
  virtual void* spawn_storage() noexcept { return nullptr; }

 protected:
  std::exception_ptr error_;

 private:
  // The state word: the status in its two low bits, a flag set by waiters before they sleep, one
  // set once completion hooks are registered, and the references above. One word lets a worker
  // publish the result and drop the queue's reference in one atomic step when nobody waits.
  // `cancelling`: cancel() claimed the task and is completing it on the cancelling thread.
  enum : std::uint32_t {
    pending = 0,
    running = 1,
    done = 2,
    cancelling = 3,
    waiting = 4,
    hooked = 8,
    one_ref = 16
  };
  static std::uint32_t status(std::uint32_t word) noexcept { return word & 3; }
  static std::uint32_t refs(std::uint32_t word) noexcept { return word / one_ref; }

  bool claim() noexcept;
  bool stop_map() noexcept;
  void execute() noexcept;
  void finish(std::uint32_t from = running) noexcept;
  void fire_hooks() noexcept;
  void wait_while_cancelling() noexcept;
  void finish_and_drop_ref() noexcept;
  bool try_run() noexcept;
  std::uint32_t announce_waiter() noexcept;
  bool drive(std::optional<std::chrono::steady_clock::time_point> deadline);

  PoolCore* core_;
  Driver* driver_ = nullptr;
  std::atomic<std::uint32_t> word_{2 * one_ref};
  std::atomic<std::uint32_t> handles_{1};  // kept apart from the references: see add_handle
  bool spawned_ = false;                   // set before the spawn, by the thread that made the task
  // Written before the result is published, read after (see cancelled()).
  bool cancelled_ = false;
  bool stoppable_ = false;      // set before the task is submitted (make_stoppable)
  bool uncancellable_ = false;  // likewise (make_uncancellable)
  // The context of the running map of a map_async (attach_map), with flags in its low bits.
  std::atomic<std::uintptr_t> map_context_{0};
  // Hooks to fire on completion; fired_hooks() once they have been.
  std::atomic<CompletionHook*> hooks_{nullptr};
  // Released once the spawned copy has run (whether it ran the task or found it taken).
  tbb::detail::d1::wait_context spawn_wait_{0};
};

// One reference to a task (an intrusive pointer): copies share the task, the last one frees it.
template <class State>
class TaskRef {
 public:
  TaskRef() = default;
  // Takes over one reference the caller holds.
  explicit TaskRef(State* adopted) noexcept : state_(adopted) {}
  TaskRef(const TaskRef& other) noexcept : state_(other.state_) {
    if (state_) state_->add_ref();
  }
  TaskRef(TaskRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  TaskRef& operator=(TaskRef other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~TaskRef() {
    if (state_) state_->drop_ref();
  }
  State* get() const noexcept { return state_; }

 private:
  State* state_ = nullptr;
};

// The value of a task, or nothing for void.
template <class T>
class ResultState : public TaskState {
 public:
  using TaskState::TaskState;
  T& value() noexcept { return *value_; }

 protected:
  std::optional<T> value_;
};

template <>
class ResultState<void> : public TaskState {
 public:
  using TaskState::TaskState;
  void value() noexcept {}
};

}  // namespace detail

/// Python's `callback` and `error_callback` for the `*_async` calls; build it with
/// `mpp::callbacks`. The callback runs on the worker that finished the task, before the result
/// becomes ready, so once `get()` returns the callback has run; it should return quickly.
/// If a callback throws, that exception is what `get()` rethrows. Callbacks may submit more work
/// to the pool and wait for other results; they must not wait for their own result.
template <class Callback, class ErrorCallback>
struct Callbacks {
  /// Called with the result (`const T&`, or nothing for `void` tasks) when the task succeeded.
  Callback callback;
  /// Called with the `std::exception_ptr` of the failure when the task threw or was cancelled.
  ErrorCallback error_callback;
};

/// No callback: the default of the `*_async` calls.
struct NoCallback {};

/// Python's `callback=` / `error_callback=`:
///
/// ```cpp
/// auto r = pool.apply_async(mpp::callbacks([](int v) { log(v); },
///                                          [](std::exception_ptr) { log("failed"); }),
///                           square, 7);
/// ```
template <class Callback, class ErrorCallback = NoCallback>
Callbacks<Callback, ErrorCallback> callbacks(Callback callback, ErrorCallback error_callback = {}) {
  return {std::move(callback), std::move(error_callback)};
}

namespace detail {

// Room for the copy of a task that PoolCore spawns into a thread's deque (a oneTBB task).
inline constexpr std::size_t spawn_copy_size = 128;

// One allocation for a spawned task and its copy: the copy first (oneTBB tasks are aligned to
// 64 bytes), the task at offset spawn_copy_size.
template <class T>
struct SpawnBlock {
  alignas(64) unsigned char copy[spawn_copy_size];
  alignas(T) unsigned char task[sizeof(T)];
};

// A task computing `T` by calling `Fn` once, with the callbacks of mpp::callbacks (NoCallback,
// an empty type, where there is none).
template <class T, class Fn, class Callback = NoCallback, class ErrorCallback = NoCallback>
class FunctionTask final : public ResultState<T> {
  using Allocator = TaskAllocator<FunctionTask>;
  using Traits = std::allocator_traits<Allocator>;

 public:
  FunctionTask(PoolCore* core, Fn fn, Callbacks<Callback, ErrorCallback> on_done = {})
      : ResultState<T>(core),
        fn_(std::in_place, std::move(fn)),
        callback_(std::move(on_done.callback)),
        error_callback_(std::move(on_done.error_callback)) {}

  // A new task holding two references (see TaskState). `pooled`: from oneTBB's small-object
  // pool of the calling thread, a thread of the pool's arena spawning a nested task, as
  // tbb::task_group allocates its tasks (except in sanitizer builds, whose allocator sees reuse).
  static FunctionTask* create(PoolCore* core, Fn fn, Callbacks<Callback, ErrorCallback> on_done,
                              [[maybe_unused]] bool pooled = false) {
#if !defined(MPP_TSAN) && !defined(MPP_ASAN)
    if (pooled) {
      tbb::detail::d1::small_object_allocator pool{};
      auto* block = pool.new_object<SpawnBlock<FunctionTask>>();
      try {
        auto* task = ::new (static_cast<void*>(block->task))
            FunctionTask(core, std::move(fn), std::move(on_done));
        task->pool_ = pool;
        task->pooled_ = true;
        return task;
      } catch (...) {
        pool.deallocate(block);
        throw;
      }
    }
#endif
    Allocator allocator;
    FunctionTask* task = Traits::allocate(allocator, 1);
    try {
      Traits::construct(allocator, task, core, std::move(fn), std::move(on_done));
    } catch (...) {
      Traits::deallocate(allocator, task, 1);
      throw;
    }
    return task;
  }

 private:
  void destroy() noexcept override {
    if (pooled_) {
      tbb::detail::d1::small_object_allocator pool = pool_;
      auto* block = reinterpret_cast<SpawnBlock<FunctionTask>*>(spawn_storage());
      this->~FunctionTask();
      pool.deallocate(block);
      return;
    }
    Allocator allocator;
    Traits::destroy(allocator, this);
    Traits::deallocate(allocator, this, 1);
  }
  void invoke() override {
    if constexpr (std::is_void_v<T>) {
      std::invoke(std::move(*fn_));
    } else {
      this->value_.emplace(std::invoke(std::move(*fn_)));
    }
  }
  void release_function() noexcept override {
    fn_.reset();
  }
  void* spawn_storage() noexcept override {
    return pooled_ ? reinterpret_cast<unsigned char*>(this) - spawn_copy_size : nullptr;
  }

  void notify_callbacks() override {
    if (this->error_) {
      if constexpr (!std::is_same_v<ErrorCallback, NoCallback>) {
        if (present(error_callback_)) error_callback_(this->error_);
      }
    } else if constexpr (!std::is_same_v<Callback, NoCallback>) {
      if (!present(callback_)) return;
      if constexpr (std::is_void_v<T>) {
        callback_();
      } else {
        callback_(*this->value_);
      }
    }
  }

  // An empty std::function or a null function pointer is no callback, as Python's None.
  template <class F>
  static bool present(const F& f) noexcept {
    if constexpr (std::is_constructible_v<bool, const F&>) {
      return static_cast<bool>(f);
    } else {
      return true;
    }
  }

  std::optional<Fn> fn_;
  [[no_unique_address]] Callback callback_;
  [[no_unique_address]] ErrorCallback error_callback_;
  bool pooled_ = false;
  tbb::detail::d1::small_object_allocator pool_{};
};

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
