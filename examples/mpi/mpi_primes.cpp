// The mpi4py.futures prime demo with mpp::mpi::Executor: rank 0 submits prime counts over
// subranges and checks a few large candidates with map; the other ranks serve them, each on
// all its threads.
//
//   mpirun -np 3 --bind-to none ./mpi_primes
//   srun --mpi=pmix --ntasks=3 --cpus-per-task=4 ./mpi_primes
#include <cstdio>
#include <mpp/mpi.hpp>
#include <vector>

bool is_prime(long n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (long d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

long count_primes(long lo, long hi) {
  long count = 0;
  for (long n = lo; n < hi; ++n) count += is_prime(n) ? 1 : 0;
  return count;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Executor executor;
  executor.register_function("is_prime", is_prime);
  executor.register_function("count_primes", count_primes);
  if (executor.serve()) return 0;  // workers serve until the root shuts the executor down

  // Python: futures = [executor.submit(count_primes, lo, lo + step) for lo in ...]
  const long limit = 200000, step = 10000;
  std::vector<mpp::mpi::Future<long>> futures;
  for (long lo = 0; lo < limit; lo += step)
    futures.push_back(executor.submit(count_primes, lo, lo + step));
  long total = 0;
  for (auto& f : futures) total += f.get();
  std::printf("%ld primes below %ld\n", total, limit);

  // Python: for n, prime in zip(PRIMES, executor.map(is_prime, PRIMES)): ...
  const std::vector<long> candidates = {112272535095293L, 112582705942171L, 112272535095293L,
                                        115280095190773L, 115797848077099L, 1099726899285419L};
  std::size_t i = 0;
  for (const bool prime : executor.map(is_prime, candidates)) {
    std::printf("%ld is prime: %s\n", candidates[i++], prime ? "True" : "False");
  }
  executor.shutdown();
  std::printf("served by %d worker rank(s)\n", executor.size() > 1 ? executor.size() - 1 : 0);
}
