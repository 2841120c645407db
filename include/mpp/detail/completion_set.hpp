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

// Indices of watched tasks as they complete, for one consuming thread.
//
// It starts in order, as a loop of get() does: a pool's tasks mostly complete in the order they
// were submitted, so the consumer looks only at the oldest task not handed out, yields the
// processor a few times, then sleeps on it a moment. Watching costs nothing more than that until
// it stalls. If that task takes longer, or the wait cannot sleep on one task (results of an
// executor, which it drives; a thread of a pool, which helps), every pending task gets a
// completion hook, which pushes its node onto a lock-free list and wakes the consumer only if it
// sleeps: no polling, and completing workers never wait for each other. The set is shared by the
// consumer and the hooks not yet fired, and freed by the last of them, so a consumer may stop
// early (a timeout) while tasks still run.
class CompletionSet {
 public:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  // Watches a task for each item of `items`, a sized range: `task(item)` returns it (and may keep
  // a copy of the item, as as_completed does). Reads the items, not yet the tasks.
  template <class Range, class TaskOf>
  static CompletionSet* watch(const Range& items, TaskOf task) {
    auto* set = new CompletionSet;
    try {
      set->tasks_.reserve(std::ranges::size(items));
      for (const auto& item : items) set->tasks_.push_back(task(item));
    } catch (...) {  // an empty handle; no hooks are registered yet
      set->release();
      throw;
    }
    return set;
  }
  // Skips the in-order start: for a wait that is after whichever task completes first.
  void hook_now();
  // The next index to complete, or `none` if `deadline` passed first; the set no longer reads
  // that task, which the caller may now release. The caller must not ask for more indices than
  // tasks. An untimed call on a thread of a task's pool runs pending tasks of that pool rather
  // than sleep, as AsyncResult::wait does.
  std::size_t next(WaitDeadline deadline);
  // The consumer is done with the set.
  void release() noexcept;

 private:
  // The hook of a pending task; fired, it joins the list of completed nodes through the hook's
  // `next`, which the task no longer reads once it fires the hook.
  struct Node : CompletionHook {
    CompletionSet* owner;
  };
  CompletionSet();
  bool next_in_order(WaitDeadline deadline);
  void hook_pending();
  std::size_t index_of(const Node* node) const noexcept;
  static void fired(CompletionHook* self, TaskState& task) noexcept;
  void drop_reference() noexcept;
  bool any_completed() const noexcept;
  bool sleep_until(WaitDeadline deadline);
  void take_completed() noexcept;
  bool refill(WaitDeadline deadline);
  void help_pending();
  void drive(WaitDeadline deadline);
  void note_driver(const TaskState& task);

  // The consumer's side.
  std::vector<TaskState*> tasks_;     // the watched tasks; null once handed out by a hook
  std::size_t in_order_ = 0;          // before hooking: every task before it was handed out
  bool hooked_ = false;               // every task from in_order_ on has a hook
  std::unique_ptr<Node[]> nodes_;     // their hooks, from in_order_ on
  std::vector<std::size_t> pending_;  // for help_pending: the tasks not handed out, maybe fewer
  bool listed_pending_ = false;
  Node* batch_ = nullptr;  // the nodes taken from the shared list, oldest first
  // The drivers of the hooked tasks (results of mpp::mpi::Executor), each once; waiting drives
  // them. `owned`: every hooked task is one of the single driver's own.
  std::vector<Driver*> drivers_;
  bool owned_ = true;

  // What the hooks share with the consumer (see wait.cpp).
  struct Shared;
  Shared* shared_;
};

}  // namespace mpp::detail
