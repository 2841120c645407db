#pragma once
/// @file
/// `CallThread`: the one thread on which an `mpp::mpi::Pool` runs its `map_async` calls.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mpp::mpi::detail {

// Runs posted calls one at a time, in the order they were posted, on a thread started by the
// first post. The collective calls of map_async wait there for the other ranks, never on a
// thread of a pool, whose work they would hold up; they run one after the other anyway.
class CallThread {
 public:
  CallThread() = default;
  CallThread(const CallThread&) = delete;
  CallThread& operator=(const CallThread&) = delete;
  // Runs what is still posted, then joins the thread.
  ~CallThread();

  // Queues `call`; starts the thread if this is the first. Throws std::system_error if the
  // thread cannot start (then `call` is not queued).
  void post(std::function<void()> call);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> calls_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::thread thread_;
};

}  // namespace mpp::mpi::detail
