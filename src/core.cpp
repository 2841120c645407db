// PoolCore's task path: which pool a thread works for (CoreScope), and how asynchronous tasks
// reach the workers (submitted into the queue that drainers empty, or spawned into the
// submitting thread's deque). Construction and the life cycle are in core_lifecycle.cpp, maps in
// core_maps.cpp.
#include "mpp/detail/core.hpp"

#include <new>
#include <optional>

#include "mpp/async_result.hpp"
#include "mpp/detail/function_task.hpp"
#include "mpp/detail/placement.hpp"
#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

thread_local PoolCore* current = nullptr;
thread_local PoolCore* spawning = nullptr;  // see CoreScope
// Tasks this thread spawned less those it ran, in the current CoreScope of `spawning`: added to
// the pool's spawn_balance_ once, when the scope ends, rather than an atomic update per task.
thread_local std::ptrdiff_t spawn_net = 0;
thread_local TaskStop* task_stop = nullptr;  // see task_stop_slot()

}  // namespace

PoolCore* current_core() noexcept {
  return current;
}

TaskStop*& task_stop_slot() noexcept {
  return task_stop;
}

CoreScope::CoreScope(PoolCore* core, bool spawns) noexcept
    : previous_(current),
      previous_spawning_(spawning),
      previous_net_(spawn_net),
      previous_stop_(task_stop) {
  current = core;
  spawning = spawns ? core : nullptr;
  spawn_net = 0;
  task_stop = nullptr;
}
CoreScope::~CoreScope() {
  if (spawning != nullptr && spawn_net != 0) spawning->add_spawn_balance(spawn_net);
  current = previous_;
  spawning = previous_spawning_;
  spawn_net = previous_net_;
  task_stop = previous_stop_;
}

namespace {
// Runs `f` isolated under `tag`: unlike tbb::this_task_arena::isolate, whose tag is new on every
// call, every task of a pool runs under the pool's one tag, so that a thread waiting inside one
// of them may run any task the pool's tasks spawned, and nothing else.
template <class F>
void isolate_as(const void* tag, F&& f) {
  struct Delegate final : tbb::detail::d1::delegate_base {
    explicit Delegate(F& f) : f(f) {}
    bool operator()() const override {
      f();
      return true;
    }
    F& f;
  } delegate(f);
  tbb::detail::r1::isolate_within_arena(delegate, reinterpret_cast<std::intptr_t>(tag));
}
}  // namespace

// The copy of a task spawned into a thread's deque: runs it unless a waiting thread has already.
// On a thread already running the pool's tasks (waiting for one of them) it counts as that
// thread's work; elsewhere it runs as a piece of work of its own, under the pool's tag.
//
// Its storage may come from oneTBB's small-object pool, recycled from a copy another thread just
// ran (see execute): the first base acquires that hand-off before oneTBB's task base writes.
struct AcquiresHandoff {
  AcquiresHandoff() noexcept { happens_after(&task_handoff); }
};
class SpawnedTask final : AcquiresHandoff, public tbb::detail::d1::task {
 public:
  // A copy built in the task's own storage (owned = false), or allocated on its own.
  SpawnedTask(PoolCore* core, TaskState* task, tbb::detail::d1::small_object_allocator allocator,
              bool owned) noexcept
      : core_(core), task_(task), allocator_(allocator), owned_(owned) {
    happens_before(&task_handoff);
  }

 private:
  tbb::detail::d1::task* execute(tbb::detail::d1::execution_data& ed) override {
    happens_after(&task_handoff);
    PoolCore* const core = core_;
    TaskState* const task = task_;
    tbb::detail::d1::small_object_allocator allocator = allocator_;
    const bool owned = owned_;
    // Gone before the task runs: dropping the task's last reference may free the storage.
    this->~SpawnedTask();
    // The storage goes back to oneTBB's small-object pool, which may hand it to another thread's
    // next spawn: the reads above and the destructor's writes happen before that spawn's writes
    // (see AcquiresHandoff); the pool's own hand-off, inside libtbb, is invisible to TSan.
    happens_before(&task_handoff);
    if (owned) allocator.deallocate(this, ed);
    if (spawning == core) {
      task->run_spawned();
      --spawn_net;
      return nullptr;
    }
    // Run on its own, it is asynchronous work in the pool's arena, which a map from outside
    // running in the caller's arena excludes (see enter_async_arena): the queue takes it then.
    if (!core->enter_async_arena()) {
      core->requeue_spawned(task);
      return nullptr;
    }
    core->outstanding_.fetch_add(1);  // see spawn_balance_: the pool is alive until this ends
    isolate_as(core, [&] {
      CoreScope scope(core, true);
      task->run_spawned();
      --spawn_net;
    });
    core->leave_async_arena(true);
    core->end_work();
    return nullptr;
  }
  // The pool never cancels the context it spawns under; run the task all the same.
  tbb::detail::d1::task* cancel(tbb::detail::d1::execution_data& ed) override {
    return execute(ed);
  }

  PoolCore* core_;
  TaskState* task_;
  tbb::detail::d1::small_object_allocator allocator_;
  bool owned_;
};
static_assert(sizeof(SpawnedTask) <= spawn_copy_size && alignof(SpawnedTask) <= 64,
              "the spawned copy must fit the room tasks keep for it (async_result.hpp)");

void PoolCore::begin_work(const char* call, bool continuing) {
  if (forked_away()) throw_forked_pool(call);
  continuing = continuing || current == this;
  // Count first, then look at the state (both sequentially consistent, as in close() and
  // terminate()): either this call sees the new state, or the joining thread sees the count.
  outstanding_.fetch_add(1);
  const State state = state_.load();
  if (state == State::terminated || (state == State::closed && !continuing)) {
    end_work();
    throw_pool_not_running(call);
  }
  if (has_init_error_.load(std::memory_order_acquire)) {
    end_work();
    throw_initializer_failed(init_error_);
  }
}

void PoolCore::end_work(std::size_t pieces) noexcept {
  std::size_t count = outstanding_.load(std::memory_order_relaxed);
  while (count > pieces) {
    if (outstanding_.compare_exchange_weak(count, count - pieces)) return;
  }
  bool orphaned = false;
  {
    std::lock_guard lock(mutex_);
    // With spawned tasks still to run, the last of them ends the work (see spawn_balance_).
    if (outstanding_.fetch_sub(pieces) == pieces && spawn_balance_.load() == 0) {
      // Read before unlocking: once the lock is released, a joining thread may destroy the core.
      orphaned = orphaned_.load();
      idle_.notify_all();
    }
  }
  // An orphaned core accepts no new work (it is closed, and nobody outside holds it) and has no
  // joining thread, so its count reaches zero only once, here, and nothing touches it after.
  if (orphaned) delete this;
}

bool PoolCore::spawns_here() const noexcept {
  return spawning == this;
}

void PoolCore::submit(const char* call, TaskState* task) {
  if (spawning == this) return spawn(call, task);
  try {
    begin_work(call);
  } catch (...) {
    task->drop_ref();
    throw;
  }
  // The caller keeps the pool alive while it submits, so it needs no piece of its own (see
  // submit_admitted): this is the path of every apply_async.
  queue_.push(task);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // as in submit_admitted()
  start_drainer();
}

// For work admitted earlier and submitted by whoever completes what it waited for, such as a
// continuation's hook on another pool's thread: that thread does not keep the pool alive, and the
// task may run and complete, and join() end, before start_drainer returns. So it holds a piece of
// its own until it is done with the core.
void PoolCore::submit_admitted(TaskState* task) noexcept {
  outstanding_.fetch_add(1);
  queue_.push(task);
  // Pairs with the fence in drain(): either a drainer that is leaving sees this task, or this
  // call sees that drainer gone and starts another.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  start_drainer();
  end_work();
}

void PoolCore::spawn(const char* call, TaskState* task) {
  // The calling task holds a piece of outstanding_ while it runs, so join() cannot end here;
  // only the state is checked, as begin_work does for continuing work.
  if (state_.load() == State::terminated) {
    task->drop_ref();
    throw_pool_not_running(call);
  }
  if (has_init_error_.load(std::memory_order_acquire)) {
    task->drop_ref();
    throw_initializer_failed(init_error_);
  }
  tbb::detail::d1::small_object_allocator allocator{};
  SpawnedTask* spawned = nullptr;
  if (void* storage = task->spawn_storage()) {
    spawned = ::new (storage) SpawnedTask(this, task, allocator, false);
  } else {
    try {
      spawned = allocator.new_object<SpawnedTask>(this, task, allocator, true);
    } catch (...) {
      task->drop_ref();
      throw;
    }
  }
  task->mark_spawned();
  ++spawn_net;
  tbb::detail::d1::spawn(*spawned, spawn_context_);
}

void PoolCore::requeue_spawned(TaskState* task) noexcept {
  outstanding_.fetch_add(1);  // the queued task's piece, before the spawned copy's goes
  task->release_spawned();
  queue_.push(task);  // the spawned copy's reference becomes the queue's
  spawn_balance_.fetch_add(-1);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // as in submit()
  start_drainer();
}
bool PoolCore::wait_spawned(tbb::detail::d1::wait_context& spawned) {
  if (spawning != this) return false;
  tbb::detail::d1::wait(spawned, spawn_context_);
  return true;
}

namespace {
bool claim(std::atomic<int>& count, int limit) noexcept {
  int now = count.load();
  while (now < limit) {
    if (count.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}
}  // namespace

void PoolCore::start_drainer() noexcept {
  for (;;) {
    if (!claim(drainers_, threads_)) return;
    const bool in_async_arena = enter_async_arena();
    if (in_async_arena || claim(caller_drainers_, threads_ - 1)) {
      outstanding_.fetch_add(1);  // the drainer's own count: it touches the pool until it returns
      async_arena(in_async_arena).enqueue(HandedOff{[this, in_async_arena] {
        drain(in_async_arena);
      }});
      return;
    }
    // A map holds the caller arena's reserved slot and its other slots have drainers: the end
    // of the map starts this one (leave_caller_arena), unless the map has just ended.
    drainers_.fetch_sub(1);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (caller_maps_.load() > 0 || queue_.empty()) return;
  }
}

void PoolCore::drain(bool in_async_arena) noexcept {
  // The tasks' counts end with the drainer's own, in one step: the count of work in flight is
  // shared with every submitting thread, and one update per task kept its cache line moving.
  std::size_t finished = 0;
  const auto loop = [&] {
    CoreScope scope(this, in_async_arena);
    std::optional<Placement> placement;
    if (placement_) placement.emplace();
    TaskState* task = nullptr;
    while (queue_.try_pop(task)) {
      task->run_from_queue();
      if (++finished % 16 == 0 && placement) placement->check();
    }
  };
  if (in_async_arena) {
    isolate_as(this, loop);
  } else {
    tbb::this_task_arena::isolate(loop);
  }
  if (!in_async_arena) caller_drainers_.fetch_sub(1);
  drainers_.fetch_sub(1);
  leave_async_arena(in_async_arena);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!queue_.empty()) start_drainer();
  end_work(finished + 1);
}

// Asynchronous work goes to arena_ unless a map runs in caller_arena_; counting first and then
// looking (sequentially consistent, as enter_caller_arena does the reverse) means a map and
// asynchronous work that start together never end up in different arenas.
bool PoolCore::enter_async_arena() noexcept {
  async_arena_work_.fetch_add(1);
  if (caller_maps_.load() == 0) return true;
  async_arena_work_.fetch_sub(1);
  return false;
}

void PoolCore::leave_async_arena(bool in_async_arena) noexcept {
  if (in_async_arena) async_arena_work_.fetch_sub(1);
}

bool PoolCore::enter_caller_arena() noexcept {
  caller_maps_.fetch_add(1);
  if (async_arena_work_.load() == 0) return true;
  caller_maps_.fetch_sub(1);
  return false;
}

void PoolCore::leave_caller_arena() noexcept {
  caller_maps_.fetch_sub(1);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!queue_.empty()) start_drainer();
}

}  // namespace mpp::detail
