// primes: counts the primes below 10^7 by mapping a counting function over 1000 subranges.
//
// Teaches `pool.map` over a list of work descriptions followed by a reduce (a sum), and how work
// stealing evens out items of unequal cost: high subranges take longer than low ones. It is the
// classic mpi4py.futures demo, whose Python reads
//
//     def count_primes(lo, hi):
//         return sum(1 for n in range(lo, hi) if is_prime(n))
//
//     step = N // 1000
//     with MPIPoolExecutor() as executor:              # or multiprocessing.Pool()
//         counts = executor.map(count_primes, range(0, N, step), range(step, N + step, step))
//         print(sum(counts))
//
// and in C++ (workloads/primes.hpp):
//
//     mpp::Pool pool;
//     std::vector<std::uint64_t> counts = pool.map(count_primes, split(N, 1000));
//     std::uint64_t total = std::reduce(counts.begin(), counts.end());
//
// Usage: primes [limit]      (default 10000000)

#include <cstdint>
#include <cstdio>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/primes.hpp"

int main(int argc, char** argv) {
  namespace w = workloads::primes;
  const auto limit =
      static_cast<std::uint64_t>(workloads::size_argument(argc, argv, 1, 10'000'000));
  const std::size_t pieces = 1000;

  mpp::Pool pool;  // Pool(): one thread per CPU this process may use
  const auto [expected, serial_s] = workloads::timed([&] { return w::serial(limit, pieces); });
  const auto [count, parallel_s] =
      workloads::timed([&] { return w::parallel(pool, limit, pieces); });

  std::printf("%llu primes below %llu (%zu subranges)\n", static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(limit), pieces);
  std::printf("mpp::Pool with %d threads: %.3f s; serial: %.3f s\n", pool.threads(), parallel_s,
              serial_s);
  if (count != expected) {
    std::fprintf(stderr, "error: the serial count is %llu\n",
                 static_cast<unsigned long long>(expected));
    return 1;
  }
  return 0;
}
