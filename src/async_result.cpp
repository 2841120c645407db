#include "mpp/async_result.hpp"

#include "mpp/detail/core.hpp"

namespace mpp::detail {

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
  {
    std::lock_guard lock(mutex_);
    status_.store(done, std::memory_order_release);
  }
  done_.notify_all();
  return true;
}

// A thread of the same pool that waits runs the task itself if nobody has started it, so nested
// waits never need a free worker.
void TaskState::help() {
  if (current_core() == core_) try_run();
}

void TaskState::wait() {
  if (ready()) return;
  help();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return ready(); });
}

bool TaskState::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (ready()) return true;
  help();
  std::unique_lock lock(mutex_);
  return done_.wait_until(lock, deadline, [&] { return ready(); });
}

}  // namespace mpp::detail
