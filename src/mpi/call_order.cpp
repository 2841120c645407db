#include "mpp/mpi/detail/call_order.hpp"

namespace mpp::mpi::detail {

CallOrder::Turn::Turn(CallOrder& order, std::uint64_t ticket) : order_(order), ticket_(ticket) {
  std::unique_lock lock(order_.mutex_);
  order_.changed_.wait(lock, [&] { return order_.serving_ == ticket_; });
}

void CallOrder::end(std::uint64_t ticket) noexcept {
  // Notified under the lock: once wait_all sees the last turn end, no thread touches the order.
  std::lock_guard lock(mutex_);
  if (ticket == serving_) {
    ++serving_;
  } else {
    try {
      ended_.insert(ticket);
    } catch (...) {
      // Out of memory: the later calls on this pool cannot run; nothing better is possible.
    }
  }
  while (!ended_.empty() && *ended_.begin() == serving_) {
    ended_.erase(ended_.begin());
    ++serving_;
  }
  changed_.notify_all();
}

void CallOrder::wait_all() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return serving_ == next_; });
}

}  // namespace mpp::mpi::detail
