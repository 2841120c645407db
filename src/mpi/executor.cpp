#include <algorithm>
#include <cstring>
#include <thread>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/environment.hpp"
#include "mpp/mpi/errors.hpp"

namespace mpp::mpi::detail {

namespace {

enum : int { tag_task = 11, tag_result = 12, tag_shutdown = 13 };

struct TaskHeader {
  std::uint64_t id = 0;
  std::int64_t first_item = -1;
  std::uint64_t name_hash = 0;
  std::uint32_t entry = 0;
  std::uint32_t kind = 0;
};

struct ResultHeader {
  std::uint64_t id = 0;
  std::uint64_t ok = 0;
};

void check(int code, const char* call) {
  if (code != MPI_SUCCESS) throw_mpi_failed(call, code);
}

template <class Header>
std::string message(const Header& header, std::span<const char> body) {
  std::string out(sizeof(Header) + body.size(), '\0');
  std::memcpy(out.data(), &header, sizeof(Header));
  if (!body.empty()) std::memcpy(out.data() + sizeof(Header), body.data(), body.size());
  return out;
}

}  // namespace

ExecutorCore::ExecutorCore(MPI_Comm parent, std::optional<int> threads,
                           std::function<void()> initializer)
    : local_(mpp::PoolOptions{.threads = threads, .initializer = std::move(initializer)}),
      comm_(parent, /*with_counter=*/false, "mpp::mpi::Executor") {
  const int mine = local_.threads();
  std::vector<int> all(static_cast<std::size_t>(comm_.size()));
  {
    auto lock = mpi_guard("mpp::mpi::Executor");
    check(MPI_Allgather(&mine, 1, MPI_INT, all.data(), 1, MPI_INT, comm_.get()), "MPI_Allgather");
  }
  for (int t : all) capacity_.push_back(4 * std::max(1, t));
  in_flight_.assign(all.size(), 0);
}

ExecutorCore::~ExecutorCore() {
  if (comm_.rank() != 0 || released_) return;
  try {
    shutdown(/*wait=*/true, /*cancel_futures=*/false);
  } catch (...) {
    // Destructors must not throw; the workers were released as far as MPI allowed.
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

std::shared_ptr<TaskSlot> ExecutorCore::submit(std::size_t entry, int kind, std::string args,
                                               std::int64_t first_item) {
  if (comm_.rank() != 0) {
    throw_usage(
        "Executor::submit/map: only the root (rank 0) submits; the other ranks call serve()");
  }
  if (shutting_down_) {
    throw PoolStateError(
        "mpp::mpi::Executor::submit: the executor was shut down; create a new one to submit "
        "more work");
  }
  auto slot = std::make_shared<TaskSlot>();
  slot->id = next_id_++;
  if (comm_.size() == 1) {
    slot->state = TaskSlot::State::running;
    slot->local.emplace(local_.apply_async([this, entry, kind, args = std::move(args), first_item] {
      const Entry& e = entries_[entry];
      return (kind == 0 ? e.call : e.chunk)({args.data(), args.size()}, first_item, local_);
    }));
    running_[slot->id] = slot;
    return slot;
  }
  const TaskHeader header{.id = slot->id,
                          .first_item = first_item,
                          .name_hash = entries_[entry].name_hash,
                          .entry = static_cast<std::uint32_t>(entry),
                          .kind = static_cast<std::uint32_t>(kind)};
  slot->request = message(header, {args.data(), args.size()});
  queue_.push_back(slot);
  dispatch();
  return slot;
}

void ExecutorCore::dispatch() {
  auto lock = mpi_guard("mpp::mpi::Executor");
  while (!queue_.empty()) {
    if (queue_.front()->state == TaskSlot::State::cancelled) {
      queue_.pop_front();
      continue;
    }
    // The least loaded worker with room.
    int best = -1;
    for (int w = 1; w < comm_.size(); ++w) {
      const auto uw = static_cast<std::size_t>(w);
      if (in_flight_[uw] >= capacity_[uw]) continue;
      if (best < 0 || in_flight_[uw] < in_flight_[static_cast<std::size_t>(best)]) best = w;
    }
    if (best < 0) return;
    auto slot = queue_.front();
    queue_.pop_front();
    slot->state = TaskSlot::State::running;
    running_[slot->id] = slot;
    ++in_flight_[static_cast<std::size_t>(best)];
    sends_.push_back(Send{MPI_REQUEST_NULL, std::move(slot->request)});
    Send& send = sends_.back();
    check(MPI_Isend(send.buffer.data(), static_cast<int>(send.buffer.size()), MPI_BYTE, best,
                    tag_task, comm_.get(), &send.request),
          "MPI_Isend");
  }
}

void ExecutorCore::complete_sends(bool all) {
  while (!sends_.empty()) {
    int done = 0;
    if (all) {
      check(MPI_Wait(&sends_.front().request, MPI_STATUS_IGNORE), "MPI_Wait");
      done = 1;
    } else {
      check(MPI_Test(&sends_.front().request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    }
    if (!done) return;
    sends_.pop_front();
  }
}

bool ExecutorCore::receive(bool block) {
  auto lock = mpi_guard("mpp::mpi::Executor");
  complete_sends(false);
  MPI_Status status;
  int flag = 0;
  if (block) {
    check(MPI_Probe(MPI_ANY_SOURCE, tag_result, comm_.get(), &status), "MPI_Probe");
    flag = 1;
  } else {
    check(MPI_Iprobe(MPI_ANY_SOURCE, tag_result, comm_.get(), &flag, &status), "MPI_Iprobe");
  }
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string buffer(static_cast<std::size_t>(count), '\0');
  check(MPI_Recv(buffer.data(), count, MPI_BYTE, status.MPI_SOURCE, tag_result, comm_.get(),
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  ResultHeader header;
  std::memcpy(&header, buffer.data(), sizeof header);
  --in_flight_[static_cast<std::size_t>(status.MPI_SOURCE)];
  const auto it = running_.find(header.id);
  if (it != running_.end()) {
    TaskSlot& slot = *it->second;
    slot.ok = header.ok != 0;
    slot.bytes = buffer.substr(sizeof header);
    slot.state = TaskSlot::State::done;
    running_.erase(it);
  }
  return true;
}

void ExecutorCore::settle_local(TaskSlot& slot) {
  if (slot.state != TaskSlot::State::running || !slot.local || !slot.local->ready()) return;
  Outcome outcome = std::move(*slot.local).get();
  slot.ok = !outcome.error;
  slot.bytes = std::move(outcome.bytes);
  slot.error = outcome.error;
  slot.state = TaskSlot::State::done;
  slot.local.reset();
  running_.erase(slot.id);
}

void ExecutorCore::poll() {
  if (comm_.size() == 1) {
    std::vector<std::shared_ptr<TaskSlot>> slots;
    for (auto& [id, slot] : running_) slots.push_back(slot);
    for (auto& slot : slots) settle_local(*slot);
    return;
  }
  dispatch();
  while (receive(false)) {
  }
  dispatch();
}

void ExecutorCore::progress() {
  if (comm_.size() == 1) {
    if (running_.empty()) return;
    auto slot = running_.begin()->second;
    slot->local->wait(std::chrono::microseconds(200));
    poll();
    return;
  }
  dispatch();
  if (!running_.empty()) receive(true);
  poll();
}

bool ExecutorCore::wait(TaskSlot& slot,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  const auto finished = [&] {
    return slot.state == TaskSlot::State::done || slot.state == TaskSlot::State::cancelled;
  };
  while (!finished()) {
    if (comm_.size() == 1) {
      if (deadline) {
        if (!slot.local->wait(std::chrono::duration_cast<std::chrono::nanoseconds>(
                *deadline - std::chrono::steady_clock::now()))) {
          return false;
        }
      } else {
        slot.local->wait();
      }
      settle_local(slot);
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

bool ExecutorCore::cancel(TaskSlot& slot) {
  if (slot.state == TaskSlot::State::queued) slot.state = TaskSlot::State::cancelled;
  return slot.state == TaskSlot::State::cancelled;
}

void ExecutorCore::rethrow(const TaskSlot& slot) const {
  if (slot.state == TaskSlot::State::cancelled) {
    mpp::detail::throw_cancelled(
        "mpi::Executor: the task was cancelled before it started (Future::cancel or "
        "shutdown(cancel_futures=true))");
  }
  if (slot.error) std::rethrow_exception(slot.error);
  throw_remote(decode_error(slot.bytes.data(), slot.bytes.size()));
}

void ExecutorCore::shutdown(bool wait, bool cancel_futures) {
  if (comm_.rank() != 0) return;
  shutting_down_ = true;
  if (cancel_futures) {
    for (auto& slot : queue_) slot->state = TaskSlot::State::cancelled;
    queue_.clear();
  }
  if (!wait) return;
  while (!queue_.empty() || !running_.empty()) progress();
  release_workers();
}

void ExecutorCore::release_workers() {
  if (released_) return;
  released_ = true;
  if (comm_.size() == 1) return;
  auto lock = mpi_guard("mpp::mpi::Executor");
  complete_sends(true);
  for (int w = 1; w < comm_.size(); ++w) {
    check(MPI_Send(nullptr, 0, MPI_BYTE, w, tag_shutdown, comm_.get()), "MPI_Send");
  }
}

bool ExecutorCore::serve() {
  if (comm_.rank() == 0) return false;
  struct Job {
    std::uint64_t id;
    mpp::AsyncResult<Outcome> result;
  };
  std::deque<Job> jobs;
  bool stop = false;
  auto lock = mpi_guard("mpp::mpi::Executor::serve");
  while (true) {
    bool busy = false;
    // Finished tasks go back to the root.
    for (auto it = jobs.begin(); it != jobs.end();) {
      if (!it->result.ready()) {
        ++it;
        continue;
      }
      Outcome outcome = std::move(it->result).get();
      std::string body =
          outcome.error ? encode(describe(outcome.error, comm_.rank(), comm_.host(), outcome.item))
                        : std::move(outcome.bytes);
      sends_.push_back(Send{MPI_REQUEST_NULL, message(ResultHeader{it->id, outcome.error ? 0u : 1u},
                                                      {body.data(), body.size()})});
      Send& send = sends_.back();
      check(MPI_Isend(send.buffer.data(), static_cast<int>(send.buffer.size()), MPI_BYTE, 0,
                      tag_result, comm_.get(), &send.request),
            "MPI_Isend");
      it = jobs.erase(it);
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
      check(MPI_Probe(0, MPI_ANY_TAG, comm_.get(), &status), "MPI_Probe");
      flag = 1;
    } else if (!stop) {
      check(MPI_Iprobe(0, MPI_ANY_TAG, comm_.get(), &flag, &status), "MPI_Iprobe");
    }
    if (flag) {
      busy = true;
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      std::string buffer(static_cast<std::size_t>(count), '\0');
      check(MPI_Recv(buffer.data(), count, MPI_BYTE, 0, status.MPI_TAG, comm_.get(),
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
      if (status.MPI_TAG == tag_shutdown) {
        stop = true;
        continue;
      }
      TaskHeader header;
      std::memcpy(&header, buffer.data(), sizeof header);
      const bool known = header.entry < entries_.size() &&
                         entries_[header.entry].name_hash == header.name_hash &&
                         (header.kind == 0 ? bool(entries_[header.entry].call)
                                           : bool(entries_[header.entry].chunk));
      auto run = [this, header, known, buffer = std::move(buffer)]() -> Outcome {
        if (!known) {
          Outcome failed;
          try {
            throw_usage("Executor: task function #" + std::to_string(header.entry) +
                        " is not registered alike on this rank; register the same functions "
                        "in the same order on every rank");
          } catch (...) {
            failed.error = std::current_exception();
          }
          return failed;
        }
        const Entry& e = entries_[header.entry];
        const std::span<const char> args(buffer.data() + sizeof header,
                                         buffer.size() - sizeof header);
        return (header.kind == 0 ? e.call : e.chunk)(args, header.first_item, local_);
      };
      jobs.push_back(Job{header.id, local_.apply_async(std::move(run))});
    }
    if (!busy && !jobs.empty()) {
      lock = {};
      jobs.front().result.wait(std::chrono::microseconds(100));
      lock = mpi_guard("mpp::mpi::Executor::serve");
    }
  }
}

}  // namespace mpp::mpi::detail
