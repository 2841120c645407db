// PoolCore's life cycle: construction (admission, arenas, the initializer observer), close,
// join, terminate, and what a running pool records (initializer errors, contexts of maps).
#include "mpp/detail/core.hpp"

#include "admission.hpp"

#include <memory>

#include "mpp/async_result.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

std::atomic<std::size_t> live_cores{0};

// The pool whose initializer ran last on this thread (its id; 0: none).
thread_local std::uint64_t prepared_for = 0;
std::atomic<std::uint64_t> next_pool_id{1};

}  // namespace

std::size_t PoolCore::live() noexcept {
  return live_cores.load();
}

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
  if (current_core() == this) throw_join_from_worker();
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
