#pragma once
// What completes a result that no pool thread completes: the root of mpp::mpi::Executor drives
// its workers from the thread that waits, so waiting on such a result drives its executor.

#include <chrono>
#include <functional>
#include <optional>

namespace mpp::detail {

class TaskState;

class Driver {
 public:
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;

  // Whether `task` completes only as this driver progresses (one of its own results, not a
  // continuation of one).
  virtual bool owns(const TaskState& task) const noexcept = 0;
  // Drives until the owned `task` completes or `deadline` passes; returns whether it did.
  virtual bool wait(TaskState& task, Deadline deadline) = 0;
  // Drives until `done()` holds or `deadline` passes; returns whether it holds. Without a
  // deadline it may sleep until the driver's next event, so `done()` must depend on owned tasks
  // only.
  virtual bool wait_until(const std::function<bool()>& done, Deadline deadline) = 0;
  // Progresses what it can without blocking.
  virtual void poll() = 0;
  // Cancels an owned task that has not started; true if it is cancelled.
  virtual bool cancel(TaskState& task) = 0;

 protected:
  Driver() = default;
  Driver(const Driver&) = default;
  Driver& operator=(const Driver&) = default;
  ~Driver() = default;
};

}  // namespace mpp::detail
