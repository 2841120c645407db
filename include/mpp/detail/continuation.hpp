#pragma once
// Continuations (AsyncResult::then, on_error, mpp::compose, mpp::collect): a task made at once,
// counted as the pool's work, and queued by a completion hook when its antecedents complete.

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/detail/core.hpp"
#include "mpp/detail/driver.hpp"
#include "mpp/detail/function_task.hpp"

namespace mpp::detail {

// Completes `continuation` as cancelled by `reason`, its antecedent's cancellation, on this
// thread: a cancellation passes on at once, as in mpi4py, and the queue's copy of the task then
// finds it taken. Down a long chain it recurses through the hooks, so past a depth the rest is
// left to the pool, where the continuation rethrows the cancellation it finds.
inline void cancel_forward(TaskState& continuation, std::exception_ptr reason) noexcept {
  static thread_local int depth = 0;
  if (depth >= 64) return;
  ++depth;
  (void)continuation.cancel(std::move(reason));
  --depth;
}

// Queues a prepared continuation when the task it watches completes, then frees itself.
struct QueueHook final : CompletionHook {
  QueueHook(PoolCore& pool, TaskState* waiting_task) noexcept : core(&pool), task(waiting_task) {
    fire = &QueueHook::run;
  }
  static void run(CompletionHook* self, TaskState& completed) noexcept {
    auto* hook = static_cast<QueueHook*>(self);
    if (completed.cancelled()) cancel_forward(*hook->task, completed.error());
    hook->core->submit_admitted(hook->task);  // the reference the hook held becomes the queue's
    delete hook;
  }
  PoolCore* core;
  TaskState* task;
};

// Cancels `source` if the task it watches completes cancelled (mpi4py's compose and collect:
// cancelling the new future cancels the ones it waits for).
template <class Source>
struct CancelSourcesHook final : CompletionHook {
  explicit CancelSourcesHook(Source watched) : sources(std::move(watched)) {
    fire = &CancelSourcesHook::run;
  }
  static void run(CompletionHook* self, TaskState& completed) noexcept {
    auto* hook = static_cast<CancelSourcesHook*>(self);
    if (completed.cancelled()) {
      for (auto& source : hook->sources) (void)source.cancel();
    }
    delete hook;
  }
  Source sources;
};

// Makes the task computing `fn`, counted as `core`'s work from now on; the task holds two
// references: the returned handle's, and one for the queue, which the caller hands to a hook.
template <class U, class Fn>
std::pair<AsyncResult<U>, TaskState*> make_continuation(PoolCore& core, const char* call, Fn fn) {
  using Task = FunctionTask<U, Fn>;
  core.begin_work(call);
  Task* task = nullptr;
  try {
    task = Task::create(&core, std::move(fn), {});
  } catch (...) {
    core.end_work();
    throw;
  }
  return {AsyncResult<U>(TaskRef<ResultState<U>>{task}), task};
}

// Hands the continuation's queue reference to a hook on `antecedent`; if the hook cannot be
// made, the continuation is cancelled and queued at once, so that the pool's count ends.
inline void queue_when_complete(PoolCore& core, TaskState& antecedent, TaskState* continuation) {
  QueueHook* hook = new (std::nothrow) QueueHook(core, continuation);
  if (hook == nullptr) {
    (void)continuation->cancel();
    core.submit_admitted(continuation);
    throw std::bad_alloc();
  }
  antecedent.on_completion(hook);
}

// Cancels the `sources` once `watched` completes cancelled.
template <class Sources>
void cancel_sources_with(TaskState& watched, Sources sources) {
  watched.on_completion(new CancelSourcesHook<Sources>(std::move(sources)));
}

// The value a continuation gets from its antecedent: `const T&`, or nothing for void.
template <class F, class T>
decltype(auto) call_with_value(F& f, const AsyncResult<T>& source) {
  if constexpr (std::is_void_v<T>) {
    return std::invoke(f);
  } else {
    return std::invoke(f, source.get());
  }
}

template <class T, class OnValue>
struct composed_value {
  using type = T;
};
template <class T, class OnValue>
requires(!std::is_same_v<OnValue, NoCallback>) struct composed_value<T, OnValue> {
  using type = std::decay_t<decltype(call_with_value(std::declval<OnValue&>(),
                                                     std::declval<const AsyncResult<T>&>()))>;
};

// mpi4py's compose: `on_value(value)` or `on_error(exception)` of `source`, either of them
// NoCallback for "pass it on"; a cancellation always passes on. `cancel_source`: cancelling the
// new result cancels `source` (compose), or not (then, on_error).
template <class T, class OnValue, class OnError>
auto compose_on(PoolCore& core, const char* call, const AsyncResult<T>& source, OnValue on_value,
                OnError on_error, bool cancel_source) {
  using U = typename composed_value<T, OnValue>::type;
  auto fn = [source, on_value = std::move(on_value),
             on_error = std::move(on_error)]() mutable -> U {
    const TaskState& state = ResultAccess::state(source);
    if (state.error()) {
      if constexpr (!std::is_same_v<OnError, NoCallback>) {
        if (!state.cancelled()) return std::invoke(on_error, state.error());
      }
      std::rethrow_exception(state.error());
    }
    if constexpr (std::is_same_v<OnValue, NoCallback>) {
      return source.get();
    } else {
      return call_with_value(on_value, source);
    }
  };
  auto [result, task] = make_continuation<U>(core, call, std::move(fn));
  task->set_driver(ResultAccess::state(source).driver());
  if (cancel_source) {
    cancel_sources_with(ResultAccess::state(result), std::vector<AsyncResult<T>>{source});
  }
  queue_when_complete(core, ResultAccess::state(source), task);
  return result;
}

// Queues collect's task once every input completed, or at the first that failed: one block of
// hooks for all inputs, freed by the last to fire.
class CollectHooks {
 public:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  CollectHooks(PoolCore& core, TaskState* task, std::size_t n,
               std::shared_ptr<std::atomic<std::size_t>> failed)
      : core_(&core), task_(task), remaining_(n + 1), failed_(std::move(failed)), nodes_(n) {}

  // Watches input `index`; the block frees itself once every input and `seal` have fired.
  void watch(std::size_t index, TaskState& input) noexcept {
    nodes_[index].owner = this;
    nodes_[index].index = index;
    nodes_[index].fire = &CollectHooks::fired;
    input.on_completion(&nodes_[index]);
  }
  // Called once every input is watched: an empty collect launches here.
  void seal() noexcept { count_down(); }

 private:
  struct Node : CompletionHook {
    CollectHooks* owner = nullptr;
    std::size_t index = 0;
  };
  static void fired(CompletionHook* self, TaskState& input) noexcept {
    auto* node = static_cast<Node*>(self);
    CollectHooks* hooks = node->owner;
    if (input.error()) {
      std::size_t first = none;
      hooks->failed_->compare_exchange_strong(first, node->index, std::memory_order_acq_rel);
      if (input.cancelled()) cancel_forward(*hooks->task_, input.error());
      hooks->launch();
    }
    hooks->count_down();
  }
  void count_down() noexcept {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    launch();
    delete this;
  }
  void launch() noexcept {
    if (!launched_.exchange(true, std::memory_order_acq_rel)) core_->submit_admitted(task_);
  }

  PoolCore* core_;
  TaskState* task_;
  std::atomic<std::size_t> remaining_;
  std::atomic<bool> launched_{false};
  std::shared_ptr<std::atomic<std::size_t>> failed_;
  std::vector<Node> nodes_;
};

// mpi4py's collect over `inputs`, on `core`.
template <class T>
AsyncResult<std::vector<T>> collect_on(PoolCore& core, std::vector<AsyncResult<T>> inputs) {
  auto failed = std::make_shared<std::atomic<std::size_t>>(CollectHooks::none);
  auto fn = [inputs, failed]() -> std::vector<T> {
    const std::size_t first = failed->load(std::memory_order_acquire);
    if (first != CollectHooks::none) {
      std::rethrow_exception(ResultAccess::state(inputs[first]).error());
    }
    std::vector<T> values;
    values.reserve(inputs.size());
    for (const auto& input : inputs) values.push_back(input.get());
    return values;
  };
  auto [result, task] = make_continuation<std::vector<T>>(core, "collect", std::move(fn));
  for (const auto& input : inputs) {
    if (Driver* driver = ResultAccess::state(input).driver()) task->set_driver(driver);
  }
  auto* hooks = new (std::nothrow) CollectHooks(core, task, inputs.size(), failed);
  if (hooks == nullptr) {
    (void)task->cancel();
    core.submit_admitted(task);
    throw std::bad_alloc();
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    hooks->watch(i, ResultAccess::state(inputs[i]));
  }
  hooks->seal();
  cancel_sources_with(ResultAccess::state(result), std::move(inputs));
  return result;
}

// The pool a continuation made without naming one runs on: `result`'s own (see
// TaskState::home); throws std::logic_error naming `call` if it has none.
template <class T>
PoolCore& home_of(const AsyncResult<T>& result, const char* call) {
  PoolCore* home = ResultAccess::state(result).home();
  if (home == nullptr) {
    throw std::logic_error(std::string("mpp::") + call +
                           ": this result has no pool of its own (mpi::Pool::map_async runs on "
                           "a thread); name the pool to run on, as in then(pool, f)");
  }
  return *home;
}

// Reports a done callback's exception, which Python logs and otherwise ignores.
void report_done_callback_error(std::exception_ptr error) noexcept;

}  // namespace mpp::detail

namespace mpp {

template <class T>
template <class F>
requires detail::continuation_for<F, T>
auto AsyncResult<T>::then(Pool& pool, F f) const {
  (void)state();  // an empty handle throws here, not on the pool
  return detail::compose_on(detail::core_of(pool), "then", *this, std::move(f), NoCallback{},
                            false);
}

template <class T>
template <class G>
requires std::invocable<G&, std::exception_ptr> AsyncResult<T> AsyncResult<T>::on_error(Pool& pool,
                                                                                        G g)
const {
  (void)state();
  return detail::compose_on(detail::core_of(pool), "on_error", *this, NoCallback{}, std::move(g),
                            false);
}

}  // namespace mpp

namespace mpp {

template <class T>
template <class F>
requires detail::continuation_for<F, T>
auto AsyncResult<T>::then(F f) const {
  return detail::compose_on(detail::home_of(*this, "AsyncResult::then"), "then", *this,
                            std::move(f), NoCallback{}, false);
}

template <class T>
template <class G>
requires std::invocable<G&, std::exception_ptr> AsyncResult<T> AsyncResult<T>::on_error(G g)
const {
  return detail::compose_on(detail::home_of(*this, "AsyncResult::on_error"), "on_error", *this,
                            NoCallback{}, std::move(g), false);
}

template <class T>
template <class Fn>
requires std::invocable < Fn&, AsyncResult<T>
& > void AsyncResult<T>::add_done_callback(Fn fn) const {
  detail::PoolCore& core = detail::home_of(*this, "AsyncResult::add_done_callback");
  auto call = [fn = std::move(fn), self = *this]() mutable {
    try {
      std::invoke(fn, self);
    } catch (...) {
      detail::report_done_callback_error(std::current_exception());
    }
  };
  auto [result, task] = detail::make_continuation<void>(core, "add_done_callback", std::move(call));
  task->set_driver(state().driver());
  detail::queue_when_complete(core, state(), task);
}

}  // namespace mpp
