#pragma once
// The seed demo "primes": count the primes below 10^7 (MPP_BENCH_PRIMES_LIMIT) by trial
// division over 1000 subranges (MPP_BENCH_PRIMES_PIECES), the classic mpi4py.futures demo;
// later subranges cost more than early ones.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/common.hpp"

namespace primes {

struct Workload {
  static constexpr const char* name = "primes";
  struct Item {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
  };

  static bool is_prime(std::uint64_t n) {
    if (n < 4) return n >= 2;
    if (n % 2 == 0 || n % 3 == 0) return false;
    for (std::uint64_t d = 5; d * d <= n; d += 6) {
      if (n % d == 0 || n % (d + 2) == 0) return false;
    }
    return true;
  }

  static std::uint64_t f(const Item& range) {
    std::uint64_t count = 0;
    for (std::uint64_t n = range.lo; n < range.hi; ++n) count += is_prime(n) ? 1 : 0;
    return count;
  }

  static const std::vector<Item>& items() {
    static const std::vector<Item> ranges = [] {
      const std::uint64_t limit = bench::size("MPP_BENCH_PRIMES_LIMIT", 10'000'000);
      const std::size_t pieces = bench::size("MPP_BENCH_PRIMES_PIECES", 1000);
      std::vector<Item> v(pieces);
      for (std::size_t i = 0; i < pieces; ++i)
        v[i] = {limit * i / pieces, limit * (i + 1) / pieces};
      return v;
    }();
    return ranges;
  }

  static std::uint64_t expected() {
    static const std::uint64_t total = [] {
      std::uint64_t sum = 0;
      for (const auto& item : items()) sum += f(item);
      return sum;
    }();
    return total;
  }
};

}  // namespace primes
