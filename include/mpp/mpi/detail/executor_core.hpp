#pragma once
// The compiled part of mpp::mpi::Executor: the task registry, the root's queue and futures'
// shared slots, and the workers' serve loop. Templates in executor.hpp encode and decode.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/detail/driver.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/message.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/pool.hpp"
#include "mpp/wait.hpp"

namespace mpp::mpi::detail {

// Bytes reserved at the front of a task's encoded arguments and of its encoded result: the
// message's frame and header are written there in place, so a large value is not copied again
// to be sent.
inline constexpr std::size_t frame_prefix = 40;

// What running a registered function on some bytes gave: the result's bytes (after
// frame_prefix reserved bytes), or the failure.
struct Outcome {
  Message bytes;
  std::exception_ptr error;
  std::int64_t item = -1;
  std::uint64_t nanos = 0;  // how long the task ran on its worker, for the root's window
};

// The retries, backoff and time limit of a task or of each item of a map, as they travel ahead
// of its arguments (flagged by kind_with_policy): a worker cannot call the root's functions, so
// only what is plain data crosses, and retry_if does not.
struct WirePolicy {
  std::uint64_t retries = 0;
  std::int64_t timeout_ns = 0;  // 0: none
  std::int64_t backoff_initial_ns = 0;
  std::int64_t backoff_max_ns = 0;
  double backoff_multiplier = 1.0;
  std::uint64_t backoff_jitter = 0;

  static WirePolicy of(std::size_t retries, const Backoff& backoff,
                       std::optional<std::chrono::nanoseconds> timeout) noexcept {
    return {.retries = retries,
            .timeout_ns = timeout ? timeout->count() : 0,
            .backoff_initial_ns = backoff.initial.count(),
            .backoff_max_ns = backoff.max.count(),
            .backoff_multiplier = backoff.multiplier,
            .backoff_jitter = backoff.jitter ? 1u : 0u};
  }
  // The policy to run with, its deadlines watched by `core`'s timer.
  mpp::detail::ItemPolicy item_policy(mpp::detail::PoolCore* core) const {
    mpp::detail::ItemPolicy policy;
    policy.retries = static_cast<std::size_t>(retries);
    policy.backoff = {.initial = std::chrono::nanoseconds(backoff_initial_ns),
                      .multiplier = backoff_multiplier,
                      .max = std::chrono::nanoseconds(backoff_max_ns),
                      .jitter = backoff_jitter != 0};
    if (timeout_ns > 0) policy.timeout = std::chrono::nanoseconds(timeout_ns);
    policy.core = core;
    return policy;
  }
};
// A task kind with this bit carries a WirePolicy right after frame_prefix, before its arguments.
inline constexpr std::uint32_t kind_with_policy = 0x100;
// A task kind with this bit is one of Executor::submit_parallel's: comm_workers() works in it.
inline constexpr std::uint32_t kind_parallel = 0x200;
// Writes `policy` where a task message made with policy_prefix reserved bytes keeps it.
inline void write_policy(Message& message, const WirePolicy& policy) {
  std::memcpy(message.bytes.data() + frame_prefix, &policy, sizeof policy);
}
inline constexpr std::size_t policy_prefix = frame_prefix + sizeof(WirePolicy);

// Runs a registered function on encoded arguments (`first_item`: the index of the first item of
// a chunk, for error reports), on the rank's local pool, each call under `policy` unless it is
// null. With `borrow`, the result is about to be sent to another rank, so a large one is sent
// from its own storage (see Writer).
using Invoker = std::function<Outcome(Encoded args, std::int64_t first_item, mpp::Pool& local,
                                      bool borrow, const mpp::detail::ItemPolicy* policy)>;

struct Entry {
  std::string name;
  std::uint64_t name_hash = 0;
  Invoker call;   // submit: one call
  Invoker chunk;  // map: a chunk of items
  Invoker star;   // starmap: a chunk of argument tuples

  // The invoker of a task of `kind` (0: call, 1: chunk, 2: star), or null for another kind.
  const Invoker* invoker(std::uint32_t kind) const noexcept {
    switch (kind & ~(kind_with_policy | kind_parallel)) {
      case 0:
        return &call;
      case 1:
        return &chunk;
      case 2:
        return &star;
      default:
        return nullptr;
    }
  }
};

// A task's state as the root (or, with one rank, the local pool) sees it.
struct TaskSlot : std::enable_shared_from_this<TaskSlot> {
  enum class State { queued, running, done, cancelled };
  // Told when a slot finishes, on the root's driving thread: continuations queue or finish
  // other slots there, and never run user code.
  using FinishCallback = std::function<void(const std::shared_ptr<TaskSlot>&)>;

  std::uint64_t id = 0;
  State state = State::queued;
  bool ok = false;
  bool broken = false;        // failed because the executor broke (BrokenExecutor)
  bool continuation = false;  // runs on the root's pool once other slots finished
  int target = -1;            // submit_parallel: the rank it must run on
  std::size_t entry = 0;      // the registered function it calls
  std::string bytes;          // the result, or an encoded ErrorRecord, from `offset` on
  std::size_t offset = 0;
  // The result's blocks (their `at` counts from `bytes`); a Reader told to take them (get() on
  // the last future of the slot) may move a value out of one, even through a const slot.
  mutable std::vector<ReceivedBlock> blocks;
  Message request;           // the task message until it is sent
  std::exception_ptr error;  // one rank: the task's own exception
  // On the root's pool (one rank, root_computes, a continuation): its task there.
  std::optional<mpp::AsyncResult<Outcome>> local;
  std::function<Outcome()> run;  // one rank, or a continuation: the task until it starts
  std::vector<FinishCallback> on_finish;

  bool finished() const noexcept { return state == State::done || state == State::cancelled; }
  // Whether it runs on a local pool, and then what to wait for.
  bool on_pool() const noexcept { return local.has_value(); }
  mpp::AnyResult waitable() const { return mpp::AnyResult(*local); }
  // Sets the final state and tells the callbacks.
  void finish(State final) {
    state = final;
    const auto callbacks = std::move(on_finish);
    on_finish.clear();
    const auto self = shared_from_this();
    for (const auto& callback : callbacks) callback(self);
  }
  // Calls `callback` when the slot finishes, or now if it has.
  void when_finished(FinishCallback callback) {
    if (finished()) {
      callback(shared_from_this());
    } else {
      on_finish.push_back(std::move(callback));
    }
  }
  // Finishes the slot as failed with `failure` (what its future's get() then throws).
  void fail(std::exception_ptr failure) {
    ok = false;
    error = std::move(failure);
    bytes.clear();
    offset = 0;
    blocks.clear();
    finish(State::done);
  }

  Encoded result() const noexcept {
    return {std::span<const char>(bytes).subspan(offset), blocks, offset};
  }
};

class ExecutorCore;

// What a result of the executor (RemoteResult in mpi/future.hpp) holds beside its value: the
// slot it completes with, which the executor finds from the result's TaskState as its Driver.
struct SlotHolder {
  ExecutorCore* core = nullptr;
  std::shared_ptr<TaskSlot> slot;  // until the result completes
};

class ExecutorCore final : public mpp::detail::Driver {
 public:
  // `max_workers`: the workers that get tasks (unset: all); `root_computes`: the root takes
  // tasks too when there are workers.
  ExecutorCore(MPI_Comm parent, std::optional<int> threads, std::function<void()> initializer,
               std::optional<int> max_workers = std::nullopt, bool root_computes = false,
               int root = 0);
  ~ExecutorCore();

  // This rank in the communicator the executor was given.
  int rank() const noexcept { return parent_rank_; }
  // Whether this rank drives (rank 0 of comm_, which puts the chosen root first).
  bool is_root() const noexcept { return comm_.rank() == 0; }
  int size() const noexcept { return comm_.size(); }
  // Tasks of function `entry` the ranks that compute take at once now (see room()).
  std::size_t capacity(std::size_t entry) const noexcept {
    std::size_t total = 0;
    for (std::size_t r = 0; r < capacity_.size(); ++r) {
      total += static_cast<std::size_t>(room(r, entry));
    }
    return total;
  }
  // The threads of the ranks that get tasks.
  int computing_threads() const noexcept {
    int threads = 0;
    for (const int c : capacity_) threads += c / min_tasks_per_thread;
    return std::max(1, threads);
  }
  // The ranks that get tasks (the root alone with one rank).
  int computing_ranks() const noexcept {
    return static_cast<int>(
        std::count_if(capacity_.begin(), capacity_.end(), [](int c) { return c > 0; }));
  }

  // Registers `entry` under its name; returns its index. Throws on a second use of the name.
  std::size_t add(Entry entry);
  // The index of the function registered under `key`, or throws naming `what`.
  std::size_t find(const std::string& key, const char* what) const;
  void bind_key(const std::string& key, std::size_t index);
  // The name function `entry` was registered under.
  const std::string& name_of(std::size_t entry) const noexcept { return entries_[entry].name; }

  // Throws unless this rank may submit now: it is the root, and the executor is neither broken
  // nor shut down.
  void require_open() const;
  // Root: queues a task (kind 0: call, 1: chunk, 2: chunk of argument tuples, starting at
  // `first_item`) whose arguments are
  // `args` after frame_prefix reserved bytes.
  std::shared_ptr<TaskSlot> submit(std::size_t entry, int kind, Message args,
                                   std::int64_t first_item, int target = -1);
  // Root: queues one task of `entry` on `args` for each worker (the root with one rank), sent
  // whatever their load, so that all run together (Executor::submit_parallel).
  std::vector<std::shared_ptr<TaskSlot>> submit_parallel(std::size_t entry, Message args);
  // Whether tasks go to other ranks, so that their large arguments are best borrowed (see
  // Writer) rather than copied.
  bool remote() const noexcept { return comm_.size() > 1; }
  // Root: drives the work until `slot` is done or cancelled, or `deadline` passes; true if it
  // is done or cancelled.
  bool wait(TaskSlot& slot, std::optional<std::chrono::steady_clock::time_point> deadline);
  // Root: drives the work until `finished()` holds or `deadline` passes; true if it holds.
  // Without a deadline it sleeps in MPI until a result arrives; with one it polls.
  bool wait_until(const std::function<bool()>& finished,
                  std::optional<std::chrono::steady_clock::time_point> deadline) override;
  // Root: sends what it can and takes the results that arrived, without blocking.
  void poll() override;
  // As the Driver of its results (AsyncResult's TaskState): whether `task` is one of them,
  // waiting for one and cancelling one (see wait and cancel on slots).
  bool owns(const mpp::detail::TaskState& task) const noexcept override;
  bool wait(mpp::detail::TaskState& task, Deadline deadline) override;
  bool cancel(mpp::detail::TaskState& task) override;
  // The root's own pool: where continuations of its results run.
  mpp::Pool& pool() noexcept { return local_; }
  // Root: sends what it can and waits for at least one result (or local task) to arrive.
  void progress();
  // Root: cancels `slot` if it has not been sent to a worker yet; true if it is cancelled.
  bool cancel(TaskSlot& slot);
  // Root: a slot for a continuation, queued (so it can be cancelled) but in no queue until
  // start_local() hands it its task.
  std::shared_ptr<TaskSlot> make_continuation();
  // Root: runs `slot->run` on the root's local pool at the next progress, unless the slot is
  // cancelled by then. Called from finish callbacks, so it only queues.
  void start_local(std::shared_ptr<TaskSlot> slot);
  // What a failed or cancelled slot's future throws, as an exception_ptr.
  std::exception_ptr error_of(const TaskSlot& slot) const;
  // Root: no more submissions; with `cancel_futures`, queued tasks are cancelled; with `wait`,
  // returns once every task is done and the workers have been released.
  void shutdown(bool wait, bool cancel_futures);
  // Whether shutdown (or close) was called: no more submissions.
  bool closed() const noexcept { return shutting_down_; }
  // Whether an initializer failed, so no task runs any more (BrokenExecutor).
  bool broken() const noexcept { return broken_.has_value(); }
  // Non-root: serves tasks until the root shuts down. Returns false on the root at once.
  bool serve();
  // Rethrows a failed slot's error (RemoteError, or CancelledError); used by futures.
  [[noreturn]] void rethrow(const TaskSlot& slot) const;

 private:
  void dispatch();
  // The arguments of a task message that stays on the root (its blocks' values taken, not
  // copied, by the task).
  static Encoded local_args(Received& task);
  // Starts a task that dispatch() gave the root (root_computes) on the root's pool.
  void run_on_root(const std::shared_ptr<TaskSlot>& slot);
  // One rank: starts queued tasks on the local pool while fewer than its capacity run, so the
  // rest stay in the queue, where they can be cancelled.
  void dispatch_local();
  Outcome run_task(std::uint32_t entry, std::uint64_t name_hash, std::uint32_t kind, Encoded args,
                   std::int64_t first_item);
  // Runs a task of `entry` (known to have `kind`) on `args` after frame_prefix, with the policy
  // the kind says it carries.
  Outcome invoke(const Entry& entry, std::uint32_t kind, Encoded args, std::int64_t first_item,
                 bool borrow);
  void complete_sends(bool all);
  // Starts the continuations that start_local queued.
  void start_ready();
  void settle_local(TaskSlot& slot);
  void settle_locals();
  // Waits a little for a task on the root's pool to end (up to `limit`).
  void wait_for_locals(std::chrono::milliseconds limit);
  bool receive(bool block);
  void release_workers();
  // Root: the initializer failed as `record` says: every queued and running task fails with
  // BrokenExecutor, and so does every later submission.
  void break_with(ErrorRecord record);

  mpp::Pool local_;
  MPI_Comm root_first_;  // the given communicator, the root first; freed once comm_ has it
  Comm comm_;
  int parent_rank_ = 0;
  // The workers that get tasks (the root alone with one rank), for submit_parallel's tasks;
  // MPI_COMM_NULL on the others.
  MPI_Comm workers_ = MPI_COMM_NULL;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> keys_;
  // Tasks rank `r` may hold at once when the next calls function `entry`: capacity_[r], more
  // while that function's tasks are short (see .cpp).
  int room(std::size_t r, std::size_t entry) const noexcept;
  // Root: a task of function `entry` reported from rank `r` that it ran `nanos`.
  void observe(std::size_t r, std::size_t entry, std::uint64_t nanos) noexcept;

  // Tasks in flight per thread of a rank at least, also while tasks take long: enough to keep
  // its threads busy while results travel back. Short tasks get more (see room()).
  static constexpr int min_tasks_per_thread = 4;
  // Per rank: the fewest tasks kept in flight (min_tasks_per_thread x its threads; 0 for a rank
  // that gets none: the root when there are workers, unless it computes, and the workers past
  // max_workers).
  std::vector<int> capacity_;
  // Per registered function: the estimated run time of one task in ns, 0 until a result
  // reports one, and again once the executor has finished all it had.
  std::vector<double> task_ns_;
  std::vector<int> in_flight_;  // per rank; the root's only when it computes beside workers
  std::deque<std::shared_ptr<TaskSlot>> queue_;
  std::map<std::uint64_t, std::shared_ptr<TaskSlot>> running_;  // on workers
  // On the root's local pool: the tasks with one rank, and continuations.
  std::map<std::uint64_t, std::shared_ptr<TaskSlot>> locals_;
  std::deque<std::shared_ptr<TaskSlot>> ready_;  // continuations to start
  std::deque<Outgoing> sends_;
  std::uint64_t next_id_ = 0;
  bool shutting_down_ = false;
  bool released_ = false;
  std::optional<ErrorRecord> broken_;
};

}  // namespace mpp::mpi::detail
