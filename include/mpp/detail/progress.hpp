#pragma once
// Reports a map's progress to MapOptions::progress: (0, n) first (unless n is 0), then counts that
// only grow, from whichever worker finishes a chunk while no other thread is reporting, and (n, n)
// once at the end. The callback never runs on two threads at once.

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>

namespace mpp::detail {

class ProgressReporter {
 public:
  using Callback = std::function<void(std::size_t done, std::size_t total)>;

  ProgressReporter(const Callback& callback, std::size_t total)
      : callback_(callback), total_(total) {
    if (callback_ && total_ > 0) callback_(0, total_);
  }
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // `items` more items are done; called by the worker that finished them.
  void add(std::size_t items) {
    if (!callback_) return;
    done_.fetch_add(items, std::memory_order_relaxed);
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock) return;  // another thread is reporting; a later chunk reports the newer count
    const std::size_t done = done_.load(std::memory_order_relaxed);
    if (done == reported_ || done >= total_) return;  // the end is reported by finish()
    reported_ = done;
    callback_(done, total_);
  }

  // Every item is done; called once by the thread that ran the map.
  void finish() {
    if (!callback_) return;
    std::lock_guard lock(mutex_);
    callback_(total_, total_);
  }

 private:
  const Callback& callback_;
  const std::size_t total_;
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
  std::size_t reported_ = 0;
};

}  // namespace mpp::detail
