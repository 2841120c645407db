#pragma once
// A map whose finished chunks are journaled (MapOptions::checkpoint) and which a first
// SIGINT/SIGTERM stops cleanly (a second one ends the process: see SignalWatch).

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "mpp/detail/journal.hpp"
#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/detail/signal_watch.hpp"
#include "mpp/errors.hpp"
#include "mpp/options.hpp"

namespace mpp::detail {

// Checkpointed chunks default to ceil(n / 1024) items: a kill loses little, records stay few.
inline std::size_t journal_chunksize(std::size_t n, std::size_t chunksize) {
  return chunksize != 0 ? chunksize : std::max<std::size_t>(1, (n + 1023) / 1024);
}

template <class Item>
constexpr bool fingerprintable = std::is_arithmetic_v<Item> || cereal_binary<Item>::value;

// Runs the map of `f` over `items` as MapOptions::checkpoint describes; inside the arena.
template <class R, class F, class Access>
std::vector<R> map_with_journal(const Access& items, F& f, const MapOptions& options,
                                std::size_t chunksize, tbb::task_group_context& context) {
  using Item = std::remove_cvref_t<decltype(items[0])>;
  if constexpr (!journalable<R> || !fingerprintable<Item>) {
    throw_invalid_argument(
        "Pool::map: checkpoint needs results and inputs that cereal can serialize (arithmetic "
        "types, std::string, std::vector, ... or types with a serialize() member); drop "
        ".checkpoint or make the types serializable");
  } else {
    const std::size_t n = items.size();
    const ItemPolicy policy = item_policy(options, current_core(), "map");
    JournalFile journal({.path = options.checkpoint,
                         .items = n,
                         .fingerprint = fingerprint(items),
                         .chunksize = journal_chunksize(n, chunksize),
                         .identity = journal_identity<R, F>(options.checkpoint_tag)});
    const std::size_t k = journal.chunksize();
    const std::size_t chunks = (n + k - 1) / k;
    ResultBuffer<R> buffer(n);
    std::vector<char> done(chunks, 0);
    for (auto& [chunk, payload] : journal.recovered()) {
      if (chunk >= chunks || done[chunk]) continue;
      auto values = from_record<R>(payload);
      if (values.size() != std::min(n, (chunk + 1) * k) - chunk * k) continue;
      for (std::size_t j = 0; j < values.size(); ++j)
        buffer.set(chunk * k + j, std::move(values[j]));
      done[chunk] = 1;
    }
    journal.recovered().clear();
    std::vector<std::size_t> todo;
    for (std::size_t c = 0; c < chunks; ++c) {
      if (!done[c]) todo.push_back(c);
    }

    std::atomic<int> signal_number{0};
    std::atomic<std::size_t> finished{chunks - todo.size()};
    {
      SignalWatch watch([&](int signo) {
        signal_number.store(signo);
        context.cancel_group_execution();
      });
      detail::parallel_for(
          tbb::blocked_range<std::size_t>(0, todo.size(), 1),
          [&](const tbb::blocked_range<std::size_t>& range) {
            for (auto t = range.begin(); t != range.end(); ++t) {
              const std::size_t begin = todo[t] * k, end = std::min(n, begin + k);
              std::vector<R> values;
              values.reserve(end - begin);
              for (std::size_t i = begin; i < end; ++i) {
                decltype(auto) item = items[i];
                values.push_back(run_item(policy, i, [&] { return std::invoke(f, item); }));
              }
              journal.append(todo[t], to_record(values));
              for (std::size_t j = 0; j < values.size(); ++j) {
                buffer.set(begin + j, std::move(values[j]));
              }
              finished.fetch_add(1, std::memory_order_relaxed);
            }
          },
          tbb::simple_partitioner(), context);
    }
    journal.flush();
    if (const int signo = signal_number.load()) {
      throw_interrupted(signo, journal.path(), finished.load(), chunks);
    }
    return std::move(buffer).release();
  }
}

}  // namespace mpp::detail
