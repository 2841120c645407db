// Strong scaling of mpp::mpi::Pool on the prime-counting workload: is_prime over [0, N) with the
// dynamic schedule. Run at np 1 and np 2 with one thread per rank; efficiency = T1 / (2 x T2).
//   mpirun -np 2 ./mpp_bench_primes [N] [threads per rank] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <ranges>
#include <vector>

#include "is_prime.hpp"

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const long n = argc > 1 ? std::atol(argv[1]) : 3000000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  mpp::mpi::Pool cluster({.threads = threads});
  std::vector<double> times;
  long count = 0;
  for (int r = 0; r < reps + 1; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    const auto flags = cluster.map(is_prime, std::views::iota(0L, n),
                                   {.chunksize = 2000, .schedule = mpp::schedule::dynamic});
    const double seconds = MPI_Wtime() - start;
    if (r > 0) times.push_back(seconds);
    count = static_cast<long>(std::ranges::count(flags, true));
  }
  // The machine's own scaling, for reference: a plain MPI loop, ranks dealt blocks of 2000
  // numbers in turn (taking every size-th number would give rank 0 of two only even ones).
  std::vector<double> plain;
  for (int r = 0; r < reps + 1; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    long mine = 0, total = 0;
    constexpr long block = 2000;
    for (long b = cluster.rank() * block; b < n; b += cluster.size() * block) {
      for (long i = b; i < std::min(n, b + block); ++i) mine += is_prime(i) ? 1 : 0;
    }
    MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (r > 0) plain.push_back(MPI_Wtime() - start);
    if (cluster.is_root() && total != count) std::fprintf(stderr, "plain loop disagrees\n");
  }
  std::ranges::sort(times);
  std::ranges::sort(plain);
  if (cluster.is_root()) {
    std::printf(
        "primes below %ld: %ld; np %d x %d threads: %.6f s (median of %d); plain MPI "
        "loop: %.6f plain\n",
        n, count, cluster.size(), threads, times[times.size() / 2], reps, plain[plain.size() / 2]);
  }
}
