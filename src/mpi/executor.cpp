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
#include "task_wire.hpp"

namespace mpp::mpi::detail {

namespace {

// A worker holds enough tasks to stay busy for this long, so that tiny tasks do not wait on
// a round trip to the root each; between min_tasks_per_thread and 64 per thread.
constexpr double queued_work_ns = 250e3;
constexpr int max_tasks_per_thread = 64;

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
  for (int t : all) capacity_.push_back(min_tasks_per_thread * std::max(1, t));
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
    // Queued as with workers (and started by dispatch_local), so that cancel() on a result and
    // shutdown(cancel_futures) work with one rank too.
    slot->run = [this, entry, kind, args = std::move(args).received(), first_item]() mutable {
      return invoke(entries_[entry], static_cast<std::uint32_t>(kind), local_args(args), first_item,
                    true);
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
  Received batch = receive_message({comm_.get(), comm_.side()}, status);
  std::string& buffer = batch.bytes;
  std::optional<ErrorRecord> broken;
  for_each_framed(buffer, batch.blocks, [&](Frame& one) {
    ResultHeader header;
    std::memcpy(&header, one.bytes.data(), sizeof header);
    --in_flight_[static_cast<std::size_t>(status.MPI_SOURCE)];
    if (header.ok == result_broken && !broken) {
      broken = decode_error(one.bytes.data() + sizeof header, one.bytes.size() - sizeof header);
    }
    const auto it = running_.find(header.id);
    observe(static_cast<std::size_t>(status.MPI_SOURCE),
            it != running_.end() ? it->second->entry : task_ns_.size(), header.nanos);
    if (it != running_.end()) {
      TaskSlot& slot = *it->second;
      slot.ok = header.ok == result_ok;
      slot.broken = header.ok == result_broken;
      // A batch of one result is kept whole, so a large result is not copied out of it.
      const std::size_t start = static_cast<std::size_t>(one.bytes.data() - buffer.data());
      if (start == sizeof(std::uint64_t) && one.bytes.size() + start == buffer.size()) {
        slot.bytes = std::move(buffer);
        slot.offset = frame_prefix;
      } else {
        slot.bytes.assign(one.bytes.data(), one.bytes.size());
        slot.offset = sizeof header;
      }
      // The blocks' `at` counted from the frame; in the slot, they count from its bytes.
      for (ReceivedBlock& block : one.blocks) block.at += slot.offset - sizeof header;
      slot.blocks = std::move(one.blocks);
      slot.finish(TaskSlot::State::done);
      running_.erase(it);
    }
  });
  if (broken) break_with(std::move(*broken));
  return true;
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
  // Continuations of the executor's results (then, add_done_callback) run on the root's pool:
  // shutdown waits for them as for tasks.
  mpp::detail::core_of(local_).wait_idle();
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
                               Encoded args, std::int64_t first_item) {
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

Outcome ExecutorCore::invoke(const Entry& entry, std::uint32_t kind, Encoded args,
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
    std::memcpy(&wire, args.bytes.data(), sizeof wire);
    args = args.after(sizeof wire);
    policy = wire.item_policy(&mpp::detail::core_of(local_));
  }
  return (*entry.invoker(kind))(args, first_item, local_, borrow, policy ? &*policy : nullptr);
}

}  // namespace mpp::mpi::detail
