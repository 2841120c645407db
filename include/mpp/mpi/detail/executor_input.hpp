#pragma once
// What mpp::mpi::Executor makes of a call's options and input: the checks, the policy each task
// or item carries, the default chunksize of map_async, and the reader that encodes a map's input
// a chunk at a time.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <utility>
#include <vector>

#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/executor_options.hpp"

namespace mpp::mpi::detail {

// Throws std::invalid_argument, naming `what` (the Executor's call), for a chunksize or
// buffersize of 0, a negative timeout, or a bad retry policy.
void check_map_options(const ExecutorMapOptions& options, const char* what);
// Throws std::invalid_argument, naming `what` (a lazy call: imap and its kin), for a
// checkpoint, as mpp::Pool does.
void refuse_checkpoint(const ExecutorMapOptions& options, const char* what);
// ExecutorOptions::max_workers, else MPP_MAX_WORKERS, checked.
std::optional<int> max_workers_of(const ExecutorOptions& options);

// The policy each item of a map carries, if it has one.
inline std::optional<WirePolicy> policy_of(const ExecutorMapOptions& options) {
  if (options.retries == 0 && !options.task_timeout) return std::nullopt;
  return WirePolicy::of(options.retries, options.backoff, options.task_timeout);
}
// The policy of a task, if it has one; checked.
inline std::optional<WirePolicy> policy_of(const TaskOptions& options) {
  mpp::detail::check_policy(options.backoff, options.timeout, "mpi::Executor::submit");
  if (options.retries == 0 && !options.timeout) return std::nullopt;
  return WirePolicy::of(options.retries, options.backoff, options.timeout);
}

// The chunksize of map_async and starmap_async: the one given, else Python's Pool.map default
// for a sized input (about four chunks per computing thread), else 1.
template <class Range>
std::size_t whole_map_chunksize(const Range& items, const ExecutorMapOptions& options,
                                int computing_threads) {
  if (options.chunksize) return *options.chunksize;
  if constexpr (std::ranges::sized_range<const Range>) {
    const auto n = static_cast<std::size_t>(std::ranges::size(items));
    const auto chunks = 4 * static_cast<std::size_t>(computing_threads);
    return std::max<std::size_t>(1, (n + chunks - 1) / chunks);
  }
  return 1;
}

// Reads `items` a chunk at a time as the results make room: each call encodes the next chunk of
// `chunksize` items (converted to Item; default: the options' chunksize, else 1) into `args`,
// sets `first` to its first item's index and `count` to its items, or returns false at the end
// of the input. Chunks for which `skip(first)` holds (those a journal has) are passed over. With
// `borrow`, large items are sent from their own storage (see Writer).
template <class Item, class Range>
auto chunk_reader(Range&& items, const ExecutorMapOptions& options, bool borrow,
                  std::optional<std::size_t> chunksize = std::nullopt,
                  std::function<bool(std::int64_t first)> skip = {}) {
  struct Input {
    std::views::all_t<Range> view;
    std::ranges::iterator_t<std::views::all_t<Range>> at;
    std::int64_t next = 0;
    explicit Input(Range&& items)
        : view(std::views::all(std::forward<Range>(items))), at(std::ranges::begin(view)) {}
    bool over() { return at == std::ranges::end(view); }
  };
  auto input = std::make_shared<Input>(std::forward<Range>(items));
  return [input, chunksize = chunksize.value_or(options.chunksize.value_or(1)),
          policy = policy_of(options), borrow,
          skip = std::move(skip)](Message& args, std::int64_t& first, std::size_t& count) {
    while (skip && !input->over() && skip(input->next)) {
      for (std::size_t i = 0; i < chunksize && !input->over(); ++i, ++input->at) ++input->next;
    }
    std::vector<Item> chunk;
    for (; chunk.size() < chunksize && !input->over(); ++input->at) {
      chunk.push_back(static_cast<Item>(*input->at));
    }
    if (chunk.empty()) return false;
    first = input->next;
    count = chunk.size();
    input->next += static_cast<std::int64_t>(chunk.size());
    args = encode_message(std::move(chunk), policy ? policy_prefix : frame_prefix, borrow);
    if (policy) write_policy(args, *policy);
    return true;
  };
}

}  // namespace mpp::mpi::detail
