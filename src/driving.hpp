#pragma once
// Waiting on what a Driver completes beside what it does not (a continuation on a pool, a local
// result): the driver is polled while the waiter sleeps a millisecond at a time.

#include <chrono>
#include <functional>

#include "mpp/detail/driver.hpp"

namespace mpp::detail {

// Calls `poll`, then `sleep_until(step)` (true once done) with steps of at most a millisecond,
// until done or `deadline` passes; returns whether done.
inline bool poll_while_sleeping(
    const std::function<void()>& poll,
    const std::function<bool(std::chrono::steady_clock::time_point)>& sleep_until,
    Driver::Deadline deadline) {
  using std::chrono::steady_clock;
  for (;;) {
    poll();
    auto step = steady_clock::now() + std::chrono::milliseconds(1);
    if (deadline && *deadline < step) step = *deadline;
    if (sleep_until(step)) return true;
    if (deadline && steady_clock::now() >= *deadline) return false;
  }
}

}  // namespace mpp::detail
