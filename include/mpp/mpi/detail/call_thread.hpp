#pragma once
/// @file
/// `CallThread`: the one thread on which an `mpp::mpi::Pool` runs its `map_async` calls, and
/// `start_call`, which posts one there as the task behind its `mpp::AsyncResult`.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "mpp/async_result.hpp"
#include "mpp/detail/function_task.hpp"

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

// The result of `run`, posted to `calls`: a task that no pool runs and that cancel() leaves
// alone (see mpi::Pool::map_async). If it cannot be posted, `abandon()` ends the call's turn
// and the exception leaves.
template <class Out, class Run, class Abandon>
mpp::AsyncResult<Out> start_call(CallThread& calls, Run run, Abandon abandon) {
  using Task = mpp::detail::FunctionTask<Out, Run>;
  Task* task = nullptr;
  try {
    task = Task::create(nullptr, std::move(run), {});
  } catch (...) {
    abandon();  // no task to run the call: its turn passes
    throw;
  }
  task->make_uncancellable();
  mpp::AsyncResult<Out> result(mpp::detail::TaskRef<mpp::detail::ResultState<Out>>{task});
  try {
    calls.post([task] { task->run_from_queue(); });  // the second reference, the queue's
  } catch (...) {
    task->drop_ref();
    abandon();  // no thread to run the call (std::system_error): its turn passes
    throw;
  }
  return result;
}

}  // namespace mpp::mpi::detail
