#include "mpp/detail/policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "mpp/detail/core.hpp"
#include "mpp/errors.hpp"
#include "mpp/worker.hpp"

namespace mpp::detail {
namespace {

// The delay before retry `attempt + 1`, before jitter.
std::chrono::nanoseconds backoff_delay(const Backoff& backoff, std::size_t attempt) {
  const double initial = static_cast<double>(backoff.initial.count());
  const double max = static_cast<double>(backoff.max.count());
  // pow of a large attempt count overflows to infinity, which min() then caps.
  const double delay = std::min(max, initial * std::pow(backoff.multiplier, attempt));
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(0.0, delay)));
}

std::chrono::nanoseconds with_jitter(std::chrono::nanoseconds delay) {
  thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> half(delay.count() / 2, delay.count());
  return std::chrono::nanoseconds(half(random));
}

}  // namespace

void check_policy(const Backoff& backoff, const std::optional<std::chrono::nanoseconds>& timeout,
                  std::string_view where, std::string_view call) {
  const auto named = [&](const char* what) {
    std::string message(where);
    message.append(call).append(what);
    return message;
  };
  if (backoff.initial < std::chrono::nanoseconds::zero() || backoff.max < backoff.initial ||
      !(backoff.multiplier >= 1.0)) {
    throw_invalid_argument(
        named(": backoff needs initial >= 0, max >= initial and multiplier >= 1"));
  }
  if (timeout && *timeout <= std::chrono::nanoseconds::zero()) {
    throw_invalid_argument(named(": a time limit must be positive; leave it unset for none"));
  }
}

DeadlineTimer::~DeadlineTimer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DeadlineTimer::Handle DeadlineTimer::arm(Clock::time_point start, std::chrono::nanoseconds limit,
                                         std::optional<std::size_t> index,
                                         std::stop_source source) {
  Handle handle;
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    handle = {start + limit, next_id_++};
    entries_.emplace(handle, Entry{std::move(source), start, limit, index});
    earliest = entries_.begin()->first == handle;
  }
  if (earliest) changed_.notify_one();  // the thread sleeps until a later deadline
  return handle;
}

void DeadlineTimer::disarm(const Handle& handle) {
  std::lock_guard lock(mutex_);
  entries_.erase(handle);
}

void DeadlineTimer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (entries_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto first = entries_.begin();
    // A copy: wait_until reads the time again after waking, and disarm() may have erased the
    // entry meanwhile.
    const Clock::time_point when = first->first.first;
    if (when > Clock::now()) {
      changed_.wait_until(lock, when);
      continue;
    }
    Entry due = std::move(first->second);
    entries_.erase(first);
    // Stop callbacks and the hook run outside the lock, which arm() needs.
    lock.unlock();
    due.source.request_stop();
    report({.index = due.index,
            .limit = due.limit,
            .elapsed = Clock::now() - due.start,
            .ended = false});
    lock.lock();
  }
}

void DeadlineTimer::report(const Overdue& report) const noexcept {
  if (!on_overdue_) return;
  try {
    on_overdue_(report);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpp: PoolOptions::on_overdue threw (the pool goes on): %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mpp: PoolOptions::on_overdue threw (the pool goes on)\n");
  }
}

TaskStop* current_task_stop() noexcept {
  return task_stop_slot();
}

Deadline::Deadline(PoolCore* core, std::chrono::nanoseconds limit, std::optional<std::size_t> index)
    : core_(core != nullptr ? core : current_core()),
      limit_(limit),
      index_(index),
      start_(DeadlineTimer::Clock::now()) {
  TaskStop*& current = task_stop_slot();
  // A call inside another with a deadline on this thread (a nested apply's retry loop) stops
  // when the outer one does, as when the pool does.
  const std::stop_token outer =
      current != nullptr ? current->source.get_token() : core_->stop_token();
  forward_.emplace(outer, Forward{stop_.source});
  handle_ = core_->deadline_timer().arm(start_, limit_, index_, stop_.source);
  stop_.previous = current;
  current = &stop_;
}

Deadline::~Deadline() {
  task_stop_slot() = stop_.previous;
  core_->deadline_timer().disarm(handle_);
}

void Deadline::check(bool nest_current) const {
  const auto elapsed = DeadlineTimer::Clock::now() - start_;
  if (elapsed < limit_) return;
  core_->deadline_timer().report(
      {.index = index_, .limit = limit_, .elapsed = elapsed, .ended = true});
  throw_task_timeout(index_, elapsed, limit_, nest_current);
}

ItemPolicy item_policy(const MapOptions& options, PoolCore* core, const char* call) {
  check_policy(options.backoff, options.task_timeout, "Pool::", call);
  return {options.retries, options.retry_if, options.backoff, options.task_timeout, core};
}

ItemPolicy item_policy(const ApplyOptions& options, PoolCore* core, const char* call) {
  check_policy(options.backoff, options.timeout, "Pool::", call);
  return {options.retries, options.retry_if, options.backoff, options.timeout, core};
}

std::shared_ptr<const ItemPolicy> shared_policy(const ApplyOptions& options, PoolCore* core,
                                                const char* call) {
  // Checked first, so that a bad backoff is refused whatever the rest; nothing else is built for
  // the default options, which every plain apply_async passes.
  check_policy(options.backoff, options.timeout, "Pool::", call);
  if (options.retries == 0 && !options.timeout) return nullptr;
  return std::make_shared<const ItemPolicy>(item_policy(options, core, call));
}

bool may_retry(const ItemPolicy& policy, std::size_t attempt) {
  if (attempt >= policy.retries || this_task::stop_requested()) return false;
  return !policy.retry_if || policy.retry_if(std::current_exception());
}

bool wait_backoff(const Backoff& backoff, std::size_t attempt) {
  auto delay = backoff_delay(backoff, attempt);
  if (delay <= std::chrono::nanoseconds::zero()) return true;
  if (backoff.jitter) delay = with_jitter(delay);
  // Sleeps until the delay ends or the task is asked to stop, whichever comes first.
  std::mutex mutex;
  std::condition_variable_any never;
  std::unique_lock lock(mutex);
  const std::stop_token stop = this_task::stop_token();
  never.wait_for(lock, stop, delay, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace mpp::detail
