// What ExecutorOptions::root_computes gives: Executor::map of CPU-bound blocks (prime counts)
// with the root only driving, as mpi4py's root does, and with the root taking its share too.
// The two are interleaved, a new executor each round, one thread per rank; medians.
//   mpirun -np 2 --bind-to none ./mpp_bench_root_computes [blocks] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <ranges>
#include <vector>

#include "is_prime.hpp"

// The primes in block b of 20 000 numbers: a few milliseconds each.
long count_block(long b) {
  long count = 0;
  for (long n = b * 20000; n < (b + 1) * 20000; ++n) count += is_prime(n) ? 1 : 0;
  return count;
}

// Seconds for the root to map `blocks` blocks; every rank calls it (the workers serve inside).
double one_round(long blocks, bool root_computes, long& total) {
  mpp::mpi::Executor executor({.threads = 1, .root_computes = root_computes});
  executor.register_function("count_block", count_block);
  if (executor.serve()) return 0;
  const double start = MPI_Wtime();
  total = 0;
  for (long n : executor.map(count_block, std::views::iota(0L, blocks))) total += n;
  const double seconds = MPI_Wtime() - start;
  executor.shutdown();
  return seconds;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const long blocks = argc > 1 ? std::atol(argv[1]) : 200;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<double> driving, computing;
  long total_driving = 0, total_computing = 0;
  for (int r = 0; r < reps; ++r) {
    driving.push_back(one_round(blocks, false, total_driving));
    computing.push_back(one_round(blocks, true, total_computing));
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank != 0) return 0;
  if (total_driving != total_computing) {
    std::fprintf(stderr, "the two runs disagree\n");
    return 1;
  }
  std::ranges::sort(driving);
  std::ranges::sort(computing);
  const double a = driving[driving.size() / 2], b = computing[computing.size() / 2];
  std::printf(
      "root_computes, np %d x 1 thread, %ld blocks (%ld primes): root drives %.4f s, root "
      "computes too %.4f s: %.2fx faster\n",
      size, blocks, total_computing, a, b, a / b);
}
