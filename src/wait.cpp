#include "mpp/wait.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "driving.hpp"
#include "mpp/detail/core.hpp"
#include "mpp/detail/driver.hpp"
#include "mpp/detail/wait_condition.hpp"

namespace mpp::detail {

// What the hooks and the consumer share: the indices completed since the consumer last looked,
// under a mutex the consumer sleeps on. A hook notifies only when the consumer sleeps. The set
// is freed by the last of the consumer and the hooks to leave, counted under the mutex (which
// they take anyway) rather than in an atomic count every completing worker would also update.
struct CompletionSet::Shared {
  std::mutex mutex;
  std::condition_variable completed;
  std::vector<std::size_t> indices;  // room for all, reserved: a hook never allocates
  bool sleeping = false;
  std::size_t hooks_left = 0;
  bool consumer_left = false;
  // Whether `indices` has any, for the consumer's look before it locks.
  std::atomic<bool> any{false};
};

CompletionSet::CompletionSet(std::vector<TaskState*> tasks)
    : tasks_(std::move(tasks)), nodes_(tasks_.size()), shared_(new Shared) {
  batch_.reserve(tasks_.size());
  shared_->indices.reserve(tasks_.size());
}

// Called for each task by watch(), which reads the task anyway: one pass over the tasks.
void CompletionSet::note_driver(const TaskState& task) {
  Driver* driver = task.driver();
  if (driver == nullptr) {
    owned_ = false;
    return;
  }
  if (std::find(drivers_.begin(), drivers_.end(), driver) == drivers_.end()) {
    drivers_.push_back(driver);
  }
  owned_ = owned_ && driver->owns(task);
}

CompletionSet* CompletionSet::watch(std::vector<TaskState*> tasks) {
  auto* set = new CompletionSet(std::move(tasks));
  const std::size_t n = set->tasks_.size();
  // At most n hooks; the tasks found ready need none, and are taken off the count at the end
  // (until then the count cannot reach zero, and the consumer has not left).
  set->shared_->hooks_left = n;
  std::size_t unwatched = 0;
  for (std::size_t i = 0; i < n; ++i) {
    set->note_driver(*set->tasks_[i]);
    if (set->tasks_[i]->ready()) {  // no hook needed, and the consumer's list needs no lock
      set->batch_.push_back(i);
      ++unwatched;
      continue;
    }
    Node& node = set->nodes_[i];
    node.owner = set;
    node.index = i;
    node.fire = &CompletionSet::fired;
    set->tasks_[i]->on_completion(&node);
  }
  set->owned_ = set->owned_ && set->drivers_.size() == 1;
  std::lock_guard lock(set->shared_->mutex);
  set->shared_->hooks_left -= unwatched;
  return set;
}

void CompletionSet::fired(CompletionHook* self, TaskState& /*task*/) noexcept {
  auto* node = static_cast<Node*>(self);
  CompletionSet* set = node->owner;
  Shared& shared = *set->shared_;
  bool last = false;
  {
    std::lock_guard lock(shared.mutex);
    shared.indices.push_back(node->index);
    shared.any.store(true, std::memory_order_release);
    // Under the lock: once it is released, the consumer may leave and free the set.
    if (shared.sleeping) shared.completed.notify_one();
    last = --shared.hooks_left == 0 && shared.consumer_left;
  }
  if (last) set->destroy();
}

void CompletionSet::destroy() noexcept {
  delete shared_;
  delete this;
}

void CompletionSet::release() noexcept {
  bool last = false;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->consumer_left = true;
    last = shared_->hooks_left == 0;
  }
  if (last) destroy();
}

std::size_t CompletionSet::next(WaitDeadline deadline) {
  if (taken_ == batch_.size() && !refill(deadline)) return none;
  return batch_[taken_++];
}

// Takes every index completed since the last call, sleeping until there is one or `deadline`.
bool CompletionSet::refill(WaitDeadline deadline) {
  batch_.clear();
  taken_ = 0;
  if (!drivers_.empty()) drive(deadline);
  if (!deadline) help_pending();
  // Short tasks often complete within microseconds: a few yields first spare the completing
  // worker a wake-up through the kernel for every result (as AsyncResult::wait does).
  for (int round = 0; round < 64 && !shared_->any.load(std::memory_order_acquire); ++round) {
    if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
    std::this_thread::yield();
  }
  std::unique_lock lock(shared_->mutex);
  shared_->sleeping = true;
  const auto any = [&] { return !shared_->indices.empty(); };
  if (deadline) {
    shared_->completed.wait_until(lock, *deadline, any);
  } else {
    shared_->completed.wait(lock, any);
  }
  shared_->sleeping = false;
  std::swap(batch_, shared_->indices);
  shared_->any.store(false, std::memory_order_relaxed);
  return !batch_.empty();
}

// Drives the watched tasks' executors until one completes or `deadline` passes. One executor
// whose own tasks are all that is watched may sleep until its next result; otherwise each is
// polled while the consumer sleeps a millisecond at a time, since a local result (or a
// continuation on a pool) completes without them.
void CompletionSet::drive(WaitDeadline deadline) {
  const auto arrived = [this] { return shared_->any.load(std::memory_order_acquire); };
  if (owned_) {
    drivers_.front()->wait_until(arrived, deadline);
    return;
  }
  if (arrived()) return;
  const auto poll = [this] {
    for (Driver* driver : drivers_) driver->poll();
  };
  const auto sleep = [this](std::chrono::steady_clock::time_point step) {
    std::unique_lock lock(shared_->mutex);
    shared_->sleeping = true;
    const bool any =
        shared_->completed.wait_until(lock, step, [&] { return !shared_->indices.empty(); });
    shared_->sleeping = false;
    return any;
  };
  (void)poll_while_sleeping(poll, sleep, deadline);
}

// An untimed wait on a thread of a pool runs the pool's pending tasks among those watched, so
// that a task waiting for its own pool's results cannot starve the pool.
void CompletionSet::help_pending() {
  if (current_core() == nullptr) return;
  for (TaskState* task : tasks_) {
    if (!task->ready()) task->help();
  }
}

bool wait_satisfied(wait_for until, std::size_t ready, std::size_t total, bool failed) noexcept {
  switch (until) {
    case wait_for::first_completed:
      return ready > 0 || total == 0;
    case wait_for::first_exception:
      return failed || ready == total;
    case wait_for::all_completed:
      break;
  }
  return ready == total;
}

WaitResult wait_tasks(std::vector<TaskState*> tasks, wait_for until, WaitDeadline deadline) {
  const std::size_t total = tasks.size();
  CompletionSet* set = CompletionSet::watch(std::move(tasks));
  struct Release {
    CompletionSet* set;
    ~Release() { set->release(); }
  } release{set};
  std::size_t ready = 0;
  bool failed = false;
  while (!wait_satisfied(until, ready, total, failed)) {
    const std::size_t index = set->next(deadline);
    if (index == CompletionSet::none) break;  // timed out
    ++ready;
    failed = failed || set->failed(index);
  }
  WaitResult result;
  for (std::size_t i = 0; i < total; ++i)
    (set->ready(i) ? result.done : result.not_done).push_back(i);
  return result;
}

}  // namespace mpp::detail
