// Counting primes over subranges, the classic mpi4py.futures demo.
#include <cstdio>
#include <mpp/mpi.hpp>
#include <ranges>

bool is_prime(long n) {
  if (n < 2) return false;
  for (long d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Pool cluster;
  const auto flags = cluster.map(is_prime, std::views::iota(0L, 200000L), {.chunksize = 1000});
  if (cluster.is_root()) {
    long count = 0;
    for (bool f : flags) count += f ? 1 : 0;
    std::printf("%ld primes below 200000\n", count);
  }
}
