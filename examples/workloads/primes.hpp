#pragma once
// Counting the primes below a limit by trial division, over many subranges: the workload of
// examples/primes.cpp and of the demo.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include <mpp/mpp.hpp>

namespace workloads::primes {

/// The candidates `lo <= n < hi`.
struct Subrange {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

/// Trial division by 2, 3 and the numbers 6k ± 1 up to √n: Python's textbook `is_prime`. Its
/// cost grows with n, so later subranges take longer than early ones.
inline bool is_prime(std::uint64_t n) {
  if (n < 4) return n >= 2;
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (std::uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

/// The task: how many primes lie in `range`.
inline std::uint64_t count_primes(Subrange range) {
  std::uint64_t count = 0;
  for (std::uint64_t n = range.lo; n < range.hi; ++n) count += is_prime(n) ? 1 : 0;
  return count;
}

/// `[0, limit)` cut into `pieces` contiguous subranges of (almost) equal length.
inline std::vector<Subrange> split(std::uint64_t limit, std::size_t pieces) {
  std::vector<Subrange> ranges(pieces);
  for (std::size_t i = 0; i < pieces; ++i) {
    ranges[i] = {limit * i / pieces, limit * (i + 1) / pieces};
  }
  return ranges;
}

/// The reference: every subrange in turn on this thread.
inline std::uint64_t serial(std::uint64_t limit, std::size_t pieces) {
  std::uint64_t total = 0;
  for (const Subrange& range : split(limit, pieces)) total += count_primes(range);
  return total;
}

/// `sum(pool.map(count_primes, subranges))`. The default schedule (work stealing) balances the
/// cheap low subranges against the expensive high ones.
inline std::uint64_t parallel(mpp::Pool& pool, std::uint64_t limit, std::size_t pieces,
                              const mpp::MapOptions& options = {}) {
  const std::vector<std::uint64_t> counts = pool.map(count_primes, split(limit, pieces), options);
  return std::reduce(counts.begin(), counts.end(), std::uint64_t{0});
}

}  // namespace workloads::primes
