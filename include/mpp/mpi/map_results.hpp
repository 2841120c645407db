#pragma once
/// @file
/// `mpp::mpi::MapResults`: the lazy results of `mpp::mpi::Executor::map`.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpp/detail/progress.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/map_bookkeeping.hpp"
#include "mpp/mpi/detail/result_iterator.hpp"
#include "mpp/mpi/detail/wire.hpp"

namespace mpp::mpi {

/// The results of `Executor::map`, like the iterator `MPIPoolExecutor.map` returns: a
/// single-pass range, read with a range-for, in input order (or completion order with
/// `unordered`). The input is read on the root a chunk at a time, and at most `buffersize` tasks
/// are in flight, so an unbounded input (`std::views::iota(0)`) runs in bounded memory; the
/// first tasks are submitted when `map` is called, the others as results are read.
///
/// If a task threw, reading its results throws its `RemoteError` (with one rank, the task's own
/// exception) after the results before it; the rest of the map is then cancelled and the range
/// ends. Leaving the loop early, or destroying the range, cancels the tasks not sent yet; those
/// already running finish on their workers and their results are dropped.
///
/// ```cpp
/// for (double r : executor.map(simulate, std::views::iota(0), {.chunksize = 16})) {
///   if (converged(r)) break;
/// }
/// std::vector<int> all = executor.map(square, xs);  // reads every result
/// ```
///
/// Used on the root's driving thread only; must not outlive its executor.
template <class R>
class MapResults {
 public:
  /// The type of each result.
  using value_type = R;

  /// Single-pass iterator over the results; dereferencing gives `R&`.
  using iterator = detail::ResultIterator<MapResults, R>;

  /// Used by `Executor::map`: `next_chunk(args, first, count)` encodes the next chunk's items
  /// after `detail::frame_prefix` reserved bytes into `args`, sets `first` to its first item's
  /// index and `count` to its items; it returns false at the end of the input, and passes over
  /// the chunks `journal` has.
  /// `kind` is the task kind of the chunks (see `detail::ExecutorCore::submit`); reading a
  /// result after `deadline` throws `mpp::TimeoutError`. `progress` counts the results read
  /// out of `total` (`mpp::unknown_total` if not known).
  MapResults(detail::ExecutorCore* core, std::size_t entry, int kind,
             std::optional<std::size_t> buffersize, bool unordered,
             std::optional<std::chrono::steady_clock::time_point> deadline,
             std::function<bool(detail::Message&, std::int64_t&, std::size_t&)> next_chunk,
             std::shared_ptr<detail::MapJournal<R>> journal,
             std::function<void(std::size_t, std::size_t)> progress, std::size_t total)
      : core_(core),
        entry_(entry),
        kind_(kind),
        buffersize_(buffersize),
        unordered_(unordered),
        deadline_(deadline),
        next_chunk_(std::move(next_chunk)),
        journal_(std::move(journal)),
        progress_(std::move(progress), total) {
    progress_.start();  // before any task is queued, so that a throw leaves none behind
    refill();
  }
  /// Moves the results; the moved-from range must not be read.
  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) = delete;
  /// Cancels the tasks not sent yet (see the class comment).
  ~MapResults() { cancel_rest(); }

  /// Waits for the first result; throws if the first task to report threw.
  iterator begin() {
    if (!started_) {
      started_ = true;
      fill();
    }
    return iterator(this);
  }
  /// The end of the results.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// The next result, waiting at most `timeout` for it (Python's `IMapIterator.next(timeout)`,
  /// for `Executor::imap`), or none once every result has been read. Throws `mpp::TimeoutError`
  /// when no result arrives in time: the map goes on, and the next call waits for the same
  /// result. A failed task's exception and the map's own `timeout` end the range as reading it
  /// does. Use either `next` or the range-for loop on one range, not both.
  ///
  /// ```cpp
  /// auto results = executor.imap(simulate, xs);
  /// while (auto r = results.next(1s)) use(*r);  // throws mpp::TimeoutError after 1 s without one
  /// ```
  template <class Rep, class Period>
  std::optional<R> next(std::chrono::duration<Rep, Period> timeout) {
    return next_within(std::chrono::steady_clock::now() +
                       std::chrono::ceil<std::chrono::steady_clock::duration>(timeout));
  }
  /// The next result, waiting as long as it takes; none once every result has been read.
  std::optional<R> next() { return next_within(std::nullopt); }

  /// Reads every result into a vector, in the range's order (Python's `list(executor.map(...))`).
  operator std::vector<R>() && {
    std::vector<R> all;
    for (auto& r : *this) all.push_back(std::move(r));
    return all;
  }

 private:
  friend iterator;
  using Slot = std::shared_ptr<detail::TaskSlot>;

  bool at_end() const noexcept { return done_; }
  R& current() { return chunk_.front(); }

  // Keeps `buffersize` tasks in flight while the input lasts; by default twice what the ranks
  // take now, which grows while the tasks are short.
  void refill() {
    const std::size_t window = buffersize_.value_or(2 * core_->capacity(entry_));
    while (!input_over_ && flight_.size() < window) {
      detail::Message args;
      std::int64_t first = 0;
      std::size_t count = 0;
      if (!next_chunk_(args, first, count)) {
        input_over_ = true;
        break;
      }
      flight_.push_back(core_->submit(entry_, kind_, std::move(args), first));
    }
  }

  std::optional<R> next_within(std::optional<std::chrono::steady_clock::time_point> limit) {
    started_ = true;
    fill(limit);
    if (done_) return std::nullopt;
    R value = std::move(chunk_.front());
    chunk_.pop_front();
    return value;
  }

  // The next result: the next of the current chunk, or the first of the next chunk to arrive.
  void advance() {
    if (done_) return;
    if (!chunk_.empty()) chunk_.pop_front();
    fill();
  }

  // Reads the next chunk's results when the current one is used up: from the journal if it
  // has them, else from the next task, journaling them. Past `limit` (a call of
  // next(timeout)), throws TimeoutError and leaves the range as it was.
  void fill(std::optional<std::chrono::steady_clock::time_point> limit = std::nullopt) {
    while (chunk_.empty() && !done_) {
      std::vector<R> results;  // std::deque has no std::vector<bool> to trip over
      if (journal_ && journal_->recovered(next_first_)) {
        results = journal_->take(next_first_);
      } else if (flight_.empty()) {
        done_ = true;
        account([&] {
          if (journal_) std::exchange(journal_, nullptr)->flush();  // unlocks it for a rerun
          progress_.finish();
        });
        return;
      } else {
        Slot slot = take_next(limit);
        refill();
        if (slot->state != detail::TaskSlot::State::done || !slot->ok) {
          done_ = true;
          cancel_rest();
          core_->rethrow(*slot);
        }
        detail::decode_all(slot->result().bytes, results);
        if (journal_) account([&] { journal_->append(next_first_, results); });
      }
      next_first_ += static_cast<std::int64_t>(results.size());
      account([&] { progress_.add(results.size()); });
      for (auto&& r : results) chunk_.push_back(static_cast<R>(std::move(r)));
    }
  }

  // Runs the journal's or the progress callback's `step`; if it throws, the map ends with its
  // exception.
  template <class Step>
  void account(Step step) {
    try {
      step();
    } catch (...) {
      done_ = true;
      cancel_rest();
      throw;
    }
  }

  // The next task in input order, or the first to finish when unordered; waits for it until
  // the map's deadline, or the call's `limit`, whichever comes first.
  Slot take_next(std::optional<std::chrono::steady_clock::time_point> limit) {
    const auto until = !limit ? deadline_ : !deadline_ ? limit : std::min(*limit, *deadline_);
    if (!unordered_) {
      if (!core_->wait(*flight_.front(), until)) gave_up();
      Slot slot = std::move(flight_.front());
      flight_.pop_front();
      return slot;
    }
    while (true) {
      core_->poll();
      for (auto it = flight_.begin(); it != flight_.end(); ++it) {
        if ((*it)->state == detail::TaskSlot::State::done) {
          Slot slot = std::move(*it);
          flight_.erase(it);
          return slot;
        }
      }
      if (!until) {
        core_->progress();
      } else if (std::chrono::steady_clock::now() >= *until) {
        gave_up();
      } else {  // a bounded wait, then a look at every task again
        const auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
        core_->wait(*flight_.front(), std::min(soon, *until));
      }
    }
  }

  // The wait ended without a result: the map's own timeout ends it; a call's only that call.
  [[noreturn]] void gave_up() {
    if (deadline_ && std::chrono::steady_clock::now() >= *deadline_) timed_out();
    throw mpp::TimeoutError(
        "mpi::Executor::map: next(timeout) got no result in time; the map goes on, and the next "
        "call waits for the same result");
  }

  [[noreturn]] void timed_out() {
    done_ = true;
    cancel_rest();
    throw mpp::TimeoutError(
        "mpi::Executor::map: no result within the timeout given to map; the tasks not sent yet "
        "were cancelled (those running finish on their workers)");
  }

  void cancel_rest() noexcept {
    for (auto& slot : flight_) {
      if (slot) core_->cancel(*slot);
    }
    flight_.clear();
    input_over_ = true;
  }

  detail::ExecutorCore* core_;
  std::size_t entry_;
  int kind_;
  std::optional<std::size_t> buffersize_;
  bool unordered_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::function<bool(detail::Message&, std::int64_t&, std::size_t&)> next_chunk_;
  std::shared_ptr<detail::MapJournal<R>> journal_;  // with a checkpoint
  mpp::detail::StreamProgress progress_;
  std::int64_t next_first_ = 0;  // the first item of the next chunk, in input order
  std::deque<Slot> flight_;      // submitted, in input order
  std::deque<R> chunk_;          // the results of the chunk being read, from the current one on
  bool started_ = false;
  bool input_over_ = false;
  bool done_ = false;
};

}  // namespace mpp::mpi
