#include "mpp/worker.hpp"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#include "mpp/detail/core.hpp"
#include "mpp/detail/policy.hpp"

namespace mpp {

int this_worker::index() noexcept {
  const auto* core = detail::current_core();
  if (core == nullptr) return -1;
  const int slot = tbb::this_task_arena::current_thread_index();
  // oneTBB gives every arena at least two slots, so the worker of a Pool(1) may sit in slot 1.
  return slot < 0 ? -1 : std::min(slot, core->threads() - 1);
}

bool this_task::stop_requested() noexcept {
  // A task with a deadline has a source of its own, which the pool's stop also sets.
  if (const auto* stop = detail::current_task_stop()) return stop->source.stop_requested();
  const auto* core = detail::current_core();
  return core != nullptr && core->stop_requested();
}

std::stop_token this_task::stop_token() noexcept {
  if (const auto* stop = detail::current_task_stop()) return stop->source.get_token();
  const auto* core = detail::current_core();
  return core != nullptr ? core->stop_token() : std::stop_token();
}

}  // namespace mpp
