// A large value there and back: Executor::submit of a std::vector<char> that the worker returns,
// against MPI_Send/MPI_Recv of the same bytes both ways (in 1 GiB pieces, into buffers allocated
// and touched beforehand: the best MPI can do). At 2 ranks.
// usage: mpirun -np 2 mpp_bench_large_roundtrip [GIB=3] [REPS=3]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <vector>

namespace {

std::vector<char> echo(std::vector<char> v) {
  return v;
}

// Both ways in pieces of at most 1 GiB, MPI's int counts allowing.
void raw_round_trip(std::vector<char>& buffer, int rank) {
  constexpr std::size_t piece = std::size_t{1} << 30;
  const auto pass = [&](int from, int to) {
    for (std::size_t done = 0; done < buffer.size(); done += piece) {
      const int now = static_cast<int>(std::min(piece, buffer.size() - done));
      if (rank == from) MPI_Send(buffer.data() + done, now, MPI_BYTE, to, 0, MPI_COMM_WORLD);
      if (rank == to) {
        MPI_Recv(buffer.data() + done, now, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      }
    }
  };
  pass(0, 1);
  pass(1, 0);
}

}  // namespace

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const double gib = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const auto bytes = static_cast<std::size_t>(gib * (1u << 30));
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  std::vector<double> raw;
  {
    std::vector<char> buffer(bytes, 1);
    for (int r = 0; r < reps; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double start = MPI_Wtime();
      raw_round_trip(buffer, rank);
      raw.push_back(MPI_Wtime() - start);
    }
  }

  std::vector<double> mpp;
  {
    mpp::mpi::Executor executor({.threads = 1});
    executor.register_function("echo", echo);
    if (executor.serve()) return 0;
    for (int r = 0; r < reps; ++r) {
      std::vector<char> value(bytes, 1);  // made and touched before the clock starts
      const double start = MPI_Wtime();
      const auto back = executor.submit(echo, std::move(value)).get();
      mpp.push_back(MPI_Wtime() - start);
      if (back.size() != bytes) {
        std::fprintf(stderr, "wrong result\n");
        return 1;
      }
    }
  }
  std::ranges::sort(raw);
  std::ranges::sort(mpp);
  const double m = mpp[mpp.size() / 2], s = raw[raw.size() / 2];
  const double moved = 2.0 * static_cast<double>(bytes) / 1e9;
  std::printf(
      "large round trip, %.2f GiB each way: mpp submit %.2f s (%.2f GB/s), "
      "MPI_Send/Recv %.2f s (%.2f GB/s) -> %.2fx the time of raw MPI\n",
      gib, m, moved / m, s, moved / s, m / s);
}
