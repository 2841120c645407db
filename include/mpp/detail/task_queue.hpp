#pragma once
// The queue of a pool's asynchronous tasks: any thread pushes, the pool's drainers pop.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <span>

namespace mpp::detail {

class TaskState;

// A deque under a mutex rather than tbb::concurrent_queue. A popping thread of
// tbb::concurrent_queue that has taken its ticket spins (and yields) until the pushing thread
// finishes writing that slot: when the pushing thread is preempted, as it is whenever the pool's
// threads and the submitting thread share the cores, a worker burns its time slice waiting. A
// short critical section sleeps instead, and popping several tasks at once takes the lock for
// one in many tasks.
class TaskQueue {
 public:
  void push(std::shared_ptr<TaskState> task) {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    size_.store(tasks_.size(), std::memory_order_relaxed);
  }

  // Moves tasks from the front into `batch`, and returns how many: a `1 / share` part of the
  // queue, at least one and at most batch.size(), so that the last tasks still spread over all
  // drainers (as guided scheduling does).
  std::size_t pop(std::span<std::shared_ptr<TaskState>> batch, std::size_t share) {
    std::lock_guard lock(mutex_);
    const std::size_t count = std::clamp<std::size_t>(tasks_.size() / share, 1, batch.size());
    const std::size_t popped = std::min(count, tasks_.size());
    std::move(tasks_.begin(), tasks_.begin() + static_cast<std::ptrdiff_t>(popped), batch.begin());
    tasks_.erase(tasks_.begin(), tasks_.begin() + static_cast<std::ptrdiff_t>(popped));
    size_.store(tasks_.size(), std::memory_order_relaxed);
    return popped;
  }

  // Relaxed: callers that must not miss a push order it with fences of their own.
  bool empty() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }

 private:
  std::mutex mutex_;
  std::deque<std::shared_ptr<TaskState>> tasks_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace mpp::detail
