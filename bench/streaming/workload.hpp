#pragma once
// Streaming: `imap` over a generator of 10^7 items (MPP_BENCH_STREAM_N), an input range that is
// read one item at a time and has no size, consumed as results arrive. Throughput here; peak
// memory over 10^8 items in mpp-bench-memory (it needs a process of its own).

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <ranges>

#include "../common/common.hpp"

namespace streaming {

// 0, 1, ..., n - 1 as a single-pass, unsized input range, like a Python generator.
class Generator : public std::ranges::view_interface<Generator> {
 public:
  class iterator {
   public:
    using value_type = std::int64_t;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(std::int64_t i) : i_(i) {}
    value_type operator*() const { return i_; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    friend bool operator==(const iterator& it, std::int64_t end) { return it.i_ == end; }

   private:
    std::int64_t i_ = 0;
  };

  Generator() = default;
  explicit Generator(std::int64_t n) : n_(n) {}
  iterator begin() const { return iterator(0); }
  std::int64_t end() const { return n_; }

 private:
  std::int64_t n_ = 0;
};

inline std::int64_t items() {
  return static_cast<std::int64_t>(bench::size("MPP_BENCH_STREAM_N", 10'000'000));
}

inline constexpr auto f = [](std::int64_t x) { return 3 * x + 1; };

inline std::int64_t expected(std::int64_t n) {
  return 3 * (n * (n - 1) / 2) + n;
}

inline bool check(benchmark::State& state, std::int64_t sum, std::int64_t n) {
  if (!bench::check(state, sum, expected(n))) return false;
  state.SetItemsProcessed(state.iterations() * n);
  return true;
}

inline constexpr const char* baseline = "streaming/serial";

// The per-item cost of Python's default chunksize (1): a hundredth of the items, each about one
// microsecond of work, so that the stream's per-item synchronisation is what scales or not.
inline std::int64_t work_items() {
  return items() / 100 > 0 ? items() / 100 : 1;
}

inline std::uint64_t work(std::int64_t x) {
  static const std::uint64_t rounds = bench::rounds_per_microsecond();
  return bench::spin(static_cast<std::uint64_t>(x), rounds);
}

inline bool check_work(benchmark::State& state, std::uint64_t sum, std::int64_t n) {
  static std::int64_t cached_n = -1;
  static std::uint64_t cached = 0;
  if (cached_n != n) {
    cached = 0;
    for (std::int64_t x = 0; x < n; ++x) cached += work(x);
    cached_n = n;
  }
  if (!bench::check(state, sum, cached)) return false;
  state.SetItemsProcessed(state.iterations() * n);
  return true;
}

}  // namespace streaming
