#include "mpp/mpi/wait.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "mpp/detail/wait_condition.hpp"

namespace mpp::mpi::detail {

std::shared_ptr<SlotWatch> watch(const std::vector<Watched>& futures, const char* call) {
  auto watch = std::make_shared<SlotWatch>();
  for (std::size_t i = 0; i < futures.size(); ++i) {
    if (!futures[i].slot) {
      mpp::detail::throw_invalid_argument(
          std::string("mpp::") + call + ": future " + std::to_string(i) +
          " is empty (default-constructed or moved from); pass the futures submit() returned");
    }
  }
  for (std::size_t i = 0; i < futures.size(); ++i) {
    TaskSlot& slot = *futures[i].slot;
    if (slot.finished()) {
      watch->finished.push_back(i);
    } else {
      slot.watchers.emplace_back(watch, i);
    }
  }
  return watch;
}

std::vector<ExecutorCore*> cores_of(const std::vector<Watched>& futures) {
  std::vector<ExecutorCore*> cores;
  for (const Watched& f : futures) {
    if (std::find(cores.begin(), cores.end(), f.core) == cores.end()) cores.push_back(f.core);
  }
  return cores;
}

bool drive_until(const std::vector<ExecutorCore*>& cores, const std::function<bool()>& done,
                 mpp::detail::WaitDeadline deadline) {
  if (done()) return true;
  if (cores.size() == 1) return cores.front()->wait_until(done, deadline);
  // Several executors: none may sleep in MPI while another has results to take.
  for (;;) {
    for (ExecutorCore* core : cores) core->poll();
    if (done()) return true;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

WaitResult wait_futures(const std::vector<Watched>& futures, wait_for until,
                        mpp::detail::WaitDeadline deadline) {
  const auto watch = detail::watch(futures, "wait");
  const auto failed = [&](std::size_t i) {
    const TaskSlot& slot = *futures[i].slot;
    return slot.state == TaskSlot::State::cancelled || !slot.ok;
  };
  std::size_t seen = 0;
  bool any_failed = false;
  const auto satisfied = [&] {
    for (; seen < watch->finished.size(); ++seen)
      any_failed = any_failed || failed(watch->finished[seen]);
    return mpp::detail::wait_satisfied(until, seen, futures.size(), any_failed);
  };
  if (!satisfied()) (void)drive_until(cores_of(futures), satisfied, deadline);
  WaitResult result;
  for (std::size_t i = 0; i < futures.size(); ++i) {
    (futures[i].slot->finished() ? result.done : result.not_done).push_back(i);
  }
  return result;
}

}  // namespace mpp::mpi::detail
