#include "mpp/detail/core.hpp"

#include "admission.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "mpp/async_result.hpp"
#include "mpp/cpus.hpp"
#include "mpp/detail/function_task.hpp"
#include "mpp/detail/placement.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

thread_local PoolCore* current = nullptr;
thread_local PoolCore* spawning = nullptr;  // see CoreScope
// Tasks this thread spawned less those it ran, in the current CoreScope of `spawning`: added to
// the pool's spawn_balance_ once, when the scope ends, rather than an atomic update per task.
thread_local std::ptrdiff_t spawn_net = 0;
thread_local TaskStop* task_stop = nullptr;  // see task_stop_slot()
std::atomic<std::size_t> live_cores{0};

// The pool whose initializer ran last on this thread (its id; 0: none).
thread_local std::uint64_t prepared_for = 0;
std::atomic<std::uint64_t> next_pool_id{1};

}  // namespace

std::size_t PoolCore::live() noexcept {
  return live_cores.load();
}

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

InitializerObserver::InitializerObserver(tbb::task_arena& arena, std::function<void()> initializer,
                                         PoolCore& core)
    : tbb::task_scheduler_observer(arena), initializer_(std::move(initializer)), core_(core) {
  happens_before(&initializer_);  // published to the workers inside libtbb (tsan.hpp)
  observe(true);
}

InitializerObserver::~InitializerObserver() {
  observe(false);  // waits for notifications in progress, inside libtbb: tell TSan (tsan.hpp)
  happens_after(this);
}

void InitializerObserver::on_scheduler_entry(bool /*is_worker*/) {
  happens_after(&initializer_);
  // oneTBB lends its threads from arena to arena: a thread that another pool's initializer
  // prepared since it last served this pool is prepared again.
  if (prepared_for != core_.id()) {
    prepared_for = core_.id();
    try {
      CoreScope scope(&core_);
      initializer_();
    } catch (...) {
      core_.record_initializer_error(std::current_exception());
    }
  }
  happens_before(this);
}

PoolCore::PoolCore(const PoolOptions& options)
    : threads_(admit_pool(options)),
      placement_(admit_placement(options, threads_)),
      id_(next_pool_id.fetch_add(1)),
      fork_generation_(fork_generation()),
      on_overdue_(options.on_overdue) {
  mark_scheduler_started();
  // Asynchronous work runs in an arena with no slot reserved for the caller, so that Pool(n) runs
  // n tasks even when the caller only waits. A map called from outside the pool runs in a second
  // arena with one slot reserved for the caller, which therefore starts on it at once, as with a
  // hand-written parallel_for; in the first arena, idle workers holding every slot would make the
  // caller hand the map to a worker and sleep. To keep at most n threads busy, a map takes the
  // second arena only while the first has no work, and asynchronous work that starts during
  // such a map joins it there (see enter_async_arena). In Pool(1) the second arena has only the
  // caller's slot: asynchronous work then waits for the map's end. A map that finds asynchronous
  // work running is handed to the first arena's workers, and the caller waits.
  arena_.initialize(threads_, 0);
  caller_arena_.initialize(threads_, 1);
  if (options.initializer) {
    observer_ = std::make_unique<InitializerObserver>(arena_, options.initializer, *this);
    caller_observer_ =
        std::make_unique<InitializerObserver>(caller_arena_, options.initializer, *this);
  }
  live_cores.fetch_add(1);
}

PoolCore::~PoolCore() {
  TaskState* task = nullptr;
  while (queue_.try_pop(task)) task->drop_ref();  // none is left after join(); never leak one
  observer_.reset();
  caller_observer_.reset();
  arena_.terminate();
  caller_arena_.terminate();
  release_pool(threads_);
  live_cores.fetch_sub(1);
}

bool PoolCore::forked_away() const noexcept {
  return fork_generation() != fork_generation_;
}

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
  const bool in_pool = current == this;  // already in one of this pool's arenas
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

void PoolCore::close() noexcept {
  State running = State::running;
  state_.compare_exchange_strong(running, State::closed);
}

void PoolCore::free_when_idle(std::unique_ptr<PoolCore> core) noexcept {
  // The calling task is counted, so the count cannot reach zero before the flag is set; the
  // thread that brings it to zero sees the flag through the count's release sequence.
  core.release()->orphaned_.store(true);
}

void PoolCore::join() {
  if (forked_away()) throw_forked_pool("join");
  {
    std::lock_guard lock(mutex_);
    if (state_.load() == State::running) throw_join_while_running();
  }
  wait_idle();
}

void PoolCore::terminate() {
  if (forked_away()) throw_forked_pool("terminate");
  {
    std::lock_guard lock(mutex_);
    state_.store(State::terminated);
    for (auto* context : contexts_) context->cancel_group_execution();
  }
  stop_.request_stop();
  wait_idle();
}

void PoolCore::wait_idle() {
  if (current == this) throw_join_from_worker();
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return outstanding_.load() == 0 && spawn_balance_.load() == 0; });
}

DeadlineTimer& PoolCore::deadline_timer() {
  std::call_once(timer_once_, [&] { timer_ = std::make_unique<DeadlineTimer>(on_overdue_); });
  return *timer_;
}

void PoolCore::check_may_run() const {
  if (has_init_error_.load(std::memory_order_acquire)) throw_initializer_failed(init_error_);
  if (terminated()) throw_cancelled("the pool was terminated before this task started");
}

void PoolCore::record_initializer_error(std::exception_ptr error) noexcept {
  std::call_once(init_error_once_, [&] {
    init_error_ = std::move(error);
    has_init_error_.store(true, std::memory_order_release);
  });
}

void PoolCore::register_context(tbb::task_group_context* context) {
  std::lock_guard lock(mutex_);
  contexts_.push_back(context);
  if (state_.load() == State::terminated) context->cancel_group_execution();
}

void PoolCore::unregister_context(tbb::task_group_context* context) noexcept {
  std::lock_guard lock(mutex_);
  std::erase(contexts_, context);
}

}  // namespace mpp::detail
