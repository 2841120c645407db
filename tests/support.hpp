#pragma once
// Helpers shared by mpp's tests. Every wait here has a deadline, so a bug in the library makes a
// test fail instead of hanging it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

namespace mpp_test {

using namespace std::chrono_literals;

/// How long a test waits for something that should happen at once before calling it a failure.
/// Generous, because the machines running the tests are small and shared.
inline constexpr auto patience = 10s;

/// A one-shot event: `set()` once, `wait()` with a deadline.
class Event {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      set_ = true;
    }
    changed_.notify_all();
  }
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }
  /// True if the event was set within `timeout`.
  bool wait(std::chrono::steady_clock::duration timeout = patience) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool set_ = false;
};

/// `n` parties meet: `arrive_and_wait()` returns true once all `n` have arrived, or false when
/// `timeout` passes first. Unlike `std::latch`, the wait is bounded.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : expected_(n) {}
  bool arrive_and_wait(std::chrono::steady_clock::duration timeout = patience) {
    std::unique_lock lock(mutex_);
    ++arrived_;
    if (arrived_ >= expected_) {
      lock.unlock();
      changed_.notify_all();
      return true;
    }
    return changed_.wait_for(lock, timeout, [&] { return arrived_ >= expected_; });
  }
  int arrived() const {
    std::lock_guard lock(mutex_);
    return arrived_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int expected_;
  int arrived_ = 0;
};

/// Polls `done()` until it is true or `timeout` passes; returns its last value.
template <class Pred>
bool eventually(Pred done, std::chrono::steady_clock::duration timeout = patience) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(100us);
  }
  return true;
}

/// Sets (or unsets, with `std::nullopt`) an environment variable and restores the previous value
/// when it goes out of scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// A slow item: enough work that other threads get to run, without a timing assertion on it.
inline void pause_briefly() {
  std::this_thread::sleep_for(200us);
}

/// The sequential reference every parallel result is compared with.
template <class F, class Range>
auto sequential_map(F f, const Range& items) {
  std::vector<decltype(f(*std::ranges::begin(items)))> out;
  for (auto&& item : items) out.push_back(f(item));
  return out;
}

}  // namespace mpp_test
