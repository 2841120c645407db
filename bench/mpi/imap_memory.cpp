// The root's peak memory while streaming across ranks: imap over 10^8 items of 8 bytes through
// the driver-model Executor and through the SPMD mpi::Pool, each read as it arrives. The
// window (buffersize) bounds what is in flight, so the root's peak RSS stays flat whatever
// the number of items.
//   mpirun -np 3 --bind-to none ./mpp_bench_imap_memory [items] [executor|pool]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mpp/mpi.hpp>
#include <ranges>
#include <string>

long twice(long x) {
  return 2 * x;
}

// The process's peak resident set (VmHWM), in MB.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const long n = argc > 1 ? std::atol(argv[1]) : 100000000;
  const std::string which = argc > 2 ? argv[2] : "executor";
  long sum = 0;
  const double start = MPI_Wtime();
  if (which == "executor") {
    mpp::mpi::Executor executor({.threads = 1});
    executor.register_function("twice", twice);
    if (executor.serve()) return 0;
    for (long v : executor.imap(twice, std::views::iota(0L, n), {.chunksize = 10000})) sum += v;
  } else {
    mpp::mpi::Pool cluster({.threads = 1});
    for (long v : cluster.imap(twice, std::views::iota(0L, n), {.chunksize = 10000})) sum += v;
    if (!cluster.is_root()) return 0;
  }
  if (sum != n * (n - 1)) {
    std::fprintf(stderr, "wrong sum\n");
    return 1;
  }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::printf("imap of %ld items over %s, np %d: %.2f s, root peak RSS %.1f MB\n", n,
              which == "executor" ? "mpi::Executor" : "mpi::Pool", size, MPI_Wtime() - start,
              peak_rss_mb());
}
