#include "mpp/wait.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "driving.hpp"
#include "mpp/detail/completion_set.hpp"
#include "mpp/detail/core.hpp"
#include "mpp/detail/driver.hpp"
#include "mpp/detail/wait_condition.hpp"

namespace mpp::detail {

// What the hooks share with the consumer, on a cache line of its own: the completed nodes,
// newest first, and the references (the hooks not yet fired, and the consumer until it leaves).
// A hook pushes its node and leaves without a lock; it takes the mutex only to wake a consumer
// that sleeps, which sets `sleeping` before its last look at the list (both sequentially
// consistent, so one of them sees the other).
struct alignas(64) CompletionSet::Shared {
  std::atomic<Node*> completed{nullptr};
  std::atomic<std::size_t> references{0};
  std::atomic<bool> sleeping{false};
  std::mutex mutex;
  std::condition_variable woken;
};

// How long the consumer sleeps on the oldest pending task before it hooks them all. Long enough
// for a task whose worker was preempted for a moment, short enough that results completing out
// of order are not held back noticeably.
constexpr auto in_order_patience = std::chrono::milliseconds(1);

namespace {
// Short tasks often complete within microseconds: yielding the processor a few times before
// sleeping spares the completing worker a wake-up through the kernel for every result (as
// AsyncResult::wait does). Whether `done()` came true before the yields or `deadline` ran out.
template <class Done>
bool yield_until(Done done, WaitDeadline deadline) {
  for (int round = 0; round < 64; ++round) {
    if (done()) return true;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
    std::this_thread::yield();
  }
  return done();
}
}  // namespace

CompletionSet::CompletionSet() : shared_(new Shared) {
  shared_->references.store(1, std::memory_order_relaxed);  // the consumer's
}

void CompletionSet::hook_now() {
  hook_pending();
}

// A task handed out is never read again: the consumer may drop its handle (as_completed does),
// and with it the task.
std::size_t CompletionSet::next(WaitDeadline deadline) {
  if (!hooked_) {
    if (next_in_order(deadline)) return in_order_++;
    // Also when the deadline has passed: the results ready by then still come out first, as
    // CPython's as_completed yields the finished futures before raising TimeoutError.
    hook_pending();
  }
  if (batch_ == nullptr && !refill(deadline)) return none;
  Node* const node = batch_;
  batch_ = static_cast<Node*>(node->next);
  const std::size_t index = index_of(node);
  tasks_[index] = nullptr;
  return index;
}

// Whether the oldest task not handed out completes soon: it has, or does within a few yields of
// the processor (as AsyncResult::wait yields before it sleeps) or a moment of sleeping on it.
// False at once where the wait must drive an executor or help a pool instead.
bool CompletionSet::next_in_order(WaitDeadline deadline) {
  TaskState& task = *tasks_[in_order_];
  if (task.ready()) return true;
  if (task.driver() != nullptr || current_core() != nullptr) return false;
  if (yield_until([&] { return task.ready(); }, deadline)) return true;
  if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
  auto until = std::chrono::steady_clock::now() + in_order_patience;
  if (deadline && *deadline < until) until = *deadline;
  return task.sleep_until(until);
}

// Hooks every task not handed out; from now on the consumer sleeps until a hook fires. Each hook
// holds a reference to the set, taken before any can fire. A task that completed already goes
// straight onto the list.
void CompletionSet::hook_pending() {
  const std::size_t count = tasks_.size() - in_order_;
  nodes_ = std::make_unique<Node[]>(count);
  hooked_ = true;
  shared_->references.fetch_add(count, std::memory_order_relaxed);
  for (std::size_t i = 0; i < count; ++i) {
    TaskState& task = *tasks_[in_order_ + i];
    note_driver(task);
    Node& node = nodes_[i];
    node.owner = this;
    node.fire = &CompletionSet::fired;
    if (task.ready()) {
      fired(&node, task);
    } else {
      task.on_completion(&node);
    }
  }
  owned_ = owned_ && drivers_.size() == 1;
}

std::size_t CompletionSet::index_of(const Node* node) const noexcept {
  return in_order_ + static_cast<std::size_t>(node - nodes_.get());
}

// Called for each task by hook_pending(), which reads the task anyway.
void CompletionSet::note_driver(const TaskState& task) {
  Driver* driver = task.driver();
  if (driver == nullptr) {
    owned_ = false;
    return;
  }
  if (std::find(drivers_.begin(), drivers_.end(), driver) == drivers_.end()) {
    drivers_.push_back(driver);
  }
  owned_ = owned_ && driver->owns(task);
}

void CompletionSet::fired(CompletionHook* self, TaskState& /*task*/) noexcept {
  auto* node = static_cast<Node*>(self);
  CompletionSet* set = node->owner;
  Shared& shared = *set->shared_;
  Node* head = shared.completed.load(std::memory_order_relaxed);
  do {
    node->next = head;
  } while (!shared.completed.compare_exchange_weak(head, node, std::memory_order_seq_cst,
                                                   std::memory_order_relaxed));
  if (shared.sleeping.load(std::memory_order_seq_cst)) {
    std::lock_guard lock(shared.mutex);
    shared.woken.notify_one();
  }
  set->drop_reference();
}

void CompletionSet::drop_reference() noexcept {
  if (shared_->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    delete shared_;
    delete this;
  }
}

void CompletionSet::release() noexcept {
  drop_reference();
}

bool CompletionSet::any_completed() const noexcept {
  return shared_->completed.load(std::memory_order_acquire) != nullptr;
}

// Takes every node completed since the last call, oldest first.
void CompletionSet::take_completed() noexcept {
  Node* newest_first = shared_->completed.exchange(nullptr, std::memory_order_acquire);
  Node* oldest_first = nullptr;
  while (newest_first != nullptr) {
    auto* const next = static_cast<Node*>(newest_first->next);
    newest_first->next = oldest_first;
    oldest_first = newest_first;
    newest_first = next;
  }
  batch_ = oldest_first;
}

// Sleeps until a hook has fired or `deadline` passes; returns whether one has.
bool CompletionSet::sleep_until(WaitDeadline deadline) {
  Shared& shared = *shared_;
  std::unique_lock lock(shared.mutex);
  shared.sleeping.store(true, std::memory_order_seq_cst);
  const auto any = [&] { return shared.completed.load(std::memory_order_seq_cst) != nullptr; };
  bool woken = true;
  if (deadline) {
    woken = shared.woken.wait_until(lock, *deadline, any);
  } else {
    shared.woken.wait(lock, any);
  }
  shared.sleeping.store(false, std::memory_order_relaxed);
  return woken;
}

// Takes the nodes completed since the last call, sleeping until there is one or `deadline`.
bool CompletionSet::refill(WaitDeadline deadline) {
  if (!drivers_.empty()) drive(deadline);
  if (!deadline) help_pending();
  if (!yield_until([this] { return any_completed(); }, deadline) && !sleep_until(deadline)) {
    return false;
  }
  take_completed();
  return true;
}

// Drives the watched tasks' executors until one completes or `deadline` passes. One executor
// whose own tasks are all that is watched may sleep until its next result; otherwise each is
// polled while the consumer sleeps a millisecond at a time, since a local result (or a
// continuation on a pool) completes without them.
void CompletionSet::drive(WaitDeadline deadline) {
  const auto arrived = [this] { return any_completed(); };
  if (owned_) {
    drivers_.front()->wait_until(arrived, deadline);
    return;
  }
  if (arrived()) return;
  const auto poll = [this] {
    for (Driver* driver : drivers_) driver->poll();
  };
  const auto sleep = [this](std::chrono::steady_clock::time_point step) {
    return sleep_until(step);
  };
  (void)poll_while_sleeping(poll, sleep, deadline);
}

// An untimed wait on a thread of a pool runs the pool's pending tasks among those watched, so
// that a task waiting for its own pool's results cannot starve the pool. On every refill, not
// once: a continuation becomes runnable only when its source completes, maybe on another pool.
void CompletionSet::help_pending() {
  if (current_core() == nullptr) return;
  if (!listed_pending_) {  // the first time: all of them, oldest first
    listed_pending_ = true;
    for (std::size_t i = in_order_; i < tasks_.size(); ++i) pending_.push_back(i);
  }
  // Visits only the tasks not handed out, dropping those handed out since the last visit.
  std::size_t kept = 0;
  for (const std::size_t index : pending_) {
    TaskState* const task = tasks_[index];
    if (task == nullptr) continue;
    if (!task->ready()) task->help();
    pending_[kept++] = index;
  }
  pending_.resize(kept);
}

bool wait_satisfied(wait_for until, std::size_t ready, std::size_t total, bool failed) noexcept {
  switch (until) {
    case wait_for::first_completed:
      return ready > 0 || total == 0;
    case wait_for::first_exception:
      return failed || ready == total;
    case wait_for::all_completed:
      break;
  }
  return ready == total;
}

WaitResult wait_tasks(const std::vector<TaskState*>& tasks, wait_for until, WaitDeadline deadline) {
  const std::size_t total = tasks.size();
  CompletionSet* set = CompletionSet::watch(tasks, [](TaskState* task) { return task; });
  if (until != wait_for::all_completed) set->hook_now();  // any one may be first
  struct Release {
    CompletionSet* set;
    ~Release() { set->release(); }
  } release{set};
  std::size_t ready = 0;
  bool failed = false;
  while (!wait_satisfied(until, ready, total, failed)) {
    const std::size_t index = set->next(deadline);
    if (index == CompletionSet::none) break;  // timed out
    ++ready;
    failed = failed || tasks[index]->error() != nullptr;
  }
  WaitResult result;
  for (std::size_t i = 0; i < total; ++i)
    (tasks[i]->ready() ? result.done : result.not_done).push_back(i);
  return result;
}

}  // namespace mpp::detail
