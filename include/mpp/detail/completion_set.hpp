#pragma once
// The completion set behind mpp::wait and mpp::as_completed: the tasks watched by one consumer,
// taken in the order they complete.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <vector>

#include "mpp/detail/task_state.hpp"

namespace mpp::detail {

// When a wait gives up; none: it waits as long as it takes.
using WaitDeadline = std::optional<std::chrono::steady_clock::time_point>;

// Indices of watched tasks in the order they complete, for one consuming thread. Each task gets
// a completion hook that pushes its node onto a lock-free list and wakes the consumer only if it
// sleeps: no polling, and completing workers never wait for each other. The set is shared by the
// consumer and the hooks not yet fired, and freed by the last of them, so a consumer may stop
// early (a timeout) while tasks still run.
class CompletionSet {
 public:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  // Watches a task for each item of `items`, a sized range: `task(item)` returns it (and may keep
  // a copy of the item, as as_completed does). The tasks ready already come first, in order. One
  // pass, so each task is read once.
  template <class Range, class TaskOf>
  static CompletionSet* watch(const Range& items, TaskOf task) {
    CompletionSet* set = create(std::ranges::size(items));
    std::size_t added = 0;
    try {
      for (const auto& item : items) {
        set->add(added, task(item));
        ++added;
      }
    } catch (...) {  // an empty handle: the hooks registered so far free the set
      set->added(added);
      set->release();
      throw;
    }
    set->added(added);
    return set;
  }
  // The next index to complete, or `none` if `deadline` passed first; the set no longer reads
  // that task, which the caller may now release. The caller must not ask for more indices than
  // tasks. An untimed call on a thread of a task's pool runs pending tasks of that pool rather
  // than sleep, as AsyncResult::wait does.
  std::size_t next(WaitDeadline deadline);
  // The consumer is done with the set.
  void release() noexcept;

 private:
  // A watched task and its hook; fired, it joins the list of completed nodes through the hook's
  // `next`, which the task no longer reads once it fires the hook.
  struct Node : CompletionHook {
    CompletionSet* owner;
    TaskState* task;
  };
  explicit CompletionSet(std::size_t size);
  // Watching `size` tasks: create, add each at its index, then added (how many were).
  static CompletionSet* create(std::size_t size);
  void add(std::size_t index, TaskState* task);
  void added(std::size_t count) noexcept;
  static void fired(CompletionHook* self, TaskState& task) noexcept;
  void drop_reference() noexcept;
  void append_to_batch(Node* node) noexcept;
  bool any_completed() const noexcept;
  bool sleep_until(WaitDeadline deadline);
  void take_completed() noexcept;
  bool refill(WaitDeadline deadline);
  void help_pending();
  void drive(WaitDeadline deadline);
  void note_driver(const TaskState& task);

  // The consumer's side.
  std::size_t size_;
  std::unique_ptr<Node[]> nodes_;  // default-initialised: add() writes what it uses
  Node* batch_ = nullptr;          // the nodes taken from the shared list, oldest first
  Node* batch_tail_ = nullptr;     // the last of them while add() fills it
  // The drivers of the watched tasks (results of mpp::mpi::Executor), each once; waiting drives
  // them. `owned`: every watched task is one of the single driver's own.
  std::vector<Driver*> drivers_;
  bool owned_ = true;
  std::size_t unwatched_ = 0;  // tasks found ready by add(), which need no hook

  // What the hooks share with the consumer (see wait.cpp).
  struct Shared;
  Shared* shared_;
};

}  // namespace mpp::detail
