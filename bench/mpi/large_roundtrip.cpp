// A large value there and back: Executor::submit of a std::vector<char> that the worker returns,
// against MPI_Send/MPI_Recv of the same bytes both ways in 1 GiB pieces: into buffers allocated
// and touched beforehand (the best MPI can do), and into a buffer allocated for each message
// (as a receiver of a value it did not expect must, paying the first touch of fresh pages).
// At 2 ranks.
// usage: mpirun -np 2 mpp_bench_large_roundtrip [GIB=3] [REPS=3]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mpp/mpi.hpp>
#include <utility>
#include <vector>

namespace {

std::vector<char> echo(std::vector<char> v) {
  return v;
}

// `bytes` at `data` from rank `from` to rank `to`, in pieces of at most 1 GiB.
void pass(char* data, std::size_t bytes, int from, int to, int rank) {
  constexpr std::size_t piece = std::size_t{1} << 30;
  for (std::size_t done = 0; done < bytes; done += piece) {
    const int now = static_cast<int>(std::min(piece, bytes - done));
    if (rank == from) MPI_Send(data + done, now, MPI_BYTE, to, 0, MPI_COMM_WORLD);
    if (rank == to)
      MPI_Recv(data + done, now, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
}

// There and back into `buffer`, or into a new buffer at each receiver when `fresh`.
void raw_round_trip(std::vector<char>& buffer, int rank, bool fresh) {
  for (const auto& [from, to] : {std::pair{0, 1}, std::pair{1, 0}}) {
    if (fresh && rank == to) {
      std::unique_ptr<char[]> received(new char[buffer.size()]);
      pass(received.get(), buffer.size(), from, to, rank);
    } else {
      pass(buffer.data(), buffer.size(), from, to, rank);
    }
  }
}

double median(std::vector<double> times) {
  std::ranges::sort(times);
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const double gib = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const auto bytes = static_cast<std::size_t>(gib * (1u << 30));
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  std::vector<double> raw, raw_fresh;
  {
    std::vector<char> buffer(bytes, 1);
    for (int r = 0; r < reps; ++r) {
      for (const bool fresh : {false, true}) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double start = MPI_Wtime();
        raw_round_trip(buffer, rank, fresh);
        (fresh ? raw_fresh : raw).push_back(MPI_Wtime() - start);
      }
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
  const double m = median(mpp), s = median(raw), f = median(raw_fresh);
  const double moved = 2.0 * static_cast<double>(bytes) / 1e9;
  std::printf(
      "large round trip, %.2f GiB each way: mpp submit %.2f s (%.2f GB/s); MPI_Send/Recv into "
      "touched buffers %.2f s (%.2f GB/s), into new buffers %.2f s (%.2f GB/s) -> mpp takes "
      "%.2fx and %.2fx their time\n",
      gib, m, moved / m, s, moved / s, f, moved / f, m / s, m / f);
}
