#include "mpp/worker.hpp"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#include "mpp/detail/core.hpp"

namespace mpp {

int this_worker::index() noexcept {
  const auto* core = detail::current_core();
  if (core == nullptr) return -1;
  const int slot = tbb::this_task_arena::current_thread_index();
  // oneTBB gives every arena at least two slots, so the worker of a Pool(1) may sit in slot 1.
  return slot < 0 ? -1 : std::min(slot, core->threads() - 1);
}

bool this_task::stop_requested() noexcept {
  const auto* core = detail::current_core();
  return core != nullptr && core->stop_requested();
}

std::stop_token this_task::stop_token() noexcept {
  const auto* core = detail::current_core();
  return core != nullptr ? core->stop_token() : std::stop_token();
}

}  // namespace mpp
