#include <algorithm>
#include <cstring>
#include <ranges>
#include <thread>

#include "mpp/errors.hpp"
#include "mpp/mpi/cpus.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/environment.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/wait.hpp"

namespace mpp::mpi::detail {

namespace {

enum : int { tag_task = 11, tag_result = 12, tag_shutdown = 13 };

// The workers' communicator of the parallel task this thread runs (see comm_workers()).
thread_local MPI_Comm task_workers = MPI_COMM_NULL;

struct TaskHeader {
  std::uint64_t id = 0;
  std::int64_t first_item = -1;
  std::uint64_t name_hash = 0;
  std::uint32_t entry = 0;
  std::uint32_t kind = 0;
};

// ResultHeader::ok: the task's result, its failure, or the initializer's failure on that rank.
enum : std::uint64_t { result_failed = 0, result_ok = 1, result_broken = 2 };

struct ResultHeader {
  std::uint64_t id = 0;
  std::uint64_t ok = result_failed;
  std::uint64_t nanos = 0;   // the task's run time on the worker
  std::uint64_t unused = 0;  // the size of TaskHeader, so both fit frame_prefix
};

// A worker holds enough tasks to stay busy for this long, so that tiny tasks do not wait on
// a round trip to the root each; between 4 and 64 per thread.
constexpr double queued_work_ns = 250e3;
constexpr int min_tasks_per_thread = 4;
constexpr int max_tasks_per_thread = 64;

// A message is [u64 length][header][body], and travels in batches of messages, so that many
// tiny tasks (or results) cost one MPI message. `bytes` holds the body after frame_prefix
// reserved bytes, where the length and header are written.
template <class Header>
void frame(Message& message, const Header& header) {
  static_assert(sizeof(std::uint64_t) + sizeof(Header) == frame_prefix);
  const std::uint64_t length = message.size() - sizeof length;
  std::memcpy(message.bytes.data(), &length, sizeof length);
  std::memcpy(message.bytes.data() + sizeof length, &header, sizeof header);
}

// `body` after frame_prefix reserved bytes.
Message with_prefix(const std::string& body) {
  std::string out(frame_prefix, '\0');
  out.append(body);
  return Message(std::move(out));
}

template <class Visit>
void for_each_framed(const std::string& batch, Visit visit) {
  std::size_t at = 0;
  while (at + sizeof(std::uint64_t) <= batch.size()) {
    std::uint64_t length = 0;
    std::memcpy(&length, batch.data() + at, sizeof length);
    at += sizeof length;
    visit(std::span<const char>(batch.data() + at, static_cast<std::size_t>(length)));
    at += static_cast<std::size_t>(length);
  }
}

// If `error` is the local pool's InitializerError, what the initializer threw (nested in it),
// described as happening on `rank`; nullopt for any other error.
std::optional<ErrorRecord> initializer_failure(const std::exception_ptr& error, int rank,
                                               const std::string& host) {
  try {
    std::rethrow_exception(error);
  } catch (const mpp::InitializerError& e) {
    try {
      std::rethrow_if_nested(e);
    } catch (...) {
      return describe(std::current_exception(), rank, host, -1);
    }
    return describe(std::current_exception(), rank, host, -1);
  } catch (...) {
  }
  return std::nullopt;
}

// `parent` with its ranks reordered so that `root` is rank 0 (a new communicator), or `parent`
// itself for root 0 and for a communicator Comm refuses anyway, saying why.
MPI_Comm root_first(MPI_Comm parent, int root) {
  if (root == 0 || parent == MPI_COMM_NULL) return parent;
  auto lock = mpi_guard("mpp::mpi::Executor");
  int inter = 0;
  check_mpi(MPI_Comm_test_inter(parent, &inter), "MPI_Comm_test_inter");
  if (inter != 0) return parent;
  int rank = 0, size = 0;
  check_mpi(MPI_Comm_rank(parent, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(parent, &size), "MPI_Comm_size");
  if (root < 0 || root >= size) {
    mpp::detail::throw_invalid_argument(
        "mpi::Executor: ExecutorOptions::root = " + std::to_string(root) +
        " is not a rank of the communicator (0 to " + std::to_string(size - 1) + ")");
  }
  MPI_Comm ordered = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(parent, 0, rank == root ? 0 : rank + 1, &ordered), "MPI_Comm_split");
  return ordered;
}

}  // namespace

ExecutorCore::ExecutorCore(MPI_Comm parent, std::optional<int> threads,
                           std::function<void()> initializer, std::optional<int> max_workers,
                           bool root_computes, int root)
    // node_threads is collective, so every rank calls it, even those given their threads.
    : local_(mpp::PoolOptions{.threads =
                                  [&] {
                                    int node = node_threads(parent);
                                    return threads.value_or(node);
                                  }(),
                              .initializer = std::move(initializer)}),
      root_first_(root_first(parent, root)),
      comm_(root_first_, /*with_counter=*/false, "mpp::mpi::Executor") {
  if (root_first_ != parent) {
    auto lock = mpi_guard("mpp::mpi::Executor");
    MPI_Comm_free(&root_first_);  // comm_ holds its own duplicate
  }
  {
    auto lock = mpi_guard("mpp::mpi::Executor");
    check_mpi(MPI_Comm_rank(parent, &parent_rank_), "MPI_Comm_rank");
  }
  const int mine = local_.threads();
  std::vector<int> all(static_cast<std::size_t>(comm_.size()));
  {
    auto lock = mpi_guard("mpp::mpi::Executor");
    check_mpi(MPI_Allgather(&mine, 1, MPI_INT, all.data(), 1, MPI_INT, comm_.get()),
              "MPI_Allgather");
  }
  for (int t : all) capacity_.push_back(4 * std::max(1, t));
  in_flight_.assign(all.size(), 0);
  if (comm_.size() > 1 && !root_computes) capacity_[0] = 0;
  for (std::size_t r = 1; r < capacity_.size(); ++r) {
    if (max_workers && static_cast<int>(r) > *max_workers) capacity_[r] = 0;
  }
  const bool worker = comm_.size() == 1 ||
                      (comm_.rank() != 0 && capacity_[static_cast<std::size_t>(comm_.rank())] > 0);
  auto lock = mpi_guard("mpp::mpi::Executor");
  check_mpi(MPI_Comm_split(comm_.get(), worker ? 0 : MPI_UNDEFINED, comm_.rank(), &workers_),
            "MPI_Comm_split");
}

ExecutorCore::~ExecutorCore() {
  if (comm_.rank() == 0 && !released_) {
    try {
      shutdown(/*wait=*/true, /*cancel_futures=*/false);
    } catch (...) {
      // Destructors must not throw; the workers were released as far as MPI allowed.
    }
  }
  // Freed once no task can use it: the root waited for its tasks above, a worker in serve().
  if (workers_ != MPI_COMM_NULL) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) MPI_Comm_free(&workers_);
  }
}

std::size_t ExecutorCore::add(Entry entry) {
  for (const auto& e : entries_) {
    if (e.name == entry.name) {
      mpp::detail::throw_invalid_argument("mpi::Executor::register_function: the name '" +
                                          entry.name + "' is already registered");
    }
  }
  entry.name_hash = signature({entry.name.c_str()});
  entries_.push_back(std::move(entry));
  task_ns_.push_back(0.0);
  return entries_.size() - 1;
}

void ExecutorCore::bind_key(const std::string& key, std::size_t index) {
  keys_[key] = index;
}

std::size_t ExecutorCore::find(const std::string& key, const char* what) const {
  const auto it = keys_.find(key);
  if (it == keys_.end()) {
    throw_usage(std::string("Executor::") + what +
                ": this function was not registered; call executor.register_function(\"name\", "
                "f) with the same functions in the same order on every rank first");
  }
  return it->second;
}

std::shared_ptr<TaskSlot> ExecutorCore::submit(std::size_t entry, int kind, Message args,
                                               std::int64_t first_item, int target) {
  if (comm_.rank() != 0) {
    throw_usage(
        "Executor::submit/map: only the root (ExecutorOptions::root, rank 0 by default) "
        "submits; the other ranks call serve()");
  }
  if (broken_) throw_broken(*broken_);
  if (shutting_down_) {
    throw PoolStateError(
        "mpp::mpi::Executor::submit: the executor was shut down; create a new one to submit "
        "more work");
  }
  auto slot = std::make_shared<TaskSlot>();
  slot->id = next_id_++;
  slot->entry = entry;
  if (comm_.size() == 1) {
    // Queued as with workers (and started by dispatch_local), so that Future::cancel and
    // shutdown(cancel_futures) work with one rank too.
    slot->run = [this, entry, kind, args = std::move(args).flatten(), first_item] {
      return invoke(entries_[entry], static_cast<std::uint32_t>(kind),
                    std::span<const char>(args).subspan(frame_prefix), first_item, false);
    };
    queue_.push_back(slot);
    dispatch_local();
    return slot;
  }
  const TaskHeader header{.id = slot->id,
                          .first_item = first_item,
                          .name_hash = entries_[entry].name_hash,
                          .entry = static_cast<std::uint32_t>(entry),
                          .kind = static_cast<std::uint32_t>(kind)};
  frame(args, header);
  slot->request = std::move(args);
  slot->target = target;
  queue_.push_back(slot);
  if (target < 0) dispatch();  // submit_parallel dispatches once all are queued
  return slot;
}

std::vector<std::shared_ptr<TaskSlot>> ExecutorCore::submit_parallel(std::size_t entry,
                                                                     Message args) {
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE) {
    throw_usage(
        "Executor::submit_parallel: its tasks call MPI from the workers' pool threads, which "
        "needs MPI_THREAD_MULTIPLE; this MPI provides less (see mpp::mpi::Environment)");
  }
  if (comm_.size() == 1) {
    return {submit(entry, static_cast<int>(kind_parallel), std::move(args), 0)};
  }
  std::vector<std::shared_ptr<TaskSlot>> slots;
  for (int w = 1; w < comm_.size(); ++w) {
    if (capacity_[static_cast<std::size_t>(w)] == 0) continue;
    Message copy = args;
    auto slot = submit(entry, static_cast<int>(kind_parallel), std::move(copy), w - 1, w);
    slots.push_back(std::move(slot));
  }
  dispatch();
  return slots;
}

void ExecutorCore::dispatch_local() {
  while (!queue_.empty() && locals_.size() < static_cast<std::size_t>(capacity_[0])) {
    auto slot = queue_.front();
    queue_.pop_front();
    if (slot->state == TaskSlot::State::cancelled) continue;
    slot->state = TaskSlot::State::running;
    locals_[slot->id] = slot;
    try {
      slot->local.emplace(local_.apply_async(std::move(slot->run)));
    } catch (...) {
      // The local pool refuses work once its initializer failed: the executor is broken.
      auto failure = initializer_failure(std::current_exception(), 0, comm_.host());
      if (!failure) throw;
      break_with(std::move(*failure));
      return;
    }
    slot->run = nullptr;
  }
}

void ExecutorCore::dispatch() {
  if (comm_.size() == 1) {
    dispatch_local();
    return;
  }
  auto lock = mpi_guard("mpp::mpi::Executor");
  // Each queued task goes to the least loaded worker with room, so work stays balanced; every
  // worker then gets the tasks meant for it in one message.
  std::vector<Message> batches(static_cast<std::size_t>(comm_.size()));
  while (!queue_.empty()) {
    if (queue_.front()->target > 0 && queue_.front()->state == TaskSlot::State::queued) {
      // A parallel task goes to its rank at once, whatever the load: its peers wait for it.
      auto slot = queue_.front();
      queue_.pop_front();
      const auto ut = static_cast<std::size_t>(slot->target);
      slot->state = TaskSlot::State::running;
      ++in_flight_[ut];
      running_[slot->id] = slot;
      batches[ut].append(std::move(slot->request));
      slot->request = Message();
      continue;
    }
    // The workers first, then the root (when it computes): on a tie a worker gets the task.
    int best = -1;
    for (int i = 1; i <= comm_.size(); ++i) {
      const int w = i % comm_.size();
      const auto uw = static_cast<std::size_t>(w);
      if (in_flight_[uw] >= room(uw, queue_.front()->entry)) continue;
      if (best < 0 || in_flight_[uw] < in_flight_[static_cast<std::size_t>(best)]) best = w;
    }
    if (best < 0) break;
    auto slot = queue_.front();
    queue_.pop_front();
    if (slot->state == TaskSlot::State::cancelled) continue;
    const auto ub = static_cast<std::size_t>(best);
    slot->state = TaskSlot::State::running;
    ++in_flight_[ub];
    if (best == 0) {
      run_on_root(slot);
      continue;
    }
    running_[slot->id] = slot;
    batches[ub].append(std::move(slot->request));
    slot->request = Message();
  }
  for (int w = 1; w < comm_.size(); ++w) {
    Message& batch = batches[static_cast<std::size_t>(w)];
    if (batch.empty()) continue;
    sends_.emplace_back(std::move(batch)).post({comm_.get(), comm_.side()}, w, tag_task);
  }
}

int ExecutorCore::room(std::size_t r, std::size_t entry) const noexcept {
  // Only workers' tasks cross the network; short ones widen the window (Little's law: the
  // tasks in flight cover the queued work, so the worker never idles on a round trip).
  const double estimate = entry < task_ns_.size() ? task_ns_[entry] : 0.0;
  if (r == 0 || capacity_[r] == 0 || estimate <= 0) return capacity_[r];
  const double per_thread = std::clamp(queued_work_ns / estimate, double(min_tasks_per_thread),
                                       double(max_tasks_per_thread));
  return capacity_[r] / min_tasks_per_thread * static_cast<int>(per_thread);
}

void ExecutorCore::observe(std::size_t r, std::size_t entry, std::uint64_t nanos) noexcept {
  // The window follows the function about to be sent: a function not yet seen goes out narrow,
  // so that long tasks after tiny ones of another function are not sent ahead of their turn
  // (where they could no longer be cancelled). A longer task narrows it at once (balance and
  // cancellation matter more then); shorter ones widen it gradually. Once the executor has
  // finished all it had, every function starts narrow again: its arguments may have changed.
  // (Only a rank that has just drained can be the last: the scan over every rank stays off the
  // path of a busy executor.)
  if (queue_.empty() && in_flight_[r] == 0 &&
      std::ranges::all_of(in_flight_, [](int n) { return n == 0; })) {
    std::ranges::fill(task_ns_, 0.0);
    return;
  }
  if (entry >= task_ns_.size()) return;
  const double sample = std::max(1.0, static_cast<double>(nanos));
  double& estimate = task_ns_[entry];
  estimate = estimate <= 0 || sample > estimate ? sample : 0.75 * estimate + 0.25 * sample;
}

void ExecutorCore::run_on_root(const std::shared_ptr<TaskSlot>& slot) {
  std::string bytes = std::move(slot->request).flatten();
  slot->request = Message();
  TaskHeader header;
  std::memcpy(&header, bytes.data() + sizeof(std::uint64_t), sizeof header);
  locals_[slot->id] = slot;
  try {
    slot->local.emplace(local_.apply_async([this, bytes = std::move(bytes), header] {
      return invoke(entries_[header.entry], header.kind,
                    std::span<const char>(bytes).subspan(frame_prefix), header.first_item, false);
    }));
  } catch (...) {
    locals_.erase(slot->id);
    --in_flight_[0];
    auto failure = initializer_failure(std::current_exception(), 0, comm_.host());
    if (!failure) throw;
    break_with(std::move(*failure));
  }
}

void ExecutorCore::complete_sends(bool all) {
  while (!sends_.empty()) {
    if (all) {
      sends_.front().wait();
    } else if (!sends_.front().test()) {
      return;
    }
    sends_.pop_front();
  }
}

bool ExecutorCore::receive(bool block) {
  auto lock = mpi_guard("mpp::mpi::Executor");
  complete_sends(false);
  MPI_Status status;
  int flag = 0;
  // Polled rather than MPI_Probe, so that a worker that let go of the executor ends the job
  // instead of leaving the root waiting for its results forever.
  for (int spins = 0;; ++spins) {
    check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, tag_result, comm_.get(), &flag, &status), "MPI_Iprobe");
    if (flag || !block) break;
    comm_.check_departures("get");
    // A large send in flight moves only while MPI is called: no sleeping until it is gone.
    complete_sends(false);
    if (spins > 1000 && sends_.empty()) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (!flag) return false;
  std::string buffer = receive_message({comm_.get(), comm_.side()}, status);
  // A batch of one result is kept whole, so a large result is not copied out of it.
  const bool alone = buffer.size() >= frame_prefix && [&] {
    std::uint64_t length = 0;
    std::memcpy(&length, buffer.data(), sizeof length);
    return length + sizeof length == buffer.size();
  }();
  std::optional<ErrorRecord> broken;
  for_each_framed(buffer, [&](std::span<const char> one) {
    ResultHeader header;
    std::memcpy(&header, one.data(), sizeof header);
    --in_flight_[static_cast<std::size_t>(status.MPI_SOURCE)];
    if (header.ok == result_broken && !broken) {
      broken = decode_error(one.data() + sizeof header, one.size() - sizeof header);
    }
    const auto it = running_.find(header.id);
    observe(static_cast<std::size_t>(status.MPI_SOURCE),
            it != running_.end() ? it->second->entry : task_ns_.size(), header.nanos);
    if (it != running_.end()) {
      TaskSlot& slot = *it->second;
      slot.ok = header.ok == result_ok;
      slot.broken = header.ok == result_broken;
      if (alone) {
        slot.bytes = std::move(buffer);
        slot.offset = frame_prefix;
      } else {
        slot.bytes.assign(one.data() + sizeof header, one.size() - sizeof header);
      }
      slot.finish(TaskSlot::State::done);
      running_.erase(it);
    }
  });
  if (broken) break_with(std::move(*broken));
  return true;
}

void ExecutorCore::settle_local(TaskSlot& slot) {
  if (slot.state != TaskSlot::State::running || !slot.on_pool() || !slot.waitable().ready()) {
    return;
  }
  Outcome outcome;
  try {
    outcome = slot.local ? std::move(*slot.local).get() : slot.take();
  } catch (...) {
    if (slot.continuation) {  // its own failure: the executor goes on
      slot.local.reset();
      slot.tracked.reset();
      auto keep = locals_.extract(slot.id);
      slot.fail(std::current_exception());
      return;
    }
    // Run on a thread whose initializer failed: the executor is broken.
    auto failure = initializer_failure(std::current_exception(), 0, comm_.host());
    if (!failure) throw;
    break_with(std::move(*failure));
    return;
  }
  const bool beside_workers = !slot.continuation && comm_.size() > 1;
  if (beside_workers) --in_flight_[0];
  slot.ok = !outcome.error;
  slot.bytes = std::move(outcome.bytes).flatten();
  slot.offset = outcome.error ? 0 : frame_prefix;
  slot.error = outcome.error;
  if (beside_workers && outcome.error) {
    // Whichever rank ran it, a task's failure reads the same when there are workers.
    slot.bytes = encode(describe(outcome.error, parent_rank_, comm_.host(), outcome.item));
    slot.error = nullptr;
  }
  slot.local.reset();
  slot.tracked.reset();
  slot.take = nullptr;
  // Erased before finishing: the callbacks may start other local tasks.
  auto keep = locals_.extract(slot.id);
  slot.finish(TaskSlot::State::done);
}

void ExecutorCore::settle_locals() {
  std::vector<std::shared_ptr<TaskSlot>> slots;
  for (auto& [id, slot] : locals_) slots.push_back(slot);
  for (auto& slot : slots) settle_local(*slot);
}

std::shared_ptr<TaskSlot> ExecutorCore::make_continuation() {
  if (comm_.rank() != 0) {
    throw_usage(
        "Future::then/on_error, mpp::compose, mpp::collect: only the root has futures; the "
        "other ranks call serve()");
  }
  auto slot = std::make_shared<TaskSlot>();
  slot->id = next_id_++;
  slot->continuation = true;
  return slot;
}

void ExecutorCore::start_local(std::shared_ptr<TaskSlot> slot) {
  ready_.push_back(std::move(slot));
}

void ExecutorCore::start_ready() {
  while (!ready_.empty()) {
    auto slot = std::move(ready_.front());
    ready_.pop_front();
    if (slot->state != TaskSlot::State::queued) continue;  // cancelled meanwhile
    slot->state = TaskSlot::State::running;
    try {
      slot->local.emplace(local_.apply_async(std::move(slot->run)));
    } catch (...) {
      slot->run = nullptr;
      slot->fail(std::current_exception());  // the root's pool is closed or broken
      continue;
    }
    slot->run = nullptr;
    locals_[slot->id] = slot;
  }
}

void ExecutorCore::adopt(const std::shared_ptr<TaskSlot>& slot, mpp::AnyResult result,
                         std::function<Outcome()> take) {
  slot->state = TaskSlot::State::running;
  slot->tracked.emplace(std::move(result));
  slot->take = std::move(take);
  locals_[slot->id] = slot;
}

std::exception_ptr ExecutorCore::error_of(const TaskSlot& slot) const {
  try {
    rethrow(slot);
  } catch (...) {
    return std::current_exception();
  }
}

void ExecutorCore::poll() {
  settle_locals();
  start_ready();
  if (comm_.size() == 1) {
    dispatch_local();
    return;
  }
  dispatch();
  while (receive(false)) {
  }
  dispatch();
}

void ExecutorCore::wait_for_locals(std::chrono::milliseconds limit) {
  // Sleeps until any of them completes, not the oldest one only.
  std::vector<mpp::AnyResult> running;
  running.reserve(locals_.size());
  for (auto& [id, slot] : locals_) running.push_back(slot->waitable());
  (void)mpp::wait(running, mpp::wait_for::first_completed, limit);
}

void ExecutorCore::progress() {
  start_ready();
  dispatch();
  const bool remote = comm_.size() > 1 && !running_.empty();
  if (!locals_.empty()) {
    // With results also due from workers, the root looks for them every millisecond.
    wait_for_locals(std::chrono::milliseconds(remote ? 1 : 10));
  } else if (remote) {
    receive(true);
  }
  poll();
}

bool ExecutorCore::wait(TaskSlot& slot,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  const auto finished = [&] {
    return slot.state == TaskSlot::State::done || slot.state == TaskSlot::State::cancelled;
  };
  while (!finished()) {
    if (slot.on_pool()) {  // running on a local pool: wait for it there
      const mpp::AnyResult result = slot.waitable();
      if (deadline) {
        if (!result.wait(std::chrono::duration_cast<std::chrono::nanoseconds>(
                *deadline - std::chrono::steady_clock::now()))) {
          return false;
        }
      } else {
        result.wait();
      }
      settle_local(slot);
      start_ready();
      dispatch();
      continue;
    }
    if (comm_.size() == 1) {  // still queued: the tasks ahead of it must finish first
      if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
      progress();
      continue;
    }
    if (deadline) {
      poll();
      if (finished()) break;
      if (std::chrono::steady_clock::now() >= *deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      progress();
    }
  }
  return true;
}

bool ExecutorCore::wait_until(const std::function<bool()>& finished,
                              std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    poll();
    if (finished()) return true;
    if (!deadline) {
      progress();
    } else if (std::chrono::steady_clock::now() >= *deadline) {
      return false;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

bool ExecutorCore::cancel(TaskSlot& slot) {
  if (slot.state == TaskSlot::State::queued) slot.finish(TaskSlot::State::cancelled);
  return slot.state == TaskSlot::State::cancelled;
}

void ExecutorCore::rethrow(const TaskSlot& slot) const {
  if (slot.state == TaskSlot::State::cancelled) {
    mpp::detail::throw_cancelled(
        "mpi::Executor: the task was cancelled before it started (Future::cancel or "
        "shutdown(cancel_futures=true))");
  }
  if (slot.broken && broken_) throw_broken(*broken_);
  if (slot.error) std::rethrow_exception(slot.error);
  throw_remote(decode_error(slot.result().data(), slot.result().size()));
}

void ExecutorCore::shutdown(bool wait, bool cancel_futures) {
  if (comm_.rank() != 0) return;
  shutting_down_ = true;
  if (cancel_futures) {
    for (auto& slot : queue_) {
      if (slot->state == TaskSlot::State::queued) slot->finish(TaskSlot::State::cancelled);
    }
    queue_.clear();
  }
  if (!wait) return;
  while (!queue_.empty() || !running_.empty() || !locals_.empty() || !ready_.empty()) progress();
  // A broken executor failed the tasks still out on workers without their results: take them
  // now, so that no worker waits on a send nobody receives.
  while (std::any_of(in_flight_.begin() + 1, in_flight_.end(), [](int n) { return n > 0; })) {
    receive(/*block=*/true);
  }
  release_workers();
}

void ExecutorCore::break_with(ErrorRecord record) {
  if (broken_) return;
  broken_ = std::move(record);
  const auto fail = [](TaskSlot& slot) {
    slot.ok = false;
    slot.broken = true;
    slot.request = Message();
    slot.run = nullptr;
    slot.finish(TaskSlot::State::done);
  };
  for (auto& slot : queue_) {
    if (slot->state != TaskSlot::State::cancelled) fail(*slot);
  }
  queue_.clear();
  for (auto& [id, slot] : running_) fail(*slot);
  running_.clear();
  // With one rank the local tasks are the executor's tasks; continuations run to their end.
  for (auto it = locals_.begin(); it != locals_.end();) {
    if (it->second->continuation) {
      ++it;
    } else {
      fail(*it->second);
      it = locals_.erase(it);
    }
  }
  if (comm_.size() > 1) in_flight_[0] = 0;  // the root's own tasks were among them
}

void ExecutorCore::release_workers() {
  if (released_) return;
  released_ = true;
  if (comm_.size() == 1) return;
  auto lock = mpi_guard("mpp::mpi::Executor");
  complete_sends(true);
  for (int w = 1; w < comm_.size(); ++w) {
    send_message({comm_.get(), comm_.side()}, w, tag_shutdown, {});
  }
}

Outcome ExecutorCore::run_task(std::uint32_t entry, std::uint64_t name_hash, std::uint32_t kind,
                               std::span<const char> args, std::int64_t first_item) {
  const Invoker* invoker = entry < entries_.size() && entries_[entry].name_hash == name_hash
                               ? entries_[entry].invoker(kind)
                               : nullptr;
  const bool known = invoker != nullptr && bool(*invoker);
  if (!known) {
    Outcome failed;
    try {
      throw_usage("Executor: task function #" + std::to_string(entry) +
                  " is not registered alike on rank " + std::to_string(parent_rank_) +
                  "; register the same functions in the same order on every rank");
    } catch (...) {
      failed.error = std::current_exception();
    }
    return failed;
  }
  return invoke(entries_[entry], kind, args, first_item, true);
}

Outcome ExecutorCore::invoke(const Entry& entry, std::uint32_t kind, std::span<const char> args,
                             std::int64_t first_item, bool borrow) {
  // A parallel task finds the workers' communicator through comm_workers() while it runs.
  struct WorkersScope {
    MPI_Comm previous;
    explicit WorkersScope(MPI_Comm comm) : previous(task_workers) { task_workers = comm; }
    ~WorkersScope() { task_workers = previous; }
  } scope((kind & kind_parallel) != 0 ? workers_ : task_workers);
  std::optional<mpp::detail::ItemPolicy> policy;
  if ((kind & kind_with_policy) != 0) {
    WirePolicy wire;
    std::memcpy(&wire, args.data(), sizeof wire);
    args = args.subspan(sizeof wire);
    policy = wire.item_policy(&mpp::detail::core_of(local_));
  }
  return (*entry.invoker(kind))(args, first_item, local_, borrow, policy ? &*policy : nullptr);
}

bool ExecutorCore::serve() {
  if (comm_.rank() == 0) return false;
  // One received task, running on the local pool.
  struct Job {
    std::uint64_t id;
    std::optional<mpp::AsyncResult<Outcome>> result;
    std::exception_ptr error;  // the local pool refused the task (its initializer failed)
  };
  std::deque<Job> jobs;
  bool stop = false;
  auto lock = mpi_guard("mpp::mpi::Executor::serve");
  while (true) {
    bool busy = false;
    // Finished tasks go back to the root, all those ready in one message.
    Message batch;
    for (auto it = jobs.begin(); it != jobs.end();) {
      if (it->result && !it->result->ready()) {
        ++it;
        continue;
      }
      Outcome outcome;
      std::exception_ptr error = it->error;
      if (it->result) {
        try {
          outcome = std::move(*it->result).get();
        } catch (...) {
          error = std::current_exception();
        }
      }
      // Every task gets an answer, so the root's count of tasks in flight stays exact; a task
      // refused because the initializer failed tells the root that this rank is broken.
      ResultHeader header{it->id, result_ok, outcome.nanos};
      Message body;
      if (error) {
        if (auto failure = initializer_failure(error, parent_rank_, comm_.host())) {
          header.ok = result_broken;
          body = with_prefix(encode(*failure));
        } else {
          header.ok = result_failed;
          body = with_prefix(encode(describe(error, parent_rank_, comm_.host(), -1)));
        }
      } else if (outcome.error) {
        header.ok = result_failed;
        body =
            with_prefix(encode(describe(outcome.error, parent_rank_, comm_.host(), outcome.item)));
      } else {
        body = std::move(outcome.bytes);
      }
      frame(body, header);
      batch.append(std::move(body));
      it = jobs.erase(it);
    }
    if (!batch.empty()) {
      sends_.emplace_back(std::move(batch)).post({comm_.get(), comm_.side()}, 0, tag_result);
      busy = true;
    }
    complete_sends(false);
    if (stop && jobs.empty()) {
      complete_sends(true);
      return true;
    }
    // New tasks, or the shutdown.
    MPI_Status status;
    int flag = 0;
    if (jobs.empty() && !stop) {
      check_mpi(MPI_Probe(0, MPI_ANY_TAG, comm_.get(), &status), "MPI_Probe");
      flag = 1;
    } else if (!stop) {
      check_mpi(MPI_Iprobe(0, MPI_ANY_TAG, comm_.get(), &flag, &status), "MPI_Iprobe");
    }
    if (flag) {
      busy = true;
      std::string buffer = receive_message({comm_.get(), comm_.side()}, status);
      if (status.MPI_TAG == tag_shutdown) {
        stop = true;
        continue;
      }
      // Each task of the batch runs as its own task of the local pool; they share the buffer.
      auto shared = std::make_shared<std::string>(std::move(buffer));
      for_each_framed(*shared, [&](std::span<const char> one) {
        TaskHeader header;
        std::memcpy(&header, one.data(), sizeof header);
        const std::span<const char> args = one.subspan(sizeof header);
        Job job{header.id, std::nullopt, nullptr};
        try {
          job.result.emplace(local_.apply_async([this, shared, header, args] {
            const auto start = std::chrono::steady_clock::now();
            Outcome out =
                run_task(header.entry, header.name_hash, header.kind, args, header.first_item);
            out.nanos = static_cast<std::uint64_t>(
                std::chrono::nanoseconds(std::chrono::steady_clock::now() - start).count());
            return out;
          }));
        } catch (...) {
          job.error = std::current_exception();
        }
        jobs.push_back(std::move(job));
      });
    }
    if (!busy && !jobs.empty() && jobs.front().result) {
      lock = {};
      (void)jobs.front().result->wait(std::chrono::microseconds(100));
      lock = mpi_guard("mpp::mpi::Executor::serve");
    }
  }
}

}  // namespace mpp::mpi::detail

namespace mpp::mpi {

MPI_Comm comm_workers() {
  if (detail::task_workers == MPI_COMM_NULL) {
    detail::throw_usage(
        "mpp::mpi::comm_workers(): only inside a task sent by Executor::submit_parallel, which "
        "runs one task on every worker so that they can communicate");
  }
  return detail::task_workers;
}

}  // namespace mpp::mpi
