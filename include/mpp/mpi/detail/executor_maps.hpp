#pragma once
// The maps of mpp::mpi::Executor on the root: the lazy map's range of results, and map_async's
// chunks, all queued at once, with the slot of every result; each keeps the journal and the
// progress its options ask for.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "mpp/mpi/detail/continuation.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/executor_input.hpp"
#include "mpp/mpi/detail/map_bookkeeping.hpp"
#include "mpp/mpi/executor_options.hpp"
#include "mpp/mpi/map_results.hpp"
#include "mpp/progress.hpp"

namespace mpp::mpi::detail {

// The task kind of a map's chunks (`base`: 1 for items, 2 for tuples of arguments).
inline int chunk_kind(int base, const ExecutorMapOptions& options) {
  return policy_of(options) ? base | static_cast<int>(kind_with_policy) : base;
}

// What `options` asks the root to keep beside the results of a map of `entry` over `items`
// (its journal, its progress); `call` names the Executor's call in errors.
template <class R, class Range>
MapBookkeeping<R> bookkeeping(const ExecutorCore& core, const Range& items,
                              const ExecutorMapOptions& options, std::size_t entry,
                              const char* call) {
  if (!options.checkpoint.empty()) core.require_open();  // before the journal file is made
  return {open_journal<R>(items, options, core.name_of(entry), call), options.progress,
          total_of(items)};
}

// Reads `items` as chunk_reader does, in chunks of the journal's size with a checkpoint,
// passing over those it has.
template <class Item, class R, class Range>
auto book_reader(const ExecutorCore& core, Range&& items, const ExecutorMapOptions& options,
                 const MapBookkeeping<R>& book,
                 std::optional<std::size_t> chunksize = std::nullopt) {
  if (!book.journal) {
    return chunk_reader<Item>(std::forward<Range>(items), options, core.remote(), chunksize);
  }
  return chunk_reader<Item>(
      std::forward<Range>(items), options, core.remote(), book.journal->chunksize(),
      [journal = book.journal.get()](std::int64_t first) { return journal->recovered(first); });
}

// Queues every chunk `next_chunk` makes; the slot of all their results, in input order, with
// the journal and progress of `book`.
template <class R, class NextChunk>
std::shared_ptr<TaskSlot> gather(ExecutorCore& core, std::size_t entry, int kind,
                                 NextChunk next_chunk, MapBookkeeping<R> book) {
  std::vector<std::shared_ptr<TaskSlot>> chunks;
  std::vector<std::int64_t> firsts;
  std::vector<std::size_t> counts;
  Message args;
  std::int64_t first = 0;
  std::size_t count = 0;
  while (next_chunk(args, first, count)) {
    chunks.push_back(core.submit(entry, kind, std::move(args), first));
    firsts.push_back(first);
    counts.push_back(count);
  }
  if (!book.journal && !book.progress) return gather_slot<R>(core, std::move(chunks));
  if (book.total == mpp::unknown_total) {  // read to its end now
    book.total = firsts.empty() ? 0 : static_cast<std::size_t>(firsts.back()) + counts.back();
  }
  return bookkept_gather_slot<R>(core, std::move(chunks), firsts, counts, std::move(book));
}

// Executor::map and starmap (`base` 1 or 2, named `call` in errors): the lazy results of
// registered function `entry` over `items`, each converted to Item.
template <class R, class Item, class Range>
MapResults<R> lazy_map(ExecutorCore& core, std::size_t entry, int base, Range&& items,
                       const ExecutorMapOptions& options, const char* call) {
  auto book = bookkeeping<R>(core, items, options, entry, call);
  auto next_chunk = book_reader<Item>(core, std::forward<Range>(items), options, book);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (options.timeout) {
    deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(*options.timeout);
  }
  return MapResults<R>(&core, entry, chunk_kind(base, options), options.buffersize,
                       options.unordered, deadline, std::move(next_chunk), std::move(book.journal),
                       std::move(book.progress), book.total);
}

// Executor::map_async and starmap_async (`base` 1 or 2, named `call` in errors): every chunk
// of `items` queued now; the slot of all their results.
template <class R, class Item, class Range>
std::shared_ptr<TaskSlot> whole_map(ExecutorCore& core, std::size_t entry, int base, Range&& items,
                                    const ExecutorMapOptions& options, const char* call) {
  const std::size_t chunksize = whole_map_chunksize(items, options, core.computing_threads());
  auto book = bookkeeping<R>(core, items, options, entry, call);
  auto next_chunk = book_reader<Item>(core, std::forward<Range>(items), options, book, chunksize);
  return gather<R>(core, entry, chunk_kind(base, options), std::move(next_chunk), std::move(book));
}

}  // namespace mpp::mpi::detail
