#pragma once
// The seed demo "primes": count the primes below 10^7 (MPP_BENCH_PRIMES_LIMIT) by trial
// division over 1000 subranges (MPP_BENCH_PRIMES_PIECES), the classic mpi4py.futures demo;
// later subranges cost more than early ones. The kernel is the examples' own
// (examples/workloads/primes.hpp).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/common.hpp"
#include "workloads/primes.hpp"

namespace primes {

struct Workload {
  static constexpr const char* name = "primes";
  using Item = workloads::primes::Subrange;

  static std::uint64_t f(const Item& range) { return workloads::primes::count_primes(range); }

  static const std::vector<Item>& items() {
    static const std::vector<Item> ranges = [] {
      const std::uint64_t limit = bench::size("MPP_BENCH_PRIMES_LIMIT", 10'000'000);
      const std::size_t pieces = bench::size("MPP_BENCH_PRIMES_PIECES", 1000);
      return workloads::primes::split(limit, pieces);
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
