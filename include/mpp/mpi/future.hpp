#pragma once
/// @file
/// `mpp::mpi::Future<T>`: the result of a task of `mpp::mpi::Executor`, which is
/// `mpp::AsyncResult<T>`, the one handle type of mpp.

#include <memory>
#include <type_traits>
#include <utility>

#include "mpp/async_result.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"

namespace mpp::mpi {

/// The result of `Executor::submit` and the executor's other calls, like
/// `concurrent.futures.Future`: the same type as `mpp::AsyncResult<T>`, so results of the local
/// pool and of the cluster mix in one vector, one `mpp::wait` and one `mpp::as_completed`.
/// Waiting on it drives the executor (tasks are sent and results collected while the root waits,
/// submits, maps or shuts down), so it is used on the root's driving thread only. `get()` on a
/// failed task throws `mpp::mpi::RemoteError` (with one rank: the task's own exception);
/// `cancel()` cancels a task still in the root's queue (each rank takes 4 × its threads tasks at
/// a time, up to 64 × while its tasks are tiny); `then(f)` runs `f` on the root's own pool.
///
/// ```cpp
/// mpp::mpi::Future<long> f = executor.submit(count_primes, 0L, 1000000L);
/// long n = f.get();
/// ```
template <class T>
using Future = mpp::AsyncResult<T>;

/// @cond MPP_INTERNAL
namespace detail {

// The state of a result of the executor: it completes on the root's driving thread when its
// slot finishes, and its value is decoded then, moving a large vector or string out of the
// blocks it arrived in (nothing else reads them).
template <class T>
class RemoteResult final : public mpp::detail::ResultState<T>, public SlotHolder {
 public:
  // The result that completes with `slot`.
  static mpp::AsyncResult<T> make(ExecutorCore& core, std::shared_ptr<TaskSlot> slot) {
    auto* state = new RemoteResult(core, slot);  // two references: the handle's, the slot's
    state->set_driver(&core);
    mpp::AsyncResult<T> result(mpp::detail::TaskRef<mpp::detail::ResultState<T>>{state});
    // The slot's reference, dropped also if the slot is freed unfinished.
    std::shared_ptr<mpp::detail::TaskState> completion(
        state, [](mpp::detail::TaskState* task) { task->drop_ref(); });
    slot->when_finished([completion](const std::shared_ptr<TaskSlot>&) {
      completion->add_ref();  // run_from_queue drops one
      completion->run_from_queue();
    });
    return result;
  }

  mpp::detail::PoolCore* home() const noexcept override {
    return &mpp::detail::core_of(core->pool());
  }

 private:
  RemoteResult(ExecutorCore& executor, std::shared_ptr<TaskSlot> finishing)
      : mpp::detail::ResultState<T>(nullptr), SlotHolder{&executor, std::move(finishing)} {}

  void invoke() override {
    if (!slot->ok) core->rethrow(*slot);
    if constexpr (!std::is_void_v<T>) {
      Reader reader(slot->result(), /*take=*/true);
      this->value_.emplace(reader.template value<T>());
    }
  }
  void release_function() noexcept override { slot.reset(); }
  void notify_callbacks() override {}
  void destroy() noexcept override { delete this; }
};

}  // namespace detail
/// @endcond

}  // namespace mpp::mpi
