#include "mpp/async_result.hpp"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "mpp/detail/core.hpp"

namespace mpp::detail {
namespace {

// Timed waits are rare, so tasks share a few condition variables rather than each carrying one
// (as std::atomic::wait shares its futex table); a finished task wakes its slot's waiters, and
// each checks its own task.
struct TimedWaitSlot {
  std::mutex mutex;
  std::condition_variable done;
};

TimedWaitSlot& timed_wait_slot(const void* task) noexcept {
  static TimedWaitSlot slots[16];
  return slots[(reinterpret_cast<std::uintptr_t>(task) >> 6) % 16];
}

}  // namespace

bool TaskState::try_run() noexcept {
  int expected = pending;
  if (!status_.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) return false;
  try {
    core_->check_may_run();
    invoke();
  } catch (...) {
    error_ = std::current_exception();
  }
  release();
  try {
    notify_callbacks();
  } catch (...) {
    error_ = std::current_exception();
  }
  status_.store(done);  // sequentially consistent, as in wait_until()
  status_.notify_all();
  if (timed_waiters_.load() != 0) {
    TimedWaitSlot& slot = timed_wait_slot(this);
    std::lock_guard lock(slot.mutex);
    slot.done.notify_all();
  }
  return true;
}

// A thread of the same pool that waits runs the task itself if nobody has started it, so nested
// waits never need a free worker.
void TaskState::help() {
  if (current_core() == core_) try_run();
}

// A waiter yields a few times before it sleeps: short tasks often finish within microseconds,
// sooner than a sleep and a wake-up through the kernel, which also preempts a busy worker.
void TaskState::wait() {
  if (ready()) return;
  help();
  for (int round = 0; round < 64 && !ready(); ++round) std::this_thread::yield();
  for (int status = status_.load(std::memory_order_acquire); status != done;
       status = status_.load(std::memory_order_acquire)) {
    status_.wait(status, std::memory_order_acquire);
  }
}

// std::atomic has no timed wait: timed waiters sleep on a shared condition variable, which
// try_run() notifies only when the task has any.
bool TaskState::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  help();
  timed_waiters_.fetch_add(1);
  bool finished = false;
  {
    TimedWaitSlot& slot = timed_wait_slot(this);
    std::unique_lock lock(slot.mutex);
    finished = slot.done.wait_until(lock, deadline, [&] { return status_.load() == done; });
  }
  timed_waiters_.fetch_sub(1);
  return finished;
}

}  // namespace mpp::detail
