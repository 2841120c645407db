#pragma once
// The non-template heart of mpp::Pool: the oneTBB arena, the initializer observer, the pool's
// life cycle and the count of work in flight. Templates in pool.hpp build on it.

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/task_scheduler_observer.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

#include "mpp/detail/task_allocator.hpp"
#include "mpp/detail/tsan.hpp"
#include "mpp/options.hpp"

namespace mpp::detail {

class PoolCore;
class TaskState;
class DeadlineTimer;
struct TaskStop;

// What ThreadSanitizer is told oneTBB's queues and joins synchronise (see tsan.hpp).
inline char task_handoff, task_done, chunk_start, chunk_end;

// A job for task_arena::enqueue. oneTBB copies it into its task object, inside libtbb where
// ThreadSanitizer cannot see the hand-off to the worker: the marker, constructed after the job
// in every copy, publishes the copy, and the call acquires it before touching the job.
template <class Job>
struct HandedOff {
  struct Marker {
    Marker() noexcept { happens_before(&task_handoff); }
    Marker(const Marker&) noexcept : Marker() {}
    Marker& operator=(const Marker&) noexcept { return *this; }
  };
  Job job;
  Marker marker{};
  void operator()() const {
    happens_after(&task_handoff);
    job();
  }
};
template <class Job>
HandedOff(Job) -> HandedOff<Job>;

// The pool whose task or chunk the calling thread is running, or nullptr.
PoolCore* current_core() noexcept;

// Marks the calling thread as running work of `core` for its lifetime (nests). `spawns`: the
// thread runs a task of the pool in the pool's own arena (isolated under the pool's tag), so
// what the task submits may be spawned into the thread's deque (see PoolCore::submit). The work
// starts with no deadline of its own (see TaskStop), even when this thread runs it while a task
// with a deadline waits: a deadline belongs to one task, wherever its children run.
class CoreScope {
 public:
  explicit CoreScope(PoolCore* core, bool spawns = false) noexcept;
  ~CoreScope();
  CoreScope(const CoreScope&) = delete;
  CoreScope& operator=(const CoreScope&) = delete;

 private:
  PoolCore* previous_;
  PoolCore* previous_spawning_;
  std::ptrdiff_t previous_net_;
  TaskStop* previous_stop_;
};

// The calling thread's slot for the stop source of the task with a deadline it runs (policy.hpp).
TaskStop*& task_stop_slot() noexcept;

class SpawnedTask;

// Runs the pool's initializer on each thread that enters one of the pool's arenas, unless the
// last initializer to run on that thread was this pool's.
class InitializerObserver final : public tbb::task_scheduler_observer {
 public:
  InitializerObserver(tbb::task_arena& arena, std::function<void()> initializer, PoolCore& core);
  ~InitializerObserver() override;
  void on_scheduler_entry(bool is_worker) override;

 private:
  std::function<void()> initializer_;
  PoolCore& core_;
};

class PoolCore {
 public:
  explicit PoolCore(const PoolOptions& options);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  int threads() const noexcept { return threads_; }
  // Unique in the process, never reused (unlike the pool's address).
  std::uint64_t id() const noexcept { return id_; }

  // True in a child process made by fork() after this core was created: its threads exist only
  // in the parent, so it accepts no work, and its Pool leaks it rather than wait for them.
  bool forked_away() const noexcept;

  // The number of pool cores constructed and not yet destroyed in this process (for tests: a
  // pool destroyed by its own task frees its core only when its last task returns).
  static std::size_t live() noexcept;

  // Counts one piece of work in, or throws if the pool no longer accepts it or its initializer
  // failed; `call` names the public call for the message. A closed pool still accepts work that
  // continues admitted work: a stream's next chunks, or what a running task of this pool submits.
  void begin_work(const char* call, bool continuing = false);
  void end_work(std::size_t pieces = 1) noexcept;

  // Enqueues `job` into the arena as counted work; the job must not throw.
  template <class Job>
  void enqueue(const char* call, Job&& job, bool continuing = false) {
    begin_work(call, continuing);
    const bool in_async_arena = enter_async_arena();
    async_arena(in_async_arena)
        .enqueue(HandedOff{[this, in_async_arena, job = std::forward<Job>(job)] {
          {
            CoreScope scope(this);
            tbb::this_task_arena::isolate([&] { job(); });
          }
          leave_async_arena(in_async_arena);
          end_work();
        }});
  }

  // Queues an asynchronous task as counted work. At most threads() drainers, each one TBB task,
  // run the queued tasks one after another: a burst of submissions costs one TBB enqueue (and
  // one worker wake-up) per drainer rather than per task.
  // Takes over one reference to `task`, and drops it if the pool does not accept the task.
  // From a task of the pool running in its arena, the task is spawned into the calling thread's
  // deque instead (LIFO for this thread, stolen oldest-first by the others), as
  // tbb::task_group::run does, and counted per thread.
  void submit(const char* call, TaskState* task);
  // Queues a task whose piece of work a begin_work call already counted (a continuation, counted
  // when it was made and queued when its antecedents complete); takes over one reference.
  void submit_admitted(TaskState* task) noexcept;
  // Whether submit() from the calling thread spawns (it runs a task of this pool in its arena).
  bool spawns_here() const noexcept;

  // Waits in oneTBB's dispatch loop until `spawned` is released, running spawned tasks of the
  // pool meanwhile, and returns true, when the calling thread may (it runs a task of the pool in
  // its arena); otherwise returns false at once.
  bool wait_spawned(tbb::detail::d1::wait_context& spawned);

  // Runs `body` inside the arena, isolated so a waiting thread only helps with its own work,
  // with a task_group_context that terminate() can cancel.
  void run_isolated(const char* call, const std::function<void(tbb::task_group_context&)>& body);

  void close() noexcept;
  void join();
  // Waits until no work is in flight, as join() does, without closing the pool (the root pool of
  // mpi::Executor at shutdown, whose continuations may still be added afterwards).
  void wait_idle();
  // Takes over a closed core whose Pool was destroyed by one of the core's own tasks, which
  // cannot wait for itself: the core deletes itself when its work in flight (the calling task's
  // included) ends.
  static void free_when_idle(std::unique_ptr<PoolCore> core) noexcept;
  void terminate();

  // True once terminate() was called: work that has not started completes as cancelled.
  bool terminated() const noexcept {
    return state_.load(std::memory_order_acquire) == State::terminated;
  }
  std::stop_token stop_token() const noexcept { return stop_.get_token(); }
  bool stop_requested() const noexcept { return stop_.stop_requested(); }

  // The timer that watches this pool's task deadlines, made (with its thread) on first use.
  DeadlineTimer& deadline_timer();

  // Throws mpp::CancelledError or mpp::InitializerError when a task may not run any more.
  void check_may_run() const;
  // check_may_run's test without the call, for loops that check before every item.
  bool may_run() const noexcept {
    return !has_init_error_.load(std::memory_order_acquire) && !terminated();
  }
  void record_initializer_error(std::exception_ptr error) noexcept;

 private:
  enum class State { running, closed, terminated };

  bool enter_async_arena() noexcept;
  void leave_async_arena(bool in_async_arena) noexcept;
  tbb::task_arena& async_arena(bool in_async_arena) noexcept {
    return in_async_arena ? arena_ : caller_arena_;
  }
  bool enter_caller_arena() noexcept;
  void leave_caller_arena() noexcept;
  void start_drainer() noexcept;
  // Runs `isolated` on one of the pool's workers; the calling thread only waits.
  void execute_on_workers(const std::function<void()>& isolated);
  void drain(bool in_async_arena) noexcept;
  void spawn(const char* call, TaskState* task);
  // Queues a spawned task that may not run in arena_ now, in place of its spawned copy.
  void requeue_spawned(TaskState* task) noexcept;
  void add_spawn_balance(std::ptrdiff_t net) noexcept { spawn_balance_.fetch_add(net); }
  friend class SpawnedTask;
  friend class CoreScope;
  void register_context(tbb::task_group_context* context);
  void unregister_context(tbb::task_group_context* context) noexcept;

  int threads_;
  bool placement_;  // drainers keep apart (PoolOptions::placement)
  std::uint64_t id_;
  unsigned fork_generation_;  // the process's fork generation when the core was made
  // Two arenas of threads() slots share the pool's threads (see the constructor).
  tbb::task_arena arena_;         // asynchronous work; no slot reserved
  tbb::task_arena caller_arena_;  // maps called from outside; one slot reserved for the caller
  std::atomic<int> async_arena_work_{0};  // drainers and stream chunks in arena_
  std::atomic<int> caller_maps_{0};       // maps running in caller_arena_
  std::unique_ptr<InitializerObserver> observer_;
  std::unique_ptr<InitializerObserver> caller_observer_;

  // Work in flight: queued and running tasks, drainers, maps, stream chunks. It only reaches
  // zero under mutex_, so that a joining thread that sees zero may destroy the pool.
  alignas(64) std::atomic<std::size_t> outstanding_{0};
  std::atomic<State> state_{State::running};
  std::atomic<bool> orphaned_{false};  // free_when_idle() was called: the last end_work deletes
  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<tbb::task_group_context*> contexts_;

  // Each queued task holds one reference for the queue. Its pages come from the tasks'
  // allocator: with glibc's malloc, the workers' frees (a page's last pop frees it) showed in
  // profiles and the submitting thread page-faulted fresh memory in; with tbbmalloc, submitting
  // takes half the CPU time. Sanitizer builds keep std::allocator.
  tbb::concurrent_queue<TaskState*, TaskAllocator<TaskState*>> queue_;
  std::atomic<int> drainers_{0};         // at most threads()
  std::atomic<int> caller_drainers_{0};  // of which in caller_arena_: at most threads() - 1

  // Spawned tasks not yet run, as far as the threads have told: each thread counts the tasks it
  // spawns and runs while it runs the pool's work (a drainer, a spawned task run on its own), and
  // adds the difference here when that work ends, before its piece of outstanding_ ends. So while
  // any such work runs, outstanding_ is not zero, and once none runs, this is exactly the number
  // of spawned tasks waiting in deques; the pool is idle when both are zero. A spawned task run
  // on its own takes a piece of outstanding_ first. A spawn or a run costs no shared update.
  std::atomic<std::ptrdiff_t> spawn_balance_{0};
  // The context of spawned tasks, never cancelled (terminate() cancels them through
  // check_may_run) and bound to no other, so that a failing map cannot cancel them.
  tbb::task_group_context spawn_context_{tbb::task_group_context::isolated};

  std::stop_source stop_;
  std::function<void(const Overdue&)> on_overdue_;  // given to the timer when it starts
  std::once_flag timer_once_;
  std::unique_ptr<DeadlineTimer> timer_;  // after the arenas: destroyed before them

  std::atomic<bool> has_init_error_{false};
  std::exception_ptr init_error_;
  std::once_flag init_error_once_;
};

}  // namespace mpp::detail
