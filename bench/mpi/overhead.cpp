// Per-chunk overhead of the MPI layer: mpp::mpi::Pool's dynamic map of an empty function with
// chunksize 1 and one thread per rank (every chunk is one claim on the shared counter plus one
// local task), and the raw MPI round trip (8 bytes, MPI_Send/MPI_Recv) on the same machine.
//   mpirun -np 2 ./mpp_bench_overhead [chunks] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <ranges>
#include <vector>

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const int chunks = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  mpp::mpi::Pool cluster({.threads = 1});
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  std::vector<double> per_chunk, round_trip;
  for (int r = 0; r < reps + 1; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    const auto out = cluster.map([](int x) { return x; }, std::views::iota(0, chunks),
                                 {.chunksize = 1, .schedule = mpp::schedule::dynamic});
    // Each rank handles about chunks / size of them; the time per chunk a rank pays:
    const double map_seconds = MPI_Wtime() - start;
    if (r > 0) per_chunk.push_back(map_seconds / chunks * size * 1e6);

    if (size >= 2) {
      const int trips = 10000;
      long value = 0;
      MPI_Barrier(MPI_COMM_WORLD);
      start = MPI_Wtime();
      for (int i = 0; i < trips; ++i) {
        if (rank == 0) {
          MPI_Send(&value, 1, MPI_LONG, 1, 0, MPI_COMM_WORLD);
          MPI_Recv(&value, 1, MPI_LONG, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
          MPI_Recv(&value, 1, MPI_LONG, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(&value, 1, MPI_LONG, 0, 0, MPI_COMM_WORLD);
        }
      }
      if (r > 0) round_trip.push_back((MPI_Wtime() - start) / trips * 1e6);
    }
  }
  std::ranges::sort(per_chunk);
  std::ranges::sort(round_trip);
  if (rank == 0) {
    std::printf(
        "mpi::Pool dynamic map, chunksize 1, np %d x 1 thread: %.2f us per chunk per rank"
        " (counter: %s)\n",
        size, per_chunk[per_chunk.size() / 2],
        std::getenv("MPP_MPI_COUNTER") ? std::getenv("MPP_MPI_COUNTER") : "window");
    if (!round_trip.empty()) {
      std::printf("MPI round trip (8 bytes, send/recv): %.2f us\n",
                  round_trip[round_trip.size() / 2]);
    }
  }
}
