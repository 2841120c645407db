#pragma once
// What mpp::mpi::Executor's root keeps beside a map's results (ExecutorMapOptions::checkpoint
// and ::progress): the journal, to which each chunk's results go as they reach the root and from
// which a rerun takes the chunks it already has, and the progress of map_async, which is counted
// on the driving thread but reported on the root's pool, since the driving thread runs no user
// code while it moves messages.

#include <cereal/types/tuple.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mpp/detail/checkpoint.hpp"
#include "mpp/detail/journal.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/detail/continuation.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/executor_options.hpp"
#include "mpp/pool.hpp"
#include "mpp/progress.hpp"

namespace mpp::mpi::detail {

// The journal of one checkpointed map: opened, or resumed, when the map starts; it holds the
// results read back until the map hands them on. Used on the root only.
template <class R>
class MapJournal {
 public:
  explicit MapJournal(const mpp::detail::JournalSpec& spec)
      : journal_(spec), chunks_((spec.items + journal_.chunksize() - 1) / journal_.chunksize()) {
    recovered_.resize(chunks_);
    for (auto& [chunk, payload] : journal_.recovered()) {
      if (chunk >= chunks_ || recovered_[chunk]) continue;
      auto values = mpp::detail::from_record<R>(payload);
      if (values.size() != items_of(chunk, spec.items)) continue;  // not this map's chunk
      recovered_[chunk] = std::move(values);
    }
    journal_.recovered().clear();
  }

  // Items per chunk: the journal's, when it resumes one.
  std::size_t chunksize() const noexcept { return journal_.chunksize(); }
  // Whether the chunk starting at item `first` was read back (and not taken yet).
  bool recovered(std::int64_t first) const noexcept {
    const std::size_t chunk = chunk_of(first);
    return chunk < chunks_ && recovered_[chunk].has_value();
  }
  // The results read back of the chunk starting at item `first`, moved out.
  std::vector<R> take(std::int64_t first) {
    auto& values = recovered_[chunk_of(first)];
    std::vector<R> taken = std::move(*values);
    values.reset();
    return taken;
  }
  // Journals the results of the chunk starting at item `first`; throws CheckpointError when
  // the write fails.
  void append(std::int64_t first, const std::vector<R>& values) {
    journal_.append(chunk_of(first), mpp::detail::to_record(values));
  }
  // Syncs the journal to the disk; throws CheckpointError if any write failed.
  void flush() { journal_.flush(); }

 private:
  std::size_t chunk_of(std::int64_t first) const noexcept {
    return static_cast<std::size_t>(first) / chunksize();
  }
  std::size_t items_of(std::uint64_t chunk, std::uint64_t items) const noexcept {
    const std::uint64_t k = journal_.chunksize();
    return static_cast<std::size_t>(std::min(items, (chunk + 1) * k) - chunk * k);
  }

  mpp::detail::JournalFile journal_;
  std::size_t chunks_;
  std::vector<std::optional<std::vector<R>>> recovered_;
};

// The journal `options` asks for of the map of registered function `name` (Executor's `call`)
// over `items`, or null without a checkpoint. Throws std::invalid_argument for a map that cannot
// be journaled, mpp::CheckpointError for a journal of another map.
template <class R, class Range>
std::shared_ptr<MapJournal<R>> open_journal(const Range& items, const ExecutorMapOptions& options,
                                            const std::string& name, const char* call) {
  if (options.checkpoint.empty()) return nullptr;
  const std::string where = std::string("mpi::Executor::") + call + ": checkpoint ";
  if (options.unordered) {
    mpp::detail::throw_invalid_argument(
        where + "needs the results in input order, as in map and map_async; drop .unordered");
  }
  if constexpr (!std::ranges::random_access_range<const Range> ||
                !std::ranges::sized_range<const Range>) {
    mpp::detail::throw_invalid_argument(
        where +
        "needs an input of known size with random access (a std::vector, std::views::iota(0, "
        "n), ...), whose fingerprint tells a rerun that it is the same input");
  } else {
    using Item = std::remove_cvref_t<std::ranges::range_reference_t<const Range>>;
    if constexpr (!mpp::detail::journalable<R> || !mpp::detail::fingerprintable<Item>) {
      mpp::detail::throw_invalid_argument(
          where +
          "needs results and inputs that cereal can serialize (arithmetic types, std::string, "
          "std::vector, ... or types with a serialize() member); drop .checkpoint or make the "
          "types serializable");
    } else {
      struct Indexed {  // the view of the items that fingerprint() reads
        const Range& items;
        std::size_t size() const { return static_cast<std::size_t>(std::ranges::size(items)); }
        decltype(auto) operator[](std::size_t i) const {
          return std::ranges::begin(items)[static_cast<std::ptrdiff_t>(i)];
        }
      };
      const Indexed indexed{items};
      const std::size_t n = indexed.size();
      // The registered name names the function, the same in every build of the program.
      return std::make_shared<MapJournal<R>>(mpp::detail::JournalSpec{
          .path = options.checkpoint,
          .items = n,
          .fingerprint = mpp::detail::fingerprint(indexed),
          .chunksize = mpp::detail::journal_chunksize(n, options.chunksize.value_or(0)),
          .identity = {typeid(R).name(), "mpi::Executor " + name, options.checkpoint_tag}});
    }
  }
}

// The items of a sized input, else mpp::unknown_total.
template <class Range>
std::size_t total_of(const Range& items) {
  if constexpr (std::ranges::sized_range<const Range>) {
    return static_cast<std::size_t>(std::ranges::size(items));
  } else {
    return mpp::unknown_total;
  }
}

// The progress of map_async: (0, n) when it starts, then counts that only grow as chunks
// finish, and (n, n) once, from the continuation that completes the future. Chunks are counted
// on the driving thread; the reports run on the root's pool, one queued at a time, and never two
// at once. A callback that throws fails the map with its exception.
class PooledProgress : public std::enable_shared_from_this<PooledProgress> {
 public:
  using Callback = std::function<void(std::size_t done, std::size_t total)>;

  PooledProgress(Callback callback, std::size_t total)
      : callback_(std::move(callback)), total_(total) {}

  // Reports (0, n) on the calling thread.
  void start() {
    if (total_ > 0) callback_(0, total_);
  }
  // `items` more are done; queues a report on `pool` unless one is queued already.
  void add(std::size_t items, mpp::Pool& pool) {
    done_.fetch_add(items, std::memory_order_relaxed);
    if (queued_.exchange(true)) return;
    try {
      (void)pool.apply_async([self = shared_from_this()] { self->report(); });
    } catch (...) {  // the pool is closing: the end is still reported by finish()
      queued_.store(false);
    }
  }
  // Every item is done: reports (n, n), then no more; rethrows what the callback threw.
  void finish() {
    std::lock_guard lock(mutex_);
    finished_ = true;
    if (error_) std::rethrow_exception(error_);
    callback_(total_, total_);
  }

 private:
  void report() {
    queued_.store(false);
    std::lock_guard lock(mutex_);
    const std::size_t done = done_.load(std::memory_order_relaxed);
    if (finished_ || error_ || done <= reported_ || done >= total_) return;
    reported_ = done;
    try {
      callback_(done, total_);
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  Callback callback_;
  std::size_t total_;
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> queued_{false};
  std::mutex mutex_;  // one report at a time, none after the end
  std::size_t reported_ = 0;
  bool finished_ = false;
  std::exception_ptr error_;
};

// What map_async keeps beside its chunks: the journal (null without a checkpoint), the progress
// callback (empty without one) and the items of the whole input.
template <class R>
struct MapBookkeeping {
  std::shared_ptr<MapJournal<R>> journal;
  std::function<void(std::size_t done, std::size_t total)> progress;
  std::size_t total = 0;
};

// map_async's slot of every result, in input order, when it journals or reports progress:
// each chunk in `chunks` (starting at item `firsts[i]`, of `counts[i]` items) is journaled and
// counted as its results reach the root; at the end, the chunks read back from the journal are
// put in their places, the journal is synced and (n, n) reported. A progress callback that
// throws at once cancels the chunks.
template <class R>
std::shared_ptr<TaskSlot> bookkept_gather_slot(ExecutorCore& core,
                                               std::vector<std::shared_ptr<TaskSlot>> chunks,
                                               const std::vector<std::int64_t>& firsts,
                                               const std::vector<std::size_t>& counts,
                                               MapBookkeeping<R> book) {
  std::shared_ptr<PooledProgress> progress;
  if (book.progress) {
    progress = std::make_shared<PooledProgress>(std::move(book.progress), book.total);
    try {
      progress->start();
    } catch (...) {
      for (const auto& chunk : chunks) (void)core.cancel(*chunk);
      throw;
    }
    std::size_t submitted = 0;
    for (const std::size_t count : counts) submitted += count;
    if (book.total > submitted) progress->add(book.total - submitted, core.pool());  // resumed
  }
  auto journal = std::move(book.journal);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i]->when_finished([&core, journal, progress, first = firsts[i],
                              count = counts[i]](const std::shared_ptr<TaskSlot>& done) {
      if (done->state != TaskSlot::State::done || !done->ok) return;
      if (journal) {
        try {
          std::vector<R> values;
          decode_all(done->result().bytes, values);
          journal->append(first, values);
        } catch (...) {  // the journal keeps its failure, and flush() reports it at the end
        }
      }
      if (progress) progress->add(count, core.pool());
    });
  }
  auto finish = [journal, progress, total = book.total](const std::vector<R>& computed) mutable {
    std::vector<R> all;
    if (!journal) {
      all = computed;
    } else {
      all.reserve(total);
      const auto k = static_cast<std::int64_t>(journal->chunksize());
      std::size_t at = 0;  // in `computed`
      for (std::int64_t first = 0; static_cast<std::size_t>(first) < total; first += k) {
        if (journal->recovered(first)) {
          for (auto&& value : journal->take(first)) all.push_back(std::move(value));
        } else {
          const std::size_t n =
              std::min(static_cast<std::size_t>(k), total - static_cast<std::size_t>(first));
          for (std::size_t j = 0; j < n; ++j) all.push_back(computed[at++]);
        }
      }
      journal->flush();
      journal.reset();  // unlocks the file for a rerun while the future is kept
    }
    if (progress) progress->finish();
    return all;
  };
  return compose_slot<std::vector<R>>(core, gather_slot<R>(core, std::move(chunks)),
                                      std::move(finish), NoCallback{}, true);
}

}  // namespace mpp::mpi::detail
