#pragma once
// Reports a map's progress to MapOptions::progress: (0, n) first (unless n is 0), then counts that
// only grow, from whichever worker finishes a chunk while no other thread is reporting, and (n, n)
// once at the end. The callback never runs on two threads at once.

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>

#include "mpp/progress.hpp"

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

// Reports a stream's progress (imap) to MapOptions::progress: (0, total) first (unless total is
// 0), then the number of results handed to the consumer, a chunk at a time, and (n, n) once when
// the consumer reaches the end. `total` is mpp::unknown_total for an unsized input; the end then
// tells the callback how many items there were. Counting what the consumer receives, as tqdm
// around an iterator does, keeps every call on the consuming thread: calls never overlap, counts
// never decrease, and the workers pay nothing.
class StreamProgress {
 public:
  using Callback = std::function<void(std::size_t done, std::size_t total)>;

  StreamProgress(Callback callback, std::size_t total)
      : callback_(std::move(callback)), total_(total) {}

  // The stream starts: reports (0, total), once the pool has accepted the stream.
  void start() {
    if (callback_ && total_ > 0) callback_(0, total_);
  }

  // The results of `items` more inputs are ready for the consumer.
  void add(std::size_t items) {
    done_ += items;
    if (!callback_ || done_ >= total_) return;  // the end is reported by finish()
    callback_(done_, total_);
  }

  // The consumer reached the end of the stream; reported once.
  void finish() {
    if (!callback_ || finished_) return;
    finished_ = true;
    callback_(done_, done_);
  }

 private:
  Callback callback_;
  std::size_t total_;
  std::size_t done_ = 0;
  bool finished_ = false;
};

}  // namespace mpp::detail
