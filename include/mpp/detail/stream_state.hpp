#pragma once
// What a ResultStream (imap, imap_unordered) and the tasks of its chunks share: the window of
// chunks in flight, their results, and the consumer's wait for the next one.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/detail/core.hpp"
#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/detail/progress.hpp"
#include "mpp/errors.hpp"
#include "mpp/outcome.hpp"

namespace mpp::detail {

// A timed wait of ResultStream::next: until `at`, which is `seconds` after the call.
struct WaitLimit {
  std::chrono::steady_clock::time_point at;
  double seconds;
};

// What a stream shares with the chunk tasks in flight; they keep it alive, so a stream can be
// abandoned while chunks still sit in the arena's queue. `R` is what the stream yields: with
// `Collect` an Outcome that holds the call's exception too. An `Ordered` stream's consumer waits
// on the status of the chunk it needs next; an unordered one's on the list of completed chunks.
template <class F, class Input, class R, bool Collect, bool Ordered>
class StreamState {
 public:
  enum : int { free, pending, running, done };

  // One item's outcome: a value, or the exception its call threw.
  struct Outcome {
    std::optional<R> value;
    std::exception_ptr error;
  };

  // One chunk in flight: its inputs, their outcomes and its place in the input.
  struct Slot {
    std::vector<Input> inputs;
    std::vector<Outcome> outcomes;
    std::size_t first = 0;  // the index of inputs[0] in the whole input
    std::atomic<int> status{free};
  };

  StreamState(PoolCore* core, F f, std::size_t window, ItemPolicy policy)
      : core(core), f(std::move(f)), slots(window), policy(std::move(policy)) {}

  // Runs the slot's chunk here unless another thread claimed it first; false if one had.
  bool try_run(Slot& slot) {
    int expected = pending;
    if (!slot.status.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
      return false;
    }
    slot.outcomes.clear();
    slot.outcomes.resize(slot.inputs.size());
    for (std::size_t i = 0; i < slot.inputs.size(); ++i) {
      if (abandoned.load(std::memory_order_relaxed)) break;
      try {
        if (!core->may_run()) core->check_may_run();
        run_item_of(slot, i);
      } catch (...) {
        if constexpr (Collect) {
          slot.outcomes[i].value.emplace(Failure{std::current_exception()});
        } else {
          slot.outcomes[i].error = std::current_exception();
        }
      }
    }
    finish(slot);
    return true;
  }

  // Marks `slot` done and wakes whoever waits for it. The consumer of an ordered stream waits on
  // the status itself, so a chunk that ends while nobody sleeps takes no lock and makes no system
  // call: with a lock and a broadcast per chunk, the futex calls of the two took most of the time
  // of `imap` at chunksize 1. The condition variable is only for those counted in `sleepers`.
  void finish(Slot& slot) {
    if constexpr (Ordered) {
      slot.status.store(done, std::memory_order_seq_cst);
    } else {
      std::lock_guard lock(mutex);
      slot.status.store(done, std::memory_order_seq_cst);
      completed.push_back(static_cast<std::size_t>(&slot - slots.data()));
      any_completed.store(true, std::memory_order_release);
    }
    slot.status.notify_all();
    // Either a sleeper counted itself before this load, and the lock orders this notification
    // after its check of the status, or its check comes after the store above and sees `done`.
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard lock(mutex); }
      changed.notify_all();
    }
  }

  // Counts a thread that may sleep on `changed` for as long as it lives; made before the thread
  // locks the mutex and checks what it waits for.
  class Sleeper {
   public:
    explicit Sleeper(StreamState& state) noexcept : count_(state.sleepers) {
      count_.fetch_add(1, std::memory_order_seq_cst);
    }
    ~Sleeper() { count_.fetch_sub(1, std::memory_order_relaxed); }
    Sleeper(const Sleeper&) = delete;
    Sleeper& operator=(const Sleeper&) = delete;

   private:
    std::atomic<int>& count_;
  };

  // Runs item `i` of `slot` under the stream's policy.
  void run_item_of(Slot& slot, std::size_t i) {
    Input& input = slot.inputs[i];
    auto call = [&] { return std::invoke(f, input); };
    if constexpr (Collect) {
      slot.outcomes[i].value.emplace(collect_item(policy, slot.first + i, call));
    } else if (policy.plain()) {
      slot.outcomes[i].value.emplace(std::invoke(f, input));
    } else {
      slot.outcomes[i].value.emplace(run_item(policy, slot.first + i, call));
    }
  }

  // Blocks until `slot` is done or the limit passes; false if it passed. Never runs the chunk
  // here, so that the wait ends by its limit.
  bool wait_until(Slot& slot, const WaitLimit& limit) {
    const Sleeper sleeper(*this);
    std::unique_lock lock(mutex);
    return changed.wait_until(lock, limit.at,
                              [&] { return slot.status.load(std::memory_order_acquire) == done; });
  }

  // As wait_any, or nothing once the limit passes.
  std::optional<std::size_t> wait_any_until(const WaitLimit& limit) {
    const Sleeper sleeper(*this);
    std::unique_lock lock(mutex);
    if (!changed.wait_until(lock, limit.at, [&] { return !completed.empty(); })) {
      return std::nullopt;
    }
    return take_completed();
  }

  // Blocks until `slot` is done; a thread of the same pool runs it itself if it has not started.
  // A chunk of cheap items often ends within microseconds: a few yields first spare the worker
  // that ends it a wake-up through the kernel (as AsyncResult::wait does).
  void wait(Slot& slot) {
    if (current_core() == core) try_run(slot);
    for (int round = 0; round < 64 && slot.status.load(std::memory_order_acquire) != done;
         ++round) {
      std::this_thread::yield();
    }
    for (int now = slot.status.load(std::memory_order_acquire); now != done;
         now = slot.status.load(std::memory_order_acquire)) {
      slot.status.wait(now, std::memory_order_acquire);
    }
  }

  // Blocks until some slot is done and returns its index (completion order).
  std::size_t wait_any() {
    if (current_core() != core) {  // as in wait(); a thread of the pool helps instead
      for (int round = 0; round < 64 && !any_completed.load(std::memory_order_acquire); ++round) {
        std::this_thread::yield();
      }
    }
    const Sleeper sleeper(*this);
    std::unique_lock lock(mutex);
    while (completed.empty()) {
      bool helped = false;
      if (current_core() == core) {
        lock.unlock();
        for (auto& slot : slots) helped = try_run(slot) || helped;
        lock.lock();
      }
      if (!helped && completed.empty()) changed.wait(lock);
    }
    return take_completed();
  }

  // The oldest index of `completed`; under the mutex, with one there.
  std::size_t take_completed() {
    const std::size_t index = completed.front();
    completed.erase(completed.begin());
    any_completed.store(!completed.empty(), std::memory_order_relaxed);
    return index;
  }

  // Stops the chunks in flight: those not started are dropped, running ones stop at the next
  // item; returns once no chunk runs any more.
  void abandon() {
    abandoned.store(true, std::memory_order_relaxed);
    for (auto& slot : slots) {
      int expected = pending;
      slot.status.compare_exchange_strong(expected, free, std::memory_order_acq_rel);
    }
    const Sleeper sleeper(*this);
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] {
      for (auto& slot : slots) {
        if (slot.status.load(std::memory_order_acquire) == running) return false;
      }
      return true;
    });
  }

  PoolCore* core;
  F f;
  std::vector<Slot> slots;
  ItemPolicy policy;
  std::atomic<bool> abandoned{false};
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<int> sleepers{0};        // threads that may sleep on `changed` (see Sleeper)
  std::vector<std::size_t> completed;  // unordered: done slots not yet taken, in completion order
  std::atomic<bool> any_completed{false};  // whether `completed` has any, read without the mutex
};

}  // namespace mpp::detail
