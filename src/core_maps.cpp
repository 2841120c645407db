// PoolCore's maps: a map's body runs isolated in one of the pool's arenas, with a context that
// terminate() and AsyncResult::cancel can cancel.
#include "mpp/detail/core.hpp"

#include <condition_variable>
#include <mutex>

#include "mpp/async_result.hpp"
#include "mpp/errors.hpp"

namespace mpp::detail {

namespace {
// Runs `isolated` in `arena`. When every slot is taken, execute() hands the functor to a worker:
// tell TSan (tsan.hpp).
template <class Isolated>
void execute(tbb::task_arena& arena, const Isolated& isolated) {
  happens_before(&task_handoff);
  try {
    arena.execute(isolated);
  } catch (...) {
    happens_after(&task_done);
    throw;
  }
  happens_after(&task_done);
}
}  // namespace

void PoolCore::run_isolated(const char* call,
                            const std::function<void(tbb::task_group_context&)>& body) {
  const bool in_pool = current_core() == this;  // already in one of this pool's arenas
  // The map of a map_async, which AsyncResult::cancel may stop while it runs.
  TaskState* const owner = TaskState::take_stoppable_here();
  begin_work(call);
  struct Finish {
    PoolCore& core;
    tbb::task_group_context& context;
    TaskState* owner;
    ~Finish() {
      if (owner) (void)owner->detach_map();
      core.unregister_context(&context);
      core.end_work();
    }
  };
  tbb::task_group_context context;
  register_context(&context);
  Finish finish{*this, context, owner};
  if (owner) owner->attach_map(&context);
  const auto isolated = [&] {
    happens_after(&task_handoff);
    struct Release {  // also when the body throws
      ~Release() { happens_before(&task_done); }
    } release;
    CoreScope inside(this);  // the thread running the body may be a worker, not the caller
    tbb::this_task_arena::isolate([&] { body(context); });
  };
  if (in_pool) {
    tbb::this_task_arena::isolate([&] { body(context); });
  } else if (observer_) {
    // Items of a pool with an initializer run only on threads it prepared: never on the caller,
    // whose thread state (and signal mask) the initializer must not touch.
    execute_on_workers(isolated);
  } else if (enter_caller_arena()) {
    CoreScope scope(this);
    struct Leave {
      PoolCore& core;
      ~Leave() { core.leave_caller_arena(); }
    } leave{*this};
    execute(caller_arena_, isolated);
  } else {
    // Asynchronous work holds arena_: the map runs there on the pool's threads only. oneTBB
    // would let the calling thread in beside the workers, and Pool(n) would run n + 1 things.
    execute_on_workers(isolated);
  }
  // Detached first: a cancel() that returned true has cancelled the context by then.
  if (owner && owner->detach_map()) {
    throw_cancelled(
        "the map_async was cancelled (AsyncResult::cancel) while it ran; its chunks "
        "not yet started were skipped");
  }
  if (context.is_group_execution_cancelled()) {
    throw_cancelled(terminated() ? "the pool was terminated while this map was running"
                                 : "this map was cancelled because an enclosing map failed");
  }
}

void PoolCore::execute_on_workers(const std::function<void()>& isolated) {
  struct Done {
    std::mutex mutex;
    std::condition_variable changed;
    bool done = false;
    std::exception_ptr error;
  } done;
  const bool in_async_arena = enter_async_arena();  // always: a caller never maps in caller_arena_
  async_arena(in_async_arena).enqueue(HandedOff{[this, in_async_arena, &isolated, &done] {
    std::exception_ptr error;
    try {
      isolated();
    } catch (...) {
      error = std::current_exception();
    }
    leave_async_arena(in_async_arena);
    // Notified under the lock: once the caller sees `done`, nothing here touches it any more.
    std::lock_guard lock(done.mutex);
    done.error = std::move(error);
    done.done = true;
    done.changed.notify_one();
  }});
  std::unique_lock lock(done.mutex);
  done.changed.wait(lock, [&] { return done.done; });
  if (done.error) std::rethrow_exception(done.error);
}

}  // namespace mpp::detail
