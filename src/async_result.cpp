#include "mpp/async_result.hpp"

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "driving.hpp"
#include "mpp/detail/core.hpp"
#include "mpp/detail/driver.hpp"

namespace mpp::detail {
namespace {

// Timed waits are rare, so tasks share a few condition variables rather than each carrying one
// (as std::atomic::wait shares its futex table); a finished task wakes its slot's waiters, and
// each checks its own task.
struct TimedWaitSlot {
  std::mutex mutex;
  std::condition_variable done;
};

// Never destroyed, like the pool's other statics: tasks of a pool alive at exit still finish
// (and wake timed waiters) while the statics are destroyed.
TimedWaitSlot& timed_wait_slot(const void* task) noexcept {
  static auto* const slots = new TimedWaitSlot[16];
  return slots[(reinterpret_cast<std::uintptr_t>(task) >> 6) % 16];
}

}  // namespace

bool TaskState::claim() noexcept {
  std::uint32_t word = word_.load(std::memory_order_relaxed);
  while (status(word) == pending) {
    if (word_.compare_exchange_weak(word, word + running, std::memory_order_acq_rel)) return true;
  }
  return false;
}

// Hooks that have fired; registering one after that fires it at once.
CompletionHook* fired_hooks() noexcept {
  static CompletionHook sentinel;
  return &sentinel;
}

namespace {
// The stoppable task whose function runs on this thread (see take_stoppable_here).
thread_local TaskState* stoppable_here = nullptr;

// The low bits of map_context_: a canceller is using the context; cancel() stopped the map.
constexpr std::uintptr_t map_in_use = 1, map_stopped = 2;
}  // namespace

TaskState* TaskState::take_stoppable_here() noexcept {
  return std::exchange(stoppable_here, nullptr);
}

void TaskState::attach_map(tbb::task_group_context* context) noexcept {
  map_context_.store(reinterpret_cast<std::uintptr_t>(context), std::memory_order_release);
}

// Waits out a canceller using the context, which the map is about to destroy.
bool TaskState::detach_map() noexcept {
  std::uintptr_t word = map_context_.load(std::memory_order_acquire);
  for (;;) {
    if ((word & map_in_use) != 0) {
      std::this_thread::yield();
      word = map_context_.load(std::memory_order_acquire);
    } else if (map_context_.compare_exchange_weak(word, 0, std::memory_order_acq_rel)) {
      return (word & map_stopped) != 0;
    }
  }
}

// cancel() of a running map_async: cancels the map's context once, unless the map has not
// attached it yet or has ended.
bool TaskState::stop_map() noexcept {
  std::uintptr_t word = map_context_.load(std::memory_order_acquire);
  do {
    if (word == 0 || (word & (map_in_use | map_stopped)) != 0) return false;
  } while (!map_context_.compare_exchange_weak(word, word | map_in_use, std::memory_order_acq_rel));
  reinterpret_cast<tbb::task_group_context*>(word)->cancel_group_execution();
  map_context_.store(word | map_stopped, std::memory_order_release);
  return true;
}

void TaskState::execute() noexcept {
  TaskState* const outer = std::exchange(stoppable_here, stoppable_ ? this : nullptr);
  struct Restore {
    TaskState* outer;
    ~Restore() { stoppable_here = outer; }
  } restore{outer};
  try {
    if (core_ != nullptr) core_->check_may_run();
    invoke();
  } catch (const CancelledError&) {  // terminate(), or a cancelled antecedent (continuations)
    error_ = std::current_exception();
    cancelled_ = true;
  } catch (...) {
    error_ = std::current_exception();
  }
  release_function();
  try {
    notify_callbacks();
  } catch (...) {
    error_ = std::current_exception();
  }
}

// Publishes the result while the caller still holds a reference, wakes sleeping waiters and
// fires the completion hooks. `from`: running, or cancelling (the word is unsigned: done - from
// wraps to the right step either way).
void TaskState::finish(std::uint32_t from) noexcept {
  const std::uint32_t previous = word_.fetch_add(done - from, std::memory_order_acq_rel);
  if ((previous & waiting) != 0) {
    word_.notify_all();
    TimedWaitSlot& slot = timed_wait_slot(this);
    std::lock_guard lock(slot.mutex);
    slot.done.notify_all();
  }
  if ((previous & hooked) != 0) fire_hooks();
}

// Takes every hook registered so far and fires it. Runs after the result is published: a hook
// registered later sees `done` (see on_completion) or finds the list fired.
void TaskState::fire_hooks() noexcept {
  CompletionHook* hook = hooks_.exchange(fired_hooks(), std::memory_order_acq_rel);
  while (hook != nullptr && hook != fired_hooks()) {
    CompletionHook* const next = hook->next;  // fire may free the hook
    hook->fire(hook, *this);
    hook = next;
  }
}

// Pushes the hook, then sets the `hooked` flag: either the flag reaches the thread that
// completes the task, which then fires the list, or this thread sees the task done and fires
// it. (Both read-modify-write the word, so one of them sees the other.)
void TaskState::on_completion(CompletionHook* hook) noexcept {
  CompletionHook* head = hooks_.load(std::memory_order_acquire);
  do {
    if (head == fired_hooks()) {
      hook->fire(hook, *this);
      return;
    }
    hook->next = head;
  } while (!hooks_.compare_exchange_weak(head, hook, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  if (status(word_.fetch_or(hooked, std::memory_order_acq_rel)) == done) fire_hooks();
}

// Python's Future.cancel(): only a task nobody started can be cancelled. It completes here, with
// the error callback and the hooks, as if it had run and raised mpp::CancelledError; its function
// is destroyed unrun. The queue's copy of the task, popped later, finds it taken.
bool TaskState::cancel(std::exception_ptr reason) noexcept {
  if (uncancellable_) return false;
  if (driver_ != nullptr && driver_->owns(*this)) return !ready() && driver_->cancel(*this);
  std::uint32_t word = word_.load(std::memory_order_relaxed);
  do {
    if (status(word) == running && stoppable_) return stop_map();
    if (status(word) != pending) return false;
  } while (!word_.compare_exchange_weak(word, word + cancelling, std::memory_order_acq_rel));
  if (reason) {
    error_ = std::move(reason);
  } else {
    try {
      throw_cancelled("the task was cancelled (AsyncResult::cancel) before it started");
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  cancelled_ = true;
  release_function();
  try {
    notify_callbacks();
  } catch (...) {
    error_ = std::current_exception();
  }
  finish(cancelling);
  return true;
}

// A worker that pops a task being cancelled waits until the cancelling thread has completed it:
// the pool counts the task as work in flight until then, so join() waits for its error callback
// (which runs on the cancelling thread) as for any other task's.
void TaskState::wait_while_cancelling() noexcept {
  std::uint32_t word = word_.load(std::memory_order_acquire);
  for (int round = 0; round < 64 && status(word) == cancelling; ++round) {
    std::this_thread::yield();
    word = word_.load(std::memory_order_acquire);
  }
  if (status(word) != cancelling) return;
  for (word = announce_waiter(); status(word) == cancelling;
       word = word_.load(std::memory_order_acquire)) {
    word_.wait(word, std::memory_order_acquire);
  }
}

void TaskState::finish_and_drop_ref() noexcept {
  // Nobody sleeps on the task and no hook watches it: publish the result and drop the reference
  // in one step. A waiter or hook that announces itself later sees the result.
  std::uint32_t word = word_.load(std::memory_order_relaxed);
  while ((word & (waiting | hooked)) == 0) {
    if (word_.compare_exchange_weak(word, word - one_ref + (done - running),
                                    std::memory_order_acq_rel)) {
      if (refs(word) == 1) destroy();
      return;
    }
  }
  finish();
  drop_ref();
}

void TaskState::run_from_queue() noexcept {
  if (claim()) {
    execute();
    finish_and_drop_ref();
    return;
  }
  wait_while_cancelling();
  drop_ref();
}

void TaskState::run_spawned() noexcept {
  const bool claimed = claim();
  if (claimed) {
    execute();
  } else {
    wait_while_cancelling();
  }
  // Waiters in oneTBB's loop go once the spawned copy has run; one that sees the result not yet
  // published waits for it as any waiter does. Released before the reference is dropped, which
  // may free the task.
  spawn_wait_.release();
  if (claimed) {
    finish_and_drop_ref();
  } else {
    drop_ref();
  }
}

bool TaskState::try_run() noexcept {
  if (!claim()) return false;
  execute();
  finish();
  return true;
}

// A thread of the same pool that waits without a timeout runs the task itself if nobody has
// started it, so nested waits never need a free worker.
void TaskState::help() {
  if (core_ != nullptr && current_core() == core_) try_run();
}

// A waiter yields a few times before it sleeps: short tasks often finish within microseconds,
// sooner than a sleep and a wake-up through the kernel, which also preempts a busy worker.
void TaskState::wait() {
  if (ready()) return;
  if (driver_ != nullptr) {
    drive(std::nullopt);
    return;
  }
  // A spawned task is waited for in oneTBB's dispatch loop, as tbb::task_group::wait does: the
  // thread runs it from its own deque if nobody stole it (the last spawned task comes first), and
  // otherwise helps with other spawned tasks of the pool, such as the awaited task's own
  // children, until it has run. Claiming it here instead would leave its spawned copy in the
  // deque, where other threads would waste their steals on it.
  if (spawned_) {
    core_->wait_spawned(spawn_wait_);
    if (ready()) return;
  }
  help();  // not spawned, or its spawned copy gave it to the queue
  for (int round = 0; round < 64 && !ready(); ++round) std::this_thread::yield();
  for (std::uint32_t word = announce_waiter(); status(word) != done;
       word = word_.load(std::memory_order_acquire)) {
    word_.wait(word, std::memory_order_acquire);
  }
}

// Sets the flag that makes the worker wake sleepers; returns the word with it set.
std::uint32_t TaskState::announce_waiter() noexcept {
  return word_.fetch_or(waiting, std::memory_order_acq_rel) | waiting;
}

// std::atomic has no timed wait: timed waiters sleep on a shared condition variable, which
// finish() notifies only when the task has announced waiters.
// A timed wait never helps: the task could run past the deadline, and the waiting thread may
// hold a lock the task needs.
bool TaskState::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  if (driver_ != nullptr) return drive(deadline);
  return sleep_until(deadline);
}

bool TaskState::sleep_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  if (status(announce_waiter()) == done) return true;
  TimedWaitSlot& slot = timed_wait_slot(this);
  std::unique_lock lock(slot.mutex);
  return slot.done.wait_until(lock, deadline, [&] { return ready(); });
}

void TaskState::poll_driver() {
  if (driver_ != nullptr && !ready()) driver_->poll();
}

// A task of the driver completes as it drives: the driver may sleep until its next event. A
// continuation of one completes on a pool once the driver completed what it waits for, so the
// driver is polled while the waiter sleeps on the task a millisecond at a time.
bool TaskState::drive(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (driver_->owns(*this)) return driver_->wait(*this, deadline);
  if (ready()) return true;
  return poll_while_sleeping([this] { driver_->poll(); },
                             [this](auto step) { return sleep_until(step); }, deadline) ||
         ready();
}

void report_done_callback_error(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpp: a done callback threw (ignored): %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mpp: a done callback threw (ignored)\n");
  }
}

}  // namespace mpp::detail
