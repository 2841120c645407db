#pragma once
// Reports a map's progress to MapOptions::progress: (0, n) first (unless n is 0), then counts that
// only grow, from whichever worker finishes a chunk while no other thread is reporting, and (n, n)
// once at the end. The callback never runs on two threads at once.

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "mpp/progress.hpp"

namespace mpp::detail {

class ProgressReporter {
 public:
  using Callback = std::function<void(std::size_t done, std::size_t total)>;

  // `paced`: add() is called by the threads of the arena running the map, which then keep their
  // counts to themselves between reports (see add); otherwise every add() reports (the MPI
  // layer's root, which counts chunks as they arrive from other ranks).
  ProgressReporter(const Callback& callback, std::size_t total, bool paced = false)
      : callback_(callback), total_(total) {
    if (!callback_) return;
    if (total_ > 0) callback_(0, total_);
    if (!paced) return;
    const int threads = tbb::this_task_arena::max_concurrency();
    slots_ = std::vector<Slot>(static_cast<std::size_t>(std::max(threads, 1)));
    const auto now = Clock::now().time_since_epoch().count();
    for (auto& slot : slots_) slot.last.store(now, std::memory_order_relaxed);
  }
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // `items` more items are done; called by the thread that finished them. Paced, a thread of
  // the arena keeps its count to itself and reports it once `pace` has passed since its last
  // report, so that a map of short chunks makes a few clock reads per thread, not a report per
  // chunk. It reads the clock only when its count reaches `step`, which the rate so far sets to
  // about a pace's worth of items, growing at most fourfold at a time (tqdm's dynamic miniters).
  void add(std::size_t items) {
    if (!callback_) return;
    const int index = tbb::this_task_arena::current_thread_index();
    if (index < 0 || static_cast<std::size_t>(index) >= slots_.size()) return report(items);
    // Only this thread uses the slot while it holds the arena slot; the atomics (relaxed, plain
    // loads and stores) hand it on to the next holder, which oneTBB orders inside libtbb.
    Slot& slot = slots_[static_cast<std::size_t>(index)];
    const std::size_t pending = slot.pending.load(std::memory_order_relaxed) + items;
    slot.pending.store(pending, std::memory_order_relaxed);
    if (pending < slot.step.load(std::memory_order_relaxed)) return;
    const auto now = Clock::now().time_since_epoch().count();
    const auto elapsed = now - slot.last.load(std::memory_order_relaxed);
    const double per_pace = static_cast<double>(pending) * static_cast<double>(pace.count()) /
                            static_cast<double>(std::max<Clock::rep>(elapsed, 1));
    const auto step = static_cast<std::size_t>(per_pace);
    if (elapsed < pace.count()) {  // too soon: look again after about a pace's worth
      slot.step.store(std::clamp(step, pending + 1, 4 * pending), std::memory_order_relaxed);
      return;
    }
    slot.step.store(std::clamp<std::size_t>(step, 1, 4 * pending), std::memory_order_relaxed);
    slot.pending.store(0, std::memory_order_relaxed);
    slot.last.store(now, std::memory_order_relaxed);
    report(pending);
  }

  // Every item is done; called once by the thread that ran the map.
  void finish() {
    if (!callback_) return;
    std::lock_guard lock(mutex_);
    callback_(total_, total_);
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration pace = std::chrono::milliseconds(50);

  // A thread's own counts, padded rather than aligned (over-aligned allocations trip
  // ThreadSanitizer's allocator): 128 bytes apart, two slots' fields never share a cache line.
  struct Slot {
    std::atomic<std::size_t> pending{0};  // finished items not reported yet
    std::atomic<std::size_t> step{1};     // report once pending reaches this
    std::atomic<Clock::rep> last{0};      // when this slot last reported
    char padding[128 - 3 * sizeof(std::size_t)];
  };

  void report(std::size_t items) {
    done_.fetch_add(items, std::memory_order_relaxed);
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock) return;  // another thread is reporting; a later chunk reports the newer count
    const std::size_t done = done_.load(std::memory_order_relaxed);
    if (done == reported_ || done >= total_) return;  // the end is reported by finish()
    reported_ = done;
    callback_(done, total_);
  }

  const Callback& callback_;
  const std::size_t total_;
  std::vector<Slot> slots_;
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
