#pragma once
// What happens around one call of a map item or an apply_async task: retries with a predicate
// and backoff, and a deadline that sets the task's stop token; plus the pool's timer that
// watches the deadlines.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "mpp/errors.hpp"
#include "mpp/options.hpp"
#include "mpp/outcome.hpp"

namespace mpp::detail {

class PoolCore;

// One thread per pool, started by the first deadline, that sets the stop source of each task
// whose deadline passes. Its entries sit in an ordered map, so a task that finishes in time
// removes its own in O(log n).
class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Handle = std::pair<Clock::time_point, std::uint64_t>;

  // `on_overdue`: PoolOptions::on_overdue, or empty.
  explicit DeadlineTimer(std::function<void(const Overdue&)> on_overdue = {})
      : on_overdue_(std::move(on_overdue)) {}
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Requests stop on `source` at `start + limit`, unless disarm() comes first, and reports the
  // task (item `index`) overdue.
  Handle arm(Clock::time_point start, std::chrono::nanoseconds limit,
             std::optional<std::size_t> index, std::stop_source source);
  void disarm(const Handle& handle);
  // Passes `report` to the pool's on_overdue hook, if any; never throws.
  void report(const Overdue& report) const noexcept;

 private:
  struct Entry {
    std::stop_source source;
    Clock::time_point start;
    std::chrono::nanoseconds limit;
    std::optional<std::size_t> index;
  };
  void run();

  std::function<void(const Overdue&)> on_overdue_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Handle, Entry> entries_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // started by the first arm()
};

// The stop source of the task the calling thread runs, when it has a deadline: it stops at the
// deadline or when the pool is terminated. this_task::stop_requested() and stop_token() read it.
struct TaskStop {
  std::stop_source source;
  TaskStop* previous = nullptr;
};
TaskStop* current_task_stop() noexcept;

// A deadline for the call running on this thread, for the lifetime of this object.
class Deadline {
 public:
  Deadline(PoolCore* core, std::chrono::nanoseconds limit, std::optional<std::size_t> index);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Throws TaskTimeoutError if the limit has passed; in a catch block, nesting the exception.
  void check(bool nest_current) const;

 private:
  // Forwards the pool's stop request to the task's own source.
  struct Forward {
    std::stop_source target;
    void operator()() const noexcept { target.request_stop(); }
  };

  PoolCore* core_;
  std::chrono::nanoseconds limit_;
  std::optional<std::size_t> index_;
  DeadlineTimer::Clock::time_point start_;
  TaskStop stop_;
  std::optional<std::stop_callback<Forward>> forward_;
  DeadlineTimer::Handle handle_;
};

// The retry and deadline settings of a map or task, read once from its options.
struct ItemPolicy {
  std::size_t retries = 0;
  RetryPredicate retry_if;
  Backoff backoff;
  std::optional<std::chrono::nanoseconds> timeout;
  PoolCore* core = nullptr;  // whose timer watches the deadlines

  // No retries and no deadline: the call is made as it is.
  bool plain() const noexcept { return retries == 0 && !timeout; }
};

// Throws std::invalid_argument, naming the call `where` + `call`, for a backoff or a time limit
// that cannot be. The message is built only then: this runs on every apply_async.
void check_policy(const Backoff& backoff, const std::optional<std::chrono::nanoseconds>& timeout,
                  std::string_view where, std::string_view call = {});
// Validates and copies the policy part of `options` (`call` names the public call for messages).
ItemPolicy item_policy(const MapOptions& options, PoolCore* core, const char* call);
ItemPolicy item_policy(const ApplyOptions& options, PoolCore* core, const char* call);
// The same for a task, shared, or null when the task needs none: each apply_async task carries
// only a pointer, not the whole policy.
std::shared_ptr<const ItemPolicy> shared_policy(const ApplyOptions& options, PoolCore* core,
                                                const char* call);

// Whether the exception being handled may be retried after attempt `attempt` (0 for the first):
// attempts are left, the task was not asked to stop, and retry_if accepts it.
bool may_retry(const ItemPolicy& policy, std::size_t attempt);
// Waits out the backoff before retry `attempt + 1`; false if the task was asked to stop meanwhile.
bool wait_backoff(const Backoff& backoff, std::size_t attempt);

// Calls `call()` again while it throws and the policy allows; rethrows the last exception.
template <class Call>
std::decay_t<std::invoke_result_t<Call&>> invoke_retrying(const ItemPolicy& policy, Call& call) {
  for (std::size_t attempt = 0;; ++attempt) {
    std::exception_ptr failed;
    try {
      return call();
    } catch (...) {
      if (!may_retry(policy, attempt)) throw;
      failed = std::current_exception();
    }
    if (!wait_backoff(policy.backoff, attempt)) std::rethrow_exception(failed);
  }
}

// Runs one item (or task) under `policy`: retries, and the deadline, after which it completes
// with TaskTimeoutError however it ended. `index` names the item in messages.
template <class Call>
std::decay_t<std::invoke_result_t<Call&>> run_item(const ItemPolicy& policy,
                                                   std::optional<std::size_t> index, Call&& call) {
  if (!policy.timeout) return invoke_retrying(policy, call);
  Deadline deadline(policy.core, *policy.timeout, index);
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Call&>>) {
      invoke_retrying(policy, call);
      deadline.check(/*nest_current=*/false);
    } else {
      auto result = invoke_retrying(policy, call);
      deadline.check(/*nest_current=*/false);
      return result;
    }
  } catch (const TaskTimeoutError&) {
    throw;  // from check() above, or an inner task's own
  } catch (...) {
    deadline.check(/*nest_current=*/true);
    throw;
  }
}

// As run_item, but an exception becomes the item's error outcome instead of leaving.
template <class Call>
Outcome<std::decay_t<std::invoke_result_t<Call&>>> collect_item(const ItemPolicy& policy,
                                                                std::optional<std::size_t> index,
                                                                Call&& call) {
  try {
    return run_item(policy, index, call);
  } catch (...) {
    return Failure{std::current_exception()};
  }
}

}  // namespace mpp::detail
