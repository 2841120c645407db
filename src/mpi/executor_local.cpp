// The root's own pool in an Executor: tasks the root computes itself (one rank, or
// root_computes), continuations, and local results the executor tracks.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/wait.hpp"
#include "task_wire.hpp"

namespace mpp::mpi::detail {

Encoded ExecutorCore::local_args(Received& task) {
  return {std::span<const char>(task.bytes).subspan(frame_prefix), task.blocks, frame_prefix};
}

void ExecutorCore::run_on_root(const std::shared_ptr<TaskSlot>& slot) {
  Received args = std::move(slot->request).received();
  slot->request = Message();
  TaskHeader header;
  std::memcpy(&header, args.bytes.data() + sizeof(std::uint64_t), sizeof header);
  locals_[slot->id] = slot;
  try {
    slot->local.emplace(local_.apply_async([this, args = std::move(args), header]() mutable {
      return invoke(entries_[header.entry], header.kind, local_args(args), header.first_item, true);
    }));
  } catch (...) {
    locals_.erase(slot->id);
    --in_flight_[0];
    auto failure = initializer_failure(std::current_exception(), 0, comm_.host());
    if (!failure) throw;
    break_with(std::move(*failure));
  }
}

void ExecutorCore::settle_local(TaskSlot& slot) {
  if (slot.state != TaskSlot::State::running || !slot.on_pool() || !slot.waitable().ready()) {
    return;
  }
  Outcome outcome;
  try {
    outcome = std::move(*slot.local).get();
  } catch (...) {
    if (slot.continuation) {  // its own failure: the executor goes on
      slot.local.reset();
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
  Received result = std::move(outcome.bytes).received();  // large values handed over, not copied
  slot.bytes = std::move(result.bytes);
  slot.blocks = std::move(result.blocks);
  slot.offset = outcome.error ? 0 : frame_prefix;
  slot.error = outcome.error;
  if (beside_workers && outcome.error) {
    // Whichever rank ran it, a task's failure reads the same when there are workers.
    slot.bytes = encode(describe(outcome.error, parent_rank_, comm_.host(), outcome.item));
    slot.blocks.clear();
    slot.error = nullptr;
  }
  slot.local.reset();
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
        "mpi::Executor: only the root submits and has results; the other ranks call "
        "serve()");
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

void ExecutorCore::wait_for_locals(std::chrono::milliseconds limit) {
  // Sleeps until any of them completes, not the oldest one only.
  std::vector<mpp::AnyResult> running;
  running.reserve(locals_.size());
  for (auto& [id, slot] : locals_) running.push_back(slot->waitable());
  (void)mpp::wait(running, mpp::wait_for::first_completed, limit);
}

}  // namespace mpp::mpi::detail
