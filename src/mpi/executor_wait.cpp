// The root waiting for the executor's results: driving the work until a slot finishes or a
// condition holds, polling, cancelling, what a failed result throws, and the ExecutorCore as
// the Driver of its AsyncResults.

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/wait.hpp"

namespace mpp::mpi::detail {

std::exception_ptr ExecutorCore::error_of(const TaskSlot& slot) const {
  try {
    rethrow(slot);
  } catch (...) {
    return std::current_exception();
  }
}

void ExecutorCore::poll() {
  settle_locals();
  start_ready();
  if (comm_.size() == 1) {
    dispatch_local();
    return;
  }
  dispatch();
  while (receive(false)) {
  }
  dispatch();
}

void ExecutorCore::progress() {
  start_ready();
  dispatch();
  const bool remote = comm_.size() > 1 && !running_.empty();
  if (!locals_.empty()) {
    // With results also due from workers, the root looks for them every millisecond.
    wait_for_locals(std::chrono::milliseconds(remote ? 1 : 10));
  } else if (remote) {
    receive(true);
  }
  poll();
}

bool ExecutorCore::wait(TaskSlot& slot,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  const auto finished = [&] {
    return slot.state == TaskSlot::State::done || slot.state == TaskSlot::State::cancelled;
  };
  while (!finished()) {
    if (slot.on_pool()) {  // running on a local pool: wait for it there
      const mpp::AnyResult result = slot.waitable();
      if (deadline) {
        if (!result.wait(std::chrono::duration_cast<std::chrono::nanoseconds>(
                *deadline - std::chrono::steady_clock::now()))) {
          return false;
        }
      } else {
        result.wait();
      }
      settle_local(slot);
      start_ready();
      dispatch();
      continue;
    }
    if (comm_.size() == 1) {  // still queued: the tasks ahead of it must finish first
      if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
      progress();
      continue;
    }
    if (deadline) {
      poll();
      if (finished()) break;
      if (std::chrono::steady_clock::now() >= *deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      progress();
    }
  }
  return true;
}

bool ExecutorCore::wait_until(const std::function<bool()>& finished,
                              std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    poll();
    if (finished()) return true;
    if (!deadline) {
      progress();
    } else if (std::chrono::steady_clock::now() >= *deadline) {
      return false;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

namespace {
const SlotHolder* holder_of(const mpp::detail::TaskState& task) noexcept {
  return dynamic_cast<const SlotHolder*>(&task);
}
}  // namespace

bool ExecutorCore::owns(const mpp::detail::TaskState& task) const noexcept {
  const SlotHolder* holder = holder_of(task);
  return holder != nullptr && holder->core == this;
}

// The slot's finish callback completes the task on this thread (see RemoteResult).
bool ExecutorCore::wait(mpp::detail::TaskState& task, Deadline deadline) {
  if (const std::shared_ptr<TaskSlot> slot = holder_of(task)->slot) (void)wait(*slot, deadline);
  return task.ready();
}

bool ExecutorCore::cancel(mpp::detail::TaskState& task) {
  const std::shared_ptr<TaskSlot> slot = holder_of(task)->slot;
  return slot && cancel(*slot);
}

bool ExecutorCore::cancel(TaskSlot& slot) {
  if (slot.state == TaskSlot::State::queued) slot.finish(TaskSlot::State::cancelled);
  return slot.state == TaskSlot::State::cancelled;
}

void ExecutorCore::rethrow(const TaskSlot& slot) const {
  if (slot.state == TaskSlot::State::cancelled) {
    mpp::detail::throw_cancelled(
        "mpi::Executor: the task was cancelled before it started (cancel() on its result, or "
        "shutdown(cancel_futures=true))");
  }
  // A slot that brought the news of the break is finished (and its result read) before the
  // executor breaks: its own bytes hold the record.
  if (slot.broken) {
    throw_broken(
        broken_ ? *broken_
                : decode_error(slot.bytes.data() + slot.offset, slot.bytes.size() - slot.offset));
  }
  if (slot.error) std::rethrow_exception(slot.error);
  throw_remote(decode_error(slot.bytes.data() + slot.offset, slot.bytes.size() - slot.offset));
}

}  // namespace mpp::mpi::detail
