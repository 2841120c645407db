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

}  // namespace streaming
