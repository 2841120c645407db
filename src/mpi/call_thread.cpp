#include "mpp/mpi/detail/call_thread.hpp"

#include <utility>

namespace mpp::mpi::detail {

CallThread::~CallThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  posted_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CallThread::post(std::function<void()> call) {
  std::lock_guard lock(mutex_);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  calls_.push_back(std::move(call));
  posted_.notify_one();
}

void CallThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    posted_.wait(lock, [&] { return stopping_ || !calls_.empty(); });
    if (calls_.empty()) return;  // stopping, and everything posted has run
    std::function<void()> call = std::move(calls_.front());
    calls_.pop_front();
    lock.unlock();
    call();  // the calls posted here never throw (they complete an AsyncResult)
    lock.lock();
  }
}

}  // namespace mpp::mpi::detail
