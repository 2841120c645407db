// The root's executor core: construction on every rank, the registry of functions, submitting,
// shutting down and breaking. Sending queued tasks and receiving results is in
// executor_dispatch.cpp, the root's waits in executor_wait.cpp, serve() in executor_worker.cpp.
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

void ExecutorCore::require_open() const {
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
}

std::shared_ptr<TaskSlot> ExecutorCore::submit(std::size_t entry, int kind, Message args,
                                               std::int64_t first_item, int target) {
  require_open();
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