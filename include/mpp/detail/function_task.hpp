#pragma once
// The task of apply_async and of continuations: a function called once, its value and its
// callbacks, in one allocation (from oneTBB's small-object pool when it is spawned).

#include <oneapi/tbb/detail/_small_object_pool.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "mpp/callbacks.hpp"
#include "mpp/detail/task_allocator.hpp"
#include "mpp/detail/task_state.hpp"

namespace mpp::detail {

// Room for the copy of a task that PoolCore spawns into a thread's deque (a oneTBB task).
inline constexpr std::size_t spawn_copy_size = 128;

// One allocation for a spawned task and its copy: the copy first (oneTBB tasks are aligned to
// 64 bytes), the task at offset spawn_copy_size.
template <class T>
struct SpawnBlock {
  alignas(64) unsigned char copy[spawn_copy_size];
  alignas(T) unsigned char task[sizeof(T)];
};

// A task computing `T` by calling `Fn` once, with the callbacks of mpp::callbacks (NoCallback,
// an empty type, where there is none).
template <class T, class Fn, class Callback = NoCallback, class ErrorCallback = NoCallback>
class FunctionTask final : public ResultState<T> {
  using Allocator = TaskAllocator<FunctionTask>;
  using Traits = std::allocator_traits<Allocator>;

 public:
  FunctionTask(PoolCore* core, Fn fn, Callbacks<Callback, ErrorCallback> on_done = {})
      : ResultState<T>(core),
        fn_(std::in_place, std::move(fn)),
        callback_(std::move(on_done.callback)),
        error_callback_(std::move(on_done.error_callback)) {}

  // A new task holding two references (see TaskState). `pooled`: from oneTBB's small-object
  // pool of the calling thread, a thread of the pool's arena spawning a nested task, as
  // tbb::task_group allocates its tasks (except in sanitizer builds, whose allocator sees reuse).
  static FunctionTask* create(PoolCore* core, Fn fn, Callbacks<Callback, ErrorCallback> on_done,
                              [[maybe_unused]] bool pooled = false) {
#if !defined(MPP_TSAN) && !defined(MPP_ASAN)
    if (pooled) {
      tbb::detail::d1::small_object_allocator pool{};
      auto* block = pool.new_object<SpawnBlock<FunctionTask>>();
      try {
        auto* task = ::new (static_cast<void*>(block->task))
            FunctionTask(core, std::move(fn), std::move(on_done));
        task->pool_ = pool;
        task->pooled_ = true;
        return task;
      } catch (...) {
        pool.deallocate(block);
        throw;
      }
    }
#endif
    Allocator allocator;
    FunctionTask* task = Traits::allocate(allocator, 1);
    try {
      Traits::construct(allocator, task, core, std::move(fn), std::move(on_done));
    } catch (...) {
      Traits::deallocate(allocator, task, 1);
      throw;
    }
    return task;
  }

 private:
  void destroy() noexcept override {
    if (pooled_) {
      tbb::detail::d1::small_object_allocator pool = pool_;
      auto* block = reinterpret_cast<SpawnBlock<FunctionTask>*>(spawn_storage());
      this->~FunctionTask();
      pool.deallocate(block);
      return;
    }
    Allocator allocator;
    Traits::destroy(allocator, this);
    Traits::deallocate(allocator, this, 1);
  }
  void invoke() override {
    if constexpr (std::is_void_v<T>) {
      std::invoke(std::move(*fn_));
    } else {
      this->value_.emplace(std::invoke(std::move(*fn_)));
    }
  }
  void release_function() noexcept override {
    fn_.reset();
  }
  void* spawn_storage() noexcept override {
    return pooled_ ? reinterpret_cast<unsigned char*>(this) - spawn_copy_size : nullptr;
  }

  void notify_callbacks() override {
    if (this->error_) {
      if constexpr (!std::is_same_v<ErrorCallback, NoCallback>) {
        if (present(error_callback_)) error_callback_(this->error_);
      }
    } else if constexpr (!std::is_same_v<Callback, NoCallback>) {
      if (!present(callback_)) return;
      if constexpr (std::is_void_v<T>) {
        callback_();
      } else {
        callback_(*this->value_);
      }
    }
  }

  // An empty std::function or a null function pointer is no callback, as Python's None.
  template <class F>
  static bool present(const F& f) noexcept {
    if constexpr (std::is_constructible_v<bool, const F&>) {
      return static_cast<bool>(f);
    } else {
      return true;
    }
  }

  std::optional<Fn> fn_;
  [[no_unique_address]] Callback callback_;
  [[no_unique_address]] ErrorCallback error_callback_;
  bool pooled_ = false;
  tbb::detail::d1::small_object_allocator pool_{};
};

}  // namespace mpp::detail
