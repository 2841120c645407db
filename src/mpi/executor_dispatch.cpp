// The root's window over the workers: queued tasks go out to the ranks with room, as many per
// thread as keep it busy for about 250 us of work, and finished results come back in batches.
#include <algorithm>

#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/errors.hpp"
#include "task_wire.hpp"

namespace mpp::mpi::detail {

namespace {

// A worker holds enough tasks to stay busy for this long, so that tiny tasks do not wait on
// a round trip to the root each; between min_tasks_per_thread and 64 per thread.
constexpr double queued_work_ns = 250e3;
constexpr int max_tasks_per_thread = 64;

}  // namespace

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

}  // namespace mpp::mpi::detail
