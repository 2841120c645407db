// mpi_resumable: a long map across ranks that survives the batch system's time limit.
//
// Teaches `MapOptions::checkpoint` and `MapOptions::progress` on `mpp::mpi::Pool`. The root
// journals the finished chunks of every rank and draws the cluster's progress; SIGTERM (what
// Slurm sends every task at the time limit) stops the claims on all ranks, and every rank gets
// `mpp::InterruptedError` once the journal is flushed. Running the job again resumes: the root
// tells every rank which chunks are done, and only the rest are computed.
//
//     mpirun -np 4 mpi_resumable run.journal   # stopped: exit status 3
//     mpirun -np 4 mpi_resumable run.journal   # finishes the rest
//
// Usage: mpi_resumable <journal> [items] [microseconds per item] [pid file prefix]
// (defaults 20000, 500; with a prefix each rank writes its pid to <prefix><rank>, for tests).
// Exit status: 0 when complete (the root prints the checksum), 3 when interrupted.

#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mpp/mpi.hpp>
#include <mpp/progress.hpp>
#include <numeric>
#include <ranges>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: mpi_resumable <journal> [items] [microseconds per item]\n");
    return 2;
  }
  const int items = argc > 2 ? std::atoi(argv[2]) : 20'000;
  const auto cost = std::chrono::microseconds(argc > 3 ? std::atoi(argv[3]) : 500);
  std::atomic<long> computed{0};
  auto simulate = [&](int x) {
    std::this_thread::sleep_for(cost);  // stands for real work
    computed.fetch_add(1, std::memory_order_relaxed);
    return static_cast<long>(x) * x % 1'000'003;
  };

  mpp::mpi::Pool cluster;
  if (argc > 4) std::ofstream(argv[4] + std::to_string(cluster.rank())) << getpid() << '\n';
  int status = 0;
  try {
    const auto results =
        cluster.map(simulate, std::views::iota(0, items),
                    {.chunksize = 50, .checkpoint = argv[1], .progress = mpp::progress_bar("map")});
    if (cluster.is_root()) {
      std::printf("checksum %ld\n", std::accumulate(results.begin(), results.end(), 0L));
    }
  } catch (const mpp::InterruptedError& stop) {
    std::printf("rank %d interrupted: %s\n", cluster.rank(), stop.what());
    status = 3;
  }
  // How much this run computed, over all ranks (the rest came from the journal).
  long mine = computed.load(), all = 0;
  MPI_Reduce(&mine, &all, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (cluster.is_root()) std::printf("computed %ld of %d items in this run\n", all, items);
  return status;
}
