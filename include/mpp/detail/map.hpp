#pragma once
// How a map reads its items, splits them into chunks, and stores its results.

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <vector>

#include "mpp/detail/core.hpp"
#include "mpp/options.hpp"

namespace mpp::detail {

// Calls f(args...), calling it again up to `retries` more times while it throws; rethrows the
// last exception. Stops retrying once the pool asks tasks to stop.
bool retry_allowed() noexcept;
template <class F, class... Args>
decltype(auto) invoke_with_retries(std::size_t retries, F& f, Args&... args) {
  for (std::size_t attempt = 0;; ++attempt) {
    try {
      return std::invoke(f, args...);
    } catch (...) {
      if (attempt >= retries || !retry_allowed()) throw;
    }
  }
}

// Validated chunk size of an explicit `chunksize`, or 0 when it is unset.
std::size_t checked_chunksize(const MapOptions& options, const char* call);
// Validated `buffersize`, or the default for `threads`.
std::size_t checked_buffersize(const MapOptions& options, int threads, const char* call);
// Throws std::invalid_argument for what Pool::transform cannot do: an `output` (when its size is
// known) smaller than the `input`, a checkpoint, a chunksize of 0.
void check_transform(const MapOptions& options, std::size_t input,
                     std::optional<std::size_t> output);
// Throws std::invalid_argument for what a collecting map (on_error::collect) cannot do: a
// checkpoint, whose journal holds values, not outcomes.
void check_collect(const MapOptions& options, const char* call);
// Python's Pool.map default: ceil(n / (4 * threads)), at least 1.
std::size_t python_chunksize(std::size_t n, int threads) noexcept;

// Random access to the items of a sized range: the range's own iterators when it is random
// access, else one vector of iterators (one allocation per map, none per item).
template <class Range>
class ItemAccess {
  using Iterator = std::ranges::iterator_t<Range>;

 public:
  explicit ItemAccess(Range& range) : first_(std::ranges::begin(range)) {
    size_ = static_cast<std::size_t>(std::ranges::size(range));
    if constexpr (!std::ranges::random_access_range<Range>) {
      iterators_.reserve(size_);
      for (auto it = first_; iterators_.size() < size_; ++it) iterators_.push_back(it);
    }
  }
  std::size_t size() const noexcept { return size_; }
  decltype(auto) operator[](std::size_t i) const {
    if constexpr (std::ranges::random_access_range<Range>) {
      return first_[static_cast<std::ranges::range_difference_t<Range>>(i)];
    } else {
      return *iterators_[i];
    }
  }

 private:
  Iterator first_;
  std::size_t size_ = 0;
  std::vector<Iterator> iterators_;
};

// Results written in parallel at their input's index, handed out as std::vector<R>. Writes go
// straight into the vector when R allows it (default-constructible, not bool); bool results
// go to bytes, since std::vector<bool> packs bits that threads cannot write apart, and other
// types to optionals; either is moved into the vector at the end.
template <class R>
class ResultBuffer {
  static constexpr bool direct = std::is_default_constructible_v<R> && !std::is_same_v<R, bool>;
  using Slot = std::conditional_t<
      direct, R, std::conditional_t<std::is_same_v<R, bool>, unsigned char, std::optional<R>>>;

 public:
  explicit ResultBuffer(std::size_t n) : slots_(n) {}
  template <class Value>
  void set(std::size_t i, Value&& value) {
    if constexpr (direct) {
      slots_[i] = std::forward<Value>(value);
    } else if constexpr (std::is_same_v<R, bool>) {
      slots_[i] = static_cast<bool>(value) ? 1 : 0;
    } else {
      slots_[i].emplace(std::forward<Value>(value));
    }
  }
  std::vector<R> release() && {
    if constexpr (direct) {
      return std::move(slots_);
    } else if constexpr (std::is_same_v<R, bool>) {
      return std::vector<bool>(slots_.begin(), slots_.end());
    } else {
      std::vector<R> out;
      out.reserve(slots_.size());
      for (auto& slot : slots_) out.push_back(std::move(*slot));
      return out;
    }
  }

 private:
  std::vector<Slot> slots_;
};

// tbb::parallel_for, telling ThreadSanitizer about the synchronisation of its start and join.
// Each part runs as work of the calling thread's pool, whichever thread steals it, so that
// this_worker::index(), this_task::stop_requested() and nested waits work inside map items;
// once the pool was terminated or its initializer failed, parts not yet started throw instead.
template <class Range, class Body, class Partitioner>
void parallel_for(const Range& range, const Body& body, const Partitioner& partitioner,
                  tbb::task_group_context& context) {
  PoolCore* const core = current_core();
  // A part that throws has finished too: its release must not be skipped.
  struct Release {
    ~Release() { happens_before(&chunk_end); }
  };
  happens_before(&chunk_start);
  try {
    tbb::parallel_for(
        range,
        [&](const Range& part) {
          happens_after(&chunk_start);
          Release release;
          CoreScope scope(core);
          if (core != nullptr) core->check_may_run();
          body(part);
        },
        partitioner, context);
  } catch (...) {
    happens_after(&chunk_end);  // parallel_for rethrows only once every part has returned
    throw;
  }
  happens_after(&chunk_end);
}

// Calls chunk(begin, end) for chunks covering [0, n) as `options` say. Runs inside the arena;
// `context` lets terminate() and failures cancel what has not started.
template <class Body>
void for_each_chunk(std::size_t n, const MapOptions& options, std::size_t chunksize, int threads,
                    tbb::task_group_context& context, const Body& chunk) {
  using Range = tbb::blocked_range<std::size_t>;
  const auto& body = chunk;
  const auto chunk_of = [&](std::size_t k, std::size_t c) {
    body(c * k, std::min(n, (c + 1) * k));
  };
  const auto chunks_of = [&](std::size_t k) { return (n + k - 1) / k; };

  switch (options.schedule) {
    case schedule::adaptive:
      if (chunksize == 0) {
        detail::parallel_for(
            Range(0, n), [&](const Range& r) { body(r.begin(), r.end()); }, tbb::auto_partitioner(),
            context);
      } else {
        // Exactly `chunksize` items per chunk: split over chunk indices, never inside a chunk.
        detail::parallel_for(
            Range(0, chunks_of(chunksize), 1),
            [&](const Range& r) {
              for (auto c = r.begin(); c != r.end(); ++c) {
                if (context.is_group_execution_cancelled()) return;
                chunk_of(chunksize, c);
              }
            },
            tbb::simple_partitioner(), context);
      }
      return;
    case schedule::static_: {
      const std::size_t k =
          chunksize != 0 ? chunksize : std::max<std::size_t>(1, (n + threads - 1) / threads);
      detail::parallel_for(
          Range(0, chunks_of(k), 1),
          [&](const Range& r) {
            for (auto c = r.begin(); c != r.end(); ++c) {
              if (context.is_group_execution_cancelled()) return;  // a failed map stops here
              chunk_of(k, c);
            }
          },
          tbb::static_partitioner(), context);
      return;
    }
    case schedule::dynamic:
    case schedule::python: {
      std::size_t k = chunksize;
      if (k == 0) k = options.schedule == schedule::python ? python_chunksize(n, threads) : 1;
      const std::size_t chunks = chunks_of(k);
      std::atomic<std::size_t> next{0};
      // One claimer per thread, each taking the next chunk index until none is left.
      const auto claimers = std::min<std::size_t>(static_cast<std::size_t>(threads), chunks);
      detail::parallel_for(
          Range(0, claimers, 1),
          [&](const Range&) {
            for (auto c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
                 c = next.fetch_add(1, std::memory_order_relaxed)) {
              if (context.is_group_execution_cancelled()) return;
              chunk_of(k, c);
            }
          },
          tbb::static_partitioner(), context);
      return;
    }
  }
}

}  // namespace mpp::detail
