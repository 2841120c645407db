#pragma once
/// @file
/// `mpp::ResultStream`: the lazy result sequence of `imap` and `imap_unordered`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/detail/core.hpp"
#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/detail/progress.hpp"
#include "mpp/detail/stream_state.hpp"
#include "mpp/errors.hpp"
#include "mpp/outcome.hpp"

namespace mpp {

/// The lazy results of `Pool::imap` (input order) or `Pool::imap_unordered` (completion order).
/// Iterate it once with a range-for. Items are read from the input on the iterating thread, a
/// chunk at a time, and at most `buffersize` chunks are in flight, so memory stays bounded even
/// for unbounded inputs such as `std::views::iota(0)`.
///
/// With `MapOptions::progress`, the callback counts the results handed to the loop, a chunk at a
/// time, on the iterating thread: (0, n) first, then growing counts, then (n, n) once when the
/// loop reaches the end. For an input that is not a sized range, `total` is
/// `mpp::unknown_total` until that end. Leaving the loop early reports no end, just as a map
/// that throws reports none.
///
/// Dereferencing the iterator at an item whose call threw rethrows that exception; iteration may
/// continue past it. If the input itself throws, no more input is read: the results of every
/// item read before come first (in input order for `imap`; for `imap_unordered`, as they
/// finish), then one last position whose dereference rethrows the input's exception, then the
/// end. Leaving the loop early (or destroying the stream) cancels the chunks not started and
/// waits only for those running, which stop at their next item.
///
/// ```cpp
/// for (double r : pool.imap(simulate, std::views::iota(0), {.chunksize = 16})) {
///   if (converged(r)) break;
/// }
/// ```
///
/// Not thread-safe: one thread iterates. The stream must not outlive its pool.
template <class F, class View, bool Ordered, bool Collect = false>
class ResultStream {
  using Input = std::ranges::range_value_t<View>;
  using Value = std::decay_t<std::invoke_result_t<F&, Input&>>;

 public:
  /// The type of each result: the function's, or `mpp::Outcome` of it for a stream made with
  /// `mpp::on_error::collect`.
  using value_type = std::conditional_t<Collect, Outcome<Value>, Value>;

 private:
  using State = detail::StreamState<F, Input, value_type, Collect, Ordered>;

 public:
  /// Single-pass iterator over the results.
  class iterator {
   public:
    /// The type of the results.
    using value_type = ResultStream::value_type;
    /// Required of an input iterator; iterators of a stream are never subtracted.
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    /// The current result; rethrows the exception of its call if it threw.
    value_type& operator*() const { return stream_->current(); }
    /// A member of the current result; rethrows as `operator*` does.
    value_type* operator->() const { return &stream_->current(); }
    /// Moves to the next result, waiting until it is ready.
    iterator& operator++() {
      stream_->advance();
      return *this;
    }
    /// As `++it`; returns nothing, as a single-pass iterator may.
    void operator++(int) { ++*this; }
    /// True once every result has been read.
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class ResultStream;
    explicit iterator(ResultStream* stream) : stream_(stream) {}
    bool at_end() const noexcept { return stream_->finished(); }
    ResultStream* stream_ = nullptr;
  };

  /// Starts the first chunks; used by `Pool::imap`.
  ResultStream(detail::PoolCore& core, F f, View input, std::size_t chunksize, std::size_t window,
               detail::ItemPolicy policy, detail::StreamProgress::Callback progress,
               const char* call)
      : state_(std::make_shared<State>(&core, std::move(f), window, std::move(policy))),
        input_(std::move(input)),
        chunksize_(chunksize),
        progress_(std::move(progress), total_of(input_)) {
    core.begin_work(call);  // checks the pool accepts work before anything is read
    core.end_work();
    progress_.start();
    try {
      for (auto& slot : state_->slots) {
        if (!fill(slot)) break;
      }
    } catch (...) {
      // Submitting failed: no destructor will run, so cancel the chunks already submitted here,
      // before the exception leaves the caller's frame that `f` may refer to.
      state_->abandon();
      throw;
    }
  }

  // Iterators and the input position point into the stream: it stays where it was made.
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;

  /// Cancels what is still in flight (see the class comment).
  ~ResultStream() { state_->abandon(); }

  /// Waits for the first result.
  iterator begin() {
    advance();
    return iterator(this);
  }
  /// The end of the stream, compared with the iterator.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// The next result, waiting at most `timeout` for it (Python's `IMapIterator.next(timeout)`),
  /// or no value once every result has been read (Python's `StopIteration`); later calls also
  /// return none. Throws `mpp::TimeoutError` when no result arrives in time: the stream stays
  /// as it was, and the next call waits for the same result. Rethrows the exception of a call
  /// that threw (the next call moves past it), as dereferencing the iterator does. The wait only
  /// sleeps: it never runs a chunk on the calling thread, so it ends by its deadline.
  ///
  /// ```cpp
  /// auto results = pool.imap(simulate, xs);
  /// while (true) {
  ///   try {
  ///     std::optional<double> r = results.next(1s);
  ///     if (!r) break;  // exhausted
  ///     use(*r);
  ///   } catch (const mpp::TimeoutError&) { report_still_waiting(); }
  /// }
  /// ```
  ///
  /// Use either `next` or the range-for loop on one stream, not both.
  template <class Rep, class Period>
  std::optional<value_type> next(std::chrono::duration<Rep, Period> timeout) {
    const auto wait = std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
    return next_within(detail::WaitLimit{std::chrono::steady_clock::now() + wait,
                                         std::chrono::duration<double>(timeout).count()});
  }
  /// The next result, waiting as long as it takes; none once every result has been read.
  std::optional<value_type> next() { return next_within(std::nullopt); }

 private:
  // The number of items, where the input knows it before it is read.
  static std::size_t total_of(View& input) {
    if constexpr (std::ranges::sized_range<View>) {
      return static_cast<std::size_t>(std::ranges::size(input));
    } else {
      return unknown_total;
    }
  }

  // Reads the next chunk of input into `slot` and submits it; false when the input is exhausted.
  // An exception from the input ends the input: the items read before it still run, and the
  // exception is kept for the consumer, after their results.
  bool fill(typename State::Slot& slot) {
    slot.inputs.clear();
    if (input_error_) return false;
    try {
      if (!next_) next_.emplace(std::ranges::begin(input_));
      while (slot.inputs.size() < chunksize_ && *next_ != std::ranges::end(input_)) {
        slot.inputs.emplace_back(**next_);
        ++*next_;
      }
    } catch (...) {
      input_error_ = std::current_exception();
    }
    if (slot.inputs.empty()) return false;
    slot.first = read_;
    read_ += slot.inputs.size();
    slot.status.store(State::pending, std::memory_order_release);
    try {
      state_->core->enqueue(
          "imap", [state = state_, &slot] { state->try_run(slot); }, /*continuing=*/true);
    } catch (...) {
      slot.status.store(State::free, std::memory_order_relaxed);
      throw;
    }
    order_.push_back(static_cast<std::size_t>(&slot - state_->slots.data()));
    return true;
  }

  std::optional<value_type> next_within(const std::optional<detail::WaitLimit>& limit) {
    if (!positioned_) {
      advance(limit);  // a timeout leaves positioned_ false: the next call waits again
      positioned_ = true;
    }
    if (finished()) return std::nullopt;  // and stays positioned at the end
    positioned_ = false;                  // even if current() throws: move past it next time
    return std::optional<value_type>(std::move(current()));
  }

  // Moves to the next result, waiting for its chunk (at most until `limit`, else throwing
  // TimeoutError with nothing changed) and refilling the chunk it leaves.
  void advance(const std::optional<detail::WaitLimit>& limit = std::nullopt) {
    if (at_input_error_) {  // the input's exception was the last position
      at_input_error_ = false;
      input_error_ = nullptr;
      return;
    }
    if (slot_ != nullptr && ++position_ < slot_->outcomes.size()) return;
    if (slot_ != nullptr) {
      slot_->status.store(State::free, std::memory_order_relaxed);
      fill(*slot_);
      slot_ = nullptr;
    }
    while (!order_.empty()) {
      slot_ = &state_->slots[next_slot(limit)];
      position_ = 0;
      if (!slot_->outcomes.empty()) {
        progress_.add(slot_->outcomes.size());
        return;
      }
      slot_->status.store(State::free, std::memory_order_relaxed);  // an empty chunk: skip
      fill(*slot_);
      slot_ = nullptr;
    }
    if (input_error_) {
      at_input_error_ = true;  // no end is reported: the input did not end
      return;
    }
    progress_.finish();
  }

  // The slot whose results come next: the oldest in input order, or whichever finished first.
  std::size_t next_slot(const std::optional<detail::WaitLimit>& limit) {
    if constexpr (Ordered) {
      const std::size_t index = order_.front();
      if (!limit) {
        state_->wait(state_->slots[index]);
      } else if (!state_->wait_until(state_->slots[index], *limit)) {
        detail::throw_stream_timeout(limit->seconds);
      }
      order_.erase(order_.begin());
      return index;
    } else {
      std::size_t index = 0;
      if (!limit) {
        index = state_->wait_any();
      } else if (const auto done = state_->wait_any_until(*limit)) {
        index = *done;
      } else {
        detail::throw_stream_timeout(limit->seconds);
      }
      std::erase(order_, index);
      return index;
    }
  }

  bool finished() const noexcept { return slot_ == nullptr && !at_input_error_; }

  value_type& current() const {
    if (at_input_error_) std::rethrow_exception(input_error_);
    auto& outcome = slot_->outcomes[position_];
    if (outcome.error) std::rethrow_exception(outcome.error);
    return *outcome.value;
  }

  std::shared_ptr<State> state_;
  View input_;
  // Made at the first read, so that an input whose begin() throws fails like one whose later
  // items do.
  std::optional<std::ranges::iterator_t<View>> next_;
  std::exception_ptr input_error_;  // what the input threw; no more input is read after it
  bool at_input_error_ = false;     // the consumer is at the position that rethrows it
  std::size_t chunksize_;
  std::size_t read_ = 0;            // items read from the input so far
  bool positioned_ = false;         // next(): advance() already moved to the result it returns next
  std::vector<std::size_t> order_;  // slots in flight, in input order
  typename State::Slot* slot_ = nullptr;
  std::size_t position_ = 0;
  detail::StreamProgress progress_;
};

}  // namespace mpp
