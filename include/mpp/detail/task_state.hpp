#pragma once
// The task runtime under every asynchronous result: TaskState (status, references, waiting,
// cancellation, completion hooks), TaskRef (one reference) and ResultState (the value).

#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

namespace mpp::detail {

class PoolCore;
class TaskState;
class Driver;

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

}  // namespace mpp::detail
